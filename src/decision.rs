//! What the core decides for a request; the httpd glue applies it.

use std::sync::Arc;

use serde_json::{Map, Value};

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
    /// The value for `r->user` (`REMOTE_USER`).
    pub user: String,
    /// Incoming request headers to remove before anything is set (spoofed identity headers),
    /// each removal logged at warn.
    pub remove_headers: Vec<String>,
    /// Request headers to set for the backend, in order (each name set exactly once). Values
    /// are bytes: `OIDCPassClaimsAs ... latin1` output is not UTF-8.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Subprocess environment variables to set, in order.
    pub env: Vec<(String, Vec<u8>)>,
    /// The claims `Require claim` matches against.
    pub claims: Arc<Map<String, Value>>,
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
