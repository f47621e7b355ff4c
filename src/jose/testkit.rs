//! Test helpers (compiled only for `cargo test`): make keys with openssl, publish them as JWK/JWKS/PEM,
//! and sign compact JWS tokens with any header and claims, so every module's tests can mint tokens.
//!
//! ```ignore
//! use crate::jose::testkit::{TestKey, jwks};
//! let key = TestKey::rsa(Some("k1"));
//! let keys = crate::jose::KeySet::from_jwks_json(jwks(&[&key]).as_bytes()).unwrap();
//! let token = key.mint(&serde_json::json!({"sub": "alice", "exp": 4_000_000_000i64}));
//! ```
//!
//! RSA generation is slow, so `TestKey::rsa`/`rsa_n` reuse a few cached 2048-bit keys; each EC curve
//! and Ed25519 likewise have one cached key (`*_fresh` constructors make new ones).

use std::sync::OnceLock;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer};
use openssl::x509::{X509, X509NameBuilder};
use serde_json::{Map, Value, json};

use super::{Alg, Curve, KeyFamily, b64url_encode};

/// A private key (or HMAC secret) with the kid and alg it signs with.
#[derive(Clone)]
pub struct TestKey {
    pub kid: Option<String>,
    pub alg: Alg,
    material: Material,
}

#[derive(Clone)]
enum Material {
    Asym(PKey<Private>),
    Hmac(Vec<u8>),
}

fn cached(slot: &'static OnceLock<PKey<Private>>, make: fn() -> PKey<Private>) -> PKey<Private> {
    slot.get_or_init(make).clone()
}

fn gen_rsa(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).expect("rsa keygen")).expect("pkey")
}

fn gen_ec(curve: Curve) -> PKey<Private> {
    let group = EcGroup::from_curve_name(curve.nid()).expect("group");
    PKey::from_ec_key(EcKey::generate(&group).expect("ec keygen")).expect("pkey")
}

