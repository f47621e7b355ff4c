// A real OpenID Provider: the `oidc-provider` package (9.x), served by node over https on
// 127.0.0.1:<port> with the test PKI.
//
// - client `api-client` (client_secret_basic) may use client_credentials; with
//   `resource=<API_RESOURCE>` it gets an RS256 JWT access token (RFC 9068, typ at+jwt), with
//   `resource=<OPAQUE_RESOURCE>` an opaque one (for introspection).
// - clients `rs-basic` (client_secret_basic) and `rs-post` (client_secret_post) may call the
//   introspection endpoint (RFC 7662).
// - client `mesos-web` is a code-flow client for the openid-connect locations of the seed config.
import crypto from 'node:crypto';
import https from 'node:https';
import Provider from 'oidc-provider';
import { getPki } from './pki.js';
import { freePort, request } from './util.js';

export const API_RESOURCE = 'https://api.test/marathon';
export const OPAQUE_RESOURCE = 'https://api.test/opaque';

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
 * authorizationUrl, signingKid, signingKey, getToken({resource, scope, client}), close() }.
 */
export async function startProvider({ webRedirectUris = ['http://127.0.0.1/mesos/redirect_uri'] } = {}) {
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
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    scopes: ['openid', 'email', 'profile', 'read', 'write'],
    features: {
      devInteractions: { enabled: false },
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
    ttl: { AccessToken: 600, ClientCredentials: 600 },
    // Keep node's console quiet about the development-only defaults.
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  });
  provider.on('server_error', (ctx, err) => { console.error('oidc-provider server_error:', err); });

  const server = https.createServer({ key: pki.keyPem, cert: pki.certPem }, provider.callback());
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
    getToken,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
