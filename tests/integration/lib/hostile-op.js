// A programmable OpenID provider for the authorization code flow (plain node https/http server).
// One server holds many independent "tenants" (one issuer each: <base>/<tenant>), so concurrent
// tests never share provider state. Each tenant serves
//   <issuer>/.well-known/openid-configuration   discovery (overridable, e.g. a foreign issuer)
//   <issuer>/jwks                               the public keys (rotatable)
//   <issuer>/authorize                          answers at once: 302 back to redirect_uri with
//                                               code + state (+ optional RFC 9207 iss), or error=
//   <issuer>/token                              code exchange (programmable answer and ID token)
//   <issuer>/userinfo                           programmable claims
//   <issuer>/logout                             end_session
// and records every call (method, query, headers, form body) so a test can assert what the
// relying party sent (client authentication shape, PKCE verifier, extra parameters) and what it did
// NOT call (userinfo after a bad ID token).
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { b64url, mint, newKey, now, tamperSignature } from './jwt.js';
import { getPki } from './pki.js';
import { freePort, writePaddedJson } from './util.js';

const ENDPOINTS = ['discovery', 'jwks', 'authorize', 'token', 'userinfo', 'logout'];

/** Parses an Authorization: Basic header into [id, secret] (form-urlencoding undone), or null. */
export function parseBasic(value) {
  const m = /^Basic\s+(.+)$/i.exec(value || '');
  if (!m) return null;
  const raw = Buffer.from(m[1], 'base64').toString('utf8');
  const i = raw.indexOf(':');
  if (i < 0) return null;
  const dec = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
  return [dec(raw.slice(0, i)), dec(raw.slice(i + 1))];
}

/** Verifies a compact JWS (RS256/ES256/HS256 only) with a KeyObject; returns the payload or null. */
export function verifyJws(token, key) {
  const parts = String(token).split('.');
  if (parts.length !== 3) return null;
  let header;
  let payload;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const input = Buffer.from(`${parts[0]}.${parts[1]}`);
  const sig = Buffer.from(parts[2], 'base64url');
  let ok = false;
  switch (header.alg) {
    case 'RS256': ok = crypto.verify('sha256', input, key, sig); break;
    case 'ES256': ok = crypto.verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig); break;
    case 'HS256': {
      const mac = crypto.createHmac('sha256', key).update(input).digest();
      ok = mac.length === sig.length && crypto.timingSafeEqual(mac, sig);
      break;
    }
    default: ok = false;
  }
  return ok ? { header, payload } : null;
}

const s256 = (verifier) => b64url(crypto.createHash('sha256').update(verifier).digest());

/**
 * startHostileOp({ tls = true }) → { port, base, tenant(name, opts), close() }
 *
 * tenant(name, opts) → a tenant object; every option below is also a writable property, so a test
 * can reprogram the provider between steps. Options:
 *   clientId, clientSecret      what the token endpoint expects (defaults derived from name)
 *   authMethod                  'client_secret_basic' (default) | 'client_secret_post' |
 *                               'client_secret_jwt' | 'private_key_jwt' | 'none': enforced at the
 *                               token endpoint (wrong shape → 401 invalid_client)
 *   clientPublicKey             KeyObject verifying private_key_jwt assertions
 *   keys                        signing keys listed in the JWKS (default: one fresh RS256 key)
 *   signingKey                  the key that signs ID tokens (default keys[0])
 *   jwksKeys                    function(tenant) → JWKS keys array (default keys' publicJwk)
 *   discovery                   object merged over the generated document (undefined removes), or
 *                               function(doc) → doc
 *   idToken                     { claims: overrides (undefined removes), header: extra header,
 *                                 alg, signAlg, kid (null → none), typ (default 'JWT'), key,
 *                                 corrupt: true (tampered signature), make(ctx) → raw token }
 *   beforeSign                  function(tenant, ctx) called just before an ID token is made (rotation)
 *   token                       what /token answers instead of the normal response: a spec
 *                               { status, json, body, contentType, delayMs, size, omitIdToken,
 *                                 extra (members merged into the normal JSON) } or a handler
 *                               (req, res, body, ctx) => void
 *   userinfo                    { status, claims (merged over { sub, name, email }; undefined removes),
 *                                 body, contentType }
 *   callbackIss                 undefined: no iss on the callback; a string: that iss value
 *   authError                   { error, error_description } → the authorization endpoint answers
 *                               with an error redirect instead of a code
 *   userClaims                  the ID token subject's claims (default { sub: 'alice' })
 *   refresh                     { accessTokenTtl, refreshedTtl, delayMs }: the code exchange also
 *                               returns a refresh token and expires_in accessTokenTtl (default
 *                               300); grant_type=refresh_token is answered (after delayMs) with a
 *                               new access token (expires_in refreshedTtl, default 300) and a new
 *                               refresh token; a refresh token works once (rotation), a second use
 *                               gets invalid_grant. refreshGrants counts every refresh grant call,
 *                               refreshedAccessTokens lists what they issued.
 *
 * Tenant read API: issuer, discoveryUrl, url(endpoint), calls(endpoint) (list of recorded calls:
 * { method, url, query, headers (raw pairs), header(name), body, form (object), at }), hits(endpoint),
 * lastAuthRequest(), issued (code → { nonce, state, redirectUri, codeChallenge, ... }), idTokens (made).
 */
