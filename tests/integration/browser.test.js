// End to end with a real browser: headless Chromium (Debian's, via playwright-core) logs in
// through Apache with the module under test (MODULE_SO) at the real provider (oidc-provider: login
// form, consent form) and lands on the echo backend. COMPAT.md "Unauthenticated browser request",
// "Callback", "What the backend receives", "Logout"; OIDCPreservePost. Only loopback is reached:
// every other request is aborted and the tests assert there was none.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  assertSessionHeaders, completeProviderLogin, launchBrowser, newSession, parseSetCookie, startBrowserSite,
} from './lib/browser.js';
import { startWorld } from './lib/fixture.js';
import { TEST_USER } from './lib/provider.js';
import { headerValues, REFERENCE } from './lib/util.js';

let world;
let browser;
let a;
before(async () => {
  world = await startWorld();
  browser = await launchBrowser();
  a = await startBrowserSite(world, { name: 'browser' });
});
after(async () => {
  await browser?.close();
  await world?.close();
});

const SESSION = 'mod_auth_openidc_session';
const bodyJson = async (page) => JSON.parse(await page.evaluate(() => document.body.innerText));

/** Logs in in a fresh context at `target` (a path); returns the session object with the echo JSON. */
async function loginAt(target, opts = {}) {
  const s = await newSession(browser, opts);
  const url = a.url(target);
  await s.page.goto(url);
  assert.ok(s.page.url().startsWith(`${world.provider.issuer}/interaction/`), `on the provider's login page: ${s.page.url()}`);
  await completeProviderLogin(s.page, a.base);
  return s;
}

