// A memcached for the tests: loopback only, no UDP, 16 MB, on a free port. stop() and start()
// again keep the port (the "memcached went away and came back" case); get() is a tiny text
// protocol client for looking at a stored value.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { freePort, waitForPort } from './util.js';

export const MEMCACHED = process.env.MEMCACHED || '/usr/bin/memcached';

/** Starts memcached. Returns { port, start(), stop(), pause(), resume(), get(key) }. */
export async function startMemcached() {
  const port = await freePort();
  let proc;
  let exited = true;
  let exitPromise = Promise.resolve();
  let output = '';
  const inst = {
    port,
    output: () => output,
    async start() {
      const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16'];
      // memcached refuses to run as root unless told which user to be
      if (process.getuid && process.getuid() === 0) args.push('-u', 'root');
      proc = spawn(MEMCACHED, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      exited = false;
      proc.stdout.on('data', (d) => { output += d; });
      proc.stderr.on('data', (d) => { output += d; });
      exitPromise = new Promise((resolve) => proc.on('exit', () => { exited = true; resolve(); }));
      await waitForPort(port, 10000, () => !exited);
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exitPromise;
    },
    /** SIGSTOP / SIGCONT: a server that accepts connections but never answers. */
    pause() { if (!exited) proc.kill('SIGSTOP'); },
    resume() { if (!exited) proc.kill('SIGCONT'); },
    /** The stored bytes of `key` (a Buffer), or null when memcached has none. */
    get(key) {
      return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        let buf = Buffer.alloc(0);
        const timer = setTimeout(() => { sock.destroy(); reject(new Error('memcached get: timeout')); }, 5000);
        sock.on('error', (e) => { clearTimeout(timer); reject(e); });
        sock.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          if (buf.toString('latin1') === 'END\r\n') {
            clearTimeout(timer); sock.end(); resolve(null); return;
          }
          const head = buf.indexOf('\r\n');
          if (head < 0) return;
          const m = /^VALUE (\S+) (\d+) (\d+)$/.exec(buf.subarray(0, head).toString('latin1'));
          if (!m) { clearTimeout(timer); sock.destroy(); reject(new Error(`memcached get: ${buf.toString('latin1', 0, 200)}`)); return; }
          const len = Number(m[3]);
          const end = head + 2 + len + 2 + 5;
          if (buf.length < end) return;
          clearTimeout(timer);
          sock.end();
          resolve(buf.subarray(head + 2, head + 2 + len));
        });
        sock.write(`get ${key}\r\n`);
      });
    },
  };
  await inst.start();
  return inst;
}
