//! The per-server (virtual host) configuration: directives with `Apply::Server`.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use super::types::{
    CacheType, ConfigProblem, EndpointAuth, HttpMethod, PublicKeyFile, ResponseType, Secret,
    Severity, SharedKey, TokenExpiryClaim, XForwardedHeaders,
};
use super::values::RemoteUserClaim;

/// Everything set by server-level directives. A field is `None` (or an empty `Vec`) when its
/// directive did not appear; the accessors below supply mod_auth_openidc 2.4.12.3's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerConfig {
    // OpenID Connect relying party (accepted and validated; the flow itself comes later)
    pub redirect_uri: Option<String>,
    pub crypto_passphrase: Option<Secret>,
    pub provider_metadata_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub provider_token_endpoint_auth: Option<EndpointAuth>,
    pub response_type: Option<ResponseType>,
    pub scope: Option<String>,
    pub remote_user_claim: Option<RemoteUserClaim>,
    pub session_max_duration: Option<u32>,
    pub cookie_same_site: Option<bool>,
    pub x_forwarded_headers: Option<XForwardedHeaders>,
    pub jwks_refresh_interval: Option<u32>,

    // claims
    pub claim_prefix: Option<String>,
    pub claim_delimiter: Option<String>,
    /// `OIDCWhiteListedClaims`, in configuration order, without duplicates.
    pub white_listed_claims: Vec<String>,
    /// `OIDCBlackListedClaims`, in configuration order, without duplicates.
    pub black_listed_claims: Vec<String>,

    // OAuth 2.0 resource server
    pub oauth_verify_jwks_uri: Option<String>,
    pub oauth_verify_shared_keys: Vec<SharedKey>,
    pub oauth_verify_cert_files: Vec<PublicKeyFile>,
    pub oauth_verify_audience: Vec<String>,
    pub oauth_verify_issuer: Option<String>,
    pub oauth_token_expiry_claim: Option<TokenExpiryClaim>,
    pub oauth_introspection_endpoint: Option<String>,
    pub oauth_introspection_endpoint_auth: Option<EndpointAuth>,
    /// `OIDCOAuthIntrospectionClientAuthBearerToken`; an empty secret means "send the token
    /// being introspected as the bearer token".
    pub oauth_introspection_client_auth_bearer_token: Option<Secret>,
    pub oauth_introspection_endpoint_method: Option<HttpMethod>,
    pub oauth_introspection_endpoint_params: Option<String>,
    pub oauth_introspection_token_param_name: Option<String>,
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret: Option<Secret>,
    pub oauth_server_metadata_url: Option<String>,
    pub oauth_ssl_validate_server: Option<bool>,
    pub oauth_remote_user_claim: Option<RemoteUserClaim>,

    // outgoing HTTP, cache
    pub ssl_validate_server: Option<bool>,
    pub ca_bundle_path: Option<PathBuf>,
    pub http_timeout_short: Option<u32>,
    pub http_timeout_long: Option<u32>,
    pub cache_type: Option<CacheType>,
    pub cache_encrypt: Option<bool>,
}

