//! JOSE: compact JWS parsing and verification, JWK/JWKS, JWT claim checks (RFC 7515/7517/7518/7519/8725).
//!
//! The pipeline for a bearer token (RFC 9068) or an ID token is
//! [`parse_compact`] → [`verify_signature`] (or [`verify_signature_with_algs`]) → [`validate_claims`]
//! (plus [`check_typ`] where the token kind is typed). Every step is pure: keys come only from a
//! [`KeySet`] built from configuration or a fetched JWKS, never from the token (`jku`, `x5u`, `jwk`,
//! `x5c` headers are ignored), and nothing here does I/O except [`KeySet::from_cert_file_spec`]
//! reading its PEM file at configuration time.
//!
//! Each row of the JWT attack catalogue (shared/reference/security-checklists.md section C) has a
//! unit test named after it in `tests.rs` (`c01_...` to `c34_...`).
//!
//! Error texts ([`JoseError`]'s `Display`) are short fixed sentences that never contain token
//! contents, key material, quotes or control characters, so they can go into
//! `WWW-Authenticate: Bearer error_description="..."` as they are.
//!
//! Note for callers: ECDSA signatures are malleable ((r, n-s) verifies too, see test `c27`), so a
//! token string is not a unique identifier; use `jti` for replay detection.

mod claims;
mod json;
mod jwk;
mod jws;
mod sign;

#[cfg(test)]
pub mod testkit;
#[cfg(test)]
mod tests;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use claims::{
    ClaimsPolicy, DEFAULT_LEEWAY_SECS, RefetchLimiter, check_typ, numeric_date, validate_claims,
};
pub use jwk::{
    Jwk, KeyMaterialKind, KeySet, KeyUse, MAX_JWKS_KEYS, MAX_RSA_BITS, MIN_RSA_BITS, SharedKey,
    SkippedKey, parse_cert_file_spec, parse_shared_key_spec,
};
pub use jws::{
    DEFAULT_MAX_TOKEN_LEN, MAX_HEADER_MEMBERS, MAX_JSON_DEPTH, ParsedJws, parse_compact,
    verify_signature, verify_signature_with_algs,
};
pub use sign::{SigningKey, sign_compact};

/// The JWS algorithms we accept (RFC 7518 §3, RFC 8037 for EdDSA). `none` is deliberately absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
    HS256,
    HS384,
    HS512,
}

/// Which kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    /// `kty: RSA` (RS*, PS*).
    Rsa,
    /// `kty: EC` on the curve the algorithm names (ES*).
    Ec(Curve),
    /// `kty: OKP`, `crv: Ed25519` (EdDSA; Ed448 is not supported).
    Ed25519,
    /// `kty: oct`, an HMAC secret (HS*).
    Oct,
}

/// The elliptic curves usable with ES256/ES384/ES512.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Bytes per coordinate (and per signature half R or S, RFC 7518 §3.4).
    pub fn coord_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The order n of the base point, big-endian, `coord_len()` bytes (SEC 2 / FIPS 186-4 D.1.2).
    pub fn order(self) -> &'static [u8] {
        match self {
            Curve::P256 => &P256_ORDER,
            Curve::P384 => &P384_ORDER,
            Curve::P521 => &P521_ORDER,
        }
    }

    pub(crate) fn nid(self) -> openssl::nid::Nid {
        match self {
            Curve::P256 => openssl::nid::Nid::X9_62_PRIME256V1,
            Curve::P384 => openssl::nid::Nid::SECP384R1,
            Curve::P521 => openssl::nid::Nid::SECP521R1,
        }
    }

    pub(crate) fn from_nid(nid: openssl::nid::Nid) -> Option<Curve> {
        match nid {
            openssl::nid::Nid::X9_62_PRIME256V1 => Some(Curve::P256),
            openssl::nid::Nid::SECP384R1 => Some(Curve::P384),
            openssl::nid::Nid::SECP521R1 => Some(Curve::P521),
            _ => None,
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Curve> {
        match s {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }
}

const fn hex_nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("constant is not upper-case hex"),
    }
}

