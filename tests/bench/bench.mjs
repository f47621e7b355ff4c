// `make bench`: wrk against one Apache configuration (apache/test/bench.conf.in) served three
// ways: no auth, our module (build/mod_auth_openidc_rs.so), the Debian C module, on two paths:
//   bearer   a real RS256 access token from oidc-provider sent as `Authorization: Bearer` to a
//            bearer-protected static file;
//   session  a browser session: one real code-flow login per variant (the provider's login and
//            consent forms, driven over plain HTTP), then its session cookie on every request to
//            a static file on an openid-connect location, sessions in the default shm cache;
//   session-redis  the same with `OIDCCacheType redis` on a real redis-server (loopback, password):
//            the session lives in Redis (ours reads it through its Redis-invalidated near
//            cache, the C module reads Redis on every request; the variants with a module run
//            their own Apache with that cache; no auth has no session to keep, so it is the same
//            server).
// Interleaved rounds (path and variant order rotate each round) after a warm-up; medians reported.
//
// Environment: BENCH_ROUNDS (5), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (32),
// BENCH_THREADS (wrk threads, 2), BENCH_PATHS (bearer,session,session-redis), MODULE_SO (ours),
// C_MODULE_SO (the reference).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApache } from '../integration/lib/apache.js';
import { getPki } from '../integration/lib/pki.js';
import { loginHttp } from '../integration/lib/browser.js';
import { CLIENTS, startProvider } from '../integration/lib/provider.js';
import { startRedis } from '../integration/lib/redis.js';
import { C_MODULE_SO, makeWorkdir, MODULE_SO, request } from '../integration/lib/util.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS || 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
const WRK_THREADS = Number(process.env.BENCH_THREADS || 2);
const C_SO = process.env.C_MODULE_SO || C_MODULE_SO;
const PATHS = (process.env.BENCH_PATHS || 'bearer,session,session-redis').split(',').map((p) => p.trim()).filter(Boolean);
const URL_PATH = { bearer: '/api/ok.txt', session: '/app/ok.txt', 'session-redis': '/app/ok.txt' };
// Which Apache (by its session cache) serves a path.
const CACHE_OF = { bearer: 'shm', session: 'shm', 'session-redis': 'redis' };
for (const p of PATHS) if (!URL_PATH[p]) throw new Error(`BENCH_PATHS: unknown path ${p} (${Object.keys(URL_PATH).join(', ')})`);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

/** headers: ["Name: value", ...] sent with every request. */
async function wrk(url, headers, seconds) {
  const out = await run('wrk', [
    `-t${WRK_THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency',
    '-s', path.join(here, 'report.lua'),
    ...headers.flatMap((h) => ['-H', h]),
    url,
  ]);
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`no result from wrk:\n${out}`);
  const r = JSON.parse(line.slice(8));
  // A wrong status is always a failure. A rare socket error (a keep-alive connection closed by
  // the server just as wrk reuses it, or a wrk timeout on a slow variant such as the C module
  // with Redis) is not the module's answer: tolerated up to 1 in 1,000 requests (and a handful
  // at least), counted and printed with the round.
  const socketErrors = r.connect_errors + r.read_errors + r.write_errors + r.timeouts;
  if (r.non2xx > 0 || socketErrors > Math.max(5, r.requests / 1000)) {
    throw new Error(`wrk saw ${r.non2xx} wrong statuses and ${socketErrors} socket errors against ${url}: ${line}`);
  }
  return { rps: r.requests / (r.duration_us / 1e6), p99ms: r.p99_us / 1000, p50ms: r.p50_us / 1000, socketErrors };
}

/** Sum of VmRSS (KiB) of the Apache parent's children. */
function childrenRssKiB(parentPid) {
  let sum = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parentPid) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${d}/status`, 'utf8'));
      if (m) sum += Number(m[1]);
    } catch {
      // the process went away
    }
  }
  return sum;
}