/// httpd's `merge_server_config`: a virtual host's own setting wins, anything it does not set
/// comes from the main server. Returns a new struct; neither input is changed.
///
/// Both structs are destructured without `..`, so adding a field without merging it is a
/// compile error.
pub fn merge(base: &ServerConfig, add: &ServerConfig) -> ServerConfig {
    let ServerConfig {
        redirect_uri: _,
        crypto_passphrase: _,
        provider_metadata_url: _,
        client_id: _,
        client_secret: _,
        provider_token_endpoint_auth: _,
        response_type: _,
        scope: _,
        remote_user_claim: _,
        session_max_duration: _,
        cookie_same_site: _,
        x_forwarded_headers: _,
        jwks_refresh_interval: _,
        claim_prefix: _,
        claim_delimiter: _,
        white_listed_claims: _,
        black_listed_claims: _,
        oauth_verify_jwks_uri: _,
        oauth_verify_shared_keys: _,
        oauth_verify_cert_files: _,
        oauth_verify_audience: _,
        oauth_verify_issuer: _,
        oauth_token_expiry_claim: _,
        oauth_introspection_endpoint: _,
        oauth_introspection_endpoint_auth: _,
        oauth_introspection_client_auth_bearer_token: _,
        oauth_introspection_endpoint_method: _,
        oauth_introspection_endpoint_params: _,
        oauth_introspection_token_param_name: _,
        oauth_client_id: _,
        oauth_client_secret: _,
        oauth_server_metadata_url: _,
        oauth_ssl_validate_server: _,
        oauth_remote_user_claim: _,
        ssl_validate_server: _,
        ca_bundle_path: _,
        http_timeout_short: _,
        http_timeout_long: _,
        cache_type: _,
        cache_encrypt: _,
    } = base;
    let ServerConfig {
        redirect_uri,
        crypto_passphrase,
        provider_metadata_url,
        client_id,
        client_secret,
        provider_token_endpoint_auth,
        response_type,
        scope,
        remote_user_claim,
        session_max_duration,
        cookie_same_site,
        x_forwarded_headers,
        jwks_refresh_interval,
        claim_prefix,
        claim_delimiter,
        white_listed_claims,
        black_listed_claims,
        oauth_verify_jwks_uri,
        oauth_verify_shared_keys,
        oauth_verify_cert_files,
        oauth_verify_audience,
        oauth_verify_issuer,
        oauth_token_expiry_claim,
        oauth_introspection_endpoint,
        oauth_introspection_endpoint_auth,
        oauth_introspection_client_auth_bearer_token,
        oauth_introspection_endpoint_method,
        oauth_introspection_endpoint_params,
        oauth_introspection_token_param_name,
        oauth_client_id,
        oauth_client_secret,
        oauth_server_metadata_url,
        oauth_ssl_validate_server,
        oauth_remote_user_claim,
        ssl_validate_server,
        ca_bundle_path,
        http_timeout_short,
        http_timeout_long,
        cache_type,
        cache_encrypt,
    } = add;
    ServerConfig {
        redirect_uri: pick(redirect_uri, &base.redirect_uri),
        crypto_passphrase: pick(crypto_passphrase, &base.crypto_passphrase),
        provider_metadata_url: pick(provider_metadata_url, &base.provider_metadata_url),
        client_id: pick(client_id, &base.client_id),
        client_secret: pick(client_secret, &base.client_secret),
        provider_token_endpoint_auth: pick(
            provider_token_endpoint_auth,
            &base.provider_token_endpoint_auth,
        ),
        response_type: pick(response_type, &base.response_type),
        scope: pick(scope, &base.scope),
        remote_user_claim: pick(remote_user_claim, &base.remote_user_claim),
        session_max_duration: pick(session_max_duration, &base.session_max_duration),
        cookie_same_site: pick(cookie_same_site, &base.cookie_same_site),
        x_forwarded_headers: pick(x_forwarded_headers, &base.x_forwarded_headers),
        jwks_refresh_interval: pick(jwks_refresh_interval, &base.jwks_refresh_interval),
        claim_prefix: pick(claim_prefix, &base.claim_prefix),
        claim_delimiter: pick(claim_delimiter, &base.claim_delimiter),
        white_listed_claims: pick_vec(white_listed_claims, &base.white_listed_claims),
        black_listed_claims: pick_vec(black_listed_claims, &base.black_listed_claims),
        oauth_verify_jwks_uri: pick(oauth_verify_jwks_uri, &base.oauth_verify_jwks_uri),
        oauth_verify_shared_keys: pick_vec(
            oauth_verify_shared_keys,
            &base.oauth_verify_shared_keys,
        ),
        oauth_verify_cert_files: pick_vec(oauth_verify_cert_files, &base.oauth_verify_cert_files),
        oauth_verify_audience: pick_vec(oauth_verify_audience, &base.oauth_verify_audience),
        oauth_verify_issuer: pick(oauth_verify_issuer, &base.oauth_verify_issuer),
        oauth_token_expiry_claim: pick(oauth_token_expiry_claim, &base.oauth_token_expiry_claim),
        oauth_introspection_endpoint: pick(
            oauth_introspection_endpoint,
            &base.oauth_introspection_endpoint,
        ),
        oauth_introspection_endpoint_auth: pick(
            oauth_introspection_endpoint_auth,
            &base.oauth_introspection_endpoint_auth,
        ),
        oauth_introspection_client_auth_bearer_token: pick(
            oauth_introspection_client_auth_bearer_token,
            &base.oauth_introspection_client_auth_bearer_token,
        ),
        oauth_introspection_endpoint_method: pick(
            oauth_introspection_endpoint_method,
            &base.oauth_introspection_endpoint_method,
        ),
        oauth_introspection_endpoint_params: pick(
            oauth_introspection_endpoint_params,
            &base.oauth_introspection_endpoint_params,
        ),
        oauth_introspection_token_param_name: pick(
            oauth_introspection_token_param_name,
            &base.oauth_introspection_token_param_name,
        ),
        oauth_client_id: pick(oauth_client_id, &base.oauth_client_id),
        oauth_client_secret: pick(oauth_client_secret, &base.oauth_client_secret),
        oauth_server_metadata_url: pick(oauth_server_metadata_url, &base.oauth_server_metadata_url),
        oauth_ssl_validate_server: pick(oauth_ssl_validate_server, &base.oauth_ssl_validate_server),
        oauth_remote_user_claim: pick(oauth_remote_user_claim, &base.oauth_remote_user_claim),
        ssl_validate_server: pick(ssl_validate_server, &base.ssl_validate_server),
        ca_bundle_path: pick(ca_bundle_path, &base.ca_bundle_path),
        http_timeout_short: pick(http_timeout_short, &base.http_timeout_short),
        http_timeout_long: pick(http_timeout_long, &base.http_timeout_long),
        cache_type: pick(cache_type, &base.cache_type),
        cache_encrypt: pick(cache_encrypt, &base.cache_encrypt),
    }
}

