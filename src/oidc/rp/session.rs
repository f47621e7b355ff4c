//! Server-side sessions: the record kept in the shared cache (section `Session`), sealed with
//! [`crypto::seal`] under the context `session` whatever `OIDCCacheEncrypt` says (it holds
//! tokens), keyed by a hash of the session id (the cookie value itself never becomes a cache
//! key), and the per-process hot cache that makes a repeated request cost one cache read and a
//! byte comparison.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::config::values::PassClaimsAs;
use crate::crypto::{self, CryptoKeys};
use crate::decision::Rendered;

/// The context label session records are sealed under.
pub const SESSION_CONTEXT: &[u8] = b"session";

/// Length of a session id: 32 random bytes in base64url.
pub const SESSION_ID_LEN: usize = 43;

/// Bound on the per-process hot cache (an entry holds the sealed bytes, the opened record and
/// its renders: some kilobytes). Sessions beyond it still work; they are opened per request.
pub const MAX_HOT_SESSIONS: usize = 1_000;

/// Renders kept per session: one per distinct location setting, a handful at most.
const MAX_RENDERS_PER_SESSION: usize = 8;

/// What a login established; serialised as JSON and sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub sub: String,
    pub issuer: String,
    /// `REMOTE_USER` as computed at login.
    pub remote_user: String,
    /// Claims from the userinfo endpoint, in the provider's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<Map<String, Value>>,
    /// The ID token claims, in token order.
    pub id_token_claims: Map<String, Value>,
    /// The compact ID token (logout `id_token_hint`, `OIDCPassIDTokenAs serialized`).
    pub id_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Unix time the access token expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the userinfo claims were last fetched after login (`OIDCUserInfoRefreshInterval`);
    /// absent: at `created_at`. Older records without it open unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_refreshed_at: Option<i64>,
    /// The host (or `OIDCCookieDomain`) the session cookie was issued for.
    pub cookie_domain: String,
    pub created_at: i64,
    /// End of `OIDCSessionMaxDuration`.
    pub expires_at: i64,
}

impl SessionRecord {
    /// The ID token payload JSON as received (`OIDCPassIDTokenAs payload`): derived when a
    /// session is rendered (once per process and location), not stored twice in every record.
    /// A client-cookie session without `:store_id_token` keeps no ID token: the claims then.
    pub fn id_token_payload(&self) -> String {
        if self.id_token.is_empty() {
            return serde_json::to_string(&self.id_token_claims).unwrap_or_default();
        }
        self.id_token
            .split('.')
            .nth(1)
            .and_then(|p| crate::jose::b64url_decode(p).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// The userinfo claims as JSON (`OIDCPassUserInfoAs json`), derived like the payload.
    pub fn userinfo_json(&self) -> Option<String> {
        self.userinfo
            .as_ref()
            .and_then(|u| serde_json::to_string(u).ok())
    }

    /// The claims `Require claim` and the info hook see: userinfo claims with the ID token
    /// claims merged in (as the C module's `oidc_util_json_merge`).
    pub fn merged_claims(&self) -> Map<String, Value> {
        let mut m = self.userinfo.clone().unwrap_or_default();
        crate::claims::merge_claims(&mut m, &self.id_token_claims);
        m
    }
}

/// Whether a cookie value has the shape of a session id (checked before any cache access).
pub fn is_session_id(s: &str) -> bool {
    s.len() == SESSION_ID_LEN && crate::jose::is_b64url_token(s)
}

/// The cache key of a session id: base64url(SHA-256(id)).
pub fn cache_key(id: &str) -> String {
    crate::jose::b64url_encode(&sha2::Sha256::digest(id.as_bytes()))
}

/// The sealing context of the session stored under cache key `key`: a record copied to another
/// key (another user's cookie) does not open there.
fn context(key: &str) -> Vec<u8> {
    [SESSION_CONTEXT, b"\0", key.as_bytes()].concat()
}

/// The stored form of `record` under cache key `key`.
pub fn seal(keys: &CryptoKeys, key: &str, record: &SessionRecord) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(record).map_err(|e| format!("session encoding: {e}"))?;
    crypto::seal(keys, &context(key), &json)
        .map(String::into_bytes)
        .map_err(|e| format!("session sealing: {e}"))
}

/// The record stored under cache key `key`; `None` when it does not open there.
pub fn open(keys: &CryptoKeys, key: &str, value: &[u8]) -> Option<SessionRecord> {
    let s = std::str::from_utf8(value).ok()?;
    let json = crypto::open(keys, &context(key), s).ok()?;
    serde_json::from_slice(&json).ok()
}

/// The location settings a render depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderKey {
    pub pass: PassClaimsAs,
    pub authn_header: Option<String>,
    pub pass_refresh_token: bool,
}