static RSA_KEYS: [OnceLock<PKey<Private>>; 4] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];
static EC_KEYS: [OnceLock<PKey<Private>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
static ED_KEY: OnceLock<PKey<Private>> = OnceLock::new();

fn kid(k: Option<&str>) -> Option<String> {
    k.map(str::to_owned)
}

impl TestKey {
    /// Cached RSA 2048 key number 0, signing RS256.
    pub fn rsa(k: Option<&str>) -> TestKey {
        TestKey::rsa_n(0, k, Alg::RS256)
    }

    /// Cached RSA 2048 key number `index` (0..4), signing with `alg` (RS*/PS*).
    pub fn rsa_n(index: usize, k: Option<&str>, alg: Alg) -> TestKey {
        let slot = &RSA_KEYS[index % RSA_KEYS.len()];
        TestKey {
            kid: kid(k),
            alg,
            material: Material::Asym(cached(slot, || gen_rsa(2048))),
        }
    }

    /// A new RSA key of any size (slow for big sizes).
    pub fn rsa_fresh(bits: u32, k: Option<&str>, alg: Alg) -> TestKey {
        TestKey {
            kid: kid(k),
            alg,
            material: Material::Asym(gen_rsa(bits)),
        }
    }

    /// From an existing openssl private key.
    pub fn from_pkey(pkey: PKey<Private>, k: Option<&str>, alg: Alg) -> TestKey {
        TestKey {
            kid: kid(k),
            alg,
            material: Material::Asym(pkey),
        }
    }

    /// Cached EC key on the curve `alg` (ES256/ES384/ES512) needs.
    pub fn ec(alg: Alg, k: Option<&str>) -> TestKey {
        let curve = match alg.family() {
            KeyFamily::Ec(c) => c,
            _ => panic!("not an ECDSA alg"),
        };
        let idx = match curve {
            Curve::P256 => 0,
            Curve::P384 => 1,
            Curve::P521 => 2,
        };
        let pkey = EC_KEYS[idx].get_or_init(|| gen_ec(curve)).clone();
        TestKey {
            kid: kid(k),
            alg,
            material: Material::Asym(pkey),
        }
    }

    /// A new EC key for `alg`.
    pub fn ec_fresh(alg: Alg, k: Option<&str>) -> TestKey {
        let KeyFamily::Ec(curve) = alg.family() else {
            panic!("not an ECDSA alg")
        };
        TestKey {
            kid: kid(k),
            alg,
            material: Material::Asym(gen_ec(curve)),
        }
    }

    /// Cached Ed25519 key (EdDSA).
    pub fn ed25519(k: Option<&str>) -> TestKey {
        TestKey {
            kid: kid(k),
            alg: Alg::EdDSA,
            material: Material::Asym(cached(&ED_KEY, || {
                PKey::generate_ed25519().expect("ed25519 keygen")
            })),
        }
    }

    /// A new Ed25519 key.
    pub fn ed25519_fresh(k: Option<&str>) -> TestKey {
        TestKey {
            kid: kid(k),
            alg: Alg::EdDSA,
            material: Material::Asym(PKey::generate_ed25519().expect("ed25519 keygen")),
        }
    }

    /// An HMAC secret signing with `alg` (HS*).
    pub fn hmac(secret: &[u8], k: Option<&str>, alg: Alg) -> TestKey {
        TestKey {
            kid: kid(k),
            alg,
            material: Material::Hmac(secret.to_vec()),
        }
    }

    /// The same key with another kid.
    pub fn with_kid(&self, k: Option<&str>) -> TestKey {
        TestKey {
            kid: kid(k),
            ..self.clone()
        }
    }

    /// The same key signing with another alg.
    pub fn with_alg(&self, alg: Alg) -> TestKey {
        TestKey {
            alg,
            ..self.clone()
        }
    }

    pub fn pkey(&self) -> Option<&PKey<Private>> {
        match &self.material {
            Material::Asym(p) => Some(p),
            Material::Hmac(_) => None,
        }
    }

    /// The public JWK (`kid` when set; no `alg`/`use`): HMAC keys give a `kty: oct` JWK.
    pub fn jwk(&self) -> Value {
        let mut m = Map::new();
        match &self.material {
            Material::Hmac(secret) => {
                m.insert("kty".into(), "oct".into());
                m.insert("k".into(), b64url_encode(secret).into());
            }
            Material::Asym(p) => match p.id() {
                Id::RSA => {
                    let rsa = p.rsa().expect("rsa");
                    m.insert("kty".into(), "RSA".into());
                    m.insert("n".into(), b64url_encode(&rsa.n().to_vec()).into());
                    m.insert("e".into(), b64url_encode(&rsa.e().to_vec()).into());
                }
                Id::EC => {
                    let ec = p.ec_key().expect("ec");
                    let curve = ec
                        .group()
                        .curve_name()
                        .and_then(Curve::from_nid)
                        .expect("curve");
                    let mut ctx = openssl::bn::BigNumContext::new().expect("ctx");
                    let mut x = BigNum::new().expect("bn");
                    let mut y = BigNum::new().expect("bn");
                    ec.public_key()
                        .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
                        .expect("coords");
                    let len = curve.coord_len() as i32;
                    m.insert("kty".into(), "EC".into());
                    m.insert("crv".into(), curve.name().into());
                    m.insert(
                        "x".into(),
                        b64url_encode(&x.to_vec_padded(len).expect("pad")).into(),
                    );
                    m.insert(
                        "y".into(),
                        b64url_encode(&y.to_vec_padded(len).expect("pad")).into(),
                    );
                }
                Id::ED25519 => {
                    m.insert("kty".into(), "OKP".into());
                    m.insert("crv".into(), "Ed25519".into());
                    m.insert(
                        "x".into(),
                        b64url_encode(&p.raw_public_key().expect("raw")).into(),
                    );
                }
                _ => panic!("unsupported test key type"),
            },
        }
        if let Some(k) = &self.kid {
            m.insert("kid".into(), k.clone().into());
        }
        Value::Object(m)
    }

    /// The public JWK with extra members merged in (e.g. `{"alg":"RS256","use":"sig"}`).
    pub fn jwk_with(&self, extra: Value) -> Value {
        let mut jwk = self.jwk();
        if let (Value::Object(m), Value::Object(e)) = (&mut jwk, extra) {
            m.extend(e);
        }
        jwk
    }

    /// SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> String {
        let p = self.pkey().expect("asymmetric key");
        String::from_utf8(p.public_key_to_pem().expect("pem")).expect("utf8")
    }

    /// A self-signed X.509 certificate PEM for the key.
    pub fn cert_pem(&self) -> String {
        let p = self.pkey().expect("asymmetric key");
        let mut name = X509NameBuilder::new().expect("name");
        name.append_entry_by_text("CN", "test").expect("cn");
        let name = name.build();
        let mut b = X509::builder().expect("x509");
        b.set_version(2).expect("v");
        b.set_serial_number(
            &BigNum::from_u32(1)
                .expect("bn")
                .to_asn1_integer()
                .expect("int"),
        )
        .expect("serial");
        b.set_subject_name(&name).expect("subject");
        b.set_issuer_name(&name).expect("issuer");
        b.set_pubkey(p).expect("pubkey");
        b.set_not_before(&Asn1Time::days_from_now(0).expect("t"))
            .expect("nb");
        b.set_not_after(&Asn1Time::days_from_now(1).expect("t"))
            .expect("na");
        let md = if p.id() == Id::ED25519 {
            MessageDigest::null()
        } else {
            MessageDigest::sha256()
        };
        b.sign(p, md).expect("sign cert");
        String::from_utf8(b.build().to_pem().expect("pem")).expect("utf8")
    }

    /// Base64 (standard, padded) DER of [`TestKey::cert_pem`], as in a JWK `x5c`.
    pub fn cert_x5c(&self) -> String {
        let cert = X509::from_pem(self.cert_pem().as_bytes()).expect("cert");
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(cert.to_der().expect("der"))
    }

    /// Raw JWS signature bytes of `input` with `alg` (which may differ from `self.alg`).
    pub fn sign_bytes(&self, alg: Alg, input: &[u8]) -> Vec<u8> {
        match (&self.material, alg.family()) {
            (Material::Hmac(secret), _) => hmac(secret, alg, input),
            (Material::Asym(p), KeyFamily::Rsa) => {
                let mut s = Signer::new(alg.digest(), p).expect("signer");
                if alg.is_pss() {
                    s.set_rsa_padding(Padding::PKCS1_PSS).expect("pss");
                    s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                        .expect("salt");
                    s.set_rsa_mgf1_md(alg.digest()).expect("mgf1");
                } else {
                    s.set_rsa_padding(Padding::PKCS1).expect("pkcs1");
                }
                s.sign_oneshot_to_vec(input).expect("sign")
            }
            (Material::Asym(p), KeyFamily::Ec(curve)) => {
                let mut s = Signer::new(alg.digest(), p).expect("signer");
                let der = s.sign_oneshot_to_vec(input).expect("sign");
                let sig = EcdsaSig::from_der(&der).expect("der");
                let len = curve.coord_len() as i32;
                let mut out = sig.r().to_vec_padded(len).expect("r");
                out.extend(sig.s().to_vec_padded(len).expect("s"));
                out
            }
            (Material::Asym(p), KeyFamily::Ed25519) => {
                let mut s = Signer::new_without_digest(p).expect("signer");
                s.sign_oneshot_to_vec(input).expect("sign")
            }
            (Material::Asym(_), KeyFamily::Oct) => panic!("use TestKey::hmac for HS*"),
        }
    }

    /// Sign raw header and payload JSON texts (so tests can send duplicate members, odd encodings…),
    /// with `self.alg`.
    pub fn sign_raw(&self, header_json: &[u8], payload_json: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            b64url_encode(header_json),
            b64url_encode(payload_json)
        );
        let sig = self.sign_bytes(self.alg, input.as_bytes());
        format!("{input}.{}", b64url_encode(&sig))
    }

    /// Sign `claims` under exactly the given `header` (nothing added), with `self.alg`.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    /// The default header for this key: `{"alg":…,"typ":"JWT"}` plus `kid` when set.
    pub fn header(&self) -> Value {
        let mut h = json!({"alg": self.alg.name(), "typ": "JWT"});
        if let (Some(k), Value::Object(m)) = (&self.kid, &mut h) {
            m.insert("kid".into(), k.clone().into());
        }
        h
    }

    /// Sign `claims` under [`TestKey::header`].
    pub fn mint(&self, claims: &Value) -> String {
        self.sign(&self.header(), claims)
    }

    /// Sign `claims` under [`TestKey::header`] with `extra` header members merged in.
    pub fn mint_with_header(&self, extra: Value, claims: &Value) -> String {
        let mut h = self.header();
        if let (Value::Object(m), Value::Object(e)) = (&mut h, extra) {
            m.extend(e);
        }
        self.sign(&h, claims)
    }
}

