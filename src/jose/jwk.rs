//! JSON Web Keys (RFC 7517/7518 §6, RFC 8037) and key sets from a JWKS document, PEM files
//! (`OIDC*VerifyCertFiles`) and shared secrets (`OIDCOAuthVerifySharedKeys`).
//!
//! Keys are turned into openssl `PKey` objects once, when the set is built; verification then only
//! borrows them. A `KeySet` is `Send + Sync` and cheap to clone (openssl keys are reference counted).

use std::fmt;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use serde_json::{Map, Value};

use super::{Alg, Curve, JoseError, KeyFamily};

/// RSA moduli below this many bits are refused (RFC 7518 §3.3, checklist C29).
pub const MIN_RSA_BITS: u32 = 2048;
/// RSA moduli above this many bits are refused (verification cost grows with the modulus).
pub const MAX_RSA_BITS: u32 = 8192;
/// At most this many entries of a JWKS `keys` array are looked at; the rest are skipped.
pub const MAX_JWKS_KEYS: usize = 100;
/// Key files larger than this are refused.
const MAX_KEY_FILE_LEN: u64 = 1 << 20;

/// The intended use of a key: JWK `use`, or the `sig:`/`enc:` prefix of a configuration entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    Sig,
    Enc,
    /// Some other registered or private value: never used for signature verification.
    Other,
}

/// What kind of key material a [`Jwk`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMaterialKind {
    Rsa {
        bits: u32,
    },
    Ec(Curve),
    Ed25519,
    /// An HMAC secret of `len` bytes.
    Oct {
        len: usize,
    },
}

#[derive(Clone)]
enum Material {
    Rsa { key: PKey<Public>, bits: u32 },
    Ec { key: PKey<Public>, curve: Curve },
    Ed25519 { key: PKey<Public> },
    Oct { key: PKey<Private>, len: usize },
}

/// One usable key with its JWK metadata.
#[derive(Clone)]
pub struct Jwk {
    /// Key identifier; `None` when the JWK/configuration gives none (no kid is made up).
    pub kid: Option<String>,
    alg: Option<Alg>,
    key_use: Option<KeyUse>,
    key_ops: Option<Vec<String>>,
    material: Material,
}

/// A key of a JWKS document that was skipped, for logging (RFC 7517 §5: unusable keys are ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Position in the `keys` array.
    pub index: usize,
    /// The key's `kid`, if it had a string one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: &'static str,
}

/// How well a key fits an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    Yes,
    /// Right type, but an HMAC secret shorter than the hash (RFC 7518 §3.2).
    WeakHmac,
    No,
}

impl fmt::Debug for Jwk {
    // Hand-written so that an HMAC secret can never end up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kid", &self.kid)
            .field("kty", &self.kty())
            .field("kind", &self.kind())
            .field("alg", &self.alg)
            .field("use", &self.key_use)
            .field("key_ops", &self.key_ops)
            .finish()
    }
}

