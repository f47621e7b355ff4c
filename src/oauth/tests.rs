//! The bearer decision end to end over plain data: a fake provider (closure HTTP client that
//! counts calls), a fixed clock, tokens minted with the jose test kit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::*;
use crate::config::values::{ClaimEncoding, PassClaimsAs, RemoteUserClaim, TokenSource};
use crate::deps::{FixedClock, HttpError, HttpResponse};
use crate::http_client::HttpSettings;
use crate::jose::KeySet;
use crate::jose::testkit::{NOW, TestKey, claims_at, jwks};
use crate::request::TestRequest;

const JWKS_URI: &str = "https://op.example/jwks";

struct Provider {
    jwks: std::sync::Mutex<String>,
    jwks_calls: AtomicUsize,
    introspection: std::sync::Mutex<(u16, String)>,
    introspection_calls: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

impl Provider {
    fn new(keys: &[&TestKey]) -> Arc<Provider> {
        Arc::new(Provider {
            jwks: std::sync::Mutex::new(jwks(keys)),
            jwks_calls: AtomicUsize::new(0),
            introspection: std::sync::Mutex::new((200, "{}".into())),
            introspection_calls: AtomicUsize::new(0),
            down: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn client(self: &Arc<Self>) -> Box<dyn HttpClient> {
        let p = self.clone();
        Box::new(
            move |req: &HttpRequest| -> Result<HttpResponse, HttpError> {
                if p.down.load(Ordering::SeqCst) {
                    return Err(HttpError::Timeout);
                }
                if req.url.starts_with(JWKS_URI) {
                    p.jwks_calls.fetch_add(1, Ordering::SeqCst);
                    let body = p.jwks.lock().unwrap().clone().into_bytes();
                    return Ok(HttpResponse {
                        status: 200,
                        headers: vec![],
                        body,
                    });
                }
                if req.url.starts_with("https://op.example/introspect") {
                    p.introspection_calls.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = p.introspection.lock().unwrap().clone();
                    return Ok(HttpResponse {
                        status,
                        headers: vec![],
                        body: body.into_bytes(),
                    });
                }
                Ok(HttpResponse {
                    status: 404,
                    headers: vec![],
                    body: vec![],
                })
            },
        )
    }
}

fn settings() -> OAuthSettings {
    OAuthSettings {
        jwks_uri: Some(JWKS_URI.into()),
        jwks_refresh_interval: 3600,
        static_keys: KeySet::new(),
        audiences: None,
        issuer: None,
        introspection: None,
        metadata_url: None,
        remote_user: RemoteUserClaim {
            claim: "sub".into(),
            append_issuer: false,
            regex: None,
            replacement: None,
        },
        claim_prefix: "OIDC-".into(),
        claim_delimiter: ",".into(),
        whitelist: None,
        blacklist: None,
        http: HttpSettings::default(),
    }
}

fn server(settings: OAuthSettings, provider: &Arc<Provider>, clock: i64) -> ResourceServer {
    ResourceServer::with(
        settings,
        provider.client(),
        Box::new(FixedClock::new(clock)),
    )
}

fn rs() -> RequestSettings<'static> {
    RequestSettings {
        accept: &[TokenSource::Header],
        pass: PassClaimsAs {
            headers: true,
            environment: false,
            encoding: ClaimEncoding::None,
        },
        authn_header: None,
        introspection_interval: 0,
        pass_access_token: true,
        strip_cookies: &[],
    }
}

fn bearer(token: &str) -> TestRequest {
    TestRequest::get().with_header("Authorization", &format!("Bearer {token}"))
}

fn header<'a>(id: &'a Identity, name: &str) -> Option<&'a str> {
    id.rendered.header(name)
}

fn denial(d: Decision) -> Denial {
    match d {
        Decision::Deny(d) => d,
        other => panic!("expected a denial, got {other:?}"),
    }
}

fn allowed(d: Decision) -> Identity {
    match d {
        Decision::Allow(i) => i,
        other => panic!("expected allow, got {other:?}"),
    }
}

#[test]
fn valid_token_gives_identity_headers_in_token_order() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let srv = server(settings(), &p, NOW);
    let mut claims = claims_at(NOW);
    claims["zeta"] = json!("last?");
    let token = key.mint(&claims);
    let id = allowed(srv.decide(&bearer(&token).with_header("OIDC-sub", "spoofed"), &rs()));
    assert_eq!(id.user(), claims["sub"].as_str().unwrap());
    assert_eq!(header(&id, "OIDC-sub"), claims["sub"].as_str());
    assert_eq!(header(&id, "OIDC_access_token"), Some(token.as_str()));
    assert_eq!(id.remove_headers, vec!["OIDC-sub".to_string()]);
    let names: Vec<&str> = id
        .rendered
        .headers
        .iter()
        .map(|(n, _)| n.to_str().unwrap())
        .collect();
    let expected: Vec<String> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(|k| format!("OIDC-{k}"))
        .collect();
    assert_eq!(
        names[..expected.len()],
        expected.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    assert_eq!(names.last(), Some(&"OIDC_access_token"));
}

#[test]
fn missing_token_is_invalid_request() {
    let p = Provider::new(&[]);
    let d = denial(server(settings(), &p, NOW).decide(&TestRequest::get(), &rs()));
    assert_eq!(d.status, 401);
    assert_eq!(
        d.www_authenticate.as_deref(),
        Some(
            "Bearer error=\"invalid_request\", error_description=\"No bearer token found in the request\""
        )
    );
}

#[test]
fn realm_from_auth_name_shapes_the_challenge() {
    let p = Provider::new(&[]);
    let srv = server(settings(), &p, NOW);
    let rs = rs();
    assert_eq!(
        www_authenticate(&rs, Some("api"), "invalid_token", "bad \"quoted\"\r\n"),
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"bad quoted\""
    );
    drop(srv);
}

#[test]
fn bad_tokens_are_invalid_token() {
    let key = TestKey::rsa(Some("k1"));
    let other = TestKey::rsa_n(1, Some("k1"), crate::jose::Alg::RS256);
    let p = Provider::new(&[&key]);
    let srv = server(settings(), &p, NOW);
    let mut expired = claims_at(NOW);
    expired["exp"] = json!(NOW - 100);
    let mut no_exp = claims_at(NOW);
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut future_nbf = claims_at(NOW);
    future_nbf["nbf"] = json!(NOW + 3600);
    for (what, token) in [
        ("foreign key under known kid", other.mint(&claims_at(NOW))),
        ("expired", key.mint(&expired)),
        ("no exp", key.mint(&no_exp)),
        ("nbf in the future", key.mint(&future_nbf)),
        ("garbage", "garbage".to_string()),
        ("dots", "..".to_string()),
        (
            "alg none",
            format!(
                "{}.{}.",
                crate::jose::b64url_encode(br#"{"alg":"none"}"#),
                crate::jose::b64url_encode(br#"{"sub":"x"}"#)
            ),
        ),
    ] {
        let d = denial(srv.decide(&bearer(&token), &rs()));
        assert_eq!(d.status, 401, "{what}");
        let h = d.www_authenticate.unwrap();
        assert!(
            h.starts_with("Bearer error=\"invalid_token\", error_description=\""),
            "{what}: {h}"
        );
    }
}

#[test]
fn missing_sub_cannot_set_remote_user() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let mut c = claims_at(NOW);
    c.as_object_mut().unwrap().remove("sub");
    let d = denial(server(settings(), &p, NOW).decide(&bearer(&key.mint(&c)), &rs()));
    assert_eq!(
        d.www_authenticate.as_deref(),
        Some("Bearer error=\"invalid_token\", error_description=\"Could not set remote user\"")
    );
}

#[test]
fn jwks_is_fetched_once_and_validated_tokens_are_cached() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let srv = server(settings(), &p, NOW);
    let t1 = key.mint(&claims_at(NOW));
    let mut c2 = claims_at(NOW);
    c2["sub"] = json!("second");
    let t2 = key.mint(&c2);
    for _ in 0..5 {
        allowed(srv.decide(&bearer(&t1), &rs()));
        allowed(srv.decide(&bearer(&t2), &rs()));
    }
    assert_eq!(p.jwks_calls.load(Ordering::SeqCst), 1);
    assert_eq!(srv.tokens.len(), 2);
}

#[test]
fn unknown_kid_refetches_once_then_is_throttled() {
    let key = TestKey::rsa(Some("k1"));
    let rotated = TestKey::rsa_n(2, Some("k2"), crate::jose::Alg::RS256);
    let p = Provider::new(&[&key]);
    let srv = server(settings(), &p, NOW);
    allowed(srv.decide(&bearer(&key.mint(&claims_at(NOW))), &rs()));
    assert_eq!(p.jwks_calls.load(Ordering::SeqCst), 1);
    // Unknown kid, not published: one refetch, then none for a while.
    let stranger = TestKey::rsa_n(3, Some("k3"), crate::jose::Alg::RS256);
    for _ in 0..5 {
        denial(srv.decide(&bearer(&stranger.mint(&claims_at(NOW))), &rs()));
    }
    assert_eq!(p.jwks_calls.load(Ordering::SeqCst), 2);
    // The provider rotates in k2: after the throttle window a token with k2 is accepted.
    *p.jwks.lock().unwrap() = jwks(&[&key, &rotated]);
    let srv2 = server(settings(), &p, NOW);
    allowed(srv2.decide(&bearer(&key.mint(&claims_at(NOW))), &rs()));
    allowed(srv2.decide(&bearer(&rotated.mint(&claims_at(NOW))), &rs()));
}

#[test]
fn jwks_outage_is_503_not_a_hang() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    p.down.store(true, Ordering::SeqCst);
    let d = denial(server(settings(), &p, NOW).decide(&bearer(&key.mint(&claims_at(NOW))), &rs()));
    assert_eq!(d.status, 503);
    assert_eq!(d.log_level, LogLevel::Error);
}

