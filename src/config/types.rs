//! Value types of the configuration that are not shared with the request path through
//! `values.rs`: secrets, keys, enumerations of directive values.

use std::fmt;
use std::path::PathBuf;

/// A secret value (client secret, passphrase, shared key, bearer token). `Debug` never shows
/// the value, so a config struct can be logged or printed in a test failure safely.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself; call this only where the value is really used.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A symmetric key from `OIDCOAuthVerifySharedKeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedKey {
    /// The key identifier given in the configuration; `None` when none was given (the JOSE layer
    /// then matches the key to tokens without a `kid`, or derives one).
    pub kid: Option<String>,
    /// The raw key bytes, after decoding `b64`/`b64url`/`hex`.
    pub key: Secret<Vec<u8>>,
}

/// The type of a public key read from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyType {
    Rsa,
    Ec,
}

/// A public key from `OIDCOAuthVerifyCertFiles`, read and checked at configuration time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyFile {
    /// The key identifier given as `<kid>#<filename>`, if any.
    pub kid: Option<String>,
    /// The file it was read from (absolute: relative names are taken relative to ServerRoot).
    pub path: PathBuf,
    pub key_type: PublicKeyType,
    /// The public key as DER `SubjectPublicKeyInfo`.
    pub spki_der: Vec<u8>,
    /// The DER certificate when the file held an X.509 certificate rather than a bare key.
    pub cert_der: Option<Vec<u8>>,
}

/// Client authentication at the token or introspection endpoint
/// (`OIDCProviderTokenEndpointAuth`, `OIDCOAuthIntrospectionEndpointAuth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointAuth {
    ClientSecretBasic,
    ClientSecretPost,
    ClientSecretJwt,
    PrivateKeyJwt,
    BearerAccessToken,
    None,
}

impl EndpointAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointAuth::ClientSecretBasic => "client_secret_basic",
            EndpointAuth::ClientSecretPost => "client_secret_post",
            EndpointAuth::ClientSecretJwt => "client_secret_jwt",
            EndpointAuth::PrivateKeyJwt => "private_key_jwt",
            EndpointAuth::BearerAccessToken => "bearer_access_token",
            EndpointAuth::None => "none",
        }
    }
}

/// `OIDCOAuthIntrospectionEndpointMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
}

/// How the expiry claim of an introspection result is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryFormat {
    /// Seconds from now (like `expires_in`).
    Relative,
    /// Seconds since the epoch (like `exp`).
    Absolute,
}

/// `OIDCOAuthTokenExpiryClaim <claim> [absolute|relative] [mandatory|optional]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenExpiryClaim {
    pub name: String,
    pub format: ExpiryFormat,
    /// `mandatory`: an introspection result without the claim is rejected.
    pub required: bool,
}

impl Default for TokenExpiryClaim {
    /// 2.4.12.3's default: `expires_in relative mandatory`.
    fn default() -> Self {
        TokenExpiryClaim {
            name: "expires_in".to_string(),
            format: ExpiryFormat::Relative,
            required: true,
        }
    }
}

/// Where claims go (`OIDCPassClaimsAs`, first argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimsTarget {
    None,
    Headers,
    Environment,
    Both,
}

impl ClaimsTarget {
    pub fn headers(self) -> bool {
        matches!(self, ClaimsTarget::Headers | ClaimsTarget::Both)
    }

    pub fn environment(self) -> bool {
        matches!(self, ClaimsTarget::Environment | ClaimsTarget::Both)
    }
}

/// `OIDCXForwardedHeaders`: which forwarding headers are trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XForwardedHeaders {
    pub host: bool,
    pub port: bool,
    pub proto: bool,
    pub forwarded: bool,
}

/// `OIDCCacheType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheType {
    /// Shared memory (`OIDCCacheShmMax` entries of `OIDCCacheShmEntrySizeMax` bytes).
    Shm,
    /// One file per entry in `OIDCCacheDir`.
    File,
    /// A Redis server (`OIDCRedisCacheServer`), shared by several Apache servers.
    Redis,
    /// One or more memcached servers (`OIDCMemCacheServers`), shared by several Apache servers.
    Memcache,
}

/// `OIDCRedisCacheServer`: `<host>[:<port>]` (an IPv6 address in brackets: `[::1]:6379`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisServer {
    pub host: String,
    pub port: u16,
}