impl Jwk {
    /// The JWK `kty` of this key.
    pub fn kty(&self) -> &'static str {
        match self.material {
            Material::Rsa { .. } => "RSA",
            Material::Ec { .. } => "EC",
            Material::Ed25519 { .. } => "OKP",
            Material::Oct { .. } => "oct",
        }
    }

    /// Key type and size.
    pub fn kind(&self) -> KeyMaterialKind {
        match &self.material {
            Material::Rsa { bits, .. } => KeyMaterialKind::Rsa { bits: *bits },
            Material::Ec { curve, .. } => KeyMaterialKind::Ec(*curve),
            Material::Ed25519 { .. } => KeyMaterialKind::Ed25519,
            Material::Oct { len, .. } => KeyMaterialKind::Oct { len: *len },
        }
    }

    /// The JWK `alg` this key is bound to, if any.
    pub fn alg(&self) -> Option<Alg> {
        self.alg
    }

    /// The JWK `use` (or configuration prefix), if any.
    pub fn key_use(&self) -> Option<KeyUse> {
        self.key_use
    }

    /// The JWK `key_ops`, if any.
    pub fn key_ops(&self) -> Option<&[String]> {
        self.key_ops.as_deref()
    }

    /// Same key, with its use set (the `sig:`/`enc:` configuration prefix).
    pub fn with_use(mut self, key_use: Option<KeyUse>) -> Jwk {
        self.key_use = key_use;
        self
    }

    /// Same key, bound to one algorithm.
    pub fn with_alg(mut self, alg: Option<Alg>) -> Jwk {
        self.alg = alg;
        self
    }

    /// An HMAC key (`kty: oct`), e.g. a configured shared key or a client secret for HS256 ID tokens.
    /// Short secrets are accepted here but refused at verification (see [`super::verify_signature`]);
    /// use [`Jwk::kind`] to warn about them at configuration time.
    pub fn from_hmac_secret(kid: Option<String>, secret: &[u8]) -> Result<Jwk, JoseError> {
        if secret.is_empty() {
            return Err(JoseError::config("shared key is empty"));
        }
        let key = PKey::hmac(secret).map_err(|_| JoseError::config("cannot create HMAC key"))?;
        Ok(Jwk {
            kid,
            alg: None,
            key_use: None,
            key_ops: None,
            material: Material::Oct {
                key,
                len: secret.len(),
            },
        })
    }

    /// A public key from PEM: an X.509 certificate, a SubjectPublicKeyInfo (`PUBLIC KEY`) or a PKCS#1
    /// `RSA PUBLIC KEY`; RSA (2048..=8192 bits, odd e ≥ 3), EC P-256/384/521 or Ed25519.
    pub fn from_pem(kid: Option<String>, pem: &[u8]) -> Result<Jwk, JoseError> {
        let pkey = if let Ok(cert) = X509::from_pem(pem) {
            cert.public_key()
                .map_err(|_| JoseError::config("cannot read the certificate public key"))?
        } else if let Ok(k) = PKey::public_key_from_pem(pem) {
            k
        } else if let Ok(rsa) = Rsa::public_key_from_pem_pkcs1(pem) {
            PKey::from_rsa(rsa).map_err(|_| JoseError::config("cannot read the RSA public key"))?
        } else {
            return Err(JoseError::config(
                "not a PEM X.509 certificate or PEM public key",
            ));
        };
        Jwk::from_public_pkey(kid, pkey)
    }

    /// A public key as DER SubjectPublicKeyInfo (as read from a PEM file at configuration time).
    pub fn from_spki_der(kid: Option<String>, der: &[u8]) -> Result<Jwk, JoseError> {
        let pkey = PKey::public_key_from_der(der)
            .map_err(|_| JoseError::config("not a DER SubjectPublicKeyInfo"))?;
        Jwk::from_public_pkey(kid, pkey)
    }

    fn from_public_pkey(kid: Option<String>, pkey: PKey<Public>) -> Result<Jwk, JoseError> {
        let material = material_from_pkey(pkey).map_err(JoseError::config)?;
        Ok(Jwk {
            kid,
            alg: None,
            key_use: None,
            key_ops: None,
            material,
        })
    }

    /// One public JWK (a JSON object). Symmetric (`oct`) keys are refused unless `allow_oct`:
    /// a key published in a JWKS is public, so an HMAC secret there is no secret.
    /// The error is a short reason, as reported in [`SkippedKey::reason`].
    pub fn from_jwk_json(obj: &Map<String, Value>, allow_oct: bool) -> Result<Jwk, &'static str> {
        let kty = match obj.get("kty") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err("kty is not a string"),
            None => return Err("no kty"),
        };
        let kid = match obj.get("kid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("kid is not a string"),
        };
        let key_use = match obj.get("use") {
            None => None,
            Some(Value::String(s)) => Some(match s.as_str() {
                "sig" => KeyUse::Sig,
                "enc" => KeyUse::Enc,
                _ => KeyUse::Other,
            }),
            Some(_) => return Err("use is not a string"),
        };
        let key_ops = match obj.get("key_ops") {
            None => None,
            Some(Value::Array(items)) => {
                let mut ops: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) if !ops.contains(s) => ops.push(s.clone()),
                        Value::String(_) => return Err("key_ops has duplicates"),
                        _ => return Err("key_ops is not an array of strings"),
                    }
                }
                Some(ops)
            }
            Some(_) => return Err("key_ops is not an array"),
        };
        let alg = match obj.get("alg") {
            None => None,
            Some(Value::String(s)) => match Alg::from_name(s) {
                Some(a) => Some(a),
                None => return Err("alg is not a supported signature algorithm"),
            },
            Some(_) => return Err("alg is not a string"),
        };
        let material = match kty {
            "RSA" => rsa_from_jwk(obj)?,
            "EC" => ec_from_jwk(obj)?,
            "OKP" => okp_from_jwk(obj)?,
            "oct" if allow_oct => {
                let k = jwk_member_bytes(obj, "k")?;
                if k.is_empty() {
                    return Err("empty k");
                }
                let key = PKey::hmac(&k).map_err(|_| "cannot create HMAC key")?;
                Material::Oct { key, len: k.len() }
            }
            "oct" => return Err("symmetric keys are not accepted from a JWKS"),
            _ => return Err("unsupported kty"),
        };
        let jwk = Jwk {
            kid,
            alg,
            key_use,
            key_ops,
            material,
        };
        if let Some(a) = alg
            && !jwk.family_fits(a)
        {
            return Err("alg does not fit the key type");
        }
        Ok(jwk)
    }

    fn family_fits(&self, alg: Alg) -> bool {
        match (alg.family(), &self.material) {
            (KeyFamily::Rsa, Material::Rsa { .. }) => true,
            (KeyFamily::Ec(c), Material::Ec { curve, .. }) => c == *curve,
            (KeyFamily::Ed25519, Material::Ed25519 { .. }) => true,
            (KeyFamily::Oct, Material::Oct { .. }) => true,
            _ => false,
        }
    }

    /// May this key verify a signature made with `alg` (checklist C3, C4, C33)?
    pub(crate) fn fit(&self, alg: Alg) -> Fit {
        if !self.family_fits(alg) {
            return Fit::No;
        }
        if self.alg.is_some_and(|a| a != alg) {
            return Fit::No;
        }
        match self.key_use {
            None | Some(KeyUse::Sig) => {}
            Some(KeyUse::Enc) | Some(KeyUse::Other) => return Fit::No,
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|o| o == "verify")
        {
            return Fit::No;
        }
        match &self.material {
            Material::Rsa { bits, .. } if *bits < MIN_RSA_BITS || *bits > MAX_RSA_BITS => Fit::No,
            Material::Oct { len, .. } if *len < alg.hash_len() => Fit::WeakHmac,
            _ => Fit::Yes,
        }
    }

    pub(crate) fn public_key(&self) -> Option<&PKey<Public>> {
        match &self.material {
            Material::Rsa { key, .. } | Material::Ec { key, .. } | Material::Ed25519 { key } => {
                Some(key)
            }
            Material::Oct { .. } => None,
        }
    }

    pub(crate) fn hmac_key(&self) -> Option<&PKey<Private>> {
        match &self.material {
            Material::Oct { key, .. } => Some(key),
            _ => None,
        }
    }

    pub(crate) fn rsa_bytes(&self) -> Option<usize> {
        match &self.material {
            Material::Rsa { bits, .. } => Some(bits.div_ceil(8) as usize),
            _ => None,
        }
    }
}