/// Hex constant to bytes, evaluated at compile time (a bad constant fails the build).
const fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    assert!(b.len() == 2 * N, "hex constant has the wrong length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (hex_nibble(b[2 * i]) << 4) | hex_nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const P256_ORDER: [u8; 32] =
    hex_array("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
const P384_ORDER: [u8; 48] = hex_array(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
);
const P521_ORDER: [u8; 66] = hex_array(
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
);

impl Alg {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Alg; 13] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
    ];

    /// Exact, case-sensitive lookup in the allowlist (checklist C1/C2): `"none"`, `"nOnE"`, `"rs256"`
    /// and anything else unknown give `None`.
    pub fn from_name(s: &str) -> Option<Alg> {
        Alg::ALL.iter().copied().find(|a| a.name() == s)
    }

    /// The registered JWS `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
        }
    }

    /// The key family (and curve) this algorithm needs.
    pub fn family(self) -> KeyFamily {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                KeyFamily::Rsa
            }
            Alg::ES256 => KeyFamily::Ec(Curve::P256),
            Alg::ES384 => KeyFamily::Ec(Curve::P384),
            Alg::ES512 => KeyFamily::Ec(Curve::P521),
            Alg::EdDSA => KeyFamily::Ed25519,
            Alg::HS256 | Alg::HS384 | Alg::HS512 => KeyFamily::Oct,
        }
    }

    /// Hash output size in bytes; also the minimum HMAC secret length (RFC 7518 §3.2, RFC 8725 §3.5).
    pub fn hash_len(self) -> usize {
        match self {
            Alg::RS256 | Alg::PS256 | Alg::ES256 | Alg::HS256 => 32,
            Alg::RS384 | Alg::PS384 | Alg::ES384 | Alg::HS384 => 48,
            Alg::RS512 | Alg::PS512 | Alg::ES512 | Alg::HS512 | Alg::EdDSA => 64,
        }
    }

    pub(crate) fn digest(self) -> openssl::hash::MessageDigest {
        use openssl::hash::MessageDigest;
        match self.hash_len() {
            32 => MessageDigest::sha256(),
            48 => MessageDigest::sha384(),
            _ => MessageDigest::sha512(),
        }
    }

    pub(crate) fn is_pss(self) -> bool {
        matches!(self, Alg::PS256 | Alg::PS384 | Alg::PS512)
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong. `Display` gives a short fixed English sentence (see module docs);
/// only [`JoseError::Config`] carries text, and that text is sanitised and never contains secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoseError {
    // --- token syntax (parse_compact) ---
    /// The token exceeds the length cap.
    TokenTooLarge,
    /// Not three base64url parts separated by two dots, or characters outside that alphabet.
    NotCompactJws,
    /// A JWE (five parts, or a header with `enc`/`zip`): only signed tokens are accepted.
    EncryptedToken,
    /// A part is not strict unpadded base64url.
    BadBase64,
    /// Header or payload is not UTF-8.
    NotUtf8,
    /// Header or payload is not valid JSON.
    BadJson,
    /// Header or payload is not a JSON object.
    NotJsonObject,
    /// A member name appears twice in one JSON object.
    DuplicateMember,
    /// JSON nested deeper than the cap.
    TooDeep,
    /// The header has more members than the cap.
    TooManyHeaderMembers,
    /// The header has no `alg`, or it is not a string.
    MissingAlg,
    /// `alg` is not in the allowlist (this includes `none` in any spelling) or not allowed here.
    AlgNotAllowed,
    /// A `crit` header is present: we implement no extensions.
    CritNotSupported,
    /// A `b64` header other than `true` (RFC 7797 unencoded payload).
    UnencodedPayload,
    /// `cty: JWT`, a nested token.
    NestedJwt,
    /// `kid`, `typ` or `cty` is present but not a string.
    BadHeaderParameter,
    /// The signature part is empty.
    EmptySignature,
    /// The signature has the wrong length or encoding for the algorithm.
    MalformedSignature,

    // --- signature verification ---
    /// The header names a `kid` no key in the set has. The caller may refetch the JWKS once.
    UnknownKid,
    /// No key in the set may verify this algorithm (type, curve, `use`, `key_ops` or `alg` mismatch).
    NoSuitableKey,
    /// The only fitting keys are HMAC secrets shorter than the algorithm's hash.
    WeakHmacKey,
    /// No candidate key verified the signature.
    BadSignature,
    /// The crypto library failed unexpectedly.
    CryptoFailure,

    // --- claims ---
    /// The expiry claim is required but absent.
    MissingExpiry,
    /// The token has expired.
    Expired,
    /// `nbf` lies in the future.
    NotYetValid,
    /// `iat` lies in the future.
    IssuedInFuture,
    /// `iat` lies further in the past than allowed.
    IssuedTooLongAgo,
    /// `iat` is required but absent.
    MissingIssuedAt,
    /// `exp`/`nbf`/`iat` is not a usable JSON number.
    MalformedTimeClaim,
    /// `iss` is absent, not a string, or not the expected issuer.
    IssuerMismatch,
    /// An audience is required but `aud` is absent.
    MissingAudience,
    /// `aud` is neither a string nor an array of strings.
    MalformedAudience,
    /// `aud` does not contain any accepted audience.
    AudienceMismatch,
    /// `azp` is missing with several audiences, malformed, or not the expected party.
    AuthorizedPartyMismatch,
    /// The `typ` header does not fit this kind of token.
    TypeNotAccepted,

    // --- keys and configuration ---
    /// A JWKS document that is not a JSON object with a `keys` array.
    InvalidJwks,
    /// A configuration value (key file, shared key) is unusable; the text says why.
    Config(String),
}