/// One server of `OIDCMemCacheServers`: `<host>[:<port>]` (IPv6 in brackets; port 11211).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemcacheServer {
    pub host: String,
    pub port: u16,
}

impl CacheType {
    /// Whether the cache encrypts its values when `OIDCCacheEncrypt` is not set (2.4.12.3's
    /// `encrypt_by_default` of the backend: off for shm, on for file, memcache and redis).
    pub fn encrypt_by_default(self) -> bool {
        match self {
            CacheType::Shm => false,
            CacheType::File | CacheType::Redis | CacheType::Memcache => true,
        }
    }
}

/// `OIDCResponseType`: only the code flow is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Code,
}

/// A private key from `OIDCPrivateKeyFiles`, read and checked at configuration time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateKeyFile {
    /// The key identifier given as `<kid>#<filename>`, if any (none given: the user of the key
    /// derives one, e.g. the RFC 7638 thumbprint of the public key).
    pub kid: Option<String>,
    /// The file it was read from (absolute: relative names are taken relative to ServerRoot).
    pub path: PathBuf,
    pub key_type: PublicKeyType,
    /// The private key as DER PKCS#8 (`PKey::private_key_from_pkcs8`).
    pub pkcs8_der: Secret<Vec<u8>>,
    /// Its public half as DER `SubjectPublicKeyInfo` (for a published JWKS and thumbprints).
    pub spki_der: Vec<u8>,
}

/// `OIDCResponseMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    /// The `response_mode` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
        }
    }
}

/// `OIDCPKCEMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PkceMethod {
    #[default]
    /// Our default (hardened; 2.4.12.3 used no PKCE when the directive was absent).
    S256,
    Plain,
    /// No PKCE (the 2.4.12.3 behaviour when the directive is absent).
    None,
}

/// `OIDCUserInfoTokenMethod`: one type, defined where it is used.
pub use crate::oidc::userinfo::UserInfoTokenMethod;

/// `OIDCSessionType`: where sessions are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionType {
    pub kind: SessionKind,
    /// `:persistent`: the session cookie gets an expiry (the session's), so it survives a
    /// browser restart; otherwise it is a session cookie of the browser.
    pub persistent: bool,
    /// Whether the compact ID token is kept in the session (logout's `id_token_hint`,
    /// `OIDCPassIDTokenAs serialized`): always for `server-cache`; for `client-cookie` only
    /// with `:store_id_token` (as the C module, to keep the cookie small).
    pub store_id_token: bool,
}

impl SessionType {
    /// The default: `server-cache`, not persistent.
    pub const SERVER_CACHE: SessionType = SessionType {
        kind: SessionKind::ServerCache,
        persistent: false,
        store_id_token: true,
    };
}

/// Where the session record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionKind {
    /// In the shared cache (`OIDCCacheType`), the cookie holds a random id.
    #[default]
    ServerCache,
    /// In the browser: the whole record, encrypted, in (chunked) cookies.
    ClientCookie,
}

/// `OIDCUnAuthAction`: what an unauthenticated request to an `openid-connect` location gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnAuthAction {
    /// Redirect to the provider (browsers; non-browser requests get 401).
    #[default]
    Auth,
    /// Let the request through without a user.
    Pass,
    Return401,
    Return407,
    Return410,
}

/// The first argument of `OIDCUnAutzAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnAutzKind {
    Return401,
    Return403,
    /// Redirect to the URL given as second argument.
    Return302,
    /// Start a new authentication (step-up).
    Auth,
}

/// `OIDCUnAutzAction <401|403|302|auth> [<text or URL>]`: what an authenticated user who fails
/// the `Require` checks gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnAutzAction {
    pub kind: UnAutzKind,
    /// For 401 and 403: a message shown in an HTML error page (none: the bare status); for 302:
    /// the URL (mandatory); ignored for `auth`.
    pub arg: Option<String>,
}

/// `OIDCPassIDTokenAs claims|payload|serialized` (up to three of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassIdTokenAs {
    /// Each claim as its own header/variable, named with `OIDCClaimPrefix`.
    pub claims: bool,
    /// The JSON payload in `OIDC_id_token_payload`.
    pub payload: bool,
    /// The compact serialization in `OIDC_id_token`.
    pub serialized: bool,
}

