// OIDCCacheType redis: two Apache servers share sessions through one Redis (issue 4). A login at
// the first works at the second with the same identity headers; a logout at the second ends the
// session at the first at once (each child's near cache is invalidated by Redis); the stored value
// is sealed (no claim in plaintext); Redis hung or down → 503 within OIDCRedisCacheTimeout (a
// session a child holds near: once its tracker noticed) and the children live on; Redis back →
// logins work again.
// Ours only: the C module of the reference setup is not built with Redis here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  assertSessionHeaders, echoOf, get, HTML, isClearing, lenientRequest, loginHttp, parseSetCookie, SESSION, sessionCacheKey, setCookies, startBrowserSite, withCookie, XHR,
} from './lib/browser.js';
import { startWorld } from './lib/fixture.js';
import { USER_CLAIMS } from './lib/provider.js';
import { REDIS_SERVER, startRedis } from './lib/redis.js';
import { oursOnly } from './lib/util.js';

const skip = oursOnly || (fs.existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} missing`);

const KEY_PREFIX = 'mod_auth_openidc_rs:s:';

const sessionKeys = (redis) => redis.cli('--scan', '--pattern', `${KEY_PREFIX}*`).split('\n').filter(Boolean);

describe('OIDCCacheType redis: sessions shared by two Apache servers', { skip }, () => {
  let world;
  let redis;
  let a;
  let b;
  before(async () => {
    world = await startWorld();
    redis = await startRedis();
    const vhostExtra = [
      '    OIDCCacheType redis',
      `    OIDCRedisCacheServer 127.0.0.1:${redis.port}`,
      `    OIDCRedisCachePassword ${redis.password}`,
      '    OIDCRedisCacheConnectTimeout 2',
      '    OIDCRedisCacheTimeout 2',
    ].join('\n');
    a = await startBrowserSite(world, { name: 'redis-a', vhostExtra });
    b = await startBrowserSite(world, { name: 'redis-b', vhostExtra });
  });
  after(async () => {
    await world?.close();
    await redis?.stop();
  });

  it('a login at the first server is a session at the second, with the same headers', async () => {
    const before = new Set(sessionKeys(redis));
    const l = await loginHttp(a.url('/mesos/start'));
    assert.ok(l.sessionCookie, l.trail.join('\n'));
    const ha = assertSessionHeaders(echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'at A'), world.provider.issuer, 'at A');
    const hb = assertSessionHeaders(echoOf(await get(b, '/mesos/y', { headers: withCookie(l.sessionCookie) }), 'at B'), world.provider.issuer, 'at B');
    assert.deepEqual(hb, ha, 'the same identity at both servers');

    // the session is in Redis under our prefix, with a TTL, and sealed: no claim in plaintext
    const added = sessionKeys(redis).filter((k) => !before.has(k));
    assert.equal(added.length, 1, `one new session key: ${added}`);
    const cookieValue = l.sessionCookie.split('=')[1];
    assert.ok(!added[0].includes(cookieValue), 'the key is not the cookie value');
    const ttl = Number(redis.cli('TTL', added[0]).trim());
    assert.ok(ttl > 0, `a TTL: ${ttl}`);
    const value = redis.cli('GET', added[0]);
    assert.ok(value.length > 100, `a stored value (${value.length} bytes)`);
    for (const needle of [USER_CLAIMS.email, USER_CLAIMS.name, ha.OIDC_access_token].filter(Boolean)) {
      assert.ok(!value.includes(needle), `no plaintext ${needle} in the stored value`);
    }
  });

  it('a logout at the second server ends the session at the first', async () => {
    const l = await loginHttp(a.url('/mesos/logout-me'));
    // several reads at A: its children hold the session in their near caches
    for (let i = 0; i < 6; i += 1) echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'at A before');
    echoOf(await get(b, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'at B before');
    const out = await get(b, `/mesos/redirect_uri?logout=${encodeURIComponent(b.url('/loggedout'))}`, { headers: withCookie(l.sessionCookie, HTML) });
    assert.equal(out.status, 302, out.body.slice(0, 200));
    const cleared = setCookies(out).map(parseSetCookie).filter((c) => c.name === SESSION);
    assert.ok(cleared.length === 1 && isClearing(cleared[0]), `the session cookie is cleared: ${setCookies(out)}`);
    const atA = await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie, XHR) });
    assert.equal(atA.status, 401, 'the old cookie no longer opens a session at A');
    const atA2 = await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie, HTML) });
    assert.equal(atA2.status, 302, 'a browser at A is sent to log in again');
  });

  it('a corrupt or foreign value under a session key is no session (cleared, a new login), not a crash', async () => {
    const victim = await loginHttp(a.url('/mesos/victim'));
    const other = await loginHttp(a.url('/mesos/other'));
    const key = sessionCacheKey(victim.sessionCookie);
    assert.ok(sessionKeys(redis).includes(key), `the session key is ${key}`);
    echoOf(await get(b, '/mesos/x', { headers: withCookie(victim.sessionCookie) }), 'before');

    // another user's (valid, sealed) record copied under this key (sealed to its own key: refused),
    // plain garbage, and garbage behind a valid expiry frame (8 bytes, big-endian Unix time)
    const ttl = redis.cli('TTL', key).trim();
    const cases = [
      ['foreign record', () => redis.cli('COPY', sessionCacheKey(other.sessionCookie), key, 'REPLACE')],
      ['garbage', () => redis.cli('SET', key, 'garbage', 'EX', ttl)],
      ['framed garbage', () => redis.cli('EVAL', "return redis.call('SET', KEYS[1], struct.pack('>i8', tonumber(ARGV[1])) .. 'not a sealed session', 'EX', ARGV[2])", '1', key, String(Math.floor(Date.now() / 1000) + 600), ttl)],
    ];
    for (const [what, corrupt] of cases) {
      corrupt();
      for (const site of [a, b]) {
        const res = await get(site, '/mesos/x', { headers: withCookie(victim.sessionCookie, HTML) });
        assert.equal(res.status, 302, `${what}: a new login, not ${res.status} ${res.body.slice(0, 200)}`);
        const cleared = setCookies(res).map(parseSetCookie).filter((c) => c.name === SESSION);
        assert.ok(cleared.length === 1 && isClearing(cleared[0]), `${what}: the session cookie is cleared`);
      }
    }
    // the other session is untouched
    echoOf(await get(b, '/mesos/x', { headers: withCookie(other.sessionCookie) }), 'the other session');
    assert.doesNotMatch(a.errorLog() + b.errorLog(), /exit signal|panicked/, 'no child crashed');
  });

  it('Redis hung (SIGSTOP) → 503 after OIDCRedisCacheTimeout, not a hung child; resumed → the session works', async () => {
    const l = await loginHttp(a.url('/mesos/hang'));
    echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'before');
    redis.pause();
    const paused = Date.now();
    try {
      // B has never read this session: it must ask Redis, which does not answer
      const t = Date.now();
      const res = await get(b, '/mesos/x', { headers: withCookie(l.sessionCookie), timeoutMs: 15000 });
      const ms = Date.now() - t;
      assert.equal(res.status, 503, `status ${res.status} ${res.body.slice(0, 200)}`);
      assert.ok(ms >= 1500 && ms < 5000, `answered after the 2 s timeout, in ${ms} ms`);
      // A's near cache may still serve the session it read before the hang, but only until its
      // tracker's PING (sent after a quiet second) goes unanswered for OIDCRedisCacheTimeout;
      // after that even a session A knows is a 503
      const settle = paused + 1000 + 2000 + 2000 - Date.now();
      if (settle > 0) await new Promise((r) => setTimeout(r, settle));
      const t2 = Date.now();
      const resA = await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie), timeoutMs: 15000 });
      const ms2 = Date.now() - t2;
      assert.equal(resA.status, 503, `known at A, ${Date.now() - paused} ms into the hang: status ${resA.status}`);
      assert.ok(ms2 < 5000, `answered in ${ms2} ms`);
    } finally {
      redis.resume();
    }
    echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'after resume');
    echoOf(await get(b, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'after resume at B');
  });

  it('Redis down → 503 within the timeout, the children live on; Redis back → logins work again', async () => {
    const l = await loginHttp(a.url('/mesos/outage'));
    echoOf(await get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) }), 'before the outage');
    await redis.stop();
    for (const [site, what] of [[a, 'A'], [b, 'B'], [a, 'A again']]) {
      const t = Date.now();
      const res = await get(site, '/mesos/x', { headers: withCookie(l.sessionCookie) });
      const ms = Date.now() - t;
      assert.equal(res.status, 503, `${what}: status ${res.status} ${res.body.slice(0, 200)}`);
      assert.ok(ms < 5000, `${what}: answered in ${ms} ms`);
    }
    // A burst of requests during the outage: answered, and logged once per burst and child, not
    // once per request.
    const burst = await Promise.all(Array.from({ length: 30 }, () => get(a, '/mesos/x', { headers: withCookie(l.sessionCookie) })));
    assert.deepEqual([...new Set(burst.map((r) => r.status))], [503], 'every request of the burst gets the 503 page');
    const reported = a.errorLog().split('\n').filter((line) => /\[auth_openidc:error\].*session cache unavailable/.test(line));
    assert.ok(reported.length >= 1 && reported.length <= 4, `logged once per child, not 32 times: ${reported.length} lines`);
    assert.equal(a.proc.exitCode, null, 'Apache A still runs');
    assert.equal(b.proc.exitCode, null, 'Apache B still runs');
    assert.doesNotMatch(a.errorLog(), /exit signal|panicked/, 'no child crashed');

    await redis.start();
    // the old session died with Redis (no persistence): a new login, at A, used at B
    const again = await loginHttp(a.url('/mesos/after'));
    assert.ok(again.sessionCookie, again.trail.join('\n'));
    assertSessionHeaders(echoOf(await get(b, '/mesos/x', { headers: withCookie(again.sessionCookie) }), 'at B after'), world.provider.issuer, 'at B after');
  });
});
