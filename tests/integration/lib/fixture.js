// The shared world of a test file (PKI, oidc-provider, hostile provider, echo backend) and helpers
// to start Apache sites made of name-based virtual hosts.
import assert from 'node:assert/strict';
import { startApache } from './apache.js';
import { startEcho } from './echo.js';
import { startHostile } from './hostile.js';
import { getPki } from './pki.js';
import { CLIENTS, startProvider } from './provider.js';
import { headerValues, MODULE_SO } from './util.js';

export const PASSPHRASE = 'test-passphrase-0123456789abcdef-0123456789';

export async function startWorld({ hostileTls = true } = {}) {
  const pki = getPki();
  const [provider, echo, hostile] = await Promise.all([startProvider(), startEcho(), startHostile({ tls: hostileTls })]);
  const apaches = [];
  return {
    pki,
    provider,
    echo,
    hostile,
    apaches,
    async close() {
      await Promise.all(apaches.map((a) => a.stop().catch(() => {})));
      await Promise.all([provider.close(), echo.close(), hostile.close()]);
    },
  };
}

/** Variables of apache/test/mesos-bearer.conf.in for this world. */
export function mesosVars(world, vhostExtra = '') {
  return {
    METADATA_URL: world.provider.discoveryUrl,
    JWKS_URI: world.provider.jwksUrl,
    CA_BUNDLE: world.pki.caCert,
    CLIENT_ID: CLIENTS.web.id,
    CLIENT_SECRET: CLIENTS.web.secret,
    PASSPHRASE,
    ECHO: world.echo.url,
    VHOST_EXTRA: vhostExtra,
  };
}

export async function startMesos(world, { name = 'mesos', vhostExtra = '', moduleSo = MODULE_SO } = {}) {
  const a = await startApache({ name, site: 'mesos-bearer', vars: mesosVars(world, vhostExtra), moduleSo });
  world.apaches.push(a);
  return a;
}

/**
 * A resource-server location proxied to the echo backend.
 * path: location path; lines: extra directives inside <Location>.
 */
export function oauthLocation(path, lines = [], { authType = 'oauth20', require = 'valid-user' } = {}) {
  return [
    `    <Location ${path}>`,
    `        AuthType ${authType}`,
    ...(require ? [`        Require ${require}`] : []),
    ...lines.map((l) => `        ${l}`),
    '    </Location>',
  ].join('\n');
}

/**
 * An Apache with one or more name-based virtual hosts on one port. vhosts: [{ host, server: [lines],
 * locations: [text] }]. The first one is the default. Every path is proxied to the echo backend.
 * Returns the apache instance plus req(host, path, opts).
 */
export async function startSites(world, { name, vhosts, moduleSo = MODULE_SO, logLevel = 'warn' }) {
  const text = vhosts.map((v) => [
    '<VirtualHost 127.0.0.1:@@PORT@@>',
    `    ServerName ${v.host}`,
    `    OIDCCryptoPassphrase ${PASSPHRASE}`,
    `    OIDCCABundlePath "${world.pki.caCert}"`,
    ...(v.server || []).map((l) => `    ${l}`),
    ...(v.locations || []),
    '    ProxyRequests Off',
    '    ProxyPass / @@ECHO@@/',
    '</VirtualHost>',
  ].join('\n')).join('\n\n');
  const a = await startApache({ name, site: { text }, vars: { ECHO: world.echo.url }, moduleSo, logLevel });
  world.apaches.push(a);
  a.req = (host, path, opts = {}) => {
    const headers = Array.isArray(opts.headers) ? opts.headers : Object.entries(opts.headers || {});
    return a.get(path, { ...opts, headers: [['Host', host], ...headers] });
  };
  return a;
}

export const bearer = (token, scheme = 'Bearer') => [['Authorization', `${scheme} ${token}`]];

/** The identity headers (OIDC- and OIDC_ prefixed) the echo backend received, in order. */
export function oidcHeaders(echoJson) {
  return echoJson.headers.filter(([k]) => /^oidc[-_]/i.test(k));
}

export function echoHeader(echoJson, name) {
  return headerValues(echoJson.headers, name);
}

export const NO_TOKEN_CHALLENGE = 'Bearer error="invalid_request", error_description="No bearer token found in the request"';

/** Asserts a 401 with a Bearer invalid_token challenge; returns the error_description. */
export function assertInvalidToken(res, what = '') {
  assert.equal(res.status, 401, `${what}: status (body: ${res.body.slice(0, 200)})`);
  const ch = res.headers['www-authenticate'];
  assert.ok(ch, `${what}: no WWW-Authenticate`);
  const m = /^Bearer error="invalid_token", error_description="([^"]*)"$/.exec(ch);
  assert.ok(m, `${what}: unexpected challenge ${ch}`);
  return m[1];
}

/**
 * The key source (JWKS or introspection endpoint) failed: the reference answers 401 invalid_token,
 * ours may answer 5xx instead (the provider is unavailable; the token was not judged). Either way
 * the backend is not reached.
 */
export function assertKeySourceFailure(res, what = '') {
  if ([500, 502, 503, 504].includes(res.status)) {
    assert.equal(res.json, undefined, `${what}: reached the backend`);
    return;
  }
  assertInvalidToken(res, what);
}

export function assertNoToken(res, what = '') {
  assert.equal(res.status, 401, `${what}: status`);
  assert.equal(res.headers['www-authenticate'], NO_TOKEN_CHALLENGE, `${what}: challenge`);
}

export function assertOk(res, what = '') {
  assert.equal(res.status, 200, `${what}: status ${res.status}, WWW-Authenticate: ${res.headers['www-authenticate']}, body: ${res.body.slice(0, 300)}`);
  assert.ok(res.json, `${what}: the echo backend did not answer`);
  return res.json;
}
