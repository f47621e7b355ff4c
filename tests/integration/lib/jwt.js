// Minting JWTs with node's crypto only, including deliberately broken ones.
import crypto from 'node:crypto';

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const now = () => Math.floor(Date.now() / 1000);

/**
 * A signing key. alg: RS256 | PS256 | ES256 | EdDSA | HS256. Returns
 * { alg, kid, privateKey (KeyObject), publicJwk (what a JWKS lists; for HS256 the oct key), secret? }.
 */
export function newKey(alg, kid = `${alg.toLowerCase()}-${crypto.randomBytes(4).toString('hex')}`, opts = {}) {
  let privateKey;
  let publicJwk;
  switch (alg) {
    case 'RS256':
    case 'PS256':
      ({ privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: opts.bits || 2048 }));
      break;
    case 'ES256':
      ({ privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
      break;
    case 'EdDSA':
      ({ privateKey } = crypto.generateKeyPairSync('ed25519'));
      break;
    case 'HS256': {
      const secret = opts.secret ? Buffer.from(opts.secret) : crypto.randomBytes(32);
      privateKey = crypto.createSecretKey(secret);
      publicJwk = { kty: 'oct', kid, alg, use: 'sig', k: b64url(secret) };
      return { alg, kid, privateKey, publicJwk, secret };
    }
    default:
      throw new Error(`newKey: unsupported alg ${alg}`);
  }
  const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  publicJwk = { ...jwk, kid, use: 'sig', alg };
  if (opts.omitAlg) delete publicJwk.alg;
  return { alg, kid, privateKey, publicJwk };
}

/** A key object from a PEM private key file content (for keys made by openssl). */
export function keyFromPem(pem, alg, kid) {
  const privateKey = crypto.createPrivateKey(pem);
  const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, use: 'sig', alg } };
}

export function signingInput(header, payload) {
  const h = typeof header === 'string' ? header : JSON.stringify(header);
  const p = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return `${b64url(h)}.${b64url(p)}`;
}

export function signBytes(alg, privateKey, data) {
  switch (alg) {
    case 'RS256': return crypto.sign('sha256', Buffer.from(data), privateKey);
    case 'PS256': return crypto.sign('sha256', Buffer.from(data), {
      key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32,
    });
    case 'ES256': return crypto.sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA': return crypto.sign(null, Buffer.from(data), privateKey);
    case 'HS256': return crypto.createHmac('sha256', privateKey).update(data).digest();
    case 'none': return Buffer.alloc(0);
    default: throw new Error(`signBytes: unsupported alg ${alg}`);
  }
}

/**
 * Signs a token.
 *   key: from newKey (or undefined with alg 'none')
 *   alg: header alg (defaults to key.alg); signAlg: what actually signs (defaults to alg)
 *   kid: header kid (undefined → key.kid; null → no kid)
 *   typ: header typ (default 'at+jwt'; null → none)
 *   header: extra header members (jku, jwk, x5u, crit, ...)
 *   claims: payload object (or a raw JSON string)
 *   rawHeader: a raw JSON string used as the header instead (kid/typ/alg ignored)
 */
export function mint({ key, alg, signAlg, kid, typ = 'at+jwt', header = {}, claims = {}, rawHeader } = {}) {
  const a = alg || key?.alg || 'none';
  let h;
  if (rawHeader !== undefined) {
    h = rawHeader;
  } else {
    h = { alg: a };
    if (typ !== null) h.typ = typ;
    const k = kid === undefined ? key?.kid : kid;
    if (k !== null && k !== undefined) h.kid = k;
    Object.assign(h, header);
  }
  const input = signingInput(h, claims);
  const sa = signAlg || a;
  const sig = sa === 'none' ? Buffer.alloc(0) : signBytes(sa, key.privateKey, input);
  return `${input}.${b64url(sig)}`;
}

/** Standard access-token claims (RFC 9068 shape), overridable; a value of undefined removes a claim. */
export function claims(overrides = {}) {
  const t = now();
  const c = {
    iss: 'https://issuer.test',
    sub: 'alice',
    aud: 'https://api.test',
    exp: t + 600,
    iat: t,
    jti: crypto.randomBytes(8).toString('hex'),
    client_id: 'test-client',
    scope: 'read write',
    ...overrides,
  };
  for (const [k, v] of Object.entries(c)) if (v === undefined) delete c[k];
  return c;
}

export function decode(token) {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

/** Flips one character of the signature part (keeps it valid base64url). */
export function tamperSignature(token) {
  const parts = token.split('.');
  const s = parts[2];
  const i = Math.floor(s.length / 2);
  parts[2] = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  return parts.join('.');
}
