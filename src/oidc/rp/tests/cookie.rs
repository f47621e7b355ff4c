//! Client-cookie sessions (`OIDCSessionType client-cookie`) and
//! `OIDCSessionCacheFallbackToCookie`, over the same fake provider and clock.

use super::*;
use crate::oidc::rp::cookie_session::{self, Read};

const NAME: &str = "mod_auth_openidc_session";

fn cookie_settings(chunk: usize, store_id_token: bool) -> RpSettings {
    let mut s = settings();
    s.session_kind = SessionKind::ClientCookie;
    s.store_id_token = store_id_token;
    s.session_cookie_chunk_size = chunk;
    s
}

/// A browser's cookie jar for the session cookies: applies `Set-Cookie` headers.
#[derive(Default, Clone)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn apply(&mut self, headers: &[String]) {
        for c in headers {
            let pair = c.split(';').next().unwrap();
            let (n, v) = pair.split_once('=').unwrap();
            self.0.retain(|(k, _)| k != n);
            if !c.contains("Expires=Thu, 01 Jan 1970") {
                self.0.push((n.to_string(), v.to_string()));
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        v.sort();
        v
    }
}

fn owned(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(str::to_string).collect()
}

/// Logs in; returns the callback response and the jar of session cookies.
fn cookie_login(w: &World) -> (Response, Jar) {
    let st = start(w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = callback(w, &st);
    assert_eq!(r.status, 302, "{r:?}");
    let mut jar = Jar::default();
    jar.apply(&owned(
        set_cookies(&r)
            .into_iter()
            .filter(|c| c.starts_with(NAME))
            .collect(),
    ));
    (r, jar)
}

fn joined(jar: &Jar) -> String {
    let header = jar.header();
    match cookie_session::read(Some(&header), NAME) {
        Read::Value(v) => v.into_owned(),
        other => panic!("{other:?}"),
    }
}

fn at(w: &World, jar: &Jar) -> Decision {
    w.rp.decide(&with_cookie(browser("/mesos/"), &jar.header()), &rs())
}

fn assert_cleared(r: &Response, jar: &Jar) {
    let cookies = set_cookies(r);
    for n in jar.names() {
        let clear = format!("{n}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly");
        assert!(cookies.contains(&clear.as_str()), "{n} not cleared: {r:?}");
    }
}

#[test]
fn round_trip_without_server_state_and_at_another_server() {
    let w = world_with(cookie_settings(4000, false));
    let (r, jar) = cookie_login(&w);
    assert_eq!(w.cache.sessions(), 0, "nothing in the cache");
    assert_eq!(jar.names(), [NAME], "one cookie at 4000 bytes");
    let c = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with(NAME))
        .unwrap();
    assert!(
        c.ends_with("; Path=/; HttpOnly; Secure; SameSite=Lax"),
        "{c}"
    );
    let a = identity(at(&w, &jar));
    assert_eq!(a.user(), "zoe@op.example");
    assert!(a.set_cookies.is_empty());
    assert_eq!(a.rendered.header("OIDC-email"), Some("zoe@example.com"));
    // A second server with the same passphrase and its own (empty) cache.
    let b = world_with(cookie_settings(4000, false));
    let other = identity(at(&b, &jar));
    assert_eq!(other.rendered.headers, a.rendered.headers);
    // Repeated requests reuse the opened session.
    let again = identity(at(&w, &jar));
    assert!(Arc::ptr_eq(&a.rendered, &again.rendered));
    assert_eq!(w.rp.hot.len(), 1);
    // Another passphrase: no session.
    let foreign = RelyingParty::with(
        cookie_settings(4000, false),
        w.op.client(),
        Box::new(SharedClock(w.clock.clone())),
        w.cache.clone(),
        CryptoKeys::derive_with_iterations("another passphrase", None, 10),
    );
    let r = respond(foreign.decide(&with_cookie(browser("/mesos/"), &jar.header()), &rs()));
    assert_eq!(r.status, 302);
    assert_cleared(&r, &jar);
}

#[test]
fn chunked_sessions_work_and_are_joined() {
    let w = world_with(cookie_settings(256, false));
    let (_, jar) = cookie_login(&w);
    let names = jar.names();
    assert!(names.len() > 3, "{names:?}");
    assert!(names.contains(&"mod_auth_openidc_session_chunks"));
    assert!(!names.contains(&NAME));
    let n: usize = jar
        .0
        .iter()
        .find(|(k, _)| k.ends_with("_chunks"))
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(names.len(), n + 1);
    assert!(jar.0.iter().all(|(_, v)| v.len() <= 256));
    identity(at(&w, &jar));
    // In another order, too.
    let mut reversed = jar.clone();
    reversed.0.reverse();
    identity(at(&w, &reversed));
}

