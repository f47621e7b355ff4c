//! The provider as this process knows it: metadata from discovery (fetched lazily on first
//! need, refreshed per `OIDCProviderMetadataRefreshInterval`, the last good copy kept when a
//! refresh fails) or from static settings, with its JWKS and the ID token algorithms to accept.
//! Behind this process's copy, the shared cache (section `ProviderMetadata`, keyed by the
//! metadata URL) is asked before the provider, and a fetched document is stored there for the
//! metadata lifetime; the JWKS likewise (see [`RemoteJwks`]).

use std::sync::{Arc, Mutex, RwLock};

use crate::cache::SharedCache;
use crate::deps::{CacheSection, HttpClient};
use crate::jose::{Alg, KeySet};
use crate::oauth::RemoteJwks;
use crate::oidc::discovery::{self, ProviderMetadata};
use crate::oidc::id_token::{self, IdToken, IdTokenError, IdTokenExpectations, allowed_algs};

use super::settings::{ProviderSource, RpSettings};

/// After a failed first fetch, further attempts wait this long (a provider that is down must
/// not make every request wait for a connect timeout).
pub const RETRY_AFTER_FAILURE: i64 = 5;

/// Metadata cache lifetime when `OIDCProviderMetadataRefreshInterval` is 0.
const DEFAULT_METADATA_LIFETIME: i64 = 24 * 3600;

/// One provider, ready to use.
pub struct Provider {
    pub meta: ProviderMetadata,
    pub jwks: Option<Arc<RemoteJwks>>,
    pub algs: Vec<Alg>,
}

impl Provider {
    fn new(
        meta: ProviderMetadata,
        configured_alg: Option<&str>,
        jwks_refresh: i64,
        shared: &SharedCache,
    ) -> Provider {
        let jwks = meta
            .jwks_uri
            .clone()
            .map(|u| Arc::new(RemoteJwks::new(u, jwks_refresh, shared.clone())));
        let algs = allowed_algs(configured_alg, &meta.id_token_signing_alg_values_supported);
        Provider { meta, jwks, algs }
    }

    /// Validate an ID token: signature with the static keys (`OIDCProviderVerifyCertFiles`)
    /// and the provider JWKS (one refetch on an unknown `kid`), then the claims.
    pub fn validate_id_token(
        &self,
        token: &str,
        expected: &IdTokenExpectations,
        static_keys: &KeySet,
        http: &dyn HttpClient,
        now: i64,
    ) -> Result<IdToken, IdTokenError> {
        let Some(jwks) = &self.jwks else {
            return id_token::validate(token, expected, static_keys, now);
        };
        let combined = |remote: &KeySet| {
            let mut all = static_keys.clone();
            all.extend(remote.clone());
            all
        };
        let keys = jwks
            .keys(http, now)
            .map_err(|e| IdTokenError::KeysUnavailable(e.to_string()))?;
        match id_token::validate(token, expected, &combined(&keys), now) {
            Err(e) if e.is_unknown_kid() => match jwks.refresh_for_unknown_kid(http, now) {
                Some(fresh) => id_token::validate(token, expected, &combined(&fresh), now),
                None => Err(e),
            },
            other => other,
        }
    }
}

struct Current {
    provider: Arc<Provider>,
    /// Used without asking anyone until then (`i64::MAX`: static metadata).
    fresh_until: i64,
}

/// The per-process provider slot.
pub struct ProviderCache {
    current: RwLock<Option<Current>>,
    /// Single flight for fetches; holds the time of the last failed attempt.
    fetching: Mutex<Option<i64>>,
    /// Level 2: metadata and JWKS fetched by other processes or servers.
    shared: SharedCache,
}

impl ProviderCache {
    pub fn new(settings: &RpSettings, shared: SharedCache) -> ProviderCache {
        let current = match &settings.provider {
            ProviderSource::Static(meta) => Some(Current {
                provider: Arc::new(Provider::new(
                    (**meta).clone(),
                    settings.id_token_alg.as_deref(),
                    settings.jwks_refresh_interval,
                    &shared,
                )),
                fresh_until: i64::MAX,
            }),
            ProviderSource::Discovery { .. } => None,
        };
        ProviderCache {
            current: RwLock::new(current),
            fetching: Mutex::new(None),
            shared,
        }
    }

