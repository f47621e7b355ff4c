// Configuration-time behaviour: `apache2 -t` accepts the seed configurations and valid
// directives, and stops on bad values with a message naming the directive, the file and the line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configtest, newConfig, startApache } from './lib/apache.js';
import { getPki } from './lib/pki.js';
import { makeWorkdir, MODULE_SO, oursOnly, REFERENCE, REPO_ROOT } from './lib/util.js';

const PASS = 'config-test-passphrase-0123456789abcdef';

// The examples live in the steering repository's shared/ folder, next to the clone in CI.
const EXAMPLES_DIRS = [
  process.env.OIDC_EXAMPLES_DIR,
  path.join(REPO_ROOT, '..', 'shared', 'examples'),
  '/work/shared/examples',
].filter(Boolean);
const examplesDir = EXAMPLES_DIRS.find((d) => fs.existsSync(path.join(d, 'mesos-proxy.conf')));

/** Renders a site inside the test scaffold; returns { text, line(needle) } (1-based line of needle). */
function siteConfig(siteText, opts = {}) {
  const { text } = newConfig({ site: { text: siteText }, ...opts }, 'cfg');
  return {
    text,
    line(needle) {
      const i = text.split('\n').findIndex((l) => l.includes(needle));
      assert.ok(i >= 0, `${needle} not in the configuration`);
      return i + 1;
    },
  };
}

function vhost(lines) {
  return ['<VirtualHost 127.0.0.1:8080>', `    OIDCCryptoPassphrase ${PASS}`, ...lines.map((l) => `    ${l}`), '</VirtualHost>'].join('\n');
}

/** Asserts apache2 -t failed on `needle`, naming file and line (and the directive unless told not to). */
function assertRejected(r, file, line, directive, { namesDirective = true } = {}) {
  assert.notEqual(r.code, 0, `apache2 -t accepted it:\n${r.output}`);
  assert.ok(r.output.includes(`Syntax error on line ${line} of ${file}:`), `no file/line in:\n${r.output}`);
  if (namesDirective || !REFERENCE) {
    assert.ok(r.output.includes(directive), `${directive} not named in:\n${r.output}`);
  }
}

describe('apache2 -t rejects bad values, naming directive, file and line', () => {
  // namesDirective: false where the reference's message omits the directive (ours always names it).
  const cases = [
    ['OIDCPassClaimsAs bogus', 'OIDCPassClaimsAs'],
    ['OIDCPassClaimsAs headers bogus-encoding', 'OIDCPassClaimsAs', { ours: true }],
    ['OIDCOAuthAcceptTokenAs bogus', 'OIDCOAuthAcceptTokenAs'],
    ['OIDCOAuthIntrospectionEndpointMethod PUT', 'OIDCOAuthIntrospectionEndpointMethod'],
    ['OIDCOAuthIntrospectionEndpointAuth bogus', 'OIDCOAuthIntrospectionEndpointAuth'],
    ['OIDCCookieSameSite Maybe', 'OIDCCookieSameSite'],
    ['OIDCSessionType bogus', 'OIDCSessionType'],
    ['OIDCUnAuthAction bogus', 'OIDCUnAuthAction'],
    ['OIDCOAuthTokenIntrospectionInterval abc', 'OIDCOAuthTokenIntrospectionInterval'],
    ['OIDCHTTPTimeoutLong abc', 'OIDCHTTPTimeoutLong'],
    ['OIDCHTTPTimeoutShort 5x', 'OIDCHTTPTimeoutShort'],
    ['OIDCJWKSRefreshInterval abc', 'OIDCJWKSRefreshInterval'],
    ['OIDCSessionInactivityTimeout -5', 'OIDCSessionInactivityTimeout'],
    ['OIDCOAuthIntrospectionEndpoint not-a-url', 'OIDCOAuthIntrospectionEndpoint', { namesDirective: false }],
    ['OIDCOAuthVerifyJwksUri ://bad', 'OIDCOAuthVerifyJwksUri', { namesDirective: false }],
    ['OIDCOAuthVerifyJwksUri http://example.com/jwks', 'OIDCOAuthVerifyJwksUri', { namesDirective: false }],
    ['OIDCOAuthVerifyJwksUri ftp://127.0.0.1/jwks', 'OIDCOAuthVerifyJwksUri', { namesDirective: false }],
    ['OIDCProviderMetadataURL not-a-url', 'OIDCProviderMetadataURL', { ours: true }],
    ['OIDCOAuthRemoteUserClaim sub ([', 'OIDCOAuthRemoteUserClaim', { ours: true }],
  ];
  for (const [line, directive, opts = {}] of cases) {
    it(line, { skip: opts.ours ? oursOnly : false }, () => {
      const c = siteConfig(vhost([line]));
      const r = configtest(c.text);
      assertRejected(r, r.confPath, c.line(line), directive, opts);
    });
  }

  it('an error in an included file names that file and its line', () => {
    const dir = makeWorkdir('cfg-include');
    const inc = path.join(dir, 'oidc-extra.conf');
    fs.writeFileSync(inc, ['# included', `OIDCCryptoPassphrase ${PASS}`, 'OIDCPassClaimsAs nonsense', ''].join('\n'));
    const c = siteConfig(`Include ${inc}`);
    const r = configtest(c.text);
    assertRejected(r, inc, 3, 'OIDCPassClaimsAs');
  });

  it('ours: an error message has the form "<Directive>: <what is wrong>"', { skip: oursOnly }, () => {
    const c = siteConfig(vhost(['OIDCPassClaimsAs bogus']));
    const r = configtest(c.text);
    assert.match(r.output, /^OIDCPassClaimsAs: .+/m, r.output);
  });
});