impl RenderKey {
    fn matches(&self, pass: PassClaimsAs, authn_header: Option<&str>, prt: bool) -> bool {
        self.pass == pass
            && self.authn_header.as_deref() == authn_header
            && self.pass_refresh_token == prt
    }
}

/// An opened session as the hot cache keeps it.
pub struct OpenSession {
    pub record: SessionRecord,
    pub claims: Arc<Map<String, Value>>,
    /// A client-cookie session's inactivity deadline (the cache entry's expiry plays that
    /// part for server-cache sessions: `i64::MAX` there).
    pub inactive_until: i64,
    renders: RwLock<Vec<(RenderKey, Arc<Rendered>)>>,
}

impl OpenSession {
    pub fn new(record: SessionRecord) -> OpenSession {
        let claims = Arc::new(record.merged_claims());
        OpenSession {
            record,
            claims,
            inactive_until: i64::MAX,
            renders: RwLock::new(Vec::new()),
        }
    }

    /// The same with a client-cookie session's inactivity deadline.
    pub fn with_inactive_until(mut self, until: i64) -> OpenSession {
        self.inactive_until = until;
        self
    }

    /// The render for these settings, made by `make` on first use.
    pub fn rendered(
        &self,
        pass: PassClaimsAs,
        authn_header: Option<&str>,
        pass_refresh_token: bool,
        make: impl FnOnce() -> Rendered,
    ) -> Arc<Rendered> {
        if let Ok(renders) = self.renders.read()
            && let Some((_, r)) = renders
                .iter()
                .find(|(k, _)| k.matches(pass, authn_header, pass_refresh_token))
        {
            return r.clone();
        }
        let rendered = Arc::new(make());
        if let Ok(mut renders) = self.renders.write()
            && renders.len() < MAX_RENDERS_PER_SESSION
        {
            renders.push((
                RenderKey {
                    pass,
                    authn_header: authn_header.map(str::to_string),
                    pass_refresh_token,
                },
                rendered.clone(),
            ));
        }
        rendered
    }
}

struct Hot {
    /// The sealed cache value this was opened from: a later request reuses the opened
    /// session only when the cache still holds exactly these bytes.
    sealed: Vec<u8>,
    session: Arc<OpenSession>,
    /// When a request last used it (Unix seconds), for eviction.
    last_used: AtomicI64,
}

/// Per-process map session cache key -> opened session.
pub struct HotSessions {
    map: RwLock<HashMap<String, Hot>>,
    max: usize,
}

impl HotSessions {
    pub fn new(max: usize) -> HotSessions {
        HotSessions {
            map: RwLock::new(HashMap::new()),
            max: max.max(1),
        }
    }

    /// The opened session for `key` when it was opened from exactly `sealed`.
    pub fn get(&self, key: &str, sealed: &[u8], now: i64) -> Option<Arc<OpenSession>> {
        let map = self.map.read().ok()?;
        let hot = map.get(key)?;
        if hot.sealed != sealed {
            return None;
        }
        hot.last_used.store(now, Ordering::Relaxed);
        Some(hot.session.clone())
    }

    /// Keeps `session`; when full, expired sessions go first, then the least recently used
    /// tenth (so a burst of new sessions does not evict one entry per insertion).
    pub fn put(&self, key: &str, sealed: Vec<u8>, session: Arc<OpenSession>, now: i64) {
        let Ok(mut map) = self.map.write() else {
            return;
        };
        if map.len() >= self.max && !map.contains_key(key) {
            map.retain(|_, h| h.session.record.expires_at > now);
            if map.len() >= self.max {
                let mut used: Vec<i64> = map
                    .values()
                    .map(|h| h.last_used.load(Ordering::Relaxed))
                    .collect();
                used.sort_unstable();
                let cut = used[(used.len() / 10).min(used.len() - 1)];
                map.retain(|_, h| h.last_used.load(Ordering::Relaxed) > cut);
            }
        }
        map.insert(
            key.to_string(),
            Hot {
                sealed,
                session,
                last_used: AtomicI64::new(now),
            },
        );
    }

    pub fn remove(&self, key: &str) {
        if let Ok(mut map) = self.map.write() {
            map.remove(key);
        }
    }

    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `Set-Cookie` value of the session cookie; `max_age` (seconds) makes it persistent
/// (`OIDCSessionType server-cache:persistent`), else it ends with the browser session.
#[allow(clippy::too_many_arguments)]
pub fn session_cookie(
    name: &str,
    id: &str,
    path: &str,
    domain: Option<&str>,
    http_only: bool,
    secure: bool,
    same_site: Option<&str>,
    max_age: Option<i64>,
) -> String {
    let mut c = format!("{name}={id}; Path={path}");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.max(0)));
    }
    if let Some(d) = domain {
        c.push_str("; Domain=");
        c.push_str(d);
    }
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    if let Some(s) = same_site {
        c.push_str("; SameSite=");
        c.push_str(s);
    }
    c
}
