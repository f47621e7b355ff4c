//! Keeping sessions fresh: `OIDCRefreshAccessTokenBeforeExpiry` (the refresh-token grant shortly
//! before the access token expires) and `OIDCUserInfoRefreshInterval` (userinfo claims fetched
//! again once they are older than the interval).
//!
//! Many requests of one session may arrive together, on several servers sharing one cache. A
//! refresh token may be single-use (rotation), so exactly one of them must refresh: it takes the
//! lock `refresh:<session cache key>` with [`Cache::add`](crate::deps::Cache::add) (section
//! `Lock`, held for at most `OIDCHTTPTimeoutLong` plus a few seconds), reads the session again
//! (another server may have refreshed it just before), calls the provider, writes the record
//! back and drops the lock. The others do not refresh: they go on with the record they have;
//! only when its access token has already expired they wait (bounded) for the lock to go and
//! read the session once more.
//!
//! A client-cookie session is refreshed the same way under this server's lock, and the new
//! record goes back to the browser as re-issued session cookies on the response.
//!
//! A failed refresh, per the directive's option: nothing (the request goes on with the old
//! tokens or claims, logged), `logout_on_error` (the session ends, the request is handled as
//! unauthenticated) or `authenticate_on_error` (the session ends and a new login starts).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cookie_session;
use super::session::{self, OpenSession, SessionRecord};
use super::settings::{RefreshOnError, RefreshPolicy};
use super::{Found, RelyingParty, RpRequestSettings};
use crate::decision::LogLevel;
use crate::deps::CacheSection;
use crate::oidc::id_token::IdTokenExpectations;
use crate::oidc::{token_endpoint, userinfo};
use crate::request::RequestView;

/// How often a request waiting for another one's refresh looks at the lock.
const WAIT_STEP: Duration = Duration::from_millis(50);

/// What [`RelyingParty::keep_fresh`] leaves of a session.
pub(super) enum Fresh {
    /// The session (refreshed or not), with a line for the log when a refresh failed and the
    /// request goes on without it.
    Found(Found, Option<(LogLevel, String)>),
    /// A refresh failed with `logout_on_error` or `authenticate_on_error`: the session is gone.
    Ended { authenticate: bool, why: String },
}

/// What is due for `record` at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Due {
    token: bool,
    userinfo: bool,
}

impl Due {
    fn any(self) -> bool {
        self.token || self.userinfo
    }
}

/// A failed refresh step: the option that applies and the reason.
struct Failure {
    on_error: RefreshOnError,
    why: String,
}

/// The lock key of the session stored under `key`.
pub(super) fn lock_key(key: &str) -> String {
    format!("refresh:{key}")
}

impl RelyingParty {
    /// What is due: the access token expires within the location's
    /// `OIDCRefreshAccessTokenBeforeExpiry` seconds and there is a refresh token, or the
    /// userinfo claims are older than `OIDCUserInfoRefreshInterval` (and there is an endpoint
    /// to ask, which only the provider knows: checked later).
    fn due(&self, rs: &RpRequestSettings, record: &SessionRecord, now: i64) -> Due {
        let token = match (rs.refresh_before_expiry, record.access_token_expires) {
            (Some(p), Some(exp)) => {
                now >= exp.saturating_sub(i64::from(p.seconds)) && record.refresh_token.is_some()
            }
            _ => false,
        };
        let userinfo = match self.settings.userinfo_refresh {
            Some(p) => {
                let last = record.userinfo_refreshed_at.unwrap_or(record.created_at);
                now >= last.saturating_add(i64::from(p.seconds)) && record.access_token.is_some()
            }
            None => false,
        };
        Due { token, userinfo }
    }

