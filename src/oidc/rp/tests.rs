//! The browser login end to end over plain data: a programmable fake provider (closure HTTP
//! client that records every call), a fixed clock, an in-memory cache, ID tokens minted with the
//! jose test kit. Hostile-provider cases assert that no session was stored and, for bad ID
//! tokens, that the userinfo endpoint was never called.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::*;
use crate::config::values::{ClaimEncoding, PassClaimsAs};
use crate::deps::{CacheEntry, FixedClock, HttpError, HttpRequest, HttpResponse};
use crate::jose::Alg;
use crate::jose::testkit::{NOW, TestKey, jwks};
use crate::oidc::discovery::ProviderMetadata;
use crate::request::TestRequest;

const ISS: &str = "https://op.example";
const DISCOVERY: &str = "https://op.example/.well-known/openid-configuration";
const CLIENT: &str = "rp-client";
const SECRET: &str = "a-client-secret-of-at-least-64-bytes-for-hs512-0123456789abcdefghij";
const REDIRECT: &str = "https://rp.example/mesos/redirect_uri";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chromium/120";

// ---- the fake provider ----

type Reply = Result<(u16, String), HttpError>;

struct Op {
    key: TestKey,
    discovery: Mutex<Reply>,
    jwks: Mutex<String>,
    token: Mutex<Reply>,
    userinfo: Mutex<Reply>,
    calls: Mutex<Vec<HttpRequest>>,
    down: AtomicBool,
}

fn ok(body: impl Into<String>) -> Reply {
    Ok((200, body.into()))
}

