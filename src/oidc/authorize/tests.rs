use super::*;

const IT: u32 = 2;
const NOW: i64 = 1_700_000_000;
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120";

fn keys(pass: &str) -> CryptoKeys {
    CryptoKeys::derive_with_iterations(pass, None, IT)
}

const ST: &str = "st-0123456789";

fn record() -> StateRecord {
    StateRecord {
        state: ST.into(),
        original_url: "https://rp.example/mesos/a%20b?x=1&y=%C3%A9".into(),
        original_method: "GET".into(),
        nonce: "n-0S6_WzA2Mj".into(),
        pkce_verifier: Some("verifier-0123456789-0123456789-0123456789abc".into()),
        issuer: "https://op.example".into(),
        created_at: NOW,
        fingerprint: fingerprint(Some(UA), Some("203.0.113.7"), StateInputHeaders::Both),
        preserved_post: None,
    }
}

fn fp() -> String {
    record().fingerprint
}

// ---- state record ----

#[test]
fn state_round_trips() {
    let k = keys("secret");
    let sealed = seal_state(&k, &record()).unwrap();
    assert_eq!(
        open_state(&k, &sealed, ST, NOW + 10, 300, &fp()),
        Ok(record())
    );
}

#[test]
fn state_is_compact_json_inside() {
    let k = keys("secret");
    let sealed = seal_state(&k, &record()).unwrap();
    let json = crypto::open(&k, b"state", &sealed).unwrap();
    let text = String::from_utf8(json).unwrap();
    assert!(text.starts_with("{\"state\":"), "{text}");
    assert!(!text.contains(": "), "not compact: {text}");
}

#[test]
fn state_is_not_readable_in_the_cookie() {
    let sealed = seal_state(&keys("secret"), &record()).unwrap();
    assert!(!sealed.contains("mesos") && !sealed.contains("op.example"));
    // a fresh IV every time
    assert_ne!(sealed, seal_state(&keys("secret"), &record()).unwrap());
}

#[test]
fn tampered_state_is_refused() {
    let k = keys("secret");
    let sealed = seal_state(&k, &record()).unwrap();
    let mut bytes = sealed.clone().into_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert!(matches!(
        open_state(&k, &tampered, ST, NOW, 300, &fp()),
        Err(StateError::Unopenable(_))
    ));
    assert!(matches!(
        open_state(&k, &sealed[..sealed.len() - 1], ST, NOW, 300, &fp()),
        Err(StateError::Unopenable(_))
    ));
    assert!(matches!(
        open_state(&k, "", ST, NOW, 300, &fp()),
        Err(StateError::Unopenable(_))
    ));
    assert!(matches!(
        open_state(&k, "not base64 !", ST, NOW, 300, &fp()),
        Err(StateError::Unopenable(_))
    ));
}

#[test]
fn state_from_another_key_is_refused() {
    let sealed = seal_state(&keys("other"), &record()).unwrap();
    assert_eq!(
        open_state(&keys("secret"), &sealed, ST, NOW, 300, &fp()),
        Err(StateError::Unopenable(CryptoError::AuthenticationFailed))
    );
}

#[test]
fn value_sealed_for_another_context_is_refused() {
    // e.g. a session blob replayed as a state cookie
    let k = keys("secret");
    let json = serde_json::to_vec(&record()).unwrap();
    let sealed = crypto::seal(&k, b"session", &json).unwrap();
    assert_eq!(
        open_state(&k, &sealed, ST, NOW, 300, &fp()),
        Err(StateError::Unopenable(CryptoError::AuthenticationFailed))
    );
}

#[test]
fn sealed_non_record_is_malformed() {
    let k = keys("secret");
    for body in [
        &b"{}"[..],
        b"[1]",
        b"not json",
        br#"{"original_url":"x","original_method":"GET","nonce":"n","pkce_verifier":null,"issuer":"i","created_at":1,"fingerprint":"f","admin":true}"#,
    ] {
        let sealed = crypto::seal(&k, b"state", body).unwrap();
        assert_eq!(
            open_state(&k, &sealed, ST, 1, 300, "f"),
            Err(StateError::Malformed)
        );
    }
}