    /// Refreshes what is due of the session `found` (see the module documentation).
    pub(super) fn keep_fresh(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        found: Found,
        now: i64,
    ) -> Fresh {
        // The hot path: nothing configured, or nothing due yet.
        if rs.refresh_before_expiry.is_none() && self.settings.userinfo_refresh.is_none() {
            return Fresh::Found(found, None);
        }
        if !self.due(rs, &found.session.record, now).any() {
            return Fresh::Found(found, None);
        }
        let lock = lock_key(&found.key);
        let ttl = self.settings.refresh_lock_ttl.max(1);
        match self.cache.add(
            CacheSection::Lock,
            &lock,
            b"1",
            now.saturating_add(ttl),
            now,
        ) {
            Ok(true) => {}
            // A client-cookie session has nothing shared to wait for: it goes on as it is.
            Ok(false) if found.client_cookie => return Fresh::Found(found, None),
            Ok(false) => return Fresh::Found(self.wait_for_other(found, &lock, now), None),
            Err(e) => {
                return Fresh::Found(
                    found,
                    Some((
                        LogLevel::Warn,
                        format!("session not refreshed: the refresh lock cannot be taken: {e}"),
                    )),
                );
            }
        }
        let out = if found.client_cookie {
            self.refresh_cookie_session(req, rs, found, now)
        } else {
            self.refresh_locked(rs, found, now)
        };
        let _ = self.cache.remove(CacheSection::Lock, &lock);
        out
    }

    /// A request that did not get the lock: it goes on with its record, unless the access
    /// token has already expired; then it waits (at most `refresh_wait`) for the holder to
    /// finish and reads the session once more.
    fn wait_for_other(&self, found: Found, lock: &str, now: i64) -> Found {
        let expired = found
            .session
            .record
            .access_token_expires
            .is_some_and(|exp| now >= exp);
        if !expired {
            return found;
        }
        let deadline = Instant::now() + self.settings.refresh_wait;
        while Instant::now() < deadline {
            std::thread::sleep(WAIT_STEP);
            match self.cache.get(CacheSection::Lock, lock, self.clock.now()) {
                Ok(Some(_)) => continue,
                _ => break,
            }
        }
        self.reread(&found.key, self.clock.now()).unwrap_or(found)
    }

    /// The session stored under `key` now, opened (through the hot cache).
    fn reread(&self, key: &str, now: i64) -> Option<Found> {
        let entry = self.cache.get(CacheSection::Session, key, now).ok()??;
        let session = match self.hot.get(key, &entry.value, now) {
            Some(s) => s,
            None => {
                let record = session::open(&self.keys, key, &entry.value)?;
                let s = Arc::new(OpenSession::new(record));
                self.hot.put(key, entry.value, s.clone(), now);
                s
            }
        };
        Some(Found {
            key: key.to_string(),
            session,
            entry_expires: entry.expires_at,
            client_cookie: false,
            set_cookies: Vec::new(),
        })
    }

    /// Holding the lock: read the session again, refresh what is still due, write it back.
    fn refresh_locked(&self, rs: &RpRequestSettings, found: Found, now: i64) -> Fresh {
        // Another server may have refreshed between our read and our lock, or the session may
        // have ended (logout): then nothing is refreshed, and nothing written back.
        let Some(found) = self.reread(&found.key, now) else {
            return Fresh::Found(found, None);
        };
        let due = self.due(rs, &found.session.record, now);
        if !due.any() {
            return Fresh::Found(found, None);
        }
        let (record, log) = match self.refreshed(rs, &found, due, now) {
            Ok(r) => r,
            Err(ended) => return ended,
        };
        if record == found.session.record {
            return Fresh::Found(found, log);
        }
        let sealed = match session::seal(&self.keys, &found.key, &record) {
            Ok(s) => s,
            Err(e) => {
                return Fresh::Found(found, Some((LogLevel::Error, e)));
            }
        };
        let expires = self.entry_expiry(record.expires_at, now);
        if let Err(e) = self
            .cache
            .set(CacheSection::Session, &found.key, &sealed, expires, now)
        {
            // The refreshed tokens are lost (a rotated refresh token too): say so.
            return Fresh::Found(
                found,
                Some((
                    LogLevel::Error,
                    format!("refreshed session could not be stored: {e}"),
                )),
            );
        }
        let session = Arc::new(OpenSession::new(record));
        self.hot.put(&found.key, sealed, session.clone(), now);
        Fresh::Found(
            Found {
                key: found.key,
                session,
                entry_expires: expires,
                client_cookie: false,
                set_cookies: Vec::new(),
            },
            log.or_else(|| Some((LogLevel::Info, "session refreshed".to_string()))),
        )
    }

