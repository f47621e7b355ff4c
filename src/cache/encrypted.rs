//! `OIDCCacheEncrypt On`: any backend, with keys hashed and values sealed.
//!
//! - The stored key is `hex(sha256(key))` (as mod_auth_openidc when encrypting), so session ids
//!   and token hashes are not readable in the store.
//! - The value is `crypto::seal(keys, context, value)` with a context naming the section and the
//!   original key, so a value copied to another key or section does not open there.
//! - A value that does not open (tampered, another passphrase, another key) reads as absent:
//!   `Ok(None)`; the caller decides whether to log.

use std::sync::Arc;

use crate::crypto::{self, CryptoKeys, MAX_SEALED_LEN};
use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

/// A [`Cache`] that encrypts values and hashes keys before handing them to `inner`.
pub struct EncryptedCache<C: Cache> {
    inner: C,
    keys: Arc<CryptoKeys>,
}

/// The authenticated context of a value stored under `key` of `section`.
fn context(section: CacheSection, key: &str) -> Vec<u8> {
    let mut c = Vec::with_capacity(8 + key.len());
    c.extend_from_slice(b"cache\0");
    c.extend_from_slice(section.prefix().as_bytes());
    c.push(0);
    c.extend_from_slice(key.as_bytes());
    c
}

/// The key the backend sees.
fn stored_key(key: &str) -> String {
    super::sha256_hex(key.as_bytes())
}

/// The sealed length of a value of `len` bytes: base64url of 1 + 12 + len + 16 bytes.
fn sealed_len(len: usize) -> usize {
    (len.saturating_add(29)).saturating_mul(4).div_ceil(3)
}

impl<C: Cache> EncryptedCache<C> {
    pub fn new(inner: C, keys: Arc<CryptoKeys>) -> Self {
        EncryptedCache { inner, keys }
    }

    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// `value` sealed for `key` of `section`; never something `get` could not open again.
    fn seal(&self, section: CacheSection, key: &str, value: &[u8]) -> Result<String, CacheError> {
        if sealed_len(value.len()) > MAX_SEALED_LEN {
            return Err(CacheError::TooLarge {
                size: value.len(),
                max: MAX_SEALED_LEN / 4 * 3 - 29,
            });
        }
        crypto::seal(&self.keys, &context(section, key), value)
            .map_err(|e| CacheError::Unavailable(format!("cannot encrypt cache value: {e:?}")))
    }
}

impl<C: Cache> Cache for EncryptedCache<C> {
    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError> {
        let Some(entry) = self.inner.get(section, &stored_key(key), now)? else {
            return Ok(None);
        };
        let Ok(sealed) = std::str::from_utf8(&entry.value) else {
            return Ok(None);
        };
        Ok(crypto::open(&self.keys, &context(section, key), sealed)
            .ok()
            .map(|value| CacheEntry {
                value,
                expires_at: entry.expires_at,
            }))
    }

    fn set(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<(), CacheError> {
        let sealed = self.seal(section, key, value)?;
        self.inner.set(
            section,
            &stored_key(key),
            sealed.as_bytes(),
            expires_at,
            now,
        )
    }

    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        let sealed = self.seal(section, key, value)?;
        self.inner.add(
            section,
            &stored_key(key),
            sealed.as_bytes(),
            expires_at,
            now,
        )
    }

    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError> {
        self.inner.remove(section, &stored_key(key))
    }

    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        self.inner.touch(section, &stored_key(key), expires_at, now)
    }
}
