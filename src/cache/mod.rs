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
//! - [`MemcacheCache`]: `OIDCCacheType memcache`, memcached servers shared by several Apache
//!   servers (text protocol over `TcpStream`, no client crate).
//! - [`EncryptedCache`]: `OIDCCacheEncrypt On` over any of them (keys hashed, values sealed).
//! - [`SharedCache`]: any of them as the second level behind per-process copies of provider
//!   metadata, JWKS and introspection results (errors are misses).
//!
//! Backends never log: they return [`CacheError`](crate::deps::CacheError) and the caller logs., once per
//! outage burst through an [`OutageLog`].

mod encrypted;
mod file;
mod framing;
mod level2;
mod memcache;
mod memory;
mod outage;
mod redis;
mod shm;

pub use encrypted::EncryptedCache;
pub use file::{DEFAULT_CLEAN_INTERVAL, FILE_PREFIX, FileCache};
pub use level2::{BACKOFF_SECONDS, CacheLog, SharedCache};
pub use memcache::{
    CONNECT_TIMEOUT as MEMCACHE_CONNECT_TIMEOUT, IO_TIMEOUT as MEMCACHE_IO_TIMEOUT,
    KEY_PREFIX as MEMCACHE_KEY_PREFIX, MemcacheCache, MemcacheSettings,
};
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
    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        (**self).add(section, key, value, expires_at, now)
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

/// A cache that is down (every operation is `Unavailable`, as a stopped Redis), counting the
/// reads and writes it refused: the one test double for outage tests across the crate.
#[cfg(test)]
#[derive(Default)]
pub struct DownCache(pub std::sync::atomic::AtomicUsize);

#[cfg(test)]
impl DownCache {
    pub fn calls(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn refuse<T>(&self) -> Result<T, CacheError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(CacheError::Unavailable("connection refused".into()))
    }
}

#[cfg(test)]
impl Cache for DownCache {
    fn get(&self, _: CacheSection, _: &str, _: i64) -> Result<Option<CacheEntry>, CacheError> {
        self.refuse()
    }
    fn set(&self, _: CacheSection, _: &str, _: &[u8], _: i64, _: i64) -> Result<(), CacheError> {
        self.refuse()
    }
    fn add(&self, _: CacheSection, _: &str, _: &[u8], _: i64, _: i64) -> Result<bool, CacheError> {
        self.refuse()
    }
    fn remove(&self, _: CacheSection, _: &str) -> Result<(), CacheError> {
        Err(CacheError::Unavailable("connection refused".into()))
    }
    fn touch(&self, _: CacheSection, _: &str, _: i64, _: i64) -> Result<bool, CacheError> {
        Err(CacheError::Unavailable("connection refused".into()))
    }
}
