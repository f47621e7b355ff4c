//! Tests named after the OpenID Foundation RP conformance modules (checklist section B) where one
//! applies, plus the discovery rules.

use serde_json::{Value, json};

use super::discovery::{self, DiscoveryError};
use super::id_token::{self, IdTokenError, IdTokenExpectations, allowed_algs};
use crate::deps::{HttpError, HttpRequest, HttpResponse};
use crate::jose::testkit::{NOW, TestKey, jwks, jwks_of};
use crate::jose::{Alg, JoseError, KeySet};
use crate::oauth::RemoteJwks;

const ISS: &str = "https://op.example.org";
const CLIENT: &str = "client1";
const NONCE: &str = "n-0S6_WzA2Mj";
const SECRET: &[u8] = b"a-client-secret-of-at-least-64-bytes-for-hs512-0123456789abcdefghij";

fn claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "alice",
        "aud": CLIENT,
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": NONCE,
    })
}

fn with(mut c: Value, name: &str, v: Value) -> Value {
    if let Value::Object(m) = &mut c {
        m.insert(name.into(), v);
    }
    c
}

fn without(mut c: Value, name: &str) -> Value {
    if let Value::Object(m) = &mut c {
        m.remove(name);
    }
    c
}

fn expect(algs: &[Alg]) -> IdTokenExpectations {
    IdTokenExpectations::new(ISS, CLIENT, NONCE, algs.to_vec())
}

fn keyset(keys: &[&TestKey]) -> KeySet {
    KeySet::from_jwks_json(jwks(keys).as_bytes()).unwrap()
}

fn check(token: &str, keys: &KeySet) -> Result<id_token::IdToken, IdTokenError> {
    id_token::validate(token, &expect(&[Alg::RS256]), keys, NOW)
}

fn rs() -> TestKey {
    TestKey::rsa(Some("k1"))
}

fn jose(e: JoseError) -> Result<(), IdTokenError> {
    Err(IdTokenError::Jose(e))
}

fn outcome(r: Result<id_token::IdToken, IdTokenError>) -> Result<(), IdTokenError> {
    r.map(|_| ())
}

/// Flip one bit in the middle of the signature part (stays valid base64url of the same length).
fn corrupt_signature(token: &str) -> String {
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut bytes = crate::jose::b64url_decode(sig).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    format!("{head}.{}", crate::jose::b64url_encode(&bytes))
}

// ---- ID token: conformance rows ----

#[test]
fn oidcc_client_test_idtoken_sig_rs256_accepted() {
    let k = rs();
    let t = check(&k.mint(&claims()), &keyset(&[&k])).unwrap();
    assert_eq!(t.sub, "alice");
    assert_eq!(t.iss, ISS);
    assert_eq!((t.exp, t.iat, t.alg), (NOW + 300, NOW, Alg::RS256));
    assert_eq!(t.kid.as_deref(), Some("k1"));
    assert_eq!(t.claims.get("nonce"), Some(&json!(NONCE)));
}

#[test]
fn oidcc_client_test_invalid_iss() {
    let k = rs();
    let t = k.mint(&with(claims(), "iss", json!("https://op.example.org/")));
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        jose(JoseError::IssuerMismatch)
    );
    let t = k.mint(&without(claims(), "iss"));
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        jose(JoseError::IssuerMismatch)
    );
}

#[test]
fn oidcc_client_test_missing_sub() {
    let k = rs();
    let ks = keyset(&[&k]);
    for c in [
        without(claims(), "sub"),
        with(claims(), "sub", json!("")),
        with(claims(), "sub", json!(42)),
    ] {
        assert_eq!(
            outcome(check(&k.mint(&c), &ks)),
            Err(IdTokenError::MissingSubject)
        );
    }
}

#[test]
fn oidcc_client_test_invalid_aud() {
    let k = rs();
    let t = k.mint(&with(claims(), "aud", json!("other-client")));
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        jose(JoseError::AudienceMismatch)
    );
}

