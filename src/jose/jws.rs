//! Compact JWS (RFC 7515 §7.1): strict parsing and signature verification against a [`KeySet`].

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use serde_json::{Map, Value};

use super::json::{JsonIssue, parse_object};
use super::jwk::{Fit, Jwk, KeySet};
use super::{Alg, Curve, JoseError, KeyFamily, b64url_decode};

/// Default cap on the token length, checked before anything is decoded (checklist C19).
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;
/// Maximum nesting of JSON objects/arrays in header and claims; the top level counts as 1.
pub const MAX_JSON_DEPTH: usize = 16;
/// Maximum number of members in the JOSE header.
pub const MAX_HEADER_MEMBERS: usize = 32;

/// A syntactically valid compact JWS, not yet verified.
#[derive(Debug, Clone)]
pub struct ParsedJws {
    pub alg: Alg,
    pub kid: Option<String>,
    pub typ: Option<String>,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

impl ParsedJws {
    /// `BASE64URL(header) '.' BASE64URL(payload)`, the bytes the signature covers.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The decoded signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The decoded payload: the claims as the issuer serialised them.
    pub fn payload_json(&self) -> &[u8] {
        &self.payload
    }
}

fn json_error(issue: JsonIssue) -> JoseError {
    match issue {
        JsonIssue::NotUtf8 => JoseError::NotUtf8,
        JsonIssue::Syntax => JoseError::BadJson,
        JsonIssue::DuplicateMember => JoseError::DuplicateMember,
        JsonIssue::TooDeep => JoseError::TooDeep,
        JsonIssue::NotObject => JoseError::NotJsonObject,
    }
}

fn optional_string(header: &Map<String, Value>, name: &str) -> Result<Option<String>, JoseError> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JoseError::BadHeaderParameter),
    }
}