/// A JWK member's bytes: base64url, leniently (padding tolerated) because this is key material
/// from a trusted source, not a token whose encoding must be canonical.
fn jwk_member_bytes(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, &'static str> {
    match obj.get(name) {
        Some(Value::String(s)) => lenient_b64url(s).ok_or("key member is not base64url"),
        Some(_) => Err("key member is not a string"),
        None => Err("key member missing"),
    }
}

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const B64URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);

fn lenient_b64url(s: &str) -> Option<Vec<u8>> {
    B64URL_LENIENT.decode(s.trim().as_bytes()).ok()
}

fn rsa_from_jwk(obj: &Map<String, Value>) -> Result<Material, &'static str> {
    if obj.contains_key("n") || obj.contains_key("e") {
        let n = BigNum::from_slice(&jwk_member_bytes(obj, "n")?).map_err(|_| "bad n")?;
        let e = BigNum::from_slice(&jwk_member_bytes(obj, "e")?).map_err(|_| "bad e")?;
        check_rsa_numbers(&n, &e)?;
        let rsa = Rsa::from_public_components(n, e).map_err(|_| "bad RSA key")?;
        let key = PKey::from_rsa(rsa).map_err(|_| "bad RSA key")?;
        let bits = key.bits();
        return Ok(Material::Rsa { key, bits });
    }
    match x5c_key(obj)? {
        m @ Material::Rsa { .. } => Ok(m),
        _ => Err("x5c key is not an RSA key"),
    }
}

