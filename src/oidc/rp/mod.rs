//! `AuthType openid-connect`: the relying party, i.e. the browser login with the authorization
//! code flow, server-side sessions, logout and the info hook. Pure Rust: the glue builds a
//! [`RelyingParty`] per virtual host in each child (lazily) and asks [`RelyingParty::decide`]
//! for every request on a location with this AuthType.
//!
//! Behaviour follows /work/shared/COMPAT.md; the C module 2.4.12.3 for semantics:
//! 1. requests to `OIDCRedirectURI` (callback, `?logout=`, `?info=`, the fragment-post page);
//! 2. a session from the session cookie (cache read, hot per-process copy, inactivity and
//!    maximum duration) -> `Allow` with the claims rendered for the backend;
//! 3. no session: `OIDCUnAuthAction` (302 to the provider for browser navigations, 401 for
//!    scripts, or pass/401/407/410).

mod callback;
pub mod cookie_session;
mod logout;
pub mod pages;
pub mod provider;
mod refresh;
pub mod session;
pub mod settings;
pub mod urls;

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Map;

pub use settings::{
    AuthRequestMethod, DEFAULT_SESSION_COOKIE, PassIdTokenAs, PassUserInfoAs, PkceMethod,
    ProviderSource, ResponseMode, RpRequestSettings, RpSettings, SessionKind, TrustedForwarded,
    UnAuthAction,
};

use crate::cache::{OutageLog, SharedCache};
use crate::claims::{self, ClaimOutput};
use crate::config::ServerConfig;
use crate::crypto::{self, CryptoKeys};
use crate::decision::{Decision, Identity, LogLevel, Rendered, Response};
use crate::deps::{Cache, CacheError, CacheSection, Clock, HttpClient, SystemClock};
use crate::http_client::{HttpSettings, UreqClient};
use crate::oauth::MAX_PROVIDER_RESPONSE;
use crate::request::RequestView;
use crate::token::{self, cookie_value, form_param};

use super::authorize::{self, AuthRequest, StateRecord};
use provider::{Provider, ProviderCache};
use session::{HotSessions, OpenSession, SessionRecord};

/// Largest form body kept for `OIDCPreservePost` (it travels in the state cookie).
pub const MAX_PRESERVED_POST: usize = 2048;

/// Longest state cookie value we set; browsers drop cookies over about 4 KiB.
const MAX_STATE_COOKIE: usize = 3800;

/// The per-process state of one virtual host's relying party.
pub struct RelyingParty {
    settings: RpSettings,
    http: Box<dyn HttpClient>,
    clock: Box<dyn Clock>,
    cache: Arc<dyn Cache>,
    keys: CryptoKeys,
    provider: ProviderCache,
    hot: HotSessions,
    /// Session cache failures, logged once per burst.
    cache_outages: OutageLog,
    /// The path of `OIDCRedirectURI`.
    redirect_path: String,
}

/// What the session cookie led to.
enum SessionLookup {
    /// No session cookie.
    None,
    /// A cookie that names no live session (tampered, unknown, expired): clear it.
    Invalid(String),
    /// The cache could not be read.
    Unavailable(String),
    Found(Found),
}

struct Found {
    /// The cache key (server-cache) or the hot key (client-cookie) of the session.
    key: String,
    session: Arc<OpenSession>,
    /// The cache entry's expiry, or the client-cookie session's deadline (inactivity).
    entry_expires: i64,
    /// Kept in client cookies, not in the cache.
    client_cookie: bool,
    /// `Set-Cookie` values re-issuing a client-cookie session (inactivity moved on).
    set_cookies: Vec<String>,
}

impl RelyingParty {
    /// Made lazily in the child process from the server's final config and its session cache:
    /// one HTTP client (bounded by `OIDCHTTPTimeoutLong`, as the token endpoint call is the
    /// slowest one), the keys from `OIDCCryptoPassphrase`, the system clock.
    /// `keys`: derived from `OIDCCryptoPassphrase` already (by the parent), or `None` to derive
    /// them here.
    pub fn new(
        cfg: &ServerConfig,
        cache: Arc<dyn Cache>,
        keys: Option<CryptoKeys>,
    ) -> Result<RelyingParty, String> {
        let settings = RpSettings::from_config(cfg)?;
        let passphrase = cfg
            .crypto_passphrase
            .as_ref()
            .ok_or("OIDCCryptoPassphrase is not set")?;
        let timeout = cfg.http_timeout_long();
        let http = UreqClient::new(&HttpSettings {
            ca_bundle: cfg.ca_bundle_path.as_ref().map(|p| p.display().to_string()),
            validate_server: cfg.ssl_validate_server(),
            timeout,
            connect_timeout: cfg.http_timeout_short().min(timeout),
            max_body: MAX_PROVIDER_RESPONSE,
        })?;
        Ok(RelyingParty::with(
            settings,
            Box::new(http),
            Box::new(SystemClock),
            cache,
            keys.unwrap_or_else(|| CryptoKeys::derive(passphrase.expose(), None)),
        ))
    }