/// `OIDCPassUserInfoAs claims|json|jwt` (up to three of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassUserInfoAs {
    /// Each claim as its own header/variable, named with `OIDCClaimPrefix`.
    pub claims: bool,
    /// The JSON object in `OIDC_userinfo_json`.
    pub json: bool,
    /// The signed userinfo JWT (if the provider returned one) in `OIDC_userinfo_jwt`.
    pub jwt: bool,
}

impl Default for PassIdTokenAs {
    /// `claims` only.
    fn default() -> Self {
        PassIdTokenAs {
            claims: true,
            payload: false,
            serialized: false,
        }
    }
}

impl Default for PassUserInfoAs {
    /// `claims` only.
    fn default() -> Self {
        PassUserInfoAs {
            claims: true,
            json: false,
            jwt: false,
        }
    }
}

/// One item of `OIDCInfoHook`: what `<redirect_uri>?info=json|html` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoHookData {
    /// `iat`: the current time.
    Iat,
    AccessToken,
    AccessTokenExpires,
    IdToken,
    Userinfo,
    RefreshToken,
    /// `exp`: when the session expires.
    Exp,
    /// `timeout`: when the session times out for inactivity.
    Timeout,
    RemoteUser,
    /// `session`: the session's state, uuid, exp, timeout and remote_user.
    Session,
}

impl InfoHookData {
    /// Every item, with its directive (and JSON member) name.
    pub const ALL: &'static [(&'static str, InfoHookData)] = &[
        ("iat", InfoHookData::Iat),
        ("access_token", InfoHookData::AccessToken),
        ("access_token_expires", InfoHookData::AccessTokenExpires),
        ("id_token", InfoHookData::IdToken),
        ("userinfo", InfoHookData::Userinfo),
        ("refresh_token", InfoHookData::RefreshToken),
        ("exp", InfoHookData::Exp),
        ("timeout", InfoHookData::Timeout),
        ("remote_user", InfoHookData::RemoteUser),
        ("session", InfoHookData::Session),
    ];

    pub fn as_str(self) -> &'static str {
        InfoHookData::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(n, _)| *n)
            .unwrap_or("")
    }
}

/// A regular expression compiled at configuration time (`OIDCRedirectURLsAllowed`); two are
/// equal when their source text is.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex_lite::Regex);

impl Pattern {
    pub fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// An HTML template file read at configuration time (`OIDCHTMLErrorTemplate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlTemplate {
    pub path: PathBuf,
    pub content: String,
}

/// What the `SameSite` attribute of a cookie is: see [`super::ServerConfig::cookie_same_site_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    /// `SameSite=None` (the cookie must then also be `Secure`).
    None,
}

impl SameSite {
    /// The value of the `SameSite` attribute in `Set-Cookie`.
    pub fn value(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// Which cookie a `SameSite` value is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieKind {
    /// The session cookie as set by the callback that completes a login.
    SessionAfterLogin,
    /// The session cookie as set again later (refreshes, inactivity timeout updates).
    SessionUpdate,
    /// A state cookie (set with the redirect to the provider).
    State,
}

/// How bad a problem found by [`super::check_server`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Log it at level warn and go on.
    Warning,
    /// Refuse to start.
    Error,
}

/// A post-configuration consistency problem of a (virtual) server.
/// What a failed token refresh or userinfo refresh does: the optional second argument of
/// `OIDCRefreshAccessTokenBeforeExpiry` and `OIDCUserInfoRefreshInterval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshOnError {
    /// No option: the request goes on with the tokens and claims the session has (logged).
    #[default]
    Continue,
    /// `logout_on_error`: the session is removed and the request handled as unauthenticated.
    Logout,
    /// `authenticate_on_error`: the session is removed and a new login starts.
    Authenticate,
}

impl RefreshOnError {
    pub const VALUES: &[(&str, RefreshOnError)] = &[
        ("logout_on_error", RefreshOnError::Logout),
        ("authenticate_on_error", RefreshOnError::Authenticate),
    ];
}

/// `OIDCRefreshAccessTokenBeforeExpiry` / `OIDCUserInfoRefreshInterval`: seconds and the
/// on-error option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    pub seconds: u32,
    pub on_error: RefreshOnError,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub severity: Severity,
    pub message: String,
}