fn ec_from_jwk(obj: &Map<String, Value>) -> Result<Material, &'static str> {
    let curve = match obj.get("crv") {
        Some(Value::String(s)) => Curve::from_name(s).ok_or("unsupported crv")?,
        Some(_) => return Err("crv is not a string"),
        None => return Err("no crv"),
    };
    if !(obj.contains_key("x") || obj.contains_key("y")) {
        return match x5c_key(obj)? {
            m @ Material::Ec { curve: c, .. } if c == curve => Ok(m),
            _ => Err("x5c key does not match crv"),
        };
    }
    let x = jwk_member_bytes(obj, "x")?;
    let y = jwk_member_bytes(obj, "y")?;
    // RFC 7518 §6.2.1.2 wants the full coordinate size; tolerate a missing or extra leading zero.
    let strip = |v: &[u8]| -> Vec<u8> { v.iter().copied().skip_while(|b| *b == 0).collect() };
    let (x, y) = (strip(&x), strip(&y));
    if x.len() > curve.coord_len() || y.len() > curve.coord_len() {
        return Err("EC coordinate too long");
    }
    let group = EcGroup::from_curve_name(curve.nid()).map_err(|_| "bad curve")?;
    let x = BigNum::from_slice(&x).map_err(|_| "bad x")?;
    let y = BigNum::from_slice(&y).map_err(|_| "bad y")?;
    // This refuses points that are not on the curve; check_key also refuses the point at infinity.
    let ec = EcKey::from_public_key_affine_coordinates(&group, &x, &y)
        .map_err(|_| "EC point not on the curve")?;
    ec.check_key().map_err(|_| "invalid EC public key")?;
    let key = PKey::from_ec_key(ec).map_err(|_| "bad EC key")?;
    Ok(Material::Ec { key, curve })
}

fn okp_from_jwk(obj: &Map<String, Value>) -> Result<Material, &'static str> {
    match obj.get("crv") {
        Some(Value::String(s)) if s == "Ed25519" => {}
        Some(Value::String(_)) => return Err("unsupported crv"),
        Some(_) => return Err("crv is not a string"),
        None => return Err("no crv"),
    }
    let x = jwk_member_bytes(obj, "x")?;
    if x.len() != 32 {
        return Err("Ed25519 key must be 32 bytes");
    }
    let key = PKey::public_key_from_raw_bytes(&x, Id::ED25519).map_err(|_| "bad Ed25519 key")?;
    Ok(Material::Ed25519 { key })
}

/// The key of the first certificate of a JWK's own `x5c` (standard base64 DER, RFC 7517 §4.7).
/// This is key material from the trusted JWKS, unlike an `x5c` header in a token.
fn x5c_key(obj: &Map<String, Value>) -> Result<Material, &'static str> {
    let first = match obj.get("x5c") {
        Some(Value::Array(a)) => match a.first() {
            Some(Value::String(s)) => s,
            _ => return Err("x5c has no certificate"),
        },
        Some(_) => return Err("x5c is not an array"),
        None => return Err("key member missing"),
    };
    let der = B64_LENIENT
        .decode(first.trim().as_bytes())
        .map_err(|_| "x5c is not base64")?;
    let cert = X509::from_der(&der).map_err(|_| "x5c is not a certificate")?;
    let pkey = cert.public_key().map_err(|_| "x5c has no usable key")?;
    material_from_pkey(pkey)
}