#[test]
fn audience_and_issuer_are_checked_when_configured() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let mut s = settings();
    s.audiences = Some(vec!["https://api.example".into()]);
    s.issuer = Some("https://op.example".into());
    let srv = server(s, &p, NOW);
    let mut good = claims_at(NOW);
    good["aud"] = json!(["other", "https://api.example"]);
    good["iss"] = json!("https://op.example");
    allowed(srv.decide(&bearer(&key.mint(&good)), &rs()));
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("https://elsewhere.example");
    denial(srv.decide(&bearer(&key.mint(&wrong_aud)), &rs()));
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    denial(srv.decide(&bearer(&key.mint(&wrong_iss)), &rs()));
}

#[test]
fn shared_key_verifies_hs256() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let key = TestKey::hmac(secret, None, crate::jose::Alg::HS256);
    let p = Provider::new(&[]);
    let mut s = settings();
    s.jwks_uri = None;
    s.static_keys
        .push(crate::jose::Jwk::from_hmac_secret(None, secret).unwrap());
    let srv = server(s, &p, NOW);
    allowed(srv.decide(&bearer(&key.mint(&claims_at(NOW))), &rs()));
    assert_eq!(p.jwks_calls.load(Ordering::SeqCst), 0);
}

fn introspection_settings() -> IntrospectionSettings {
    IntrospectionSettings {
        endpoint: "https://op.example/introspect".into(),
        use_get: false,
        auth: IntrospectionAuth::ClientSecretBasic,
        client_id: Some("rs".into()),
        client_secret: Some("secret".into()),
        params: vec![],
        token_param_name: "token".into(),
        expiry: ExpiryClaim {
            name: "expires_in".into(),
            absolute: false,
            mandatory: true,
        },
    }
}

