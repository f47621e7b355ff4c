use super::*;

const IT: u32 = 2;

fn keys(pass: &str) -> CryptoKeys {
    CryptoKeys::derive_with_iterations(pass, None, IT)
}

fn raw(sealed: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(sealed).unwrap()
}

fn enc(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn round_trip() {
    let k = keys("secret");
    for pt in [&b""[..], b"x", b"hello world", &[0u8; 5000][..]] {
        let s = seal(&k, b"state", pt).unwrap();
        assert_eq!(open(&k, b"state", &s).unwrap(), pt);
        // version || IV || ciphertext (same length as plaintext) || tag
        assert_eq!(raw(&s).len(), 1 + 12 + pt.len() + 16);
        assert_eq!(raw(&s)[0], ENVELOPE_VERSION);
        assert!(
            s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }
}

#[test]
fn other_context_label_fails() {
    let k = keys("secret");
    let s = seal(&k, b"state", b"payload").unwrap();
    assert_eq!(
        open(&k, b"session", &s),
        Err(CryptoError::AuthenticationFailed)
    );
    assert_eq!(open(&k, b"", &s), Err(CryptoError::AuthenticationFailed));
    assert_eq!(
        open(&k, b"statex", &s),
        Err(CryptoError::AuthenticationFailed)
    );
    assert!(open(&k, b"state", &s).is_ok());
}

#[test]
fn any_flipped_bit_fails() {
    let k = keys("secret");
    let s = seal(&k, b"cache", b"some cached value").unwrap();
    let r = raw(&s);
    let n = r.len();
    // version byte, every IV byte, every ciphertext byte, every tag byte
    for i in 0..n {
        for bit in [0x01u8, 0x80] {
            let mut t = r.clone();
            t[i] ^= bit;
            let e = open(&k, b"cache", &enc(&t)).unwrap_err();
            if i == 0 {
                assert_eq!(e, CryptoError::UnsupportedVersion, "byte {i}");
            } else {
                assert_eq!(e, CryptoError::AuthenticationFailed, "byte {i}");
            }
        }
    }
}

#[test]
fn unknown_version_with_valid_rest_fails() {
    let k = keys("secret");
    let r = raw(&seal(&k, b"state", b"v").unwrap());
    for v in [0x00u8, 0x02, 0xff] {
        let mut t = r.clone();
        t[0] = v;
        assert_eq!(
            open(&k, b"state", &enc(&t)),
            Err(CryptoError::UnsupportedVersion)
        );
    }
}

#[test]
fn truncated_and_extended_fail() {
    let k = keys("secret");
    let s = seal(&k, b"state", b"payload").unwrap();
    let r = raw(&s);
    for len in 0..r.len() {
        let e = open(&k, b"state", &enc(&r[..len])).unwrap_err();
        let expect = if len < MIN_RAW_LEN {
            CryptoError::Malformed
        } else {
            CryptoError::AuthenticationFailed
        };
        assert_eq!(e, expect, "len {len}");
    }
    // bytes dropped from the front too
    for skip in 1..r.len() {
        assert!(open(&k, b"state", &enc(&r[skip..])).is_err());
    }
    let mut longer = r.clone();
    longer.push(0);
    assert_eq!(
        open(&k, b"state", &enc(&longer)),
        Err(CryptoError::AuthenticationFailed)
    );
    // text-level truncation (may leave a non-canonical base64 tail) and extension
    for cut in 1..s.len() {
        assert!(open(&k, b"state", &s[..cut]).is_err());
    }
    assert!(open(&k, b"state", &format!("{s}A")).is_err());
    assert!(open(&k, b"state", &format!("{s}AAAA")).is_err());
}

#[test]
fn empty_non_base64_and_padding_fail() {
    let k = keys("secret");
    let s = seal(&k, b"state", b"payload").unwrap();
    assert_eq!(open(&k, b"state", ""), Err(CryptoError::Malformed));
    for bad in [
        format!("{s}="),
        format!("{s}=="),
        format!(" {s}"),
        format!("{s}\n"),
        s.replace('-', "+").replace('_', "/") + "+/",
        format!("{}.{}", &s[..10], &s[10..]),
        "not base64 at all!".to_string(),
        "é".repeat(40),
    ] {
        assert!(open(&k, b"state", &bad).is_err(), "{bad:?}");
    }
    // standard-alphabet encoding of a valid envelope is rejected (strict base64url)
    let std_enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(raw(&s));
    if std_enc != s {
        assert_eq!(open(&k, b"state", &std_enc), Err(CryptoError::Malformed));
    }
}

#[test]
fn oversized_input_fails_before_decoding() {
    let k = keys("secret");
    let big = "A".repeat(100 * 1024);
    assert_eq!(open(&k, b"state", &big), Err(CryptoError::TooLong));
    let just_over = "A".repeat(MAX_SEALED_LEN + 1);
    assert_eq!(open(&k, b"state", &just_over), Err(CryptoError::TooLong));
    // a genuine value just under the cap still opens
    let pt = vec![7u8; (MAX_SEALED_LEN / 4) * 3 - MIN_RAW_LEN];
    let s = seal(&k, b"state", &pt).unwrap();
    assert!(s.len() <= MAX_SEALED_LEN);
    assert_eq!(open(&k, b"state", &s).unwrap(), pt);
    // and a genuine value over the cap is refused
    let s = seal(&k, b"state", &vec![7u8; 100 * 1024]).unwrap();
    assert_eq!(open(&k, b"state", &s), Err(CryptoError::TooLong));
}

#[test]
fn two_seals_differ() {
    let k = keys("secret");
    let a = seal(&k, b"state", b"same").unwrap();
    let b = seal(&k, b"state", b"same").unwrap();
    assert_ne!(a, b);
    assert_ne!(raw(&a)[1..13], raw(&b)[1..13], "IVs must differ");
}

#[test]
fn rollover_previous_passphrase() {
    let old = keys("old-pass");
    let old_value = seal(&old, b"session", b"from before").unwrap();

    let rolled = CryptoKeys::derive_with_iterations("new-pass", Some("old-pass"), IT);
    assert!(rolled.has_previous());
    assert_eq!(
        open(&rolled, b"session", &old_value).unwrap(),
        b"from before"
    );

    let new_value = seal(&rolled, b"session", b"after").unwrap();
    assert_eq!(open(&rolled, b"session", &new_value).unwrap(), b"after");
    // sealed with the new key only: the old passphrase alone cannot open it
    assert_eq!(
        open(&old, b"session", &new_value),
        Err(CryptoError::AuthenticationFailed)
    );
    let new_only = keys("new-pass");
    assert_eq!(open(&new_only, b"session", &new_value).unwrap(), b"after");
    // once the previous passphrase is dropped, old values no longer open
    assert_eq!(
        open(&new_only, b"session", &old_value),
        Err(CryptoError::AuthenticationFailed)
    );
    // the context label still binds under rollover
    assert_eq!(
        open(&rolled, b"state", &old_value),
        Err(CryptoError::AuthenticationFailed)
    );
}

#[test]
fn wrong_passphrase_fails() {
    let s = seal(&keys("right"), b"state", b"x").unwrap();
    assert_eq!(
        open(&keys("wrong"), b"state", &s),
        Err(CryptoError::AuthenticationFailed)
    );
    assert_eq!(
        open(&keys("Right"), b"state", &s),
        Err(CryptoError::AuthenticationFailed)
    );
    // same passphrase, different iteration count: a different key
    let other = CryptoKeys::derive_with_iterations("right", None, IT + 1);
    assert!(open(&other, b"state", &s).is_err());
}

#[test]
fn kdf_known_answer_small_iterations() {
    // independent vector: Python hashlib.pbkdf2_hmac('sha256', b'password',
    // b'mod_auth_openidc-crypto-passphrase-v1', 1)
    let k = CryptoKeys::derive_with_iterations("password", None, 1);
    assert_eq!(
        hex(&k.current.as_ref().unwrap().0),
        "0a91490df51487ef112304722890c742023af3d004409be14a62d21b45677afe"
    );
    // an iteration count of 0 is treated as 1 rather than failing
    let z = CryptoKeys::derive_with_iterations("password", None, 0);
    assert_eq!(z.current.as_ref().unwrap().0, k.current.as_ref().unwrap().0);
}

#[test]
fn kdf_default_iterations_known_answer() {
    // the one test of the real cost: 210_000 iterations, checked against Python's hashlib
    let k = CryptoKeys::derive("password", None);
    assert_eq!(
        hex(&k.current.as_ref().unwrap().0),
        "01fccabba70c875cd9e5c090014497e9e77ef33369fd7ad832fe3bcbfc88896e"
    );
    assert!(!k.has_previous());
    let s = seal(&k, b"state", b"default").unwrap();
    assert_eq!(open(&k, b"state", &s).unwrap(), b"default");
}

#[test]
fn unusable_keys_fail_closed() {
    let k = CryptoKeys {
        current: None,
        previous: None,
    };
    assert_eq!(seal(&k, b"state", b"x"), Err(CryptoError::KeyUnavailable));
    let s = seal(&keys("p"), b"state", b"x").unwrap();
    assert_eq!(open(&k, b"state", &s), Err(CryptoError::KeyUnavailable));
}

#[test]
fn debug_and_errors_hide_key_material() {
    let k = CryptoKeys::derive_with_iterations("hunter2-passphrase", Some("old-one"), IT);
    let d = format!("{k:?}");
    assert!(!d.contains("hunter2") && !d.contains("old-one"), "{d}");
    let key_hex = hex(&k.current.as_ref().unwrap().0);
    assert!(!d.to_lowercase().contains(&key_hex[..8]), "{d}");
    let bytes = format!("{:?}", k.current.as_ref().unwrap().0);
    assert!(!d.contains(&bytes));
    assert!(d.contains("redacted"));
    for e in [
        CryptoError::TooLong,
        CryptoError::Malformed,
        CryptoError::UnsupportedVersion,
        CryptoError::AuthenticationFailed,
        CryptoError::KeyUnavailable,
        CryptoError::Internal,
    ] {
        let m = format!("{e} {e:?}");
        assert!(!m.contains("hunter2") && !m.contains(&key_hex[..8]));
    }
}

#[test]
fn random_token_shape_and_uniqueness() {
    for n in [0usize, 1, 2, 3, 16, 32, 64] {
        let t = random_token(n).unwrap();
        assert_eq!(t.len(), (n * 4).div_ceil(3), "n={n}");
        assert!(
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{t}"
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(&t).unwrap().len(), n);
    }
    assert_eq!(random_token(32).unwrap().len(), 43);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        assert!(seen.insert(random_token(16).unwrap()));
    }
}

#[test]
fn ct_eq_behaves_like_eq() {
    assert!(ct_eq(b"", b""));
    assert!(ct_eq(b"abc", b"abc"));
    assert!(!ct_eq(b"abc", b"abd"));
    assert!(!ct_eq(b"abc", b"Abc"));
    assert!(!ct_eq(b"abc", b"ab"));
    assert!(!ct_eq(b"ab", b"abc"));
    assert!(!ct_eq(b"", b"a"));
    let a = random_token(32).unwrap();
    assert!(ct_eq(a.as_bytes(), a.clone().as_bytes()));
}

#[test]
fn pkce_s256_rfc7636_appendix_b() {
    // the RFC's own example (Appendix B), as published
    assert_eq!(
        pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    // a second, independent vector (Python: base64.urlsafe_b64encode(hashlib.sha256(v)))
    assert_eq!(
        pkce_s256("dBjftJeZ4CVP-mJ0kZfldR5HjF8VWZ3ryNhIYn8nJGN0wQv6dgKnY4l2XpFh7qJJ"),
        "3fxP05EABGNCyN1ZfIVbYeeTAoykJZNPYqE5a8KwEGg"
    );
    assert_eq!(pkce_s256("").len(), 43);
    assert_ne!(pkce_s256("a"), pkce_s256("b"));
}
