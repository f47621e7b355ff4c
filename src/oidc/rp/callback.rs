//! The authorization response at the redirect URI: state cookie, RFC 9207 `iss`, provider
//! errors, code exchange, ID token validation, userinfo, session, and back to the original URL.
//!
//! Statuses: an unknown, absent, unopenable, expired or foreign-browser state is a bare 400 (as
//! the reference); a refusal (provider `error=`, bad ID token, `invalid_grant`, userinfo `sub`
//! mismatch) is an error page with 401; an outage (provider unreachable, timeout, 5xx, unusable
//! answer) an error page with 503. No check failing ever leaves a session behind, and the
//! userinfo endpoint is only called with a valid ID token.

use serde_json::{Map, Value};

use crate::claims;
use crate::decision::{LogLevel, Response};
use crate::oidc::authorize::{self, StateError};
use crate::oidc::id_token::{IdTokenError, IdTokenExpectations};
use crate::oidc::token_endpoint::{self, TokenEndpointError};
use crate::oidc::userinfo;
use crate::request::RequestView;
use crate::token::{cookie_value, form_param};

use super::session::SessionRecord;
use super::{RelyingParty, RpRequestSettings, pages, urls};

impl RelyingParty {
    /// `params`: the query (response_mode query) or the form body (form_post / fragment).
    pub(super) fn callback(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        params: Vec<u8>,
        now: i64,
    ) -> Response {
        let state = form_param(&params, "state").unwrap_or_default();
        // Our states are base64url; anything else cannot name a state cookie we set (and never
        // reaches a Set-Cookie header).
        let well_formed = state.len() <= 128 && crate::jose::is_b64url_token(&state);
        if !well_formed {
            return self.bad_state("authorization response without a well-formed state".into());
        }
        let cookie_name = authorize::state_cookie_name(rs.state_cookie_prefix(), &state);
        let mut headers: Vec<(String, String)> = Vec::new();
        // Expired or broken state cookies of earlier attempts are cleared on the way.
        self.clean_state_cookies(req, rs, now, Some(&cookie_name), &mut headers);
        let Some(value) = req
            .header("Cookie")
            .and_then(|h| cookie_value(h, &cookie_name))
        else {
            return self.with_headers(
                self.bad_state(
                    format!(
                        "no state cookie for this authorization response (state {}): check domain and SameSite cookie settings",
                        short(&state)
                    ),
                ),
                headers,
            );
        };
        // The state is single use: its cookie goes, whatever happens next.
        headers.push((
            "Set-Cookie".into(),
            authorize::clear_cookie(&cookie_name, "/"),
        ));
        let record = match authorize::open_state(
            &self.keys,
            value,
            &state,
            now,
            self.settings.state_timeout,
            &self.fingerprint(req),
        ) {
            Ok(r) => r,
            Err(e) => {
                let mut r = self.bad_state(format!("state refused: {e}"));
                if matches!(e, StateError::Expired)
                    && let Some(log) = r.log.as_mut()
                {
                    log.0 = LogLevel::Warn;
                }
                return self.with_headers(r, headers);
            }
        };
        let r = self.finish_login(req, rs, &params, record, now);
        self.with_headers(r, headers)
    }

    fn with_headers(&self, mut r: Response, mut headers: Vec<(String, String)>) -> Response {
        headers.append(&mut r.headers);
        r.headers = headers;
        r
    }

    /// 400 for a state that cannot be used, or a 302 to `OIDCDefaultURL` when one is set (as
    /// the reference).
    fn bad_state(&self, log: String) -> Response {
        match &self.settings.default_url {
            Some(u) => Response::redirect(u.clone()).with_log(
                LogLevel::Warn,
                format!("{log}; sending the browser to OIDCDefaultURL"),
            ),
            None => Response::status(400).with_log(LogLevel::Error, log),
        }
    }

    fn refused(&self, error: &str, description: &str, log: String) -> Response {
        self.error_page(401, error, description, LogLevel::Error, log)
    }

    fn outage(&self, log: String) -> Response {
        self.error_page(
            503,
            "Service Unavailable",
            "The OpenID Connect Provider could not complete the login; please try again later.",
            LogLevel::Error,
            log,
        )
    }