#[test]
fn oidcc_client_test_missing_aud() {
    let k = rs();
    let t = k.mint(&without(claims(), "aud"));
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        jose(JoseError::MissingAudience)
    );
}

#[test]
fn oidcc_client_test_missing_iat() {
    let k = rs();
    let t = k.mint(&without(claims(), "iat"));
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        jose(JoseError::MissingIssuedAt)
    );
}

#[test]
fn oidcc_client_test_kid_absent_single_jwks() {
    let k = TestKey::rsa(None);
    let t = k.mint(&claims());
    assert!(!t.is_empty());
    check(&t, &keyset(&[&k])).unwrap();
}

#[test]
fn oidcc_client_test_kid_absent_multiple_jwks() {
    // Several keys without kid: every candidate is tried, the matching one verifies.
    let k0 = TestKey::rsa_n(0, None, Alg::RS256);
    let k1 = TestKey::rsa_n(1, None, Alg::RS256);
    let ks = keyset(&[&k1, &k0]);
    check(&k0.mint(&claims()), &ks).unwrap();
    // ... and a key that is not in the set still fails.
    let k2 = TestKey::rsa_n(2, None, Alg::RS256);
    assert_eq!(
        outcome(check(&k2.mint(&claims()), &ks)),
        jose(JoseError::BadSignature)
    );
}

#[test]
fn oidcc_client_test_idtoken_sig_none_refused() {
    let k = rs();
    let ks = keyset(&[&k]);
    for alg in ["none", "None", "NONE"] {
        let t = crate::jose::testkit::compact(
            json!({"alg": alg}).to_string().as_bytes(),
            claims().to_string().as_bytes(),
            b"",
        );
        let e = check(&t, &ks).unwrap_err();
        assert!(matches!(e, IdTokenError::Jose(_)), "{alg}: {e:?}");
    }
    // Even when the provider advertises "none", it never enters the allowlist.
    assert_eq!(
        allowed_algs(None, &["none".into(), "RS256".into()]),
        vec![Alg::RS256]
    );
}

#[test]
fn oidcc_client_test_invalid_sig_rs256() {
    let k = rs();
    let t = corrupt_signature(&k.mint(&claims()));
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        jose(JoseError::BadSignature)
    );
}

#[test]
fn oidcc_client_test_invalid_sig_es256() {
    let k = TestKey::ec(Alg::ES256, Some("e1"));
    let ks = keyset(&[&k]);
    let ex = expect(&[Alg::ES256]);
    id_token::validate(&k.mint(&claims()), &ex, &ks, NOW).unwrap();
    let t = corrupt_signature(&k.mint(&claims()));
    let e = id_token::validate(&t, &ex, &ks, NOW).unwrap_err();
    assert!(
        matches!(
            e,
            IdTokenError::Jose(JoseError::BadSignature | JoseError::MalformedSignature)
        ),
        "{e:?}"
    );
}

#[test]
fn oidcc_client_test_invalid_sig_hs256() {
    // The OP advertises HS256 only and keys the MAC with our client secret.
    let k = TestKey::hmac(SECRET, None, Alg::HS256);
    let mut ex = expect(&allowed_algs(None, &["HS256".into()]));
    ex.client_secret = Some(SECRET.to_vec());
    let empty = KeySet::new();
    id_token::validate(&k.mint(&claims()), &ex, &empty, NOW).unwrap();
    let t = corrupt_signature(&k.mint(&claims()));
    assert_eq!(
        outcome(id_token::validate(&t, &ex, &empty, NOW)),
        jose(JoseError::BadSignature)
    );
    // A header kid does not get in the way of the (kid-less) client secret.
    let k = TestKey::hmac(SECRET, Some("whatever"), Alg::HS256);
    id_token::validate(&k.mint(&claims()), &ex, &empty, NOW).unwrap();
    // Signed with another secret: refused.
    let other = TestKey::hmac(
        b"another-secret-another-secret-another-secret",
        None,
        Alg::HS256,
    );
    assert_eq!(
        outcome(id_token::validate(&other.mint(&claims()), &ex, &empty, NOW)),
        jose(JoseError::BadSignature)
    );
}

