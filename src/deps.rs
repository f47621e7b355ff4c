//! The side effects the core needs, behind small traits: outgoing HTTP, the clock and a cache.
//! Real implementations: [`crate::http_client::UreqClient`], [`SystemClock`], [`MemoryCache`].

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

/// The cache sections, as in mod_auth_openidc (`<section>:<key>`).
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
}

impl CacheSection {
    pub fn prefix(self) -> &'static str {
        match self {
            CacheSection::AccessToken => "a",
            CacheSection::Jwks => "j",
            CacheSection::OAuthMetadata => "o",
            CacheSection::ProviderMetadata => "p",
        }
    }
}

/// A key/value cache with absolute expiry (Unix seconds). Values are opaque bytes so that any
/// backend (process memory, shm, file, Redis) can hold them.
pub trait Cache: Send + Sync {
    fn get(&self, section: CacheSection, key: &str, now: i64) -> Option<Vec<u8>>;
    fn set(&self, section: CacheSection, key: &str, value: &[u8], expires_at: i64, now: i64);
    fn remove(&self, section: CacheSection, key: &str);
}