    /// The record of `found` with what is `due` refreshed, and a line for the log when a step
    /// failed and the request goes on; `Err` when a failure ended the session.
    fn refreshed(
        &self,
        rs: &RpRequestSettings,
        found: &Found,
        due: Due,
        now: i64,
    ) -> Result<(SessionRecord, Option<(LogLevel, String)>), Fresh> {
        let mut record = found.session.record.clone();
        let mut log = None;
        if due.token
            && let Err(f) = self.refresh_tokens(rs, &mut record, now)
        {
            log = Some(self.failed(&found.key, f)?);
        }
        // After a token refresh the userinfo is fetched with the new access token only when
        // its own interval is due (as the reference).
        if due.userinfo
            && let Err(f) = self.refresh_userinfo(&mut record, now)
        {
            log = Some(self.failed(&found.key, f)?);
        }
        Ok((record, log))
    }

    /// A client-cookie session (holding this server's lock, so that parallel requests of one
    /// browser to this server refresh once): the refreshed record goes back to the browser as
    /// re-issued session cookies on this response. Across servers nothing is shared, so two
    /// servers may each refresh once.
    fn refresh_cookie_session(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        found: Found,
        now: i64,
    ) -> Fresh {
        let due = self.due(rs, &found.session.record, now);
        let (record, log) = match self.refreshed(rs, &found, due, now) {
            Ok(r) => r,
            Err(ended) => return ended,
        };
        if record == found.session.record {
            return Fresh::Found(found, log);
        }
        let until = self.entry_expiry(record.expires_at, now);
        let (value, cookies) = match self.client_session_cookies(req, rs, &record, until, now) {
            Ok(c) => c,
            Err(e) => return Fresh::Found(found, Some((LogLevel::Error, e))),
        };
        let session = Arc::new(OpenSession::new(record).with_inactive_until(until));
        self.hot.put(
            &cookie_session::hot_key(rs.cookie_name(), &value),
            Vec::new(),
            session.clone(),
            now,
        );
        Fresh::Found(
            Found {
                key: found.key,
                session,
                entry_expires: until,
                client_cookie: true,
                set_cookies: cookies,
            },
            log.or_else(|| Some((LogLevel::Info, "session refreshed".to_string()))),
        )
    }

    /// A failed step: `Ok(log line)` when the request goes on, else the session is removed.
    fn failed(&self, key: &str, f: Failure) -> Result<(LogLevel, String), Fresh> {
        match f.on_error {
            RefreshOnError::Continue => Ok((LogLevel::Warn, f.why)),
            RefreshOnError::Logout | RefreshOnError::Authenticate => {
                self.remove_session(key);
                Err(Fresh::Ended {
                    authenticate: f.on_error == RefreshOnError::Authenticate,
                    why: format!("session ended: {}", f.why),
                })
            }
        }
    }

