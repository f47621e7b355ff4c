// Logging in through the code flow, two ways:
//  - a real browser: headless Chromium (the Debian package) driven by playwright-core; every
//    request that is not for a loopback address is aborted and recorded (tests assert none);
//  - plain HTTP (loginHttp): the same redirects, forms and cookies, followed by hand with one
//    cookie jar per origin, for tests and the benchmark that need a session quickly.
// The provider side is lib/provider.js (login form, then consent form, test user TEST_USER).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startApache } from './apache.js';
import { PASSPHRASE } from './fixture.js';
import { getPki } from './pki.js';
import { CLIENTS, TEST_USER, USER_CLAIMS } from './provider.js';
import { request } from './util.js';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/;

/** Starts Chromium. Returns the playwright Browser. */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * A fresh browser context (own cookie jar) that trusts the test PKI and only reaches loopback.
 * Returns { context, page, blocked (URLs refused), responses (every main-frame response:
 * { url, status, headers (lower-case), setCookies ([raw Set-Cookie lines]) }) }.
 */
export async function newSession(browser, { userAgent } = {}) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, ...(userAgent ? { userAgent } : {}) });
  const blocked = [];
  await context.route('**/*', (route) => {
    let host = '';
    try { host = new URL(route.request().url()).hostname; } catch { /* data: etc. */ }
    if (LOOPBACK.test(host) || /^(data|about|blob):/.test(route.request().url())) return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  const responses = [];
  page.on('response', async (res) => {
    if (res.frame() !== page.mainFrame() || res.request().resourceType() !== 'document') return;
    const entry = { url: res.url(), status: res.status(), headers: {}, setCookies: [] };
    responses.push(entry);
    try {
      for (const { name, value } of await res.headersArray()) {
        const n = name.toLowerCase();
        if (n === 'set-cookie') entry.setCookies.push(...value.split('\n'));
        else entry.headers[n] = entry.headers[n] ? `${entry.headers[n]}, ${value}` : value;
      }
    } catch {
      // the page navigated away before the headers could be read
    }
  });
  return { context, page, blocked, responses };
}

/**
 * In a browser page, from the provider's login page on: fills in the test user, submits, allows the
 * consent, and waits until the browser is back on rpOrigin (not on its redirect URI).
 */
export async function completeProviderLogin(page, rpOrigin, { user = TEST_USER, timeoutMs = 20000 } = {}) {
  await page.waitForSelector('#username', { timeout: timeoutMs });
  await page.fill('#username', user.login);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForNavigation({ timeout: timeoutMs }), page.click('#submit')]);
  // Consent (first login of this user for the client in this provider session).
  if (await page.$('#allow')) {
    await Promise.all([page.waitForNavigation({ timeout: timeoutMs }), page.click('#allow')]);
  }
  await page.waitForURL((u) => u.origin === rpOrigin && !/redirect_uri/.test(u.pathname), { timeout: timeoutMs });
}

// ------------------------------------------------------------------------------------------------
// Cookies for the plain-HTTP login.

/** Parses one Set-Cookie line: { name, value, attrs: { lower-case name: value or true } }. */
export function parseSetCookie(line) {
  const [pair, ...rest] = line.split(';');
  const eq = pair.indexOf('=');
  const name = (eq < 0 ? pair : pair.slice(0, eq)).trim();
  const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
  const attrs = {};
  for (const a of rest) {
    const i = a.indexOf('=');
    const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
    if (k) attrs[k] = i < 0 ? true : a.slice(i + 1).trim();
  }
  return { name, value, attrs };
}

/** Set-Cookie lines of a lib/util.js request() response. */
export function setCookies(res) {
  return res.rawHeaders.filter(([k]) => k.toLowerCase() === 'set-cookie').map(([, v]) => v);
}

export function isClearing(c) {
  if (c.attrs['max-age'] !== undefined && Number(c.attrs['max-age']) <= 0) return true;
  const exp = c.attrs.expires ? Date.parse(c.attrs.expires) : NaN;
  return !Number.isNaN(exp) && exp < Date.now();
}

/** A cookie jar keyed by origin (host:port), with path matching; enough for these flows. */
export class CookieJar {
  constructor() { this.byOrigin = new Map(); }

