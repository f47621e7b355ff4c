//! Compact JWS signing (RFC 7515 §7.1) for what the relying party itself signs: client
//! assertions at the token endpoint (`client_secret_jwt`, `private_key_jwt`, RFC 7523) and,
//! later, request objects.
//!
//! A [`SigningKey`] is an RSA (2048..=8192 bits) or EC (P-256/384/521) private key read from PEM
//! (`OIDCPrivateKeyFiles`), or an HMAC secret (the client secret). Signatures are made exactly as
//! the verifier in [`super::verify_signature`] checks them: PKCS#1 v1.5 for RS*, PSS with salt
//! length = hash length and MGF1 with the same hash for PS*, raw fixed-length R||S for ES*.

use std::fmt;

use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use serde_json::{Map, Value};

use super::jwk::{MAX_RSA_BITS, MIN_RSA_BITS};
use super::{Alg, Curve, JoseError, KeyFamily, b64url_encode};

#[derive(Clone)]
enum Material {
    Rsa { key: PKey<Private>, bits: u32 },
    Ec { key: PKey<Private>, curve: Curve },
    Hmac { key: PKey<Private>, len: usize },
}

/// A key to sign with, and its key identifier (put into the JWS `kid` header).
#[derive(Clone)]
pub struct SigningKey {
    kid: Option<String>,
    material: Material,
}

impl fmt::Debug for SigningKey {
    // Hand-written: neither the private key nor the HMAC secret may ever reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.material {
            Material::Rsa { bits, .. } => format!("RSA {bits} bits"),
            Material::Ec { curve, .. } => format!("EC {}", curve.name()),
            Material::Hmac { len, .. } => format!("HMAC secret of {len} bytes"),
        };
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("kind", &kind)
            .finish()
    }
}

impl SigningKey {
    /// A private key from PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`). RSA keys must have 2048 to 8192 bits, EC keys must be on P-256, P-384
    /// or P-521. Encrypted PEM is refused (no passphrase prompt is ever attempted).
    pub fn from_pem(kid: Option<String>, pem: &[u8]) -> Result<SigningKey, JoseError> {
        // A callback that supplies no passphrase: without it OpenSSL's default callback may try
        // to read one from the terminal.
        let pkey = PKey::private_key_from_pem_callback(pem, |_buf| Ok(0))
            .map_err(|_| JoseError::config("not an unencrypted PEM private key"))?;
        SigningKey::from_pkey(kid, pkey)
    }

    /// A private key from DER PKCS#8 (as the config layer keeps `OIDCPrivateKeyFiles`), with
    /// the rules of [`SigningKey::from_pem`].
    pub fn from_pkcs8_der(kid: Option<String>, der: &[u8]) -> Result<SigningKey, JoseError> {
        let pkey = PKey::private_key_from_pkcs8(der)
            .map_err(|_| JoseError::config("not a PKCS#8 private key"))?;
        SigningKey::from_pkey(kid, pkey)
    }

    fn from_pkey(kid: Option<String>, pkey: PKey<Private>) -> Result<SigningKey, JoseError> {
        let material = match pkey.id() {
            Id::RSA => {
                let rsa = pkey
                    .rsa()
                    .map_err(|_| JoseError::config("cannot read the RSA private key"))?;
                let bits = u32::try_from(rsa.n().num_bits()).unwrap_or(0);
                if bits < MIN_RSA_BITS {
                    return Err(JoseError::config("RSA private key shorter than 2048 bits"));
                }
                if bits > MAX_RSA_BITS {
                    return Err(JoseError::config("RSA private key longer than 8192 bits"));
                }
                if !rsa.check_key().unwrap_or(false) {
                    return Err(JoseError::config("RSA private key is inconsistent"));
                }
                Material::Rsa { key: pkey, bits }
            }
            Id::EC => {
                let ec = pkey
                    .ec_key()
                    .map_err(|_| JoseError::config("cannot read the EC private key"))?;
                let curve = ec
                    .group()
                    .curve_name()
                    .and_then(Curve::from_nid)
                    .ok_or_else(|| {
                        JoseError::config("unsupported EC curve (P-256, P-384 or P-521 only)")
                    })?;
                ec.check_key()
                    .map_err(|_| JoseError::config("EC private key is inconsistent"))?;
                Material::Ec { key: pkey, curve }
            }
            _ => {
                return Err(JoseError::config(
                    "unsupported private key type (RSA or EC only)",
                ));
            }
        };
        Ok(SigningKey { kid, material })
    }

