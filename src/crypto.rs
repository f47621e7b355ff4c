//! The encryption envelope for state cookies, client-cookie sessions and encrypted cache values,
//! plus the small primitives the browser login needs (random tokens, constant-time comparison,
//! PKCE S256).
//!
//! Keys: [`CryptoKeys::derive`] stretches `OIDCCryptoPassphrase` (and the optional previous
//! passphrase of the 2.4.15+ rollover syntax `OIDCCryptoPassphrase <pass> [<previous>]`) with
//! PBKDF2-HMAC-SHA256, [`DEFAULT_ITERATIONS`] rounds, over the fixed, non-secret salt [`KDF_SALT`]
//! (the same choice as mod_auth_openidc 2.4.20). This runs once per server config at startup.
//!
//! Envelope (deliberately not the C module's compact JWE: its cookies are not portable across
//! upstream versions either, so a re-login at the switch is expected):
//!
//! ```text
//! base64url-no-pad( version (1 byte, 0x01) || IV (12 bytes) || ciphertext || GCM tag (16 bytes) )
//! AES-256-GCM, AAD = version || context label
//! ```
//!
//! The context label (`b"state"`, `b"session"`, `b"cache"`, ...) is authenticated, so a value
//! sealed for one purpose never opens as another. Values are always sealed with the current key;
//! [`open`] tries the current key, then the previous one, so values sealed before a passphrase
//! rollover stay readable while the old passphrase is configured as the second argument.
//!
//! Key material never appears in `Debug` output or in error messages.

use crate::jose::b64url_encode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use std::fmt;

/// PBKDF2 iteration count used by [`CryptoKeys::derive`] (OWASP guidance for PBKDF2-HMAC-SHA256,
/// as mod_auth_openidc 2.4.20). About 100 ms per passphrase, once at startup.
pub const DEFAULT_ITERATIONS: u32 = 210_000;

/// Fixed, non-secret, application-specific PBKDF2 salt. It only provides domain separation
/// (precomputed tables for other uses of PBKDF2-HMAC-SHA256 do not apply); it is not a secret.
pub const KDF_SALT: &[u8] = b"mod_auth_openidc-crypto-passphrase-v1";

/// The envelope format version, the first byte of every sealed value.
pub const ENVELOPE_VERSION: u8 = 0x01;

/// The largest sealed string [`open`] looks at (characters of base64url). Anything longer is
/// rejected before decoding; cookies and cache values are far smaller.
pub const MAX_SEALED_LEN: usize = 64 * 1024;

const KEY_LEN: usize = 32;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// version || IV || tag, with an empty ciphertext.
const MIN_RAW_LEN: usize = 1 + IV_LEN + TAG_LEN;

/// Why sealing or opening failed. Carries no key material and no plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The sealed value is longer than [`MAX_SEALED_LEN`].
    TooLong,
    /// Not strict base64url without padding, or too short to hold an envelope.
    Malformed,
    /// The version byte is not one this module writes.
    UnsupportedVersion,
    /// No configured key authenticates the value (wrong key, wrong context label, tampering).
    AuthenticationFailed,
    /// The key could not be derived at startup (PBKDF2 failed), so nothing can be sealed or opened.
    KeyUnavailable,
    /// OpenSSL failed while encrypting or drawing random bytes.
    Internal,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CryptoError::TooLong => "encrypted value too long",
            CryptoError::Malformed => "encrypted value malformed",
            CryptoError::UnsupportedVersion => "encrypted value has an unsupported version",
            CryptoError::AuthenticationFailed => "encrypted value could not be authenticated",
            CryptoError::KeyUnavailable => {
                "crypto key unavailable (passphrase key derivation failed)"
            }
            CryptoError::Internal => "internal crypto error",
        })
    }
}

impl std::error::Error for CryptoError {}

/// A 256-bit AES key, wiped (best effort) on drop and never printed.
#[derive(Clone)]
struct Key([u8; KEY_LEN]);

impl Drop for Key {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            *b = 0;
        }
        // Keep the wipe from being optimised away as a dead store.
        std::hint::black_box(&self.0);
    }
}

/// Keys derived once per server config from `OIDCCryptoPassphrase` (and the optional previous
/// passphrase for rollover). `Debug` shows only whether a previous key is present.
#[derive(Clone)]
pub struct CryptoKeys {
    /// `None` when PBKDF2 failed: every seal/open then fails with [`CryptoError::KeyUnavailable`].
    current: Option<Key>,
    previous: Option<Key>,
}