#[test]
fn introspection_result_is_cached_per_interval() {
    let p = Provider::new(&[]);
    *p.introspection.lock().unwrap() = (
        200,
        json!({"active": true, "sub": "opaque-user", "exp": NOW + 600}).to_string(),
    );
    let mut s = settings();
    s.jwks_uri = None;
    s.introspection = Some(introspection_settings());
    let srv = server(s, &p, NOW);
    let id = allowed(srv.decide(&bearer("opaque-token"), &rs()));
    assert_eq!(id.user(), "opaque-user");
    allowed(srv.decide(&bearer("opaque-token"), &rs()));
    assert_eq!(
        p.introspection_calls.load(Ordering::SeqCst),
        1,
        "cached until exp with interval 0"
    );
    let mut never = rs();
    never.introspection_interval = -1;
    allowed(srv.decide(&bearer("opaque-token"), &never));
    allowed(srv.decide(&bearer("opaque-token"), &never));
    assert_eq!(
        p.introspection_calls.load(Ordering::SeqCst),
        3,
        "-1 always introspects"
    );
}

#[test]
fn inactive_and_broken_introspection_answers() {
    let p = Provider::new(&[]);
    let mut s = settings();
    s.jwks_uri = None;
    s.introspection = Some(introspection_settings());
    let srv = server(s, &p, NOW);
    *p.introspection.lock().unwrap() = (200, json!({"active": false}).to_string());
    assert_eq!(denial(srv.decide(&bearer("t1"), &rs())).status, 401);
    *p.introspection.lock().unwrap() = (200, "not json".into());
    assert_eq!(denial(srv.decide(&bearer("t2"), &rs())).status, 503);
    *p.introspection.lock().unwrap() = (500, "{}".into());
    assert_eq!(denial(srv.decide(&bearer("t3"), &rs())).status, 503);
}

