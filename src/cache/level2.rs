//! The shared cache as a second level behind per-process copies: provider metadata, JWKS,
//! OAuth 2.0 metadata and introspection results are kept in each process (level 1, the hot
//! path, no I/O) and, on a level-1 miss or expiry, looked up in the server's configured cache
//! (`OIDCCacheType`: shm, file, redis, ...) before the provider is asked; what is fetched is
//! stored there with the same lifetime. So a document is fetched, and a token introspected,
//! once per cache rather than once per process (or per server, with Redis).
//!
//! The level-2 cache is an optimisation only: any error is a miss. After an `Unavailable`
//! error the cache is not asked again for [`BACKOFF_SECONDS`] (a hung Redis must not add its
//! timeout to every level-1 miss), and the error is logged at warn at most once per
//! [`BACKOFF_SECONDS`] window, at debug otherwise, through the [`CacheLog`] the glue installs.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::decision::LogLevel;
use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

/// How long the shared cache is left alone after it was unavailable.
pub const BACKOFF_SECONDS: i64 = 10;

/// Where level-2 errors are reported (the httpd glue logs them to the server's error log).
pub type CacheLog = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// A handle on the shared cache for level-2 lookups; cheap to clone (clones share the back-off
/// state). [`SharedCache::none`] is a cache that never holds anything.
#[derive(Clone)]
pub struct SharedCache {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    cache: Arc<dyn Cache>,
    log: CacheLog,
    /// Not asked before this time (after an `Unavailable` error).
    down_until: AtomicI64,
}

impl SharedCache {
    /// No shared cache: every lookup misses, nothing is stored.
    pub fn none() -> SharedCache {
        SharedCache { inner: None }
    }

    /// `cache` (already wrapped in an `EncryptedCache` when `OIDCCacheEncrypt` is on), errors
    /// reported to `log`.
    pub fn new(cache: Arc<dyn Cache>, log: CacheLog) -> SharedCache {
        SharedCache {
            inner: Some(Arc::new(Inner {
                cache,
                log,
                down_until: AtomicI64::new(i64::MIN),
            })),
        }
    }

    pub fn is_none(&self) -> bool {
        self.inner.is_none()
    }

    /// The live value of `key`, or `None` (absent, expired, or the cache failed).
    pub fn get(&self, section: CacheSection, key: &str, now: i64) -> Option<CacheEntry> {
        let inner = self.usable(now)?;
        match inner.cache.get(section, key, now) {
            Ok(v) => v,
            Err(e) => {
                inner.failed(&e, "read", section, now);
                None
            }
        }
    }

    /// Store `value` until `expires_at` (nothing when already expired or the cache failed).
    pub fn set(&self, section: CacheSection, key: &str, value: &[u8], expires_at: i64, now: i64) {
        if expires_at <= now {
            return;
        }
        let Some(inner) = self.usable(now) else {
            return;
        };
        if let Err(e) = inner.cache.set(section, key, value, expires_at, now) {
            inner.failed(&e, "write", section, now);
        }
    }

    fn usable(&self, now: i64) -> Option<&Inner> {
        let inner = self.inner.as_deref()?;
        (now >= inner.down_until.load(Ordering::Relaxed)).then_some(inner)
    }
}

fn section_name(section: CacheSection) -> &'static str {
    match section {
        CacheSection::AccessToken => "access token",
        CacheSection::Jwks => "JWKS",
        CacheSection::OAuthMetadata => "OAuth metadata",
        CacheSection::ProviderMetadata => "provider metadata",
        CacheSection::Session => "session",
        CacheSection::Replay => "replay",
        CacheSection::Lock => "lock",
    }
}

impl Inner {
    fn failed(&self, e: &CacheError, what: &str, section: CacheSection, now: i64) {
        let message = format!(
            "shared cache {what} of {} failed (using this process's copy and the provider instead): {e}",
            section_name(section)
        );
        match e {
            // A value too large for the backend (a big JWKS in an shm slot): nothing to fix
            // at run time, and the process copy works.
            CacheError::TooLarge { .. } => (self.log)(LogLevel::Debug, &message),
            CacheError::Unavailable(_) => {
                let until = now.saturating_add(BACKOFF_SECONDS);
                let previous = self.down_until.swap(until, Ordering::Relaxed);
                // Warn once per burst: the first failure after the cache was fine for a
                // whole back-off window.
                let level = if previous.saturating_add(BACKOFF_SECONDS) < now {
                    LogLevel::Warn
                } else {
                    LogLevel::Debug
                };
                (self.log)(level, &message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::MemoryCache;
    use std::sync::Mutex;

    use crate::cache::DownCache as Down;

    type Seen = Arc<Mutex<Vec<(LogLevel, String)>>>;

    fn recorder() -> (CacheLog, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (
            Arc::new(move |l, m: &str| s.lock().unwrap().push((l, m.to_string()))),
            seen,
        )
    }

    #[test]
    fn none_misses_and_stores_nothing() {
        let c = SharedCache::none();
        c.set(CacheSection::Jwks, "k", b"v", 200, 100);
        assert!(c.get(CacheSection::Jwks, "k", 100).is_none());
        assert!(c.is_none());
    }

    #[test]
    fn round_trip_with_expiry() {
        let (log, seen) = recorder();
        let c = SharedCache::new(Arc::new(MemoryCache::new(10)), log);
        c.set(CacheSection::Jwks, "k", b"v", 200, 100);
        assert_eq!(c.get(CacheSection::Jwks, "k", 150).unwrap().value, b"v");
        assert_eq!(c.get(CacheSection::Jwks, "k", 150).unwrap().expires_at, 200);
        assert!(c.get(CacheSection::Jwks, "k", 200).is_none());
        c.set(CacheSection::Jwks, "dead", b"v", 100, 100);
        assert!(c.get(CacheSection::Jwks, "dead", 99).is_none());
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn unavailable_is_a_miss_backs_off_and_warns_once_per_burst() {
        let (log, seen) = recorder();
        let counting = Arc::new(Down::default());
        let c = SharedCache::new(counting.clone(), log);
        assert!(c.get(CacheSection::Jwks, "k", 100).is_none());
        assert_eq!(counting.calls(), 1);
        // Within the back-off window the cache is not asked at all.
        assert!(c.get(CacheSection::Jwks, "k", 105).is_none());
        c.set(CacheSection::Jwks, "k", b"v", 500, 105);
        assert_eq!(counting.calls(), 1);
        // Asked again after it; still down: logged at debug (same burst).
        assert!(c.get(CacheSection::Jwks, "k", 110).is_none());
        assert_eq!(counting.calls(), 2);
        // A later burst warns again.
        assert!(c.get(CacheSection::Jwks, "k", 1000).is_none());
        let levels: Vec<LogLevel> = seen.lock().unwrap().iter().map(|(l, _)| *l).collect();
        assert_eq!(levels, [LogLevel::Warn, LogLevel::Debug, LogLevel::Warn]);
        assert!(seen.lock().unwrap()[0].1.contains("JWKS"));
    }
}
