//! `OIDCRefreshAccessTokenBeforeExpiry` and `OIDCUserInfoRefreshInterval` over the fake
//! provider: the login gives `at-123` (expires NOW+300) and `rt-456`.

use super::*;
use crate::oidc::rp::refresh::lock_key;
use crate::oidc::rp::settings::{RefreshOnError, RefreshPolicy};

const TOKEN: &str = "https://op.example/token";

fn policy(seconds: u32, on_error: RefreshOnError) -> Option<RefreshPolicy> {
    Some(RefreshPolicy { seconds, on_error })
}

fn rs_refresh(on_error: RefreshOnError) -> RpRequestSettings<'static> {
    RpRequestSettings {
        refresh_before_expiry: policy(60, on_error),
        ..RpRequestSettings::default()
    }
}

fn refresh_reply(w: &World, body: Value) {
    *w.op.token.lock().unwrap() = ok(body.to_string());
}

/// The form of the last token endpoint call.
fn last_token_form(w: &World) -> Vec<(String, String)> {
    let calls = w.op.calls.lock().unwrap();
    let req = calls.iter().rev().find(|r| r.url == TOKEN).unwrap();
    crate::token::form_pairs(req.body.as_deref().unwrap())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn form_value(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn get(w: &World, cookie: &str, rs: &RpRequestSettings) -> Decision {
    w.rp.decide(&with_cookie(browser("/mesos/"), cookie), rs)
}

fn access_token(d: Decision) -> String {
    identity(d)
        .rendered
        .header("OIDC_access_token")
        .unwrap()
        .to_string()
}

fn key_of(cookie: &str) -> String {
    session::cache_key(cookie.split('=').nth(1).unwrap())
}

#[test]
fn not_refreshed_outside_the_window_nor_without_the_directive() {
    let w = world();
    let c = login(&w, "/mesos/");
    let calls = w.op.token_calls();
    w.clock.set(NOW + 239);
    assert_eq!(
        access_token(get(&w, &c, &rs_refresh(RefreshOnError::Continue))),
        "at-123"
    );
    w.clock.set(NOW + 299);
    assert_eq!(access_token(get(&w, &c, &rs())), "at-123");
    assert_eq!(w.op.token_calls(), calls);
    assert_eq!(
        w.cache
            .map
            .lock()
            .unwrap()
            .keys()
            .filter(|(s, _)| *s == CacheSection::Lock)
            .count(),
        0
    );
}

#[test]
fn refreshed_within_the_window_once_with_rotated_refresh_token_stored() {
    let w = world();
    let c = login(&w, "/mesos/");
    let calls = w.op.token_calls();
    refresh_reply(
        &w,
        json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-rotated"}),
    );
    w.clock.set(NOW + 240);
    let rs = rs_refresh(RefreshOnError::Continue);
    let id = identity(get(&w, &c, &rs));
    assert_eq!(id.rendered.header("OIDC_access_token"), Some("at-2"));
    assert_eq!(
        id.rendered.header("OIDC_access_token_expires"),
        Some((NOW + 540).to_string().as_str())
    );
    assert_eq!(w.op.token_calls(), calls + 1);
    let form = last_token_form(&w);
    assert_eq!(
        form_value(&form, "grant_type").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(
        form_value(&form, "refresh_token").as_deref(),
        Some("rt-456")
    );
    assert_eq!(
        form_value(&form, "scope").as_deref(),
        Some("openid email profile")
    );
    // the lock is gone, the next request uses the stored record without a call
    assert_eq!(
        w.cache
            .map
            .lock()
            .unwrap()
            .keys()
            .filter(|(s, _)| *s == CacheSection::Lock)
            .count(),
        0
    );
    w.clock.set(NOW + 241);
    assert_eq!(access_token(get(&w, &c, &rs)), "at-2");
    assert_eq!(w.op.token_calls(), calls + 1);
    // the next refresh presents the rotated refresh token; without a new one it is kept
    refresh_reply(&w, json!({"access_token": "at-3", "expires_in": 300}));
    w.clock.set(NOW + 500);
    assert_eq!(access_token(get(&w, &c, &rs)), "at-3");
    assert_eq!(
        form_value(&last_token_form(&w), "refresh_token").as_deref(),
        Some("rt-rotated")
    );
    refresh_reply(&w, json!({"access_token": "at-4", "expires_in": 300}));
    w.clock.set(NOW + 780);
    assert_eq!(access_token(get(&w, &c, &rs)), "at-4");
    assert_eq!(
        form_value(&last_token_form(&w), "refresh_token").as_deref(),
        Some("rt-rotated")
    );
}

#[test]
fn lock_held_elsewhere_means_no_second_refresh() {
    let mut s = settings();
    s.refresh_wait = std::time::Duration::from_millis(200);
    let w = world_with(s);
    let c = login(&w, "/mesos/");
    let calls = w.op.token_calls();
    refresh_reply(&w, json!({"access_token": "at-2", "expires_in": 300}));
    let lock = lock_key(&key_of(&c));
    assert!(
        w.cache
            .add(CacheSection::Lock, &lock, b"x", NOW + 1000, NOW)
            .unwrap()
    );
    let rs = rs_refresh(RefreshOnError::Continue);
    // within the window: served at once with the current token
    w.clock.set(NOW + 250);
    let t = std::time::Instant::now();
    assert_eq!(access_token(get(&w, &c, &rs)), "at-123");
    assert!(t.elapsed() < std::time::Duration::from_millis(150));
    // expired: waits (bounded) for the holder, reads again, goes on
    w.clock.set(NOW + 300);
    let t = std::time::Instant::now();
    assert_eq!(access_token(get(&w, &c, &rs)), "at-123");
    assert!(t.elapsed() >= std::time::Duration::from_millis(200));
    assert_eq!(w.op.token_calls(), calls);
    // once the holder is gone, the next request refreshes
    w.cache.remove(CacheSection::Lock, &lock).unwrap();
    assert_eq!(access_token(get(&w, &c, &rs)), "at-2");
    assert_eq!(w.op.token_calls(), calls + 1);
}

#[test]
fn a_session_refreshed_by_another_server_meanwhile_is_not_refreshed_again() {
    // Two relying parties (servers) on one cache: the second read the old record, the first
    // refreshed; the second then takes the lock, reads again and finds nothing due.
    let w = world();
    let c = login(&w, "/mesos/");
    let other = RelyingParty::with(
        settings(),
        w.op.client(),
        Box::new(SharedClock(w.clock.clone())),
        w.cache.clone(),
        keys(),
    );
    let rs = rs_refresh(RefreshOnError::Continue);
    // warm the other's hot copy with the old record
    assert_eq!(
        identity(other.decide(&with_cookie(browser("/mesos/"), &c), &rs))
            .rendered
            .header("OIDC_access_token"),
        Some("at-123")
    );
    refresh_reply(
        &w,
        json!({"access_token": "at-2", "expires_in": 300, "refresh_token": "rt-2"}),
    );
    let calls = w.op.token_calls();
    w.clock.set(NOW + 250);
    assert_eq!(access_token(get(&w, &c, &rs)), "at-2");
    let d = other.decide(&with_cookie(browser("/mesos/"), &c), &rs);
    assert_eq!(
        identity(d).rendered.header("OIDC_access_token"),
        Some("at-2")
    );
    assert_eq!(w.op.token_calls(), calls + 1);
}

#[test]
fn refresh_failure_continue_keeps_the_old_tokens_and_logs() {
    let w = world();
    let c = login(&w, "/mesos/");
    *w.op.token.lock().unwrap() = Ok((400, r#"{"error":"invalid_grant"}"#.into()));
    w.clock.set(NOW + 250);
    let id = identity(get(&w, &c, &rs_refresh(RefreshOnError::Continue)));
    assert_eq!(id.rendered.header("OIDC_access_token"), Some("at-123"));
    let (level, msg) = id.log.unwrap();
    assert_eq!(level, LogLevel::Warn);
    assert!(msg.contains("invalid_grant"), "{msg}");
    assert_eq!(w.cache.sessions(), 1);
    // no lock left behind: the next request tries again
    let calls = w.op.token_calls();
    let _ = get(&w, &c, &rs_refresh(RefreshOnError::Continue));
    assert_eq!(w.op.token_calls(), calls + 1);
}

#[test]
fn refresh_failure_logout_on_error_ends_the_session() {
    let w = world();
    let c = login(&w, "/mesos/");
    w.op.down.store(true, Ordering::SeqCst);
    w.clock.set(NOW + 250);
    let rs = RpRequestSettings {
        unauth_action: UnAuthAction::Return401,
        ..rs_refresh(RefreshOnError::Logout)
    };
    let r = respond(get(&w, &c, &rs));
    assert_eq!(r.status, 401);
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("mod_auth_openidc_session=;"))
    );
    assert!(r.log.unwrap().1.contains("session ended"));
    assert_eq!(w.cache.sessions(), 0);
}

#[test]
fn refresh_failure_authenticate_on_error_starts_a_login() {
    let w = world();
    let c = login(&w, "/mesos/");
    *w.op.token.lock().unwrap() = Ok((400, r#"{"error":"invalid_grant"}"#.into()));
    w.clock.set(NOW + 250);
    let rs = RpRequestSettings {
        unauth_action: UnAuthAction::Return401,
        ..rs_refresh(RefreshOnError::Authenticate)
    };
    let r = respond(get(&w, &c, &rs));
    assert_eq!(r.status, 302, "{r:?}");
    assert!(
        r.header("Location")
            .unwrap()
            .starts_with("https://op.example/auth?")
    );
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("mod_auth_openidc_session=;"))
    );
    assert_eq!(w.cache.sessions(), 0);
}

#[test]
fn refreshed_id_token_is_validated_as_core_12_2() {
    let w = world();
    let c = login(&w, "/mesos/");
    let rs = rs_refresh(RefreshOnError::Continue);
    // another subject: refused, old tokens kept
    let bad = w.op.key.mint(
        &json!({"iss": ISS, "sub": "mallory", "aud": CLIENT, "exp": NOW + 3600, "iat": NOW + 250}),
    );
    refresh_reply(
        &w,
        json!({"access_token": "at-2", "expires_in": 300, "id_token": bad}),
    );
    w.clock.set(NOW + 250);
    let id = identity(get(&w, &c, &rs));
    assert_eq!(id.rendered.header("OIDC_access_token"), Some("at-123"));
    assert!(id.log.unwrap().1.contains("sub differs"));
    // another nonce: refused
    let bad = w.op.key.mint(&json!({"iss": ISS, "sub": "zoe", "aud": CLIENT, "exp": NOW + 3600, "iat": NOW + 250, "nonce": "other"}));
    refresh_reply(
        &w,
        json!({"access_token": "at-2", "expires_in": 300, "id_token": bad}),
    );
    let id = identity(get(&w, &c, &rs));
    assert_eq!(id.rendered.header("OIDC_access_token"), Some("at-123"));
    // same subject, no nonce: accepted and stored
    let good = w.op.key.mint(&json!({"iss": ISS, "sub": "zoe", "aud": CLIENT, "exp": NOW + 7200, "iat": NOW + 250, "acr": "new"}));
    refresh_reply(
        &w,
        json!({"access_token": "at-2", "expires_in": 300, "id_token": good}),
    );
    let id = identity(get(&w, &c, &rs));
    assert_eq!(id.rendered.header("OIDC_access_token"), Some("at-2"));
    assert_eq!(id.claims.get("acr"), Some(&json!("new")));
}

#[test]
fn userinfo_refreshed_after_the_interval_once() {
    let mut s = settings();
    s.userinfo_refresh = policy(60, RefreshOnError::Continue);
    let w = world_with(s);
    let c = login(&w, "/mesos/");
    assert_eq!(w.op.userinfo_calls(), 1);
    *w.op.userinfo.lock().unwrap() =
        ok(json!({"sub": "zoe", "email": "zoe@new.example"}).to_string());
    w.clock.set(NOW + 59);
    let id = identity(get(&w, &c, &rs()));
    assert_eq!(id.rendered.header("OIDC-email"), Some("zoe@example.com"));
    assert_eq!(w.op.userinfo_calls(), 1);
    w.clock.set(NOW + 60);
    let id = identity(get(&w, &c, &rs()));
    assert_eq!(id.rendered.header("OIDC-email"), Some("zoe@new.example"));
    assert_eq!(w.op.userinfo_calls(), 2);
    w.clock.set(NOW + 119);
    let id = identity(get(&w, &c, &rs()));
    assert_eq!(id.rendered.header("OIDC-email"), Some("zoe@new.example"));
    assert_eq!(w.op.userinfo_calls(), 2);
    // a failure keeps the claims, is logged, and waits for the next interval
    w.clock.set(NOW + 120);
    *w.op.userinfo.lock().unwrap() = Ok((500, "{}".into()));
    let id = identity(get(&w, &c, &rs()));
    assert_eq!(id.rendered.header("OIDC-email"), Some("zoe@new.example"));
    assert!(id.log.is_some());
    let _ = get(&w, &c, &rs());
    assert_eq!(w.op.userinfo_calls(), 3);
}

#[test]
fn userinfo_refresh_failure_with_logout_on_error_ends_the_session() {
    let mut s = settings();
    s.userinfo_refresh = policy(60, RefreshOnError::Logout);
    let w = world_with(s);
    let c = login(&w, "/mesos/");
    *w.op.userinfo.lock().unwrap() = Ok((401, "{}".into()));
    w.clock.set(NOW + 61);
    let rs = RpRequestSettings {
        unauth_action: UnAuthAction::Return401,
        ..rs()
    };
    assert_eq!(respond(get(&w, &c, &rs)).status, 401);
    assert_eq!(w.cache.sessions(), 0);
}

#[test]
fn records_without_the_new_fields_open() {
    let old = json!({
        "sub": "zoe", "issuer": ISS, "remote_user": "zoe@op", "id_token_claims": {"sub": "zoe"},
        "id_token": "a.b.c", "cookie_domain": "rp.example", "created_at": NOW, "expires_at": NOW + 10
    });
    let r: session::SessionRecord = serde_json::from_value(old).unwrap();
    assert_eq!(r.userinfo_refreshed_at, None);
    // and a record without it is not written with it
    assert!(
        !serde_json::to_string(&r)
            .unwrap()
            .contains("userinfo_refreshed_at")
    );
}

#[test]
fn a_session_ended_meanwhile_is_not_refreshed_nor_written_back() {
    let w = world();
    let c = login(&w, "/mesos/");
    let calls = w.op.token_calls();
    refresh_reply(&w, json!({"access_token": "at-2", "expires_in": 300}));
    w.clock.set(NOW + 250);
    // the request has read the session; then it is removed (a logout elsewhere)
    let found = match w
        .rp
        .lookup_session(&with_cookie(browser("/mesos/"), &c), &rs(), NOW + 250)
    {
        SessionLookup::Found(f) => f,
        _ => panic!("no session"),
    };
    w.cache.remove(CacheSection::Session, &key_of(&c)).unwrap();
    match w.rp.keep_fresh(
        &browser("/mesos/"),
        &rs_refresh(RefreshOnError::Continue),
        found,
        NOW + 250,
    ) {
        crate::oidc::rp::refresh::Fresh::Found(_, None) => {}
        _ => panic!("expected the unchanged session"),
    }
    assert_eq!(w.op.token_calls(), calls);
    assert_eq!(w.cache.sessions(), 0);
}