#[test]
fn hs256_without_client_secret_refused() {
    let k = TestKey::hmac(SECRET, None, Alg::HS256);
    let ex = expect(&[Alg::HS256]);
    assert_eq!(
        outcome(id_token::validate(
            &k.mint(&claims()),
            &ex,
            &KeySet::new(),
            NOW
        )),
        jose(JoseError::AlgNotAllowed)
    );
}

#[test]
fn hs256_with_client_secret_when_rs256_pinned_refused() {
    // OIDCIDTokenSignedResponseAlg RS256: a token MACed with the (known) client secret is refused.
    let k = TestKey::hmac(SECRET, None, Alg::HS256);
    let mut ex = expect(&allowed_algs(
        Some("RS256"),
        &["HS256".into(), "RS256".into()],
    ));
    ex.client_secret = Some(SECRET.to_vec());
    assert_eq!(ex.allowed_algs, vec![Alg::RS256]);
    assert_eq!(
        outcome(id_token::validate(
            &k.mint(&claims()),
            &ex,
            &keyset(&[&rs()]),
            NOW
        )),
        jose(JoseError::AlgNotAllowed)
    );
}

#[test]
fn es256_when_rs256_pinned_refused() {
    let k = TestKey::ec(Alg::ES256, Some("e1"));
    let ks = keyset(&[&k, &rs()]);
    assert_eq!(
        outcome(check(&k.mint(&claims()), &ks)),
        jose(JoseError::AlgNotAllowed)
    );
}

#[test]
fn oidcc_client_test_nonce_invalid() {
    let k = rs();
    let t = k.mint(&with(claims(), "nonce", json!("n-0S6_WzA2Mk")));
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        Err(IdTokenError::NonceMismatch)
    );
    let t = k.mint(&with(claims(), "nonce", json!("short")));
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        Err(IdTokenError::NonceMismatch)
    );
}

#[test]
fn nonce_missing_refused() {
    let k = rs();
    let ks = keyset(&[&k]);
    for c in [
        without(claims(), "nonce"),
        with(claims(), "nonce", json!("")),
        with(claims(), "nonce", json!(["n-0S6_WzA2Mj"])),
    ] {
        assert_eq!(
            outcome(check(&k.mint(&c), &ks)),
            Err(IdTokenError::MissingNonce)
        );
    }
}

#[test]
fn extra_aud_without_azp_refused() {
    let k = rs();
    let ks = keyset(&[&k]);
    let multi = with(claims(), "aud", json!([CLIENT, "other"]));
    assert_eq!(
        outcome(check(&k.mint(&multi), &ks)),
        jose(JoseError::AuthorizedPartyMismatch)
    );
    check(&k.mint(&with(multi.clone(), "azp", json!(CLIENT))), &ks).unwrap();
    assert_eq!(
        outcome(check(&k.mint(&with(multi, "azp", json!("other"))), &ks)),
        jose(JoseError::AuthorizedPartyMismatch)
    );
    // azp present with a single audience must still be our client_id.
    assert_eq!(
        outcome(check(&k.mint(&with(claims(), "azp", json!("other"))), &ks)),
        jose(JoseError::AuthorizedPartyMismatch)
    );
}

#[test]
fn expired_refused() {
    let k = rs();
    let ks = keyset(&[&k]);
    let t = k.mint(&with(claims(), "exp", json!(NOW - 60)));
    assert_eq!(outcome(check(&t, &ks)), jose(JoseError::Expired));
    let t = k.mint(&without(claims(), "exp"));
    assert_eq!(outcome(check(&t, &ks)), jose(JoseError::MissingExpiry));
    // Within the leeway it still passes.
    check(&k.mint(&with(claims(), "exp", json!(NOW - 5))), &ks).unwrap();
}