fn discovery_doc() -> Value {
    json!({
        "issuer": ISS,
        "authorization_endpoint": "https://op.example/auth",
        "token_endpoint": "https://op.example/token",
        "userinfo_endpoint": "https://op.example/userinfo",
        "jwks_uri": "https://op.example/jwks",
        "end_session_endpoint": "https://op.example/session/end",
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

impl Op {
    fn new() -> Arc<Op> {
        let key = TestKey::rsa(Some("k1"));
        Arc::new(Op {
            jwks: Mutex::new(jwks(&[&key])),
            key,
            discovery: Mutex::new(ok(discovery_doc().to_string())),
            token: Mutex::new(Err(HttpError::Transport("no token reply set".into()))),
            userinfo: Mutex::new(ok(
                json!({"sub": "zoe", "email": "zoe@example.com", "name": "Zoë"}).to_string(),
            )),
            calls: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
        })
    }

    fn client(self: &Arc<Self>) -> Box<dyn HttpClient> {
        let op = self.clone();
        Box::new(
            move |req: &HttpRequest| -> Result<HttpResponse, HttpError> {
                op.calls.lock().unwrap().push(req.clone());
                if op.down.load(Ordering::SeqCst) {
                    return Err(HttpError::Timeout);
                }
                let reply = if req.url == DISCOVERY {
                    op.discovery.lock().unwrap().clone()
                } else if req.url == "https://op.example/jwks" {
                    ok(op.jwks.lock().unwrap().clone())
                } else if req.url == "https://op.example/token" {
                    op.token.lock().unwrap().clone()
                } else if req.url == "https://op.example/userinfo" {
                    op.userinfo.lock().unwrap().clone()
                } else {
                    Ok((404, "not found".into()))
                };
                reply.map(|(status, body)| HttpResponse {
                    status,
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: body.into_bytes(),
                })
            },
        )
    }

    fn count(&self, url: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.url == url)
            .count()
    }

    fn userinfo_calls(&self) -> usize {
        self.count("https://op.example/userinfo")
    }

    fn token_calls(&self) -> usize {
        self.count("https://op.example/token")
    }

    fn id_claims(&self, nonce: &str) -> Value {
        json!({
            "iss": ISS,
            "sub": "zoe",
            "aud": CLIENT,
            "exp": NOW + 3600,
            "iat": NOW,
            "nonce": nonce,
        })
    }

    /// The token endpoint answers with this ID token (and an access token).
    fn issue(&self, id_token: &str) {
        *self.token.lock().unwrap() = ok(json!({
            "access_token": "at-123",
            "token_type": "Bearer",
            "expires_in": 300,
            "refresh_token": "rt-456",
            "id_token": id_token,
        })
        .to_string());
    }
}

// ---- an in-memory cache ----

#[derive(Default)]
struct MemCache {
    map: Mutex<HashMap<(CacheSection, String), CacheEntry>>,
    fail: AtomicBool,
    sets: AtomicUsize,
    touches: AtomicUsize,
}

impl MemCache {
    fn sessions(&self) -> usize {
        self.map
            .lock()
            .unwrap()
            .keys()
            .filter(|(s, _)| *s == CacheSection::Session)
            .count()
    }

    fn only_session_expiry(&self) -> i64 {
        let map = self.map.lock().unwrap();
        let mut it = map.iter().filter(|((s, _), _)| *s == CacheSection::Session);
        let (_, e) = it.next().expect("one session");
        assert!(it.next().is_none());
        e.expires_at
    }

    fn check(&self) -> Result<(), CacheError> {
        if self.fail.load(Ordering::SeqCst) {
            Err(CacheError::Unavailable("test cache down".into()))
        } else {
            Ok(())
        }
    }
}

impl Cache for MemCache {
    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError> {
        self.check()?;
        let map = self.map.lock().unwrap();
        Ok(map
            .get(&(section, key.to_string()))
            .filter(|e| e.expires_at > now)
            .cloned())
    }
    fn set(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        _now: i64,
    ) -> Result<(), CacheError> {
        self.check()?;
        self.sets.fetch_add(1, Ordering::SeqCst);
        self.map.lock().unwrap().insert(
            (section, key.to_string()),
            CacheEntry {
                value: value.to_vec(),
                expires_at,
            },
        );
        Ok(())
    }
    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError> {
        self.check()?;
        self.map.lock().unwrap().remove(&(section, key.to_string()));
        Ok(())
    }
    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        self.check()?;
        self.touches.fetch_add(1, Ordering::SeqCst);
        let mut map = self.map.lock().unwrap();
        match map.get_mut(&(section, key.to_string())) {
            Some(e) if e.expires_at > now => {
                e.expires_at = expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        self.check()?;
        let mut map = self.map.lock().unwrap();
        let k = (section, key.to_string());
        if map.get(&k).is_some_and(|e| e.expires_at > now) {
            return Ok(false);
        }
        map.insert(
            k,
            CacheEntry {
                value: value.to_vec(),
                expires_at,
            },
        );
        Ok(true)
    }
}

// ---- the relying party under test ----

struct World {
    op: Arc<Op>,
    cache: Arc<MemCache>,
    clock: Arc<FixedClock>,
    rp: RelyingParty,
}

struct SharedClock(Arc<FixedClock>);

impl Clock for SharedClock {
    fn now(&self) -> i64 {
        self.0.now()
    }
}

fn keys() -> CryptoKeys {
    CryptoKeys::derive_with_iterations("a test passphrase", None, 10)
}

fn settings() -> RpSettings {
    let mut s = RpSettings::new(
        REDIRECT,
        CLIENT,
        Some(SECRET.to_string()),
        ProviderSource::Discovery {
            metadata_url: DISCOVERY.into(),
            issuer: None,
        },
    );
    s.scope = "openid email profile".into();
    s.claim_prefix = "OIDC-".into();
    s.info_hook = [
        "iat",
        "access_token",
        "access_token_expires",
        "id_token",
        "userinfo",
        "exp",
        "timeout",
        "remote_user",
        "session",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    s
}

fn world_with(s: RpSettings) -> World {
    let op = Op::new();
    let cache = Arc::new(MemCache::default());
    let clock = Arc::new(FixedClock::new(NOW));
    let rp = RelyingParty::with(
        s,
        op.client(),
        Box::new(SharedClock(clock.clone())),
        cache.clone(),
        keys(),
    );
    World {
        op,
        cache,
        clock,
        rp,
    }
}

fn world() -> World {
    world_with(settings())
}

fn rs() -> RpRequestSettings<'static> {
    RpRequestSettings::default()
}

fn browser(uri: &str) -> TestRequest {
    let mut r = TestRequest::get()
        .with_uri(uri)
        .with_host("rp.example", 443)
        .with_header("User-Agent", UA)
        .with_header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    r.https = true;
    r
}

fn with_cookie(mut r: TestRequest, cookie: &str) -> TestRequest {
    r.headers.push(("Cookie".into(), cookie.into()));
    r
}

fn respond(d: Decision) -> Response {
    match d {
        Decision::Respond(r) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn identity(d: Decision) -> Identity {
    match d {
        Decision::Allow(i) => i,
        other => panic!("expected Allow, got {other:?}"),
    }
}

fn set_cookies(r: &Response) -> Vec<&str> {
    r.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Set-Cookie"))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// `name=value` of the first Set-Cookie whose name starts with `prefix` and has a value.
fn cookie_pair(r: &Response, prefix: &str) -> Option<String> {
    set_cookies(r)
        .into_iter()
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .find(|p| p.starts_with(prefix) && !p.ends_with('='))
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    crate::token::form_param(q, name)
}

struct Started {
    state: String,
    nonce: String,
    state_cookie: String,
}

fn start(w: &World, uri: &str) -> Started {
    let r = respond(w.rp.decide(&browser(uri), &rs()));
    assert_eq!(r.status, 302, "{r:?}");
    start_from(&r)
}

fn start_from(r: &Response) -> Started {
    let location = r.header("Location").expect("Location").to_string();
    Started {
        state: query_param(&location, "state").expect("state"),
        nonce: query_param(&location, "nonce").expect("nonce"),
        state_cookie: cookie_pair(r, "mod_auth_openidc_state_").expect("state cookie"),
    }
}

fn callback_request(st: &Started, extra: &str) -> TestRequest {
    let uri = format!(
        "/mesos/redirect_uri?code=the-code&state={}{extra}",
        st.state
    );
    with_cookie(browser(&uri), &st.state_cookie)
}

fn callback(w: &World, st: &Started) -> Response {
    respond(w.rp.decide(&callback_request(st, ""), &rs()))
}

/// A full login; returns the session cookie pair.
fn login(w: &World, uri: &str) -> String {
    let st = start(w, uri);
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = callback(w, &st);
    assert_eq!(r.status, 302, "{r:?}");
    cookie_pair(&r, "mod_auth_openidc_session=").expect("session cookie")
}

fn header_names(i: &Identity) -> Vec<String> {
    i.rendered
        .headers
        .iter()
        .map(|(n, _)| n.to_str().unwrap().to_string())
        .collect()
}

// ---- the round trip ----

#[test]
fn unauthenticated_browser_gets_302_with_reference_parameter_order() {
    let w = world();
    let r = respond(w.rp.decide(&browser("/mesos/"), &rs()));
    assert_eq!(r.status, 302);
    let loc = r.header("Location").unwrap();
    let st = start_from(&r);
    let expected_prefix = format!(
        "https://op.example/auth?response_type=code&scope=openid%20email%20profile&client_id={CLIENT}&state={}&redirect_uri=https%3A%2F%2Frp.example%2Fmesos%2Fredirect_uri&nonce={}&code_challenge=",
        st.state, st.nonce
    );
    assert!(loc.starts_with(&expected_prefix), "{loc}");
    assert!(loc.ends_with("&code_challenge_method=S256"), "{loc}");
    assert_eq!(
        r.header("Cache-Control"),
        Some("no-cache, no-store, max-age=0")
    );
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("mod_auth_openidc_state_"))
        .unwrap();
    assert!(cookie.ends_with("; Path=/; HttpOnly; Secure"), "{cookie}");
    assert!(cookie.starts_with(&format!("mod_auth_openidc_state_{}=", st.state)));
    // Discovery happened lazily, once.
    assert_eq!(w.op.count(DISCOVERY), 1);
    let _ = respond(w.rp.decide(&browser("/mesos/"), &rs()));
    assert_eq!(w.op.count(DISCOVERY), 1);
}

#[test]
fn plain_http_state_cookie_has_no_secure_flag() {
    let w = world();
    let mut req = browser("/mesos/");
    req.https = false;
    req.server_port = 80;
    let r = respond(w.rp.decide(&req, &rs()));
    let c = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("mod_auth_openidc_state_"))
        .unwrap();
    assert!(c.ends_with("; Path=/; HttpOnly"), "{c}");
}

#[test]
fn login_round_trip_gives_session_and_compat_headers_in_order() {
    let w = world();
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = callback(&w, &st);
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("Location"), Some("https://rp.example/mesos/"));
    let cookies = set_cookies(&r);
    let state_name = st.state_cookie.split('=').next().unwrap();
    assert!(cookies.contains(
        &format!("{state_name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly").as_str()
    ));
    let session = cookies
        .iter()
        .find(|c| c.starts_with("mod_auth_openidc_session="))
        .unwrap();
    assert!(
        session.ends_with("; Path=/; HttpOnly; Secure; SameSite=Lax"),
        "{session}"
    );
    assert_eq!(w.cache.sessions(), 1);
    assert_eq!(w.op.userinfo_calls(), 1);

    // The token request: code, redirect URI and PKCE verifier.
    let token_req =
        w.op.calls
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.url == "https://op.example/token")
            .cloned()
            .unwrap();
    let body = String::from_utf8(token_req.body.unwrap()).unwrap();
    assert!(body.contains("grant_type=authorization_code"));
    assert!(body.contains("code=the-code"));
    assert!(body.contains("code_verifier="));

    let cookie = cookie_pair(&r, "mod_auth_openidc_session=").unwrap();
    let req = with_cookie(browser("/mesos/"), &cookie)
        .with_header("OIDC-email", "spoofed@evil.example")
        .with_header("oidc_access_token", "spoofed");
    let id = identity(w.rp.decide(&req, &rs()));
    assert_eq!(id.user(), "zoe@op.example");
    assert_eq!(
        header_names(&id),
        [
            "OIDC-sub",
            "OIDC-email",
            "OIDC-name",
            "OIDC-iss",
            "OIDC-aud",
            "OIDC-exp",
            "OIDC-iat",
            "OIDC-nonce",
            "OIDC_access_token",
            "OIDC_access_token_expires"
        ]
    );
    assert_eq!(id.rendered.header("OIDC-email"), Some("zoe@example.com"));
    assert_eq!(id.rendered.header("OIDC-name"), Some("Zoë"));
    assert_eq!(id.rendered.header("OIDC_access_token"), Some("at-123"));
    assert_eq!(
        id.rendered.header("OIDC_access_token_expires"),
        Some((NOW + 300).to_string().as_str())
    );
    assert_eq!(id.remove_headers, ["OIDC-email", "oidc_access_token"]);
    assert_eq!(id.claims.get("email"), Some(&json!("zoe@example.com")));
    assert_eq!(id.claims.get("iss"), Some(&json!(ISS)));
    assert_eq!(id.cookie_header, None, "the session cookie is not stripped");
    // env too (OIDCPassClaimsAs both)
    assert!(!id.rendered.env.is_empty());
}

#[test]
fn repeated_session_requests_reuse_the_render_without_rewriting_the_cache() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    let sets = w.cache.sets.load(Ordering::SeqCst);
    let a = identity(w.rp.decide(&with_cookie(browser("/mesos/"), &cookie), &rs()));
    let b = identity(w.rp.decide(&with_cookie(browser("/mesos/x"), &cookie), &rs()));
    assert!(Arc::ptr_eq(&a.rendered, &b.rendered));
    assert_eq!(w.cache.sets.load(Ordering::SeqCst), sets);
    assert_eq!(w.cache.touches.load(Ordering::SeqCst), 0);
    assert_eq!(w.rp.hot.len(), 1);
    // Another location setting gets its own render.
    let rs2 = RpRequestSettings {
        authn_header: Some("X-Remote-User"),
        ..rs()
    };
    let c = identity(w.rp.decide(&with_cookie(browser("/mesos/"), &cookie), &rs2));
    assert!(!Arc::ptr_eq(&a.rendered, &c.rendered));
    assert_eq!(c.rendered.header("X-Remote-User"), Some("zoe@op.example"));
    assert_eq!(header_names(&c)[0], "X-Remote-User");
}

#[test]
fn deep_links_come_back_exactly() {
    let w = world();
    let uri = "/mesos/a%20b/%C3%A9?x=1&y=%2F%3F&z=a+b#";
    let st = start(&w, uri);
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = callback(&w, &st);
    assert_eq!(
        r.header("Location"),
        Some(format!("https://rp.example{uri}").as_str())
    );
}

#[test]
fn non_default_port_and_trusted_forwarded_headers_shape_the_original_url() {
    let w = world();
    let mut req = browser("/mesos/?q=1");
    req.server_port = 8443;
    let st = start_from(&respond(w.rp.decide(&req, &rs())));
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = respond(w.rp.decide(
        &with_cookie(
            {
                let mut c = browser(&format!("/mesos/redirect_uri?code=c&state={}", st.state));
                c.server_port = 8443;
                c
            },
            &st.state_cookie,
        ),
        &rs(),
    ));
    assert_eq!(
        r.header("Location"),
        Some("https://rp.example:8443/mesos/?q=1")
    );

    // Behind a TLS-terminating proxy, trusted.
    let mut s = settings();
    s.forwarded = TrustedForwarded {
        host: true,
        port: false,
        proto: true,
        forwarded: false,
    };
    let w = world_with(s);
    let mut req = browser("/mesos/")
        .with_header("X-Forwarded-Proto", "https")
        .with_header("X-Forwarded-Host", "public.example");
    req.https = false;
    req.server_port = 8080;
    let r = respond(w.rp.decide(&req, &rs()));
    let c = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("mod_auth_openidc_state_"))
        .unwrap();
    assert!(c.contains("; Secure"), "{c}");
    let cookie_value = c.split(';').next().unwrap().split_once('=').unwrap().1;
    let rec = authorize::peek_state(&keys(), cookie_value).unwrap();
    assert_eq!(rec.original_url, "https://public.example/mesos/");

    // Not trusted: the headers change nothing.
    let w = world();
    let mut req = browser("/mesos/").with_header("X-Forwarded-Host", "evil.example");
    req.https = false;
    req.server_port = 80;
    let r = respond(w.rp.decide(&req, &rs()));
    let c = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("mod_auth_openidc_state_"))
        .unwrap();
    let rec = authorize::peek_state(
        &keys(),
        c.split(';').next().unwrap().split_once('=').unwrap().1,
    )
    .unwrap();
    assert_eq!(rec.original_url, "http://rp.example/mesos/");
}