    fn fresh(&self, now: i64) -> Option<Arc<Provider>> {
        let cur = self.current.read().ok()?;
        let c = cur.as_ref()?;
        (now < c.fresh_until).then(|| c.provider.clone())
    }

    fn last_good(&self) -> Option<Arc<Provider>> {
        self.current
            .read()
            .ok()?
            .as_ref()
            .map(|c| c.provider.clone())
    }

    /// The provider, fetching or refreshing its metadata when due. `Err` (for the log) only
    /// when no metadata was ever obtained.
    pub fn get(
        &self,
        settings: &RpSettings,
        http: &dyn HttpClient,
        now: i64,
    ) -> Result<Arc<Provider>, String> {
        let ProviderSource::Discovery {
            metadata_url,
            issuer,
        } = &settings.provider
        else {
            return self
                .last_good()
                .ok_or_else(|| "no provider configured".to_string());
        };
        let lifetime = if settings.metadata_refresh_interval > 0 {
            settings.metadata_refresh_interval
        } else {
            DEFAULT_METADATA_LIFETIME
        };
        if let Some(p) = self.fresh(now) {
            return Ok(p);
        }
        // One thread refreshes; while it does, the others keep using the last good metadata
        // (they wait only when there is none yet).
        let mut last_failure = match self.fetching.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::WouldBlock) => match self.last_good() {
                Some(p) => return Ok(p),
                None => self
                    .fetching
                    .lock()
                    .map_err(|_| "provider lock poisoned".to_string())?,
            },
            Err(std::sync::TryLockError::Poisoned(_)) => {
                return Err("provider lock poisoned".to_string());
            }
        };
        if let Some(p) = self.fresh(now) {
            return Ok(p); // fetched by another thread while we waited
        }
        if let Some(failed_at) = *last_failure
            && now < failed_at.saturating_add(RETRY_AFTER_FAILURE)
        {
            return self.last_good().ok_or_else(|| {
                format!("provider metadata from {metadata_url} unavailable (recent failure)")
            });
        }
        // Fetched by another process or server (checked as a fetched document is).
        if let Some(entry) = self
            .shared
            .get(CacheSection::ProviderMetadata, metadata_url, now)
            && let Ok(meta) = discovery::parse(&entry.value, metadata_url, issuer.as_deref())
        {
            return Ok(self.install(settings, meta, entry.expires_at));
        }
        match discovery::fetch_document(http, metadata_url, issuer.as_deref()) {
            Ok((meta, raw)) => {
                *last_failure = None;
                let until = now.saturating_add(lifetime);
                self.shared.set(
                    CacheSection::ProviderMetadata,
                    metadata_url,
                    &raw,
                    until,
                    now,
                );
                Ok(self.install(settings, meta, until))
            }
            Err(e) => {
                *last_failure = Some(now);
                let msg = format!("provider metadata from {metadata_url}: {e}");
                // Keep serving the last good metadata when a refresh fails.
                self.last_good().ok_or(msg)
            }
        }
    }

    /// Makes `meta` the current provider until `fresh_until`.
    fn install(
        &self,
        settings: &RpSettings,
        meta: ProviderMetadata,
        fresh_until: i64,
    ) -> Arc<Provider> {
        // Keep the JWKS (and its cached keys) when the jwks_uri did not change.
        let old = self.last_good();
        let mut p = Provider::new(
            meta,
            settings.id_token_alg.as_deref(),
            settings.jwks_refresh_interval,
            &self.shared,
        );
        if let Some(old) = old
            && old.meta.jwks_uri == p.meta.jwks_uri
        {
            p.jwks = old.jwks.clone();
        }
        let p = Arc::new(p);
        if let Ok(mut cur) = self.current.write() {
            *cur = Some(Current {
                provider: p.clone(),
                fresh_until,
            });
        }
        p
    }
}