impl fmt::Debug for CryptoKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoKeys")
            .field("current", &self.current.as_ref().map(|_| "<redacted>"))
            .field("previous", &self.previous.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn derive_key(passphrase: &str, iterations: u32) -> Option<Key> {
    // openssl's wrapper converts lengths and the count to c_int and panics on overflow: refuse
    // such inputs here instead (no real passphrase is 2 GiB long).
    if passphrase.len() > i32::MAX as usize {
        return None;
    }
    let iterations = iterations.clamp(1, i32::MAX as u32) as usize;
    let mut out = [0u8; KEY_LEN];
    let ok = openssl::pkcs5::pbkdf2_hmac(
        passphrase.as_bytes(),
        KDF_SALT,
        iterations,
        MessageDigest::sha256(),
        &mut out,
    )
    .is_ok();
    let key = Key(out);
    if ok { Some(key) } else { None }
}

impl CryptoKeys {
    /// Derive the current key (and the previous one, for rollover) with [`DEFAULT_ITERATIONS`].
    /// The config layer should reject an empty passphrase before calling this.
    pub fn derive(passphrase: &str, previous: Option<&str>) -> CryptoKeys {
        Self::derive_with_iterations(passphrase, previous, DEFAULT_ITERATIONS)
    }

    /// As [`CryptoKeys::derive`] with an explicit PBKDF2 iteration count (at least 1); tests use
    /// a small one. Never fails: if PBKDF2 fails, the keys are unusable and every seal/open
    /// returns [`CryptoError::KeyUnavailable`] (fail closed).
    pub fn derive_with_iterations(
        passphrase: &str,
        previous: Option<&str>,
        iterations: u32,
    ) -> CryptoKeys {
        CryptoKeys {
            current: derive_key(passphrase, iterations),
            previous: previous.and_then(|p| derive_key(p, iterations)),
        }
    }

    /// Whether a previous (rollover) passphrase is configured and usable.
    pub fn has_previous(&self) -> bool {
        self.previous.is_some()
    }
}

fn aad(context: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(1 + context.len());
    a.push(ENVELOPE_VERSION);
    a.extend_from_slice(context);
    a
}

/// Seal `plaintext` for the purpose named by `context` with the current key: AES-256-GCM with a
/// fresh random 96-bit IV per call, returned as base64url (no padding) of
/// `version || IV || ciphertext || tag`. No compression.
pub fn seal(keys: &CryptoKeys, context: &[u8], plaintext: &[u8]) -> Result<String, CryptoError> {
    let key = keys.current.as_ref().ok_or(CryptoError::KeyUnavailable)?;
    let mut iv = [0u8; IV_LEN];
    openssl::rand::rand_bytes(&mut iv).map_err(|_| CryptoError::Internal)?;
    let mut tag = [0u8; TAG_LEN];
    let ct = encrypt_aead(
        Cipher::aes_256_gcm(),
        &key.0,
        Some(&iv),
        &aad(context),
        plaintext,
        &mut tag,
    )
    .map_err(|_| CryptoError::Internal)?;
    let mut raw = Vec::with_capacity(MIN_RAW_LEN + ct.len());
    raw.push(ENVELOPE_VERSION);
    raw.extend_from_slice(&iv);
    raw.extend_from_slice(&ct);
    raw.extend_from_slice(&tag);
    Ok(b64url_encode(&raw))
}

/// Open a value made by [`seal`] with the same `context`. Checks the length before decoding,
/// decodes strict base64url (no padding, no whitespace, canonical trailing bits), then tries the
/// current key and the previous one; GCM checks the tag in constant time. Any failure is an
/// `Err`; no partial plaintext is ever returned.
pub fn open(keys: &CryptoKeys, context: &[u8], sealed: &str) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(CryptoError::TooLong);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(sealed.as_bytes())
        .map_err(|_| CryptoError::Malformed)?;
    if raw.len() < MIN_RAW_LEN {
        return Err(CryptoError::Malformed);
    }
    let (version, rest) = raw.split_at(1);
    if version != [ENVELOPE_VERSION] {
        return Err(CryptoError::UnsupportedVersion);
    }
    let (iv, rest) = rest.split_at(IV_LEN);
    let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
    let current = keys.current.as_ref().ok_or(CryptoError::KeyUnavailable)?;
    let aad = aad(context);
    for key in std::iter::once(current).chain(keys.previous.as_ref()) {
        if let Ok(pt) = decrypt_aead(Cipher::aes_256_gcm(), &key.0, Some(iv), &aad, ct, tag) {
            return Ok(pt);
        }
    }
    Err(CryptoError::AuthenticationFailed)
}

/// `bytes` random bytes from OpenSSL's CSPRNG, base64url without padding: for state, nonce,
/// PKCE verifiers (use 32 bytes → 43 characters, within RFC 7636's 43..=128) and session ids.
/// An error only if the CSPRNG fails; callers must then fail the request, not fall back.
pub fn random_token(bytes: usize) -> Result<String, CryptoError> {
    // openssl's rand_bytes converts the length to c_int and panics on overflow.
    if bytes > i32::MAX as usize {
        return Err(CryptoError::Internal);
    }
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf).map_err(|_| CryptoError::Internal)?;
    Ok(b64url_encode(&buf))
}

/// Constant-time equality (in the contents; lengths are not secret and differing lengths are
/// simply unequal). For comparing state, nonce and similar values received from the browser.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}

/// The PKCE S256 code challenge of a verifier (RFC 7636 §4.2): base64url(SHA-256(verifier)),
/// no padding.
pub fn pkce_s256(verifier: &str) -> String {
    use sha2::Digest as _;
    b64url_encode(&sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests;
