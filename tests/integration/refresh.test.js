// OIDCRefreshAccessTokenBeforeExpiry across two Apache servers sharing one Redis (issue 4): when
// many requests of one session arrive together at both servers while the access token is within
// the refresh window, the provider sees exactly ONE refresh grant (its refresh tokens are
// single-use, so a second grant would fail and lose the session), every request succeeds, and
// afterwards both servers pass the new access token to the backend. OIDCUserInfoRefreshInterval:
// changed userinfo claims reach the backend at both servers after the interval, fetched once.
// Client-cookie sessions (no shared store): refreshed by the server that sees the window, the new
// tokens go back in re-issued cookies that the other server then serves without a refresh.
// Ours only: the C module of the reference setup is not built with Redis here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { render, readTemplate, startApache } from './lib/apache.js';
import { echoOf, lenientRequest, loginHttp, parseSetCookie, setCookies, withCookie } from './lib/browser.js';
import { startEcho } from './lib/echo.js';
import { PASSPHRASE, echoHeader } from './lib/fixture.js';
import { startHostileOp } from './lib/hostile-op.js';
import { getPki } from './lib/pki.js';
import { REDIS_SERVER, startRedis } from './lib/redis.js';
import { freePort, oursOnly, sleep } from './lib/util.js';

const skip = oursOnly || (fs.existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} missing`);

// The login's access token lives ACCESS_TTL s; refreshing starts WINDOW s before its expiry, i.e.
// ACCESS_TTL - WINDOW s after the login. Refreshed tokens live 300 s (no second refresh here).
const ACCESS_TTL = 8;
const WINDOW = 5;
const PARALLEL = 20;
const USERINFO_INTERVAL = 3;

const accessTokenOf = (echo) => {
  const v = echoHeader(echo, 'OIDC_access_token');
  assert.equal(v.length, 1, `one OIDC_access_token header: ${v}`);
  return v[0];
};

/** One Apache per name for `tenant` of the hostile OP, in front of `echo`, with `extra` directives. */
async function startServers(names, tenant, echo, extra) {
  const started = [];
  for (const name of names) {
    const port = await freePort();
    const site = render(readTemplate('hostile-op'), {
      PORT: port,
      HOST: '127.0.0.1',
      METADATA_URL: tenant.discoveryUrl,
      CLIENT_ID: tenant.clientId,
      CLIENT_SECRET: tenant.clientSecret,
      PASSPHRASE,
      CA_BUNDLE: getPki().caCert,
      ECHO: echo.url,
      TIMEOUT_LONG: 10,
      EXTRA: extra.map((l) => `    ${l}`).join('\n'),
    });
    started.push(await startApache({ name, port, site: { text: site }, logLevel: 'info' }));
  }
  return started;
}

describe('OIDCRefreshAccessTokenBeforeExpiry: one refresh per session across two servers on one Redis', { skip }, () => {
  let op;
  let echo;
  let redis;
  let tenant;
  const apaches = [];
  before(async () => {
    [op, echo, redis] = await Promise.all([startHostileOp({ tls: true }), startEcho(), startRedis({ name: 'redis-refresh' })]);
    // The grant takes 400 ms: every parallel request arrives while the first one refreshes.
    tenant = op.tenant('refresh', {
      userClaims: { sub: 'zoe' },
      refresh: { accessTokenTtl: ACCESS_TTL, refreshedTtl: 300, delayMs: 400 },
    });
    const extra = [
      'OIDCCacheType redis',
      `OIDCRedisCacheServer 127.0.0.1:${redis.port}`,
      `OIDCRedisCachePassword ${redis.password}`,
      `OIDCRefreshAccessTokenBeforeExpiry ${WINDOW} logout_on_error`,
      `OIDCUserInfoRefreshInterval ${USERINFO_INTERVAL}`,
    ];
    apaches.push(...await startServers(['refresh-a', 'refresh-b'], tenant, echo, extra));
  });
  after(async () => {
    await Promise.all(apaches.map((a) => a.stop()));
    await Promise.all([op?.close(), echo?.close(), redis?.stop()]);
  });

  it(`${PARALLEL} parallel requests of one session at both servers in the refresh window → exactly one refresh grant`, async () => {
    const [a, b] = apaches;
    const l = await loginHttp(a.url('/protected/start'));
    assert.ok(l.sessionCookie, l.trail.join('\n'));
    const first = accessTokenOf(echoOf(await lenientRequest(a.url('/protected/x'), { headers: withCookie(l.sessionCookie) }), 'at A'));
    assert.ok(first, 'the login access token is passed');
    const atB = accessTokenOf(echoOf(await lenientRequest(b.url('/protected/x'), { headers: withCookie(l.sessionCookie) }), 'at B'));
    assert.equal(atB, first, 'the same session at B');
    assert.equal(tenant.refreshGrants, 0, 'no refresh before the window');

    // into the window (whole seconds: one more for the clock tick), not yet expired
    await sleep((ACCESS_TTL - WINDOW + 1) * 1000);
    const results = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => {
      const site = i % 2 ? b : a;
      return lenientRequest(site.url(`/protected/p${i}`), { headers: withCookie(l.sessionCookie), timeoutMs: 20000 });
    }));
    results.forEach((r, i) => echoOf(r, `parallel request ${i}`));
    assert.equal(tenant.refreshGrants, 1, `refresh grants seen by the provider: ${tenant.refreshGrants}`);
    assert.equal(tenant.refreshedAccessTokens.length, 1);
    const fresh = tenant.refreshedAccessTokens[0];
    assert.notEqual(fresh, first);

    // both servers now pass the new access token, without another grant
    for (const [site, what] of [[a, 'A'], [b, 'B'], [a, 'A again'], [b, 'B again']]) {
      const h = accessTokenOf(echoOf(await lenientRequest(site.url('/protected/after'), { headers: withCookie(l.sessionCookie) }), what));
      assert.equal(h, fresh, `${what} passes the refreshed access token`);
    }
    assert.equal(tenant.refreshGrants, 1);
    for (const ap of apaches) assert.doesNotMatch(ap.errorLog(), /panicked|exit signal/);
  });

  it('requests arriving after the access token expired: one refresh, the others wait for it and all pass the new token', async () => {
    const [a, b] = apaches;
    const l = await loginHttp(b.url('/protected/late'));
    assert.ok(l.sessionCookie, l.trail.join('\n'));
    const grants = tenant.refreshGrants;
    await sleep((ACCESS_TTL + 1) * 1000);
    const results = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => {
      const site = i % 2 ? a : b;
      return lenientRequest(site.url(`/protected/q${i}`), { headers: withCookie(l.sessionCookie), timeoutMs: 20000 });
    }));
    assert.equal(tenant.refreshGrants, grants + 1, `refresh grants: ${tenant.refreshGrants - grants}`);
    const fresh = tenant.refreshedAccessTokens.at(-1);
    results.forEach((r, i) => assert.equal(accessTokenOf(echoOf(r, `late request ${i}`)), fresh, `late request ${i} passes the new token`));
  });

  it('OIDCUserInfoRefreshInterval: new claims after the interval at both servers, fetched once for a burst', async () => {
    const [a, b] = apaches;
    const l = await loginHttp(a.url('/protected/ui'));
    assert.ok(l.sessionCookie, l.trail.join('\n'));
    const emailOf = (echo) => echoHeader(echo, 'OIDC-email')[0];
    assert.equal(emailOf(echoOf(await lenientRequest(b.url('/protected/x'), { headers: withCookie(l.sessionCookie) }), 'at B')), 'alice@hostile.test');
    tenant.userinfo = { claims: { email: 'zoe@changed.test' } };
    await sleep((USERINFO_INTERVAL + 1) * 1000);
    const calls = tenant.hits('userinfo');
    const results = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => {
      const site = i % 2 ? a : b;
      return lenientRequest(site.url(`/protected/u${i}`), { headers: withCookie(l.sessionCookie), timeoutMs: 20000 });
    }));
    results.forEach((r, i) => echoOf(r, `burst request ${i}`));
    assert.equal(tenant.hits('userinfo') - calls, 1, 'one userinfo call for the burst');
    for (const [site, what] of [[a, 'A'], [b, 'B']]) {
      const echo = echoOf(await lenientRequest(site.url('/protected/after-ui'), { headers: withCookie(l.sessionCookie) }), what);
      assert.equal(emailOf(echo), 'zoe@changed.test', `${what} passes the refreshed claim`);
    }
  });
});

describe('OIDCRefreshAccessTokenBeforeExpiry with client-cookie sessions: the new tokens travel in the cookie', { skip: oursOnly }, () => {
  let op;
  let echo;
  let tenant;
  const apaches = [];
  before(async () => {
    [op, echo] = await Promise.all([startHostileOp({ tls: true }), startEcho()]);
    tenant = op.tenant('refresh-cookie', {
      userClaims: { sub: 'zoe' },
      refresh: { accessTokenTtl: ACCESS_TTL, refreshedTtl: 300, delayMs: 0 },
    });
    const extra = [
      'OIDCSessionType client-cookie',
      'OIDCSessionCookieChunkSize 0',
      `OIDCRefreshAccessTokenBeforeExpiry ${WINDOW}`,
    ];
    apaches.push(...await startServers(['refresh-cookie-a', 'refresh-cookie-b'], tenant, echo, extra));
  });
  after(async () => {
    await Promise.all(apaches.map((a) => a.stop()));
    await Promise.all([op?.close(), echo?.close()]);
  });

  it('a login at A, refreshed at B in the window: B re-issues the cookie, A serves the new token without a grant', async () => {
    const [a, b] = apaches;
    const l = await loginHttp(a.url('/protected/start'));
    assert.ok(l.sessionCookie, l.trail.join('\n'));
    const first = accessTokenOf(echoOf(await lenientRequest(b.url('/protected/x'), { headers: withCookie(l.sessionCookie) }), 'at B'));
    await sleep((ACCESS_TTL - WINDOW + 1) * 1000);
    const res = await lenientRequest(b.url('/protected/y'), { headers: withCookie(l.sessionCookie) });
    const fresh = accessTokenOf(echoOf(res, 'at B in the window'));
    assert.notEqual(fresh, first, 'B refreshed');
    assert.equal(tenant.refreshGrants, 1);
    const reissued = setCookies(res).map(parseSetCookie).find((c) => c.name === 'mod_auth_openidc_session');
    assert.ok(reissued && reissued.value, `the session cookie is re-issued: ${setCookies(res)}`);
    const cookie = `${reissued.name}=${reissued.value}`;
    for (const [site, what] of [[a, 'A'], [b, 'B']]) {
      assert.equal(accessTokenOf(echoOf(await lenientRequest(site.url('/protected/z'), { headers: withCookie(cookie) }), what)), fresh, `${what} serves the refreshed token from the cookie`);
    }
    assert.equal(tenant.refreshGrants, 1, 'no second grant for the new cookie');
    for (const ap of apaches) assert.doesNotMatch(ap.errorLog(), /panicked|exit signal/);
  });
});