#[test]
fn path_scope_auth_request_params_response_mode_and_pkce_variants() {
    let mut s = settings();
    s.auth_request_params = Some("prompt=login&login_hint=#".into());
    s.response_mode = Some(ResponseMode::FormPost);
    s.pkce = PkceMethod::None;
    let w = world_with(s);
    let rs2 = RpRequestSettings {
        path_scope: Some("groups"),
        path_auth_request_params: Some("acr_values=gold"),
        ..rs()
    };
    let r = respond(w.rp.decide(&browser("/mesos/?login_hint=zoe%40x"), &rs2));
    let loc = r.header("Location").unwrap();
    assert!(
        loc.contains("scope=openid%20email%20profile%20groups&"),
        "{loc}"
    );
    assert!(!loc.contains("code_challenge"), "{loc}");
    assert!(
        loc.ends_with("&response_mode=form_post&prompt=login&login_hint=zoe%40x&acr_values=gold"),
        "{loc}"
    );

    let mut s = settings();
    s.pkce = PkceMethod::Plain;
    let w = world_with(s);
    let r = respond(w.rp.decide(&browser("/mesos/"), &rs()));
    assert!(
        r.header("Location")
            .unwrap()
            .ends_with("&code_challenge_method=plain")
    );
}

#[test]
fn auth_request_by_post_is_an_auto_submit_form() {
    let mut s = settings();
    s.auth_request_method = AuthRequestMethod::Post;
    let w = world_with(s);
    let r = respond(w.rp.decide(&browser("/mesos/"), &rs()));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Location"), None);
    let (ct, body) = r.body.clone().unwrap();
    assert!(ct.starts_with("text/html"));
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("<form method=\"post\" action=\"https://op.example/auth\">"));
    assert!(body.contains("name=\"response_type\" value=\"code\""));
    assert!(body.contains("name=\"redirect_uri\" value=\"https://rp.example/mesos/redirect_uri\""));
    assert!(cookie_pair(&r, "mod_auth_openidc_state_").is_some());
}

#[test]
fn non_browser_requests_get_bare_401_without_state_cookie() {
    let w = world();
    for (h, v) in [
        ("X-Requested-With", "XMLHttpRequest"),
        ("Sec-Fetch-Mode", "cors"),
        ("Sec-Fetch-Dest", "empty"),
    ] {
        let r = respond(w.rp.decide(&browser("/mesos/").with_header(h, v), &rs()));
        assert_eq!(r.status, 401, "{h}");
        assert!(set_cookies(&r).is_empty());
        assert!(r.header("WWW-Authenticate").is_none());
        assert!(r.body.is_none());
    }
    let mut req = browser("/mesos/");
    req.headers.retain(|(n, _)| n != "Accept");
    let r = respond(w.rp.decide(&req.with_header("Accept", "application/json"), &rs()));
    assert_eq!(r.status, 401);
    assert_eq!(w.op.count(DISCOVERY), 0, "no provider call for a 401");
}

#[test]
fn unauth_actions() {
    let w = world();
    for (a, status) in [
        (UnAuthAction::Return401, 401),
        (UnAuthAction::Return407, 407),
        (UnAuthAction::Return410, 410),
    ] {
        let r = respond(w.rp.decide(
            &browser("/mesos/"),
            &RpRequestSettings {
                unauth_action: a,
                ..rs()
            },
        ));
        assert_eq!(r.status, status);
        assert!(set_cookies(&r).is_empty());
    }
    let id = identity(w.rp.decide(
        &browser("/mesos/").with_header("OIDC-sub", "admin"),
        &RpRequestSettings {
            unauth_action: UnAuthAction::Pass,
            ..rs()
        },
    ));
    assert_eq!(id.user(), "");
    assert!(id.rendered.headers.is_empty());
    assert_eq!(id.remove_headers, ["OIDC-sub"]);
}

// ---- POST preservation ----

#[test]
fn preserved_post_is_replayed_after_the_callback() {
    let w = world();
    let req = browser("/mesos/form").with_form_body("POST", "a=1&b=%3Cscript%3E&c=x+y");
    let rs2 = RpRequestSettings {
        preserve_post: true,
        ..rs()
    };
    let st = start_from(&respond(w.rp.decide(&req, &rs2)));
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = respond(w.rp.decide(&callback_request(&st, ""), &rs2));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(cookie_pair(&r, "mod_auth_openidc_session=").is_some());
    let body = String::from_utf8(r.body.unwrap().1).unwrap();
    assert!(
        body.contains("action=\"https://rp.example/mesos/form\""),
        "{body}"
    );
    assert!(body.contains("name=\"a\" value=\"1\""));
    assert!(
        body.contains("name=\"b\" value=\"&lt;script&gt;\""),
        "{body}"
    );
    assert!(body.contains("name=\"c\" value=\"x y\""));
    assert!(!body.contains("<script>"));

    // Without OIDCPreservePost: a plain redirect.
    let st = start_from(&respond(w.rp.decide(&req, &rs())));
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = respond(w.rp.decide(&callback_request(&st, ""), &rs()));
    assert_eq!(r.status, 302);

    // Too large to carry: a plain redirect.
    let big = format!("a={}", "x".repeat(MAX_PRESERVED_POST + 1));
    let req = browser("/mesos/form").with_form_body("POST", &big);
    let st = start_from(&respond(w.rp.decide(&req, &rs2)));
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = respond(w.rp.decide(&callback_request(&st, ""), &rs2));
    assert_eq!(r.status, 302);
}

// ---- state errors ----

fn assert_no_session(w: &World, r: &Response) {
    assert_eq!(w.cache.sessions(), 0, "a session was stored: {r:?}");
    assert!(cookie_pair(r, "mod_auth_openidc_session=").is_none());
}

#[test]
fn state_errors_are_bare_400() {
    let w = world();
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));

    // absent cookie
    let r = respond(w.rp.decide(
        &browser(&format!("/mesos/redirect_uri?code=c&state={}", st.state)),
        &rs(),
    ));
    assert_eq!((r.status, r.body.is_none()), (400, true));
    assert_no_session(&w, &r);

    // unknown state
    let r = respond(w.rp.decide(
        &with_cookie(
            browser("/mesos/redirect_uri?code=c&state=unknown"),
            &st.state_cookie,
        ),
        &rs(),
    ));
    assert_eq!(r.status, 400);

    // error= with an unknown state
    let r = respond(w.rp.decide(
        &browser("/mesos/redirect_uri?error=access_denied&state=nope"),
        &rs(),
    ));
    assert_eq!(r.status, 400);

    // tampered cookie value
    let (name, value) = st.state_cookie.split_once('=').unwrap();
    let mut v: Vec<char> = value.chars().collect();
    let mid = v.len() / 2;
    v[mid] = if v[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{name}={}", v.into_iter().collect::<String>());
    let r = respond(w.rp.decide(
        &with_cookie(
            browser(&format!("/mesos/redirect_uri?code=c&state={}", st.state)),
            &tampered,
        ),
        &rs(),
    ));
    assert_eq!(r.status, 400);

    // User-Agent changed
    let mut req = callback_request(&st, "");
    req.headers.retain(|(n, _)| n != "User-Agent");
    let r = respond(w.rp.decide(&req.with_header("User-Agent", "curl/8"), &rs()));
    assert_eq!(r.status, 400);
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with(&format!("{name}=;")))
    );

    // expired
    w.clock.set(NOW + 301);
    let r = callback(&w, &st);
    assert_eq!(r.status, 400);
    assert_no_session(&w, &r);
    assert_eq!(w.op.token_calls(), 0, "no code exchange for a bad state");
}

