// OIDCSessionType client-cookie (issue 4): the whole session in encrypted, chunked cookies, so two
// Apache servers with NO shared cache (each its own shm) serve the same session. A login at A works
// at B with the same claim headers; a small OIDCSessionCookieChunkSize makes several chunks; a
// tampered chunk is no session (302 to log in, the cookies cleared); logout at B clears them.
// OIDCSessionCacheFallbackToCookie: a Redis nobody listens on, and the login still works via cookies.
// Runs against the C module too (REFERENCE=1).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  assertSessionHeaders, echoOf, get, HTML, isClearing, lenientRequest, loginHttp, parseSetCookie, SESSION, setCookies, startBrowserSite, XHR,
} from './lib/browser.js';
import { startWorld } from './lib/fixture.js';
import { REFERENCE } from './lib/util.js';



/** The session cookies (name=value pairs) a login left in its jar for site `a`. */
function sessionCookies(l, a) {
  const url = a.url('/mesos/');
  return l.jar.names(url).filter((n) => n.startsWith(SESSION)).map((n) => [n, l.jar.get(url, n)]);
}
const cookieHeader = (pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('; ');

/** A free loopback port nothing listens on. */
async function deadPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

describe('OIDCSessionType client-cookie: sessions in the browser, two servers, no shared cache', () => {
  let world;
  let a;
  let b;
  let small;
  before(async () => {
    world = await startWorld();
    const vhostExtra = '    OIDCSessionType client-cookie';
    a = await startBrowserSite(world, { name: 'cookie-a', vhostExtra });
    b = await startBrowserSite(world, { name: 'cookie-b', vhostExtra });
    // :store_id_token keeps the ID token too, so the session surely needs several 1000-byte chunks
    small = await startBrowserSite(world, {
      name: 'cookie-small',
      vhostExtra: '    OIDCSessionType client-cookie:persistent:store_id_token\n    OIDCSessionCookieChunkSize 1000',
    });
  });
  after(async () => {
    await world?.close();
  });

  it('a login at A is a session at B with the same claim headers', async () => {
    const l = await loginHttp(a.url('/mesos/start'));
    const pairs = sessionCookies(l, a);
    assert.ok(pairs.length >= 1, `session cookies set: ${l.trail.join('\n')}`);
    const headers = [['Cookie', cookieHeader(pairs)]];
    const ha = assertSessionHeaders(echoOf(await get(a, '/mesos/x', { headers }), 'at A'), world.provider.issuer, 'at A');
    const hb = assertSessionHeaders(echoOf(await get(b, '/mesos/y', { headers }), 'at B'), world.provider.issuer, 'at B');
    assert.deepEqual(hb, ha, 'the same identity at both servers');
    // no id_token kept without :store_id_token; a session request sets no cookie (throttled re-issue)
    const again = await get(b, '/mesos/z', { headers });
    echoOf(again, 'again at B');
    assert.deepEqual(setCookies(again).filter((c) => c.startsWith(SESSION)), [], 'no re-issue within the throttle');
  });

  it('OIDCSessionCookieChunkSize 1000: several chunks, joined back; a tampered chunk is no session', async () => {
    const l = await loginHttp(small.url('/mesos/chunks'));
    const pairs = sessionCookies(l, small);
    const names = pairs.map(([n]) => n);
    assert.ok(names.includes(`${SESSION}_chunks`), `a chunk count: ${names}`);
    assert.ok(names.includes(`${SESSION}_0`) && names.includes(`${SESSION}_1`), `at least two chunks: ${names}`);
    assert.ok(pairs.every(([, v]) => v.length <= 1000), 'each chunk within the size');
    if (!REFERENCE) {
      // 2.4.12.3 parses `client-cookie:persistent:store_id_token` as neither (its suffix check
      // compares against ":persistent:store_id_token"): its cookies end with the browser session.
      const set = setCookies(l.callback).map(parseSetCookie).filter((c) => c.name.startsWith(SESSION) && !isClearing(c));
      assert.ok(set.every((c) => Number(c.attrs['max-age']) > 0), `:persistent cookies have a Max-Age: ${setCookies(l.callback)}`);
    }
    assertSessionHeaders(echoOf(await get(small, '/mesos/x', { headers: [['Cookie', cookieHeader(pairs)]] }), 'chunked'), world.provider.issuer, 'chunked');

    const tampered = pairs.map(([n, v]) => [n, n === `${SESSION}_1` ? `${v.slice(0, 10)}${v[10] === 'A' ? 'B' : 'A'}${v.slice(11)}` : v]);
    const res = await get(small, '/mesos/x', { headers: [['Cookie', cookieHeader(tampered)], HTML] });
    assert.equal(res.status, 302, `a new login: ${res.status}`);
    assert.match(res.headers.location || '', /\/authorize|\/auth/, `to the provider: ${res.headers.location}`);
    const cleared = setCookies(res).map(parseSetCookie).filter((c) => c.name.startsWith(SESSION) && isClearing(c)).map((c) => c.name);
    // Ours clears the broken session cookies; 2.4.12.3 only sends the browser to log in.
    if (!REFERENCE) for (const n of names) assert.ok(cleared.includes(n), `${n} cleared: ${setCookies(res)}`);

    const missing = pairs.filter(([n]) => n !== `${SESSION}_1`);
    const xhr = await get(small, '/mesos/x', { headers: [['Cookie', cookieHeader(missing)], XHR] });
    assert.equal(xhr.status, 401, 'a missing chunk is no session');
  });

  it('a logout at B clears every session cookie', async () => {
    const l = await loginHttp(a.url('/mesos/logout-me'));
    const pairs = sessionCookies(l, a);
    const out = await get(b, `/mesos/redirect_uri?logout=${encodeURIComponent(b.url('/loggedout'))}`, { headers: [['Cookie', cookieHeader(pairs)], HTML] });
    assert.equal(out.status, 302, out.body.slice(0, 200));
    assert.doesNotMatch(out.headers.location, /id_token_hint/, 'no ID token kept without :store_id_token');
    const cleared = setCookies(out).map(parseSetCookie).filter((c) => isClearing(c)).map((c) => c.name);
    for (const [n] of pairs) assert.ok(cleared.includes(n), `${n} cleared: ${setCookies(out)}`);
    const set = setCookies(out).map(parseSetCookie).filter((c) => c.name.startsWith(SESSION) && !isClearing(c));
    assert.deepEqual(set, [], 'no session cookie set by the logout');
  });
});

describe('OIDCSessionCacheFallbackToCookie: the cache is down at login, the session goes to cookies', () => {
  let world;
  let a;
  before(async () => {
    world = await startWorld();
    const port = await deadPort();
    a = await startBrowserSite(world, {
      name: 'cookie-fallback',
      vhostExtra: [
        '    OIDCCacheType redis',
        `    OIDCRedisCacheServer 127.0.0.1:${port}`,
        '    OIDCRedisCacheConnectTimeout 1',
        '    OIDCRedisCacheTimeout 1',
        '    OIDCSessionCacheFallbackToCookie On',
      ].join('\n'),
    });
  });
  after(async () => {
    await world?.close();
  });

  it('the login works and the session is served from the cookies', async () => {
    const l = await loginHttp(a.url('/mesos/fallback'));
    const pairs = sessionCookies(l, a);
    assert.ok(pairs.length >= 1, `session cookies set: ${l.trail.join('\n')}\n${l.callback.body.slice(0, 300)}`);
    const headers = [['Cookie', cookieHeader(pairs)]];
    assertSessionHeaders(echoOf(await get(a, '/mesos/x', { headers }), 'fallback session'), world.provider.issuer, 'fallback');
    if (!REFERENCE) assert.match(a.errorLog(), /in client cookies/, 'the fallback is logged');
  });
});