#[test]
fn iat_too_old_or_too_new_refused() {
    let k = rs();
    let ks = keyset(&[&k]);
    let t = k.mint(&with(claims(), "iat", json!(NOW - 601)));
    assert_eq!(outcome(check(&t, &ks)), jose(JoseError::IssuedTooLongAgo));
    check(&k.mint(&with(claims(), "iat", json!(NOW - 600))), &ks).unwrap();
    let t = k.mint(&with(claims(), "iat", json!(NOW + 601)));
    assert_eq!(outcome(check(&t, &ks)), jose(JoseError::IssuedInFuture));
    // A smaller configured slack.
    let mut ex = expect(&[Alg::RS256]);
    ex.iat_slack = 30;
    let t = k.mint(&with(claims(), "iat", json!(NOW - 31)));
    assert_eq!(
        outcome(id_token::validate(&t, &ex, &ks, NOW)),
        jose(JoseError::IssuedTooLongAgo)
    );
}

#[test]
fn oidcc_client_test_ignores_unparseable_key_in_jwks() {
    let k = rs();
    let doc = jwks_of(vec![
        json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq", "pub": "AAAA"}),
        json!({"kty": "made-up", "kid": "x"}),
        k.jwk(),
    ]);
    let ks = KeySet::from_jwks_json(doc.as_bytes()).unwrap();
    assert_eq!(ks.len(), 1);
    check(&k.mint(&claims()), &ks).unwrap();
}

#[test]
fn access_token_typ_refused() {
    let k = rs();
    let t = k.mint_with_header(json!({"typ": "at+jwt"}), &claims());
    assert_eq!(
        outcome(check(&t, &keyset(&[&k]))),
        jose(JoseError::TypeNotAccepted)
    );
}

#[test]
fn errors_do_not_echo_token_contents() {
    let k = rs();
    let t = k.mint(&with(claims(), "nonce", json!("SECRET-NONCE-VALUE")));
    let e = check(&t, &keyset(&[&k])).unwrap_err().to_string();
    assert!(!e.contains("SECRET"), "{e}");
    assert_eq!(e, "invalid ID token: nonce does not match");
}

#[test]
fn debug_hides_client_secret() {
    let mut ex = expect(&[Alg::HS256]);
    ex.client_secret = Some(b"hunter2-hunter2".to_vec());
    let d = format!("{ex:?}");
    assert!(!d.contains("hunter2") && d.contains("redacted"), "{d}");
}

#[test]
fn allowed_algs_rules() {
    assert_eq!(allowed_algs(None, &[]), vec![Alg::RS256]);
    assert_eq!(
        allowed_algs(None, &["ES256".into(), "RS256".into(), "ES256".into()]),
        vec![Alg::ES256, Alg::RS256]
    );
    assert_eq!(
        allowed_algs(Some("PS256"), &["RS256".into()]),
        vec![Alg::PS256]
    );
    assert!(allowed_algs(Some("none"), &["RS256".into()]).is_empty());
    assert!(allowed_algs(None, &["none".into()]).is_empty());
}

// ---- signing-key rotation through RemoteJwks ----

#[test]
fn oidcc_client_test_signing_key_rotation_just_before_signing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let old = TestKey::rsa_n(0, Some("old"), Alg::RS256);
    let new = TestKey::rsa_n(1, Some("new"), Alg::RS256);
    let calls = AtomicUsize::new(0);
    let first = jwks(&[&old]);
    let second = jwks(&[&old, &new]);
    let http = |_: &HttpRequest| -> Result<HttpResponse, HttpError> {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: if n == 0 { &first } else { &second }.as_bytes().to_vec(),
        })
    };
    let remote = RemoteJwks::new(
        "https://op.example.org/jwks".into(),
        3600,
        crate::cache::SharedCache::none(),
    );
    let ex = expect(&[Alg::RS256]);
    id_token::validate_with_jwks(&old.mint(&claims()), &ex, &remote, &http, NOW).unwrap();
    id_token::validate_with_jwks(&new.mint(&claims()), &ex, &remote, &http, NOW).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // A random kid refetches at most once per interval, then fails with UnknownKid.
    let stranger = TestKey::rsa_n(2, Some("stranger"), Alg::RS256);
    let e = id_token::validate_with_jwks(&stranger.mint(&claims()), &ex, &remote, &http, NOW)
        .unwrap_err();
    assert!(e.is_unknown_kid(), "{e:?}");
}