#[test]
fn default_url_receives_invalid_states() {
    let mut s = settings();
    s.default_url = Some("https://rp.example/home".into());
    let w = world_with(s);
    let r = respond(w.rp.decide(&browser("/mesos/redirect_uri?code=c&state=x"), &rs()));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("Location"), Some("https://rp.example/home"));
}

#[test]
fn replayed_callback_is_refused() {
    let w = world();
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    assert_eq!(callback(&w, &st).status, 302);
    // The browser no longer has the state cookie.
    let r = respond(w.rp.decide(
        &browser(&format!(
            "/mesos/redirect_uri?code=the-code&state={}",
            st.state
        )),
        &rs(),
    ));
    assert_eq!(r.status, 400);
    // A replay with the old cookie: the provider refuses the used code.
    *w.op.token.lock().unwrap() = Ok((
        400,
        json!({"error": "invalid_grant", "error_description": "code already used"}).to_string(),
    ));
    let r = callback(&w, &st);
    assert_eq!(r.status, 401);
    let body = String::from_utf8(r.body.unwrap().1).unwrap();
    assert!(body.contains("invalid_grant"));
    assert_eq!(w.cache.sessions(), 1, "only the first login's session");
}

#[test]
fn state_cookie_limit() {
    let mut s = settings();
    s.max_state_cookies = 2;
    let w = world_with(s);
    let a = start(&w, "/a");
    w.clock.set(NOW + 1);
    let b = start(&w, "/b");
    let both = format!("{}; {}", a.state_cookie, b.state_cookie);
    let r = respond(w.rp.decide(&with_cookie(browser("/c"), &both), &rs()));
    assert_eq!(r.status, 503);
    assert!(cookie_pair(&r, "mod_auth_openidc_state_").is_none());
    // Expired ones do not count (and are cleared).
    w.clock.set(NOW + 301);
    let r = respond(w.rp.decide(&with_cookie(browser("/c"), &both), &rs()));
    assert_eq!(r.status, 302);
    let cleared = set_cookies(&r)
        .iter()
        .filter(|c| c.contains("Expires=Thu, 01 Jan 1970"))
        .count();
    assert_eq!(
        cleared, 1,
        "a is expired, b is not (created a second later)"
    );

    let mut s = settings();
    s.max_state_cookies = 2;
    s.delete_oldest_state_cookies = true;
    let w = world_with(s);
    let a = start(&w, "/a");
    w.clock.set(NOW + 1);
    let b = start(&w, "/b");
    let r = respond(w.rp.decide(
        &with_cookie(
            browser("/c"),
            &format!("{}; {}", b.state_cookie, a.state_cookie),
        ),
        &rs(),
    ));
    assert_eq!(r.status, 302);
    let a_name = a.state_cookie.split('=').next().unwrap();
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with(&format!("{a_name}=;")))
    );
}

// ---- hostile providers ----

/// Runs a login whose token endpoint answers with `id_token`; returns the callback response.
fn login_with_id_token(w: &World, make: impl FnOnce(&Op, &str) -> String) -> Response {
    let st = start(w, "/mesos/");
    let tok = make(&w.op, &st.nonce);
    w.op.issue(&tok);
    callback(w, &st)
}

fn assert_refused_before_userinfo(w: &World, r: &Response) {
    assert_eq!(r.status, 401, "{r:?}");
    assert_no_session(w, r);
    assert_eq!(
        w.op.userinfo_calls(),
        0,
        "userinfo called after a bad ID token"
    );
    let (ct, _) = r.body.clone().expect("an error page");
    assert!(ct.starts_with("text/html"));
}

fn claims_with(op: &Op, nonce: &str, name: &str, v: Value) -> Value {
    let mut c = op.id_claims(nonce);
    c.as_object_mut().unwrap().insert(name.into(), v);
    c
}

fn claims_without(op: &Op, nonce: &str, name: &str) -> Value {
    let mut c = op.id_claims(nonce);
    c.as_object_mut().unwrap().remove(name);
    c
}

#[test]
fn bad_id_token_signature() {
    let w = world();
    let r = login_with_id_token(&w, |op, n| {
        let t = op.key.mint(&op.id_claims(n));
        let (head, sig) = t.rsplit_once('.').unwrap();
        let mut bytes = crate::jose::b64url_decode(sig).unwrap();
        bytes[10] ^= 1;
        format!("{head}.{}", crate::jose::b64url_encode(&bytes))
    });
    assert_refused_before_userinfo(&w, &r);
}

#[test]
fn alg_none_refused() {
    let w = world();
    let r = login_with_id_token(&w, |op, n| {
        crate::jose::testkit::compact(
            br#"{"alg":"none","typ":"JWT"}"#,
            op.id_claims(n).to_string().as_bytes(),
            b"",
        )
    });
    assert_refused_before_userinfo(&w, &r);
}

#[test]
fn hs256_with_client_secret_when_rs256_advertised_refused() {
    let w = world();
    let r = login_with_id_token(&w, |op, n| {
        TestKey::hmac(SECRET.as_bytes(), None, Alg::HS256).mint(&op.id_claims(n))
    });
    assert_refused_before_userinfo(&w, &r);
}

#[test]
fn foreign_key_and_unknown_kid_refetch_once() {
    let w = world();
    let foreign = TestKey::rsa_n(1, Some("k2"), Alg::RS256);
    let r = login_with_id_token(&w, |op, n| foreign.mint(&op.id_claims(n)));
    assert_refused_before_userinfo(&w, &r);
    assert_eq!(
        w.op.count("https://op.example/jwks"),
        2,
        "one refetch for the unknown kid"
    );

    // Key rotation: the new key is published before it signs.
    let w = world();
    let _ = start(&w, "/mesos/"); // discovery
    let rotated = TestKey::rsa_n(1, Some("k2"), Alg::RS256);
    *w.op.jwks.lock().unwrap() = jwks(&[&w.op.key]);
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    assert_eq!(callback(&w, &st).status, 302); // JWKS now cached with k1
    *w.op.jwks.lock().unwrap() = jwks(&[&w.op.key, &rotated]);
    w.clock.set(NOW + 20);
    let st = start(&w, "/mesos/");
    let mut c = w.op.id_claims(&st.nonce);
    c["iat"] = json!(NOW + 20);
    w.op.issue(&rotated.mint(&c));
    assert_eq!(callback(&w, &st).status, 302);
}

#[test]
fn no_kid_with_one_key_or_several_keys() {
    let w = world();
    let r = login_with_id_token(&w, |op, n| op.key.with_kid(None).mint(&op.id_claims(n)));
    assert_eq!(r.status, 302, "{r:?}");

    let w = world();
    let other = TestKey::rsa_n(1, Some("k2"), Alg::RS256);
    *w.op.jwks.lock().unwrap() = jwks(&[&w.op.key, &other]);
    let r = login_with_id_token(&w, |op, n| other.with_kid(None).mint(&op.id_claims(n)));
    // Several keys and no kid: every published key is tried (OIDF kid-absent-multiple-jwks);
    // a key that is not published fails.
    assert_eq!(r.status, 302, "{r:?}");
    let w = world();
    let stranger = TestKey::rsa_n(2, None, Alg::RS256);
    *w.op.jwks.lock().unwrap() = jwks(&[&w.op.key, &other]);
    let r = login_with_id_token(&w, |op, n| stranger.mint(&op.id_claims(n)));
    assert_refused_before_userinfo(&w, &r);
}