#[test]
fn expired_state_is_refused() {
    let k = keys("secret");
    let sealed = seal_state(&k, &record()).unwrap();
    // `now > created_at + timeout` is expired, equal is still fine (as the C module)
    assert!(open_state(&k, &sealed, ST, NOW + 300, 300, &fp()).is_ok());
    assert_eq!(
        open_state(&k, &sealed, ST, NOW + 301, 300, &fp()),
        Err(StateError::Expired)
    );
    assert_eq!(
        open_state(&k, &sealed, ST, NOW + 61, 60, &fp()),
        Err(StateError::Expired)
    );
    assert_eq!(DEFAULT_STATE_TIMEOUT, 300);
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let k = keys("secret");
    let mut r = record();
    r.created_at = i64::MAX;
    let sealed = seal_state(&k, &r).unwrap();
    assert!(open_state(&k, &sealed, ST, i64::MAX, i64::MAX, &r.fingerprint).is_ok());
    r.created_at = i64::MIN;
    let sealed = seal_state(&k, &r).unwrap();
    assert_eq!(
        open_state(&k, &sealed, ST, NOW, 300, &r.fingerprint),
        Err(StateError::Expired)
    );
    // a negative timeout refuses anything older than now
    let sealed = seal_state(&k, &record()).unwrap();
    assert_eq!(
        open_state(&k, &sealed, ST, NOW + 1, -5, &fp()),
        Err(StateError::Expired)
    );
}

#[test]
fn foreign_fingerprint_is_refused() {
    let k = keys("secret");
    let sealed = seal_state(&k, &record()).unwrap();
    let other_ua = fingerprint(
        Some("curl/8.0"),
        Some("203.0.113.7"),
        StateInputHeaders::Both,
    );
    assert_eq!(
        open_state(&k, &sealed, ST, NOW, 300, &other_ua),
        Err(StateError::FingerprintMismatch)
    );
    let other_ip = fingerprint(Some(UA), Some("198.51.100.1"), StateInputHeaders::Both);
    assert_eq!(
        open_state(&k, &sealed, ST, NOW, 300, &other_ip),
        Err(StateError::FingerprintMismatch)
    );
    assert_eq!(
        open_state(&k, &sealed, ST, NOW, 300, ""),
        Err(StateError::FingerprintMismatch)
    );
}

#[test]
fn state_errors_name_the_reason() {
    let all = [
        StateError::Seal(CryptoError::KeyUnavailable),
        StateError::Unopenable(CryptoError::Malformed),
        StateError::Malformed,
        StateError::Expired,
        StateError::FingerprintMismatch,
    ];
    let texts: Vec<String> = all.iter().map(|e| e.to_string()).collect();
    assert!(texts[0].contains("seal") && texts[3].contains("expired"));
    for (i, a) in texts.iter().enumerate() {
        assert!(texts[i + 1..].iter().all(|b| a != b));
    }
}

#[test]
fn errors_do_not_leak_contents() {
    let k = keys("secret");
    let sealed = seal_state(&k, &record()).unwrap();
    let e = open_state(&keys("x"), &sealed, ST, NOW, 300, &fp()).unwrap_err();
    assert!(!e.to_string().contains(&sealed));
}

// ---- fingerprint ----

