// A real OpenID Provider: the `oidc-provider` package (9.x), served by node over https on
// 127.0.0.1:<port> with the test PKI.
//
// - client `api-client` (client_secret_basic) may use client_credentials; with
//   `resource=<API_RESOURCE>` it gets an RS256 JWT access token (RFC 9068, typ at+jwt), with
//   `resource=<OPAQUE_RESOURCE>` an opaque one (for introspection).
// - clients `rs-basic` (client_secret_basic) and `rs-post` (client_secret_post) may call the
//   introspection endpoint (RFC 7662).
// - client `mesos-web` is a code-flow client for the openid-connect locations of the seed config.
//   It is registered as a native client so that any loopback port matches its http redirect URIs
//   (RFC 8252 7.3; every test Apache listens on its own port); it still authenticates with
//   client_secret_basic.
// - interactive login for the code flow: /interaction/<uid> shows a login form (test user
//   TEST_USER), then a consent form; both are plain HTML forms (no external resources), driven by
//   Chromium in the browser tests and by lib/browser.js loginHttp() with plain HTTP elsewhere.
// - RP-initiated logout (end_session_endpoint) with post_logout_redirect_uris in WEB_LOGOUT_PATHS.
import crypto from 'node:crypto';
import https from 'node:https';
import Provider from 'oidc-provider';
import { getPki } from './pki.js';
import { freePort, request } from './util.js';

export const API_RESOURCE = 'https://api.test/marathon';
export const OPAQUE_RESOURCE = 'https://api.test/opaque';