describe('OIDCOAuthVerifyJwksUri scheme', () => {
  it('plain http to a non-loopback host fails (both)', () => {
    const c = siteConfig(vhost(['OIDCOAuthVerifyJwksUri http://jwks.example.com/jwks']));
    const r = configtest(c.text);
    assertRejected(r, r.confPath, c.line('OIDCOAuthVerifyJwksUri'), 'OIDCOAuthVerifyJwksUri', { namesDirective: false });
  });

  it('improve: plain http to loopback (127.0.0.1, [::1], localhost) is accepted', { skip: oursOnly }, () => {
    for (const u of ['http://127.0.0.1:8443/jwks', 'http://[::1]:8443/jwks', 'http://localhost:8443/jwks']) {
      const r = configtest(siteConfig(vhost([`OIDCOAuthVerifyJwksUri ${u}`])).text);
      assert.equal(r.code, 0, `${u}: ${r.output}`);
    }
  });

  it('https anywhere is accepted', () => {
    const r = configtest(siteConfig(vhost(['OIDCOAuthVerifyJwksUri https://jwks.example.com/jwks'])).text);
    assert.equal(r.code, 0, r.output);
  });
});

describe('directives not supported yet', { skip: oursOnly }, () => {
  it('OIDCMetadataDir fails with "OIDCMetadataDir is not supported yet by mod_auth_openidc_rs"', () => {
    const c = siteConfig(vhost(['OIDCMetadataDir /tmp']));
    const r = configtest(c.text);
    assertRejected(r, r.confPath, c.line('OIDCMetadataDir'), 'OIDCMetadataDir');
    assert.ok(r.output.includes('OIDCMetadataDir is not supported yet by mod_auth_openidc_rs'), r.output);
  });
});

