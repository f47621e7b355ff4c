//! Process-local cache of validated access tokens: the claims of a token that passed
//! validation, keyed by the SHA-256 of the token (the token itself is never stored), never
//! served beyond the token's expiry, and bounded in size. Each entry also keeps what was
//! rendered for the backend per location settings, so a repeated token costs a hash and a
//! lookup, not a re-render.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::values::PassClaimsAs;
use crate::decision::Rendered;

pub type TokenKey = [u8; 32];

pub fn token_key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

/// Renders kept per token: one per distinct location setting, a handful at most.
const MAX_RENDERS_PER_TOKEN: usize = 8;

/// The location settings a render depends on: `OIDCPassClaimsAs`, `OIDCPassAccessToken`,
/// `OIDCAuthNHeader`.
type RenderKey = (PassClaimsAs, bool, Option<String>);

/// A token that passed validation.
pub struct ValidToken {
    pub claims: Arc<Map<String, Value>>,
    renders: RwLock<Vec<(RenderKey, Arc<Rendered>)>>,
}

impl ValidToken {
    pub fn new(claims: Map<String, Value>) -> ValidToken {
        ValidToken {
            claims: Arc::new(claims),
            renders: RwLock::new(Vec::new()),
        }
    }

    /// The render for these settings, made by `make` on first use (`None`: no remote user).
    pub fn rendered(
        &self,
        pass: PassClaimsAs,
        pass_access_token: bool,
        authn_header: Option<&str>,
        make: impl FnOnce() -> Option<Rendered>,
    ) -> Option<Arc<Rendered>> {
        let matches = |k: &RenderKey| {
            k.0 == pass && k.1 == pass_access_token && k.2.as_deref() == authn_header
        };
        if let Ok(renders) = self.renders.read()
            && let Some((_, r)) = renders.iter().find(|(k, _)| matches(k))
        {
            return Some(r.clone());
        }
        let rendered = Arc::new(make()?);
        if let Ok(mut renders) = self.renders.write()
            && renders.len() < MAX_RENDERS_PER_TOKEN
        {
            renders.push((
                (pass, pass_access_token, authn_header.map(str::to_string)),
                rendered.clone(),
            ));
        }
        Some(rendered)
    }
}

struct Entry {
    token: Arc<ValidToken>,
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

    pub fn get(&self, key: &TokenKey, now: i64, freshness: Freshness) -> Option<Arc<ValidToken>> {
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
        Some(e.token.clone())
    }

    pub fn put(
        &self,
        key: TokenKey,
        token: Arc<ValidToken>,
        now: i64,
        expires_at: i64,
        freshness: Freshness,
    ) {
        self.put_at(key, token, now, now, expires_at, freshness);
    }

    /// As [`ClaimsCache::put`] for a token validated at `validated_at` (by another process).
    pub fn put_at(
        &self,
        key: TokenKey,
        token: Arc<ValidToken>,
        validated_at: i64,
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
                token,
                validated_at,
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
    use crate::claims::ClaimOutput;
    use crate::config::values::ClaimEncoding;

    fn token(sub: &str) -> Arc<ValidToken> {
        let mut m = Map::new();
        m.insert("sub".into(), Value::String(sub.into()));
        Arc::new(ValidToken::new(m))
    }

    #[test]
    fn hit_until_expiry_then_miss() {
        let c = ClaimsCache::new(10);
        let k = token_key("t1");
        c.put(k, token("a"), 100, 200, Freshness(0));
        assert_eq!(c.get(&k, 150, Freshness(0)).unwrap().claims["sub"], "a");
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
        c.put(k, token("a"), 100, 1000, Freshness(10));
        assert!(c.get(&k, 110, Freshness(10)).is_some());
        assert!(c.get(&k, 111, Freshness(10)).is_none());
    }

    #[test]
    fn minus_one_disables_cache() {
        let c = ClaimsCache::new(10);
        let k = token_key("t1");
        c.put(k, token("a"), 100, 1000, Freshness(-1));
        assert!(c.is_empty());
        assert!(c.get(&k, 101, Freshness(-1)).is_none());
    }

    #[test]
    fn keys_differ_per_token_and_bound_holds() {
        let c = ClaimsCache::new(3);
        for i in 0..10 {
            c.put(
                token_key(&format!("t{i}")),
                token(&i.to_string()),
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
        c.put(token_key("old"), token("o"), 100, 110, Freshness(0));
        c.put(token_key("live"), token("l"), 100, 500, Freshness(0));
        c.put(token_key("new"), token("n"), 120, 600, Freshness(0));
        assert!(c.get(&token_key("live"), 130, Freshness(0)).is_some());
        assert!(c.get(&token_key("new"), 130, Freshness(0)).is_some());
    }

    #[test]
    fn renders_are_made_once_per_setting() {
        let t = token("a");
        let both = PassClaimsAs::default();
        let headers_only = PassClaimsAs {
            environment: false,
            encoding: ClaimEncoding::None,
            headers: true,
        };
        let mut made = 0;
        for _ in 0..3 {
            t.rendered(both, true, None, || {
                made += 1;
                Some(Rendered::new("a", ClaimOutput::default()))
            });
        }
        assert_eq!(made, 1);
        t.rendered(headers_only, true, None, || {
            made += 1;
            Some(Rendered::new("a", ClaimOutput::default()))
        });
        t.rendered(both, true, Some("X-User"), || {
            made += 1;
            Some(Rendered::new("a", ClaimOutput::default()))
        });
        assert_eq!(made, 3);
        assert!(
            t.rendered(both, true, Some("X-Other"), || None).is_none(),
            "no remote user: nothing cached"
        );
    }
}