#[test]
fn claim_checks_refuse_before_userinfo() {
    type Make = Box<dyn Fn(&Op, &str) -> Value>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "wrong iss",
            Box::new(|op, n| claims_with(op, n, "iss", json!("https://evil.example"))),
        ),
        (
            "wrong aud",
            Box::new(|op, n| claims_with(op, n, "aud", json!("someone-else"))),
        ),
        (
            "extra aud without azp",
            Box::new(|op, n| claims_with(op, n, "aud", json!([CLIENT, "other"]))),
        ),
        (
            "missing iat",
            Box::new(|op, n| claims_without(op, n, "iat")),
        ),
        (
            "expired",
            Box::new(|op, n| claims_with(op, n, "exp", json!(NOW - 3600))),
        ),
        (
            "nonce missing",
            Box::new(|op, n| claims_without(op, n, "nonce")),
        ),
        (
            "nonce mismatch",
            Box::new(|op, n| claims_with(op, n, "nonce", json!("not-the-nonce"))),
        ),
        (
            "missing sub",
            Box::new(|op, n| claims_without(op, n, "sub")),
        ),
    ];
    for (name, make) in cases {
        let w = world();
        let r = login_with_id_token(&w, |op, n| op.key.mint(&make(op, n)));
        assert_eq!(r.status, 401, "{name}: {r:?}");
        assert_refused_before_userinfo(&w, &r);
    }
}

#[test]
fn userinfo_sub_mismatch_refused() {
    let w = world();
    *w.op.userinfo.lock().unwrap() = ok(json!({"sub": "mallory", "email": "m@x"}).to_string());
    let r = login_with_id_token(&w, |op, n| op.key.mint(&op.id_claims(n)));
    assert_eq!(r.status, 401);
    assert_no_session(&w, &r);
    assert_eq!(w.op.userinfo_calls(), 1);
}

#[test]
fn provider_error_response_is_an_error_page() {
    let w = world();
    let st = start(&w, "/mesos/");
    let r = respond(w.rp.decide(
        &with_cookie(
            browser(&format!(
                "/mesos/redirect_uri?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state={}",
                st.state
            )),
            &st.state_cookie,
        ),
        &rs(),
    ));
    assert_eq!(r.status, 401);
    let body = String::from_utf8(r.body.clone().unwrap().1).unwrap();
    assert!(body.contains("OpenID Connect Provider error: access_denied"));
    assert!(body.contains("&lt;b&gt;no&lt;/b&gt;"), "{body}");
    assert_no_session(&w, &r);
    assert_eq!(w.op.token_calls(), 0);
}

#[test]
fn error_template_is_filled_and_escaped() {
    let mut s = settings();
    s.error_template = Some("<h1>%s</h1><p>%s</p><i>100%%</i>".into());
    let w = world_with(s);
    let st = start(&w, "/mesos/");
    let r = respond(w.rp.decide(
        &with_cookie(
            browser(&format!(
                "/mesos/redirect_uri?error=x%3Cy&error_description=d%22&state={}",
                st.state
            )),
            &st.state_cookie,
        ),
        &rs(),
    ));
    let body = String::from_utf8(r.body.unwrap().1).unwrap();
    assert_eq!(
        body,
        "<h1>OpenID Connect Provider error: x&lt;y</h1><p>d&quot;</p><i>100%</i>"
    );
}

#[test]
fn rfc9207_iss_is_checked_when_present() {
    let w = world();
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = respond(w.rp.decide(
        &callback_request(&st, "&iss=https%3A%2F%2Fevil.example"),
        &rs(),
    ));
    assert_eq!(r.status, 401);
    assert_no_session(&w, &r);
    assert_eq!(w.op.token_calls(), 0);

    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let r = respond(w.rp.decide(
        &callback_request(&st, "&iss=https%3A%2F%2Fop.example"),
        &rs(),
    ));
    assert_eq!(r.status, 302);
}

#[test]
fn token_endpoint_failures() {
    let cases: Vec<(&str, Reply, u16)> = vec![
        ("500", Ok((500, "oops".into())), 503),
        (
            "500 json",
            Ok((500, json!({"error": "server_error"}).to_string())),
            503,
        ),
        ("non-JSON", Ok((200, "<html>".into())), 503),
        (
            "no id_token",
            Ok((
                200,
                json!({"access_token": "a", "token_type": "Bearer"}).to_string(),
            )),
            503,
        ),
        ("timeout", Err(HttpError::Timeout), 503),
        ("too large", Err(HttpError::TooLarge), 503),
        (
            "invalid_grant",
            Ok((400, json!({"error": "invalid_grant"}).to_string())),
            401,
        ),
    ];
    for (name, reply, status) in cases {
        let w = world();
        let st = start(&w, "/mesos/");
        *w.op.token.lock().unwrap() = reply;
        let r = callback(&w, &st);
        assert_eq!(r.status, status, "{name}: {r:?}");
        assert!(r.body.is_some(), "{name}: an error page");
        assert_no_session(&w, &r);
        assert_eq!(w.op.userinfo_calls(), 0, "{name}");
    }
}

#[test]
fn userinfo_outage_is_503() {
    let w = world();
    *w.op.userinfo.lock().unwrap() = Err(HttpError::Timeout);
    let r = login_with_id_token(&w, |op, n| op.key.mint(&op.id_claims(n)));
    assert_eq!(r.status, 503);
    assert_no_session(&w, &r);
}

#[test]
fn discovery_problems_are_503_pages() {
    // Foreign issuer.
    let w = world();
    let mut doc = discovery_doc();
    doc["issuer"] = json!("https://evil.example");
    *w.op.discovery.lock().unwrap() = ok(doc.to_string());
    let r = respond(w.rp.decide(&browser("/mesos/"), &rs()));
    assert_eq!(r.status, 503);
    assert!(r.body.is_some());
    assert!(cookie_pair(&r, "mod_auth_openidc_state_").is_none());

    // Provider down: 503; a retry within RETRY_AFTER_FAILURE does not hit the network again.
    let w = world();
    w.op.down.store(true, Ordering::SeqCst);
    assert_eq!(respond(w.rp.decide(&browser("/mesos/"), &rs())).status, 503);
    assert_eq!(respond(w.rp.decide(&browser("/mesos/"), &rs())).status, 503);
    assert_eq!(w.op.count(DISCOVERY), 1);
    w.op.down.store(false, Ordering::SeqCst);
    w.clock.set(NOW + provider::RETRY_AFTER_FAILURE);
    assert_eq!(respond(w.rp.decide(&browser("/mesos/"), &rs())).status, 302);
}

#[test]
fn metadata_refresh_keeps_last_good_copy() {
    let mut s = settings();
    s.metadata_refresh_interval = 60;
    let w = world_with(s);
    assert_eq!(respond(w.rp.decide(&browser("/mesos/"), &rs())).status, 302);
    w.op.down.store(true, Ordering::SeqCst);
    w.clock.set(NOW + 61);
    assert_eq!(respond(w.rp.decide(&browser("/mesos/"), &rs())).status, 302);
    assert_eq!(w.op.count(DISCOVERY), 2, "refresh attempted");
}

#[test]
fn static_provider_configuration() {
    let meta = ProviderMetadata {
        issuer: ISS.into(),
        authorization_endpoint: "https://op.example/auth".into(),
        token_endpoint: "https://op.example/token".into(),
        userinfo_endpoint: None,
        jwks_uri: None,
        end_session_endpoint: None,
        introspection_endpoint: None,
        token_endpoint_auth_methods_supported: vec![],
        id_token_signing_alg_values_supported: vec![],
        response_types_supported: vec![],
        code_challenge_methods_supported: vec![],
    };
    let mut s = settings();
    s.provider = ProviderSource::Static(Box::new(meta));
    let op_key = TestKey::rsa(Some("k1"));
    s.verify_keys = crate::jose::KeySet::from_jwks_json(jwks(&[&op_key]).as_bytes()).unwrap();
    let w = world_with(s);
    let r = login_with_id_token(&w, |op, n| op.key.mint(&op.id_claims(n)));
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(w.op.count(DISCOVERY), 0);
    assert_eq!(w.op.userinfo_calls(), 0, "no userinfo endpoint configured");
    let cookie = cookie_pair(&r, "mod_auth_openidc_session=").unwrap();
    let id = identity(w.rp.decide(&with_cookie(browser("/mesos/"), &cookie), &rs()));
    assert_eq!(id.rendered.header("OIDC-sub"), Some("zoe"));
}

// ---- sessions ----

#[test]
fn tampered_session_cookies_are_cleared_and_treated_as_absent() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    let (name, value) = cookie.split_once('=').unwrap();
    let mut changed: Vec<char> = value.chars().collect();
    changed[5] = if changed[5] == 'a' { 'b' } else { 'a' };
    let changed: String = changed.into_iter().collect();
    let cases = [
        changed,
        value[..value.len() - 1].to_string(),
        format!("{value}x"),
        "garbage!".to_string(),
        String::new(),
        "A".repeat(6000),
        "%00%0d%0a".to_string(),
    ];
    let clear = format!("{name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly");
    for v in cases {
        let r = respond(w.rp.decide(
            &with_cookie(browser("/mesos/"), &format!("{name}={v}")),
            &rs(),
        ));
        assert_eq!(r.status, 302, "{v:.20}");
        assert!(set_cookies(&r).contains(&clear.as_str()), "{v:.20}: {r:?}");
        let xhr = with_cookie(browser("/mesos/"), &format!("{name}={v}"))
            .with_header("X-Requested-With", "XMLHttpRequest");
        let r = respond(w.rp.decide(&xhr, &rs()));
        assert_eq!(r.status, 401);
        assert!(set_cookies(&r).contains(&clear.as_str()));
    }
    // The real one still works.
    identity(w.rp.decide(&with_cookie(browser("/mesos/"), &cookie), &rs()));
}

