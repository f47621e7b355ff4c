//! Process-local cache of validated access tokens: the claims of a token that passed
//! validation, keyed by the SHA-256 of the token (the token itself is never stored), never
//! served beyond the token's expiry, and bounded in size.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub type TokenKey = [u8; 32];

pub fn token_key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Clone)]
struct Entry {
    claims: Arc<Map<String, Value>>,
    /// When the token was validated (for OIDCOAuthTokenIntrospectionInterval > 0).
    validated_at: i64,
    /// Never served at or after this time (the token's expiry).
    expires_at: i64,
}

/// `OIDCOAuthTokenIntrospectionInterval` semantics: -1 no cache, 0 until expiry, n > 0 reuse a
/// result for at most n seconds (and never beyond expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness(pub i64);

pub struct ClaimsCache {
    entries: RwLock<HashMap<TokenKey, Entry>>,
    max_entries: usize,
}

impl ClaimsCache {
    pub fn new(max_entries: usize) -> Self {
        ClaimsCache {
            entries: RwLock::new(HashMap::new()),
            max_entries: max_entries.max(1),
        }
    }

    pub fn get(
        &self,
        key: &TokenKey,
        now: i64,
        freshness: Freshness,
    ) -> Option<Arc<Map<String, Value>>> {
        if freshness.0 < 0 {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let e = entries.get(key)?;
        if now >= e.expires_at {
            return None;
        }
        if freshness.0 > 0 && now > e.validated_at + freshness.0 {
            return None;
        }
        Some(e.claims.clone())
    }

    pub fn put(
        &self,
        key: TokenKey,
        claims: Arc<Map<String, Value>>,
        now: i64,
        expires_at: i64,
        freshness: Freshness,
    ) {
        if freshness.0 < 0 || expires_at <= now {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, e| e.expires_at > now);
            if entries.len() >= self.max_entries {
                // Still full of live tokens: drop the one closest to expiry.
                if let Some(victim) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(k, _)| *k)
                {
                    entries.remove(&victim);
                }
            }
        }
        entries.insert(
            key,
            Entry {
                claims,
                validated_at: now,
                expires_at,
            },
        );
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: &str) -> Arc<Map<String, Value>> {
        let mut m = Map::new();
        m.insert("sub".into(), Value::String(sub.into()));
        Arc::new(m)
    }

    #[test]
    fn hit_until_expiry_then_miss() {
        let c = ClaimsCache::new(10);
        let k = token_key("t1");
        c.put(k, claims("a"), 100, 200, Freshness(0));
        assert_eq!(c.get(&k, 150, Freshness(0)).unwrap()["sub"], "a");
        assert!(c.get(&k, 199, Freshness(0)).is_some());
        assert!(
            c.get(&k, 200, Freshness(0)).is_none(),
            "never served at or beyond exp"
        );
    }

    #[test]
    fn interval_bounds_reuse() {
        let c = ClaimsCache::new(10);
        let k = token_key("t1");
        c.put(k, claims("a"), 100, 1000, Freshness(10));
        assert!(c.get(&k, 110, Freshness(10)).is_some());
        assert!(c.get(&k, 111, Freshness(10)).is_none());
    }

    #[test]
    fn minus_one_disables_cache() {
        let c = ClaimsCache::new(10);
        let k = token_key("t1");
        c.put(k, claims("a"), 100, 1000, Freshness(-1));
        assert!(c.is_empty());
        assert!(c.get(&k, 101, Freshness(-1)).is_none());
    }

    #[test]
    fn keys_differ_per_token_and_bound_holds() {
        let c = ClaimsCache::new(3);
        for i in 0..10 {
            c.put(
                token_key(&format!("t{i}")),
                claims(&i.to_string()),
                100,
                200 + i,
                Freshness(0),
            );
        }
        assert_eq!(c.len(), 3);
        // The latest-expiring ones survive.
        assert!(c.get(&token_key("t9"), 150, Freshness(0)).is_some());
        assert!(c.get(&token_key("t0"), 150, Freshness(0)).is_none());
    }

    #[test]
    fn expired_entries_are_evicted_first() {
        let c = ClaimsCache::new(2);
        c.put(token_key("old"), claims("o"), 100, 110, Freshness(0));
        c.put(token_key("live"), claims("l"), 100, 500, Freshness(0));
        c.put(token_key("new"), claims("n"), 120, 600, Freshness(0));
        assert!(c.get(&token_key("live"), 130, Freshness(0)).is_some());
        assert!(c.get(&token_key("new"), 130, Freshness(0)).is_some());
    }
}
