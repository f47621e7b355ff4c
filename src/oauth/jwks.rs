//! A JWKS fetched from a URI: cached for the refresh interval, fetched by one thread at a time,
//! refetched early when a token names an unknown `kid` — at most once per
//! [`FORCED_REFRESH_MIN_INTERVAL`], so random `kid`s cannot make us hammer the provider —
//! and the last good set kept when a refresh fails. Behind this process's copy, the shared
//! cache (section `Jwks`, keyed by URI) is asked before the provider, and a fetched document is
//! stored there until the end of its refresh interval.

use std::sync::{Arc, Mutex, RwLock};

use crate::cache::SharedCache;
use crate::deps::{CacheSection, HttpClient, HttpMethod, HttpRequest};
use crate::jose::{KeySet, RefetchLimiter};

/// Smallest gap between two fetches forced by unknown `kid`s.
pub const FORCED_REFRESH_MIN_INTERVAL: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksError {
    /// The provider could not be reached or answered badly: the keys are unavailable.
    Unavailable(String),
}

impl std::fmt::Display for JwksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksError::Unavailable(e) => write!(f, "{e}"),
        }
    }
}

struct Fetched {
    keys: Arc<KeySet>,
    /// Used without asking anyone until then.
    fresh_until: i64,
    /// The document the keys came from (to tell a newer shared copy from ours).
    raw: Vec<u8>,
}

pub struct RemoteJwks {
    uri: String,
    refresh_interval: i64,
    shared: SharedCache,
    current: RwLock<Option<Fetched>>,
    /// Serialises fetches (single flight) and limits fetches forced by unknown `kid`s.
    fetch: Mutex<RefetchLimiter>,
}

impl RemoteJwks {
    /// `shared`: the level-2 cache ([`SharedCache::none`] for none).
    pub fn new(uri: String, refresh_interval: i64, shared: SharedCache) -> Self {
        RemoteJwks {
            uri,
            refresh_interval,
            shared,
            current: RwLock::new(None),
            fetch: Mutex::new(RefetchLimiter::new(FORCED_REFRESH_MIN_INTERVAL)),
        }
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn fresh(&self, now: i64) -> Option<Arc<KeySet>> {
        let cur = self.current.read().ok()?;
        let f = cur.as_ref()?;
        (now < f.fresh_until).then(|| f.keys.clone())
    }

    fn last_good(&self) -> Option<Arc<KeySet>> {
        self.current.read().ok()?.as_ref().map(|f| f.keys.clone())
    }

    /// The key set, fetched when the cached one is older than the refresh interval.
    pub fn keys(&self, http: &dyn HttpClient, now: i64) -> Result<Arc<KeySet>, JwksError> {
        if let Some(k) = self.fresh(now) {
            return Ok(k);
        }
        let _guard = self
            .fetch
            .lock()
            .map_err(|_| JwksError::Unavailable("lock poisoned".into()))?;
        if let Some(k) = self.fresh(now) {
            return Ok(k); // another thread fetched while we waited
        }
        if let Some(k) = self.shared_copy(now, false) {
            return Ok(k);
        }
        match self.download(http) {
            Ok((keys, raw)) => Ok(self.store_fetched(keys, raw, now)),
            // Keep serving the last good set when a scheduled refresh fails.
            Err(e) => self.last_good().ok_or(e),
        }
    }

    /// Fetch again because a token names a `kid` we do not have. Returns the new set, or
    /// `None` when a forced fetch happened too recently (or the fetch failed).
    pub fn refresh_for_unknown_kid(&self, http: &dyn HttpClient, now: i64) -> Option<Arc<KeySet>> {
        let seen = self.last_good().map(|k| Arc::as_ptr(&k));
        let mut limiter = self.fetch.lock().ok()?;
        if let Some(k) = self.last_good()
            && Some(Arc::as_ptr(&k)) != seen
        {
            return Some(k); // refreshed by another thread meanwhile
        }
        if !limiter.try_acquire(now) {
            return None;
        }
        // Another process or server may have fetched the rotated keys already.
        if let Some(k) = self.shared_copy(now, true) {
            return Some(k);
        }
        let (keys, raw) = self.download(http).ok()?;
        Some(self.store_fetched(keys, raw, now))
    }

    /// The shared cache's copy, kept here until it expires there; with `newer_only`, only
    /// when it differs from ours. A copy that does not parse is ignored.
    fn shared_copy(&self, now: i64, newer_only: bool) -> Option<Arc<KeySet>> {
        let entry = self.shared.get(CacheSection::Jwks, &self.uri, now)?;
        if newer_only
            && let Ok(cur) = self.current.read()
            && cur.as_ref().is_some_and(|f| f.raw == entry.value)
        {
            return None;
        }
        let keys = KeySet::from_jwks_json(&entry.value).ok()?;
        Some(self.store(keys, entry.value, entry.expires_at))
    }

    /// Keeps keys fetched now, here and in the shared cache.
    fn store_fetched(&self, keys: KeySet, raw: Vec<u8>, now: i64) -> Arc<KeySet> {
        let until = now.saturating_add(self.refresh_interval);
        self.shared
            .set(CacheSection::Jwks, &self.uri, &raw, until, now);
        self.store(keys, raw, until)
    }

    fn store(&self, keys: KeySet, raw: Vec<u8>, fresh_until: i64) -> Arc<KeySet> {
        let keys = Arc::new(keys);
        if let Ok(mut cur) = self.current.write() {
            *cur = Some(Fetched {
                keys: keys.clone(),
                fresh_until,
                raw,
            });
        }
        keys
    }

    fn download(&self, http: &dyn HttpClient) -> Result<(KeySet, Vec<u8>), JwksError> {
        let req = HttpRequest {
            method: HttpMethod::Get,
            url: self.uri.clone(),
            headers: vec![("Accept".into(), "application/json".into())],
            body: None,
        };
        let resp = http.send(&req).map_err(|e| {
            JwksError::Unavailable(format!("fetching JWKS from {} failed: {e}", self.uri))
        })?;
        if resp.status != 200 {
            return Err(JwksError::Unavailable(format!(
                "JWKS URI {} answered HTTP {}",
                self.uri, resp.status
            )));
        }
        let keys = KeySet::from_jwks_json(&resp.body).map_err(|e| {
            JwksError::Unavailable(format!("JWKS from {} is not usable: {e}", self.uri))
        })?;
        Ok((keys, resp.body))
    }
}