/// Media types in `typ`/`cty` compare case-insensitively and may omit `application/` (RFC 7515 §4.1.9).
pub(crate) fn normalize_media_type(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

/// Strict parse: total length cap (16 KiB default, parameter), exactly 3 base64url parts with strict
/// base64url (no padding, no whitespace, canonical trailing bits), non-empty signature, header and
/// payload UTF-8 JSON objects with no duplicate member names at any depth and nesting depth ≤ 16,
/// alg from the allowlist (so "none", "nOnE", JWE 5-part tokens are rejected), `crit` present → reject
/// (we implement no extensions; this also rejects b64:false), `cty: JWT` nested → reject,
/// header `jku`/`x5u`/`jwk`/`x5c` are never used (ignored, keys only come from the KeySet).
pub fn parse_compact(token: &str, max_len: usize) -> Result<ParsedJws, JoseError> {
    if token.len() > max_len {
        return Err(JoseError::TokenTooLarge);
    }
    let alphabet_ok = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if token.is_empty() || !alphabet_ok {
        return Err(JoseError::NotCompactJws);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(JoseError::NotCompactJws);
    };
    match parts.count() {
        0 => {}
        2 => return Err(JoseError::EncryptedToken),
        _ => return Err(JoseError::NotCompactJws),
    }
    if h.is_empty() || p.is_empty() {
        return Err(JoseError::NotCompactJws);
    }
    if s.is_empty() {
        return Err(JoseError::EmptySignature);
    }

    let header_bytes = b64url_decode(h)?;
    let header = parse_object(&header_bytes, MAX_JSON_DEPTH).map_err(json_error)?;
    if header.len() > MAX_HEADER_MEMBERS {
        return Err(JoseError::TooManyHeaderMembers);
    }
    // "enc" (and "zip") only exist in JWE headers (RFC 7516 §9): sign-vs-encrypt confusion.
    if header.contains_key("enc") || header.contains_key("zip") {
        return Err(JoseError::EncryptedToken);
    }
    let alg = match header.get("alg") {
        Some(Value::String(name)) => Alg::from_name(name).ok_or(JoseError::AlgNotAllowed)?,
        _ => return Err(JoseError::MissingAlg),
    };
    if header.contains_key("crit") {
        return Err(JoseError::CritNotSupported);
    }
    if header.get("b64").is_some_and(|v| v != &Value::Bool(true)) {
        return Err(JoseError::UnencodedPayload);
    }
    let kid = optional_string(&header, "kid")?;
    let typ = optional_string(&header, "typ")?;
    if let Some(cty) = optional_string(&header, "cty")?
        && normalize_media_type(&cty) == "jwt"
    {
        return Err(JoseError::NestedJwt);
    }

    let payload = b64url_decode(p)?;
    let claims = parse_object(&payload, MAX_JSON_DEPTH).map_err(json_error)?;
    let signature = b64url_decode(s)?;
    if signature.is_empty() {
        return Err(JoseError::EmptySignature);
    }
    let signing_input = token
        .get(..h.len() + 1 + p.len())
        .ok_or(JoseError::NotCompactJws)?
        .to_owned();

    Ok(ParsedJws {
        alg,
        kid,
        typ,
        header,
        claims,
        signing_input,
        signature,
        payload,
    })
}

/// Verify the signature with the key set. Candidate keys are those whose key type fits `alg` (RSA for
/// RS*/PS*, EC of the matching curve for ES*, OKP Ed25519 for EdDSA, oct for HS*), whose own `alg`
/// (if any) equals the token's, whose `use` (if any) is "sig" and whose `key_ops` (if any) include
/// "verify". With a `kid` in the header only keys with that kid are tried, and if no key has it the
/// result is `Err(UnknownKid)` so the caller can refetch the JWKS once. Without a `kid` every
/// candidate is tried.
///
/// ECDSA signatures must be raw R||S of exactly twice the coordinate size with 0 < r, s < n; RSA keys
/// must have 2048 to 8192 bits; HMAC secrets shorter than the hash are refused (`WeakHmacKey`) and
/// MACs are compared in constant time.
pub fn verify_signature(jws: &ParsedJws, keys: &KeySet) -> Result<(), JoseError> {
    verify_signature_with_algs(jws, keys, None)
}

/// [`verify_signature`] with a per-issuer algorithm allowlist (checklist C4; e.g. the configured or
/// registered signing algorithm): a token whose `alg` is not listed is refused before any key is tried.
pub fn verify_signature_with_algs(
    jws: &ParsedJws,
    keys: &KeySet,
    allowed: Option<&[Alg]>,
) -> Result<(), JoseError> {
    let alg = jws.alg;
    if let Some(list) = allowed
        && !list.contains(&alg)
    {
        return Err(JoseError::AlgNotAllowed);
    }
    let sig = jws.signature.as_slice();
    // The signature's shape depends on the algorithm only: check it once, before any key.
    let ecdsa_der = match alg.family() {
        KeyFamily::Ec(curve) => Some(ecdsa_raw_to_der(sig, curve)?),
        KeyFamily::Ed25519 if sig.len() != 64 => return Err(JoseError::MalformedSignature),
        KeyFamily::Oct if sig.len() != alg.hash_len() => {
            return Err(JoseError::MalformedSignature);
        }
        _ => None,
    };
    let data = jws.signing_input.as_bytes();

    let mut kid_seen = false;
    let mut weak_seen = false;
    let mut tried = 0usize;
    for key in keys {
        if let Some(kid) = &jws.kid {
            if key.kid.as_deref() != Some(kid.as_str()) {
                continue;
            }
            kid_seen = true;
        }
        match key.fit(alg) {
            Fit::No => continue,
            Fit::WeakHmac => {
                weak_seen = true;
                continue;
            }
            Fit::Yes => {}
        }
        tried += 1;
        if verify_with_key(alg, key, data, sig, ecdsa_der.as_deref()) {
            return Ok(());
        }
    }
    if jws.kid.is_some() && !kid_seen {
        return Err(JoseError::UnknownKid);
    }
    if tried == 0 {
        return Err(if weak_seen {
            JoseError::WeakHmacKey
        } else {
            JoseError::NoSuitableKey
        });
    }
    Err(JoseError::BadSignature)
}

/// JWS ECDSA signature (RFC 7518 §3.4: R||S, each exactly the coordinate size) → DER for openssl,
/// refusing r or s outside [1, n-1] (CVE-2022-21449 "psychic signatures", checklist C26/C27).
fn ecdsa_raw_to_der(sig: &[u8], curve: Curve) -> Result<Vec<u8>, JoseError> {
    let half = curve.coord_len();
    if sig.len() != 2 * half {
        return Err(JoseError::MalformedSignature);
    }
    let (r_bytes, s_bytes) = sig.split_at(half);
    // Equal-length big-endian byte strings compare like the numbers they encode.
    let order = curve.order();
    for v in [r_bytes, s_bytes] {
        if v.iter().all(|b| *b == 0) || v >= order {
            return Err(JoseError::MalformedSignature);
        }
    }
    let r = BigNum::from_slice(r_bytes).map_err(|_| JoseError::CryptoFailure)?;
    let s = BigNum::from_slice(s_bytes).map_err(|_| JoseError::CryptoFailure)?;
    EcdsaSig::from_private_components(r, s)
        .and_then(|es| es.to_der())
        .map_err(|_| JoseError::CryptoFailure)
}

fn verify_with_key(alg: Alg, key: &Jwk, data: &[u8], sig: &[u8], ecdsa_der: Option<&[u8]>) -> bool {
    match alg.family() {
        KeyFamily::Rsa => {
            let Some(pkey) = key.public_key() else {
                return false;
            };
            if key.rsa_bytes() != Some(sig.len()) {
                return false;
            }
            let run = || -> Result<bool, openssl::error::ErrorStack> {
                let mut v = Verifier::new(alg.digest(), pkey)?;
                if alg.is_pss() {
                    v.set_rsa_padding(Padding::PKCS1_PSS)?;
                    // RFC 7518 §3.5: salt length = hash length, MGF1 with the same hash.
                    v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
                    v.set_rsa_mgf1_md(alg.digest())?;
                } else {
                    v.set_rsa_padding(Padding::PKCS1)?;
                }
                v.verify_oneshot(sig, data)
            };
            run().unwrap_or(false)
        }
        KeyFamily::Ec(_) => {
            let (Some(pkey), Some(der)) = (key.public_key(), ecdsa_der) else {
                return false;
            };
            Verifier::new(alg.digest(), pkey)
                .and_then(|mut v| v.verify_oneshot(der, data))
                .unwrap_or(false)
        }
        KeyFamily::Ed25519 => {
            let Some(pkey) = key.public_key() else {
                return false;
            };
            Verifier::new_without_digest(pkey)
                .and_then(|mut v| v.verify_oneshot(sig, data))
                .unwrap_or(false)
        }
        KeyFamily::Oct => {
            let Some(hkey) = key.hmac_key() else {
                return false;
            };
            let mac = Signer::new(alg.digest(), hkey).and_then(|mut s| {
                s.update(data)?;
                s.sign_to_vec()
            });
            match mac {
                Ok(mac) => crate::crypto::ct_eq(&mac, sig),
                Err(_) => false,
            }
        }
    }
}
