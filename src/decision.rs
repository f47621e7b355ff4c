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
        }
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