fn check_rsa_numbers(
    n: &openssl::bn::BigNumRef,
    e: &openssl::bn::BigNumRef,
) -> Result<(), &'static str> {
    let bits = u32::try_from(n.num_bits()).unwrap_or(0);
    if bits < MIN_RSA_BITS {
        return Err("RSA key shorter than 2048 bits");
    }
    if bits > MAX_RSA_BITS {
        return Err("RSA key longer than 8192 bits");
    }
    if !n.is_odd() {
        return Err("RSA modulus is even");
    }
    // e must be odd and >= 3 (e = 1 makes every signature trivially forgeable); a huge e only
    // costs verification time.
    if !e.is_odd() || e.num_bits() < 2 || e.num_bits() > 64 || e.is_negative() {
        return Err("RSA exponent is not an odd number from 3 to 2^64");
    }
    Ok(())
}

fn material_from_pkey(pkey: PKey<Public>) -> Result<Material, &'static str> {
    match pkey.id() {
        Id::RSA => {
            let rsa = pkey.rsa().map_err(|_| "bad RSA key")?;
            check_rsa_numbers(rsa.n(), rsa.e())?;
            let bits = pkey.bits();
            Ok(Material::Rsa { key: pkey, bits })
        }
        Id::EC => {
            let ec = pkey.ec_key().map_err(|_| "bad EC key")?;
            let curve = ec
                .group()
                .curve_name()
                .and_then(Curve::from_nid)
                .ok_or("unsupported EC curve (P-256, P-384 or P-521 only)")?;
            ec.check_key().map_err(|_| "invalid EC public key")?;
            Ok(Material::Ec { key: pkey, curve })
        }
        Id::ED25519 => Ok(Material::Ed25519 { key: pkey }),
        _ => Err("unsupported key type (RSA, EC or Ed25519 only)"),
    }
}

/// An ordered set of keys to verify with.
#[derive(Clone, Default, Debug)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

