//! What the core decides for a request; the httpd glue applies it.

use std::ffi::CString;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::claims::ClaimOutput;

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Not ours (another AuthType): the glue returns DECLINED.
    Decline,
    /// Authenticated: set `r->user`, the headers/env and keep the claims for `Require claim`.
    Allow(Identity),
    /// Refused: answer with `status`, plus a `WWW-Authenticate` header when given.
    Deny(Denial),
    /// The module answers the request itself: a redirect (to the provider, back to the original
    /// URL after the callback, logout), a page (info hook, fragment-post page, error page) or a
    /// bare status (400 for an unknown state, 401 for XHR). The backend is never reached.
    Respond(Response),
}

/// A complete answer made by the module.
///
/// The glue applies it so: `headers` go to `err_headers_out` (so they survive httpd's own error
/// pages; `Set-Cookie` entries are added, never merged), `Location` included. With a `body` it
/// writes `content_type` and the body with `status` and returns DONE; without one it returns
/// `status` and httpd makes its standard page (302 with `Location`, 400, 401, ...).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    pub status: u16,
    /// Response headers in order, e.g. `("Location", url)`, `("Set-Cookie", c)`,
    /// `("Cache-Control", "no-cache, no-store, max-age=0")`.
    pub headers: Vec<(String, String)>,
    /// `(content type, body)` for pages the module writes itself.
    pub body: Option<(String, Vec<u8>)>,
    /// What to log (never a secret), and at which level.
    pub log: Option<(LogLevel, String)>,
}

impl Response {
    /// A 302 to `location`.
    pub fn redirect(location: impl Into<String>) -> Response {
        Response {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            ..Default::default()
        }
    }

    /// A bare status for httpd to render (400, 401, 403, 404, 415, 500, 503 ...).
    pub fn status(status: u16) -> Response {
        Response {
            status,
            ..Default::default()
        }
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_body(
        mut self,
        content_type: impl Into<String>,
        body: impl Into<Vec<u8>>,
    ) -> Response {
        self.body = Some((content_type.into(), body.into()));
        self
    }

    pub fn with_log(mut self, level: LogLevel, message: impl Into<String>) -> Response {
        self.log = Some((level, message.into()));
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// User, headers and environment for the backend; shared by every request that presents
    /// the same token to a location with the same settings.
    pub rendered: Arc<Rendered>,
    /// Incoming request headers to remove before anything is set (spoofed identity headers),
    /// each removal logged at warn.
    pub remove_headers: Vec<String>,
    /// The claims `Require claim` matches against.
    pub claims: Arc<Map<String, Value>>,
    /// `OIDCStripCookies`: the new `Cookie` request header (empty: remove it), when it changes.
    pub cookie_header: Option<String>,
    /// `Set-Cookie` values for the response (a client-cookie session re-issued to move its
    /// inactivity deadline); the glue adds them to `err_headers_out` so they reach the browser
    /// whatever the backend answers. Empty (no allocation) on the hot path.
    pub set_cookies: Vec<String>,
    /// A line for the error log (e.g. a failed token refresh the request goes on without).
    pub log: Option<(LogLevel, String)>,
}

impl Identity {
    /// The value for `r->user` (`REMOTE_USER`).
    pub fn user(&self) -> &str {
        self.rendered.user.to_str().unwrap_or("")
    }
}

/// What an authenticated request hands the backend, rendered once and kept as C strings so that
/// the glue sets them without copying or allocating.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// `r->user` (`REMOTE_USER`).
    pub user: CString,
    /// Request headers to set, in order, each name once. Values are bytes: `OIDCPassClaimsAs
    /// ... latin1` output is not UTF-8.
    pub headers: Vec<(CString, CString)>,
    /// Subprocess environment variables to set, in order.
    pub env: Vec<(CString, CString)>,
    /// No two header names, and no two environment names, are equal ignoring ASCII case (then
    /// the glue may append them instead of replacing; worked out once per render).
    pub names_distinct: bool,
}

impl Rendered {
    /// From rendered claims. Values never hold NUL (claims turns control characters into
    /// spaces); an entry that still does is left out rather than cut short.
    pub fn new(user: &str, out: ClaimOutput) -> Rendered {
        let c = |pairs: Vec<(String, Vec<u8>)>| {
            pairs
                .into_iter()
                .filter_map(|(n, v)| Some((CString::new(n).ok()?, CString::new(v).ok()?)))
                .collect()
        };
        Rendered {
            user: CString::new(user.replace('\0', " ")).unwrap_or_default(),
            headers: c(out.headers),
            env: c(out.env),
            names_distinct: false,
        }
        .with_names_checked()
    }

    fn with_names_checked(mut self) -> Rendered {
        let distinct = |pairs: &[(CString, CString)]| {
            let mut names: Vec<Vec<u8>> = pairs
                .iter()
                .map(|(n, _)| n.to_bytes().to_ascii_lowercase())
                .collect();
            names.sort_unstable();
            names.windows(2).all(|w| w[0] != w[1])
        };
        self.names_distinct = distinct(&self.headers) && distinct(&self.env);
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.to_bytes() == name.as_bytes())
            .and_then(|(_, v)| v.to_str().ok())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    /// HTTP status: 401, 403, 500, 502, 503 ...
    pub status: u16,
    /// Full `WWW-Authenticate` header value, e.g. `Bearer error="invalid_token", ...`.
    pub www_authenticate: Option<String>,
    /// What to log (never a secret), and at which level.
    pub log: String,
    pub log_level: LogLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Notice,
    Info,
    Debug,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(headers: &[&str], env: &[&str]) -> Rendered {
        let pairs = |names: &[&str]| {
            names
                .iter()
                .map(|n| (n.to_string(), b"v".to_vec()))
                .collect()
        };
        Rendered::new(
            "u",
            ClaimOutput {
                headers: pairs(headers),
                env: pairs(env),
            },
        )
    }

    #[test]
    fn names_are_distinct_only_when_no_two_differ_by_case_alone() {
        assert!(rendered(&["OIDC-a", "OIDC-b"], &["OIDC_a", "OIDC_b"]).names_distinct);
        assert!(!rendered(&["OIDC-email", "oidc-EMAIL"], &[]).names_distinct);
        assert!(!rendered(&[], &["OIDC_x", "OIDC_X"]).names_distinct);
        assert!(rendered(&[], &[]).names_distinct);
    }
}
