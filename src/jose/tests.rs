//! The JWT attack catalogue (security-checklists.md section C), one test per row (`cNN_...`), plus the
//! OpenID conformance RP modules about signatures and key selection (`conf_...`) and happy paths.

use std::sync::atomic::{AtomicUsize, Ordering};

use openssl::bn::{BigNum, BigNumContext};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{MessageDigest, hash};
use openssl::pkey::PKey;
use openssl::rsa::{Padding, Rsa};
use serde_json::{Value, json};

use super::testkit::{NOW, TestKey, claims_at, compact, jwks, jwks_of};
use super::*;

const AUD: &str = "https://rs.example.org";
const ISS: &str = "https://op.example.org";

fn keyset(keys: &[&TestKey]) -> KeySet {
    KeySet::from_jwks_json(jwks(keys).as_bytes()).expect("jwks")
}

fn parse(t: &str) -> Result<ParsedJws, JoseError> {
    parse_compact(t, DEFAULT_MAX_TOKEN_LEN)
}

fn verify(t: &str, ks: &KeySet) -> Result<(), JoseError> {
    verify_signature(&parse(t)?, ks)
}

fn policy() -> ClaimsPolicy {
    let mut p = ClaimsPolicy::new(NOW);
    p.audiences = Some(vec![AUD.to_owned()]);
    p.issuer = Some(ISS.to_owned());
    p
}

/// The whole pipeline as a bearer-token check would run it.
fn full(t: &str, ks: &KeySet) -> Result<(), JoseError> {
    let jws = parse(t)?;
    verify_signature(&jws, ks)?;
    validate_claims(&jws.claims, &policy())
}

fn claims() -> Value {
    claims_at(NOW)
}

fn claims_with(extra: Value) -> Value {
    let mut c = claims();
    if let (Value::Object(m), Value::Object(e)) = (&mut c, extra) {
        m.extend(e);
    }
    c
}

fn claims_without(name: &str) -> Value {
    let mut c = claims();
    if let Value::Object(m) = &mut c {
        m.shift_remove(name);
    }
    c
}