/// HMAC of `input` with openssl.
pub fn hmac(secret: &[u8], alg: Alg, input: &[u8]) -> Vec<u8> {
    let key = PKey::hmac(secret).expect("hmac key");
    let mut s = Signer::new(alg.digest(), &key).expect("signer");
    s.update(input).expect("update");
    s.sign_to_vec().expect("mac")
}

/// A JWKS document with the public JWKs of `keys`.
pub fn jwks(keys: &[&TestKey]) -> String {
    let list: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
    json!({ "keys": list }).to_string()
}

/// A JWKS document from arbitrary JWK values.
pub fn jwks_of(jwks: Vec<Value>) -> String {
    json!({ "keys": jwks }).to_string()
}

/// Assemble a compact token from raw parts (no signing).
pub fn compact(header_json: &[u8], payload_json: &[u8], signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url_encode(header_json),
        b64url_encode(payload_json),
        b64url_encode(signature)
    )
}

/// Typical valid access-token claims at time `now`.
pub fn claims_at(now: i64) -> Value {
    json!({
        "iss": "https://op.example.org",
        "sub": "alice",
        "aud": "https://rs.example.org",
        "client_id": "client1",
        "iat": now,
        "exp": now + 300,
        "jti": "id-1",
    })
}

/// A fixed "now" for tests.
pub const NOW: i64 = 1_700_000_000;