async function main() {
  const pki = getPki();
  const provider = await startProvider();
  const token = await provider.getToken();
  const vars = {
    JWKS_URI: provider.jwksUrl,
    CA_BUNDLE: pki.caCert,
    PASSPHRASE: 'bench-passphrase-0123456789abcdef0123',
    METADATA_URL: provider.discoveryUrl,
    CLIENT_ID: CLIENTS.web.id,
    CLIENT_SECRET: CLIENTS.web.secret,
  };

  const variants = [{ name: 'no auth', moduleSo: null }];
  if (fs.existsSync(MODULE_SO)) variants.push({ name: 'ours (rs)', moduleSo: MODULE_SO });
  else console.log(`(skipping ours: ${MODULE_SO} does not exist; run make build)`);
  if (fs.existsSync(C_SO)) variants.push({ name: 'C module', moduleSo: C_SO });
  else console.log(`(skipping the C module: ${C_SO} does not exist)`);

  const outDir = makeWorkdir('bench');
  const caches = [...new Set(PATHS.map((p) => CACHE_OF[p]))];
  const redis = caches.includes('redis') ? await startRedis({ name: 'bench-redis', password: 'bench-redis-pw-0123' }) : null;
  const sessionCache = {
    shm: '',
    redis: redis && `OIDCCacheType redis\n    OIDCRedisCacheServer 127.0.0.1:${redis.port}\n    OIDCRedisCachePassword ${redis.password}`,
  };
  try {
    for (const v of variants) {
      v.apache = {};
      for (const c of caches) {
        // No auth keeps no sessions: one server stands for every cache.
        if (!v.moduleSo && c !== caches[0]) { v.apache[c] = v.apache[caches[0]]; continue; }
        const a = await startApache({
          name: `bench-${v.name.replace(/\W+/g, '')}-${c}`,
          site: 'bench',
          vars: { ...vars, SESSION_CACHE: sessionCache[c] },
          moduleSo: v.moduleSo,
          accessLog: false,
          startServers: 2,
          serverLimit: 2,
          threads: 32,
          maxWorkers: 64,
        });
        v.apache[c] = a;
        for (const d of ['api', 'app']) {
          const dir = path.join(a.workdir, 'htdocs', d);
          fs.mkdirSync(dir, { recursive: true });
          fs.writeFileSync(path.join(dir, 'ok.txt'), 'ok');
        }
      }
      v.headers = {};
      v.url = {};
      v.results = {};
      v.rss = {};
      for (const p of PATHS) {
        const apache = v.apache[CACHE_OF[p]];
        v.url[p] = apache.url(URL_PATH[p]);
        v.results[p] = [];
        v.rss[p] = [];
        if (p === 'bearer') v.headers[p] = [`Authorization: Bearer ${token}`];
        if (p.startsWith('session')) {
          if (v.moduleSo) {
            // One real login; its session cookie is all wrk sends.
            const l = await loginHttp(apache.url('/app/ok.txt'), { ca: pki.ca });
            if (!l.sessionCookie) throw new Error(`${v.name}: login failed: ${l.callback.status}\n${l.trail.join('\n')}`);
            v.headers[p] = [`Cookie: ${l.sessionCookie}`];
          } else {
            v.headers[p] = [`Cookie: mod_auth_openidc_session=${'x'.repeat(27)}`];
          }
        }
        // sanity: the credential is accepted, and (with a module) required
        const ok = await request(v.url[p], { headers: v.headers[p].map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 2)]) });
        if (ok.status !== 200) throw new Error(`${v.name} ${p}: ${ok.status} with the credential\n${apache.errorLog().slice(-2000)}`);
        if (v.moduleSo) {
          const no = await request(v.url[p], { headers: [['Accept', 'text/html']] });
          const want = p === 'bearer' ? 401 : 302;
          if (no.status !== want) throw new Error(`${v.name} ${p}: ${no.status} without a credential (expected ${want})`);
        }
      }
    }

    console.log(`warm-up: ${WARMUP} s per variant and path`);
    for (const p of PATHS) for (const v of variants) await wrk(v.url[p], v.headers[p], WARMUP);

    console.log(`${ROUNDS} rounds x ${PATHS.length} paths x ${variants.length} variants x ${SECONDS} s, wrk -t${WRK_THREADS} -c${CONNECTIONS}`);
    for (let round = 0; round < ROUNDS; round++) {
      const paths = PATHS.map((_, i) => PATHS[(i + round) % PATHS.length]);
      for (const p of paths) {
        const order = variants.map((_, i) => variants[(i + round) % variants.length]);
        for (const v of order) {
          const r = await wrk(v.url[p], v.headers[p], SECONDS);
          v.results[p].push(r);
          v.rss[p].push(childrenRssKiB(v.apache[CACHE_OF[p]].proc.pid));
          const note = r.socketErrors ? `  (${r.socketErrors} socket errors)` : '';
          console.log(`  round ${round + 1} ${p.padEnd(7)} ${v.name.padEnd(10)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99ms.toFixed(2)} ms${note}`);
        }
      }
    }

    const json = [];
    for (const p of PATHS) {
      for (const v of variants) {
        v.rps = median(v.results[p].map((r) => r.rps));
        v.p99 = median(v.results[p].map((r) => r.p99ms));
        v.rssMiB = median(v.rss[p]) / 1024;
      }
      const [base] = variants;
      const rows = [['variant', 'req/s', 'p99 ms', 'req/s ratio', 'p99 ratio', 'RSS MiB']];
      for (const v of variants) {
        rows.push([v.name, v.rps.toFixed(0), v.p99.toFixed(2), (v.rps / base.rps).toFixed(3), (v.p99 / base.p99).toFixed(3), v.rssMiB.toFixed(1)]);
      }
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      console.log(`\n${p} (${URL_PATH[p]}): medians (ratios relative to no auth; RSS = sum of the Apache children, median over the path's rounds)`);
      for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
      for (const v of variants) json.push({ path: p, variant: v.name, module: v.moduleSo, rps: v.rps, p99_ms: v.p99, rss_mib: v.rssMiB, rounds: v.results[p] });
    }
    fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nraw results: ${path.join(outDir, 'results.json')}`);
  } finally {
    for (const v of variants) for (const a of new Set(Object.values(v.apache || {}))) await a.stop();
    await provider.close();
    await redis?.stop();
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