impl JoseError {
    /// Build a [`JoseError::Config`], dropping quotes and control characters from the text.
    pub(crate) fn config(msg: impl AsRef<str>) -> JoseError {
        JoseError::Config(sanitize(msg.as_ref()))
    }

    /// True for [`JoseError::UnknownKid`]: the one error after which a JWKS refetch may help.
    pub fn is_unknown_kid(&self) -> bool {
        matches!(self, JoseError::UnknownKid)
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '"' || c == '\\' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

impl fmt::Display for JoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            JoseError::TokenTooLarge => "token is too large",
            JoseError::NotCompactJws => "token is not a compact JWS",
            JoseError::EncryptedToken => "encrypted tokens are not accepted",
            JoseError::BadBase64 => "token is not valid base64url",
            JoseError::NotUtf8 => "token header or payload is not UTF-8",
            JoseError::BadJson => "token header or payload is not valid JSON",
            JoseError::NotJsonObject => "token header or payload is not a JSON object",
            JoseError::DuplicateMember => "token contains a duplicate JSON member",
            JoseError::TooDeep => "token JSON is nested too deeply",
            JoseError::TooManyHeaderMembers => "token header has too many members",
            JoseError::MissingAlg => "token header has no valid alg",
            JoseError::AlgNotAllowed => "token signature algorithm is not allowed",
            JoseError::CritNotSupported => "token uses unsupported critical header extensions",
            JoseError::UnencodedPayload => "token with unencoded payload is not accepted",
            JoseError::NestedJwt => "nested tokens are not accepted",
            JoseError::BadHeaderParameter => "token header has a malformed parameter",
            JoseError::EmptySignature => "token has no signature",
            JoseError::MalformedSignature => "token signature is malformed",
            JoseError::UnknownKid => "no key found for the token key identifier",
            JoseError::NoSuitableKey => "no key suitable for the token signature algorithm",
            JoseError::WeakHmacKey => "shared key is too short for the token signature algorithm",
            JoseError::BadSignature => "token signature verification failed",
            JoseError::CryptoFailure => "internal error during signature verification",
            JoseError::MissingExpiry => "token has no expiry",
            JoseError::Expired => "token has expired",
            JoseError::NotYetValid => "token is not yet valid",
            JoseError::IssuedInFuture => "token was issued in the future",
            JoseError::IssuedTooLongAgo => "token was issued too long ago",
            JoseError::MissingIssuedAt => "token has no issued-at time",
            JoseError::MalformedTimeClaim => "token has a malformed time claim",
            JoseError::IssuerMismatch => "token issuer is not accepted",
            JoseError::MissingAudience => "token has no audience",
            JoseError::MalformedAudience => "token audience is malformed",
            JoseError::AudienceMismatch => "token audience is not accepted",
            JoseError::AuthorizedPartyMismatch => "token authorized party is not accepted",
            JoseError::TypeNotAccepted => "token type is not accepted",
            JoseError::InvalidJwks => "invalid JWKS document",
            JoseError::Config(msg) => return f.write_str(msg),
        };
        f.write_str(s)
    }
}

impl std::error::Error for JoseError {}

/// Whether `s` is non-empty and uses only the unpadded base64url alphabet (the shape of the
/// random tokens this module makes: states, session ids).
pub fn is_b64url_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Unpadded base64url (RFC 7515 §2).
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url (RFC 7515 §2, checklist C18): URL alphabet only, no padding, no whitespace,
/// no impossible lengths, and the unused trailing bits must be zero (one canonical encoding).
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|_| JoseError::BadBase64)
}