describe('valid configurations pass apache2 -t', () => {
  it('the resource-server directives with valid values', () => {
    const pki = getPki();
    const text = vhost([
      'OIDCClaimPrefix "OIDC-"',
      'OIDCClaimDelimiter ";"',
      'OIDCOAuthVerifyJwksUri https://127.0.0.1:8443/jwks',
      'OIDCJWKSRefreshInterval 600',
      'OIDCHTTPTimeoutLong 20',
      'OIDCHTTPTimeoutShort 5',
      `OIDCCABundlePath ${pki.caCert}`,
      'OIDCOAuthRemoteUserClaim email ^(.*)@example[.]com$',
      'OIDCOAuthSSLValidateServer On',
      'OIDCOAuthVerifySharedKeys plain#kid1#0123456789abcdef0123456789abcdef',
      'OIDCOAuthClientID rs',
      'OIDCOAuthClientSecret rs-secret',
      'OIDCOAuthIntrospectionEndpointAuth client_secret_basic',
      'OIDCOAuthIntrospectionEndpointMethod POST',
      'OIDCOAuthIntrospectionEndpointParams a=b&c=d',
      'OIDCOAuthIntrospectionTokenParamName token',
      '<Location /api>',
      '    AuthType oauth20',
      '    Require claim scope~read',
      '    OIDCOAuthAcceptTokenAs header post query cookie:tok basic',
      '    OIDCPassClaimsAs both',
      '    OIDCAuthNHeader X-Remote-User',
      '    OIDCOAuthTokenIntrospectionInterval -1',
      '</Location>',
    ]);
    const r = configtest(siteConfig(text).text);
    assert.equal(r.code, 0, r.output);
  });

  const adaptSeed = (name) => {
    const pki = getPki();
    let text = fs.readFileSync(path.join(examplesDir, name), 'utf8');
    // only the LoadModule path changes ...
    text = text.replace(/^(\s*LoadModule\s+auth_openidc_module\s+)\S+/m, `$1${MODULE_SO}`);
    // ... plus what a loopback test needs: a throwaway certificate and loopback provider URLs
    text = text.replace(/^(\s*SSLCertificateFile\s+).*$/m, `$1"${pki.cert}"`);
    text = text.replace(/^(\s*SSLCertificateKeyFile\s+).*$/m, `$1"${pki.key}"`);
    text = text.replace(/https:\/\/(iam\.example\.org|keycloak\.example\.com)/g, 'https://127.0.0.1:8443');
    return text;
  };
  const seedModules = ['ssl', 'remoteip', 'socache_shmcb'];

  it('examples/mesos-proxy.conf with only the LoadModule path changed', { skip: examplesDir ? false : 'shared/examples not found' }, () => {
    const { text } = newConfig({ site: { text: adaptSeed('mesos-proxy.conf') }, moduleSo: null, extraModules: seedModules }, 'seed-mesos');
    const r = configtest(text);
    assert.equal(r.code, 0, r.output);
  });

  it('apache/multi-server-redis.conf (the documented several-servers example) passes apache2 -t', { skip: oursOnly }, () => {
    const pki = getPki();
    let text = fs.readFileSync(path.join(REPO_ROOT, 'apache', 'multi-server-redis.conf'), 'utf8');
    text = text.replace(/^(\s*LoadModule\s+auth_openidc_module\s+)\S+/m, `$1${MODULE_SO}`);
    text = text.replace(/^(\s*SSLCertificateFile\s+).*$/m, `$1"${pki.cert}"`);
    text = text.replace(/^(\s*SSLCertificateKeyFile\s+).*$/m, `$1"${pki.key}"`);
    text = text.replace(/https:\/\/iam\.example\.org/g, 'https://127.0.0.1:8443');
    const { text: conf } = newConfig({ site: { text }, moduleSo: null, extraModules: ['ssl', 'socache_shmcb'] }, 'multi-server');
    const r = configtest(conf);
    assert.equal(r.code, 0, r.output);
  });

  it('examples/aurora-scheduler.conf with only the LoadModule path changed', { skip: examplesDir ? oursOnly : 'shared/examples not found' }, () => {
    // OIDCXForwardedHeaders is newer than the reference (2.4.12.3), hence ours only
    const { text } = newConfig({ site: { text: adaptSeed('aurora-scheduler.conf') }, moduleSo: null, extraModules: seedModules }, 'seed-aurora');
    const r = configtest(text);
    assert.equal(r.code, 0, r.output);
  });
});

describe('startup checks', () => {
  it('AuthType openid-connect without OIDCRedirectURI: Apache does not start, the log names it', async () => {
    const text = [
      'OIDCProviderMetadataURL https://127.0.0.1:9/.well-known/openid-configuration',
      'OIDCClientID x',
      `OIDCCryptoPassphrase ${PASS}`,
      '<Location /x>',
      '    AuthType openid-connect',
      '    Require valid-user',
      '</Location>',
    ].join('\n');
    await assert.rejects(startApache({ name: 'missing-redirect', site: { text } }), /OIDCRedirectURI/);
  });

  it('a LoadModule of the module alone (no OIDC directive) starts and serves', async () => {
    const a = await startApache({ name: 'bare', site: { text: '' } });
    try {
      const res = await a.get('/ok.txt');
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
    } finally {
      await a.stop();
    }
  });
});
