// Test PKI made at run time with the openssl CLI: a CA and a server certificate for
// 127.0.0.1/localhost, so the providers can be served over https on loopback (the C module
// requires https for OIDCOAuthVerifyJwksUri). Apache gets `OIDCCABundlePath <caCert>`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkdir } from './util.js';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

let cached;

/** Returns { dir, caCert, caKey, cert, key, ca (Buffer), certPem, keyPem } (made once per process). */
export function getPki() {
  if (cached) return cached;
  const dir = makeWorkdir('pki');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '2', '-subj', '/CN=mod_auth_openidc_rs test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
    '-subj', '/CN=127.0.0.1'], dir);
  fs.writeFileSync(path.join(dir, 'server.ext'), [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '',
  ].join('\n'));
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir);
  // Apache's children (www-data) read the CA bundle at request time.
  for (const f of ['ca.pem', 'server.pem', 'server.key']) fs.chmodSync(path.join(dir, f), 0o644);
  cached = {
    dir,
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca.key'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
    ca: fs.readFileSync(path.join(dir, 'ca.pem')),
    certPem: fs.readFileSync(path.join(dir, 'server.pem')),
    keyPem: fs.readFileSync(path.join(dir, 'server.key')),
  };
  return cached;
}

/**
 * A self-signed certificate holding a token-signing public key, for OIDCOAuthVerifyCertFiles.
 * type: 'rsa' | 'ec'. Returns { certFile, keyFile, keyPem }.
 */
export function makeSigningCert(name, type = 'rsa') {
  const dir = makeWorkdir(`signcert-${name}`);
  const keyArgs = type === 'ec'
    ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
    : ['-newkey', 'rsa:2048'];
  openssl(['req', '-x509', ...keyArgs, '-nodes', '-keyout', 'sign.key', '-out', 'sign.pem',
    '-days', '2', '-subj', `/CN=${name}`], dir);
  for (const f of ['sign.pem', 'sign.key']) fs.chmodSync(path.join(dir, f), 0o644);
  return {
    certFile: path.join(dir, 'sign.pem'),
    keyFile: path.join(dir, 'sign.key'),
    keyPem: fs.readFileSync(path.join(dir, 'sign.key')),
  };
}