impl KeySet {
    pub fn new() -> Self {
        KeySet { keys: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Append all keys of `other` (e.g. configured static keys plus the fetched JWKS).
    pub fn extend(&mut self, other: KeySet) {
        self.keys.extend(other.keys);
    }

    pub fn push(&mut self, jwk: Jwk) {
        self.keys.push(jwk);
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Jwk> {
        self.keys.iter()
    }

    /// Is there a key with exactly this `kid`?
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Parse a JWKS document; keys of unknown kty/crv or unusable keys are skipped (RFC 7517 §5),
    /// RSA keys < 2048 bits or with even/≤1 exponent are skipped, an invalid document is an error.
    /// Symmetric (`oct`) keys are skipped too: HMAC keys only come from configuration.
    pub fn from_jwks_json(bytes: &[u8]) -> Result<KeySet, JoseError> {
        Self::from_jwks_json_report(bytes).map(|(set, _)| set)
    }

    /// [`KeySet::from_jwks_json`], also returning the skipped keys (for a warning in the log).
    pub fn from_jwks_json_report(bytes: &[u8]) -> Result<(KeySet, Vec<SkippedKey>), JoseError> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|_| JoseError::InvalidJwks)?;
        let keys = match doc.get("keys") {
            Some(Value::Array(keys)) => keys,
            _ => return Err(JoseError::InvalidJwks),
        };
        let mut set = KeySet::new();
        let mut skipped = Vec::new();
        for (index, entry) in keys.iter().enumerate() {
            let result = match entry {
                _ if index >= MAX_JWKS_KEYS => Err("too many keys in the JWKS"),
                Value::Object(obj) => Jwk::from_jwk_json(obj, false),
                _ => Err("not a JSON object"),
            };
            match result {
                Ok(jwk) => set.push(jwk),
                Err(reason) => skipped.push(SkippedKey {
                    index,
                    kid: entry.get("kid").and_then(Value::as_str).map(str::to_owned),
                    reason,
                }),
            }
        }
        Ok((set, skipped))
    }

    /// OIDCOAuthVerifyCertFiles / OIDCProviderVerifyCertFiles entry: `["sig:"|"enc:"][<kid>#]<file>`,
    /// PEM X.509 certificate or PEM public key (RSA/EC/Ed25519); "enc:" keys are never used to verify.
    /// The path is used as given; resolve relative paths against the server root first.
    pub fn from_cert_file_spec(spec: &str) -> Result<KeySet, JoseError> {
        let (key_use, kid, path) = parse_cert_file_spec(spec)?;
        let pem = read_key_file(path)?;
        let jwk = Jwk::from_pem(kid, &pem)
            .map_err(|e| JoseError::config(format!("{path}: {e}")))?
            .with_use(key_use);
        let mut set = KeySet::new();
        set.push(jwk);
        Ok(set)
    }

    /// OIDCOAuthVerifySharedKeys entry: `["sig:"|"enc:"][<enc>#<kid>#]<key>` or `[<kid>#]<key>`, an
    /// HMAC secret. As in the C module: with two `#`, the first field is the encoding (`b64`,
    /// `b64url`, `hex` or `plain`) and the second the kid (may be empty); with one `#`, the first field
    /// is the kid and the key is plain text; otherwise the whole entry is a plain key without kid.
    pub fn from_shared_key_spec(spec: &str) -> Result<KeySet, JoseError> {
        let SharedKey {
            key_use,
            kid,
            secret,
        } = parse_shared_key_spec(spec)?;
        let jwk = Jwk::from_hmac_secret(kid, &secret)?.with_use(key_use);
        let mut set = KeySet::new();
        set.push(jwk);
        Ok(set)
    }
}

impl<'a> IntoIterator for &'a KeySet {
    type Item = &'a Jwk;
    type IntoIter = std::slice::Iter<'a, Jwk>;
    fn into_iter(self) -> Self::IntoIter {
        self.keys.iter()
    }
}

fn split_use(spec: &str) -> (Option<KeyUse>, &str) {
    if let Some(rest) = spec.strip_prefix("sig:") {
        (Some(KeyUse::Sig), rest)
    } else if let Some(rest) = spec.strip_prefix("enc:") {
        (Some(KeyUse::Enc), rest)
    } else {
        (None, spec)
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Split `["sig:"|"enc:"][<kid>#]<file>` into use, kid (an empty kid counts as none) and path.
pub fn parse_cert_file_spec(
    spec: &str,
) -> Result<(Option<KeyUse>, Option<String>, &str), JoseError> {
    if spec.is_empty() {
        return Err(JoseError::config("key file value not set"));
    }
    let (key_use, rest) = split_use(spec);
    let (kid, path) = match rest.split_once('#') {
        Some((kid, path)) => (non_empty(kid), path),
        None => (None, rest),
    };
    if path.is_empty() {
        return Err(JoseError::config("key file name not set"));
    }
    Ok((key_use, kid, path))
}

fn read_key_file(path: &str) -> Result<Vec<u8>, JoseError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| JoseError::config(format!("{path}: {e}")))?;
    let mut buf = Vec::new();
    file.take(MAX_KEY_FILE_LEN + 1)
        .read_to_end(&mut buf)
        .map_err(|e| JoseError::config(format!("{path}: {e}")))?;
    if buf.len() as u64 > MAX_KEY_FILE_LEN {
        return Err(JoseError::config(format!("{path}: file too large")));
    }
    Ok(buf)
}

/// A decoded shared key entry (see [`parse_shared_key_spec`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SharedKey {
    pub key_use: Option<KeyUse>,
    pub kid: Option<String>,
    pub secret: Vec<u8>,
}

impl fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKey")
            .field("key_use", &self.key_use)
            .field("kid", &self.kid)
            .field("secret_len", &self.secret.len())
            .finish()
    }
}