#[test]
fn session_record_from_another_key_is_refused() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    let other = RelyingParty::with(
        settings(),
        w.op.client(),
        Box::new(SharedClock(w.clock.clone())),
        w.cache.clone(),
        CryptoKeys::derive_with_iterations("another passphrase", None, 10),
    );
    let r = respond(other.decide(&with_cookie(browser("/mesos/"), &cookie), &rs()));
    assert_eq!(r.status, 302);
}

#[test]
fn inactivity_timeout_slides_and_expires() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    assert_eq!(w.cache.only_session_expiry(), NOW + 300);
    // Within 1/20 of the timeout: no write.
    w.clock.set(NOW + 10);
    identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(w.cache.touches.load(Ordering::SeqCst), 0);
    // Later: the expiry slides.
    w.clock.set(NOW + 200);
    identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(w.cache.touches.load(Ordering::SeqCst), 1);
    assert_eq!(w.cache.only_session_expiry(), NOW + 500);
    // Idle beyond the timeout: gone.
    w.clock.set(NOW + 801);
    let r = respond(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(r.status, 302);
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("mod_auth_openidc_session=;"))
    );
}

#[test]
fn max_duration_ends_the_session() {
    let mut s = settings();
    s.session_max_duration = 400;
    s.session_inactivity_timeout = 300;
    let w = world_with(s);
    let cookie = login(&w, "/mesos/");
    w.clock.set(NOW + 250);
    identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(
        w.cache.only_session_expiry(),
        NOW + 400,
        "capped by the max duration"
    );
    w.clock.set(NOW + 399);
    identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    w.clock.set(NOW + 400);
    let r = respond(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(r.status, 302);

    // 0: the ID token's exp.
    let mut s = settings();
    s.session_max_duration = 0;
    s.session_inactivity_timeout = 100_000;
    let w = world_with(s);
    let cookie = login(&w, "/mesos/");
    assert_eq!(w.cache.only_session_expiry(), NOW + 3600);
    w.clock.set(NOW + 3600);
    let r = respond(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(r.status, 302);
}

#[test]
fn cache_outage_is_a_503_page() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    w.cache.fail.store(true, Ordering::SeqCst);
    let r = respond(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(r.status, 503);
    assert!(r.body.is_some());
    assert!(matches!(r.log, Some((LogLevel::Error, _))));
    // The rest of the burst is logged at debug only; the page stays the same.
    for _ in 0..5 {
        let r = respond(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
        assert_eq!(r.status, 503);
        assert!(matches!(r.log, Some((LogLevel::Debug, _))), "{:?}", r.log);
    }
    // After a quiet spell, the next failure is reported again.
    w.clock.set(NOW + crate::cache::OUTAGE_QUIET_SECONDS);
    let r = respond(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert!(matches!(r.log, Some((LogLevel::Error, _))), "{:?}", r.log);

    // Storing the session fails: 503, no session cookie.
    let w = world();
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    w.cache.fail.store(true, Ordering::SeqCst);
    let r = callback(&w, &st);
    assert_eq!(r.status, 503);
    assert!(cookie_pair(&r, "mod_auth_openidc_session=").is_none());
}

#[test]
fn session_bound_to_its_host() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    let mut other = with_cookie(browser("/"), &cookie);
    other.host = "other.example".into();
    let r = respond(w.rp.decide(&other, &rs()));
    assert_eq!(r.status, 302);
}

#[test]
fn pass_as_options_and_encodings() {
    let mut s = settings();
    s.pass_id_token_as = PassIdTokenAs {
        claims: false,
        payload: true,
        serialized: true,
    };
    s.pass_userinfo_as = PassUserInfoAs {
        claims: true,
        json: true,
        jwt: false,
    };
    s.blacklist = Some(vec!["name".into()]);
    let w = world_with(s);
    let cookie = login(&w, "/mesos/");
    let rs2 = RpRequestSettings {
        pass: PassClaimsAs {
            headers: true,
            environment: false,
            encoding: ClaimEncoding::Base64Url,
        },
        pass_refresh_token: true,
        ..rs()
    };
    let id = identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs2));
    assert!(id.rendered.env.is_empty());
    assert_eq!(
        header_names(&id),
        [
            "OIDC-sub",
            "OIDC-email",
            "OIDC_userinfo_json",
            "OIDC_id_token_payload",
            "OIDC_id_token",
            "OIDC_refresh_token",
            "OIDC_access_token",
            "OIDC_access_token_expires"
        ]
    );
    let b64 = |s: &str| crate::jose::b64url_encode(s.as_bytes());
    assert_eq!(id.rendered.header("OIDC-sub"), Some(b64("zoe").as_str()));
    assert_eq!(
        id.rendered.header("OIDC_refresh_token"),
        Some(b64("rt-456").as_str())
    );
    let payload = id.rendered.header("OIDC_id_token_payload").unwrap();
    let payload = String::from_utf8(crate::jose::b64url_decode(payload).unwrap()).unwrap();
    let v: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["sub"], "zoe");
}

#[test]
fn remote_user_claim_variants() {
    let mut s = settings();
    s.remote_user = crate::config::values::RemoteUserClaim {
        claim: "email".into(),
        append_issuer: false,
        regex: Some(regex_lite::Regex::new("^([^@]+)@").unwrap()),
        replacement: None,
    };
    let w = world_with(s);
    let cookie = login(&w, "/mesos/");
    let id = identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(id.user(), "zoe");

    let mut s = settings();
    s.remote_user = crate::config::values::RemoteUserClaim {
        claim: "missing".into(),
        append_issuer: false,
        regex: None,
        replacement: None,
    };
    let w = world_with(s);
    let r = login_with_id_token(&w, |op, n| op.key.mint(&op.id_claims(n)));
    assert_eq!(r.status, 401);
    assert_no_session(&w, &r);
}

#[test]
fn strip_cookies_on_session_requests() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    let strip = vec!["mod_auth_openidc_session".to_string()];
    let rs2 = RpRequestSettings {
        strip_cookies: &strip,
        ..rs()
    };
    let id = identity(w.rp.decide(&with_cookie(browser("/"), &format!("a=1; {cookie}")), &rs2));
    assert_eq!(id.cookie_header.as_deref(), Some("a=1"));
}

// ---- logout ----

#[test]
fn logout_with_session_goes_to_end_session_endpoint() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    let req = with_cookie(
        browser("/mesos/redirect_uri?logout=https%3A%2F%2Frp.example%2Fbye%3Fa%3D1"),
        &cookie,
    );
    let r = respond(w.rp.decide(&req, &rs()));
    assert_eq!(r.status, 302);
    let loc = r.header("Location").unwrap();
    assert!(
        loc.starts_with("https://op.example/session/end?id_token_hint=ey"),
        "{loc}"
    );
    assert!(
        loc.ends_with("&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye%3Fa%3D1"),
        "{loc}"
    );
    assert_eq!(r.header("Cache-Control"), Some("no-cache, no-store"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("mod_auth_openidc_session=;"))
    );
    assert_eq!(w.cache.sessions(), 0);
    // The old cookie now leads to a new login.
    let r = respond(w.rp.decide(&with_cookie(browser("/mesos/"), &cookie), &rs()));
    assert_eq!(r.status, 302);
    assert!(
        r.header("Location")
            .unwrap()
            .starts_with("https://op.example/auth?")
    );
}

#[test]
fn logout_without_session_redirects_to_target() {
    let w = world();
    let r = respond(w.rp.decide(&browser("/mesos/redirect_uri?logout=%2Fgoodbye"), &rs()));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("Location"), Some("/goodbye"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
}

#[test]
fn logout_open_redirect_refused_and_session_kept() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    for target in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "javascript%3Aalert(1)",
        "%2F%5Cevil.example",
        "https%3A%2F%2Frp.example%0D%0ALocation%3A%20x",
    ] {
        let req = with_cookie(
            browser(&format!("/mesos/redirect_uri?logout={target}")),
            &cookie,
        );
        let r = respond(w.rp.decide(&req, &rs()));
        assert_eq!(r.status, 400, "{target}");
        assert!(r.body.is_some());
        assert!(r.header("Location").is_none());
        assert_eq!(w.cache.sessions(), 1, "{target}");
    }
    identity(w.rp.decide(&with_cookie(browser("/mesos/"), &cookie), &rs()));
}