#[test]
fn chunking_at_the_boundaries() {
    let set = |n: &str, v: &str| format!("{n}={v}");
    let clear = |n: &str| format!("{n}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    let value = "abcdefghij";
    let cases: [(usize, usize, &[&str]); 5] = [
        (0, 1, &["s=abcdefghij"]),
        (10, 1, &["s=abcdefghij"]),
        (11, 1, &["s=abcdefghij"]),
        (9, 2, &["s_0=abcdefghi", "s_1=j", "s_chunks=2"]),
        (5, 2, &["s_0=abcde", "s_1=fghij", "s_chunks=2"]),
    ];
    for (size, chunks, want) in cases {
        let out = cookie_session::write("s", value, size, None, set, clear).unwrap();
        let mut jar = Jar::default();
        jar.apply(&out);
        for w in want {
            assert!(out.contains(&w.to_string()), "{size}: {out:?}");
        }
        assert_eq!(jar.0.len(), if chunks == 1 { 1 } else { chunks + 1 });
        let header = jar.header();
        assert_eq!(
            cookie_session::read(Some(&header), "s"),
            Read::Value(value.into()),
            "{size}"
        );
    }
    // 3 chunks of 4 (last one short).
    let out = cookie_session::write("s", value, 4, None, set, clear).unwrap();
    assert!(out.contains(&"s_2=ij".to_string()));
    // Too many chunks: refused, not written.
    let long = "a".repeat(cookie_session::MAX_CHUNKS * 4 + 1);
    assert!(cookie_session::write("s", &long, 4, None, set, clear).is_err());
}

#[test]
fn stale_chunks_of_a_longer_session_are_cleared() {
    let set = |n: &str, v: &str| format!("{n}={v}");
    let clear = |n: &str| format!("{n}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    let old = "s_chunks=5; s_0=a; s_1=b; s_2=c; s_3=d; s_4=e; other=1";
    // Two chunks now: 2..4 go, the count is overwritten, the plain cookie is cleared.
    let out = cookie_session::write("s", "abcdefgh", 4, Some(old), set, clear).unwrap();
    let mut jar = Jar(old
        .split("; ")
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect());
    jar.apply(&out);
    assert_eq!(jar.names(), ["other", "s_0", "s_1", "s_chunks"]);
    assert_eq!(
        cookie_session::read(Some(&jar.header()), "s"),
        Read::Value("abcdefgh".into())
    );
    // One cookie now: every chunk and the count go.
    let out = cookie_session::write("s", "abc", 4, Some(&jar.header()), set, clear).unwrap();
    jar.apply(&out);
    assert_eq!(jar.names(), ["other", "s"]);
    assert_eq!(
        cookie_session::read(Some(&jar.header()), "s"),
        Read::Value("abc".into())
    );

    // Through a login: a browser holding a longer session's chunks.
    let w = world_with(cookie_settings(4000, false));
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let stale = format!(
        "{NAME}_chunks=3; {NAME}_0=x; {NAME}_1=y; {NAME}_2=z; {}",
        st.state_cookie
    );
    let req = with_cookie(
        browser(&format!(
            "/mesos/redirect_uri?code=the-code&state={}",
            st.state
        )),
        &stale,
    );
    let r = respond(w.rp.decide(&req, &rs()));
    assert_eq!(r.status, 302);
    let mut jar = Jar(vec![
        (format!("{NAME}_chunks"), "3".into()),
        (format!("{NAME}_0"), "x".into()),
        (format!("{NAME}_1"), "y".into()),
        (format!("{NAME}_2"), "z".into()),
    ]);
    jar.apply(&owned(set_cookies(&r)));
    jar.0.retain(|(n, _)| n.starts_with(NAME));
    assert_eq!(jar.names(), [NAME]);
    identity(at(&w, &jar));
}

#[test]
fn tampered_missing_and_swapped_chunks_are_no_session() {
    let w = world_with(cookie_settings(300, false));
    let (_, a) = cookie_login(&w);
    let (_, b) = cookie_login(&w);
    assert_ne!(a.header(), b.header());
    identity(at(&w, &a));
    identity(at(&w, &b));
    let chunk = format!("{NAME}_1");

    let mut tampered = a.clone();
    for (n, v) in tampered.0.iter_mut() {
        if *n == chunk {
            let mut c: Vec<char> = v.chars().collect();
            c[7] = if c[7] == 'A' { 'B' } else { 'A' };
            *v = c.into_iter().collect();
        }
    }
    let mut missing = a.clone();
    missing.0.retain(|(n, _)| *n != chunk);
    let mut swapped = a.clone();
    let from_b = b.0.iter().find(|(n, _)| *n == chunk).unwrap().1.clone();
    for (n, v) in swapped.0.iter_mut() {
        if *n == chunk {
            *v = from_b.clone();
        }
    }
    let mut empty = a.clone();
    for (n, v) in empty.0.iter_mut() {
        if *n == chunk {
            v.clear();
        }
    }
    let mut bad_count = a.clone();
    for (n, v) in bad_count.0.iter_mut() {
        if n.ends_with("_chunks") {
            *v = "1000".into();
        }
    }
    for (what, jar) in [
        ("tampered", &tampered),
        ("missing", &missing),
        ("swapped", &swapped),
        ("empty", &empty),
        ("bad count", &bad_count),
    ] {
        let r = respond(at(&w, jar));
        assert_eq!(r.status, 302, "{what}");
        assert_cleared(&r, jar);
        assert!(matches!(r.log, Some((LogLevel::Info, _))), "{what}: {r:?}");
    }
    // A value sealed for another cookie name does not open under this one.
    let value = cookie_session::seal(
        &keys(),
        "other_cookie",
        &cookie_session::open(&keys(), NAME, &joined(&a)).unwrap().0,
        NOW + 300,
    )
    .unwrap();
    let r = respond(w.rp.decide(
        &with_cookie(browser("/mesos/"), &format!("{NAME}={value}")),
        &rs(),
    ));
    assert_eq!(r.status, 302);
}

#[test]
fn inactivity_reissue_is_throttled_and_the_deadline_holds() {
    let w = world_with(cookie_settings(4000, false));
    let (_, jar) = cookie_login(&w);
    // Within 1/20 of the timeout: no new cookie.
    w.clock.set(NOW + 10);
    assert!(identity(at(&w, &jar)).set_cookies.is_empty());
    w.clock.set(NOW + 14);
    assert!(identity(at(&w, &jar)).set_cookies.is_empty());
    // 15 s = 300/20 later: re-issued once with the new deadline.
    w.clock.set(NOW + 200);
    let id = identity(at(&w, &jar));
    assert!(!id.set_cookies.is_empty());
    assert!(id.set_cookies[0].starts_with(&format!("{NAME}=")));
    let mut newer = jar.clone();
    newer.apply(&id.set_cookies);
    assert_ne!(newer.header(), jar.header());
    assert!(identity(at(&w, &newer)).set_cookies.is_empty());
    // The old cookie dies at its own deadline; the new one lives on.
    w.clock.set(NOW + 300);
    let r = respond(at(&w, &jar));
    assert_eq!(r.status, 302);
    assert_cleared(&r, &jar);
    w.clock.set(NOW + 450);
    identity(at(&w, &newer));
    // Idle beyond the timeout: gone.
    w.clock.set(NOW + 2000);
    assert_eq!(respond(at(&w, &newer)).status, 302);
    // The maximum duration caps it as for the cache.
    let mut s = cookie_settings(4000, false);
    s.session_max_duration = 400;
    let w = world_with(s);
    let (_, jar) = cookie_login(&w);
    w.clock.set(NOW + 250);
    let mut jar2 = jar.clone();
    jar2.apply(&identity(at(&w, &jar)).set_cookies);
    w.clock.set(NOW + 399);
    identity(at(&w, &jar2));
    w.clock.set(NOW + 400);
    assert_eq!(respond(at(&w, &jar2)).status, 302);
}

#[test]
fn logout_clears_every_cookie_and_store_id_token_decides_the_hint() {
    for store in [false, true] {
        let mut s = cookie_settings(300, store);
        s.pass_id_token_as.serialized = true;
        s.pass_id_token_as.payload = true;
        let w = world_with(s);
        let (_, jar) = cookie_login(&w);
        let id = identity(at(&w, &jar));
        assert_eq!(id.rendered.header("OIDC_id_token").is_some(), store);
        let payload = id.rendered.header("OIDC_id_token_payload").unwrap();
        assert!(payload.contains("\"sub\":\"zoe\""), "{payload}");
        let req = with_cookie(browser("/mesos/redirect_uri?logout=%2Fbye"), &jar.header());
        let r = respond(w.rp.decide(&req, &rs()));
        assert_eq!(r.status, 302);
        let loc = r.header("Location").unwrap();
        assert!(loc.starts_with("https://op.example/session/end?"), "{loc}");
        assert_eq!(loc.contains("id_token_hint=ey"), store, "{loc}");
        assert!(loc.contains("post_logout_redirect_uri="), "{loc}");
        assert_cleared(&r, &jar);
        assert_eq!(w.cache.sessions(), 0);
    }
}

#[test]
fn fallback_to_cookie_when_the_cache_is_unavailable() {
    let mut s = settings();
    s.session_fallback_to_cookie = true;
    let w = world_with(s);
    // Cache up: a normal server-cache session.
    let cookie = login(&w, "/mesos/");
    assert_eq!(w.cache.sessions(), 1);
    identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));

    // Cache down at login: the session goes to client cookies (with the ID token).
    w.cache.fail.store(true, Ordering::SeqCst);
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = callback(&w, &st);
    assert_eq!(r.status, 302, "{r:?}");
    assert!(matches!(&r.log, Some((LogLevel::Warn, m)) if m.contains("client cookies")));
    let mut jar = Jar::default();
    jar.apply(&owned(
        set_cookies(&r)
            .into_iter()
            .filter(|c| c.starts_with(NAME))
            .collect(),
    ));
    assert!(!jar.0.is_empty());
    let id = identity(at(&w, &jar));
    assert_eq!(id.user(), "zoe@op.example");
    // A server-cache session id still needs the cache.
    let r = respond(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(r.status, 503);
    // The cache is back: the cookie session keeps working, logout clears it.
    w.cache.fail.store(false, Ordering::SeqCst);
    identity(at(&w, &jar));
    let req = with_cookie(browser("/mesos/redirect_uri?logout=%2Fbye"), &jar.header());
    let r = respond(w.rp.decide(&req, &rs()));
    assert!(r.header("Location").unwrap().contains("id_token_hint=ey"));
    assert_cleared(&r, &jar);

    // Without the fallback the outage is a 503 (cache_outage_is_a_503_page), and a cookie
    // session value is just a malformed session id.
    let w2 = world();
    let r = respond(
        w2.rp
            .decide(&with_cookie(browser("/"), &jar.header()), &rs()),
    );
    assert_eq!(r.status, 302);
    assert_eq!(w2.cache.sessions(), 0);
}

#[test]
fn a_client_cookie_session_is_refreshed_into_reissued_cookies() {
    use crate::oidc::rp::settings::{RefreshOnError, RefreshPolicy};
    let w = world_with(cookie_settings(4000, false));
    let (_, jar) = cookie_login(&w);
    let rs = RpRequestSettings {
        refresh_before_expiry: Some(RefreshPolicy {
            seconds: 60,
            on_error: RefreshOnError::Continue,
        }),
        ..RpRequestSettings::default()
    };
    let at_rs = |jar: &Jar| {
        w.rp.decide(&with_cookie(browser("/mesos/"), &jar.header()), &rs)
    };
    *w.op.token.lock().unwrap() = ok(json!({"access_token": "at-2", "token_type": "Bearer",
        "expires_in": 300, "refresh_token": "rt-rotated"})
    .to_string());
    let calls = w.op.token_calls();
    // Outside the window: nothing.
    w.clock.set(NOW + 10);
    let id = identity(at_rs(&jar));
    assert_eq!(id.rendered.header("OIDC_access_token"), Some("at-123"));
    assert_eq!(w.op.token_calls(), calls);
    // Inside: one refresh grant, the new token at once, and new cookies carrying it.
    w.clock.set(NOW + 250);
    let id = identity(at_rs(&jar));
    assert_eq!(w.op.token_calls(), calls + 1);
    assert_eq!(id.rendered.header("OIDC_access_token"), Some("at-2"));
    assert!(
        !id.set_cookies.is_empty(),
        "the refreshed session goes back to the browser"
    );
    assert_eq!(w.cache.sessions(), 0, "still nothing in the cache");
    let mut newer = jar.clone();
    newer.apply(&id.set_cookies);
    let again = identity(at_rs(&newer));
    assert_eq!(again.rendered.header("OIDC_access_token"), Some("at-2"));
    assert!(again.set_cookies.is_empty());
    assert_eq!(
        w.op.token_calls(),
        calls + 1,
        "the new cookie needs no second refresh"
    );
    // The lock of this server is gone again.
    assert!(
        !w.cache
            .map
            .lock()
            .unwrap()
            .keys()
            .any(|(s, _)| *s == CacheSection::Lock)
    );
}
