// Apache launcher: renders apache/test/base.conf.in around a site (a template from
// apache/test/<name>.conf.in or inline text), runs `apache2 -f <conf> -DFOREGROUND` in its own
// work directory under tests/work/, waits for the port, and stops it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, MODULE_SO, freePort, makeWorkdir, request, sleep, waitFor, waitForPort } from './util.js';

export const APACHE_BIN = process.env.APACHE_BIN || '/usr/sbin/apache2';
export const MODDIR = process.env.APACHE_MODDIR || '/usr/lib/apache2/modules';
export const TEMPLATE_DIR = path.join(REPO_ROOT, 'apache', 'test');

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
// Apache refuses to serve as root; as root it switches to this user (which must be able to read
// the work directory and the CA bundle).
const RUN_USER = process.env.APACHE_RUN_USER || 'www-data';
const RUN_GROUP = process.env.APACHE_RUN_GROUP || 'www-data';

/** Replaces every @@NAME@@ with vars[NAME]; an unknown placeholder throws (catches typos). */
export function render(text, vars) {
  return text.replace(/@@([A-Z0-9_]+)@@/g, (m, name) => {
    if (!(name in vars)) throw new Error(`template placeholder ${m} has no value`);
    return String(vars[name]);
  });
}

export function readTemplate(name) {
  return fs.readFileSync(path.join(TEMPLATE_DIR, `${name}.conf.in`), 'utf8');
}

/**
 * The full configuration text.
 *   site: template name (apache/test/<site>.conf.in) or { text } for inline configuration
 *   vars: values for the site's placeholders (WORKDIR and PORT are always available)
 *   moduleSo: the module to load (null → no LoadModule line)
 */
export function buildConfig({ workdir, port, site, vars = {}, moduleSo = MODULE_SO, logLevel = 'warn',
  extraModules = [], threads = 16, serverLimit = 2, startServers = 1, maxWorkers, accessLog = true } = {}) {
  const common = { WORKDIR: workdir, PORT: port, MODULE_SO: moduleSo ?? '', ...vars };
  const siteText = typeof site === 'string' ? readTemplate(site) : (site?.text ?? '');
  const renderedSite = render(siteText, common);
  return render(readTemplate('base'), {
    ...common,
    LOGLEVEL: logLevel,
    MODDIR,
    USER_GROUP: isRoot ? `User ${RUN_USER}\nGroup ${RUN_GROUP}` : '',
    EXTRA_MODULES: extraModules.map((m) => `LoadModule ${m}_module ${MODDIR}/mod_${m}.so`).join('\n'),
    LOAD_MODULE: moduleSo ? `LoadModule auth_openidc_module ${moduleSo}` : '',
    START_SERVERS: startServers,
    SERVER_LIMIT: serverLimit,
    THREADS: threads,
    MAX_WORKERS: maxWorkers ?? threads,
    CUSTOM_LOG: accessLog ? `CustomLog "${workdir}/access_log" oidctest` : '# no access log',
    SITE: renderedSite,
  });
}

export function prepareWorkdir(workdir) {
  fs.mkdirSync(path.join(workdir, 'run'), { recursive: true });
  fs.chmodSync(path.join(workdir, 'run'), 0o1777);
  fs.mkdirSync(path.join(workdir, 'htdocs'), { recursive: true });
  fs.writeFileSync(path.join(workdir, 'htdocs', 'index.html'), 'ok\n');
  fs.writeFileSync(path.join(workdir, 'htdocs', 'ok.txt'), 'ok');
}

/**
 * Starts one Apache. Options as buildConfig plus name (work directory name).
 * Returns { port, base, url(p), workdir, confPath, conf, get(p, opts), errorLog(), accessLog(),
 *           accessLines(), stop(), graceful(), proc }.
 */
export async function startApache(opts = {}) {
  const name = opts.name || 'apache';
  const workdir = makeWorkdir(name);
  const port = opts.port || await freePort();
  prepareWorkdir(workdir);
  const conf = buildConfig({ ...opts, workdir, port });
  const confPath = path.join(workdir, 'httpd.conf');
  fs.writeFileSync(confPath, conf);

  const proc = spawn(APACHE_BIN, ['-f', confPath, '-DFOREGROUND'], {
    cwd: workdir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(opts.env || {}) },
  });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  let exited = false;
  const exitPromise = new Promise((resolve) => proc.on('exit', (code, signal) => { exited = true; resolve({ code, signal }); }));

  const errorLogPath = path.join(workdir, 'error_log');
  const accessLogPath = path.join(workdir, 'access_log');
  const readOr = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch { return ''; } };

  try {
    await waitForPort(port, 15000, () => !exited);
  } catch (e) {
    if (!exited) proc.kill('SIGKILL');
    throw new Error(`Apache did not start (${e.message}).\nconf: ${confPath}\noutput:\n${output}\nerror_log:\n${readOr(errorLogPath)}`);
  }

  const base = `http://127.0.0.1:${port}`;
  const inst = {
    name,
    port,
    base,
    workdir,
    confPath,
    conf,
    proc,
    url: (p) => `${base}${p}`,
    get: (p, o = {}) => request(`${base}${p}`, o),
    output: () => output,
    errorLog: () => readOr(errorLogPath),
    accessLog: () => readOr(accessLogPath),
    accessLines: () => readOr(accessLogPath).split('\n').filter(Boolean),
    /** The access log line containing marker (Apache logs after the response: poll for it). */
    accessLine: (marker, timeoutMs = 5000) => waitFor(
      () => readOr(accessLogPath).split('\n').find((l) => l.includes(marker)),
      timeoutMs,
      `an access log line with ${marker}`,
    ),
    /** Error log text written after a mark taken by errorMark(). */
    errorMark: () => readOr(errorLogPath).length,
    errorSince: (mark) => readOr(errorLogPath).slice(mark),
    accessMark: () => readOr(accessLogPath).length,
    accessSince: (mark) => readOr(accessLogPath).slice(mark),
    async graceful() {
      const r = spawnSync(APACHE_BIN, ['-f', confPath, '-k', 'graceful'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`graceful failed: ${r.stdout}${r.stderr}`);
      await sleep(500);
      await waitForPort(port, 10000, () => !exited);
    },
    async stop() {
      if (exited) return exitPromise;
      proc.kill('SIGTERM');
      const t = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 15000);
      const r = await exitPromise;
      clearTimeout(t);
      return r;
    },
  };
  return inst;
}

/** A prepared work directory and the configuration text for it (options as buildConfig). */
export function newConfig(opts = {}, name = 'config') {
  const workdir = makeWorkdir(name);
  prepareWorkdir(workdir);
  return { workdir, text: buildConfig({ port: 1, ...opts, workdir }) };
}

/**
 * `apache2 -t` on a configuration. conf: full text, or options for buildConfig (site, vars, ...).
 * Returns { code, output, confPath }.
 */
export function configtest(conf, { name = 'configtest' } = {}) {
  const workdir = makeWorkdir(name);
  prepareWorkdir(workdir);
  const text = typeof conf === 'string' ? conf : buildConfig({ port: 1, ...conf, workdir });
  const confPath = path.join(workdir, 'httpd.conf');
  fs.writeFileSync(confPath, text);
  const r = spawnSync(APACHE_BIN, ['-t', '-f', confPath], { encoding: 'utf8', cwd: workdir, timeout: 30000 });
  return { code: r.status, output: `${r.stdout || ''}${r.stderr || ''}`, confPath, workdir };
}