export async function startHostileOp({ tls = true } = {}) {
  const port = await freePort();
  const tenants = new Map();
  const sockets = new Set();
  const timers = new Set();
  const base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const wait = (ms) => new Promise((resolve) => {
    const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
    timers.add(t);
  });

  function makeTenant(name, opts = {}) {
    const issuer = `${base}/${name}`;
    const keys = opts.keys || [newKey('RS256', `${name}-k1`)];
    const t = {
      name,
      issuer,
      discoveryUrl: `${issuer}/.well-known/openid-configuration`,
      clientId: `client-${name}`,
      clientSecret: `secret-${name}-${crypto.randomBytes(16).toString('hex')}`,
      authMethod: 'client_secret_basic',
      clientPublicKey: undefined,
      keys,
      signingKey: undefined,
      jwksKeys: undefined,
      discovery: undefined,
      idToken: {},
      beforeSign: undefined,
      token: undefined,
      userinfo: {},
      callbackIss: undefined,
      authError: undefined,
      userClaims: { sub: 'alice' },
      issued: new Map(),
      idTokens: [],
      accessTokens: new Set(),
      refresh: undefined,
      refreshTokens: new Map(),
      refreshGrants: 0,
      refreshedAccessTokens: [],
      log: new Map(ENDPOINTS.map((e) => [e, []])),
      ...opts,
    };
    t.url = (endpoint) => ({
      discovery: t.discoveryUrl,
      jwks: `${issuer}/jwks`,
      authorize: `${issuer}/authorize`,
      token: `${issuer}/token`,
      userinfo: `${issuer}/userinfo`,
      logout: `${issuer}/logout`,
    })[endpoint];
    t.calls = (endpoint) => t.log.get(endpoint) || [];
    t.hits = (endpoint) => t.calls(endpoint).length;
    t.lastAuthRequest = () => t.calls('authorize').at(-1);
    t.resetLog = () => { for (const e of ENDPOINTS) t.log.set(e, []); };
    return t;
  }

  function discoveryDoc(t) {
    let doc = {
      issuer: t.issuer,
      authorization_endpoint: t.url('authorize'),
      token_endpoint: t.url('token'),
      userinfo_endpoint: t.url('userinfo'),
      jwks_uri: t.url('jwks'),
      end_session_endpoint: t.url('logout'),
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: [t.authMethod],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'email', 'profile'],
      claims_supported: ['sub', 'name', 'email'],
    };
    if (typeof t.discovery === 'function') doc = t.discovery(doc);
    else if (t.discovery) {
      doc = { ...doc, ...t.discovery };
      for (const [k, v] of Object.entries(doc)) if (v === undefined) delete doc[k];
    }
    return doc;
  }

  // The client authentication the tenant demands; returns an error string or null.
  function checkClientAuth(t, call) {
    const form = call.form;
    const basic = parseBasic(call.header('authorization'));
    const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
    switch (t.authMethod) {
      case 'client_secret_basic':
        if (!basic) return 'no HTTP Basic credentials';
        if (basic[0] !== t.clientId || basic[1] !== t.clientSecret) return 'wrong Basic credentials';
        if ('client_secret' in form) return 'client_secret in the body as well';
        return null;
      case 'client_secret_post':
        if (basic) return 'HTTP Basic sent with client_secret_post';
        if (form.client_id !== t.clientId || form.client_secret !== t.clientSecret) return 'wrong body credentials';
        return null;
      case 'client_secret_jwt':
      case 'private_key_jwt': {
        if (basic) return 'HTTP Basic sent with a JWT assertion';
        if ('client_secret' in form) return 'client_secret sent with a JWT assertion';
        if (form.client_assertion_type !== assertionType) return 'wrong client_assertion_type';
        const key = t.authMethod === 'client_secret_jwt'
          ? crypto.createSecretKey(Buffer.from(t.clientSecret))
          : t.clientPublicKey;
        const v = verifyJws(form.client_assertion, key);
        if (!v) return 'client_assertion signature does not verify';
        const want = t.authMethod === 'client_secret_jwt' ? 'HS256' : 'RS256';
        if (v.header.alg !== want) return `client_assertion alg ${v.header.alg}`;
        const p = v.payload;
        if (p.iss !== t.clientId || p.sub !== t.clientId) return 'client_assertion iss/sub';
        const aud = Array.isArray(p.aud) ? p.aud : [p.aud];
        if (!aud.includes(t.url('token')) && !aud.includes(t.issuer)) return 'client_assertion aud';
        if (typeof p.exp !== 'number' || p.exp < now()) return 'client_assertion exp';
        if (!p.jti) return 'client_assertion jti';
        if (form.client_id !== undefined && form.client_id !== t.clientId) return 'client_id differs';
        call.assertion = v;
        return null;
      }
      case 'none':
        if (basic) return 'HTTP Basic sent with auth method none';
        if ('client_secret' in form || 'client_assertion' in form) return 'credentials sent with auth method none';
        if (form.client_id !== t.clientId) return 'client_id missing';
        return null;
      default:
        return `unknown auth method ${t.authMethod}`;
    }
  }

  function makeIdToken(t, grant) {
    const spec = t.idToken || {};
    const ctx = { tenant: t, grant };
    if (t.beforeSign) t.beforeSign(t, ctx);
    const time = now();
    const c = {
      iss: t.issuer,
      ...t.userClaims,
      aud: t.clientId,
      exp: time + 300,
      iat: time,
      nonce: grant.nonce,
      ...(spec.claims || {}),
    };
    for (const [k, v] of Object.entries(c)) if (v === undefined) delete c[k];
    if (grant.nonce === undefined && !(spec.claims && 'nonce' in spec.claims)) delete c.nonce;
    ctx.claims = c;
    if (spec.make) return spec.make(ctx);
    const key = spec.key || t.signingKey || t.keys[0];
    let tok = mint({
      key,
      alg: spec.alg,
      signAlg: spec.signAlg,
      kid: spec.kid,
      typ: spec.typ === undefined ? 'JWT' : spec.typ,
      header: spec.header || {},
      claims: c,
    });
    if (spec.corrupt) tok = tamperSignature(tok);
    return tok;
  }

  async function sendSpec(req, res, spec, fallbackJson) {
    if (spec.delayMs) {
      await wait(spec.delayMs);
      if (res.destroyed || req.socket.destroyed) return;
    }
    const headers = { 'Content-Type': spec.contentType || 'application/json', 'Cache-Control': 'no-store' };
    if (spec.size) {
      // A JSON object of about `size` bytes: the normal members first, then a long pad member.
      const head = JSON.stringify(fallbackJson || {}).slice(0, -1);
      const prefix = `${head}${head.length > 1 ? ',' : ''}"pad":"`;
      await writePaddedJson(res, spec.status || 200, headers, prefix, spec.size);
      return;
    }
    let text;
    if (spec.body !== undefined) text = spec.body;
    else if (spec.json !== undefined) text = JSON.stringify(spec.json);
    else text = JSON.stringify(fallbackJson);
    res.writeHead(spec.status || 200, headers);
    res.end(text);
  }

  const sendJson = (res, status, obj, extra = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extra });
    res.end(JSON.stringify(obj));
  };

  // grant_type=refresh_token (tenants with `refresh`): one use per refresh token, rotated.
  async function handleRefresh(t, res, call) {
    const form = call.form;
    t.refreshGrants += 1;
    const spec = t.refresh;
    if (spec.delayMs) await wait(spec.delayMs);
    if (call.authError) return sendJson(res, 401, { error: 'invalid_client', error_description: call.authError });
    const known = t.refreshTokens.get(form.refresh_token);
    if (!known) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'unknown refresh token' });
    if (known.used) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'refresh token already used' });
    known.used = true;
    const accessToken = `at-${crypto.randomBytes(16).toString('hex')}`;
    const refreshToken = `rt-${crypto.randomBytes(16).toString('hex')}`;
    t.accessTokens.add(accessToken);
    t.refreshTokens.set(refreshToken, { used: false });
    t.refreshedAccessTokens.push(accessToken);
    return sendJson(res, 200, {
      access_token: accessToken, token_type: 'Bearer', expires_in: spec.refreshedTtl ?? 300, refresh_token: refreshToken,
    });
  }

  async function handleToken(t, req, res, body, call) {
    const form = call.form;
    const authErr = checkClientAuth(t, call);
    call.authError = authErr;
    if (t.refresh && form.grant_type === 'refresh_token') {
      await handleRefresh(t, res, call);
      return;
    }
    const grant = t.issued.get(form.code);
    call.grant = grant;
    const normal = () => {
      if (authErr) return [401, { error: 'invalid_client', error_description: authErr }];
      if (form.grant_type !== 'authorization_code') return [400, { error: 'unsupported_grant_type' }];
      if (!grant) return [400, { error: 'invalid_grant', error_description: 'unknown code' }];
      if (grant.used) return [400, { error: 'invalid_grant', error_description: 'code already used' }];
      if (form.redirect_uri !== grant.redirectUri) return [400, { error: 'invalid_grant', error_description: 'redirect_uri differs' }];
      if (grant.codeChallenge !== undefined) {
        if (!form.code_verifier || s256(form.code_verifier) !== grant.codeChallenge) {
          return [400, { error: 'invalid_grant', error_description: 'PKCE verification failed' }];
        }
      }
      grant.used = true;
      const accessToken = `at-${crypto.randomBytes(16).toString('hex')}`;
      t.accessTokens.add(accessToken);
      const json = { access_token: accessToken, token_type: 'Bearer', expires_in: 300 };
      if (t.refresh) {
        json.expires_in = t.refresh.accessTokenTtl ?? 300;
        json.refresh_token = `rt-${crypto.randomBytes(16).toString('hex')}`;
        t.refreshTokens.set(json.refresh_token, { used: false });
      }
      const idt = makeIdToken(t, grant);
      t.idTokens.push(idt);
      json.id_token = idt;
      return [200, json];
    };
    if (typeof t.token === 'function') {
      await t.token(req, res, body, { tenant: t, grant, call, normal });
      return;
    }
    const [status, json] = normal();
    if (t.token) {
      const spec = t.token;
      const out = { ...json, ...(spec.extra || {}) };
      if (spec.omitIdToken) delete out.id_token;
      await sendSpec(req, res, { status: spec.status || status, ...spec }, out);
      return;
    }
    sendJson(res, status, json);
  }

  function handleUserinfo(t, req, res, call) {
    const spec = t.userinfo || {};
    const m = /^Bearer\s+(\S+)$/i.exec(call.header('authorization') || '');
    const token = m ? m[1] : call.form.access_token;
    if (!token || !t.accessTokens.has(token)) {
      sendJson(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      return;
    }
    if (spec.body !== undefined) {
      res.writeHead(spec.status || 200, { 'Content-Type': spec.contentType || 'application/json' });
      res.end(spec.body);
      return;
    }
    const c = { ...t.userClaims, name: 'Alice Hostile', email: 'alice@hostile.test', ...(spec.claims || {}) };
    for (const [k, v] of Object.entries(c)) if (v === undefined) delete c[k];
    sendJson(res, spec.status || 200, c);
  }

  function handleAuthorize(t, res, call) {
    const q = call.query;
    const back = q.redirect_uri;
    if (!back || q.client_id !== t.clientId) {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'client_id or redirect_uri' });
      return;
    }
    const target = new URL(back);
    if (t.authError) {
      for (const [k, v] of Object.entries(t.authError)) target.searchParams.set(k, v);
      if (q.state !== undefined) target.searchParams.set('state', q.state);
    } else {
      const code = `code-${crypto.randomBytes(16).toString('hex')}`;
      t.issued.set(code, {
        code,
        nonce: q.nonce,
        state: q.state,
        redirectUri: back,
        scope: q.scope,
        codeChallenge: q.code_challenge,
        codeChallengeMethod: q.code_challenge_method,
        used: false,
      });
      call.code = code;
      target.searchParams.set('code', code);
      if (q.state !== undefined) target.searchParams.set('state', q.state);
    }
    if (t.callbackIss !== undefined) target.searchParams.set('iss', t.callbackIss);
    res.writeHead(302, { Location: target.toString(), 'Cache-Control': 'no-store' });
    res.end();
  }

  const handle = async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url, 'http://x');
    const m = /^\/([^/]+)(\/.*)$/.exec(u.pathname);
    const t = m && tenants.get(m[1]);
    if (!t) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    const rest = m[2];
    const endpoint = {
      '/.well-known/openid-configuration': 'discovery',
      '/jwks': 'jwks',
      '/authorize': 'authorize',
      '/token': 'token',
      '/userinfo': 'userinfo',
      '/logout': 'logout',
    }[rest];
    if (!endpoint) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    const rawHeaders = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const ct = req.headers['content-type'] || '';
    const form = /application\/x-www-form-urlencoded/i.test(ct) ? Object.fromEntries(new URLSearchParams(body)) : {};
    const call = {
      method: req.method,
      url: req.url,
      query: Object.fromEntries(u.searchParams),
      headers: rawHeaders,
      header: (n) => req.headers[n.toLowerCase()],
      body,
      form,
      at: Date.now(),
    };
    t.log.get(endpoint).push(call);
    switch (endpoint) {
      case 'discovery': sendJson(res, 200, discoveryDoc(t)); return;
      case 'jwks': {
        const ks = t.jwksKeys ? t.jwksKeys(t) : t.keys.map((k) => k.publicJwk);
        sendJson(res, 200, { keys: ks });
        return;
      }
      case 'authorize': handleAuthorize(t, res, call); return;
      case 'token': await handleToken(t, req, res, body, call); return;
      case 'userinfo': handleUserinfo(t, req, res, call); return;
      case 'logout':
        if (call.query.post_logout_redirect_uri) {
          res.writeHead(302, { Location: call.query.post_logout_redirect_uri });
          res.end();
        } else {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end('logged out');
        }
        return;
      default: sendJson(res, 404, { error: 'not_found' });
    }
  };

  const onRequest = (req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  };

  let server;
  if (tls) {
    const pki = getPki();
    server = https.createServer({ key: pki.keyPem, cert: pki.certPem }, onRequest);
  } else {
    server = http.createServer(onRequest);
  }
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('secureConnection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    port,
    base,
    tenant(name, opts = {}) {
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`bad tenant name ${name}`);
      if (tenants.has(name)) throw new Error(`tenant ${name} exists`);
      const t = makeTenant(name, opts);
      tenants.set(name, t);
      return t;
    },
    close: () => new Promise((resolve) => {
      for (const tm of timers) clearTimeout(tm);
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
