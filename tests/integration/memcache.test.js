// OIDCCacheType memcache: two Apache servers share sessions through one memcached (issue 4). A
// login at the first works at the second with the same identity headers; a logout at the second
// ends the session at the first; the stored value is sealed (no claim in plaintext); memcached
// hung or down → 503 within the cache's bounded I/O timeout (2 s) and the children live on;
// memcached back → logins (and, after a pause, the old session) work again.
// Ours only: the C module of the reference setup is not built with memcache here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  assertSessionHeaders, echoOf, get, HTML, isClearing, lenientRequest, loginHttp, parseSetCookie, SESSION, sessionCacheKey, setCookies, startBrowserSite, withCookie, XHR,
} from './lib/browser.js';
import { startWorld } from './lib/fixture.js';
import { MEMCACHED, startMemcached } from './lib/memcached.js';
import { USER_CLAIMS } from './lib/provider.js';
import { oursOnly } from './lib/util.js';

const skip = oursOnly || (fs.existsSync(MEMCACHED) ? false : `${MEMCACHED} missing`);



describe('OIDCCacheType memcache: sessions shared by two Apache servers', { skip }, () => {
  let world;
  let mc;
  let a;
  let b;
  before(async () => {
    world = await startWorld();
    mc = await startMemcached();
    const vhostExtra = [
      '    OIDCCacheType memcache',
      `    OIDCMemCacheServers "127.0.0.1:${mc.port}"`,
      '    OIDCMemCacheConnectionsTTL 30',
    ].join('\n');
    a = await startBrowserSite(world, { name: 'memcache-a', vhostExtra });
    b = await startBrowserSite(world, { name: 'memcache-b', vhostExtra });
  });
  after(async () => {
    await world?.close();
    await mc?.stop();
  });

  it('a login at the first server is a session at the second, with the same headers', async () => {
    const l = await loginHttp(a.url('/mesos/start'));
    assert.ok(l.sessionCookie, l.trail.join('\n'));
    const ha = assertSessionHeaders(echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'at A'), world.provider.issuer, 'at A');
    const hb = assertSessionHeaders(echoOf(await get(b, '/mesos/y', { headers: withCookie(l.sessionCookie) }), 'at B'), world.provider.issuer, 'at B');
    assert.deepEqual(hb, ha, 'the same identity at both servers');

    // the session is in memcached under our prefix and sealed: no claim in plaintext
    const value = await mc.get(sessionCacheKey(l.sessionCookie));
    assert.ok(value && value.length > 100, `a stored value (${value?.length} bytes)`);
    const text = value.toString('latin1');
    for (const needle of [USER_CLAIMS.email, USER_CLAIMS.name, ha.OIDC_access_token].filter(Boolean)) {
      assert.ok(!text.includes(needle), `no plaintext ${needle} in the stored value`);
    }
    // the first 8 bytes are the expiry (Unix seconds, big-endian), in the future
    const expiresAt = Number(value.readBigInt64BE(0));
    const now = Math.floor(Date.now() / 1000);
    assert.ok(expiresAt > now && expiresAt < now + 86400, `expiry ${expiresAt}`);
  });

  it('a logout at the second server ends the session at the first', async () => {
    const l = await loginHttp(a.url('/mesos/logout-me'));
    echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'at A before');
    echoOf(await get(b, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'at B before');
    const out = await get(b, `/mesos/redirect_uri?logout=${encodeURIComponent(b.url('/loggedout'))}`, { headers: withCookie(l.sessionCookie, HTML) });
    assert.equal(out.status, 302, out.body.slice(0, 200));
    const cleared = setCookies(out).map(parseSetCookie).filter((c) => c.name === SESSION);
    assert.ok(cleared.length === 1 && isClearing(cleared[0]), `the session cookie is cleared: ${setCookies(out)}`);
    assert.equal(await mc.get(sessionCacheKey(l.sessionCookie)), null, 'the session is gone from memcached');
    const atA = await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie, XHR) });
    assert.equal(atA.status, 401, 'the old cookie no longer opens a session at A');
    const atA2 = await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie, HTML) });
    assert.equal(atA2.status, 302, 'a browser at A is sent to log in again');
  });

  it('memcached hung (SIGSTOP) → 503 after the 2 s I/O timeout, not a hung child; resumed → the session works', async () => {
    const l = await loginHttp(a.url('/mesos/hang'));
    echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'before');
    mc.pause();
    try {
      for (const [site, what] of [[a, 'A'], [b, 'B']]) {
        const t = Date.now();
        const res = await get(site, '/mesos/x', { headers: withCookie(l.sessionCookie), timeoutMs: 15000 });
        const ms = Date.now() - t;
        assert.equal(res.status, 503, `${what}: status ${res.status} ${res.body.slice(0, 200)}`);
        assert.ok(ms >= 1500 && ms < 5000, `${what}: answered after the 2 s timeout, in ${ms} ms`);
      }
    } finally {
      mc.resume();
    }
    echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'after resume');
    echoOf(await get(b, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'after resume at B');
  });

  it('memcached down → 503 at once, the children live on; memcached back → logins work again', async () => {
    const l = await loginHttp(a.url('/mesos/outage'));
    echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'before the outage');
    await mc.stop();
    for (const [site, what] of [[a, 'A'], [b, 'B'], [a, 'A again']]) {
      const t = Date.now();
      const res = await get(site, '/mesos/x', { headers: withCookie(l.sessionCookie) });
      const ms = Date.now() - t;
      assert.equal(res.status, 503, `${what}: status ${res.status} ${res.body.slice(0, 200)}`);
      assert.ok(ms < 3000, `${what}: answered in ${ms} ms`);
    }
    assert.equal(a.proc.exitCode, null, 'Apache A still runs');
    assert.equal(b.proc.exitCode, null, 'Apache B still runs');
    assert.doesNotMatch(a.errorLog(), /exit signal|panicked/, 'no child crashed');
    assert.doesNotMatch(b.errorLog(), /exit signal|panicked/, 'no child crashed');

    await mc.start();
    // the old session died with memcached: no session (a login redirect), then a new login at
    // A is used at B
    const old = await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie, XHR) });
    assert.equal(old.status, 401, `the lost session is no session: ${old.status}`);
    const again = await loginHttp(a.url('/mesos/after'));
    assert.ok(again.sessionCookie, again.trail.join('\n'));
    assertSessionHeaders(echoOf(await get(b, '/mesos/x', { headers: withCookie(again.sessionCookie) }), 'at B after'), world.provider.issuer, 'at B after');
  });
});