// The one test user of the code flow (login form), and the claims the provider holds for it.
// Claim order matters: userinfo answers in this order (within the granted scopes) and the module
// must pass them on in that order. The values cover COMPAT's rendering rules: UTF-8 string,
// boolean, array, integer, float, object, empty array.
export const TEST_USER = { login: 'zoe', password: 'zoe-password-0123', sub: 'zoe' };
export const USER_CLAIMS = {
  sub: TEST_USER.sub,
  email: 'zoe@example.com',
  email_verified: true,
  name: 'Zoë Example',
  given_name: 'Zoë',
  family_name: 'Example',
  preferred_username: 'zoe',
  groups: ['ops', 'dev'],
  level: 3,
  ratio: 1.5,
  team: { name: 'ops', size: 3 },
  roles: [],
};
export const PROFILE_CLAIMS = ['name', 'given_name', 'family_name', 'preferred_username', 'groups', 'level', 'ratio', 'team', 'roles'];
// Paths (on any loopback port, http) the RP may send the browser back to after end_session.
export const WEB_LOGOUT_PATHS = ['/loggedout', '/open/loggedout', '/mesos/loggedout'];
export const WEB_REDIRECT_PATHS = ['/mesos/redirect_uri', '/redirect_uri', '/app/redirect_uri', '/protected/redirect_uri'];

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>`;

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size > 65536) req.destroy(); else chunks.push(c); });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))));
    req.on('error', reject);
  });
}

export const CLIENTS = {
  api: { id: 'api-client', secret: 'api-client-secret-0123456789abcdef' },
  rsBasic: { id: 'rs-basic', secret: 'rs-basic-secret-0123456789abcdef' },
  rsPost: { id: 'rs-post', secret: 'rs-post-secret-0123456789abcdef' },
  web: { id: 'mesos-web', secret: 'mesos-web-secret-0123456789abcdef' },
};

// Claims added to every access token, first in token order (oidc-provider puts `extra` first).
export const EXTRA_CLAIMS = {
  email: 'svc@example.com',
  groups: ['ops', 'dev'],
  admin: true,
  level: 3,
};

/**
 * Starts the provider. Returns { issuer, port, jwksUrl, introspectionUrl, tokenUrl, discoveryUrl,
 * authorizationUrl, userinfoUrl, endSessionUrl, interactionLog, signingKid, signingKey, getToken({resource, scope, client}), close() }.
 */
export async function startProvider({ webRedirectUris = WEB_REDIRECT_PATHS.map((p) => `http://127.0.0.1${p}`) } = {}) {
  const pki = getPki();
  const port = await freePort();
  const issuer = `https://127.0.0.1:${port}`;
  const signingKid = `op-rs256-${crypto.randomBytes(3).toString('hex')}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: signingKid, alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENTS.api.id,
        client_secret: CLIENTS.api.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: CLIENTS.rsBasic.id,
        client_secret: CLIENTS.rsBasic.secret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: CLIENTS.rsPost.id,
        client_secret: CLIENTS.rsPost.secret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        client_id: CLIENTS.web.id,
        client_secret: CLIENTS.web.secret,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: webRedirectUris,
        post_logout_redirect_uris: WEB_LOGOUT_PATHS.map((p) => `http://127.0.0.1${p}`),
        application_type: 'native',
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    scopes: ['openid', 'email', 'profile', 'read', 'write'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: PROFILE_CLAIMS },
    findAccount: (ctx, id) => (id === TEST_USER.sub
      ? { accountId: id, claims: () => ({ ...USER_CLAIMS }) }
      : undefined),
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('provider error', Object.entries(out).map(([k, v]) => `<pre>${esc(k)}: ${esc(v)}</pre>`).join('\n'));
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = page('Sign out', `${form}\n<button id="logout-yes" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`);
        },
        postLogoutSuccessSource: (ctx) => { ctx.body = page('Signed out', '<p>signed out</p>'); },
      },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (resourceIndicator === OPAQUE_RESOURCE) {
            return { scope: 'read write', audience: resourceIndicator, accessTokenTTL: 600, accessTokenFormat: 'opaque' };
          }
          return {
            scope: 'read write',
            audience: resourceIndicator,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: () => ({ ...EXTRA_CLAIMS }),
    ttl: { AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    // Keep node's console quiet about the development-only defaults.
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  });
  provider.on('server_error', (ctx, err) => { console.error('oidc-provider server_error:', err); });

  const interactionLog = [];
  const callback = provider.callback();
  // The interaction pages (login, consent) in front of the provider's own routes.
  async function interaction(req, res, uid, action) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction uid mismatch');
    const { prompt, params } = details;
    if (req.method === 'GET' && !action) {
      interactionLog.push(prompt.name);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      if (prompt.name === 'login') {
        res.end(page('Sign in', `<p>client ${esc(params.client_id)}</p>
<form id="login" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<input id="username" name="login" placeholder="user">
<input id="password" name="password" type="password" placeholder="password">
<button id="submit" type="submit">Sign in</button>
</form>`));
      } else {
        res.end(page('Authorize', `<p>${esc(params.client_id)} asks for ${esc(params.scope)}</p>
<form id="consent" method="post" action="/interaction/${esc(uid)}/confirm">
<button id="allow" type="submit">Allow</button>
</form>`));
      }
      return;
    }
    if (req.method === 'POST' && action === 'login' && prompt.name === 'login') {
      const form = await readForm(req);
      if (form.login !== TEST_USER.login || form.password !== TEST_USER.password) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(page('Sign in', '<p id="error">wrong user or password</p>'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: TEST_USER.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    if (req.method === 'POST' && action === 'confirm' && prompt.name === 'consent') {
      await readForm(req);
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      if (prompt.details.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(`unexpected ${req.method} ${action || ''} for prompt ${prompt.name}`);
  }
  const handler = (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?$/.exec(req.url.split('?')[0]);
    if (!m) { callback(req, res); return; }
    interaction(req, res, m[1], m[2]).catch((err) => {
      if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(`interaction failed: ${err.message}`);
    });
  };
  const server = https.createServer({ key: pki.keyPem, cert: pki.certPem }, handler);
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

  const disc = await request(`${issuer}/.well-known/openid-configuration`, { ca: pki.ca });
  if (disc.status !== 200) throw new Error(`provider discovery failed: ${disc.status} ${disc.body}`);
  const meta = disc.json;

  async function getToken({ resource = API_RESOURCE, scope = 'read write', client = CLIENTS.api } = {}) {
    const params = new URLSearchParams({ grant_type: 'client_credentials', scope });
    if (resource) params.set('resource', resource);
    const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');
    const res = await request(meta.token_endpoint, {
      method: 'POST',
      ca: pki.ca,
      headers: [['Authorization', `Basic ${basic}`], ['Content-Type', 'application/x-www-form-urlencoded']],
      body: params.toString(),
    });
    if (res.status !== 200 || !res.json?.access_token) {
      throw new Error(`token request failed: ${res.status} ${res.body}`);
    }
    return res.json.access_token;
  }

  return {
    provider,
    issuer,
    port,
    signingKid,
    // The provider's own signing key, to mint tokens it would sign (expired, no sub, ...).
    signingKey: {
      alg: 'RS256',
      kid: signingKid,
      privateKey,
      publicJwk: { ...crypto.createPublicKey(privateKey).export({ format: 'jwk' }), kid: signingKid, alg: 'RS256', use: 'sig' },
    },
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    jwksUrl: meta.jwks_uri,
    introspectionUrl: meta.introspection_endpoint,
    tokenUrl: meta.token_endpoint,
    authorizationUrl: meta.authorization_endpoint,
    userinfoUrl: meta.userinfo_endpoint,
    endSessionUrl: meta.end_session_endpoint,
    // The interaction prompts shown so far (login, consent), in order.
    interactionLog,
    getToken,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