  store(url, res) {
    const u = new URL(url);
    const jar = this.byOrigin.get(u.host) || new Map();
    this.byOrigin.set(u.host, jar);
    for (const line of setCookies(res)) {
      const c = parseSetCookie(line);
      const p = typeof c.attrs.path === 'string' ? c.attrs.path : '/';
      const key = `${c.name};${p}`;
      if (isClearing(c)) jar.delete(key);
      else jar.set(key, { name: c.name, value: c.value, path: p });
    }
  }

  header(url) {
    const u = new URL(url);
    const jar = this.byOrigin.get(u.host);
    if (!jar) return undefined;
    const parts = [...jar.values()].filter((c) => u.pathname.startsWith(c.path)).map((c) => `${c.name}=${c.value}`);
    return parts.length ? parts.join('; ') : undefined;
  }

  get(url, name) {
    const jar = this.byOrigin.get(new URL(url).host);
    return jar ? [...jar.values()].find((c) => c.name === name)?.value : undefined;
  }

  names(url) {
    const jar = this.byOrigin.get(new URL(url).host);
    return jar ? [...jar.values()].map((c) => c.name) : [];
  }
}

/**
 * Logs in with plain HTTP: GET url on the RP (a protected location), follow the redirects to the
 * provider, post the login and consent forms, follow back to the RP's redirect URI, and stop at the
 * RP's answer to the callback (the 302 to the original URL). Every request carries userAgent.
 * callbackUserAgent: the User-Agent of the callback request only (to test the state fingerprint).
 * beforeCallback: async (callbackUrl) => {} run just before the callback is sent (e.g. stop the provider).
 * Returns { callback (the callback response), callbackUrl, callbackCookie (the Cookie header sent with
 * it: the state cookie), location (where it redirects to),
 * sessionCookie ("mod_auth_openidc_session=<value>" or undefined), jar, trail ([status url]) }.
 */
export async function loginHttp(url, { user = TEST_USER, userAgent = 'itest-http-login/1', jar = new CookieJar(),
  method = 'GET', body, headers = [], ca = getPki().ca, maxSteps = 20, callbackUserAgent = userAgent, beforeCallback } = {}) {
  const rpHost = new URL(url).host;
  const trail = [];
  let next = { url, method, body, headers: [['Accept', 'text/html'], ...headers] };
  for (let step = 0; step < maxSteps; step++) {
    const u = new URL(next.url);
    const isCallback = u.host === rpHost && (u.searchParams.has('code') || u.searchParams.has('error'));
    if (isCallback && beforeCallback) await beforeCallback(next.url);
    const hdrs = [['User-Agent', isCallback ? callbackUserAgent : userAgent], ...next.headers];
    const cookie = jar.header(next.url);
    if (cookie) hdrs.push(['Cookie', cookie]);
    if (next.body !== undefined) hdrs.push(['Content-Type', 'application/x-www-form-urlencoded']);
    const res = await request(next.url, { method: next.method, headers: hdrs, body: next.body, ca });
    trail.push(`${res.status} ${next.method} ${next.url}`);
    jar.store(next.url, res);
    if (isCallback) {
      const c = setCookies(res).map(parseSetCookie).find((x) => x.name === 'mod_auth_openidc_session' && !isClearing(x));
      return {
        callback: res,
        callbackUrl: next.url,
        callbackCookie: cookie,
        location: res.headers.location,
        sessionCookie: c ? `${c.name}=${c.value}` : undefined,
        jar,
        trail,
      };
    }
    if ([301, 302, 303, 307].includes(res.status) && res.headers.location) {
      const to = new URL(res.headers.location, next.url).toString();
      next = { url: to, method: 'GET', body: undefined, headers: [['Accept', 'text/html']] };
      continue;
    }
    if (res.status === 200 && /id="login"/.test(res.body)) {
      const action = /action="([^"]+)"/.exec(res.body)[1];
      next = {
        url: new URL(action.replace(/&#47;/g, '/'), next.url).toString(),
        method: 'POST',
        body: new URLSearchParams({ login: user.login, password: user.password }).toString(),
        headers: [],
      };
      continue;
    }
    if (res.status === 200 && /id="consent"/.test(res.body)) {
      const action = /action="([^"]+)"/.exec(res.body)[1];
      next = { url: new URL(action, next.url).toString(), method: 'POST', body: '', headers: [] };
      continue;
    }
    throw new Error(`login stopped at ${res.status} ${next.url}:\n${trail.join('\n')}\n${res.body.slice(0, 500)}`);
  }
  throw new Error(`login did not finish in ${maxSteps} steps:\n${trail.join('\n')}`);
}