fn map(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn parts(t: &str) -> (String, String, String) {
    let v: Vec<&str> = t.split('.').collect();
    assert_eq!(v.len(), 3);
    (v[0].to_owned(), v[1].to_owned(), v[2].to_owned())
}

/// Flip one bit of the signature (the "invalid-sig" conformance tests).
fn corrupt_sig(t: &str) -> String {
    let (h, p, s) = parts(t);
    let mut sig = b64url_decode(&s).unwrap();
    let mid = sig.len() / 2;
    sig[mid] ^= 0x01;
    format!("{h}.{p}.{}", b64url_encode(&sig))
}

fn with_sig(t: &str, sig: &[u8]) -> String {
    let (h, p, _) = parts(t);
    format!("{h}.{p}.{}", b64url_encode(sig))
}

/// Header/payload as raw JSON texts, signed by `key`.
fn raw(key: &TestKey, header: &str, payload: &str) -> String {
    key.sign_raw(header.as_bytes(), payload.as_bytes())
}

static TMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_file(contents: &[u8]) -> std::path::PathBuf {
    let n = TMP_COUNTER.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("jose-test-{}-{n}.pem", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

// ------------------------------------------------------------------------------------------------
// Happy paths: every algorithm verifies, and a corrupted signature does not.

fn all_signing_keys() -> Vec<TestKey> {
    vec![
        TestKey::rsa_n(0, Some("rs256"), Alg::RS256),
        TestKey::rsa_n(0, Some("rs384"), Alg::RS384),
        TestKey::rsa_n(0, Some("rs512"), Alg::RS512),
        TestKey::rsa_n(1, Some("ps256"), Alg::PS256),
        TestKey::rsa_n(1, Some("ps384"), Alg::PS384),
        TestKey::rsa_n(1, Some("ps512"), Alg::PS512),
        TestKey::ec(Alg::ES256, Some("es256")),
        TestKey::ec(Alg::ES384, Some("es384")),
        TestKey::ec(Alg::ES512, Some("es512")),
        TestKey::ed25519(Some("ed")),
        TestKey::hmac(&[7u8; 32], Some("hs256"), Alg::HS256),
        TestKey::hmac(&[8u8; 48], Some("hs384"), Alg::HS384),
        TestKey::hmac(&[9u8; 64], Some("hs512"), Alg::HS512),
    ]
}

fn keyset_for(keys: &[TestKey]) -> KeySet {
    let mut ks = KeySet::new();
    for k in keys {
        let jwk = k.jwk();
        ks.push(Jwk::from_jwk_json(jwk.as_object().unwrap(), true).expect("jwk"));
    }
    ks
}

#[test]
fn every_alg_verifies_and_corruption_fails() {
    let keys = all_signing_keys();
    let ks = keyset_for(&keys);
    assert_eq!(ks.len(), 13);
    for k in &keys {
        let t = k.mint(&claims());
        let jws = parse(&t).unwrap();
        assert_eq!(jws.alg, k.alg);
        assert_eq!(jws.kid.as_deref(), k.kid.as_deref());
        assert_eq!(jws.typ.as_deref(), Some("JWT"));
        assert_eq!(verify_signature(&jws, &ks), Ok(()), "{}", k.alg);
        assert_eq!(validate_claims(&jws.claims, &policy()), Ok(()));
        assert_eq!(
            verify(&corrupt_sig(&t), &ks),
            Err(JoseError::BadSignature),
            "{}",
            k.alg
        );
        // Without kid, every candidate is tried and the right one found.
        let anon = k.with_kid(None);
        assert_eq!(verify(&anon.mint(&claims()), &ks), Ok(()), "{}", k.alg);
    }
}

#[test]
fn alg_names_round_trip() {
    for a in Alg::ALL {
        assert_eq!(Alg::from_name(a.name()), Some(a));
    }
}

#[test]
fn parsed_token_exposes_parts_in_order() {
    let k = TestKey::rsa(Some("k1"));
    let t = k.mint(&claims());
    let jws = parse(&t).unwrap();
    let keys: Vec<&str> = jws.claims.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["iss", "sub", "aud", "client_id", "iat", "exp", "jti"]
    );
    let (h, p, s) = parts(&t);
    assert_eq!(jws.signing_input(), format!("{h}.{p}"));
    assert_eq!(jws.signature(), b64url_decode(&s).unwrap().as_slice());
    assert_eq!(jws.payload_json(), claims().to_string().as_bytes());
}

#[test]
fn error_texts_are_header_safe() {
    let errors = [
        JoseError::TokenTooLarge,
        JoseError::UnknownKid,
        JoseError::BadSignature,
        JoseError::Expired,
        JoseError::config("bad \"file\"\n\u{1b}[31m"),
    ];
    for e in errors {
        let s = e.to_string();
        assert!(!s.is_empty());
        assert!(!s.contains('"') && !s.contains('\\'), "{s}");
        assert!(!s.chars().any(char::is_control), "{s}");
    }
}

// ------------------------------------------------------------------------------------------------
// Section C rows.

#[test]
fn c01_alg_none_rejected() {
    let k = TestKey::rsa(None);
    let ks = keyset(&[&k]);
    assert_eq!(Alg::from_name("none"), None);
    let payload = claims().to_string();
    // Classic unsecured JWT with an empty signature part.
    let unsecured = format!(
        "{}.{}.",
        b64url_encode(br#"{"alg":"none"}"#),
        b64url_encode(payload.as_bytes())
    );
    assert!(parse(&unsecured).is_err());
    // And with some signature bytes so the empty-signature check is not what stops it.
    let t = compact(br#"{"alg":"none","typ":"JWT"}"#, payload.as_bytes(), b"x");
    assert_eq!(parse(&t).err(), Some(JoseError::AlgNotAllowed));
    // No alg at all, or a non-string alg.
    let t = compact(br#"{"typ":"JWT"}"#, payload.as_bytes(), b"x");
    assert_eq!(parse(&t).err(), Some(JoseError::MissingAlg));
    let t = compact(br#"{"alg":null}"#, payload.as_bytes(), b"x");
    assert_eq!(parse(&t).err(), Some(JoseError::MissingAlg));
    let t = compact(br#"{"alg":["RS256"]}"#, payload.as_bytes(), b"x");
    assert_eq!(parse(&t).err(), Some(JoseError::MissingAlg));
    // The legit key still works (the set is fine, the token is not).
    assert_eq!(verify(&k.mint(&claims()), &ks), Ok(()));
}

#[test]
fn c02_alg_case_tricks_rejected() {
    let payload = claims().to_string();
    for name in [
        "nOnE", "None", "NONE", "none ", "rs256", "Rs256", "RS256 ", " RS256", "hs256", "eddsa",
        "ES256K", "RS1", "",
    ] {
        assert_eq!(Alg::from_name(name), None, "{name}");
        let header = json!({"alg": name}).to_string();
        let t = compact(header.as_bytes(), payload.as_bytes(), b"sig");
        assert_eq!(parse(&t).err(), Some(JoseError::AlgNotAllowed), "{name}");
    }
    // A NUL after the name is not the name.
    let t = compact(br#"{"alg":"RS256\u0000"}"#, payload.as_bytes(), b"sig");
    assert_eq!(parse(&t).err(), Some(JoseError::AlgNotAllowed));
}

#[test]
fn c03_rs256_to_hs256_confusion_rejected() {
    let rsa = TestKey::rsa(Some("rsa1"));
    let ks = keyset(&[&rsa]);
    let pkey = rsa.pkey().unwrap();
    let pem = pkey.public_key_to_pem().unwrap();
    let der = pkey.public_key_to_der().unwrap();
    let n = pkey.rsa().unwrap().n().to_vec();
    let jwk_text = rsa.jwk().to_string().into_bytes();
    for secret in [pem, der, n, jwk_text] {
        for kid in [Some("rsa1"), None] {
            let forger = TestKey::hmac(&secret, kid, Alg::HS256);
            let t = forger.mint(&claims());
            assert_eq!(verify(&t, &ks), Err(JoseError::NoSuitableKey));
        }
    }
    // A JWKS cannot smuggle in an HMAC key: oct keys from a JWKS are skipped.
    let oct = TestKey::hmac(&[1u8; 32], Some("oct"), Alg::HS256);
    let (set, skipped) = KeySet::from_jwks_json_report(jwks(&[&rsa, &oct]).as_bytes()).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].kid.as_deref(), Some("oct"));
    assert_eq!(
        verify(&oct.mint(&claims()), &set),
        Err(JoseError::UnknownKid)
    );
    // With a configured shared key next to the RSA key, the RSA-as-secret forgery still fails.
    let mut mixed = keyset(&[&rsa]);
    mixed.extend(KeySet::from_shared_key_spec("an-unrelated-shared-secret-of-32+bytes").unwrap());
    let forger = TestKey::hmac(&rsa.public_pem().into_bytes(), None, Alg::HS256);
    assert_eq!(
        verify(&forger.mint(&claims()), &mixed),
        Err(JoseError::BadSignature)
    );
}

#[test]
fn c04_alg_substitution_within_family_rejected() {
    // A key bound to RS256 does not verify PS256, even when the PS256 signature is genuine.
    let k = TestKey::rsa(Some("k1"));
    let bound =
        KeySet::from_jwks_json(jwks_of(vec![k.jwk_with(json!({"alg": "RS256"}))]).as_bytes())
            .unwrap();
    assert_eq!(verify(&k.mint(&claims()), &bound), Ok(()));
    for alg in [Alg::PS256, Alg::RS384, Alg::RS512, Alg::PS512] {
        let t = k.with_alg(alg).mint(&claims());
        assert_eq!(verify(&t, &bound), Err(JoseError::NoSuitableKey), "{alg}");
    }
    // Per-issuer allowlist: the configured/registered alg pins the family member.
    let unbound = keyset(&[&k]);
    let ps = k.with_alg(Alg::PS256).mint(&claims());
    assert_eq!(
        verify_signature_with_algs(&parse(&ps).unwrap(), &unbound, Some(&[Alg::RS256])),
        Err(JoseError::AlgNotAllowed)
    );
    assert_eq!(
        verify_signature_with_algs(
            &parse(&k.mint(&claims())).unwrap(),
            &unbound,
            Some(&[Alg::RS256])
        ),
        Ok(())
    );
    // ES256 -> ES384: a P-256 key never verifies ES384/ES512 (curve is bound to the alg).
    let ec = TestKey::ec(Alg::ES256, Some("ec"));
    let ecs = keyset(&[&ec]);
    let t = ec.mint(&claims());
    assert_eq!(verify(&t, &ecs), Ok(()));
    let (_, p, s) = parts(&t);
    for alg in ["ES384", "ES512"] {
        let h = b64url_encode(json!({"alg": alg, "kid": "ec"}).to_string().as_bytes());
        let relabelled = format!("{h}.{p}.{s}");
        assert_eq!(
            verify(&relabelled, &ecs),
            Err(JoseError::MalformedSignature),
            "{alg}"
        );
    }
    // Even a well-formed ES384 signature by the P-256 key finds no suitable key.
    let mut sig = ec.sign_bytes(Alg::ES384, b"x");
    sig.resize(96, 1);
    let h = b64url_encode(br#"{"alg":"ES384","kid":"ec"}"#);
    let t = format!("{h}.{p}.{}", b64url_encode(&sig));
    assert_eq!(verify(&t, &ecs), Err(JoseError::NoSuitableKey));
}

#[test]
fn c05_embedded_jwk_header_ignored() {
    let legit = TestKey::rsa_n(0, Some("legit"), Alg::RS256);
    let attacker = TestKey::rsa_n(2, None, Alg::RS256);
    let ks = keyset(&[&legit]);
    let evil_jwk = attacker.jwk();
    for kid in [None, Some("legit")] {
        let t = attacker
            .with_kid(kid)
            .mint_with_header(json!({"jwk": evil_jwk}), &claims());
        assert_eq!(verify(&t, &ks), Err(JoseError::BadSignature));
    }
    // An EC attacker key embedded as jwk, no matching key type in the set.
    let ec_attacker = TestKey::ec(Alg::ES256, None);
    let t = ec_attacker.mint_with_header(json!({"jwk": ec_attacker.jwk()}), &claims());
    assert_eq!(verify(&t, &ks), Err(JoseError::NoSuitableKey));
    // The header member itself is harmless: a legit token carrying it still verifies.
    let t = legit.mint_with_header(json!({"jwk": evil_jwk}), &claims());
    assert_eq!(verify(&t, &ks), Ok(()));
}

#[test]
fn c06_jku_x5u_headers_ignored() {
    let legit = TestKey::rsa_n(0, Some("legit"), Alg::RS256);
    let attacker = TestKey::rsa_n(2, Some("legit"), Alg::RS256);
    let ks = keyset(&[&legit]);
    for extra in [
        json!({"jku": "https://attacker.example/jwks.json"}),
        json!({"x5u": "https://attacker.example/cert.pem"}),
        json!({"jku": "file:///etc/passwd", "x5u": "http://169.254.169.254/"}),
    ] {
        let t = attacker.mint_with_header(extra.clone(), &claims());
        assert_eq!(verify(&t, &ks), Err(JoseError::BadSignature));
        let t = attacker
            .with_kid(Some("attacker"))
            .mint_with_header(extra, &claims());
        assert_eq!(verify(&t, &ks), Err(JoseError::UnknownKid));
    }
}

#[test]
fn c07_x5c_header_ignored() {
    let legit = TestKey::rsa_n(0, Some("legit"), Alg::RS256);
    let attacker = TestKey::rsa_n(2, None, Alg::RS256);
    let ks = keyset(&[&legit]);
    let chain = json!({"x5c": [attacker.cert_x5c()]});
    let t = attacker.mint_with_header(chain.clone(), &claims());
    assert_eq!(verify(&t, &ks), Err(JoseError::BadSignature));
    let t = attacker
        .with_kid(Some("legit"))
        .mint_with_header(chain, &claims());
    assert_eq!(verify(&t, &ks), Err(JoseError::BadSignature));
}

#[test]
fn c08_kid_injection_treated_as_opaque() {
    let legit = TestKey::rsa(Some("legit"));
    let ks = keyset(&[&legit]);
    for kid in [
        "../../../../../../dev/null",
        "/etc/passwd",
        "' OR '1'='1",
        "legit' --",
        "|| rm -rf / ;",
        "$(id)",
        "*",
        "legit\u{0000}",
        "LEGIT",
        " legit",
        "",
    ] {
        let t = legit.with_kid(Some(kid)).mint(&claims());
        let err = verify(&t, &ks).unwrap_err();
        assert_eq!(err, JoseError::UnknownKid, "{kid:?}");
        // The error text never echoes the kid.
        if !kid.trim().is_empty() {
            assert!(!err.to_string().contains(kid.trim()), "{kid:?}");
        }
    }
    // A non-string kid is malformed, not looked up.
    for bad in [
        json!(1),
        json!(["legit"]),
        json!({"kid": "legit"}),
        Value::Null,
    ] {
        let t = legit.sign(&json!({"alg": "RS256", "kid": bad}), &claims());
        assert_eq!(parse(&t).err(), Some(JoseError::BadHeaderParameter));
    }
}

#[test]
fn c09_unknown_absent_duplicate_kid() {
    let a = TestKey::rsa_n(0, Some("a"), Alg::RS256);
    let b = TestKey::rsa_n(1, Some("b"), Alg::RS256);
    let ks = keyset(&[&a, &b]);
    // Unknown kid: the one error after which the caller may refetch.
    let err = verify(&a.with_kid(Some("c")).mint(&claims()), &ks).unwrap_err();
    assert!(err.is_unknown_kid());
    assert!(!ks.has_kid("c") && ks.has_kid("a") && ks.has_kid("b"));
    // Absent kid, one key.
    let single = keyset(&[&a.with_kid(None)]);
    assert_eq!(verify(&a.with_kid(None).mint(&claims()), &single), Ok(()));
    // Absent kid, several keys: all candidates are tried.
    assert_eq!(verify(&b.with_kid(None).mint(&claims()), &ks), Ok(()));
    let stranger = TestKey::rsa_n(2, None, Alg::RS256);
    assert_eq!(
        verify(&stranger.mint(&claims()), &ks),
        Err(JoseError::BadSignature)
    );
    // Known kid but signed by another key: a bad signature, not a reason to refetch.
    assert_eq!(
        verify(&stranger.with_kid(Some("a")).mint(&claims()), &ks),
        Err(JoseError::BadSignature)
    );
    // Duplicate kid in the JWKS (rotation with a reused kid, or RSA+EC under one kid): each
    // key with that kid is tried.
    let old = TestKey::rsa_n(0, Some("dup"), Alg::RS256);
    let new = TestKey::rsa_n(1, Some("dup"), Alg::RS256);
    let ec = TestKey::ec(Alg::ES256, Some("dup"));
    let dup = keyset(&[&old, &ec, &new]);
    assert_eq!(dup.len(), 3);
    assert_eq!(verify(&new.mint(&claims()), &dup), Ok(()));
    assert_eq!(verify(&old.mint(&claims()), &dup), Ok(()));
    assert_eq!(verify(&ec.mint(&claims()), &dup), Ok(()));
}

#[test]
fn c10_unknown_kty_keys_skipped() {
    let real = TestKey::rsa(Some("real"));
    let ec = TestKey::ec(Alg::ES256, None);
    let doc = jwks_of(vec![
        json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq", "pub": "AAAA"}),
        json!({"kty": "made-up", "kid": "x"}),
        json!({"kid": "no-kty"}),
        json!({"kty": 7}),
        json!({"kty": "EC", "crv": "secp256k1", "x": "AAAA", "y": "AAAA"}),
        json!({"kty": "OKP", "crv": "X25519", "x": b64url_encode(&[9u8; 32])}),
        json!({"kty": "OKP", "crv": "Ed448", "x": b64url_encode(&[9u8; 57])}),
        json!({"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"}),
        json!({"kty": "RSA", "kid": "half", "n": real.jwk()["n"]}),
        ec.jwk_with(json!({"crv": "P-384"})),
        json!(42),
        json!("string"),
        real.jwk(),
    ]);
    let (set, skipped) = KeySet::from_jwks_json_report(doc.as_bytes()).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(skipped.len(), 12);
    assert!(skipped.iter().all(|s| !s.reason.is_empty()));
    assert_eq!(verify(&real.mint(&claims()), &set), Ok(()));
    // An invalid document is an error, not an empty set.
    for bad in [
        &b"not json"[..],
        b"{}",
        b"[]",
        br#"{"keys":{}}"#,
        br#"{"keys":"x"}"#,
        b"",
    ] {
        assert_eq!(
            KeySet::from_jwks_json(bad).err(),
            Some(JoseError::InvalidJwks)
        );
    }
    // An empty list is a valid, empty set.
    assert!(
        KeySet::from_jwks_json(br#"{"keys":[]}"#)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn c11_crit_rejected() {
    let k = TestKey::rsa(Some("k"));
    let ks = keyset(&[&k]);
    for extra in [
        json!({"crit": ["exp"], "exp": 1}),
        json!({"crit": ["http://example.invalid/ext"], "http://example.invalid/ext": true}),
        json!({"crit": []}),
        json!({"crit": "b64"}),
    ] {
        let t = k.mint_with_header(extra, &claims());
        assert_eq!(parse(&t).err(), Some(JoseError::CritNotSupported));
        assert!(full(&t, &ks).is_err());
    }
}

#[test]
fn c12_b64_false_rejected() {
    let k = TestKey::rsa(Some("k"));
    let t = k.mint_with_header(json!({"b64": false, "crit": ["b64"]}), &claims());
    assert_eq!(parse(&t).err(), Some(JoseError::CritNotSupported));
    // Without crit (an RFC 7797 violation a lax parser might honour) it is refused too.
    let t = k.mint_with_header(json!({"b64": false}), &claims());
    assert_eq!(parse(&t).err(), Some(JoseError::UnencodedPayload));
    let t = k.mint_with_header(json!({"b64": "false"}), &claims());
    assert_eq!(parse(&t).err(), Some(JoseError::UnencodedPayload));
    // b64: true is the default meaning and harmless.
    let t = k.mint_with_header(json!({"b64": true}), &claims());
    assert_eq!(verify(&t, &keyset(&[&k])), Ok(()));
}

#[test]
fn c13_jwe_rejected() {
    let k = TestKey::rsa(Some("k"));
    let seg = b64url_encode(b"0123456789abcdef");
    let h = b64url_encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"k"}"#);
    let jwe = format!("{h}.{seg}.{seg}.{seg}.{seg}");
    assert_eq!(parse(&jwe).err(), Some(JoseError::EncryptedToken));
    // dir + empty encrypted key part, as real JWEs have.
    let h = b64url_encode(br#"{"alg":"dir","enc":"A128CBC-HS256"}"#);
    assert_eq!(
        parse(&format!("{h}..{seg}.{seg}.{seg}")).err(),
        Some(JoseError::EncryptedToken)
    );
    // A three-part token whose header says JWE, even with a signature alg and a valid signature.
    let t = k.mint_with_header(json!({"enc": "A128GCM"}), &claims());
    assert_eq!(parse(&t).err(), Some(JoseError::EncryptedToken));
    let t = compact(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#, b"{}", b"sig");
    assert_eq!(parse(&t).err(), Some(JoseError::EncryptedToken));
}

#[test]
fn c14_nested_jwt_rejected() {
    let k = TestKey::rsa(Some("k"));
    for cty in ["JWT", "jwt", "application/jwt", "Application/JWT"] {
        let t = k.mint_with_header(json!({"cty": cty}), &claims());
        assert_eq!(parse(&t).err(), Some(JoseError::NestedJwt), "{cty}");
    }
    // Other content types are not nesting.
    let t = k.mint_with_header(json!({"cty": "json"}), &claims());
    assert_eq!(verify(&t, &keyset(&[&k])), Ok(()));
    let t = k.mint_with_header(json!({"cty": 1}), &claims());
    assert_eq!(parse(&t).err(), Some(JoseError::BadHeaderParameter));
}

#[test]
fn c15_json_serialization_and_alphabet_rejected() {
    let k = TestKey::rsa(Some("k"));
    let t = k.mint(&claims());
    let (h, p, s) = parts(&t);
    let json_ser = json!({"payload": p, "protected": h, "signature": s}).to_string();
    let flattened =
        json!({"payload": p, "signatures": [{"protected": h, "signature": s}]}).to_string();
    for bad in [
        json_ser,
        flattened,
        format!(" {t}"),
        format!("{t} "),
        format!("{t}\n"),
        format!("Bearer {t}"),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}.{s}.{s}.{s}"),
        format!(".{p}.{s}"),
        format!("{h}..{s}"),
        format!("{h}.{p}.{s}\u{e9}"),
        t.replacen('.', "\u{2024}", 1),
        String::new(),
        "..".to_owned(),
        ".".to_owned(),
    ] {
        assert_eq!(parse(&bad).err(), Some(JoseError::NotCompactJws), "{bad:?}");
    }
    assert_eq!(parse(&t).map(|_| ()), Ok(()));
}

#[test]
fn c16_duplicate_members_rejected() {
    let k = TestKey::rsa(Some("k"));
    let payload = claims().to_string();
    let cases = [
        (
            r#"{"alg":"none","alg":"RS256","kid":"k"}"#.to_owned(),
            payload.clone(),
        ),
        (
            r#"{"alg":"RS256","kid":"x","kid":"k"}"#.to_owned(),
            payload.clone(),
        ),
        (
            r#"{"alg":"RS256","kid":"k"}"#.to_owned(),
            r#"{"sub":"alice","sub":"admin","exp":4000000000}"#.to_owned(),
        ),
        (
            r#"{"alg":"RS256","kid":"k"}"#.to_owned(),
            r#"{"sub":"alice","\u0073ub":"admin","exp":4000000000}"#.to_owned(),
        ),
        (
            r#"{"alg":"RS256","kid":"k"}"#.to_owned(),
            r#"{"sub":"a","realm_access":{"roles":["u"],"roles":["admin"]}}"#.to_owned(),
        ),
        (
            r#"{"alg":"RS256","kid":"k"}"#.to_owned(),
            r#"{"sub":"a","l":[{"x":1,"x":2}]}"#.to_owned(),
        ),
    ];
    for (h, p) in cases {
        let t = raw(&k, &h, &p);
        assert_eq!(parse(&t).err(), Some(JoseError::DuplicateMember), "{h} {p}");
    }
}

#[test]
fn c17_non_utf8_and_bom_rejected() {
    let k = TestKey::rsa(Some("k"));
    let h = br#"{"alg":"RS256","kid":"k"}"#;
    let good = br#"{"sub":"alice","exp":4000000000}"#;
    // UTF-8 BOM before the payload and before the header.
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(good);
    assert_eq!(parse(&k.sign_raw(h, &bom)).err(), Some(JoseError::BadJson));
    let mut bom_h = b"\xef\xbb\xbf".to_vec();
    bom_h.extend_from_slice(h);
    assert_eq!(
        parse(&k.sign_raw(&bom_h, good)).err(),
        Some(JoseError::BadJson)
    );
    // UTF-16LE and UTF-16BE (with and without BOM).
    let utf16le: Vec<u8> = std::str::from_utf8(good)
        .unwrap()
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let utf16be: Vec<u8> = std::str::from_utf8(good)
        .unwrap()
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect();
    let mut utf16_bom = vec![0xff, 0xfe];
    utf16_bom.extend_from_slice(&utf16le);
    for p in [utf16le, utf16be, utf16_bom] {
        assert!(parse(&k.sign_raw(h, &p)).is_err());
    }
    // Latin-1, overlong encoding, encoded surrogate.
    for p in [
        &b"{\"sub\":\"ren\xe9\",\"exp\":4000000000}"[..],
        b"{\"sub\":\"\xc0\xaf\",\"exp\":4000000000}",
        b"{\"sub\":\"\xed\xa0\x80\",\"exp\":4000000000}",
    ] {
        assert_eq!(parse(&k.sign_raw(h, p)).err(), Some(JoseError::NotUtf8));
    }
    // A lone surrogate escape cannot be represented as UTF-8 either.
    let t = k.sign_raw(h, br#"{"sub":"\ud800","exp":4000000000}"#);
    assert_eq!(parse(&t).err(), Some(JoseError::BadJson));
    // Raw control characters inside strings are not JSON.
    let t = k.sign_raw(h, b"{\"sub\":\"a\x01b\",\"exp\":4000000000}");
    assert_eq!(parse(&t).err(), Some(JoseError::BadJson));
    // Plain UTF-8 with non-ASCII is fine.
    let t = k.sign_raw(h, "{\"sub\":\"renée\",\"exp\":4000000000}".as_bytes());
    assert_eq!(parse(&t).unwrap().claims["sub"], "renée");
}

#[test]
fn c18_lax_base64url_rejected() {
    // The decoder itself.
    assert_eq!(b64url_decode("QUJD").unwrap(), b"ABC");
    assert_eq!(b64url_decode("QUI").unwrap(), b"AB");
    assert_eq!(b64url_decode("_-8").unwrap(), vec![0xff, 0xef]);
    for bad in [
        "QUI=", "QQ==", "QUJ D", "QUJD\n", "QU+D", "QU/D", "QUJ", "Q", "QUJDR", "QUK",
    ] {
        // "QUJ" and "QUK" have non-zero unused bits ("QUI" is the canonical form of "AB").
        if bad == "QUJ" {
            assert!(b64url_decode(bad).is_err(), "{bad}");
            continue;
        }
        assert_eq!(
            b64url_decode(bad).err(),
            Some(JoseError::BadBase64),
            "{bad}"
        );
    }
    // In a token: non-canonical trailing bits in each part.
    let k = TestKey::rsa(Some("k"));
    let ks = keyset(&[&k]);
    let t = k.mint(&claims());
    let (h, p, s) = parts(&t);
    let bump_last = |part: &str| -> Option<String> {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = *part.as_bytes().last()?;
        let idx = alphabet.iter().position(|c| *c == last)?;
        let bits_used = match part.len() % 4 {
            2 => 2,
            3 => 4,
            _ => return None,
        };
        let mask = (1usize << (6 - bits_used)) - 1;
        let new = alphabet[(idx & !mask) | 1];
        let mut out = part[..part.len() - 1].to_owned();
        out.push(new as char);
        Some(out)
    };
    let mut checked = 0;
    for (i, part) in [&h, &p, &s].iter().enumerate() {
        if let Some(bumped) = bump_last(part) {
            let mut ps = [h.clone(), p.clone(), s.clone()];
            ps[i] = bumped;
            let bad = ps.join(".");
            assert_eq!(parse(&bad).err(), Some(JoseError::BadBase64), "part {i}");
            checked += 1;
        }
    }
    assert!(
        checked >= 1,
        "RS256 signature length 256 always leaves trailing bits"
    );
    // Padding, whitespace and the standard alphabet never reach the decoder.
    for bad in [
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}.{s}=="),
        format!("{h}.{p} .{s}"),
        format!("{h}.{p}.{}", s.replace('-', "+").replace('_', "/")),
    ] {
        if bad == t {
            continue;
        }
        assert!(parse(&bad).is_err(), "{bad}");
    }
    // A part with an impossible length.
    let extra = "A".repeat((5 - p.len() % 4) % 4);
    assert_eq!((p.len() + extra.len()) % 4, 1);
    assert_eq!(
        parse(&format!("{h}.{p}{extra}.{s}")).err(),
        Some(JoseError::BadBase64)
    );
    assert_eq!(verify(&t, &ks), Ok(()));
}

#[test]
fn c19_huge_tokens_and_deep_json_rejected() {
    let k = TestKey::rsa(Some("k"));
    let ks = keyset(&[&k]);
    // Length cap before any decoding: garbage and valid-looking alike.
    let huge = "A".repeat(DEFAULT_MAX_TOKEN_LEN + 1);
    assert_eq!(parse(&huge).err(), Some(JoseError::TokenTooLarge));
    let big_claims = claims_with(json!({"pad": "x".repeat(DEFAULT_MAX_TOKEN_LEN)}));
    let t = k.mint(&big_claims);
    assert_eq!(parse(&t).err(), Some(JoseError::TokenTooLarge));
    assert!(parse_compact(&t, t.len()).is_ok(), "the cap is a parameter");
    let normal = k.mint(&claims());
    assert_eq!(
        parse_compact(&normal, 100).err(),
        Some(JoseError::TokenTooLarge)
    );
    // Depth: 16 levels are fine, 17 are not (top-level object = level 1).
    let nest = |levels: usize| -> String {
        format!(
            "{{\"sub\":\"a\",\"exp\":4000000000,\"d\":{}1{}}}",
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        )
    };
    let h = r#"{"alg":"RS256","kid":"k"}"#;
    let ok = raw(&k, h, &nest(16));
    assert_eq!(verify(&ok, &ks), Ok(()));
    let deep = raw(&k, h, &nest(17));
    assert_eq!(parse(&deep).err(), Some(JoseError::TooDeep));
    // Very deep nesting within the length cap: no stack exhaustion, a clean error.
    let bomb = format!("{{\"a\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(parse(&raw(&k, h, &bomb)).err(), Some(JoseError::TooDeep));
    let bomb_h = format!(
        "{{\"alg\":\"RS256\",\"x\":{}1{}}}",
        "[".repeat(3000),
        "]".repeat(3000)
    );
    assert_eq!(
        parse(&raw(&k, &bomb_h, &nest(2))).err(),
        Some(JoseError::TooDeep)
    );
    // Header member count cap.
    let mut many = serde_json::Map::new();
    many.insert("alg".into(), "RS256".into());
    for i in 0..MAX_HEADER_MEMBERS {
        many.insert(format!("h{i}"), json!(i));
    }
    let t = k.sign(&Value::Object(many), &claims());
    assert_eq!(parse(&t).err(), Some(JoseError::TooManyHeaderMembers));
}

#[test]
fn c20_pbes2_and_zip_jwe_rejected() {
    let seg = b64url_encode(b"0123456789abcdef");
    for header in [
        json!({"alg": "PBES2-HS512+A256KW", "enc": "A256GCM", "p2c": 2_000_000_000u64, "p2s": "AAAA"}),
        json!({"alg": "RSA-OAEP", "enc": "A256GCM", "zip": "DEF"}),
    ] {
        let h = b64url_encode(header.to_string().as_bytes());
        let jwe = format!("{h}.{seg}.{seg}.{seg}.{seg}");
        assert_eq!(parse(&jwe).err(), Some(JoseError::EncryptedToken));
        let three = compact(header.to_string().as_bytes(), b"{}", b"s");
        assert_eq!(parse(&three).err(), Some(JoseError::EncryptedToken));
    }
    // PBES2 as a JWS alg is simply not an allowed algorithm.
    let t = compact(
        br#"{"alg":"PBES2-HS256+A128KW","p2c":100000000}"#,
        b"{}",
        b"s",
    );
    assert_eq!(parse(&t).err(), Some(JoseError::AlgNotAllowed));
    // zip on a signed token: refused as a JWE marker.
    let k = TestKey::rsa(Some("k"));
    let t = k.mint_with_header(json!({"zip": "DEF"}), &claims());
    assert_eq!(parse(&t).err(), Some(JoseError::EncryptedToken));
}

#[test]
fn c21_time_claim_type_confusion_rejected() {
    let p = ClaimsPolicy::new(NOW);
    for claim in ["exp", "nbf", "iat"] {
        for bad in [
            json!("4000000000"),
            json!("1700000000"),
            json!(true),
            Value::Null,
            json!([4000000000u64]),
            json!({"$numberLong": "4000000000"}),
            json!(1e300),
            json!(-1e300),
            json!(18446744073709551615u64),
            json!(9007199254740993u64),
        ] {
            let c = map(claims_with(json!({ claim: bad })));
            assert_eq!(
                validate_claims(&c, &p),
                Err(JoseError::MalformedTimeClaim),
                "{claim} = {bad}"
            );
        }
    }
    // The literal 1e400 does not even parse.
    let k = TestKey::rsa(Some("k"));
    let t = raw(
        &k,
        r#"{"alg":"RS256","kid":"k"}"#,
        r#"{"sub":"a","exp":1e400}"#,
    );
    assert_eq!(parse(&t).err(), Some(JoseError::BadJson));
    // End to end: a string exp in a validly signed token.
    let t = k.mint(&claims_with(json!({"exp": "4000000000"})));
    assert_eq!(full(&t, &keyset(&[&k])), Err(JoseError::MalformedTimeClaim));
    // exp is required (RFC 9068).
    assert_eq!(
        validate_claims(&map(claims_without("exp")), &p),
        Err(JoseError::MissingExpiry)
    );
    let mut lax = p.clone();
    lax.require_exp = false;
    assert_eq!(validate_claims(&map(claims_without("exp")), &lax), Ok(()));
    // Numbers: integers, fractions, and the 2^53 edge.
    for good in [
        json!(NOW + 60),
        json!(NOW as f64 + 60.5),
        json!(9007199254740992u64),
    ] {
        let c = map(claims_with(json!({"exp": good})));
        assert_eq!(validate_claims(&c, &p), Ok(()), "{good}");
    }
    let c = map(claims_with(json!({"exp": -5})));
    assert_eq!(validate_claims(&c, &p), Err(JoseError::Expired));
    // A custom expiry claim name.
    let mut custom = p.clone();
    custom.expiry_claim = "expires_at".into();
    let c = map(claims_with(json!({"expires_at": NOW + 10 + 1})));
    assert_eq!(validate_claims(&c, &custom), Ok(()));
    let c = map(claims_with(json!({"expires_at": NOW - 100})));
    assert_eq!(validate_claims(&c, &custom), Err(JoseError::Expired));
}

#[test]
fn c22_leeway_abuse_rejected() {
    let p = ClaimsPolicy::new(NOW);
    assert_eq!(p.leeway, DEFAULT_LEEWAY_SECS);
    const { assert!(DEFAULT_LEEWAY_SECS <= 60) };
    let check = |extra: Value, pol: &ClaimsPolicy| validate_claims(&map(claims_with(extra)), pol);
    // exp: valid while now < exp + leeway.
    assert_eq!(check(json!({"exp": NOW + 1}), &p), Ok(()));
    assert_eq!(check(json!({"exp": NOW - 5}), &p), Ok(()));
    assert_eq!(check(json!({"exp": NOW - 9}), &p), Ok(()));
    assert_eq!(check(json!({"exp": NOW - 10}), &p), Err(JoseError::Expired));
    assert_eq!(
        check(json!({"exp": NOW - 3600}), &p),
        Err(JoseError::Expired)
    );
    let mut strict = p.clone();
    strict.leeway = 0;
    assert_eq!(check(json!({"exp": NOW}), &strict), Err(JoseError::Expired));
    assert_eq!(check(json!({"exp": NOW + 1}), &strict), Ok(()));
    // A negative leeway counts as none, it does not extend anything either way.
    let mut negative = p.clone();
    negative.leeway = -1_000_000;
    assert_eq!(check(json!({"exp": NOW + 1}), &negative), Ok(()));
    assert_eq!(
        check(json!({"exp": NOW}), &negative),
        Err(JoseError::Expired)
    );
    // nbf in the future.
    assert_eq!(check(json!({"nbf": NOW + 10}), &p), Ok(()));
    assert_eq!(
        check(json!({"nbf": NOW + 11}), &p),
        Err(JoseError::NotYetValid)
    );
    assert_eq!(
        check(json!({"nbf": NOW + 86400}), &p),
        Err(JoseError::NotYetValid)
    );
    // iat in the future.
    assert_eq!(check(json!({"iat": NOW + 10}), &p), Ok(()));
    assert_eq!(
        check(json!({"iat": NOW + 11}), &p),
        Err(JoseError::IssuedInFuture)
    );
    assert_eq!(
        check(json!({"iat": NOW + 3600, "exp": NOW + 7200}), &p),
        Err(JoseError::IssuedInFuture)
    );
    // iat too old, when a maximum age is configured (ID-token iat slack).
    let mut aged = p.clone();
    aged.max_iat_age = Some(600);
    assert_eq!(check(json!({"iat": NOW - 600}), &aged), Ok(()));
    assert_eq!(
        check(json!({"iat": NOW - 611}), &aged),
        Err(JoseError::IssuedTooLongAgo)
    );
    // Extreme times never overflow.
    let only = |v: Value, pol: &ClaimsPolicy| validate_claims(&map(v), pol);
    let mut far = p.clone();
    far.now = i64::MAX;
    assert_eq!(
        only(json!({"exp": 9007199254740992u64}), &far),
        Err(JoseError::Expired)
    );
    far.leeway = i64::MAX;
    assert_eq!(only(json!({"exp": 9007199254740992u64}), &far), Ok(()));
    far.now = i64::MIN;
    assert_eq!(
        only(
            json!({"exp": -9007199254740992i64, "nbf": -1, "iat": -1}),
            &far
        ),
        Ok(())
    );
    assert_eq!(
        only(json!({"exp": -9007199254740992i64, "nbf": 4096}), &far),
        Err(JoseError::NotYetValid)
    );
    far.leeway = 0;
    assert_eq!(only(json!({"exp": -9007199254740992i64}), &far), Ok(()));
    assert_eq!(
        only(json!({"exp": 0, "nbf": -9007199254740992i64}), &far),
        Err(JoseError::NotYetValid)
    );
}

#[test]
fn c23_audience_issuer_and_azp_checks() {
    let p = policy();
    let check = |c: Value, pol: &ClaimsPolicy| validate_claims(&map(c), pol);
    assert_eq!(check(claims(), &p), Ok(()));
    // Audience.
    assert_eq!(
        check(claims_without("aud"), &p),
        Err(JoseError::MissingAudience)
    );
    assert_eq!(
        check(claims_with(json!({"aud": []})), &p),
        Err(JoseError::MissingAudience)
    );
    assert_eq!(
        check(claims_with(json!({"aud": "https://other.example.org"})), &p),
        Err(JoseError::AudienceMismatch)
    );
    assert_eq!(
        check(claims_with(json!({"aud": "https://RS.example.org"})), &p),
        Err(JoseError::AudienceMismatch)
    );
    assert_eq!(check(claims_with(json!({"aud": ["x", AUD]})), &p), Ok(()));
    assert_eq!(
        check(claims_with(json!({"aud": ["x", "y"]})), &p),
        Err(JoseError::AudienceMismatch)
    );
    assert_eq!(
        check(claims_with(json!({"aud": ["x", 1]})), &p),
        Err(JoseError::MalformedAudience)
    );
    assert_eq!(
        check(claims_with(json!({"aud": 1})), &p),
        Err(JoseError::MalformedAudience)
    );
    assert_eq!(
        check(claims_with(json!({"aud": {"a": AUD}})), &p),
        Err(JoseError::MalformedAudience)
    );
    let mut several = p.clone();
    several.audiences = Some(vec!["a".into(), AUD.into()]);
    assert_eq!(check(claims(), &several), Ok(()));
    // No audience policy: aud is not required (but must still be well-formed).
    let mut no_aud = p.clone();
    no_aud.audiences = None;
    assert_eq!(check(claims_without("aud"), &no_aud), Ok(()));
    assert_eq!(
        check(claims_with(json!({"aud": 5})), &no_aud),
        Err(JoseError::MalformedAudience)
    );
    // Issuer: exact match only.
    assert_eq!(
        check(claims_without("iss"), &p),
        Err(JoseError::IssuerMismatch)
    );
    for iss in [
        json!("https://op.example.org/"),
        json!("https://OP.example.org"),
        json!("op.example.org"),
        json!(["https://op.example.org"]),
        json!(1),
    ] {
        assert_eq!(
            check(claims_with(json!({"iss": iss})), &p),
            Err(JoseError::IssuerMismatch),
            "{iss}"
        );
    }
    // azp with several audiences (OIDC Core 3.1.3.7).
    let mut id = p.clone();
    id.authorized_party = Some("client1".into());
    assert_eq!(check(claims(), &id), Ok(()));
    assert_eq!(
        check(claims_with(json!({"aud": [AUD, "client2"]})), &id),
        Err(JoseError::AuthorizedPartyMismatch)
    );
    assert_eq!(
        check(
            claims_with(json!({"aud": [AUD, "client2"], "azp": "client2"})),
            &id
        ),
        Err(JoseError::AuthorizedPartyMismatch)
    );
    assert_eq!(
        check(
            claims_with(json!({"aud": [AUD, "client2"], "azp": "client1"})),
            &id
        ),
        Ok(())
    );
    assert_eq!(
        check(claims_with(json!({"azp": "client2"})), &id),
        Err(JoseError::AuthorizedPartyMismatch)
    );
    assert_eq!(
        check(claims_with(json!({"azp": 1})), &p),
        Err(JoseError::AuthorizedPartyMismatch)
    );
}

#[test]
fn c24_cross_jwt_confusion_by_typ() {
    let k = TestKey::rsa(Some("k"));
    let access_rule = (&["at+jwt", "jwt"][..], true);
    let strict_access_rule = (&["at+jwt"][..], false);
    let id_rule = (&["jwt"][..], true);
    let logout_rule = (&["logout+jwt", "jwt"][..], true);
    let typ_of = |typ: &str| -> Option<String> {
        let t = k.mint_with_header(json!({"typ": typ}), &claims());
        parse(&t).unwrap().typ
    };
    // A logout token or an ID token is not an RFC 9068 access token.
    let logout = typ_of("logout+jwt");
    assert_eq!(
        check_typ(
            logout.as_deref(),
            strict_access_rule.0,
            strict_access_rule.1
        ),
        Err(JoseError::TypeNotAccepted)
    );
    assert_eq!(
        check_typ(logout.as_deref(), access_rule.0, access_rule.1),
        Err(JoseError::TypeNotAccepted)
    );
    assert_eq!(
        check_typ(Some("JWT"), strict_access_rule.0, strict_access_rule.1),
        Err(JoseError::TypeNotAccepted)
    );
    assert_eq!(
        check_typ(None, strict_access_rule.0, strict_access_rule.1),
        Err(JoseError::TypeNotAccepted)
    );
    assert_eq!(
        check_typ(
            Some("application/at+JWT"),
            strict_access_rule.0,
            strict_access_rule.1
        ),
        Ok(())
    );
    // An access token is not an ID token or a logout token.
    let at = typ_of("at+jwt");
    assert_eq!(
        check_typ(at.as_deref(), id_rule.0, id_rule.1),
        Err(JoseError::TypeNotAccepted)
    );
    assert_eq!(
        check_typ(at.as_deref(), logout_rule.0, logout_rule.1),
        Err(JoseError::TypeNotAccepted)
    );
    for other in [
        "dpop+jwt",
        "secevent+jwt",
        "token-introspection+jwt",
        "oauth-authz-req+jwt",
    ] {
        assert_eq!(
            check_typ(Some(other), id_rule.0, id_rule.1),
            Err(JoseError::TypeNotAccepted),
            "{other}"
        );
        assert_eq!(
            check_typ(Some(other), access_rule.0, access_rule.1),
            Err(JoseError::TypeNotAccepted),
            "{other}"
        );
    }
    assert_eq!(check_typ(Some("JWT"), id_rule.0, id_rule.1), Ok(()));
    assert_eq!(check_typ(None, id_rule.0, id_rule.1), Ok(()));
    // A non-string typ never gets that far.
    let t = k.mint_with_header(json!({"typ": ["at+jwt"]}), &claims());
    assert_eq!(parse(&t).err(), Some(JoseError::BadHeaderParameter));
}

#[test]
fn c25_token_replay_across_rps_rejected() {
    let k = TestKey::rsa(Some("k"));
    let ks = keyset(&[&k]);
    let for_other_rp = k.mint(&claims_with(json!({"aud": "https://other-rp.example.org"})));
    assert_eq!(full(&for_other_rp, &ks), Err(JoseError::AudienceMismatch));
    let from_other_issuer = k.mint(&claims_with(json!({"iss": "https://other-op.example.org"})));
    assert_eq!(
        full(&from_other_issuer, &ks),
        Err(JoseError::IssuerMismatch)
    );
    // Signed by another tenant's key under the same kid name.
    let other_tenant = TestKey::rsa_n(3, Some("k"), Alg::RS256);
    assert_eq!(
        full(&other_tenant.mint(&claims()), &ks),
        Err(JoseError::BadSignature)
    );
    assert_eq!(full(&k.mint(&claims()), &ks), Ok(()));
}

/// The curve order as openssl computes it.
fn curve_order(curve: Curve) -> Option<BigNum> {
    let group = openssl::ec::EcGroup::from_curve_name(curve.nid()).ok()?;
    let mut order = BigNum::new().ok()?;
    let mut ctx = BigNumContext::new().ok()?;
    group.order(&mut order, &mut ctx).ok()?;
    Some(order)
}

#[test]
fn curve_order_constants_match_openssl() {
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let n = curve_order(curve).unwrap();
        assert_eq!(
            curve.order(),
            n.to_vec_padded(curve.coord_len() as i32)
                .unwrap()
                .as_slice()
        );
    }
}

/// Curve order n, as bytes of the coordinate size.
fn order_bytes(curve: Curve) -> Vec<u8> {
    let n = curve_order(curve).unwrap();
    n.to_vec_padded(curve.coord_len() as i32).unwrap()
}

fn add_one(v: &[u8], len: usize) -> Vec<u8> {
    let mut n = BigNum::from_slice(v).unwrap();
    n.add_word(1).unwrap();
    n.to_vec_padded(len as i32).unwrap()
}

#[test]
fn c26_ecdsa_psychic_signature_rejected() {
    for alg in [Alg::ES256, Alg::ES384, Alg::ES512] {
        let KeyFamily::Ec(curve) = alg.family() else {
            unreachable!()
        };
        let len = curve.coord_len();
        let k = TestKey::ec(alg, Some("ec"));
        let ks = keyset(&[&k]);
        let t = k.mint(&claims());
        assert_eq!(verify(&t, &ks), Ok(()));
        let good = b64url_decode(&parts(&t).2).unwrap();
        let (r, s) = good.split_at(len);
        let zero = vec![0u8; len];
        let n = order_bytes(curve);
        let n1 = add_one(&n, len);
        let cat = |a: &[u8], b: &[u8]| [a, b].concat();
        for sig in [
            cat(&zero, &zero),
            cat(&n, &n),
            cat(&zero, s),
            cat(r, &zero),
            cat(&n, s),
            cat(r, &n),
            cat(&n1, s),
            cat(r, &n1),
            vec![0xff; 2 * len],
        ] {
            assert_eq!(
                verify(&with_sig(&t, &sig), &ks),
                Err(JoseError::MalformedSignature),
                "{alg}"
            );
        }
    }
    // The CVE-2022-21449 shape exactly: ES256 with an all-zero 64-byte signature, no kid.
    let k = TestKey::ec(Alg::ES256, None);
    let t = compact(
        br#"{"alg":"ES256"}"#,
        claims().to_string().as_bytes(),
        &[0u8; 64],
    );
    assert_eq!(
        verify(&t, &keyset(&[&k])),
        Err(JoseError::MalformedSignature)
    );
}

#[test]
fn c27_ecdsa_encoding_and_malleability() {
    for alg in [Alg::ES256, Alg::ES384, Alg::ES512] {
        let KeyFamily::Ec(curve) = alg.family() else {
            unreachable!()
        };
        let len = curve.coord_len();
        let k = TestKey::ec(alg, Some("ec"));
        let ks = keyset(&[&k]);
        let t = k.mint(&claims());
        let raw_sig = b64url_decode(&parts(&t).2).unwrap();
        let r = BigNum::from_slice(&raw_sig[..len]).unwrap();
        let s = BigNum::from_slice(&raw_sig[len..]).unwrap();
        // DER, as openssl and Java produce it, is not the JWS format.
        let der = EcdsaSig::from_private_components(r.to_owned().unwrap(), s.to_owned().unwrap())
            .unwrap()
            .to_der()
            .unwrap();
        assert_eq!(
            verify(&with_sig(&t, &der), &ks),
            Err(JoseError::MalformedSignature),
            "{alg}"
        );
        // Wrong lengths: one byte short, one byte long, each half padded by one.
        let mut short = raw_sig.clone();
        short.pop();
        let mut long = raw_sig.clone();
        long.push(0);
        let padded = [&[0u8][..], &raw_sig[..len], &[0u8][..], &raw_sig[len..]].concat();
        for sig in [short, long, padded] {
            assert_eq!(
                verify(&with_sig(&t, &sig), &ks),
                Err(JoseError::MalformedSignature),
                "{alg}"
            );
        }
        // (r, n - s) is also a valid signature: signature bytes are not a unique token id.
        let n = curve_order(curve).unwrap();
        let mut n_minus_s = BigNum::new().unwrap();
        n_minus_s.checked_sub(&n, &s).unwrap();
        let mut malleated = r.to_vec_padded(len as i32).unwrap();
        malleated.extend(n_minus_s.to_vec_padded(len as i32).unwrap());
        assert_ne!(malleated, raw_sig);
        assert_eq!(verify(&with_sig(&t, &malleated), &ks), Ok(()), "{alg}");
    }
}

#[test]
fn c28_invalid_curve_points_jwe_rejected() {
    // ECDH-ES only exists in JWE, which is refused outright.
    let seg = b64url_encode(b"0123456789abcdef");
    let h = json!({"alg": "ECDH-ES", "enc": "A128GCM", "epk": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}});
    let h = b64url_encode(h.to_string().as_bytes());
    assert_eq!(
        parse(&format!("{h}..{seg}.{seg}.{seg}")).err(),
        Some(JoseError::EncryptedToken)
    );
    // And our own EC keys are validated: a JWK point off the curve is skipped.
    let k = TestKey::ec(Alg::ES256, Some("ec"));
    let mut jwk = k.jwk();
    let mut y = b64url_decode(jwk["y"].as_str().unwrap()).unwrap();
    y[31] ^= 1;
    jwk["y"] = b64url_encode(&y).into();
    let (set, skipped) = KeySet::from_jwks_json_report(jwks_of(vec![jwk]).as_bytes()).unwrap();
    assert!(set.is_empty());
    assert_eq!(skipped.len(), 1);
    // The point at infinity / zero coordinates too.
    let zero = json!({"kty": "EC", "crv": "P-256", "x": b64url_encode(&[0u8; 32]), "y": b64url_encode(&[0u8; 32])});
    assert!(
        KeySet::from_jwks_json(jwks_of(vec![zero]).as_bytes())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn c29_weak_rsa_keys_rejected() {
    let strong = TestKey::rsa(Some("ok"));
    let n = strong.jwk()["n"].as_str().unwrap().to_owned();
    let weak = TestKey::rsa_fresh(1024, Some("weak"), Alg::RS256);
    let rsa_jwk = |kid: &str, n: &str, e: &[u8]| json!({"kty": "RSA", "kid": kid, "n": n, "e": b64url_encode(e)});
    let huge_n = {
        let mut v = vec![0xc3u8; 16384 / 8];
        if let Some(last) = v.last_mut() {
            *last |= 1;
        }
        b64url_encode(&v)
    };
    let even_n = {
        let mut v = b64url_decode(&n).unwrap();
        if let Some(last) = v.last_mut() {
            *last &= 0xfe;
        }
        b64url_encode(&v)
    };
    let doc = jwks_of(vec![
        weak.jwk(),
        rsa_jwk("e1", &n, &[1]),
        rsa_jwk("e2", &n, &[2]),
        rsa_jwk("e65536", &n, &[1, 0, 0]),
        rsa_jwk("e0", &n, &[0]),
        rsa_jwk("ehuge", &n, &[1, 0, 0, 0, 0, 0, 0, 0, 1]),
        rsa_jwk("nhuge", &huge_n, &[1, 0, 1]),
        rsa_jwk("neven", &even_n, &[1, 0, 1]),
        rsa_jwk("e3", &n, &[3]),
        strong.jwk(),
    ]);
    let (set, skipped) = KeySet::from_jwks_json_report(doc.as_bytes()).unwrap();
    let kept: Vec<_> = set.iter().map(|k| k.kid.clone().unwrap()).collect();
    assert_eq!(kept, ["e3", "ok"]);
    assert_eq!(skipped.len(), 8);
    assert_eq!(
        verify(&weak.mint(&claims()), &set),
        Err(JoseError::UnknownKid)
    );
    assert_eq!(
        verify(&weak.with_kid(None).mint(&claims()), &set),
        Err(JoseError::BadSignature)
    );
    // Weak keys from a key file are a configuration error.
    let path = temp_file(weak.public_pem().as_bytes());
    let err = KeySet::from_cert_file_spec(path.to_str().unwrap()).unwrap_err();
    assert!(
        matches!(err, JoseError::Config(ref m) if m.contains("2048")),
        "{err:?}"
    );
    let _ = std::fs::remove_file(path);
}

/// Integer cube root (floor) by Newton's method.
fn cube_root(v: &BigNum) -> BigNum {
    let mut ctx = BigNumContext::new().unwrap();
    let three = BigNum::from_u32(3).unwrap();
    let mut x = BigNum::new().unwrap();
    x.set_bit(v.num_bits() / 3 + 2).unwrap();
    loop {
        // y = (2x + v / x^2) / 3
        let mut x2 = BigNum::new().unwrap();
        x2.sqr(&x, &mut ctx).unwrap();
        let mut q = BigNum::new().unwrap();
        q.checked_div(v, &x2, &mut ctx).unwrap();
        let mut two_x = BigNum::new().unwrap();
        two_x.lshift1(&x).unwrap();
        let mut sum = BigNum::new().unwrap();
        sum.checked_add(&two_x, &q).unwrap();
        let mut y = BigNum::new().unwrap();
        y.checked_div(&sum, &three, &mut ctx).unwrap();
        if y >= x {
            return x;
        }
        x = y;
    }
}

#[test]
fn c30_pkcs1_v15_lax_parsing_rejected() {
    // A 2048-bit key with e = 3, the setting where lax PKCS#1 v1.5 parsing is forgeable.
    let rsa = Rsa::generate_with_e(2048, &BigNum::from_u32(3).unwrap()).unwrap();
    let k = TestKey::from_pkey(PKey::from_rsa(rsa.clone()).unwrap(), Some("e3"), Alg::RS256);
    let ks = keyset(&[&k]);
    assert_eq!(ks.len(), 1);
    let good = k.mint(&claims());
    assert_eq!(verify(&good, &ks), Ok(()));
    let input = {
        let (h, p, _) = parts(&good);
        format!("{h}.{p}")
    };
    let digest = hash(MessageDigest::sha256(), input.as_bytes()).unwrap();
    let digest_info: Vec<u8> = [
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ][..],
        &digest,
    ]
    .concat();
    let k_len = rsa.size() as usize;
    let em = |body: &[u8], ff: usize, tail: &[u8]| -> Vec<u8> {
        let mut v = vec![0x00, 0x01];
        v.extend(std::iter::repeat_n(0xffu8, ff));
        v.push(0x00);
        v.extend_from_slice(body);
        v.extend_from_slice(tail);
        assert_eq!(v.len(), k_len);
        v
    };
    let raw_sign = |em: &[u8]| -> Vec<u8> {
        let mut out = vec![0u8; k_len];
        let n = rsa.private_encrypt(em, &mut out, Padding::NONE).unwrap();
        out.truncate(n);
        out
    };
    let ff_full = k_len - 3 - digest_info.len();
    // Control: the correct encoding made by hand verifies, so the harness is right.
    assert_eq!(
        verify(
            &with_sig(&good, &raw_sign(&em(&digest_info, ff_full, &[]))),
            &ks
        ),
        Ok(())
    );
    // Garbage after the digest (short padding), garbage in the padding, garbage in the parameters.
    let garbage = vec![0x42u8; 40];
    let mut bad_ff = em(&digest_info, ff_full, &[]);
    bad_ff[10] = 0xfe;
    let params_garbage: Vec<u8> = [
        &[
            0x30,
            0x31 + 4,
            0x30,
            0x0d + 4,
            0x06,
            0x09,
            0x60,
            0x86,
            0x48,
            0x01,
            0x65,
            0x03,
            0x04,
            0x02,
            0x01,
            0x04,
            0x02,
            0xde,
            0xad,
            0x05,
            0x00,
            0x04,
            0x20,
        ][..],
        &digest,
    ]
    .concat();
    for bad_em in [
        em(&digest_info, ff_full - garbage.len(), &garbage),
        bad_ff,
        em(&params_garbage, ff_full - 4, &[]),
        em(&digest_info[..digest_info.len() - 1], ff_full + 1, &[]),
    ] {
        assert_eq!(
            verify(&with_sig(&good, &raw_sign(&bad_em)), &ks),
            Err(JoseError::BadSignature)
        );
    }
    // Bleichenbacher 2006 without the private key: a cube root of 00 01 FF 00 DigestInfo H garbage.
    let mut target = vec![0x00, 0x01, 0xff, 0x00];
    target.extend_from_slice(&digest_info);
    target.resize(k_len, 0xff);
    let forged = cube_root(&BigNum::from_slice(&target).unwrap());
    let mut ctx = BigNumContext::new().unwrap();
    let mut cubed = BigNum::new().unwrap();
    cubed.sqr(&forged, &mut ctx).unwrap();
    let mut cubed3 = BigNum::new().unwrap();
    cubed3.checked_mul(&cubed, &forged, &mut ctx).unwrap();
    let cubed_bytes = cubed3.to_vec_padded(k_len as i32).unwrap();
    assert_eq!(
        &cubed_bytes[..4 + digest_info.len()],
        &target[..4 + digest_info.len()],
        "forgery harness"
    );
    let forged_sig = forged.to_vec_padded(k_len as i32).unwrap();
    assert_eq!(
        verify(&with_sig(&good, &forged_sig), &ks),
        Err(JoseError::BadSignature)
    );
}

#[test]
fn c31_weak_hmac_secrets_refused() {
    for (alg, ok_len) in [(Alg::HS256, 32), (Alg::HS384, 48), (Alg::HS512, 64)] {
        let short = TestKey::hmac(&vec![5u8; ok_len - 1], None, alg);
        let ks = keyset_for(std::slice::from_ref(&short));
        assert_eq!(
            verify(&short.mint(&claims()), &ks),
            Err(JoseError::WeakHmacKey),
            "{alg}"
        );
        let fine = TestKey::hmac(&vec![5u8; ok_len], None, alg);
        let ks = keyset_for(std::slice::from_ref(&fine));
        assert_eq!(verify(&fine.mint(&claims()), &ks), Ok(()), "{alg}");
    }
    // A short client secret (typical for HS256 ID tokens) loads, but verification is refused.
    let ks = KeySet::from_shared_key_spec("secret").unwrap();
    assert_eq!(
        ks.iter().next().unwrap().kind(),
        KeyMaterialKind::Oct { len: 6 }
    );
    let t = TestKey::hmac(b"secret", None, Alg::HS256).mint(&claims());
    assert_eq!(verify(&t, &ks), Err(JoseError::WeakHmacKey));
    assert!(!JoseError::WeakHmacKey.to_string().contains("secret"));
    // A 32-byte secret for HS256 is fine, and HS512 with it is refused.
    let secret = "0123456789abcdef0123456789abcdef";
    let ks = KeySet::from_shared_key_spec(secret).unwrap();
    assert_eq!(
        verify(
            &TestKey::hmac(secret.as_bytes(), None, Alg::HS256).mint(&claims()),
            &ks
        ),
        Ok(())
    );
    assert_eq!(
        verify(
            &TestKey::hmac(secret.as_bytes(), None, Alg::HS512).mint(&claims()),
            &ks
        ),
        Err(JoseError::WeakHmacKey)
    );
    // A weak key next to a strong one with the same secret family: the strong one is used.
    let mut both = KeySet::from_shared_key_spec("short").unwrap();
    both.extend(KeySet::from_shared_key_spec(secret).unwrap());
    assert_eq!(
        verify(
            &TestKey::hmac(secret.as_bytes(), None, Alg::HS256).mint(&claims()),
            &both
        ),
        Ok(())
    );
}

#[test]
fn c32_empty_signature_rejected() {
    let rsa = TestKey::rsa(Some("k"));
    let hs = TestKey::hmac(&[3u8; 32], Some("h"), Alg::HS256);
    let mut ks = keyset(&[&rsa]);
    ks.extend(keyset_for(std::slice::from_ref(&hs)));
    for k in [&rsa, &hs] {
        let t = k.mint(&claims());
        let (h, p, _) = parts(&t);
        assert_eq!(
            parse(&format!("{h}.{p}.")).err(),
            Some(JoseError::EmptySignature)
        );
        // One zero byte, and a signature of zeros of the right length.
        assert!(verify(&format!("{h}.{p}.AA"), &ks).is_err());
        let zeros = vec![0u8; b64url_decode(&parts(&t).2).unwrap().len()];
        assert_eq!(
            verify(&with_sig(&t, &zeros), &ks),
            Err(JoseError::BadSignature)
        );
    }
    let (h, p, _) = parts(&hs.mint(&claims()));
    assert_eq!(
        verify(&format!("{h}.{p}.AA"), &ks),
        Err(JoseError::MalformedSignature)
    );
}

#[test]
fn c33_jwk_use_key_ops_alg_mismatch_rejected() {
    let k = TestKey::rsa(Some("k"));
    let t = k.mint(&claims());
    let with =
        |extra: Value| KeySet::from_jwks_json(jwks_of(vec![k.jwk_with(extra)]).as_bytes()).unwrap();
    for extra in [
        json!({"use": "enc"}),
        json!({"use": "something-else"}),
        json!({"key_ops": ["encrypt", "wrapKey"]}),
        json!({"key_ops": ["sign"]}),
        json!({"key_ops": []}),
        json!({"alg": "RS512"}),
        json!({"alg": "PS256"}),
        json!({"use": "sig", "key_ops": ["encrypt"]}),
        json!({"use": "enc", "key_ops": ["verify"]}),
    ] {
        let ks = with(extra.clone());
        assert_eq!(ks.len(), 1, "{extra}");
        assert_eq!(verify(&t, &ks), Err(JoseError::NoSuitableKey), "{extra}");
    }
    for extra in [
        json!({"use": "sig"}),
        json!({"key_ops": ["verify"]}),
        json!({"key_ops": ["sign", "verify"], "use": "sig", "alg": "RS256"}),
    ] {
        assert_eq!(verify(&t, &with(extra.clone())), Ok(()), "{extra}");
    }
    // Malformed metadata or an alg that cannot fit the key: the key is skipped.
    for extra in [
        json!({"alg": "ES256"}),
        json!({"alg": "HS256"}),
        json!({"alg": "RSA-OAEP"}),
        json!({"alg": 1}),
        json!({"use": ["sig"]}),
        json!({"key_ops": "verify"}),
        json!({"key_ops": ["verify", "verify"]}),
        json!({"kid": 5}),
    ] {
        assert!(with(extra.clone()).is_empty(), "{extra}");
    }
    // "enc:" configured keys are never used to verify; "sig:" ones are.
    let path = temp_file(k.cert_pem().as_bytes());
    let p = path.to_str().unwrap();
    let enc = KeySet::from_cert_file_spec(&format!("enc:k#{p}")).unwrap();
    assert_eq!(verify(&t, &enc), Err(JoseError::NoSuitableKey));
    let sig = KeySet::from_cert_file_spec(&format!("sig:k#{p}")).unwrap();
    assert_eq!(verify(&t, &sig), Ok(()));
    let _ = std::fs::remove_file(path);
    let secret = "0123456789abcdef0123456789abcdef";
    let ht = TestKey::hmac(secret.as_bytes(), None, Alg::HS256).mint(&claims());
    let enc = KeySet::from_shared_key_spec(&format!("enc:{secret}")).unwrap();
    assert_eq!(verify(&ht, &enc), Err(JoseError::NoSuitableKey));
    let sig = KeySet::from_shared_key_spec(&format!("sig:{secret}")).unwrap();
    assert_eq!(verify(&ht, &sig), Ok(()));
}

#[test]
fn c34_unbounded_jwks_refetch_rate_limited() {
    // Only an unknown kid asks for a refetch; a bad signature under a known kid does not.
    let k = TestKey::rsa(Some("k"));
    let ks = keyset(&[&k]);
    for i in 0..5 {
        let kid = format!("random-{i}");
        assert!(
            verify(&k.with_kid(Some(&kid)).mint(&claims()), &ks)
                .unwrap_err()
                .is_unknown_kid()
        );
    }
    let forged = TestKey::rsa_n(2, Some("k"), Alg::RS256).mint(&claims());
    assert!(!verify(&forged, &ks).unwrap_err().is_unknown_kid());
    assert!(
        !verify(&corrupt_sig(&k.mint(&claims())), &ks)
            .unwrap_err()
            .is_unknown_kid()
    );
    // And the caller's limiter allows one refetch per interval.
    let mut limiter = RefetchLimiter::new(60);
    assert!(limiter.try_acquire(NOW));
    assert!(!limiter.try_acquire(NOW));
    assert!(!limiter.try_acquire(NOW + 59));
    assert!(limiter.try_acquire(NOW + 60));
    assert!(!limiter.try_acquire(NOW + 61));
    // A clock that jumps backwards does not lock refetching out.
    assert!(limiter.try_acquire(NOW - 3600));
    assert!(!limiter.try_acquire(NOW - 3599));
    // Extreme values do not overflow.
    let mut edge = RefetchLimiter::new(i64::MAX);
    assert!(edge.try_acquire(i64::MIN));
    assert!(!edge.try_acquire(i64::MIN + 5));
    assert!(
        edge.try_acquire(i64::MAX),
        "the true distance exceeds i64::MAX"
    );
    assert!(!edge.try_acquire(i64::MAX));
}

// ------------------------------------------------------------------------------------------------
// OpenID conformance RP modules about signatures and key selection.

#[test]
fn conf_kid_absent_single_jwks() {
    let k = TestKey::rsa(None);
    let ks = keyset(&[&k]);
    assert_eq!(full(&k.mint(&claims()), &ks), Ok(()));
}

#[test]
fn conf_kid_absent_multiple_jwks() {
    let a = TestKey::rsa_n(0, None, Alg::RS256);
    let b = TestKey::rsa_n(1, None, Alg::RS256);
    let e = TestKey::ec(Alg::ES256, None);
    let ks = keyset(&[&a, &e, &b]);
    assert_eq!(full(&b.mint(&claims()), &ks), Ok(()));
    assert_eq!(full(&e.mint(&claims()), &ks), Ok(()));
    assert_eq!(
        full(&corrupt_sig(&b.mint(&claims())), &ks),
        Err(JoseError::BadSignature)
    );
}

#[test]
fn conf_idtoken_sig_rs256_accepted_and_none_rejected() {
    let k = TestKey::rsa(Some("k"));
    let ks = keyset(&[&k]);
    let mut id = policy();
    id.require_iat = true;
    id.authorized_party = Some("client1".into());
    let t = k.mint(&claims());
    let jws = parse(&t).unwrap();
    assert_eq!(
        verify_signature_with_algs(&jws, &ks, Some(&[Alg::RS256])),
        Ok(())
    );
    assert_eq!(validate_claims(&jws.claims, &id), Ok(()));
    let none = format!(
        "{}.{}.",
        b64url_encode(br#"{"alg":"none"}"#),
        b64url_encode(claims().to_string().as_bytes())
    );
    assert!(parse(&none).is_err());
    // Missing iat for an ID token.
    assert_eq!(
        validate_claims(&map(claims_without("iat")), &id),
        Err(JoseError::MissingIssuedAt)
    );
}

#[test]
fn conf_invalid_signatures_rejected() {
    let rs = TestKey::rsa(Some("rs"));
    let es = TestKey::ec(Alg::ES256, Some("es"));
    // HS256 keyed by the client secret (the test OP's 32+ byte secret).
    let secret = "a-client-secret-that-is-long-enough-for-hs256";
    let hs = TestKey::hmac(secret.as_bytes(), None, Alg::HS256);
    let mut ks = keyset(&[&rs, &es]);
    ks.push(Jwk::from_hmac_secret(None, secret.as_bytes()).unwrap());
    for k in [&rs, &es, &hs] {
        let t = k.mint(&claims());
        assert_eq!(full(&t, &ks), Ok(()), "{}", k.alg);
        assert_eq!(
            full(&corrupt_sig(&t), &ks),
            Err(JoseError::BadSignature),
            "{}",
            k.alg
        );
    }
}

#[test]
fn conf_signing_key_rotation() {
    let old = TestKey::rsa_n(0, Some("2024"), Alg::RS256);
    let new = TestKey::rsa_n(1, Some("2025"), Alg::RS256);
    let cached = keyset(&[&old]);
    let t = new.mint(&claims());
    // Unknown kid -> the caller refetches the JWKS once ...
    let err = full(&t, &cached).unwrap_err();
    assert_eq!(err, JoseError::UnknownKid);
    // ... and verifies against the fresh set (key introduced just before signing).
    let refetched = KeySet::from_jwks_json(jwks(&[&old, &new]).as_bytes()).unwrap();
    assert_eq!(full(&t, &refetched), Ok(()));
    // After a full rotation the old key is gone.
    let rotated = keyset(&[&new]);
    assert_eq!(
        full(&old.mint(&claims()), &rotated),
        Err(JoseError::UnknownKid)
    );
    // Static configured keys combine with the fetched set.
    let mut combined =
        KeySet::from_shared_key_spec("plain#cfg#0123456789abcdef0123456789abcdef").unwrap();
    combined.extend(refetched);
    assert_eq!(combined.len(), 3);
    assert!(combined.has_kid("cfg") && combined.has_kid("2025"));
    assert_eq!(full(&t, &combined), Ok(()));
}

#[test]
fn conf_ignores_unparseable_key_in_jwks() {
    let k = TestKey::rsa(Some("real"));
    let doc = jwks_of(vec![
        json!({"kty": "AKP", "alg": "ML-DSA-65", "kid": "pq", "pub": b64url_encode(&[1u8; 1952])}),
        json!({"kty": "XYZ", "kid": "made-up", "foo": "bar"}),
        k.jwk(),
    ]);
    let ks = KeySet::from_jwks_json(doc.as_bytes()).unwrap();
    assert_eq!(ks.len(), 1);
    assert_eq!(full(&k.mint(&claims()), &ks), Ok(()));
}

#[test]
fn conf_backchannel_wrong_alg_rejected() {
    // RS256 registered; the OP signs with ES256 using a valid key from its JWKS, and vice versa.
    let rs = TestKey::rsa(Some("rs"));
    let es = TestKey::ec(Alg::ES256, Some("es"));
    let ks = keyset(&[&rs, &es]);
    let t = parse(&es.mint(&claims())).unwrap();
    assert_eq!(verify_signature(&t, &ks), Ok(()));
    assert_eq!(
        verify_signature_with_algs(&t, &ks, Some(&[Alg::RS256])),
        Err(JoseError::AlgNotAllowed)
    );
    let t = parse(&rs.mint(&claims())).unwrap();
    assert_eq!(
        verify_signature_with_algs(&t, &ks, Some(&[Alg::ES256])),
        Err(JoseError::AlgNotAllowed)
    );
}

// ------------------------------------------------------------------------------------------------
// Key files and JWK details.

#[test]
fn cert_files_of_every_key_type() {
    let rsa = TestKey::rsa(Some("r"));
    let ec256 = TestKey::ec(Alg::ES256, Some("e"));
    let ec521 = TestKey::ec(Alg::ES512, Some("e5"));
    let ed = TestKey::ed25519(Some("d"));
    for k in [&rsa, &ec256, &ec521, &ed] {
        let t = k.mint(&claims());
        for pem in [k.cert_pem(), k.public_pem()] {
            let path = temp_file(pem.as_bytes());
            let p = path.to_str().unwrap();
            let kid = k.kid.as_deref().unwrap();
            let ks = KeySet::from_cert_file_spec(&format!("{kid}#{p}")).unwrap();
            assert_eq!(ks.len(), 1);
            assert!(ks.has_kid(kid));
            assert_eq!(verify(&t, &ks), Ok(()), "{}", k.alg);
            // Without a kid in the spec the key has none: a token with a kid finds no key,
            // a token without one verifies.
            let anon = KeySet::from_cert_file_spec(p).unwrap();
            assert!(anon.iter().all(|j| j.kid.is_none()));
            assert_eq!(verify(&t, &anon), Err(JoseError::UnknownKid));
            assert_eq!(verify(&k.with_kid(None).mint(&claims()), &anon), Ok(()));
            let _ = std::fs::remove_file(path);
        }
    }
    // PKCS#1 "RSA PUBLIC KEY".
    let pkcs1 = rsa
        .pkey()
        .unwrap()
        .rsa()
        .unwrap()
        .public_key_to_pem_pkcs1()
        .unwrap();
    let path = temp_file(&pkcs1);
    let ks = KeySet::from_cert_file_spec(&format!("r#{}", path.to_str().unwrap())).unwrap();
    assert_eq!(verify(&rsa.mint(&claims()), &ks), Ok(()));
    let _ = std::fs::remove_file(path);
}

#[test]
fn cert_file_errors() {
    let missing = std::env::temp_dir().join("jose-test-does-not-exist.pem");
    assert!(matches!(
        KeySet::from_cert_file_spec(missing.to_str().unwrap()),
        Err(JoseError::Config(_))
    ));
    for contents in [
        &b"garbage"[..],
        b"",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        let path = temp_file(contents);
        assert!(matches!(
            KeySet::from_cert_file_spec(path.to_str().unwrap()),
            Err(JoseError::Config(_))
        ));
        let _ = std::fs::remove_file(path);
    }
    // A private key file is not a public key/certificate; an unsupported curve is refused.
    let rsa = TestKey::rsa(None);
    let path = temp_file(&rsa.pkey().unwrap().private_key_to_pem_pkcs8().unwrap());
    assert!(KeySet::from_cert_file_spec(path.to_str().unwrap()).is_err());
    let _ = std::fs::remove_file(path);
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::SECP256K1).unwrap();
    let k1 = PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
    let path = temp_file(&k1.public_key_to_pem().unwrap());
    assert!(KeySet::from_cert_file_spec(path.to_str().unwrap()).is_err());
    let _ = std::fs::remove_file(path);
    assert!(KeySet::from_cert_file_spec("").is_err());
    assert!(KeySet::from_cert_file_spec("sig:kid#").is_err());
}

#[test]
fn shared_key_specs_verify() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let t_kid = TestKey::hmac(secret, Some("k1"), Alg::HS256).mint(&claims());
    let t_anon = TestKey::hmac(secret, None, Alg::HS256).mint(&claims());
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(secret)
    };
    for spec in [
        "k1#0123456789abcdef0123456789abcdef".to_owned(),
        "plain#k1#0123456789abcdef0123456789abcdef".to_owned(),
        format!("hex#k1#{hex}"),
        format!("b64#k1#{b64}"),
        format!("sig:b64url#k1#{}", b64url_encode(secret)),
    ] {
        let ks = KeySet::from_shared_key_spec(&spec).unwrap();
        assert!(ks.has_kid("k1"), "{spec}");
        assert_eq!(verify(&t_kid, &ks), Ok(()), "{spec}");
        assert_eq!(verify(&t_anon, &ks), Ok(()), "{spec}");
    }
    let ks = KeySet::from_shared_key_spec(&format!("hex##{hex}")).unwrap();
    assert_eq!(verify(&t_anon, &ks), Ok(()));
    assert_eq!(verify(&t_kid, &ks), Err(JoseError::UnknownKid));
}

#[test]
fn jwk_x5c_only_and_padded_members_accepted() {
    let rsa = TestKey::rsa(Some("x"));
    let ec = TestKey::ec(Alg::ES384, Some("y"));
    let doc = jwks_of(vec![
        json!({"kty": "RSA", "kid": "x", "x5c": [rsa.cert_x5c()]}),
        json!({"kty": "EC", "crv": "P-384", "kid": "y", "x5c": [ec.cert_x5c()]}),
        json!({"kty": "EC", "crv": "P-256", "kid": "z", "x5c": [ec.cert_x5c()]}),
    ]);
    let (ks, skipped) = KeySet::from_jwks_json_report(doc.as_bytes()).unwrap();
    assert_eq!(ks.len(), 2);
    assert_eq!(skipped.len(), 1);
    assert_eq!(verify(&rsa.mint(&claims()), &ks), Ok(()));
    assert_eq!(verify(&ec.mint(&claims()), &ks), Ok(()));
    // Some providers pad JWK members; key material is decoded leniently.
    let mut jwk = rsa.jwk();
    let n = jwk["n"].as_str().unwrap().to_owned();
    jwk["n"] = format!("{n}{}", "=".repeat((4 - n.len() % 4) % 4)).into();
    jwk["e"] = "AQAB".into();
    let ks = KeySet::from_jwks_json(jwks_of(vec![jwk]).as_bytes()).unwrap();
    assert_eq!(verify(&rsa.mint(&claims()), &ks), Ok(()));
    // Too many keys: the first MAX_JWKS_KEYS are considered.
    let many: Vec<Value> = (0..super::jwk::MAX_JWKS_KEYS + 5)
        .map(|i| rsa.with_kid(Some(&format!("k{i}"))).jwk())
        .collect();
    let (ks, skipped) = KeySet::from_jwks_json_report(jwks_of(many).as_bytes()).unwrap();
    assert_eq!(ks.len(), super::jwk::MAX_JWKS_KEYS);
    assert_eq!(skipped.len(), 5);
}

#[test]
fn non_object_header_or_payload_rejected() {
    let k = TestKey::rsa(Some("k"));
    let h = r#"{"alg":"RS256","kid":"k"}"#;
    for p in [r#"["sub"]"#, r#""sub""#, "42", "null", "true"] {
        assert_eq!(
            parse(&raw(&k, h, p)).err(),
            Some(JoseError::NotJsonObject),
            "{p}"
        );
    }
    for bad_h in [r#"["RS256"]"#, r#""RS256""#] {
        assert_eq!(
            parse(&raw(&k, bad_h, r#"{"sub":"a"}"#)).err(),
            Some(JoseError::NotJsonObject)
        );
    }
    assert_eq!(parse(&raw(&k, h, "")).err(), Some(JoseError::NotCompactJws));
    assert_eq!(parse(&raw(&k, h, "{")).err(), Some(JoseError::BadJson));
}

/// Deterministic pseudo-random numbers for the mutation tests (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_tokens_never_verify_or_panic() {
    let keys = all_signing_keys();
    let ks = keyset_for(&keys);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x00";
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for k in &keys {
        let t = k.mint(&claims());
        let bytes = t.as_bytes();
        for _ in 0..300 {
            let mut m = bytes.to_vec();
            match rng.below(4) {
                0 => {
                    let i = rng.below(m.len());
                    m[i] = alphabet[rng.below(alphabet.len())];
                }
                1 => m.truncate(rng.below(m.len())),
                2 => {
                    let i = rng.below(m.len());
                    m.insert(i, alphabet[rng.below(alphabet.len())]);
                }
                _ => {
                    let i = rng.below(m.len());
                    m.remove(i);
                }
            }
            let Ok(s) = String::from_utf8(m) else {
                continue;
            };
            if s == t {
                continue;
            }
            // Some mutations only touch unused trailing bits... which strict base64url refuses, so
            // no mutated token may verify at all.
            if let Ok(jws) = parse(&s) {
                assert!(
                    verify_signature(&jws, &ks).is_err(),
                    "{} accepted a mutated token",
                    k.alg
                );
            }
        }
    }
}

#[test]
fn mutated_jwks_never_panic() {
    let keys = [
        TestKey::rsa(Some("r")),
        TestKey::ec(Alg::ES256, Some("e")),
        TestKey::ec(Alg::ES512, Some("e5")),
        TestKey::ed25519(Some("d")),
    ];
    let doc = jwks(&keys.iter().collect::<Vec<_>>());
    let mut rng = Rng(0xfeed_beef_cafe_f00d);
    let junk = b"{}[]\",:0123456789-_AZaz \\nulltrue";
    for _ in 0..2000 {
        let mut m = doc.as_bytes().to_vec();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(m.len());
            m[i] = junk[rng.below(junk.len())];
        }
        if let Ok(set) = KeySet::from_jwks_json(&m) {
            assert!(set.len() <= keys.len());
        }
    }
}