    /// An HMAC secret (for HS256/384/512, e.g. the client secret for `client_secret_jwt`).
    /// Secrets shorter than the hash are accepted for signing, as the reference module does: the
    /// provider that verifies decides whether it takes them.
    pub fn from_hmac_secret(kid: Option<String>, secret: &[u8]) -> Result<SigningKey, JoseError> {
        if secret.is_empty() {
            return Err(JoseError::config("HMAC secret is empty"));
        }
        let key = PKey::hmac(secret).map_err(|_| JoseError::config("cannot create HMAC key"))?;
        Ok(SigningKey {
            kid,
            material: Material::Hmac {
                key,
                len: secret.len(),
            },
        })
    }

    /// The same key with another key identifier.
    pub fn with_kid(mut self, kid: Option<String>) -> SigningKey {
        self.kid = kid;
        self
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm used when none is configured: RS256 for RSA, ES256/ES384/ES512 by the EC
    /// curve, HS256 for an HMAC secret (as the reference module picks for `private_key_jwt`).
    pub fn default_alg(&self) -> Alg {
        match &self.material {
            Material::Rsa { .. } => Alg::RS256,
            Material::Ec { curve, .. } => match curve {
                Curve::P256 => Alg::ES256,
                Curve::P384 => Alg::ES384,
                Curve::P521 => Alg::ES512,
            },
            Material::Hmac { .. } => Alg::HS256,
        }
    }

    /// True when this key can sign with `alg` (RSA: RS*/PS*; EC: the ES* of its curve; HMAC: HS*).
    pub fn supports(&self, alg: Alg) -> bool {
        matches!(
            (&self.material, alg.family()),
            (Material::Rsa { .. }, KeyFamily::Rsa) | (Material::Hmac { .. }, KeyFamily::Oct)
        ) || matches!((&self.material, alg.family()),
            (Material::Ec { curve, .. }, KeyFamily::Ec(c)) if *curve == c)
    }

    /// The public key as SubjectPublicKeyInfo PEM (`None` for an HMAC secret), e.g. to publish
    /// the client's keys or to verify our own signatures in tests.
    pub fn public_key_pem(&self) -> Option<Vec<u8>> {
        match &self.material {
            Material::Rsa { key, .. } | Material::Ec { key, .. } => key.public_key_to_pem().ok(),
            Material::Hmac { .. } => None,
        }
    }

    /// The raw JWS signature of `input`.
    fn sign_bytes(&self, alg: Alg, input: &[u8]) -> Result<Vec<u8>, JoseError> {
        if !self.supports(alg) {
            return Err(JoseError::NoSuitableKey);
        }
        let failed = |_| JoseError::CryptoFailure;
        match &self.material {
            Material::Rsa { key, .. } => {
                let mut s = Signer::new(alg.digest(), key).map_err(failed)?;
                if alg.is_pss() {
                    s.set_rsa_padding(Padding::PKCS1_PSS).map_err(failed)?;
                    s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                        .map_err(failed)?;
                    s.set_rsa_mgf1_md(alg.digest()).map_err(failed)?;
                } else {
                    s.set_rsa_padding(Padding::PKCS1).map_err(failed)?;
                }
                s.sign_oneshot_to_vec(input).map_err(failed)
            }
            Material::Ec { key, curve } => {
                let mut s = Signer::new(alg.digest(), key).map_err(failed)?;
                let der = s.sign_oneshot_to_vec(input).map_err(failed)?;
                let sig = EcdsaSig::from_der(&der).map_err(failed)?;
                // RFC 7518 §3.4: R and S each left-padded to the coordinate size.
                let len = i32::try_from(curve.coord_len()).map_err(|_| JoseError::CryptoFailure)?;
                let mut out = sig.r().to_vec_padded(len).map_err(failed)?;
                out.extend(sig.s().to_vec_padded(len).map_err(failed)?);
                Ok(out)
            }
            Material::Hmac { key, .. } => {
                let mut s = Signer::new(alg.digest(), key).map_err(failed)?;
                s.update(input).map_err(failed)?;
                s.sign_to_vec().map_err(failed)
            }
        }
    }
}

/// Sign `claims` as a compact JWS with `key` and `alg`. The header is `header` with `alg` set to
/// `alg` (replacing any `alg` given) and, when the key has a kid and `header` has no `kid`, the
/// key's kid added. `EdDSA` is not offered for signing. Errors: `NoSuitableKey` when the key
/// cannot sign with `alg`, `CryptoFailure` when openssl fails.
pub fn sign_compact(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    key: &SigningKey,
    alg: Alg,
) -> Result<String, JoseError> {
    let mut header = header.clone();
    header.insert("alg".into(), Value::String(alg.name().into()));
    if let Some(kid) = &key.kid
        && !header.contains_key("kid")
    {
        header.insert("kid".into(), Value::String(kid.clone()));
    }
    let header_json = serde_json::to_vec(&header).map_err(|_| JoseError::CryptoFailure)?;
    let claims_json = serde_json::to_vec(claims).map_err(|_| JoseError::CryptoFailure)?;
    let input = format!(
        "{}.{}",
        b64url_encode(&header_json),
        b64url_encode(&claims_json)
    );
    let sig = key.sign_bytes(alg, input.as_bytes())?;
    Ok(format!("{input}.{}", b64url_encode(&sig)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::testkit::TestKey;
    use crate::jose::{Jwk, KeySet, parse_compact, verify_signature, verify_signature_with_algs};
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn private_pem(k: &TestKey) -> Vec<u8> {
        k.pkey().unwrap().private_key_to_pem_pkcs8().unwrap()
    }

    fn keyset_for(k: &SigningKey, kid: Option<&str>) -> KeySet {
        let mut ks = KeySet::new();
        ks.push(Jwk::from_pem(kid.map(str::to_owned), &k.public_key_pem().unwrap()).unwrap());
        ks
    }

    fn claims() -> Map<String, Value> {
        obj(
            json!({"iss": "client", "sub": "client", "aud": "https://op/token", "exp": 2, "iat": 1}),
        )
    }

    #[test]
    fn rsa_round_trips_for_every_rs_and_ps_alg() {
        let sk =
            SigningKey::from_pem(Some("r1".into()), &private_pem(&TestKey::rsa(None))).unwrap();
        let ks = keyset_for(&sk, Some("r1"));
        for alg in [
            Alg::RS256,
            Alg::RS384,
            Alg::RS512,
            Alg::PS256,
            Alg::PS384,
            Alg::PS512,
        ] {
            let t = sign_compact(&Map::new(), &claims(), &sk, alg).unwrap();
            let p = parse_compact(&t, 16 * 1024).unwrap();
            assert_eq!(p.alg, alg);
            assert_eq!(p.kid.as_deref(), Some("r1"));
            assert_eq!(p.claims, claims());
            verify_signature_with_algs(&p, &ks, Some(&[alg])).unwrap();
        }
    }

    #[test]
    fn ec_round_trips_with_fixed_length_signatures() {
        for alg in [Alg::ES256, Alg::ES384, Alg::ES512] {
            let tk = TestKey::ec(alg, None);
            // SEC1 "EC PRIVATE KEY" PEM as openssl writes it.
            let pem = tk
                .pkey()
                .unwrap()
                .ec_key()
                .unwrap()
                .private_key_to_pem()
                .unwrap();
            let sk = SigningKey::from_pem(None, &pem).unwrap();
            assert_eq!(sk.default_alg(), alg);
            let ks = keyset_for(&sk, None);
            // Several signatures: a short R or S must still be padded to the full length.
            for _ in 0..8 {
                let t = sign_compact(&Map::new(), &claims(), &sk, alg).unwrap();
                let p = parse_compact(&t, 16 * 1024).unwrap();
                let KeyFamily::Ec(curve) = alg.family() else {
                    panic!()
                };
                assert_eq!(p.signature().len(), 2 * curve.coord_len());
                assert!(!p.header.contains_key("kid"));
                verify_signature(&p, &ks).unwrap();
            }
        }
    }

    #[test]
    fn hmac_round_trips_and_keeps_given_header_members() {
        let secret = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let sk = SigningKey::from_hmac_secret(None, secret).unwrap();
        let ks = KeySet::from_shared_key_spec(std::str::from_utf8(secret).unwrap()).unwrap();
        for alg in [Alg::HS256, Alg::HS384, Alg::HS512] {
            let header = obj(json!({"typ": "JWT", "alg": "none"}));
            let t = sign_compact(&header, &claims(), &sk, alg).unwrap();
            let p = parse_compact(&t, 16 * 1024).unwrap();
            assert_eq!(p.header["typ"], "JWT");
            assert_eq!(p.header["alg"], alg.name(), "given alg is replaced");
            verify_signature(&p, &ks).unwrap();
        }
        // A different secret does not verify.
        let other = SigningKey::from_hmac_secret(None, &[7u8; 64]).unwrap();
        let t = sign_compact(&Map::new(), &claims(), &other, Alg::HS256).unwrap();
        assert_eq!(
            verify_signature(&parse_compact(&t, 16 * 1024).unwrap(), &ks),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn signature_from_another_rsa_key_does_not_verify() {
        let a =
            SigningKey::from_pem(None, &private_pem(&TestKey::rsa_n(0, None, Alg::RS256))).unwrap();
        let b =
            SigningKey::from_pem(None, &private_pem(&TestKey::rsa_n(1, None, Alg::RS256))).unwrap();
        let t = sign_compact(&Map::new(), &claims(), &a, Alg::RS256).unwrap();
        assert_eq!(
            verify_signature(
                &parse_compact(&t, 16 * 1024).unwrap(),
                &keyset_for(&b, None)
            ),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn header_kid_wins_over_key_kid() {
        let sk = SigningKey::from_hmac_secret(Some("key-kid".into()), &[1u8; 32]).unwrap();
        let t = sign_compact(&obj(json!({"kid": "given"})), &claims(), &sk, Alg::HS256).unwrap();
        assert_eq!(
            parse_compact(&t, 16 * 1024).unwrap().kid.as_deref(),
            Some("given")
        );
    }

    #[test]
    fn key_and_alg_must_fit() {
        let rsa = SigningKey::from_pem(None, &private_pem(&TestKey::rsa(None))).unwrap();
        let ec = SigningKey::from_pem(None, &private_pem(&TestKey::ec(Alg::ES256, None))).unwrap();
        let h = SigningKey::from_hmac_secret(None, &[1u8; 32]).unwrap();
        for (k, bad) in [
            (&rsa, Alg::ES256),
            (&rsa, Alg::HS256),
            (&rsa, Alg::EdDSA),
            (&ec, Alg::ES384),
            (&ec, Alg::RS256),
            (&h, Alg::RS256),
            (&h, Alg::ES256),
        ] {
            assert_eq!(
                sign_compact(&Map::new(), &claims(), k, bad),
                Err(JoseError::NoSuitableKey),
                "{k:?} {bad}"
            );
        }
        assert!(rsa.supports(Alg::PS512) && ec.supports(Alg::ES256) && h.supports(Alg::HS512));
    }

    #[test]
    fn weak_or_unsupported_keys_are_refused() {
        let small = Rsa1024::pem();
        assert!(matches!(
            SigningKey::from_pem(None, &small),
            Err(JoseError::Config(m)) if m.contains("2048")
        ));
        let ed = TestKey::ed25519(None);
        assert!(SigningKey::from_pem(None, &private_pem(&ed)).is_err());
        // A public key is not a private key.
        assert!(SigningKey::from_pem(None, TestKey::rsa(None).public_pem().as_bytes()).is_err());
        assert!(SigningKey::from_pem(None, b"garbage").is_err());
        assert!(SigningKey::from_hmac_secret(None, b"").is_err());
        // Encrypted PEM: refused without prompting.
        let enc = TestKey::rsa(None)
            .pkey()
            .unwrap()
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .unwrap();
        assert!(SigningKey::from_pem(None, &enc).is_err());
    }

    struct Rsa1024;
    impl Rsa1024 {
        fn pem() -> Vec<u8> {
            let rsa = openssl::rsa::Rsa::generate(1024).unwrap();
            rsa.private_key_to_pem().unwrap()
        }
    }

    #[test]
    fn debug_never_shows_key_material() {
        let secret = b"super-secret-client-secret-value";
        let h = SigningKey::from_hmac_secret(Some("k".into()), secret).unwrap();
        let d = format!("{h:?}");
        assert!(!d.contains("super-secret"), "{d}");
        assert!(d.contains("32 bytes"));
        let rsa = SigningKey::from_pem(None, &private_pem(&TestKey::rsa(None))).unwrap();
        let d = format!("{rsa:?}");
        assert!(d.contains("RSA 2048") && !d.contains("BEGIN"), "{d}");
    }
}