#[test]
fn value_rendering_reaches_headers_without_control_characters() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let mut c = claims_at(NOW);
    c["evil"] = Value::String("a\r\nInjected: yes".into());
    let id = allowed(server(settings(), &p, NOW).decide(&bearer(&key.mint(&c)), &rs()));
    let v = header(&id, "OIDC-evil").unwrap();
    assert!(!v.contains('\r') && !v.contains('\n'), "{v:?}");
}

#[test]
fn a_repeated_token_reuses_its_render() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let srv = server(settings(), &p, NOW);
    let token = key.mint(&claims_at(NOW));
    let a = allowed(srv.decide(&bearer(&token), &rs()));
    let b = allowed(srv.decide(&bearer(&token).with_header("oidc_x", "spoof"), &rs()));
    assert!(Arc::ptr_eq(&a.rendered, &b.rendered));
    assert!(a.remove_headers.is_empty());
    assert_eq!(
        b.remove_headers,
        vec!["oidc_x".to_string()],
        "scrubbing is per request"
    );
    let mut other = rs();
    other.authn_header = Some("X-User");
    let c = allowed(srv.decide(&bearer(&token), &other));
    assert!(!Arc::ptr_eq(&a.rendered, &c.rendered));
    assert_eq!(c.rendered.header("X-User"), Some("alice"));
}

#[test]
fn cors_preflight_without_token_passes_with_an_empty_user() {
    let p = Provider::new(&[]);
    let srv = server(settings(), &p, NOW);
    let mut req = TestRequest::get().with_header("OIDC-sub", "spoofed");
    req.method = "OPTIONS".into();
    let id = allowed(srv.decide(&req, &rs()));
    assert_eq!(id.user(), "");
    assert!(id.rendered.headers.is_empty());
    assert_eq!(id.remove_headers, vec!["OIDC-sub".to_string()]);
    // A GET without a token is still refused.
    assert_eq!(denial(srv.decide(&TestRequest::get(), &rs())).status, 401);
}