describe('login in Chromium', () => {
  it('deep link → provider login → consent → back at the exact URL with the claim headers', async () => {
    const deep = '/mesos/deep/p%20q/%C3%A4?x=1&y=a%2Fb&z=%20&empty=';
    const s = await loginAt(deep);
    try {
      assert.equal(s.page.url(), a.url(deep), 'the exact original URL');
      const echo = await bodyJson(s.page);
      assert.equal(echo.url, deep, 'the backend gets path and query unchanged');
      const h = assertSessionHeaders(echo, world.provider.issuer, 'browser');
      assert.ok(h.OIDC_access_token);
      for (const n of ['REMOTE_USER', 'Remote-User', 'X-Remote-User']) assert.deepEqual(headerValues(echo.headers, n), [], n);
      assert.deepEqual(world.provider.interactionLog.slice(-2), ['login', 'consent']);

      // The first answer: 302 to the provider with a state cookie.
      const first = s.responses.find((r) => r.url === a.url(deep));
      assert.equal(first?.status, 302, `first response: ${JSON.stringify(first)}`);
      assert.ok(first.headers.location.startsWith(world.provider.authorizationUrl));
      const state = new URL(first.headers.location).searchParams.get('state');
      const sc = first.setCookies.map(parseSetCookie).find((c) => c.name === `mod_auth_openidc_state_${state}`);
      assert.ok(sc, `state cookie set: ${first.setCookies}`);
      assert.equal(sc.attrs.path, '/');
      assert.equal(sc.attrs.httponly, true);

      // The callback: 302 back, session cookie set, state cookie cleared.
      const cb = s.responses.find((r) => r.url.startsWith(a.redirectUri));
      assert.equal(cb?.status, 302, `callback: ${JSON.stringify(cb)}`);
      assert.equal(cb.headers.location, a.url(deep));
      const sess = cb.setCookies.map(parseSetCookie).find((c) => c.name === SESSION);
      assert.ok(sess?.value, `session cookie: ${cb.setCookies}`);
      assert.equal(sess.attrs.path, '/');
      assert.equal(sess.attrs.httponly, true);
      if (REFERENCE) assert.equal(sess.attrs.samesite, undefined);
      else assert.equal(String(sess.attrs.samesite).toLowerCase(), 'lax');
      const cleared = cb.setCookies.map(parseSetCookie).find((c) => c.name === `mod_auth_openidc_state_${state}`);
      assert.ok(cleared && cleared.value === '', `state cookie cleared: ${cb.setCookies}`);

      // What the browser holds now: the session cookie (HttpOnly), no state cookie.
      const jar = await s.context.cookies(a.base);
      const mine = jar.filter((c) => c.name.startsWith('mod_auth_openidc'));
      assert.deepEqual(mine.map((c) => c.name), [SESSION]);
      assert.equal(mine[0].httpOnly, true);
      assert.equal(mine[0].path, '/');
      assert.deepEqual(s.blocked, [], 'nothing outside loopback was requested');
    } finally {
      await s.context.close();
    }
  });

  it('the session is used on the next visits (no provider round trip), also in other locations', async () => {
    const s = await loginAt('/mesos/');
    try {
      const n = s.responses.length;
      const res = await s.page.goto(a.url('/mesos/again?k=v'));
      assert.equal(res.status(), 200);
      assert.equal(s.responses.length, n + 1, 'one response, no redirects');
      assertSessionHeaders(await bodyJson(s.page), world.provider.issuer, 'second visit');
      const other = await s.page.goto(a.url('/claim-ok/page'));
      assert.equal(other.status(), 200);
      // fetch() from the page: an XHR-style request with the session → 200
      const xhr = await s.page.evaluate(async () => {
        const r = await fetch('/mesos/api', { headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' } });
        return { status: r.status, json: await r.json() };
      });
      assert.equal(xhr.status, 200);
      assertSessionHeaders(xhr.json, world.provider.issuer, 'fetch');
    } finally {
      await s.context.close();
    }
  });

  it('fetch() without a session → 401, no redirect to the provider', async () => {
    const s = await newSession(browser);
    try {
      await s.page.goto(a.url('/open/start'));
      const r = await s.page.evaluate(async () => {
        const res = await fetch('/mesos/api', { headers: { Accept: 'application/json' } });
        return { status: res.status, url: res.url };
      });
      assert.equal(r.status, 401);
      assert.ok(r.url.endsWith('/mesos/api'));
      const jar = await s.context.cookies(a.base);
      assert.deepEqual(jar.filter((c) => c.name.startsWith('mod_auth_openidc_state_')), [], 'no state cookie');
    } finally {
      await s.context.close();
    }
  });

  it('logout: provider end_session, back at the post-logout URL; the old cookie no longer works', async () => {
    const s = await loginAt('/mesos/');
    try {
      const old = (await s.context.cookies(a.base)).find((c) => c.name === SESSION);
      assert.ok(old);
      const back = a.url('/loggedout');
      await s.page.goto(a.url(`/mesos/redirect_uri?logout=${encodeURIComponent(back)}`));
      // oidc-provider: a confirmation page (or an auto-submitted form), then the redirect back.
      if (await s.page.$('#logout-yes')) await Promise.all([s.page.waitForNavigation(), s.page.click('#logout-yes')]);
      await s.page.waitForURL((u) => u.toString().startsWith(back), { timeout: 15000 });
      const echo = await bodyJson(s.page);
      assert.equal(echo.url, '/loggedout');
      const endSession = s.responses.find((r) => r.url.startsWith(`${a.redirectUri}?logout=`));
      assert.equal(endSession.status, 302);
      const loc = new URL(endSession.headers.location);
      assert.equal(`${loc.origin}${loc.pathname}`, world.provider.endSessionUrl);
      assert.equal(loc.searchParams.get('post_logout_redirect_uri'), back);
      assert.ok(loc.searchParams.get('id_token_hint'));
      const jar = await s.context.cookies(a.base);
      assert.deepEqual(jar.filter((c) => c.name === SESSION), [], 'the session cookie is gone');
      // The old cookie, put back: a new login is needed (the session is gone server-side too).
      await s.context.addCookies([{ name: SESSION, value: old.value, url: a.base }]);
      await s.page.goto(a.url('/mesos/after-logout'));
      assert.ok(s.page.url().startsWith(`${world.provider.issuer}/interaction/`), `login again: ${s.page.url()}`);
      assert.deepEqual(s.blocked, []);
    } finally {
      await s.context.close();
    }
  });

  it('OIDCPreservePost: a form POST that starts the login is replayed after it', async () => {
    const dir = path.join(a.workdir, 'htdocs', 'static');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'form.html'), `<!DOCTYPE html><html><body>
<form id="f" method="post" action="/preserve/submit?from=form">
<input name="title" value="a b&amp;c=d">
<input name="note" value="zoë ✓">
<input name="empty" value="">
<button id="go" type="submit">go</button>
</form></body></html>`);
    const s = await newSession(browser);
    try {
      await s.page.goto(a.url('/static/form.html'));
      await Promise.all([s.page.waitForURL((u) => u.toString().startsWith(`${world.provider.issuer}/interaction/`), { timeout: 15000 }), s.page.click('#go')]);
      await completeProviderLogin(s.page, a.base);
      await s.page.waitForFunction(() => document.body && document.body.innerText.startsWith('{'), null, { timeout: 15000 });
      const echo = await bodyJson(s.page);
      assert.equal(echo.method, 'POST', `replayed as a POST: ${JSON.stringify(echo).slice(0, 300)}`);
      assert.equal(echo.url, '/preserve/submit?from=form');
      assert.deepEqual(Object.fromEntries(new URLSearchParams(echo.body)), { title: 'a b&c=d', note: 'zoë ✓', empty: '' });
      assertSessionHeaders(echo, world.provider.issuer, 'preserved POST');
      assert.deepEqual(s.blocked, []);
    } finally {
      await s.context.close();
    }
  });

  // oidc-provider asks a native client (mesos-web is one, for its loopback redirect URIs) for
  // consent on every authorization, so the second login shows the consent form only.
  it('the user stays signed in at the provider: a new RP session needs no password', async () => {
    const s = await loginAt('/mesos/');
    try {
      await s.context.clearCookies({ name: SESSION });
      const before = world.provider.interactionLog.length;
      await s.page.goto(a.url('/mesos/sso'));
      await Promise.all([s.page.waitForNavigation(), s.page.click('#allow')]);
      await s.page.waitForURL(a.url('/mesos/sso'));
      assert.deepEqual(world.provider.interactionLog.slice(before), ['consent'], 'no login form shown');
      assertSessionHeaders(await bodyJson(s.page), world.provider.issuer, 'SSO');
    } finally {
      await s.context.close();
    }
  });
});