    fn finish_login(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        params: &[u8],
        state: authorize::StateRecord,
        now: i64,
    ) -> Response {
        let st = &self.settings;
        let provider = match self.provider(now) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let issuer = provider.meta.issuer.as_str();
        if state.issuer != issuer {
            return self.refused(
                "Invalid Request",
                "The login was started for another provider.",
                format!(
                    "state was made for issuer {} but the provider is {issuer}",
                    state.issuer
                ),
            );
        }
        // RFC 9207: when the provider says who it is, it must be the one we asked.
        if let Some(iss) = form_param(params, "iss")
            && iss != issuer
        {
            return self.refused(
                "Invalid Request",
                "The authorization response came from another provider.",
                format!("authorization response iss {iss:?} does not match the issuer {issuer}"),
            );
        }
        if let Some(error) = form_param(params, "error") {
            let description = form_param(params, "error_description").unwrap_or_default();
            return self.refused(
                &format!("OpenID Connect Provider error: {error}"),
                &description,
                format!("the provider answered the authorization request with error {error:?}"),
            );
        }
        let Some(code) = form_param(params, "code").filter(|c| !c.is_empty()) else {
            return self.refused(
                "Invalid Request",
                "The authorization response holds no code.",
                "authorization response without code".into(),
            );
        };

        let origin = urls::origin(req, st.forwarded);
        let redirect_uri = urls::redirect_uri(st, &origin);
        let tokens = match token_endpoint::exchange_code(
            self.http.as_ref(),
            &provider.meta.token_endpoint,
            &st.client_auth,
            &code,
            &redirect_uri,
            state.pkce_verifier.as_deref(),
            &st.token_endpoint_params,
            now,
        ) {
            Ok(t) => t,
            Err(e) if e.is_outage() => return self.outage(format!("code exchange failed: {e}")),
            Err(
                ref e @ TokenEndpointError::ErrorResponse {
                    ref error,
                    ref description,
                    ..
                },
            ) => {
                return self.refused(
                    &format!("OpenID Connect Provider error: {error}"),
                    description.as_deref().unwrap_or(""),
                    format!("code exchange failed: {e}"),
                );
            }
            Err(e @ TokenEndpointError::BadResponse(_)) => {
                return self.outage(format!("code exchange failed: {e}"));
            }
            Err(e) => {
                return self.refused(
                    "Error",
                    "The login could not be completed.",
                    format!("code exchange failed: {e}"),
                );
            }
        };

        let mut expected = IdTokenExpectations::new(
            issuer,
            st.client_id.clone(),
            state.nonce.clone(),
            provider.algs.clone(),
        );
        expected.client_secret = st.client_secret.as_ref().map(|s| s.as_bytes().to_vec());
        expected.iat_slack = st.iat_slack;
        let id_token = match provider.validate_id_token(
            &tokens.id_token,
            &expected,
            &st.verify_keys,
            self.http.as_ref(),
            now,
        ) {
            Ok(t) => t,
            Err(e @ IdTokenError::KeysUnavailable(_)) => {
                return self.outage(format!("ID token not validated: {e}"));
            }
            Err(e) => {
                return self.refused(
                    "Error",
                    "The ID token from the provider is not valid.",
                    e.to_string(),
                );
            }
        };

        // Userinfo, only now that the ID token is valid; its `sub` must be the token's.
        let userinfo = match (
            &provider.meta.userinfo_endpoint,
            tokens.access_token.as_deref(),
        ) {
            (Some(endpoint), Some(at)) => {
                match userinfo::fetch(
                    self.http.as_ref(),
                    endpoint,
                    at,
                    st.userinfo_method,
                    &id_token.sub,
                ) {
                    Ok(claims) => Some(claims),
                    Err(e) if e.is_outage() => {
                        return self.outage(format!("userinfo request failed: {e}"));
                    }
                    Err(e) => {
                        return self.refused(
                            "Error",
                            "The user information from the provider is not valid.",
                            format!("userinfo refused: {e}"),
                        );
                    }
                }
            }
            _ => None,
        };

        let mut merged: Map<String, Value> = userinfo.clone().unwrap_or_default();
        claims::merge_claims(&mut merged, &id_token.claims);
        let Some(remote_user) = claims::remote_user(&merged, &st.remote_user, Some(issuer)) else {
            return self.refused(
                "Error",
                "Remote user could not be set: contact the website administrator",
                format!(
                    "OIDCRemoteUserClaim {:?} gives no user for this login",
                    st.remote_user.claim
                ),
            );
        };

        let expires_at = if st.session_max_duration > 0 {
            now.saturating_add(st.session_max_duration)
        } else {
            id_token.exp
        };
        let record = SessionRecord {
            sub: id_token.sub.clone(),
            issuer: issuer.to_string(),
            remote_user,
            userinfo,
            id_token_claims: id_token.claims.clone(),
            id_token: tokens.id_token.clone(),
            access_token: tokens.access_token.clone(),
            access_token_expires: tokens.expires_in.map(|e| now.saturating_add(e)),
            refresh_token: tokens.refresh_token.clone(),
            userinfo_refreshed_at: None,
            cookie_domain: self.cookie_domain_for(req).into_owned(),
            created_at: now,
            expires_at,
        };
        let (cookies, fallback) = match self.establish_session(req, rs, &record, now) {
            Ok(c) => c,
            Err(e) => {
                let (level, log) = self.cache_outages.failure(now, e);
                return self.outage(String::new()).with_log(level, log);
            }
        };

        let target = if state.original_url.is_empty() {
            st.default_url.clone().unwrap_or_else(|| "/".to_string())
        } else {
            state.original_url.clone()
        };
        let (level, log) = match fallback {
            None => (
                LogLevel::Info,
                format!(
                    "session created for {} (issuer {issuer})",
                    record.remote_user
                ),
            ),
            Some(why) => (
                LogLevel::Warn,
                format!(
                    "session created for {} (issuer {issuer}) in client cookies: {why}",
                    record.remote_user
                ),
            ),
        };
        let r = match &state.preserved_post {
            Some(body) if state.original_method == "POST" => {
                let fields: Vec<(String, String)> = crate::token::form_pairs(body.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                pages::no_store(
                    Response::status(200).with_body(
                        pages::HTML,
                        pages::auto_submit("Restoring...", "Restoring...", &target, &fields)
                            .into_bytes(),
                    ),
                )
            }
            _ => Response::redirect(target),
        };
        let mut r = r;
        for c in cookies {
            r.headers.push(("Set-Cookie".into(), c));
        }
        r.with_log(level, log)
    }
}

/// The first characters of a value, for logs.
fn short(s: &str) -> &str {
    let end = s.char_indices().nth(12).map(|(i, _)| i).unwrap_or(s.len());
    &s[..end]
}