/// `add` when set, else `base`.
pub(super) fn pick<T: Clone>(add: &Option<T>, base: &Option<T>) -> Option<T> {
    add.as_ref().or(base.as_ref()).cloned()
}

/// A list directive: `add` when it has entries, else `base` (lists do not concatenate, as in
/// the C module).
pub(super) fn pick_vec<T: Clone>(add: &[T], base: &[T]) -> Vec<T> {
    if add.is_empty() {
        base.to_vec()
    } else {
        add.to_vec()
    }
}

/// 2.4.12.3's defaults.
pub mod defaults {
    pub const CLAIM_PREFIX: &str = "OIDC_CLAIM_";
    pub const CLAIM_DELIMITER: &str = ",";
    pub const SCOPE: &str = "openid";
    pub const JWKS_REFRESH_INTERVAL: u32 = 3600;
    pub const HTTP_TIMEOUT_SHORT: u32 = 5;
    pub const HTTP_TIMEOUT_LONG: u32 = 60;
    pub const SESSION_MAX_DURATION: u32 = 3600 * 8;
    pub const INTROSPECTION_TOKEN_PARAM_NAME: &str = "token";
    /// The RP's REMOTE_USER claim: `sub@`.
    pub const REMOTE_USER_CLAIM: &str = "sub";
    /// The resource server's REMOTE_USER claim: `sub`.
    pub const OAUTH_REMOTE_USER_CLAIM: &str = "sub";
}

impl ServerConfig {
    /// `OIDCClaimPrefix`, default `OIDC_CLAIM_`. May be empty (then only whitelisted claims are
    /// scrubbed from requests; see [`check_server`]).
    pub fn claim_prefix(&self) -> &str {
        self.claim_prefix
            .as_deref()
            .unwrap_or(defaults::CLAIM_PREFIX)
    }

    /// `OIDCClaimDelimiter`, default `,`.
    pub fn claim_delimiter(&self) -> &str {
        self.claim_delimiter
            .as_deref()
            .unwrap_or(defaults::CLAIM_DELIMITER)
    }

    /// `OIDCScope`, default `openid`.
    pub fn scope(&self) -> &str {
        self.scope.as_deref().unwrap_or(defaults::SCOPE)
    }