#[test]
fn server_metadata_supplies_the_jwks_uri() {
    let key = TestKey::rsa(Some("k1"));
    let jwks_body = jwks(&[&key]);
    let metadata_calls = Arc::new(AtomicUsize::new(0));
    let calls = metadata_calls.clone();
    let http = Box::new(
        move |req: &HttpRequest| -> Result<HttpResponse, HttpError> {
            let body = if req.url == "https://as.example/.well-known/oauth-authorization-server" {
                calls.fetch_add(1, Ordering::SeqCst);
                json!({"issuer": "https://as.example", "jwks_uri": "https://as.example/keys"})
                    .to_string()
            } else if req.url == "https://as.example/keys" {
                jwks_body.clone()
            } else {
                return Ok(HttpResponse {
                    status: 404,
                    headers: vec![],
                    body: vec![],
                });
            };
            Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: body.into_bytes(),
            })
        },
    );
    let mut s = settings();
    s.jwks_uri = None;
    s.metadata_url = Some("https://as.example/.well-known/oauth-authorization-server".into());
    let srv = ResourceServer::with(s, http, Box::new(FixedClock::new(NOW)));
    let mut c2 = claims_at(NOW);
    c2["sub"] = json!("bob");
    allowed(srv.decide(&bearer(&key.mint(&claims_at(NOW))), &rs()));
    allowed(srv.decide(&bearer(&key.mint(&c2)), &rs()));
    assert_eq!(
        metadata_calls.load(Ordering::SeqCst),
        1,
        "metadata is cached"
    );
}

#[test]
fn strip_cookies_and_pass_access_token_settings() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let srv = server(settings(), &p, NOW);
    let token = key.mint(&claims_at(NOW));
    let strip = vec!["secret".to_string()];
    let mut s = rs();
    s.strip_cookies = &strip;
    s.pass_access_token = false;
    let req = bearer(&token).with_header("Cookie", "a=1; secret=x; b=2");
    let id = allowed(srv.decide(&req, &s));
    assert_eq!(id.cookie_header.as_deref(), Some("a=1; b=2"));
    assert_eq!(id.rendered.header("OIDC_access_token"), None);
    assert!(id.rendered.header("OIDC-sub").is_some());
    // the default location passes the token and leaves cookies alone
    let id = allowed(srv.decide(&req, &rs()));
    assert_eq!(id.cookie_header, None);
    assert_eq!(
        id.rendered.header("OIDC_access_token"),
        Some(token.as_str())
    );
}

// ---- level 2: the shared cache behind the per-process copies ----

type Write = (crate::deps::CacheSection, String, Vec<u8>, i64);

/// A cache that records every key and value written to it (what an operator would see in
/// Redis), over a MemoryCache.
struct Recording {
    inner: crate::cache::MemoryCache,
    writes: std::sync::Mutex<Vec<Write>>,
}

impl Recording {
    fn new() -> Arc<Recording> {
        Arc::new(Recording {
            inner: crate::cache::MemoryCache::new(100),
            writes: Default::default(),
        })
    }
    fn writes(&self) -> Vec<Write> {
        self.writes.lock().unwrap().clone()
    }
}