    /// The refresh-token grant; on success `record` holds the new tokens (a new refresh token
    /// when the provider rotates them, a new ID token when it sends one, validated as Core
    /// §12.2 asks).
    fn refresh_tokens(
        &self,
        rs: &RpRequestSettings,
        record: &mut SessionRecord,
        now: i64,
    ) -> Result<(), Failure> {
        let st = &self.settings;
        let fail = |why: String| Failure {
            on_error: on_error(rs.refresh_before_expiry),
            why,
        };
        let Some(rt) = record.refresh_token.clone() else {
            return Err(fail("no refresh token in the session".into()));
        };
        let provider = self.provider(now).map_err(|r| {
            fail(format!(
                "access token not refreshed: {}",
                r.log.map(|(_, m)| m).unwrap_or_default()
            ))
        })?;
        let scope = (!st.scope.is_empty()).then_some(st.scope.as_str());
        let tokens = token_endpoint::refresh(
            self.http.as_ref(),
            &provider.meta.token_endpoint,
            &st.client_auth,
            &rt,
            scope,
            &st.token_endpoint_params,
            now,
        )
        .map_err(|e| fail(format!("access token not refreshed: {e}")))?;
        let Some(at) = tokens.access_token.filter(|t| !t.is_empty()) else {
            return Err(fail(
                "access token not refreshed: the answer holds no access_token".into(),
            ));
        };
        if let Some(id_token) = &tokens.id_token {
            // Core §12.2: same iss and sub, aud holding our client, signed as at login; a nonce,
            // if any, the original one.
            let nonce = record
                .id_token_claims
                .get("nonce")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string();
            let mut expected = IdTokenExpectations::new(
                record.issuer.clone(),
                st.client_id.clone(),
                nonce,
                provider.algs.clone(),
            );
            expected.nonce_required = false;
            expected.client_secret = st.client_secret.as_ref().map(|s| s.as_bytes().to_vec());
            expected.iat_slack = st.iat_slack;
            let t = provider
                .validate_id_token(
                    id_token,
                    &expected,
                    &st.verify_keys,
                    self.http.as_ref(),
                    now,
                )
                .map_err(|e| fail(format!("refreshed ID token refused: {e}")))?;
            if t.sub != record.sub {
                return Err(fail("refreshed ID token refused: sub differs".into()));
            }
            let auth_time =
                |c: &serde_json::Map<String, serde_json::Value>| c.get("auth_time").cloned();
            if let (Some(a), Some(b)) = (auth_time(&t.claims), auth_time(&record.id_token_claims))
                && a != b
            {
                return Err(fail("refreshed ID token refused: auth_time differs".into()));
            }
            if st.session_max_duration == 0 {
                record.expires_at = t.exp;
            }
            record.id_token_claims = t.claims;
            record.id_token = id_token.clone();
        }
        record.access_token = Some(at);
        record.access_token_expires = tokens.expires_in.map(|e| now.saturating_add(e));
        if let Some(new_rt) = tokens.refresh_token.filter(|t| !t.is_empty()) {
            record.refresh_token = Some(new_rt);
        }
        Ok(())
    }

    /// The userinfo claims fetched again with the session's access token. A failure keeps the
    /// old claims and still counts as a refresh (no new attempt before the next interval).
    fn refresh_userinfo(&self, record: &mut SessionRecord, now: i64) -> Result<(), Failure> {
        let st = &self.settings;
        let fail = |why: String| Failure {
            on_error: on_error(st.userinfo_refresh),
            why,
        };
        record.userinfo_refreshed_at = Some(now);
        let provider = self.provider(now).map_err(|r| {
            fail(format!(
                "userinfo not refreshed: {}",
                r.log.map(|(_, m)| m).unwrap_or_default()
            ))
        })?;
        let (Some(endpoint), Some(at)) = (&provider.meta.userinfo_endpoint, &record.access_token)
        else {
            return Ok(());
        };
        let claims = userinfo::fetch(
            self.http.as_ref(),
            endpoint,
            at,
            st.userinfo_method,
            &record.sub,
        )
        .map_err(|e| fail(format!("userinfo not refreshed: {e}")))?;
        record.userinfo = Some(claims);
        Ok(())
    }
}

fn on_error(policy: Option<RefreshPolicy>) -> RefreshOnError {
    policy.map(|p| p.on_error).unwrap_or_default()
}