// ------------------------------------------------------------------------------------------------

/** Variables of apache/test/browser.conf.in for a world of lib/fixture.js. */
export function browserVars(world, vhostExtra = '') {
  return {
    METADATA_URL: world.provider.discoveryUrl,
    CA_BUNDLE: world.pki.caCert,
    CLIENT_ID: CLIENTS.web.id,
    CLIENT_SECRET: CLIENTS.web.secret,
    PASSPHRASE,
    ECHO: world.echo.url,
    VHOST_EXTRA: vhostExtra,
  };
}

/**
 * Starts Apache with apache/test/browser.conf.in (options as lib/apache.js startApache, plus
 * vhostExtra: directives for the virtual host). Adds pidLog() (lines "<pid> <status> <path+query>").
 */
export async function startBrowserSite(world, { name = 'browser', vhostExtra = '', ...opts } = {}) {
  const a = await startApache({ name, site: 'browser', vars: browserVars(world, vhostExtra), ...opts });
  world.apaches.push(a);
  a.pidLog = () => { try { return fs.readFileSync(path.join(a.workdir, 'pid_log'), 'utf8'); } catch { return ''; } };
  a.redirectUri = a.url('/mesos/redirect_uri');
  return a;
}

/** COMPAT rendering of one claim value as a header value (undefined: no header). */
export function renderClaim(v) {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
  if (v === true) return '1';
  if (v === false) return '0';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(6);
  if (typeof v === 'object') return JSON.stringify(v).replace(/":/g, '": ').replace(/,"/g, ', "');
  return String(v);
}

/** Header values as the echo backend shows them: node reads header bytes as latin1; undo that. */
export const utf8 = (s) => Buffer.from(s, 'latin1').toString('utf8');

/** The names of the OIDC_/OIDC- headers the backend must get for the test user, in order. */
export const SESSION_HEADER_NAMES = [
  ...Object.keys(USER_CLAIMS).map((k) => `OIDC-${k}`),
  'OIDC-nonce', 'OIDC-aud', 'OIDC-exp', 'OIDC-iat', 'OIDC-iss',
  'OIDC_access_token', 'OIDC_access_token_expires',
];

/**
 * Asserts the identity headers an echo response shows for a session of the test user (COMPAT
 * "What the backend receives"): names in order, userinfo values rendered, ID token claims, access
 * token. Returns the headers as an object.
 */
export function assertSessionHeaders(echo, issuer, what = '') {
  const got = echo.headers.filter(([k]) => /^oidc[-_]/i.test(k));
  assert.deepEqual(got.map(([k]) => k), SESSION_HEADER_NAMES, `${what}: header names and order`);
  const h = Object.fromEntries(got.map(([k, v]) => [k, utf8(v)]));
  for (const [k, v] of Object.entries(USER_CLAIMS)) assert.equal(h[`OIDC-${k}`], renderClaim(v), `${what}: OIDC-${k}`);
  assert.equal(h['OIDC-aud'], CLIENTS.web.id, `${what}: aud`);
  assert.equal(h['OIDC-iss'], issuer, `${what}: iss`);
  assert.match(h['OIDC-nonce'], /^[A-Za-z0-9_-]{16,}$/, `${what}: nonce`);
  const t = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(Number(h['OIDC-iat']) - t) < 600, `${what}: iat ${h['OIDC-iat']}`);
  assert.ok(Number(h['OIDC-exp']) > t, `${what}: exp ${h['OIDC-exp']}`);
  assert.match(h.OIDC_access_token, /^[A-Za-z0-9._~+/=-]{20,}$/, `${what}: access token`);
  const ate = Number(h.OIDC_access_token_expires);
  assert.ok(ate > t && ate <= t + 700, `${what}: OIDC_access_token_expires ${h.OIDC_access_token_expires}`);
  return h;
}