#[test]
fn logout_allowed_regex_widens_and_x_frame_options() {
    let mut s = settings();
    s.redirect_urls_allowed = vec![regex_lite::Regex::new("^https://portal\\.example/").unwrap()];
    s.logout_x_frame_options = Some("SAMEORIGIN".into());
    let w = world_with(s);
    let r = respond(w.rp.decide(
        &browser("/mesos/redirect_uri?logout=https%3A%2F%2Fportal.example%2Fout"),
        &rs(),
    ));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("Location"), Some("https://portal.example/out"));
    assert_eq!(r.header("X-Frame-Options"), Some("SAMEORIGIN"));
}

#[test]
fn empty_logout_uses_default_logged_out_url_or_a_page() {
    let w = world();
    let r = respond(w.rp.decide(&browser("/mesos/redirect_uri?logout="), &rs()));
    assert_eq!(r.status, 200);
    assert!(
        String::from_utf8(r.body.unwrap().1)
            .unwrap()
            .contains("Logged Out")
    );

    let mut s = settings();
    s.default_logged_out_url = Some("https://rp.example/loggedout".into());
    let w = world_with(s);
    let r = respond(w.rp.decide(&browser("/mesos/redirect_uri?logout="), &rs()));
    assert_eq!(r.header("Location"), Some("https://rp.example/loggedout"));
    // Back from the provider with only `state`.
    let r = respond(w.rp.decide(&browser("/mesos/redirect_uri?state=abc"), &rs()));
    assert_eq!(r.header("Location"), Some("https://rp.example/loggedout"));
}

// ---- info hook, fragment page ----

#[test]
fn info_hook_json_html_415_401() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    w.clock.set(NOW + 5);
    let r = respond(w.rp.decide(
        &with_cookie(browser("/mesos/redirect_uri?info=json"), &cookie),
        &rs(),
    ));
    assert_eq!(r.status, 200);
    let (ct, body) = r.body.clone().unwrap();
    assert_eq!(ct, "application/json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "iat",
            "access_token",
            "access_token_expires",
            "id_token",
            "userinfo",
            "exp",
            "timeout",
            "remote_user",
            "session"
        ]
    );
    assert_eq!(v["iat"], json!(NOW + 5));
    assert_eq!(v["access_token_expires"], json!((NOW + 300).to_string()));
    assert_eq!(v["exp"], json!(NOW + 8 * 3600));
    assert!(v["timeout"].is_i64());
    assert_eq!(v["remote_user"], json!("zoe@op.example"));
    assert_eq!(v["userinfo"]["email"], json!("zoe@example.com"));
    assert_eq!(v["id_token"]["iss"], json!(ISS));

    let r = respond(w.rp.decide(
        &with_cookie(browser("/mesos/redirect_uri?info=html"), &cookie),
        &rs(),
    ));
    assert_eq!(r.status, 200);
    assert!(r.body.unwrap().0.starts_with("text/html"));

    let r = respond(w.rp.decide(
        &with_cookie(browser("/mesos/redirect_uri?info=xml"), &cookie),
        &rs(),
    ));
    assert_eq!(r.status, 415);

    let r = respond(w.rp.decide(&browser("/mesos/redirect_uri?info=json"), &rs()));
    assert_eq!(r.status, 401);
}

#[test]
fn bare_redirect_uri_is_the_fragment_post_page() {
    let w = world();
    let r = respond(w.rp.decide(&browser("/mesos/redirect_uri"), &rs()));
    assert_eq!(r.status, 200);
    let body = String::from_utf8(r.body.unwrap().1).unwrap();
    assert!(body.contains("name=\"response_mode\" value=\"fragment\""));
    assert!(body.contains("location.hash"));
}

#[test]
fn form_post_callback() {
    let mut s = settings();
    s.response_mode = Some(ResponseMode::FormPost);
    let w = world_with(s);
    // The provider's cross-site POST must carry the state cookie: SameSite=None (https only).
    let r = respond(w.rp.decide(&browser("/mesos/"), &rs()));
    let set = set_cookies(&r);
    let state_set = set
        .iter()
        .find(|c| c.starts_with("mod_auth_openidc_state_"))
        .unwrap();
    assert!(
        state_set.ends_with("; Secure; SameSite=None"),
        "{state_set}"
    );
    let mut plain = browser("/mesos/");
    plain.https = false;
    let r = respond(w.rp.decide(&plain, &rs()));
    assert!(
        set_cookies(&r).iter().all(|c| !c.contains("SameSite=None")),
        "never SameSite=None without Secure"
    );
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let req = with_cookie(browser("/mesos/redirect_uri"), &st.state_cookie).with_form_body(
        "POST",
        &format!(
            "code=the-code&state={}&iss=https%3A%2F%2Fop.example",
            st.state
        ),
    );
    let r = respond(w.rp.decide(&req, &rs()));
    assert_eq!(r.status, 302, "{r:?}");
    assert!(cookie_pair(&r, "mod_auth_openidc_session=").is_some());

    // An empty POST (or only response_mode=fragment) is refused.
    let req = browser("/mesos/redirect_uri").with_form_body("POST", "response_mode=fragment");
    assert_eq!(respond(w.rp.decide(&req, &rs())).status, 400);
}

#[test]
fn garbage_at_the_redirect_uri_never_5xx() {
    let w = world();
    for q in [
        "foo=bar",
        "code=x",
        "state=&code=",
        "code=%ZZ&state=%",
        "logout",
        "info",
        "error=x",
    ] {
        let r = respond(w.rp.decide(&browser(&format!("/mesos/redirect_uri?{q}")), &rs()));
        assert!(r.status < 500, "{q}: {r:?}");
    }
}

#[test]
fn settings_debug_hides_the_secret() {
    let s = format!("{:?}", settings());
    assert!(!s.contains(SECRET));
    assert!(s.contains("<redacted>"));
}

#[test]
fn relying_party_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RelyingParty>();
}

#[test]
fn malformed_state_parameters_are_400_without_set_cookie() {
    let w = world();
    for q in [
        "code=c&state=a%0D%0ASet-Cookie%3A%20x",
        "code=c&state=a%3Bb",
        "code=c&state=",
    ] {
        let r = respond(w.rp.decide(
            &with_cookie(browser(&format!("/mesos/redirect_uri?{q}")), "x=1"),
            &rs(),
        ));
        assert_eq!(r.status, 400, "{q}");
        assert!(set_cookies(&r).is_empty(), "{q}");
    }
}

#[test]
fn cookie_domain_path_and_same_site_settings() {
    let mut s = settings();
    s.cookie_domain = Some("rp.example".into());
    s.session_cookie_same_site = None;
    s.cookie_http_only = false;
    let w = world_with(s);
    let st = start(&w, "/mesos/");
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
    let rs2 = RpRequestSettings {
        cookie_path: Some("/mesos"),
        ..rs()
    };
    let r = respond(w.rp.decide(&callback_request(&st, ""), &rs2));
    let c = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("mod_auth_openidc_session="))
        .unwrap()
        .to_string();
    assert!(
        c.ends_with("; Path=/mesos; Domain=rp.example; Secure"),
        "{c}"
    );
    let pair = c.split(';').next().unwrap();
    let r = respond(w.rp.decide(
        &with_cookie(browser("/mesos/redirect_uri?logout=%2F"), pair),
        &rs2,
    ));
    assert!(set_cookies(&r).contains(
        &"mod_auth_openidc_session=; Path=/mesos; Domain=rp.example; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly"
    ));
}

#[test]
fn persistent_session_cookie_lasts_as_long_as_the_session() {
    let session_cookie = |persistent: bool| {
        let mut s = settings();
        s.persistent_session_cookie = persistent;
        s.session_max_duration = 3600;
        let w = world_with(s);
        let st = start(&w, "/mesos/");
        w.op.issue(&w.op.key.mint(&w.op.id_claims(&st.nonce)));
        let r = callback(&w, &st);
        set_cookies(&r)
            .into_iter()
            .find(|c| c.starts_with("mod_auth_openidc_session="))
            .unwrap()
            .to_string()
    };
    assert!(session_cookie(true).contains("; Max-Age=3600"));
    assert!(!session_cookie(false).contains("Max-Age"));
}

