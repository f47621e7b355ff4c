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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
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
    Shm,
}

/// `OIDCResponseType`: only the code flow is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Code,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub severity: Severity,
    pub message: String,
}