    /// `OIDCRemoteUserClaim`, default `sub@` (the `sub` claim, `@`, the issuer).
    pub fn remote_user_claim(&self) -> Cow<'_, RemoteUserClaim> {
        match &self.remote_user_claim {
            Some(c) => Cow::Borrowed(c),
            None => Cow::Owned(RemoteUserClaim {
                claim: defaults::REMOTE_USER_CLAIM.to_string(),
                append_issuer: true,
                regex: None,
                replacement: None,
            }),
        }
    }

    /// `OIDCOAuthRemoteUserClaim`, default `sub`.
    pub fn oauth_remote_user_claim(&self) -> Cow<'_, RemoteUserClaim> {
        match &self.oauth_remote_user_claim {
            Some(c) => Cow::Borrowed(c),
            None => Cow::Owned(RemoteUserClaim {
                claim: defaults::OAUTH_REMOTE_USER_CLAIM.to_string(),
                append_issuer: false,
                regex: None,
                replacement: None,
            }),
        }
    }

    /// `OIDCSessionMaxDuration` in seconds, default 28800; 0 means "until the ID token expires".
    pub fn session_max_duration(&self) -> u32 {
        self.session_max_duration
            .unwrap_or(defaults::SESSION_MAX_DURATION)
    }

    /// `OIDCCookieSameSite`, default Off.
    pub fn cookie_same_site(&self) -> bool {
        self.cookie_same_site.unwrap_or(false)
    }

    /// `OIDCXForwardedHeaders`, default: none trusted.
    pub fn x_forwarded_headers(&self) -> XForwardedHeaders {
        self.x_forwarded_headers.unwrap_or_default()
    }

    /// `OIDCJWKSRefreshInterval`, default 3600 s; also the cache time of the
    /// `OIDCOAuthVerifyJwksUri` key set.
    pub fn jwks_refresh_interval(&self) -> Duration {
        secs(
            self.jwks_refresh_interval
                .unwrap_or(defaults::JWKS_REFRESH_INTERVAL),
        )
    }

    /// `OIDCHTTPTimeoutShort`, default 5 s (discovery, metadata).
    pub fn http_timeout_short(&self) -> Duration {
        secs(
            self.http_timeout_short
                .unwrap_or(defaults::HTTP_TIMEOUT_SHORT),
        )
    }

    /// `OIDCHTTPTimeoutLong`, default 60 s (token, introspection, JWKS, userinfo calls).
    pub fn http_timeout_long(&self) -> Duration {
        secs(
            self.http_timeout_long
                .unwrap_or(defaults::HTTP_TIMEOUT_LONG),
        )
    }

    /// `OIDCSSLValidateServer`, default On.
    pub fn ssl_validate_server(&self) -> bool {
        self.ssl_validate_server.unwrap_or(true)
    }

    /// `OIDCOAuthSSLValidateServer`, default On.
    pub fn oauth_ssl_validate_server(&self) -> bool {
        self.oauth_ssl_validate_server.unwrap_or(true)
    }

    /// `OIDCCacheType`, default (and only) `shm`.
    pub fn cache_type(&self) -> CacheType {
        self.cache_type.unwrap_or(CacheType::Shm)
    }

    /// `OIDCCacheEncrypt`, default Off (the default of the shm cache).
    pub fn cache_encrypt(&self) -> bool {
        self.cache_encrypt.unwrap_or(false)
    }

    /// `OIDCOAuthTokenExpiryClaim`, default `expires_in relative mandatory`.
    pub fn token_expiry_claim(&self) -> Cow<'_, TokenExpiryClaim> {
        match &self.oauth_token_expiry_claim {
            Some(c) => Cow::Borrowed(c),
            None => Cow::Owned(TokenExpiryClaim::default()),
        }
    }

    /// `OIDCOAuthIntrospectionEndpointMethod`, default POST.
    pub fn introspection_method(&self) -> HttpMethod {
        self.oauth_introspection_endpoint_method
            .unwrap_or(HttpMethod::Post)
    }

    /// `OIDCOAuthIntrospectionTokenParamName`, default `token`.
    pub fn introspection_token_param_name(&self) -> &str {
        self.oauth_introspection_token_param_name
            .as_deref()
            .unwrap_or(defaults::INTROSPECTION_TOKEN_PARAM_NAME)
    }

    /// `OIDCOAuthIntrospectionEndpointAuth` as configured. Unset has no single default: the C
    /// module then uses `client_secret_basic` when `OIDCOAuthClientSecret` is set and no client
    /// authentication otherwise (and none at all without `OIDCOAuthClientID`).
    pub fn introspection_endpoint_auth(&self) -> Option<EndpointAuth> {
        self.oauth_introspection_endpoint_auth
    }

    /// The static bearer token for the introspection call: `Some("")` means "the token being
    /// introspected".
    pub fn introspection_client_auth_bearer_token(&self) -> Option<&str> {
        self.oauth_introspection_client_auth_bearer_token
            .as_ref()
            .map(|s| s.expose().as_str())
    }

    /// Whether bearer tokens can be verified at all: a JWKS URL, certificate files, shared keys,
    /// an introspection endpoint, or AS metadata. An `oauth20` location on a server without any
    /// of them cannot accept a token.
    pub fn has_oauth_verification(&self) -> bool {
        self.has_local_jwt_verification()
            || self.oauth_introspection_endpoint.is_some()
            || self.oauth_server_metadata_url.is_some()
    }

    /// Whether JWT access tokens are verified locally (JWKS URL, certificate files, shared keys).
    pub fn has_local_jwt_verification(&self) -> bool {
        self.oauth_verify_jwks_uri.is_some()
            || !self.oauth_verify_cert_files.is_empty()
            || !self.oauth_verify_shared_keys.is_empty()
    }

    /// Whether any OAuth 2.0 resource-server directive is set (the C module then checks the
    /// resource-server settings at startup).
    pub fn has_oauth_config(&self) -> bool {
        self.has_oauth_verification()
            || self.oauth_client_id.is_some()
            || self.oauth_client_secret.is_some()
    }

    /// Whether the OpenID Connect relying party is configured (the C module then requires
    /// `OIDCRedirectURI`, `OIDCCryptoPassphrase` and `OIDCClientID`).
    pub fn has_rp_config(&self) -> bool {
        self.provider_metadata_url.is_some()
    }
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// Post-configuration consistency checks of one (merged) server config, after the C module's
/// `oidc_check_config_openid_openidc` and `oidc_check_config_oauth`. The glue logs warnings and
/// refuses to start on errors.
pub fn check_server(cfg: &ServerConfig) -> Vec<ConfigProblem> {
    let mut out = Vec::new();
    let mut error = |m: String| {
        out.push(ConfigProblem {
            severity: Severity::Error,
            message: m,
        });
    };
    let mut warnings = Vec::new();
    let mut warn = |m: String| {
        warnings.push(ConfigProblem {
            severity: Severity::Warning,
            message: m,
        });
    };

    if cfg.has_rp_config() {
        match &cfg.redirect_uri {
            None => error("mandatory parameter 'OIDCRedirectURI' is not set".to_string()),
            Some(uri) if !uri.starts_with('/') && !starts_with_ignore_case(uri, "https://") => {
                warn(format!(
                    "the URL scheme of the configured OIDCRedirectURI ({uri}) SHOULD be \"https\" for security reasons (moreover: some Providers may reject non-HTTPS URLs)"
                ))
            }
            Some(_) => {}
        }
        if cfg.crypto_passphrase.is_none() {
            error("mandatory parameter 'OIDCCryptoPassphrase' is not set".to_string());
        }
        if cfg.client_id.is_none() {
            error("mandatory parameter 'OIDCClientID' is not set".to_string());
        }
        if let Some(url) = &cfg.provider_metadata_url
            && !starts_with_ignore_case(url, "https://")
        {
            warn(format!(
                "the URL scheme of the configured OIDCProviderMetadataURL ({url}) SHOULD be \"https\" for security reasons!"
            ));
        }
    }

    if cfg.has_oauth_config() && cfg.oauth_server_metadata_url.is_none() {
        let local = cfg.has_local_jwt_verification();
        if cfg.oauth_introspection_endpoint.is_none() && !local {
            error("one of 'OIDCOAuthServerMetadataURL', 'OIDCOAuthIntrospectionEndpoint', 'OIDCOAuthVerifyJwksUri', 'OIDCOAuthVerifySharedKeys' or 'OIDCOAuthVerifyCertFiles' must be set".to_string());
        } else if cfg.oauth_introspection_endpoint.is_some() && local {
            error("only 'OIDCOAuthIntrospectionEndpoint' OR one (or more) out of ('OIDCOAuthVerifyJwksUri', 'OIDCOAuthVerifySharedKeys' or 'OIDCOAuthVerifyCertFiles') must be set".to_string());
        }
        if cfg.cache_encrypt == Some(true) && cfg.crypto_passphrase.is_none() {
            error(
                "mandatory parameter 'OIDCCryptoPassphrase' is not set (OIDCCacheEncrypt is On)"
                    .to_string(),
            );
        }
    }

    if cfg.has_local_jwt_verification() && cfg.oauth_verify_audience.is_empty() {
        warn("OIDCOAuthVerifyAudience is not set: the \"aud\" claim of JWT access tokens is not checked, so a token issued for another resource server is accepted".to_string());
    }

    if cfg.claim_prefix().is_empty() && cfg.white_listed_claims.is_empty() {
        warn("both OIDCClaimPrefix and OIDCWhiteListedClaims are empty: this renders an insecure setup!".to_string());
    }

    out.extend(warnings);
    out
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}
