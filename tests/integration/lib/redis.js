// A redis-server for the tests: loopback only, a password, no persistence, its files under
// tests/work. stop() and start() again keep the port (the "Redis went away and came back" case).
import { spawn, spawnSync } from 'node:child_process';
import { freePort, makeWorkdir, waitForPort } from './util.js';

export const REDIS_SERVER = process.env.REDIS_SERVER || '/usr/bin/redis-server';
export const REDIS_CLI = process.env.REDIS_CLI || '/usr/bin/redis-cli';

/**
 * Starts redis-server. Returns { port, password, start(), stop(), pause(), resume(), cli(...args) }; cli runs
 * redis-cli against it and returns its stdout (latin1, so binary values keep their bytes).
 */
export async function startRedis({ password = 'itest-redis-pw', name = 'redis' } = {}) {
  const port = await freePort();
  const dir = makeWorkdir(name);
  let proc;
  let exited = true;
  let exitPromise = Promise.resolve();
  let output = '';
  const inst = {
    port,
    password,
    dir,
    output: () => output,
    async start() {
      proc = spawn(REDIS_SERVER, [
        '--port', String(port), '--bind', '127.0.0.1', '--requirepass', password,
        '--save', '', '--appendonly', 'no', '--dir', dir,
      ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      exited = false;
      proc.stdout.on('data', (d) => { output += d; });
      proc.stderr.on('data', (d) => { output += d; });
      exitPromise = new Promise((resolve) => proc.on('exit', () => { exited = true; resolve(); }));
      await waitForPort(port, 10000, () => !exited);
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      const t = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 10000);
      await exitPromise;
      clearTimeout(t);
    },
    /** SIGSTOP / SIGCONT: a server that accepts connections but never answers. */
    pause() { if (!exited) proc.kill('SIGSTOP'); },
    resume() { if (!exited) proc.kill('SIGCONT'); },
    cli(...args) {
      const r = spawnSync(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', password, ...args], { encoding: 'latin1' });
      if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r.stdout;
    },
  };
  await inst.start();
  return inst;
}