/// Split and decode a shared key entry (see [`KeySet::from_shared_key_spec`]) into use, kid and secret.
pub fn parse_shared_key_spec(spec: &str) -> Result<SharedKey, JoseError> {
    if spec.is_empty() {
        return Err(JoseError::config("shared key value not set"));
    }
    let (key_use, rest) = split_use(spec);
    let (kid, secret) = match rest.split_once('#') {
        Some((first, after)) => match after.split_once('#') {
            Some((kid, key)) => (non_empty(kid), decode_key_value(first, key)?),
            None => (non_empty(first), after.as_bytes().to_vec()),
        },
        None => (None, rest.as_bytes().to_vec()),
    };
    if secret.is_empty() {
        return Err(JoseError::config("shared key is empty"));
    }
    Ok(SharedKey {
        key_use,
        kid,
        secret,
    })
}

fn decode_key_value(encoding: &str, value: &str) -> Result<Vec<u8>, JoseError> {
    match encoding {
        "plain" => Ok(value.as_bytes().to_vec()),
        "b64" => B64_LENIENT
            .decode(value.as_bytes())
            .map_err(|_| JoseError::config("base64 decoding of the shared key failed")),
        "b64url" => B64URL_LENIENT
            .decode(value.as_bytes())
            .map_err(|_| JoseError::config("base64url decoding of the shared key failed")),
        "hex" => decode_hex(value)
            .ok_or_else(|| JoseError::config("hex decoding of the shared key failed")),
        _ => Err(JoseError::config(
            "invalid shared key encoding, must be one of b64, b64url, hex, plain",
        )),
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    b.chunks_exact(2)
        .map(|pair| match pair {
            [h, l] => Some(nibble(*h)? << 4 | nibble(*l)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<KeySet>();
        assert_send_sync::<Jwk>();
    }

    #[test]
    fn cert_spec_split() {
        assert_eq!(
            parse_cert_file_spec("sig:k1#/etc/a.pem").unwrap(),
            (Some(KeyUse::Sig), Some("k1".to_owned()), "/etc/a.pem")
        );
        assert_eq!(
            parse_cert_file_spec("enc:/etc/a.pem").unwrap(),
            (Some(KeyUse::Enc), None, "/etc/a.pem")
        );
        assert_eq!(
            parse_cert_file_spec("#/a.pem").unwrap(),
            (None, None, "/a.pem")
        );
        assert!(parse_cert_file_spec("").is_err());
        assert!(parse_cert_file_spec("kid#").is_err());
    }

    #[test]
    fn shared_spec_split_follows_c_module() {
        let p = |s: &str| {
            let k = parse_shared_key_spec(s).unwrap();
            (k.key_use, k.kid, k.secret)
        };
        assert_eq!(p("secret"), (None, None, b"secret".to_vec()));
        assert_eq!(
            p("k1#secret"),
            (None, Some("k1".into()), b"secret".to_vec())
        );
        // One '#' means kid#key even if the first field looks like an encoding (C semantics).
        assert_eq!(
            p("plain#secret"),
            (None, Some("plain".into()), b"secret".to_vec())
        );
        assert_eq!(
            p("plain#k1#a#b"),
            (None, Some("k1".into()), b"a#b".to_vec())
        );
        assert_eq!(p("hex##414243"), (None, None, b"ABC".to_vec()));
        assert_eq!(
            p("sig:b64#k#QUJD"),
            (Some(KeyUse::Sig), Some("k".into()), b"ABC".to_vec())
        );
        assert_eq!(
            p("enc:b64url#k#QUJD_w"),
            (Some(KeyUse::Enc), Some("k".into()), vec![65, 66, 67, 255])
        );
        assert!(parse_shared_key_spec("hex#k#4142x3").is_err());
        assert!(parse_shared_key_spec("hex#k#414").is_err());
        assert!(parse_shared_key_spec("rot13#k#abc").is_err());
        assert!(parse_shared_key_spec("").is_err());
        assert!(parse_shared_key_spec("k#").is_err());
    }

    #[test]
    fn hmac_jwk_debug_hides_secret() {
        let jwk =
            Jwk::from_hmac_secret(Some("k".into()), b"supersecretsupersecretsupersecret").unwrap();
        let dbg = format!("{jwk:?}");
        assert!(!dbg.contains("supersecret"), "{dbg}");
        assert_eq!(jwk.kind(), KeyMaterialKind::Oct { len: 33 });
    }
}