impl crate::deps::Cache for Recording {
    fn get(
        &self,
        section: crate::deps::CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<crate::deps::CacheEntry>, crate::deps::CacheError> {
        self.inner.get(section, key, now)
    }
    fn set(
        &self,
        section: crate::deps::CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<(), crate::deps::CacheError> {
        self.writes
            .lock()
            .unwrap()
            .push((section, key.to_string(), value.to_vec(), expires_at));
        self.inner.set(section, key, value, expires_at, now)
    }
    fn add(
        &self,
        section: crate::deps::CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, crate::deps::CacheError> {
        self.inner.add(section, key, value, expires_at, now)
    }
    fn remove(
        &self,
        section: crate::deps::CacheSection,
        key: &str,
    ) -> Result<(), crate::deps::CacheError> {
        self.inner.remove(section, key)
    }
    fn touch(
        &self,
        section: crate::deps::CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, crate::deps::CacheError> {
        self.inner.touch(section, key, expires_at, now)
    }
}

use crate::cache::DownCache;

fn shared_over(cache: Arc<dyn crate::deps::Cache>) -> SharedCache {
    SharedCache::new(cache, Arc::new(|_, _: &str| {}))
}

fn introspecting_provider() -> Arc<Provider> {
    let p = Provider::new(&[]);
    *p.introspection.lock().unwrap() = (
        200,
        json!({"active": true, "sub": "opaque-user", "exp": NOW + 600}).to_string(),
    );
    p
}

fn intro_settings() -> OAuthSettings {
    let mut s = settings();
    s.jwks_uri = None;
    s.introspection = Some(introspection_settings());
    s
}

#[test]
fn a_second_server_on_the_shared_cache_does_not_introspect_again() {
    let p = introspecting_provider();
    let rec = Recording::new();
    let shared = shared_over(rec.clone());
    let one = server(intro_settings(), &p, NOW).with_shared_cache(shared.clone());
    let two = server(intro_settings(), &p, NOW + 5).with_shared_cache(shared.clone());
    assert_eq!(
        allowed(one.decide(&bearer("opaque-token"), &rs())).user(),
        "opaque-user"
    );
    let id = allowed(two.decide(&bearer("opaque-token"), &rs()));
    assert_eq!(id.user(), "opaque-user");
    assert_eq!(header(&id, "OIDC-sub"), Some("opaque-user"));
    assert_eq!(p.introspection_calls.load(Ordering::SeqCst), 1);
    // Stored once, until the token's exp, under a hash (never the token).
    let writes = rec.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].0, crate::deps::CacheSection::AccessToken);
    assert_eq!(writes[0].3, NOW + 600);
    assert!(!writes[0].1.contains("opaque-token"));
    assert!(!String::from_utf8_lossy(&writes[0].2).contains("opaque-token"));
    // A third server with another introspection client does not take that result.
    let mut other = intro_settings();
    other.introspection.as_mut().unwrap().client_id = Some("another-rs".into());
    let three = server(other, &p, NOW + 6).with_shared_cache(shared.clone());
    allowed(three.decide(&bearer("opaque-token"), &rs()));
    assert_eq!(p.introspection_calls.load(Ordering::SeqCst), 2);
    // A shared result older than OIDCOAuthTokenIntrospectionInterval is not reused.
    let four = server(intro_settings(), &p, NOW + 60).with_shared_cache(shared);
    let mut interval = rs();
    interval.introspection_interval = 30;
    allowed(four.decide(&bearer("opaque-token"), &interval));
    assert_eq!(p.introspection_calls.load(Ordering::SeqCst), 3);
    // Interval -1 keeps nothing anywhere.
    let mut never = rs();
    never.introspection_interval = -1;
    let before = rec.writes().len();
    allowed(one.decide(&bearer("opaque-token-2"), &never));
    assert_eq!(rec.writes().len(), before);
}

#[test]
fn a_second_server_on_the_shared_cache_does_not_fetch_the_jwks_again() {
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let shared = shared_over(Arc::new(crate::cache::MemoryCache::new(10)));
    let one = server(settings(), &p, NOW).with_shared_cache(shared.clone());
    let two = server(settings(), &p, NOW + 5).with_shared_cache(shared);
    allowed(one.decide(&bearer(&key.mint(&claims_at(NOW))), &rs()));
    allowed(two.decide(&bearer(&key.mint(&claims_at(NOW))), &rs()));
    assert_eq!(p.jwks_calls.load(Ordering::SeqCst), 1);
    // Rotated keys: the unknown kid makes one server fetch; the other finds them shared.
    let rotated = TestKey::rsa(Some("k2"));
    *p.jwks.lock().unwrap() = jwks(&[&rotated]);
    allowed(one.decide(&bearer(&rotated.mint(&claims_at(NOW))), &rs()));
    assert_eq!(p.jwks_calls.load(Ordering::SeqCst), 2);
    allowed(two.decide(&bearer(&rotated.mint(&claims_at(NOW))), &rs()));
    assert_eq!(p.jwks_calls.load(Ordering::SeqCst), 2);
}

#[test]
fn oauth_metadata_comes_from_the_shared_cache() {
    let p = introspecting_provider();
    let intro_settings_meta = || {
        let mut s = intro_settings();
        s.introspection.as_mut().unwrap().endpoint = String::new();
        s.metadata_url = Some("https://op.example/meta".into());
        s
    };
    let metadata_calls = Arc::new(AtomicUsize::new(0));
    let client = |p: &Arc<Provider>| -> Box<dyn HttpClient> {
        let inner = p.client();
        let calls = metadata_calls.clone();
        Box::new(
            move |req: &HttpRequest| -> Result<HttpResponse, HttpError> {
                if req.url == "https://op.example/meta" {
                    calls.fetch_add(1, Ordering::SeqCst);
                    return Ok(HttpResponse {
                        status: 200,
                        headers: vec![],
                        body: json!({"introspection_endpoint": "https://op.example/introspect"})
                            .to_string()
                            .into_bytes(),
                    });
                }
                inner.send(req)
            },
        )
    };
    let rec = Recording::new();
    let shared = shared_over(rec.clone());
    let one = ResourceServer::with(
        intro_settings_meta(),
        client(&p),
        Box::new(FixedClock::new(NOW)),
    )
    .with_shared_cache(shared.clone());
    let two = ResourceServer::with(
        intro_settings_meta(),
        client(&p),
        Box::new(FixedClock::new(NOW)),
    )
    .with_shared_cache(shared);
    allowed(one.decide(&bearer("opaque-token"), &rs()));
    allowed(two.decide(&bearer("opaque-token"), &rs()));
    assert_eq!(metadata_calls.load(Ordering::SeqCst), 1);
    assert_eq!(p.introspection_calls.load(Ordering::SeqCst), 1);
    let meta = rec
        .writes()
        .into_iter()
        .find(|w| w.0 == crate::deps::CacheSection::OAuthMetadata)
        .expect("metadata stored");
    assert_eq!(meta.1, "https://op.example/meta");
    assert_eq!(meta.3, NOW + METADATA_CACHE_SECONDS);
}

#[test]
fn an_unavailable_shared_cache_falls_back_to_the_provider() {
    let p = introspecting_provider();
    let shared = shared_over(Arc::new(DownCache::default()));
    let one = server(intro_settings(), &p, NOW).with_shared_cache(shared.clone());
    let two = server(intro_settings(), &p, NOW).with_shared_cache(shared);
    allowed(one.decide(&bearer("opaque-token"), &rs()));
    allowed(two.decide(&bearer("opaque-token"), &rs()));
    assert_eq!(p.introspection_calls.load(Ordering::SeqCst), 2);
    // Level 1 still works.
    allowed(one.decide(&bearer("opaque-token"), &rs()));
    assert_eq!(p.introspection_calls.load(Ordering::SeqCst), 2);
    let key = TestKey::rsa(Some("k1"));
    let p = Provider::new(&[&key]);
    let jwt =
        server(settings(), &p, NOW).with_shared_cache(shared_over(Arc::new(DownCache::default())));
    allowed(jwt.decide(&bearer(&key.mint(&claims_at(NOW))), &rs()));
}

#[test]
fn encrypted_shared_values_hold_no_plaintext() {
    let p = introspecting_provider();
    let rec = Recording::new();
    let keys = Arc::new(crate::crypto::CryptoKeys::derive_with_iterations(
        "pass", None, 1,
    ));
    let sealed: Arc<dyn crate::deps::Cache> =
        Arc::new(crate::cache::EncryptedCache::new(rec.clone(), keys));
    let shared = shared_over(sealed);
    let one = server(intro_settings(), &p, NOW).with_shared_cache(shared.clone());
    let two = server(intro_settings(), &p, NOW).with_shared_cache(shared);
    allowed(one.decide(&bearer("opaque-token"), &rs()));
    allowed(two.decide(&bearer("opaque-token"), &rs()));
    assert_eq!(p.introspection_calls.load(Ordering::SeqCst), 1);
    let writes = rec.writes();
    assert_eq!(writes.len(), 1);
    let value = String::from_utf8_lossy(&writes[0].2);
    assert!(!value.contains("opaque-user"), "{value}");
    assert!(!writes[0].1.contains("opaque-token"));
}