// ---- discovery ----

const DISCOVERY_URL: &str = "https://op.example.org/.well-known/openid-configuration";

fn metadata() -> Value {
    json!({
        "issuer": ISS,
        "authorization_endpoint": "https://op.example.org/authorize",
        "token_endpoint": "https://op.example.org/token",
        "userinfo_endpoint": "https://op.example.org/userinfo",
        "jwks_uri": "https://op.example.org/jwks",
        "end_session_endpoint": "https://op.example.org/logout",
        "introspection_endpoint": "https://op.example.org/introspect",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "id_token_signing_alg_values_supported": ["RS256", "none"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
    })
}

fn parse(
    doc: &Value,
    expected: Option<&str>,
) -> Result<discovery::ProviderMetadata, DiscoveryError> {
    discovery::parse(doc.to_string().as_bytes(), DISCOVERY_URL, expected)
}

#[test]
fn oidcc_client_test_discovery_openid_config() {
    let m = parse(&metadata(), Some(ISS)).unwrap();
    assert_eq!(m.issuer, ISS);
    assert_eq!(m.authorization_endpoint, "https://op.example.org/authorize");
    assert_eq!(m.token_endpoint, "https://op.example.org/token");
    assert_eq!(
        m.userinfo_endpoint.as_deref(),
        Some("https://op.example.org/userinfo")
    );
    assert_eq!(m.jwks_uri.as_deref(), Some("https://op.example.org/jwks"));
    assert_eq!(
        m.end_session_endpoint.as_deref(),
        Some("https://op.example.org/logout")
    );
    assert_eq!(
        m.introspection_endpoint.as_deref(),
        Some("https://op.example.org/introspect")
    );
    assert_eq!(
        m.token_endpoint_auth_methods_supported,
        ["client_secret_basic", "private_key_jwt"]
    );
    assert_eq!(m.id_token_signing_alg_values_supported, ["RS256", "none"]);
    assert_eq!(m.response_types_supported, ["code"]);
    assert_eq!(m.code_challenge_methods_supported, ["S256"]);
    // Without a configured issuer the document must belong to the discovery URL.
    assert_eq!(parse(&metadata(), None).unwrap(), m);
    assert_eq!(
        discovery::discovery_url_for("https://op.example.org/"),
        DISCOVERY_URL
    );
    // Optional members may be absent.
    let mut doc = metadata();
    for name in [
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "introspection_endpoint",
        "code_challenge_methods_supported",
    ] {
        doc = without(doc, name);
    }
    let m = parse(&doc, Some(ISS)).unwrap();
    assert!(m.jwks_uri.is_none() && m.code_challenge_methods_supported.is_empty());
}

#[test]
fn oidcc_client_test_discovery_issuer_mismatch() {
    let doc = with(metadata(), "issuer", json!("https://evil.example.org"));
    assert_eq!(parse(&doc, Some(ISS)), Err(DiscoveryError::IssuerMismatch));
    assert_eq!(parse(&doc, None), Err(DiscoveryError::IssuerMismatch));
    // Exact comparison: a trailing slash is a different issuer.
    let doc = with(metadata(), "issuer", json!("https://op.example.org/"));
    assert_eq!(parse(&doc, Some(ISS)), Err(DiscoveryError::IssuerMismatch));
    assert_eq!(
        parse(&without(metadata(), "issuer"), Some(ISS)),
        Err(DiscoveryError::Missing("issuer"))
    );
    assert_eq!(
        parse(&with(metadata(), "issuer", json!(["x"])), Some(ISS)),
        Err(DiscoveryError::Malformed("issuer"))
    );
}

#[test]
fn discovery_http_non_loopback_refused() {
    for name in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "introspection_endpoint",
    ] {
        let doc = with(metadata(), name, json!("http://op.example.org/x"));
        assert_eq!(
            parse(&doc, Some(ISS)),
            Err(DiscoveryError::InsecureUrl(name)),
            "{name}"
        );
        let doc = with(metadata(), name, json!("/relative"));
        assert_eq!(
            parse(&doc, Some(ISS)),
            Err(DiscoveryError::Malformed(name)),
            "{name}"
        );
    }
    let http_iss = "http://op.example.org";
    let doc = with(metadata(), "issuer", json!(http_iss));
    assert_eq!(
        parse(&doc, Some(http_iss)),
        Err(DiscoveryError::InsecureUrl("issuer"))
    );
}

