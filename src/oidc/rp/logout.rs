//! `<redirect_uri>?logout=<url>` and `<redirect_uri>?info=json|html`.

use serde_json::{Map, Value};

use crate::decision::{LogLevel, Response};
use crate::request::RequestView;
use crate::token::{append_query, form_encode, form_param};

use super::{RelyingParty, RpRequestSettings, SessionLookup, pages, urls};

/// The keys `OIDCInfoHook` may list, in the order the reference writes them.
const INFO_KEYS: &[&str] = &[
    "iat",
    "access_token",
    "access_token_expires",
    "id_token",
    "userinfo",
    "exp",
    "timeout",
    "remote_user",
    "session",
    "refresh_token",
];

impl RelyingParty {
    /// Local logout (session removed from the cache, cookie cleared), then on to the
    /// provider's `end_session_endpoint` (with `id_token_hint` and `post_logout_redirect_uri`)
    /// when there was a session, else straight to the target.
    pub(super) fn logout(
        &self,
        req: &dyn RequestView,
        rs: &RpRequestSettings,
        now: i64,
    ) -> Response {
        let query = req.query().unwrap_or("");
        let url = form_param(query, "logout").unwrap_or_default();
        let origin = urls::origin(req, self.settings.forwarded);
        let redirect_uri = urls::redirect_uri(&self.settings, &origin);

        // Front-channel logout from the provider (`logout=get` / `logout=img`): a page, no
        // redirect.
        let front_channel = url == "get" || url == "img";
        if url == "backchannel" {
            return self.error_page(
                400,
                "Invalid Request",
                "back-channel logout is not supported",
                LogLevel::Info,
                "back-channel logout request refused (not supported)".into(),
            );
        }
        let target: Option<String> = if front_channel {
            None
        } else if url.is_empty() {
            self.settings.default_logged_out_url.clone()
        } else {
            if let Err(refused) =
                urls::validate_logout_url(&url, &self.settings, &origin, &redirect_uri)
            {
                let log = format!("logout refused: {}: {}", refused.error, refused.description);
                return self.error_page(
                    400,
                    refused.error,
                    &refused.description,
                    LogLevel::Warn,
                    log,
                );
            }
            Some(url)
        };

        let mut log = None;
        let mut target = target;
        if let SessionLookup::Found(found) = self.lookup_session(req, rs, now) {
            self.end_session(&found);
            log = Some(format!("logout of {}", found.session.record.remote_user));
            if !front_channel
                && let Ok(provider) = self.provider.get(&self.settings, self.http.as_ref(), now)
                && let Some(end) = &provider.meta.end_session_endpoint
            {
                // A client-cookie session without `:store_id_token` has no ID token to hint.
                let id_token = &found.session.record.id_token;
                let mut params = Vec::new();
                if !id_token.is_empty() {
                    params.push(("id_token_hint", id_token.clone()));
                }
                if let Some(t) = &target {
                    let absolute = if t.starts_with('/') {
                        format!("{}{t}", origin.base())
                    } else {
                        t.clone()
                    };
                    params.push(("post_logout_redirect_uri", absolute));
                }
                let u = append_query(end, &form_encode(&params));
                target = Some(u);
            }
        }

        let mut r = match target {
            Some(t) => Response::redirect(t),
            None => Response::status(200).with_body(pages::HTML, pages::logged_out().into_bytes()),
        };
        for c in self.clear_session_cookies(req, rs) {
            r.headers.push(("Set-Cookie".into(), c));
        }
        r.headers
            .push(("Cache-Control".into(), "no-cache, no-store".into()));
        r.headers.push(("Pragma".into(), "no-cache".into()));
        if let Some(x) = &self.settings.logout_x_frame_options {
            r.headers.push(("X-Frame-Options".into(), x.clone()));
        } else if front_channel {
            r.headers.push(("X-Frame-Options".into(), "DENY".into()));
        }
        if let Some(l) = log {
            r = r.with_log(LogLevel::Info, l);
        }
        r
    }

    /// The provider sent the browser back to the redirect URI with only `state` (after its
    /// logout): the logged-out target, no error.
    pub(super) fn after_provider_logout(
        &self,
        _req: &dyn RequestView,
        _rs: &RpRequestSettings,
        _now: i64,
    ) -> Response {
        let r = match &self.settings.default_logged_out_url {
            Some(u) => Response::redirect(u.clone()),
            None => Response::status(200).with_body(pages::HTML, pages::logged_out().into_bytes()),
        };
        r.with_header("Cache-Control", "no-cache, no-store")
            .with_header("Pragma", "no-cache")
    }

    /// `OIDCInfoHook`: the session's data as JSON or HTML.
    pub(super) fn info(&self, req: &dyn RequestView, rs: &RpRequestSettings, now: i64) -> Response {
        if self.settings.info_hook.is_empty() {
            return Response::status(404).with_log(
                LogLevel::Info,
                "info request refused: no OIDCInfoHook configured",
            );
        }
        let found = match self.lookup_session(req, rs, now) {
            SessionLookup::Found(f) => f,
            SessionLookup::Unavailable(e) => {
                return self.error_page(
                    503,
                    "Service Unavailable",
                    "The session store is unavailable; please try again later.",
                    LogLevel::Error,
                    format!("session cache unavailable: {e}"),
                );
            }
            SessionLookup::Invalid(_) => {
                let mut r = Response::status(401);
                for c in self.clear_session_cookies(req, rs) {
                    r.headers.push(("Set-Cookie".into(), c));
                }
                return r;
            }
            SessionLookup::None => return Response::status(401),
        };
        let format = form_param(req.query().unwrap_or(""), "info").unwrap_or_default();
        if format != "json" && format != "html" {
            return Response::status(415)
                .with_log(LogLevel::Info, "info request for an unknown format");
        }
        let rec = &found.session.record;
        let wanted = |k: &str| self.settings.info_hook.iter().any(|h| h == k);
        let timeout = self
            .entry_expiry(rec.expires_at, now)
            .max(found.entry_expires);
        let mut out = Map::new();
        for key in INFO_KEYS.iter().copied().filter(|k| wanted(k)) {
            let v = match key {
                "iat" => Some(Value::from(now)),
                "access_token" => rec.access_token.clone().map(Value::String),
                "access_token_expires" => rec
                    .access_token_expires
                    .map(|e| Value::String(e.to_string())),
                "id_token" => Some(Value::Object(rec.id_token_claims.clone())),
                "userinfo" => rec.userinfo.clone().map(Value::Object),
                "exp" => Some(Value::from(rec.expires_at)),
                "timeout" => Some(Value::from(timeout)),
                "remote_user" => Some(Value::String(rec.remote_user.clone())),
                "session" => {
                    let mut s = Map::new();
                    s.insert("remote_user".into(), Value::String(rec.remote_user.clone()));
                    s.insert("created_at".into(), Value::from(rec.created_at));
                    Some(Value::Object(s))
                }
                "refresh_token" => rec.refresh_token.clone().map(Value::String),
                _ => None,
            };
            if let Some(v) = v {
                out.insert(key.to_string(), v);
            }
        }
        let value = Value::Object(out);
        let r = if format == "json" {
            let body = serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec());
            Response::status(200).with_body("application/json", body)
        } else {
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            let html = pages::page(
                "Session Info",
                "",
                None,
                &format!("<pre>{}</pre>", pages::escape(&pretty)),
            );
            Response::status(200).with_body(pages::HTML, html.into_bytes())
        };
        pages::no_store(r)
    }
}