#[test]
fn hs256_id_token_accepted_when_configured_with_a_client_secret() {
    let mut s = settings();
    s.id_token_alg = Some("HS256".into());
    let w = world_with(s);
    let r = login_with_id_token(&w, |op, n| {
        TestKey::hmac(SECRET.as_bytes(), None, Alg::HS256).mint(&op.id_claims(n))
    });
    assert_eq!(r.status, 302, "{r:?}");
    // ... and RS256 is then refused.
    let mut s = settings();
    s.id_token_alg = Some("HS256".into());
    let w = world_with(s);
    let r = login_with_id_token(&w, |op, n| op.key.mint(&op.id_claims(n)));
    assert_refused_before_userinfo(&w, &r);
}

#[test]
fn configured_client_authentication_is_used() {
    let mut s = settings();
    s.client_auth = crate::oidc::client_auth::ClientCredentials::new(
        Some(crate::config::types::EndpointAuth::ClientSecretPost),
        CLIENT,
        Some(SECRET.into()),
        None,
    );
    let w = world_with(s);
    login(&w, "/mesos/");
    let req =
        w.op.calls
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.url == "https://op.example/token")
            .cloned()
            .unwrap();
    let body = String::from_utf8(req.body.unwrap()).unwrap();
    assert!(body.contains("client_secret="), "{body}");
    assert!(
        !req.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("Authorization"))
    );
}

#[test]
fn a_rewritten_session_record_is_reopened() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    let a = identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    // Another child rewrites the record (e.g. a refreshed access token).
    let key = {
        let map = w.cache.map.lock().unwrap();
        map.keys()
            .find(|(s, _)| *s == CacheSection::Session)
            .unwrap()
            .1
            .clone()
    };
    let entry = w
        .cache
        .get(CacheSection::Session, &key, NOW)
        .unwrap()
        .unwrap();
    let mut rec = session::open(&keys(), &key, &entry.value).unwrap();
    rec.access_token = Some("at-new".into());
    let sealed = session::seal(&keys(), &key, &rec).unwrap();
    w.cache
        .set(CacheSection::Session, &key, &sealed, entry.expires_at, NOW)
        .unwrap();
    let b = identity(w.rp.decide(&with_cookie(browser("/"), &cookie), &rs()));
    assert_eq!(a.rendered.header("OIDC_access_token"), Some("at-123"));
    assert_eq!(b.rendered.header("OIDC_access_token"), Some("at-new"));
}

#[test]
fn a_state_cookie_moved_under_another_state_name_is_refused() {
    let w = world();
    let first = start(&w, "/mesos/a");
    let second = start(&w, "/mesos/b");
    let value = first.state_cookie.split_once('=').unwrap().1;
    let moved = Started {
        state: second.state.clone(),
        nonce: first.nonce.clone(),
        state_cookie: format!("mod_auth_openidc_state_{}={value}", second.state),
    };
    w.op.issue(&w.op.key.mint(&w.op.id_claims(&first.nonce)));
    let r = callback(&w, &moved);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(cookie_pair(&r, "mod_auth_openidc_session=").is_none());
}

#[test]
fn a_session_record_copied_under_another_key_does_not_open() {
    let w = world();
    let cookie = login(&w, "/mesos/");
    let other = login(&w, "/mesos/");
    let key_of = |c: &str| session::cache_key(c.split('=').nth(1).unwrap());
    let (mine, theirs) = (key_of(&cookie), key_of(&other));
    let entry = w
        .cache
        .get(CacheSection::Session, &mine, NOW)
        .unwrap()
        .unwrap();
    assert!(session::open(&keys(), &mine, &entry.value).is_some());
    assert!(session::open(&keys(), &theirs, &entry.value).is_none());
    // Planted in the store under the other user's key, it is no session for that cookie.
    w.cache
        .set(
            CacheSection::Session,
            &theirs,
            &entry.value,
            entry.expires_at,
            NOW,
        )
        .unwrap();
    let r = respond(w.rp.decide(&with_cookie(browser("/mesos/"), &other), &rs()));
    assert_eq!(r.status, 302, "{r:?}");
}

#[test]
fn hot_session_cache_is_bounded() {
    let hot = session::HotSessions::new(2);
    let rec = |exp: i64| SessionRecord {
        sub: "s".into(),
        issuer: ISS.into(),
        remote_user: "u".into(),
        userinfo: None,
        id_token_claims: serde_json::Map::new(),
        id_token: "x.y.z".into(),
        access_token: None,
        access_token_expires: None,
        refresh_token: None,
        userinfo_refreshed_at: None,
        cookie_domain: "h".into(),
        created_at: NOW,
        expires_at: exp,
    };
    hot.put(
        "a",
        b"1".to_vec(),
        Arc::new(OpenSession::new(rec(NOW + 10))),
        NOW,
    );
    hot.put(
        "b",
        b"2".to_vec(),
        Arc::new(OpenSession::new(rec(NOW - 1))),
        NOW,
    );
    hot.put(
        "c",
        b"3".to_vec(),
        Arc::new(OpenSession::new(rec(NOW + 10))),
        NOW,
    );
    assert_eq!(hot.len(), 2, "the expired one made room");
    assert!(hot.get("a", b"1", NOW + 5).is_some());
    assert!(hot.get("a", b"other bytes", NOW + 5).is_none());
    hot.put(
        "d",
        b"4".to_vec(),
        Arc::new(OpenSession::new(rec(NOW + 10))),
        NOW + 6,
    );
    assert!(hot.len() <= 2);
    assert!(
        hot.get("a", b"1", NOW + 7).is_some(),
        "the recently used one stays"
    );
    assert!(
        hot.get("c", b"3", NOW + 7).is_none(),
        "the least recently used one went"
    );
}

#[test]
fn broken_state_cookies_are_cleared_and_odd_names_ignored() {
    let w = world();
    let r = respond(w.rp.decide(
        &with_cookie(
            browser("/mesos/"),
            "mod_auth_openidc_state_abc=garbage; mod_auth_openidc_state_x,y=1; other=2",
        ),
        &rs(),
    ));
    assert_eq!(r.status, 302);
    let cleared: Vec<&str> = set_cookies(&r)
        .into_iter()
        .filter(|c| c.contains("Expires=Thu, 01 Jan 1970"))
        .collect();
    assert_eq!(
        cleared,
        ["mod_auth_openidc_state_abc=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly"]
    );
}

// ---- level 2: provider metadata and JWKS through the shared cache ----

#[test]
fn a_second_relying_party_on_the_shared_cache_fetches_neither_metadata_nor_jwks() {
    let shared_store = Arc::new(crate::cache::MemoryCache::new(10));
    let shared = crate::cache::SharedCache::new(shared_store.clone(), Arc::new(|_, _: &str| {}));
    let one = world();
    let one = World {
        rp: one.rp.with_shared_cache(shared.clone()),
        ..one
    };
    login(&one, "/mesos/one");
    assert_eq!(one.op.count(DISCOVERY), 1);
    assert_eq!(one.op.count("https://op.example/jwks"), 1);
    // Another server (own process copies, own session store), same provider, same shared cache.
    let two = world();
    let two = World {
        rp: two.rp.with_shared_cache(shared),
        ..two
    };
    login(&two, "/mesos/two");
    assert_eq!(two.op.count(DISCOVERY), 0, "metadata from the shared cache");
    assert_eq!(
        two.op.count("https://op.example/jwks"),
        0,
        "JWKS from the shared cache"
    );
    assert!(
        shared_store
            .get(CacheSection::ProviderMetadata, DISCOVERY, NOW)
            .unwrap()
            .is_some()
    );
    // Without a shared cache, a third one fetches both.
    let three = world();
    login(&three, "/mesos/three");
    assert_eq!(three.op.count(DISCOVERY), 1);
    assert_eq!(three.op.count("https://op.example/jwks"), 1);
}

#[test]
fn an_unavailable_shared_cache_still_fetches_from_the_provider() {
    let logged = Arc::new(Mutex::new(Vec::new()));
    let l = logged.clone();
    let shared = crate::cache::SharedCache::new(
        Arc::new(crate::cache::DownCache::default()),
        Arc::new(move |level, m: &str| l.lock().unwrap().push((level, m.to_string()))),
    );
    let w = world();
    let w = World {
        rp: w.rp.with_shared_cache(shared),
        ..w
    };
    login(&w, "/mesos/one");
    assert_eq!(w.op.count(DISCOVERY), 1);
    let logged = logged.lock().unwrap();
    assert_eq!(logged.len(), 1, "one warning, then backed off: {logged:?}");
    assert_eq!(logged[0].0, LogLevel::Warn);
}
mod cookie;
mod refresh;