    pub fn with(
        settings: RpSettings,
        http: Box<dyn HttpClient>,
        clock: Box<dyn Clock>,
        cache: Arc<dyn Cache>,
        keys: CryptoKeys,
    ) -> RelyingParty {
        let provider = ProviderCache::new(&settings, SharedCache::none());
        let redirect_path = urls::redirect_uri_path(&settings.redirect_uri).to_string();
        RelyingParty {
            settings,
            http,
            clock,
            cache,
            keys,
            provider,
            hot: HotSessions::new(session::MAX_HOT_SESSIONS),
            cache_outages: OutageLog::new(),
            redirect_path,
        }
    }

    /// Provider metadata and JWKS also through `shared` (level 2 behind this process's copy).
    pub fn with_shared_cache(mut self, shared: SharedCache) -> RelyingParty {
        self.provider = ProviderCache::new(&self.settings, shared);
        self
    }

    pub fn settings(&self) -> &RpSettings {
        &self.settings
    }

    /// The whole browser-login decision for one request.
    pub fn decide(&self, req: &dyn RequestView, rs: &RpRequestSettings) -> Decision {
        let now = self.clock.now();
        if req.path() == self.redirect_path {
            return Decision::Respond(self.redirect_uri_request(req, rs, now));
        }
        match self.lookup_session(req, rs, now) {
            SessionLookup::Found(found) => match self.keep_fresh(req, rs, found, now) {
                refresh::Fresh::Found(found, log) => {
                    let mut d = self.allow(req, rs, found);
                    if let Decision::Allow(id) = &mut d {
                        id.log = log;
                    }
                    d
                }
                refresh::Fresh::Ended { authenticate, why } => {
                    let clear = self
                        .clear_session_cookies(req, rs)
                        .into_iter()
                        .map(|c| ("Set-Cookie".to_string(), c))
                        .collect();
                    let rs = RpRequestSettings {
                        unauth_action: if authenticate {
                            UnAuthAction::Auth
                        } else {
                            rs.unauth_action
                        },
                        ..*rs
                    };
                    let d = self.unauthenticated(req, &rs, now, clear);
                    with_log_if_none(d, LogLevel::Warn, why)
                }
            },
            SessionLookup::None => self.unauthenticated(req, rs, now, Vec::new()),
            SessionLookup::Invalid(why) => {
                let clear = self
                    .clear_session_cookies(req, rs)
                    .into_iter()
                    .map(|c| ("Set-Cookie".to_string(), c))
                    .collect();
                let d = self.unauthenticated(req, rs, now, clear);
                with_log_if_none(d, LogLevel::Info, why)
            }
            SessionLookup::Unavailable(why) => {
                let (level, log) = self
                    .cache_outages
                    .failure(now, format!("session cache unavailable: {why}"));
                Decision::Respond(self.error_page(
                    503,
                    "Service Unavailable",
                    "The session store is unavailable; please try again later.",
                    level,
                    log,
                ))
            }
        }
    }

    // ---- sessions ----