#[test]
fn discovery_http_loopback_allowed() {
    let iss = "http://127.0.0.1:8080";
    let mut doc = with(metadata(), "issuer", json!(iss));
    doc = with(doc, "token_endpoint", json!("http://localhost:8080/token"));
    doc = with(doc, "jwks_uri", json!("http://[::1]:8080/jwks"));
    let m = discovery::parse(
        doc.to_string().as_bytes(),
        "http://127.0.0.1:8080/.well-known/openid-configuration",
        None,
    )
    .unwrap();
    assert_eq!(m.issuer, iss);
}

#[test]
fn discovery_required_members() {
    for name in ["authorization_endpoint", "token_endpoint"] {
        assert_eq!(
            parse(&without(metadata(), name), Some(ISS)),
            Err(DiscoveryError::Missing(name))
        );
    }
    assert_eq!(
        parse(
            &with(metadata(), "response_types_supported", json!("code")),
            Some(ISS)
        ),
        Err(DiscoveryError::Malformed("response_types_supported"))
    );
    assert_eq!(
        parse(
            &with(
                metadata(),
                "id_token_signing_alg_values_supported",
                json!(["RS256", 1])
            ),
            Some(ISS)
        ),
        Err(DiscoveryError::Malformed(
            "id_token_signing_alg_values_supported"
        ))
    );
    assert_eq!(
        parse(
            &with(metadata(), "issuer", json!("https://op.example.org?x=1")),
            Some("https://op.example.org?x=1")
        ),
        Err(DiscoveryError::Malformed("issuer"))
    );
}

#[test]
fn discovery_document_shape() {
    for bad in [&b"[]"[..], b"\"x\"", b"not json", b"{\"issuer\":"] {
        assert_eq!(
            discovery::parse(bad, DISCOVERY_URL, Some(ISS)),
            Err(DiscoveryError::NotJsonObject)
        );
    }
    let mut big = metadata().to_string().into_bytes();
    big.pop();
    big.extend_from_slice(b",\"pad\":\"");
    big.resize(discovery::MAX_DISCOVERY_DOCUMENT + 10, b'a');
    big.extend_from_slice(b"\"}");
    assert_eq!(
        discovery::parse(&big, DISCOVERY_URL, Some(ISS)),
        Err(DiscoveryError::TooLarge)
    );
}

#[test]
fn discovery_fetch() {
    let body = metadata().to_string();
    let http = |req: &HttpRequest| -> Result<HttpResponse, HttpError> {
        assert_eq!(req.url, DISCOVERY_URL);
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        })
    };
    let m = discovery::fetch(&http, DISCOVERY_URL, Some(ISS)).unwrap();
    assert_eq!(m.issuer, ISS);

    let down = |_: &HttpRequest| -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse {
            status: 404,
            headers: vec![],
            body: vec![],
        })
    };
    assert!(matches!(
        discovery::fetch(&down, DISCOVERY_URL, Some(ISS)),
        Err(DiscoveryError::Unavailable(_))
    ));
    let never = |_: &HttpRequest| -> Result<HttpResponse, HttpError> {
        panic!("must not be called for an insecure discovery URL")
    };
    assert_eq!(
        discovery::fetch(
            &never,
            "http://op.example.org/.well-known/openid-configuration",
            None
        ),
        Err(DiscoveryError::InsecureUrl("discovery URL"))
    );
}
