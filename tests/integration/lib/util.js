// Small shared helpers: free ports, per-instance work directories, waiting, raw HTTP requests.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// Apache's children run as www-data and read files from the work directories (CA bundle,
// certificates), so every directory above tests/work/ must be searchable by others. A clone in a
// private directory falls back to /tmp; TEST_WORK_ROOT overrides both.
function searchableByOthers(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (d === path.dirname(d)) return true;
  }
}
const defaultWorkRoot = path.join(REPO_ROOT, 'tests', 'work');
export const WORK_ROOT = process.env.TEST_WORK_ROOT
  || (searchableByOthers(path.dirname(defaultWorkRoot)) ? defaultWorkRoot : '/tmp/mod_auth_openidc_rs-tests-work');

// Module under test. Relative paths are taken from the repository root (what `make` passes is absolute).
export const MODULE_SO = path.resolve(REPO_ROOT, process.env.MODULE_SO || 'build/mod_auth_openidc_rs.so');
export const C_MODULE_SO = '/usr/lib/apache2/modules/mod_auth_openidc.so';
// REFERENCE=1: the module under test is the C reference module; tests of our deliberate
// improvements (COMPAT.md "improve") and of directives it does not have are skipped.
export const REFERENCE = /^(1|true|yes)$/i.test(process.env.REFERENCE || '')
  || MODULE_SO === C_MODULE_SO;
// Pass as the `skip` option of node:test for ours-only tests.
export const oursOnly = REFERENCE ? 'ours only (REFERENCE=1: C module under test)' : false;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A port that was free a moment ago (the kernel picks it; the race with other processes is
// negligible on loopback).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let dirCounter = 0;
// A fresh directory under tests/work/, readable by the unprivileged Apache user.
export function makeWorkdir(name) {
  fs.mkdirSync(WORK_ROOT, { recursive: true, mode: 0o755 });
  fs.chmodSync(WORK_ROOT, 0o755);
  const safe = String(name).replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
  const dir = path.join(WORK_ROOT, `${safe}-${process.pid}-${++dirCounter}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  return dir;
}

export async function waitForPort(port, timeoutMs = 10000, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive()) throw new Error(`process died before listening on ${port}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

// Waits until fn() returns a truthy value (polling), or throws after timeoutMs.
export async function waitFor(fn, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * One HTTP(S) request with full control of the header names and order.
 * headers: object or array of [name, value] pairs (raw names kept as given).
 * Resolves { status, headers (lower-cased object, arrays joined by node), rawHeaders ([name, value]...),
 *            body (string), json (parsed or undefined), elapsedMs }.
 */
export function request(url, { method = 'GET', headers = {}, body, ca, timeoutMs = 60000 } = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  const flat = [];
  // With raw (array) headers node adds no Host header itself.
  if (!pairs.some(([k]) => k.toLowerCase() === 'host')) flat.push('Host', u.host);
  for (const [k, v] of pairs) flat.push(k, v);
  if (body !== undefined && !pairs.some(([k]) => k.toLowerCase() === 'content-length')) {
    flat.push('Content-Length', String(Buffer.byteLength(body)));
  }
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = lib.request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      method,
      headers: flat,
      ca,
      agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        const rawHeaders = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) rawHeaders.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
        resolve({ status: res.statusCode, headers: res.headers, rawHeaders, body: text, json, elapsedMs: Date.now() - started });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request to ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Values of a header (case-insensitive) in a list of [name, value] pairs.
export function headerValues(pairs, name) {
  const n = name.toLowerCase();
  return pairs.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

/**
 * Answers `res` with a JSON object of about `size` bytes, `prefix` + a long run of "A" + `"}`
 * (prefix opens a string member, e.g. `{"keys":[],"pad":"`), streamed with back-pressure so that
 * multi-megabyte answers test the client's size limit without buffering them here.
 */
export async function writePaddedJson(res, status, headers, prefix, size) {
  const suffix = '"}';
  const fill = Math.max(0, size - prefix.length - suffix.length);
  res.writeHead(status, { ...headers, 'Content-Length': String(prefix.length + fill + suffix.length) });
  res.write(prefix);
  const chunk = Buffer.alloc(64 * 1024, 'A');
  let left = fill;
  while (left > 0 && !res.destroyed) {
    const n = Math.min(left, chunk.length);
    if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      await new Promise((resolve) => {
        const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    left -= n;
  }
  if (!res.destroyed) res.end(suffix);
}