#[test]
fn fingerprint_is_base64url_sha256() {
    let f = fingerprint(Some(UA), None, StateInputHeaders::Both);
    assert_eq!(f.len(), 43);
    assert!(
        f.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(f, fingerprint(Some(UA), None, StateInputHeaders::Both));
}

#[test]
fn fingerprint_both_uses_both_headers() {
    let m = StateInputHeaders::Both;
    let base = fingerprint(Some("a"), Some("1.1.1.1"), m);
    assert_ne!(base, fingerprint(Some("b"), Some("1.1.1.1"), m));
    assert_ne!(base, fingerprint(Some("a"), Some("2.2.2.2"), m));
    assert_eq!(StateInputHeaders::default(), StateInputHeaders::Both);
}

#[test]
fn fingerprint_user_agent_ignores_forwarded_for() {
    let m = StateInputHeaders::UserAgent;
    assert_eq!(
        fingerprint(Some("a"), Some("1.1.1.1"), m),
        fingerprint(Some("a"), Some("2.2.2.2"), m)
    );
    assert_ne!(
        fingerprint(Some("a"), None, m),
        fingerprint(Some("b"), None, m)
    );
}

#[test]
fn fingerprint_forwarded_for_ignores_user_agent() {
    let m = StateInputHeaders::XForwardedFor;
    assert_eq!(
        fingerprint(Some("a"), Some("1.1.1.1"), m),
        fingerprint(Some("b"), Some("1.1.1.1"), m)
    );
    assert_ne!(
        fingerprint(None, Some("1.1.1.1"), m),
        fingerprint(None, Some("2.2.2.2"), m)
    );
}

#[test]
fn fingerprint_none_is_constant() {
    let m = StateInputHeaders::None;
    assert_eq!(
        fingerprint(Some("a"), Some("1.1.1.1"), m),
        fingerprint(None, None, m)
    );
}

#[test]
fn fingerprint_uses_left_most_forwarded_for() {
    let m = StateInputHeaders::XForwardedFor;
    assert_eq!(
        fingerprint(None, Some("1.1.1.1, 10.0.0.1"), m),
        fingerprint(None, Some("1.1.1.1,10.0.0.2"), m)
    );
    assert_ne!(
        fingerprint(None, Some("1.1.1.1, 10.0.0.1"), m),
        fingerprint(None, Some("10.0.0.1, 1.1.1.1"), m)
    );
}

#[test]
fn fingerprint_fields_are_unambiguous() {
    let m = StateInputHeaders::Both;
    assert_ne!(fingerprint(Some(""), None, m), fingerprint(None, None, m));
    assert_ne!(
        fingerprint(Some("1.1.1.1"), None, m),
        fingerprint(None, Some("1.1.1.1"), m)
    );
}

#[test]
fn state_input_headers_parse() {
    assert_eq!(
        StateInputHeaders::parse("both"),
        Some(StateInputHeaders::Both)
    );
    assert_eq!(
        StateInputHeaders::parse("User-Agent"),
        Some(StateInputHeaders::UserAgent)
    );
    assert_eq!(
        StateInputHeaders::parse("x-forwarded-for"),
        Some(StateInputHeaders::XForwardedFor)
    );
    assert_eq!(
        StateInputHeaders::parse("none"),
        Some(StateInputHeaders::None)
    );
    assert_eq!(StateInputHeaders::parse("ua"), None);
    assert_eq!(StateInputHeaders::parse(""), None);
}

// ---- authorization URL ----

fn req() -> AuthRequest {
    AuthRequest {
        client_id: "mesos".into(),
        scope: "openid email profile".into(),
        redirect_uri: "http://localhost:8080/mesos/redirect_uri".into(),
        state: "st4te".into(),
        nonce: "n0nce".into(),
        pkce_challenge: None,
        extra: vec![],
    }
}

#[test]
fn authorization_url_in_reference_order() {
    assert_eq!(
        authorization_url("https://op.example/auth", &req()),
        "https://op.example/auth?response_type=code&scope=openid%20email%20profile&client_id=mesos\
         &state=st4te&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fmesos%2Fredirect_uri&nonce=n0nce"
    );
}

#[test]
fn authorization_url_with_pkce() {
    let mut r = req();
    r.pkce_challenge = Some((crypto::pkce_s256("v"), "S256"));
    let url = authorization_url("https://op.example/auth", &r);
    let tail = format!(
        "&nonce=n0nce&code_challenge={}&code_challenge_method=S256",
        crypto::pkce_s256("v")
    );
    assert!(url.ends_with(&tail), "{url}");
}

#[test]
fn authorization_url_extra_params_after_and_never_override() {
    let mut r = req();
    r.pkce_challenge = Some(("ch".into(), "S256"));
    r.extra = vec![
        ("prompt".into(), "login".into()),
        ("state".into(), "evil".into()),
        ("client_id".into(), "evil".into()),
        ("code_challenge_method".into(), "plain".into()),
        ("".into(), "x".into()),
        ("acr_values".into(), "urn:a b&c".into()),
    ];
    let url = authorization_url("https://op.example/auth", &r);
    assert!(
        url.ends_with(
            "&code_challenge=ch&code_challenge_method=S256&prompt=login&acr_values=urn%3Aa%20b%26c"
        ),
        "{url}"
    );
    assert!(!url.contains("evil") && !url.contains("plain"));
}

#[test]
fn authorization_url_endpoint_with_query() {
    let url = authorization_url("https://op.example/auth?tenant=x", &req());
    assert!(
        url.starts_with("https://op.example/auth?tenant=x&response_type=code&"),
        "{url}"
    );
    let url = authorization_url("https://op.example/auth?", &req());
    assert!(url.starts_with("https://op.example/auth?response_type=code&"));
    let url = authorization_url("https://op.example/auth?a=b&", &req());
    assert!(url.starts_with("https://op.example/auth?a=b&response_type=code&"));
}

#[test]
fn authorization_url_encodes_hostile_values() {
    let mut r = req();
    r.state = "a&nonce=x".into();
    r.client_id = "c#d e".into();
    let url = authorization_url("https://op.example/auth", &r);
    assert!(url.contains("&client_id=c%23d%20e&state=a%26nonce%3Dx&"));
    assert_eq!(url.matches("nonce=").count(), 1);
}

#[test]
fn parse_auth_request_params_decodes_and_copies() {
    let got = parse_auth_request_params("prompt=login&acr_values=urn%3Aa&&login_hint=#&x", |k| {
        (k == "login_hint").then(|| "alice@example".to_string())
    });
    assert_eq!(
        got,
        vec![
            ("prompt".to_string(), "login".to_string()),
            ("acr_values".to_string(), "urn:a".to_string()),
            ("login_hint".to_string(), "alice@example".to_string()),
            ("x".to_string(), String::new()),
        ]
    );
    assert!(parse_auth_request_params("login_hint=#", |_| None).is_empty());
    assert!(parse_auth_request_params("", |_| None).is_empty());
}

// ---- browser navigation: one test per COMPAT bullet ----

fn nav(h: &[(&str, &str)]) -> bool {
    let owned: Vec<(String, String)> = h
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    is_browser_navigation(move |name| {
        owned
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    })
}

#[test]
fn xml_http_request_gets_401() {
    assert!(!nav(&[("X-Requested-With", "XMLHttpRequest")]));
    assert!(!nav(&[
        ("X-Requested-With", "xmlhttprequest"),
        ("Accept", "text/html")
    ]));
}

#[test]
fn accept_json_alone_gets_401() {
    assert!(!nav(&[("Accept", "application/json")]));
}

#[test]
fn accept_json_with_sec_fetch_navigate_gets_401() {
    assert!(!nav(&[
        ("Accept", "application/json"),
        ("Sec-Fetch-Mode", "navigate")
    ]));
}

#[test]
fn sec_fetch_mode_cors_gets_401() {
    assert!(!nav(&[("Sec-Fetch-Mode", "cors")]));
}

#[test]
fn sec_fetch_mode_no_cors_gets_401() {
    assert!(!nav(&[("Sec-Fetch-Mode", "no-cors")]));
}

#[test]
fn sec_fetch_dest_empty_gets_401() {
    assert!(!nav(&[("Sec-Fetch-Dest", "empty")]));
}

#[test]
fn sec_fetch_dest_iframe_gets_401() {
    assert!(!nav(&[("Sec-Fetch-Dest", "iframe")]));
}

#[test]
fn no_special_headers_gets_302() {
    assert!(nav(&[]));
    assert!(nav(&[("User-Agent", "curl/8.0")]));
}

#[test]
fn accept_any_gets_302() {
    assert!(nav(&[("Accept", "*/*")]));
}

#[test]
fn accept_text_html_gets_302() {
    assert!(nav(&[(
        "Accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
    )]));
    assert!(nav(&[("Accept", "text/html")]));
    assert!(nav(&[("Accept", "application/xhtml+xml")]));
}

#[test]
fn accept_json_and_html_gets_302() {
    assert!(nav(&[("Accept", "application/json, text/html")]));
}

#[test]
fn sec_fetch_mode_navigate_gets_302() {
    assert!(nav(&[("Sec-Fetch-Mode", "navigate")]));
    // what Chromium sends on a top-level navigation
    assert!(nav(&[
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-Dest", "document"),
        ("Accept", "text/html,*/*;q=0.8")
    ]));
}

#[test]
fn accept_prefix_lookalikes_are_not_html() {
    assert!(!nav(&[("Accept", "text/htmlx")]));
    assert!(!nav(&[("Accept", "application/json, image/*")]));
    assert!(!nav(&[("Accept", "")]));
    assert!(nav(&[("Accept", "application/json;q=1, text/html;q=0.5")]));
}

// ---- cookies ----

#[test]
fn state_cookie_name_default_prefix() {
    assert_eq!(
        state_cookie_name(DEFAULT_STATE_COOKIE_PREFIX, "abc"),
        "mod_auth_openidc_state_abc"
    );
    assert_eq!(state_cookie_name("x_", "abc"), "x_abc");
}

#[test]
fn state_cookie_plain_http() {
    assert_eq!(
        state_cookie("mod_auth_openidc_state_abc", "v", false, None),
        "mod_auth_openidc_state_abc=v; Path=/; HttpOnly"
    );
}

#[test]
fn state_cookie_secure_and_same_site() {
    assert_eq!(
        state_cookie("n", "v", true, None),
        "n=v; Path=/; HttpOnly; Secure"
    );
    assert_eq!(
        state_cookie("n", "v", true, Some("Lax")),
        "n=v; Path=/; HttpOnly; Secure; SameSite=Lax"
    );
    assert_eq!(
        state_cookie("n", "v", false, Some("Strict")),
        "n=v; Path=/; HttpOnly; SameSite=Strict"
    );
}

#[test]
fn clear_cookie_matches_reference() {
    assert_eq!(
        clear_cookie("mod_auth_openidc_state_abc", "/"),
        "mod_auth_openidc_state_abc=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly"
    );
}

#[test]
fn state_record_is_bound_to_its_state_value() {
    let k = keys("secret");
    let sealed = seal_state(&k, &record()).unwrap();
    assert_eq!(
        open_state(&k, &sealed, "st-another", NOW, 300, &fp()),
        Err(StateError::StateMismatch)
    );
    assert!(open_state(&k, &sealed, ST, NOW, 300, &fp()).is_ok());
}
