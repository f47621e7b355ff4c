// Everything through the cache (issue 4): two Apache servers on one Redis share what the bearer
// path fetches. A token introspected at the first is not introspected again at the second (the
// result is in Redis, keyed by a hash of the token, sealed); the OAuth metadata and the JWKS are
// fetched once for both; their keys are visible in Redis under our prefix with a TTL.
// Ours only: the C module of the reference setup is not built with Redis here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { assertOk, bearer, oauthLocation, startSites, startWorld } from './lib/fixture.js';
import { claims, mint, newKey, now } from './lib/jwt.js';
import { REDIS_SERVER, startRedis } from './lib/redis.js';
import { oursOnly } from './lib/util.js';

const skip = oursOnly || (fs.existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} missing`);
const PREFIX = 'mod_auth_openidc_rs:';

const keysOf = (redis, section) => redis.cli('--scan', '--pattern', `${PREFIX}${section}:*`).split('\n').filter(Boolean);

describe('OIDCCacheType redis: provider documents and introspection results shared by two servers', { skip }, () => {
  let world;
  let redis;
  let a;
  let b;
  const signing = newKey('RS256', 'l2-k1');
  before(async () => {
    world = await startWorld();
    redis = await startRedis({ name: 'redis-l2' });
    world.hostile.route('/l2-meta', {
      json: { issuer: world.hostile.base, introspection_endpoint: world.hostile.url('/l2-introspect') },
    });
    world.hostile.route('/l2-introspect', {
      json: { active: true, sub: 'l2-opaque-user', email: 'l2-secret@example.com', exp: now() + 600 },
    });
    world.hostile.jwks('/l2-jwks', [signing]);
    const cache = [
      'OIDCCacheType redis',
      `OIDCRedisCacheServer 127.0.0.1:${redis.port}`,
      `OIDCRedisCachePassword ${redis.password}`,
      'OIDCRedisCacheConnectTimeout 2',
      'OIDCRedisCacheTimeout 2',
    ];
    const vhosts = [
      {
        host: 'intro.test',
        server: [
          ...cache,
          `OIDCOAuthServerMetadataURL ${world.hostile.url('/l2-meta')}`,
          'OIDCOAuthClientID l2-rs',
          'OIDCOAuthClientSecret l2-rs-secret',
        ],
        locations: [oauthLocation('/api')],
      },
      {
        host: 'jwt.test',
        server: [...cache, `OIDCOAuthVerifyJwksUri ${world.hostile.url('/l2-jwks')}`],
        locations: [oauthLocation('/api')],
      },
    ];
    a = await startSites(world, { name: 'l2-a', vhosts });
    b = await startSites(world, { name: 'l2-b', vhosts });
  });
  after(async () => {
    await world?.close();
    await redis?.stop();
  });

  it('a token introspected at the first server is not introspected again at the second', async () => {
    world.hostile.reset('/l2-meta');
    world.hostile.reset('/l2-introspect');
    const token = `l2-opaque-${Date.now()}-abcdefghijklmnop`;
    const ea = assertOk(await a.req('intro.test', '/api/x', { headers: bearer(token) }), 'at A');
    assert.equal(world.hostile.hits('/l2-introspect'), 1, 'introspected at A');
    const eb = assertOk(await b.req('intro.test', '/api/y', { headers: bearer(token) }), 'at B');
    const sub = (e) => e.headers.find(([k]) => k.toLowerCase() === 'oidc_claim_sub')?.[1];
    assert.equal(sub(eb), 'l2-opaque-user');
    assert.equal(sub(eb), sub(ea), 'the same identity at both servers');
    assert.equal(world.hostile.hits('/l2-introspect'), 1, 'B took the result from Redis');
    assert.equal(world.hostile.hits('/l2-meta'), 1, 'B took the metadata from Redis');

    // Keys: metadata and the introspection result, with TTLs; sealed values, hashed keys.
    const meta = keysOf(redis, 'o');
    const tokens = keysOf(redis, 'a');
    assert.equal(meta.length, 1, `one metadata key: ${meta}`);
    assert.equal(tokens.length, 1, `one access token key: ${tokens}`);
    for (const k of [...meta, ...tokens]) {
      assert.ok(Number(redis.cli('TTL', k).trim()) > 0, `${k} has a TTL`);
      assert.ok(!k.includes(token) && !k.includes('l2-meta'), `${k}: key hashed`);
      const v = redis.cli('GET', k);
      for (const needle of [token, 'l2-opaque-user', 'l2-secret@example.com', 'l2-introspect']) {
        assert.ok(!v.includes(needle), `${k}: no plaintext ${needle}`);
      }
    }
    const ttl = Number(redis.cli('TTL', tokens[0]).trim());
    assert.ok(ttl > 500 && ttl <= 600, `the token result lives until the token's exp: ${ttl}`);
  });

  it('the JWKS is fetched once for both servers', async () => {
    world.hostile.reset('/l2-jwks');
    const c = claims();
    assertOk(await a.req('jwt.test', '/api/x', { headers: bearer(mint({ key: signing, claims: c })) }), 'at A');
    assertOk(await b.req('jwt.test', '/api/y', { headers: bearer(mint({ key: signing, claims: { ...c, sub: 'bob' } })) }), 'at B');
    assert.equal(world.hostile.hits('/l2-jwks'), 1, 'B took the JWKS from Redis');
    const jwks = keysOf(redis, 'j');
    assert.equal(jwks.length, 1, `one JWKS key: ${jwks}`);
    assert.ok(Number(redis.cli('TTL', jwks[0]).trim()) > 0, 'a TTL');
    // Locally validated JWTs are not stored (a signature check is cheaper than a round trip).
    assert.equal(keysOf(redis, 'a').length, 1, 'only the introspected token');
  });

  it('with Redis down, introspection still works through the provider', async () => {
    await redis.stop();
    try {
      world.hostile.reset('/l2-introspect');
      const token = `l2-opaque-down-${Date.now()}-abcdefghijk`;
      const t0 = Date.now();
      assertOk(await a.req('intro.test', '/api/x', { headers: bearer(token) }), 'at A, Redis down');
      assertOk(await b.req('intro.test', '/api/x', { headers: bearer(token) }), 'at B, Redis down');
      assert.equal(world.hostile.hits('/l2-introspect'), 2, 'each server asked the provider');
      assert.ok(Date.now() - t0 < 5000, `answered promptly: ${Date.now() - t0} ms`);
    } finally {
      await redis.start?.();
    }
  });
});
