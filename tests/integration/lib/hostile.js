// A programmable provider (plain node https/http server): each test chooses what a path answers
// (JWKS, introspection, garbage, errors, a hang, a huge body) and counts/records the requests.
import http from 'node:http';
import https from 'node:https';
import { getPki } from './pki.js';
import { freePort, writePaddedJson } from './util.js';

/**
 * startHostile({ tls = true }) → {
 *   port, base, url(path),
 *   route(path, spec | handler)   spec: { status=200, json, body, headers, delayMs, size, contentType }
 *                                 handler: (req, res, body) => void (may be async)
 *   jwks(path, keys)              serve { keys: keys.map(k => k.publicJwk) }
 *   hits(path), log(path), reset(path?), close()
 * }
 * `size` streams a JSON body of that many bytes: { keys: spec.keys || [], pad: "AAAA..." }; `delayMs` waits before answering
 * (the socket stays open; close() destroys it).
 */
export async function startHostile({ tls = true } = {}) {
  const port = await freePort();
  const routes = new Map();
  const logs = new Map();
  const sockets = new Set();
  const timers = new Set();

  const handle = async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    const { pathname } = new URL(req.url, 'http://x');
    const rawHeaders = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    if (!logs.has(pathname)) logs.set(pathname, []);
    logs.get(pathname).push({ method: req.method, url: req.url, headers: rawHeaders, body, at: Date.now() });

    const r = routes.get(pathname);
    if (!r) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"error":"not_found"}');
      return;
    }
    if (typeof r === 'function') {
      await r(req, res, body);
      return;
    }
    if (r.delayMs) {
      await new Promise((resolve) => {
        const t = setTimeout(() => { timers.delete(t); resolve(); }, r.delayMs);
        timers.add(t);
      });
      if (res.destroyed || req.socket.destroyed) return;
    }
    const headers = { 'Content-Type': r.contentType || 'application/json', ...(r.headers || {}) };
    if (r.size) {
      const prefix = `{"keys":${JSON.stringify(r.keys || [])},"pad":"`;
      await writePaddedJson(res, r.status || 200, headers, prefix, r.size);
      return;
    }
    const text = r.json !== undefined ? JSON.stringify(r.json) : (r.body ?? '');
    res.writeHead(r.status || 200, headers);
    res.end(text);
  };

  const onRequest = (req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  };

  let server;
  if (tls) {
    const pki = getPki();
    server = https.createServer({ key: pki.keyPem, cert: pki.certPem }, onRequest);
  } else {
    server = http.createServer(onRequest);
  }
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('secureConnection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

  const base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    port,
    base,
    url: (p) => `${base}${p}`,
    route(path, spec) { routes.set(path, spec); return this; },
    jwks(path, keys) { routes.set(path, { json: { keys: keys.map((k) => k.publicJwk) } }); return this; },
    hits: (path) => (logs.get(path) || []).length,
    log: (path) => logs.get(path) || [],
    reset(path) { if (path) logs.delete(path); else logs.clear(); },
    close: () => new Promise((resolve) => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
