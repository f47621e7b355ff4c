//! The side effects the core needs, behind small traits: outgoing HTTP, the clock and a cache.
//! Real implementations: [`crate::http_client::UreqClient`], [`SystemClock`], and the
//! cache backends in `crate::cache`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An outgoing HTTP request to a provider (JWKS, introspection, discovery, token endpoint).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: HttpMethod,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Body for POST; always sent as `application/x-www-form-urlencoded` unless a
    /// `Content-Type` header says otherwise.
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// No answer within the configured timeout.
    Timeout,
    /// Connection refused, DNS failure, TLS handshake failure, ...
    Transport(String),
    /// The body was larger than the client accepts.
    TooLarge,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Timeout => write!(f, "timed out"),
            HttpError::Transport(e) => write!(f, "{e}"),
            HttpError::TooLarge => write!(f, "response body too large"),
        }
    }
}

/// Blocking HTTP client. One per child process (made lazily after fork).
pub trait HttpClient: Send + Sync {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError>;
}

impl<F> HttpClient for F
where
    F: Fn(&HttpRequest) -> Result<HttpResponse, HttpError> + Send + Sync,
{
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self(req)
    }
}

/// Wall-clock time, injected so that expiry logic is testable.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs() as i64
    }
}

/// A clock that tests can set.
pub struct FixedClock(pub std::sync::atomic::AtomicI64);

impl FixedClock {
    pub fn new(t: i64) -> Self {
        FixedClock(std::sync::atomic::AtomicI64::new(t))
    }
    pub fn set(&self, t: i64) {
        self.0.store(t, std::sync::atomic::Ordering::SeqCst)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The cache sections, as in mod_auth_openidc (`<section>:<key>`). Every backend (shm, file,
/// later Redis/memcache) keeps them apart by [`CacheSection::prefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheSection {
    /// Validated access tokens (JWT claims or introspection results), keyed by a token hash.
    AccessToken,
    /// JWKS documents, keyed by URI.
    Jwks,
    /// OAuth 2.0 authorization server metadata, keyed by URL.
    OAuthMetadata,
    /// OpenID provider metadata, keyed by URL.
    ProviderMetadata,
    /// Server-side sessions, keyed by session id (the session cookie value).
    Session,
    /// Used authorization codes / state values (replay markers), keyed by a hash.
    Replay,
    /// Short-lived locks taken with [`Cache::add`] (e.g. one token refresh per session).
    Lock,
}

impl CacheSection {
    pub fn prefix(self) -> &'static str {
        match self {
            CacheSection::AccessToken => "a",
            CacheSection::Jwks => "j",
            CacheSection::OAuthMetadata => "o",
            CacheSection::ProviderMetadata => "p",
            CacheSection::Session => "s",
            CacheSection::Replay => "r",
            CacheSection::Lock => "l",
        }
    }
}

/// A value read from a cache, with its absolute expiry (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub value: Vec<u8>,
    pub expires_at: i64,
}

/// Why a cache operation failed. A missing or expired key is not an error (`Ok(None)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheError {
    /// The backend cannot be reached or answered an error (file system, Redis down, ...).
    Unavailable(String),
    /// The value is larger than the backend takes (e.g. `OIDCCacheShmEntrySizeMax`).
    TooLarge { size: usize, max: usize },
}

impl std::fmt::Display for CacheError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheError::Unavailable(e) => write!(f, "cache unavailable: {e}"),
            CacheError::TooLarge { size, max } => {
                write!(
                    f,
                    "cache value of {size} bytes exceeds the maximum of {max}"
                )
            }
        }
    }
}

/// A key/value cache shared by every process (and, with Redis, every server) that serves the
/// same configuration, with absolute expiry (Unix seconds). Values are opaque bytes; encryption
/// (`OIDCCacheEncrypt`) is layered on top, not done by backends. Keys are short printable ASCII.
pub trait Cache: Send + Sync {
    /// The live value of `key`, or `None` when absent or expired at `now`.
    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError>;
    /// Store `value` until `expires_at`, replacing any older value.
    fn set(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<(), CacheError>;
    /// Forget `key` (absent is fine).
    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError>;
    /// Move the expiry of a live `key` to `expires_at` without rewriting its value (sliding
    /// inactivity timeouts); `Ok(false)` when the key is absent or expired.
    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError>;
    /// Store `value` until `expires_at` only when `key` is absent or expired at `now`, as one
    /// atomic step for every process (and server) sharing the backend: `Ok(true)` when stored,
    /// `Ok(false)` when a live value was already there (left unchanged). Used as a lock that
    /// exactly one of many concurrent callers takes.
    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError>;
}