/**
 * A plain HTTP/1.1 request over a raw socket (Connection: close), read up to Content-Length. The
 * reference module sometimes writes its own error page and Apache then appends its error document
 * to the same response (more bytes than Content-Length), which node's HTTP parser rejects; this
 * reads what a browser shows. Same result shape as lib/util.js request() (http only).
 */
export function lenientRequest(url, { method = 'GET', headers = [], body, timeoutMs = 30000 } = {}) {
  const u = new URL(url);
  const lines = [`${method} ${u.pathname}${u.search} HTTP/1.1`];
  if (!headers.some(([k]) => k.toLowerCase() === 'host')) lines.push(`Host: ${u.host}`);
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  lines.push('Connection: close');
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const head = `${lines.join('\r\n')}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port) || 80 });
    const chunks = [];
    const timer = setTimeout(() => sock.destroy(new Error(`request to ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.end(body === undefined ? head : head + body));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) { reject(new Error(`no HTTP response from ${url}: ${all.toString('latin1').slice(0, 200)}`)); return; }
      const [status, ...hl] = all.subarray(0, end).toString('latin1').split('\r\n');
      const rawHeaders = hl.map((l) => { const i = l.indexOf(':'); return [l.slice(0, i), l.slice(i + 1).trim()]; });
      const hdrs = {};
      for (const [k, v] of rawHeaders) {
        const n = k.toLowerCase();
        if (n === 'set-cookie') (hdrs[n] ||= []).push(v);
        else hdrs[n] = hdrs[n] ? `${hdrs[n]}, ${v}` : v;
      }
      let bodyBuf = all.subarray(end + 4);
      let trailing = 0;
      if (/chunked/i.test(hdrs['transfer-encoding'] || '')) {
        const parts = [];
        let i = 0;
        for (;;) {
          const eol = bodyBuf.indexOf('\r\n', i);
          if (eol < 0) break;
          const size = parseInt(bodyBuf.subarray(i, eol).toString('latin1'), 16);
          if (!(size > 0)) break;
          parts.push(bodyBuf.subarray(eol + 2, eol + 2 + size));
          i = eol + 2 + size + 2;
        }
        bodyBuf = Buffer.concat(parts);
      } else if (hdrs['content-length'] !== undefined) {
        const len = Number(hdrs['content-length']);
        trailing = bodyBuf.length - len;
        bodyBuf = bodyBuf.subarray(0, len);
      }
      const text = method === 'HEAD' ? '' : bodyBuf.toString('utf8');
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      resolve({ status: Number(status.split(' ')[1]), headers: hdrs, rawHeaders, body: text, json, trailing });
    });
  });
}

// ---- shared by the session tests (session, cookie, redis, memcache, refresh) ----

/** Accept header of a browser navigation, and the header that marks a script's request. */
export const HTML = ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'];
export const XHR = ['X-Requested-With', 'XMLHttpRequest'];
/** The session cookie's name (OIDCCookie's default). */
export const SESSION = 'mod_auth_openidc_session';

/** GET `p` on Apache `a` without following redirects. */
export const get = (a, p, opts = {}) => lenientRequest(a.url(p), { ...opts, headers: opts.headers || [] });
/** Request headers with `cookie` (and more headers). */
export const withCookie = (cookie, ...more) => [['Cookie', cookie], ...more];
/** The echo backend's JSON from a 200 answer (asserts both). */
export const echoOf = (res, what = '') => {
  assert.equal(res.status, 200, `${what}: status ${res.status} body ${res.body.slice(0, 300)}`);
  assert.ok(res.json && Array.isArray(res.json.headers), `${what}: the echo backend did not answer: ${res.body.slice(0, 300)}`);
  return res.json;
};
/** The cache key of a session cookie ("name=value") in the Redis/memcached key space. */
export const sessionCacheKey = (cookie) => {
  const value = cookie.slice(cookie.indexOf('=') + 1);
  return `mod_auth_openidc_rs:s:${createHash('sha256').update(value).digest('base64url')}`;
};
