//! The [`Cache`](crate::deps::Cache) backends: where server-side sessions, replay markers and
//! fetched provider documents live between requests.
//!
//! - [`MemoryCache`]: per process, bounded, least recently used first out. Tests, and a
//!   building block for per-process caches.
//! - [`ShmCache`]: `OIDCCacheType shm` (the default). A fixed table of slots in one byte region
//!   that every Apache child of a server shares; the table logic is pure Rust over `&mut [u8]`
//!   behind the [`SharedRegion`] lock, so it is tested here with a [`HeapRegion`]. The httpd glue
//!   provides the real region (anonymous shared memory + robust process-shared mutex).
//! - [`FileCache`]: `OIDCCacheType file`, one file per key in `OIDCCacheDir`.
//! - [`RedisCache`]: `OIDCCacheType redis`, a Redis server shared by several Apache servers.
//! - [`EncryptedCache`]: `OIDCCacheEncrypt On` over any of them (keys hashed, values sealed).
//!
//! Backends never log: they return [`CacheError`](crate::deps::CacheError) and the caller logs., once per
//! outage burst through an [`OutageLog`].

mod encrypted;
mod file;
mod memory;
mod outage;
mod redis;
mod shm;

pub use encrypted::EncryptedCache;
pub use file::{DEFAULT_CLEAN_INTERVAL, FILE_PREFIX, FileCache};
pub use memory::MemoryCache;
pub use outage::{OutageLog, QUIET_SECONDS as OUTAGE_QUIET_SECONDS};
pub use redis::{KEY_PREFIX as REDIS_KEY_PREFIX, RedisCache, RedisSettings};
pub use shm::{
    DEFAULT_SLOT_SIZE, DEFAULT_SLOTS, HeapRegion, KEY_MAX, SLOT_OVERHEAD, SharedRegion, ShmCache,
    ShmGeometry, invalidate,
};

use sha2::Digest as _;

/// Stops the background threads the caches of this process started (the Redis near cache's
/// invalidation trackers) and waits for them, about 2 s at most. The httpd glue calls it when a
/// child exits, before the module's code may be unloaded.
pub fn stop_background_threads() {
    redis::stop_background_threads();
}

use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

/// Shared and boxed caches are caches, so the runtime can pick a backend by configuration
/// (`Arc<dyn Cache>`) and still wrap it in an [`EncryptedCache`].
impl<C: Cache + ?Sized> Cache for std::sync::Arc<C> {
    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError> {
        (**self).get(section, key, now)
    }
    fn set(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<(), CacheError> {
        (**self).set(section, key, value, expires_at, now)
    }
    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError> {
        (**self).remove(section, key)
    }
    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        (**self).touch(section, key, expires_at, now)
    }
}

/// Lower-case hex of SHA-256(`data`): file names and the stored keys of encrypted caches, so that
/// session ids never appear in the store.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = sha2::Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests;