    fn session_id<'r>(&self, req: &'r dyn RequestView, rs: &RpRequestSettings) -> Option<&'r str> {
        cookie_value(req.header("Cookie")?, rs.cookie_name())
    }

    fn lookup_session(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        now: i64,
    ) -> SessionLookup {
        if self.settings.session_kind == SessionKind::ClientCookie
            || (self.settings.session_fallback_to_cookie
                && cookie_session::looks_like_cookie_session(
                    req.header("Cookie"),
                    rs.cookie_name(),
                ))
        {
            return self.lookup_cookie_session(req, rs, now);
        }
        let Some(id) = self.session_id(req, rs) else {
            return SessionLookup::None;
        };
        if !session::is_session_id(id) {
            return SessionLookup::Invalid("malformed session cookie ignored".into());
        }
        let key = session::cache_key(id);
        let entry = match self.cache.get(CacheSection::Session, &key, now) {
            Ok(Some(e)) => e,
            Ok(None) => {
                self.hot.remove(&key);
                return SessionLookup::Invalid("session cookie names no live session".into());
            }
            Err(e) => return SessionLookup::Unavailable(e.to_string()),
        };
        let session = match self.hot.get(&key, &entry.value, now) {
            Some(s) => s,
            None => {
                let Some(record) = session::open(&self.keys, &key, &entry.value) else {
                    return SessionLookup::Invalid("session record could not be opened".into());
                };
                let s = Arc::new(OpenSession::new(record));
                self.hot.put(&key, entry.value, s.clone(), now);
                s
            }
        };
        if now >= session.record.expires_at {
            self.hot.remove(&key);
            let _ = self.cache.remove(CacheSection::Session, &key);
            return SessionLookup::Invalid(format!(
                "maximum session duration exceeded for user {}",
                session.record.remote_user
            ));
        }
        if let Some(why) = self.foreign_host(req, &session.record) {
            return SessionLookup::Invalid(why);
        }
        self.slide_inactivity(&key, &session.record, entry.expires_at, now);
        SessionLookup::Found(Found {
            key,
            session,
            entry_expires: entry.expires_at,
            client_cookie: false,
            set_cookies: Vec::new(),
        })
    }

    /// A client-cookie session: joined from its chunks, opened once per process (hot cache by
    /// hash of the value), checked for maximum duration, inactivity and host, and re-issued
    /// when its inactivity deadline moves by at least 1/20 of the timeout.
    fn lookup_cookie_session(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        now: i64,
    ) -> SessionLookup {
        let name = rs.cookie_name();
        let value = match cookie_session::read(req.header("Cookie"), name) {
            cookie_session::Read::None => return SessionLookup::None,
            cookie_session::Read::Invalid(why) => return SessionLookup::Invalid(why.into()),
            cookie_session::Read::Value(v) => v,
        };
        let key = cookie_session::hot_key(name, &value);
        let session = match self.hot.get(&key, b"", now) {
            Some(s) => s,
            None => {
                let Some((record, until)) = cookie_session::open(&self.keys, name, &value) else {
                    return SessionLookup::Invalid("session cookie could not be opened".into());
                };
                let s = Arc::new(OpenSession::new(record).with_inactive_until(until));
                self.hot.put(&key, Vec::new(), s.clone(), now);
                s
            }
        };
        let until = session.inactive_until;
        if now >= session.record.expires_at || now >= until {
            self.hot.remove(&key);
            let what = if now >= session.record.expires_at {
                "maximum session duration exceeded"
            } else {
                "session inactivity timeout reached"
            };
            return SessionLookup::Invalid(format!(
                "{what} for user {}",
                session.record.remote_user
            ));
        }
        if let Some(why) = self.foreign_host(req, &session.record) {
            return SessionLookup::Invalid(why);
        }
        let mut set_cookies = Vec::new();
        let mut entry_expires = until;
        if let Some(target) = self.moved_inactivity(session.record.expires_at, until, now)
            && let Ok((value, cookies)) =
                self.client_session_cookies(req, rs, &session.record, target, now)
        {
            let moved = OpenSession::new(session.record.clone()).with_inactive_until(target);
            self.hot.put(
                &cookie_session::hot_key(name, &value),
                Vec::new(),
                Arc::new(moved),
                now,
            );
            set_cookies = cookies;
            entry_expires = target;
        }
        SessionLookup::Found(Found {
            key,
            session,
            entry_expires,
            client_cookie: true,
            set_cookies,
        })
    }

    /// The sealed value and the `Set-Cookie` values of a client-cookie session, inactive after
    /// `until`.
    fn client_session_cookies(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        record: &SessionRecord,
        until: i64,
        now: i64,
    ) -> Result<(String, Vec<String>), String> {
        let name = rs.cookie_name();
        let value = cookie_session::seal(&self.keys, name, record, until)?;
        let lifetime = record.expires_at.saturating_sub(now);
        let cookies = cookie_session::write(
            name,
            &value,
            self.settings.session_cookie_chunk_size,
            req.header("Cookie"),
            |n, v| self.session_cookie_named(req, rs, n, v, lifetime),
            |n| {
                authorize::clear_cookie_in(
                    n,
                    rs.cookie_path(),
                    self.settings.cookie_domain.as_deref(),
                )
            },
        )?;
        Ok((value, cookies))
    }

    /// Establishes a login's session: in the cache with a random id in the session cookie, or
    /// in client cookies (`OIDCSessionType client-cookie`, or `OIDCSessionCacheFallbackToCookie`
    /// when the cache is unavailable). Returns the `Set-Cookie` values and, for a fallback, why.
    fn establish_session(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        record: &SessionRecord,
        now: i64,
    ) -> Result<(Vec<String>, Option<String>), String> {
        let until = self.entry_expiry(record.expires_at, now);
        if self.settings.session_kind == SessionKind::ClientCookie {
            let cookies = if self.settings.store_id_token {
                self.client_session_cookies(req, rs, record, until, now)
            } else {
                let mut r = record.clone();
                r.id_token = String::new();
                self.client_session_cookies(req, rs, &r, until, now)
            };
            return cookies.map(|(_, c)| (c, None));
        }
        let id = crypto::random_token(32).map_err(|_| "the random number generator failed")?;
        match self.store_session_in_cache(&id, record, now) {
            Ok(()) => {
                let mut cookies =
                    vec![self.session_cookie(req, rs, &id, record.expires_at.saturating_sub(now))];
                // Chunks of an earlier client-cookie session (fallback) would shadow the id.
                cookies.extend(self.clear_session_cookies(req, rs).into_iter().skip(1));
                Ok((cookies, None))
            }
            Err((true, e)) if self.settings.session_fallback_to_cookie => {
                let (_, cookies) = self.client_session_cookies(req, rs, record, until, now)?;
                Ok((cookies, Some(e)))
            }
            Err((_, e)) => Err(e),
        }
    }

    /// Why a session cannot be used on this request's host (it was issued for another), if so.
    fn foreign_host(&self, req: &dyn RequestView, record: &SessionRecord) -> Option<String> {
        let expected = self.cookie_domain_for(req);
        (record.cookie_domain != expected).then(|| {
            format!(
                "session cookie issued for {} played against {expected}",
                record.cookie_domain
            )
        })
    }

    /// The host a session is bound to: `OIDCCookieDomain`, else the request's host (through
    /// trusted forwarding headers). Borrowed on the hot path when nothing is forwarded.
    fn cookie_domain_for<'r>(&'r self, req: &'r dyn RequestView) -> Cow<'r, str> {
        let fw = self.settings.forwarded;
        match &self.settings.cookie_domain {
            Some(d) => Cow::Borrowed(d),
            None if !fw.host && !fw.forwarded && !req.hostname().contains(':') => {
                Cow::Borrowed(req.hostname())
            }
            None => Cow::Owned(urls::origin(req, fw).host),
        }
    }

    /// The cache expiry for a session at `now`: the inactivity timeout, capped by the maximum
    /// duration.
    fn entry_expiry(&self, record_expires: i64, now: i64) -> i64 {
        let timeout = self.settings.session_inactivity_timeout.max(1);
        record_expires.min(now.saturating_add(timeout))
    }

    /// The new inactivity expiry of a session whose expiry is `current`, but only when it moves
    /// by at least 1/20 of the timeout (at least a second), so hot sessions are not rewritten
    /// (in the cache, or as re-issued cookies) on every request.
    fn moved_inactivity(&self, record_expires: i64, current: i64, now: i64) -> Option<i64> {
        let timeout = self.settings.session_inactivity_timeout.max(1);
        let target = self.entry_expiry(record_expires, now);
        (target.saturating_sub(current) >= (timeout / 20).max(1)).then_some(target)
    }

    /// Move a cached session's inactivity expiry forward (see [`Self::moved_inactivity`]).
    fn slide_inactivity(&self, key: &str, record: &SessionRecord, current: i64, now: i64) {
        if let Some(target) = self.moved_inactivity(record.expires_at, current, now) {
            let _ = self.cache.touch(CacheSection::Session, key, target, now);
        }
    }

    #[allow(dead_code)]
    fn store_session(&self, id: &str, record: &SessionRecord, now: i64) -> Result<(), String> {
        self.store_session_in_cache(id, record, now)
            .map_err(|(_, e)| e)
    }

    /// Stores a session in the cache; the error says whether the cache was unavailable.
    fn store_session_in_cache(
        &self,
        id: &str,
        record: &SessionRecord,
        now: i64,
    ) -> Result<(), (bool, String)> {
        let key = session::cache_key(id);
        let sealed = session::seal(&self.keys, &key, record).map_err(|e| (false, e))?;
        let expires = self.entry_expiry(record.expires_at, now);
        self.cache
            .set(CacheSection::Session, &key, &sealed, expires, now)
            .map_err(|e| match e {
                CacheError::Unavailable(e) => (true, format!("session cache unavailable: {e}")),
                e => (false, format!("session not stored: {e}")),
            })
    }

    fn remove_session(&self, key: &str) {
        self.hot.remove(key);
        let _ = self.cache.remove(CacheSection::Session, key);
    }

    /// Ends a found session: out of the cache, or (client-cookie) out of the hot cache only;
    /// its cookies are cleared by the caller.
    fn end_session(&self, found: &Found) {
        if found.client_cookie {
            self.hot.remove(&found.key);
        } else {
            self.remove_session(&found.key);
        }
    }

    /// The session cookie for session `id`, which lasts `lifetime` seconds.
    fn session_cookie(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        id: &str,
        lifetime: i64,
    ) -> String {
        self.session_cookie_named(req, rs, rs.cookie_name(), id, lifetime)
    }

    /// A cookie with the session cookie's attributes: `name=value`.
    fn session_cookie_named(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        name: &str,
        value: &str,
        lifetime: i64,
    ) -> String {
        session::session_cookie(
            name,
            value,
            rs.cookie_path(),
            self.settings.cookie_domain.as_deref(),
            self.settings.cookie_http_only,
            self.secure(req),
            self.settings.session_cookie_same_site.as_deref(),
            self.settings.persistent_session_cookie.then_some(lifetime),
        )
    }

    /// `Set-Cookie` values that clear the session cookie and any chunk cookies the browser
    /// sent (the session cookie's first).
    fn clear_session_cookies(&self, req: &dyn RequestView, rs: &RpRequestSettings) -> Vec<String> {
        cookie_session::clear_all(rs.cookie_name(), req.header("Cookie"), |n| {
            authorize::clear_cookie_in(n, rs.cookie_path(), self.settings.cookie_domain.as_deref())
        })
    }

    /// Cookies get `Secure` when the browser talks https (directly or via a trusted proxy).
    fn secure(&self, req: &dyn RequestView) -> bool {
        req.is_https() || urls::origin(req, self.settings.forwarded).https
    }

    // ---- an authenticated request ----

    fn allow(&self, req: &dyn RequestView, rs: &RpRequestSettings, found: Found) -> Decision {
        let s = &found.session;
        let rendered = s.rendered(rs.pass, rs.authn_header, rs.pass_refresh_token, || {
            self.render(&s.record, rs)
        });
        Decision::Allow(Identity {
            rendered,
            remove_headers: self.spoofed_headers(req, rs),
            claims: s.claims.clone(),
            cookie_header: stripped_cookies(req, rs),
            set_cookies: found.set_cookies,
            log: None,
        })
    }

    /// User, headers and environment for the backend, in the reference's order: the
    /// `OIDCAuthNHeader`, userinfo claims, userinfo JSON, ID token claims (a name already set
    /// keeps its place), payload, serialized ID token, refresh token, access token and expiry.
    fn render(&self, record: &SessionRecord, rs: &RpRequestSettings) -> Rendered {
        let st = &self.settings;
        let mut out = ClaimOutput::default();
        let pass = rs.pass;
        if let Some(h) = rs.authn_header {
            out.set_header(h.to_string(), record.remote_user.clone().into_bytes());
        }
        let (wl, bl) = (st.whitelist.as_deref(), st.blacklist.as_deref());
        if st.pass_userinfo_as.claims
            && let Some(ui) = &record.userinfo
        {
            claims::render_claims(
                ui,
                &st.claim_prefix,
                &st.claim_delimiter,
                pass,
                wl,
                bl,
                &mut out,
            );
        }
        if st.pass_userinfo_as.json
            && let Some(j) = record.userinfo_json()
        {
            claims::set_app_info(&mut out, "OIDC_", "userinfo_json", &j, pass);
        }
        if st.pass_id_token_as.claims {
            claims::render_claims(
                &record.id_token_claims,
                &st.claim_prefix,
                &st.claim_delimiter,
                pass,
                wl,
                bl,
                &mut out,
            );
        }
        if st.pass_id_token_as.payload {
            claims::set_app_info(
                &mut out,
                "OIDC_",
                "id_token_payload",
                &record.id_token_payload(),
                pass,
            );
        }
        if st.pass_id_token_as.serialized && !record.id_token.is_empty() {
            claims::set_app_info(&mut out, "OIDC_", "id_token", &record.id_token, pass);
        }
        if rs.pass_refresh_token
            && let Some(rt) = &record.refresh_token
        {
            claims::set_app_info(&mut out, "OIDC_", "refresh_token", rt, pass);
        }
        if let Some(at) = &record.access_token {
            claims::set_app_info(&mut out, "OIDC_", "access_token", at, pass);
        }
        if let Some(exp) = record.access_token_expires {
            claims::set_app_info(
                &mut out,
                "OIDC_",
                "access_token_expires",
                &exp.to_string(),
                pass,
            );
        }
        Rendered::new(&record.remote_user, out)
    }

    /// Incoming headers that look like ours (`OIDC_*`, the claim prefix, `OIDCAuthNHeader`).
    fn spoofed_headers(&self, req: &dyn RequestView, rs: &RpRequestSettings) -> Vec<String> {
        claims::spoofed_headers(
            req,
            &self.settings.claim_prefix,
            rs.authn_header,
            self.settings.whitelist.as_deref(),
        )
    }

    // ---- no session ----

    /// A new login for a session user that `Require claim` refused (`OIDCUnAutzAction auth`,
    /// step-up): the redirect to the provider with its state cookie, or `None` when the request
    /// cannot complete a login round trip or the provider is unavailable.
    pub fn start_login(&self, req: &dyn RequestView, rs: &RpRequestSettings) -> Option<Response> {
        if !authorize::is_browser_navigation(|n| req.header(n).map(str::to_string)) {
            return None;
        }
        let r = self.authenticate(req, rs, self.clock.now());
        (r.status == 302).then_some(r)
    }

    fn unauthenticated(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        now: i64,
        headers: Vec<(String, String)>,
    ) -> Decision {
        let bare = |status: u16| {
            let mut r = Response::status(status);
            r.headers = headers.clone();
            Decision::Respond(r)
        };
        match rs.unauth_action {
            UnAuthAction::Return401 => bare(401),
            UnAuthAction::Return407 => bare(407),
            UnAuthAction::Return410 => bare(410),
            UnAuthAction::Pass => Decision::Allow(Identity {
                rendered: Arc::new(Rendered::new("", ClaimOutput::default())),
                remove_headers: self.spoofed_headers(req, rs),
                claims: Arc::new(Map::new()),
                cookie_header: stripped_cookies(req, rs),
                set_cookies: Vec::new(),
                log: None,
            }),
            UnAuthAction::Auth => {
                if !authorize::is_browser_navigation(|n| req.header(n).map(str::to_string)) {
                    return bare(401);
                }
                let mut r = self.authenticate(req, rs, now);
                let mut all = headers;
                all.append(&mut r.headers);
                r.headers = all;
                Decision::Respond(r)
            }
        }
    }

    fn provider(&self, now: i64) -> Result<Arc<Provider>, Response> {
        self.provider
            .get(&self.settings, self.http.as_ref(), now)
            .map_err(|e| {
                self.error_page(
                    503,
                    "Service Unavailable",
                    "The OpenID Connect Provider cannot be reached; please try again later.",
                    LogLevel::Error,
                    e,
                )
            })
    }

    /// The state cookies the browser holds: unopenable or expired ones are cleared (one
    /// `Set-Cookie` each); returns the live ones as (name, created_at).
    fn clean_state_cookies(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        now: i64,
        skip: Option<&str>,
        out: &mut Vec<(String, String)>,
    ) -> Vec<(String, i64)> {
        let prefix = rs.state_cookie_prefix();
        let mut live = Vec::new();
        let Some(header) = req.header("Cookie") else {
            return live;
        };
        for pair in header.split(';') {
            let pair = pair.trim_start_matches([' ', '\t']);
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if Some(name) == skip {
                continue;
            }
            // Only names we could have set (prefix + base64url state) are counted or cleared.
            let Some(state) = name.strip_prefix(prefix) else {
                continue;
            };
            if !crate::jose::is_b64url_token(state) {
                continue;
            }
            match authorize::peek_state(&self.keys, value.trim_end()) {
                Some(rec)
                    if now
                        <= rec
                            .created_at
                            .saturating_add(self.settings.state_timeout.max(0)) =>
                {
                    live.push((name.to_string(), rec.created_at));
                }
                _ => out.push(("Set-Cookie".into(), authorize::clear_cookie(name, "/"))),
            }
        }
        live
    }

    /// Send the browser to the provider (or answer why not).
    fn authenticate(&self, req: &dyn RequestView, rs: &RpRequestSettings, now: i64) -> Response {
        let st = &self.settings;
        let provider = match self.provider(now) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let mut headers: Vec<(String, String)> = Vec::new();

        // OIDCStateMaxNumberOfCookies, as the C module: expired or broken state cookies are
        // cleared and not counted; with delete-oldest the oldest live ones make room.
        let mut live = self.clean_state_cookies(req, rs, now, None, &mut headers);
        let max = st.max_state_cookies as usize;
        if max > 0 {
            if st.delete_oldest_state_cookies {
                live.sort_by_key(|(_, t)| *t);
                while live.len() >= max {
                    let (name, _) = live.remove(0);
                    headers.push(("Set-Cookie".into(), authorize::clear_cookie(&name, "/")));
                }
            }
            if live.len() >= max {
                let mut r = Response::status(503).with_log(
                    LogLevel::Warn,
                    format!(
                        "the number of existing, valid state cookies ({}) has exceeded the limit ({max}), no additional authorization request + state cookie can be generated",
                        live.len()
                    ),
                );
                r.headers = headers;
                return r;
            }
        }

        let origin = urls::origin(req, st.forwarded);
        let (state, nonce, verifier) = match (
            crypto::random_token(32),
            crypto::random_token(32),
            crypto::random_token(32),
        ) {
            (Ok(s), Ok(n), Ok(v)) => (s, n, v),
            _ => {
                return self.error_page(
                    500,
                    "Internal Error",
                    "",
                    LogLevel::Error,
                    "the random number generator failed".into(),
                );
            }
        };
        let pkce_challenge = match st.pkce {
            PkceMethod::S256 => Some((crypto::pkce_s256(&verifier), "S256")),
            PkceMethod::Plain => Some((verifier.clone(), "plain")),
            PkceMethod::None => None,
        };
        let preserved_post = if rs.preserve_post && req.method() == "POST" {
            req.form_body()
                .filter(|b| b.len() <= MAX_PRESERVED_POST)
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(str::to_string)
        } else {
            None
        };
        let mut record = StateRecord {
            state: state.clone(),
            original_url: urls::current_url(req, &origin),
            original_method: req.method().to_string(),
            nonce: nonce.clone(),
            pkce_verifier: pkce_challenge.as_ref().map(|_| verifier.clone()),
            issuer: provider.meta.issuer.clone(),
            created_at: now,
            fingerprint: self.fingerprint(req),
            preserved_post,
        };
        let mut sealed = authorize::seal_state(&self.keys, &record);
        if record.preserved_post.is_some()
            && sealed.as_ref().is_ok_and(|s| s.len() > MAX_STATE_COOKIE)
        {
            record.preserved_post = None;
            sealed = authorize::seal_state(&self.keys, &record);
        }
        let sealed = match sealed {
            Ok(s) => s,
            Err(e) => {
                return self.error_page(500, "Internal Error", "", LogLevel::Error, e.to_string());
            }
        };
        // With response_mode form_post the provider's page POSTs the answer back cross-site:
        // a Lax state cookie would not come along. SameSite=None needs Secure (browsers drop it
        // otherwise), so it is used on https only.
        let secure = self.secure(req);
        let same_site = if st.response_mode == Some(ResponseMode::FormPost) && secure {
            Some("None")
        } else {
            st.state_cookie_same_site.as_deref()
        };
        headers.push((
            "Set-Cookie".into(),
            authorize::state_cookie(
                &authorize::state_cookie_name(rs.state_cookie_prefix(), &state),
                &sealed,
                secure,
                same_site,
            ),
        ));

        let scope = match rs.path_scope {
            Some(p) if !p.is_empty() && !st.scope.is_empty() => format!("{} {p}", st.scope),
            Some(p) if !p.is_empty() => p.to_string(),
            _ => st.scope.clone(),
        };
        let query = req.query().unwrap_or("");
        let from_request = |name: &str| form_param(query, name);
        let mut extra = Vec::new();
        if let Some(m) = st.response_mode {
            extra.push(("response_mode".to_string(), m.as_str().to_string()));
        }
        if let Some(p) = &st.auth_request_params {
            extra.extend(authorize::parse_auth_request_params(p, from_request));
        }
        if let Some(p) = rs.path_auth_request_params {
            extra.extend(authorize::parse_auth_request_params(p, from_request));
        }
        let auth = AuthRequest {
            client_id: st.client_id.clone(),
            scope,
            redirect_uri: urls::redirect_uri(st, &origin),
            state,
            nonce,
            pkce_challenge,
            extra,
        };
        let endpoint = &provider.meta.authorization_endpoint;
        let mut r = match st.auth_request_method {
            AuthRequestMethod::Get => {
                Response::redirect(authorize::authorization_url(endpoint, &auth))
            }
            AuthRequestMethod::Post => {
                let fields: Vec<(String, String)> = authorize::authorization_params(&auth)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                Response::status(200).with_body(
                    pages::HTML,
                    pages::auto_submit(
                        "Submitting...",
                        "Submitting Authentication Request...",
                        endpoint,
                        &fields,
                    )
                    .into_bytes(),
                )
            }
        };
        r.headers.push((
            "Cache-Control".into(),
            "no-cache, no-store, max-age=0".into(),
        ));
        r.headers.extend(headers);
        r
    }

    fn fingerprint(&self, req: &dyn RequestView) -> String {
        authorize::fingerprint(
            req.header("User-Agent"),
            req.header("X-Forwarded-For"),
            self.settings.state_input_headers,
        )
    }

    // ---- the redirect URI ----

    fn redirect_uri_request(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        now: i64,
    ) -> Response {
        let query = req.query().unwrap_or("");
        let has = |name: &str| token::form_pairs(query.as_bytes()).any(|(k, _)| k == name);
        let is_get = req.method() == "GET" || req.method() == "HEAD";
        if is_get && has("state") && (has("code") || has("error")) {
            return self.callback(req, rs, query.as_bytes().to_vec(), now);
        }
        if has("logout") {
            return self.logout(req, rs, now);
        }
        if req.method() == "POST" {
            let body = req.form_body().unwrap_or_default().to_vec();
            let only_fragment_mode =
                token::form_pairs(&body).all(|(k, v)| k == "response_mode" && v == "fragment");
            if only_fragment_mode {
                return self.error_page(
                    400,
                    "Invalid Request",
                    "You've hit an OpenID Connect Redirect URI with no parameters, this is an invalid request; you should not open this URL in your browser directly, or have the server administrator use a different OIDCRedirectURI setting.",
                    LogLevel::Info,
                    "POST to the redirect URI without parameters".into(),
                );
            }
            return self.callback(req, rs, body, now);
        }
        if has("info") {
            return self.info(req, rs, now);
        }
        if query.is_empty() {
            return pages::fragment_post();
        }
        if has("state") {
            // The provider sending the browser back after logout with only `state`.
            return self.after_provider_logout(req, rs, now);
        }
        self.error_page(
            400,
            "Invalid Request",
            "The OpenID Connect callback URL received an invalid request",
            LogLevel::Info,
            "invalid request to the redirect URI".into(),
        )
    }

    fn error_page(
        &self,
        status: u16,
        error: &str,
        description: &str,
        level: LogLevel,
        log: String,
    ) -> Response {
        pages::error(
            self.settings.error_template.as_deref(),
            status,
            error,
            description,
            level,
            log,
        )
    }
}

/// Adds a log line to a decision that has none (the reason a session cookie was ignored).
fn with_log_if_none(d: Decision, level: LogLevel, why: String) -> Decision {
    match d {
        Decision::Respond(r) if r.log.is_none() => Decision::Respond(r.with_log(level, why)),
        other => other,
    }
}

/// The `Cookie` header after `OIDCStripCookies`, when it changes.
fn stripped_cookies(req: &dyn RequestView, rs: &RpRequestSettings) -> Option<String> {
    token::stripped_cookie_header(req, rs.strip_cookies)
}

#[cfg(test)]
mod tests;
