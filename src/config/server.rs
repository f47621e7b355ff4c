//! The per-server (virtual host) configuration: directives with `Apply::Server`.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use super::types::RefreshPolicy;
use super::types::{
    CacheType, ConfigProblem, CookieKind, EndpointAuth, HtmlTemplate, HttpMethod, InfoHookData,
    MemcacheServer, PassIdTokenAs, PassUserInfoAs, Pattern, PkceMethod, PrivateKeyFile,
    PublicKeyFile, RedisServer, ResponseMode, ResponseType, SameSite, Secret, SessionType,
    Severity, SharedKey, TokenExpiryClaim, UserInfoTokenMethod, XForwardedHeaders,
};
use super::values::RemoteUserClaim;
use crate::jose::Alg;
use crate::oidc::authorize::StateInputHeaders;

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

    // OpenID Connect relying party, issue 3
    /// `OIDCProviderIssuer`.
    pub provider_issuer: Option<String>,
    /// `OIDCProviderAuthorizationEndpoint`.
    pub provider_authorization_endpoint: Option<String>,
    /// `OIDCProviderTokenEndpoint`.
    pub provider_token_endpoint: Option<String>,
    /// `OIDCProviderTokenEndpointParams`: `k=v&k2=v2`, already form-encoded.
    pub provider_token_endpoint_params: Option<String>,
    /// `OIDCProviderUserInfoEndpoint`.
    pub provider_userinfo_endpoint: Option<String>,
    /// `OIDCProviderJwksUri`.
    pub provider_jwks_uri: Option<String>,
    /// `OIDCProviderEndSessionEndpoint`.
    pub provider_end_session_endpoint: Option<String>,
    /// `OIDCProviderVerifyCertFiles`: keys for ID token signatures.
    pub provider_verify_cert_files: Vec<PublicKeyFile>,
    /// `OIDCProviderMetadataRefreshInterval` in seconds.
    pub provider_metadata_refresh_interval: Option<u32>,
    /// `OIDCProviderAuthRequestMethod`.
    pub provider_auth_request_method: Option<HttpMethod>,
    /// `OIDCPrivateKeyFiles` (`private_key_jwt`).
    pub private_key_files: Vec<PrivateKeyFile>,
    /// `OIDCIDTokenSignedResponseAlg`.
    pub id_token_signed_response_alg: Option<Alg>,
    /// `OIDCIDTokenIatSlack` in seconds.
    pub id_token_iat_slack: Option<u32>,
    /// `OIDCUserInfoTokenMethod`.
    pub userinfo_token_method: Option<UserInfoTokenMethod>,
    /// `OIDCUserInfoRefreshInterval`.
    pub userinfo_refresh_interval: Option<RefreshPolicy>,
    /// `OIDCAuthRequestParams`: `k=v&k2=v2`, already form-encoded.
    pub auth_request_params: Option<String>,
    /// `OIDCResponseMode`.
    pub response_mode: Option<ResponseMode>,
    /// `OIDCPKCEMethod`.
    pub pkce_method: Option<PkceMethod>,
    /// `OIDCStateTimeout` in seconds.
    pub state_timeout: Option<u32>,
    /// `OIDCStateMaxNumberOfCookies`, first argument (0: no limit).
    pub state_max_number_of_cookies: Option<u32>,
    /// `OIDCStateMaxNumberOfCookies`, second argument; merged on its own, as in the C module.
    pub state_delete_oldest_cookies: Option<bool>,
    /// `OIDCStateInputHeaders`.
    pub state_input_headers: Option<StateInputHeaders>,
    /// `OIDCSessionType`.
    pub session_type: Option<SessionType>,
    /// `OIDCSessionInactivityTimeout` in seconds.
    pub session_inactivity_timeout: Option<u32>,
    /// `OIDCSessionCacheFallbackToCookie`.
    pub session_cache_fallback_to_cookie: Option<bool>,
    /// `OIDCSessionCookieChunkSize` in bytes (0: no chunking).
    pub session_cookie_chunk_size: Option<u32>,
    /// `OIDCCookieDomain`.
    pub cookie_domain: Option<String>,
    /// `OIDCCookieHTTPOnly`.
    pub cookie_http_only: Option<bool>,
    /// `OIDCPassIDTokenAs`.
    pub pass_id_token_as: Option<PassIdTokenAs>,
    /// `OIDCPassUserInfoAs`.
    pub pass_userinfo_as: Option<PassUserInfoAs>,
    /// `OIDCDefaultURL`.
    pub default_url: Option<String>,
    /// `OIDCDefaultLoggedOutURL`.
    pub default_logged_out_url: Option<String>,
    /// `OIDCRedirectURLsAllowed`, in configuration order, without duplicates.
    pub redirect_urls_allowed: Vec<Pattern>,
    /// `OIDCLogoutXFrameOptions`.
    pub logout_x_frame_options: Option<String>,
    /// `OIDCInfoHook`, in configuration order, without duplicates.
    pub info_hook_data: Vec<InfoHookData>,
    /// `OIDCHTMLErrorTemplate`, read at startup.
    pub html_error_template: Option<HtmlTemplate>,
    /// `OIDCCacheShmMax`: number of entries.
    pub cache_shm_max: Option<u32>,
    /// `OIDCCacheShmEntrySizeMax` in bytes.
    pub cache_shm_entry_size_max: Option<u32>,
    /// `OIDCCacheDir`.
    pub cache_dir: Option<PathBuf>,
    /// `OIDCCacheFileCleanInterval` in seconds.
    pub cache_file_clean_interval: Option<u32>,
    /// `OIDCRedisCacheServer`: host and port.
    pub redis_server: Option<RedisServer>,
    /// `OIDCRedisCacheUsername`.
    pub redis_username: Option<String>,
    /// `OIDCRedisCachePassword`.
    pub redis_password: Option<Secret>,
    /// `OIDCRedisCacheDatabase`.
    pub redis_database: Option<u32>,
    /// `OIDCRedisCacheConnectTimeout` in seconds.
    pub redis_connect_timeout: Option<u32>,
    /// `OIDCRedisCacheTimeout` in seconds.
    pub redis_timeout: Option<u32>,
    /// `OIDCMemCacheServers`: one or more servers.
    pub memcache_servers: Option<Vec<MemcacheServer>>,
    /// `OIDCMemCacheConnectionsMin`.
    pub memcache_min: Option<u32>,
    /// `OIDCMemCacheConnectionsSMax`.
    pub memcache_smax: Option<u32>,
    /// `OIDCMemCacheConnectionsHMax`.
    pub memcache_hmax: Option<u32>,
    /// `OIDCMemCacheConnectionsTTL` in seconds.
    pub memcache_ttl: Option<u32>,
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
        provider_issuer: _,
        provider_authorization_endpoint: _,
        provider_token_endpoint: _,
        provider_token_endpoint_params: _,
        provider_userinfo_endpoint: _,
        provider_jwks_uri: _,
        provider_end_session_endpoint: _,
        provider_verify_cert_files: _,
        provider_metadata_refresh_interval: _,
        provider_auth_request_method: _,
        private_key_files: _,
        id_token_signed_response_alg: _,
        id_token_iat_slack: _,
        userinfo_token_method: _,
        userinfo_refresh_interval: _,
        auth_request_params: _,
        response_mode: _,
        pkce_method: _,
        state_timeout: _,
        state_max_number_of_cookies: _,
        state_delete_oldest_cookies: _,
        state_input_headers: _,
        session_type: _,
        session_inactivity_timeout: _,
        session_cache_fallback_to_cookie: _,
        session_cookie_chunk_size: _,
        cookie_domain: _,
        cookie_http_only: _,
        pass_id_token_as: _,
        pass_userinfo_as: _,
        default_url: _,
        default_logged_out_url: _,
        redirect_urls_allowed: _,
        logout_x_frame_options: _,
        info_hook_data: _,
        html_error_template: _,
        cache_shm_max: _,
        cache_shm_entry_size_max: _,
        cache_dir: _,
        cache_file_clean_interval: _,
        redis_server: _,
        redis_username: _,
        redis_password: _,
        redis_database: _,
        redis_connect_timeout: _,
        redis_timeout: _,
        memcache_servers: _,
        memcache_min: _,
        memcache_smax: _,
        memcache_hmax: _,
        memcache_ttl: _,
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
        provider_issuer,
        provider_authorization_endpoint,
        provider_token_endpoint,
        provider_token_endpoint_params,
        provider_userinfo_endpoint,
        provider_jwks_uri,
        provider_end_session_endpoint,
        provider_verify_cert_files,
        provider_metadata_refresh_interval,
        provider_auth_request_method,
        private_key_files,
        id_token_signed_response_alg,
        id_token_iat_slack,
        userinfo_token_method,
        userinfo_refresh_interval,
        auth_request_params,
        response_mode,
        pkce_method,
        state_timeout,
        state_max_number_of_cookies,
        state_delete_oldest_cookies,
        state_input_headers,
        session_type,
        session_inactivity_timeout,
        session_cache_fallback_to_cookie,
        session_cookie_chunk_size,
        cookie_domain,
        cookie_http_only,
        pass_id_token_as,
        pass_userinfo_as,
        default_url,
        default_logged_out_url,
        redirect_urls_allowed,
        logout_x_frame_options,
        info_hook_data,
        html_error_template,
        cache_shm_max,
        cache_shm_entry_size_max,
        cache_dir,
        cache_file_clean_interval,
        redis_server,
        redis_username,
        redis_password,
        redis_database,
        redis_connect_timeout,
        redis_timeout,
        memcache_servers,
        memcache_min,
        memcache_smax,
        memcache_hmax,
        memcache_ttl,
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
        provider_issuer: pick(provider_issuer, &base.provider_issuer),
        provider_authorization_endpoint: pick(
            provider_authorization_endpoint,
            &base.provider_authorization_endpoint,
        ),
        provider_token_endpoint: pick(provider_token_endpoint, &base.provider_token_endpoint),
        provider_token_endpoint_params: pick(
            provider_token_endpoint_params,
            &base.provider_token_endpoint_params,
        ),
        provider_userinfo_endpoint: pick(
            provider_userinfo_endpoint,
            &base.provider_userinfo_endpoint,
        ),
        provider_jwks_uri: pick(provider_jwks_uri, &base.provider_jwks_uri),
        provider_end_session_endpoint: pick(
            provider_end_session_endpoint,
            &base.provider_end_session_endpoint,
        ),
        provider_verify_cert_files: pick_vec(
            provider_verify_cert_files,
            &base.provider_verify_cert_files,
        ),
        provider_metadata_refresh_interval: pick(
            provider_metadata_refresh_interval,
            &base.provider_metadata_refresh_interval,
        ),
        provider_auth_request_method: pick(
            provider_auth_request_method,
            &base.provider_auth_request_method,
        ),
        private_key_files: pick_vec(private_key_files, &base.private_key_files),
        id_token_signed_response_alg: pick(
            id_token_signed_response_alg,
            &base.id_token_signed_response_alg,
        ),
        id_token_iat_slack: pick(id_token_iat_slack, &base.id_token_iat_slack),
        userinfo_token_method: pick(userinfo_token_method, &base.userinfo_token_method),
        userinfo_refresh_interval: pick(userinfo_refresh_interval, &base.userinfo_refresh_interval),
        auth_request_params: pick(auth_request_params, &base.auth_request_params),
        response_mode: pick(response_mode, &base.response_mode),
        pkce_method: pick(pkce_method, &base.pkce_method),
        state_timeout: pick(state_timeout, &base.state_timeout),
        state_max_number_of_cookies: pick(
            state_max_number_of_cookies,
            &base.state_max_number_of_cookies,
        ),
        state_delete_oldest_cookies: pick(
            state_delete_oldest_cookies,
            &base.state_delete_oldest_cookies,
        ),
        state_input_headers: pick(state_input_headers, &base.state_input_headers),
        session_type: pick(session_type, &base.session_type),
        session_inactivity_timeout: pick(
            session_inactivity_timeout,
            &base.session_inactivity_timeout,
        ),
        session_cache_fallback_to_cookie: pick(
            session_cache_fallback_to_cookie,
            &base.session_cache_fallback_to_cookie,
        ),
        session_cookie_chunk_size: pick(session_cookie_chunk_size, &base.session_cookie_chunk_size),
        cookie_domain: pick(cookie_domain, &base.cookie_domain),
        cookie_http_only: pick(cookie_http_only, &base.cookie_http_only),
        pass_id_token_as: pick(pass_id_token_as, &base.pass_id_token_as),
        pass_userinfo_as: pick(pass_userinfo_as, &base.pass_userinfo_as),
        default_url: pick(default_url, &base.default_url),
        default_logged_out_url: pick(default_logged_out_url, &base.default_logged_out_url),
        redirect_urls_allowed: pick_vec(redirect_urls_allowed, &base.redirect_urls_allowed),
        logout_x_frame_options: pick(logout_x_frame_options, &base.logout_x_frame_options),
        info_hook_data: pick_vec(info_hook_data, &base.info_hook_data),
        html_error_template: pick(html_error_template, &base.html_error_template),
        cache_shm_max: pick(cache_shm_max, &base.cache_shm_max),
        cache_shm_entry_size_max: pick(cache_shm_entry_size_max, &base.cache_shm_entry_size_max),
        cache_dir: pick(cache_dir, &base.cache_dir),
        cache_file_clean_interval: pick(cache_file_clean_interval, &base.cache_file_clean_interval),
        redis_server: pick(redis_server, &base.redis_server),
        redis_username: pick(redis_username, &base.redis_username),
        redis_password: pick(redis_password, &base.redis_password),
        redis_database: pick(redis_database, &base.redis_database),
        redis_connect_timeout: pick(redis_connect_timeout, &base.redis_connect_timeout),
        redis_timeout: pick(redis_timeout, &base.redis_timeout),
        memcache_servers: pick(memcache_servers, &base.memcache_servers),
        memcache_min: pick(memcache_min, &base.memcache_min),
        memcache_smax: pick(memcache_smax, &base.memcache_smax),
        memcache_hmax: pick(memcache_hmax, &base.memcache_hmax),
        memcache_ttl: pick(memcache_ttl, &base.memcache_ttl),
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
    pub const CACHE_SHM_MAX: u32 = 500;
    pub const CACHE_SHM_ENTRY_SIZE_MAX: u32 = 16384 + 512 + 17;
    pub const CACHE_FILE_CLEAN_INTERVAL: u32 = 60;
    pub const REDIS_PORT: u16 = 6379;
    pub const REDIS_CONNECT_TIMEOUT: u32 = 5;
    pub const REDIS_TIMEOUT: u32 = 5;
    pub const MEMCACHE_PORT: u16 = 11211;
    /// 2.4.12.3: an unset (0) `OIDCMemCacheConnectionsTTL` is 60 s.
    pub const MEMCACHE_TTL: u32 = 60;
    pub const ID_TOKEN_IAT_SLACK: u32 = 600;
    pub const STATE_TIMEOUT: u32 = 300;
    pub const STATE_MAX_NUMBER_OF_COOKIES: u32 = 7;
    pub const SESSION_INACTIVITY_TIMEOUT: u32 = 300;
    pub const SESSION_COOKIE_CHUNK_SIZE: u32 = 4000;
    pub const LOGOUT_X_FRAME_OPTIONS: &str = "DENY";
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

    /// `OIDCCacheEncrypt`; unset, it follows the cache type as in 2.4.12.3: Off for `shm`,
    /// On for `file`.
    pub fn cache_encrypt(&self) -> bool {
        self.cache_encrypt
            .unwrap_or_else(|| self.cache_type().encrypt_by_default())
    }

    /// `OIDCCacheShmMax`, default 500 entries.
    pub fn cache_shm_max(&self) -> u32 {
        self.cache_shm_max.unwrap_or(defaults::CACHE_SHM_MAX)
    }

    /// `OIDCCacheShmEntrySizeMax`, default 16913 bytes (16384 + 512 + 17).
    pub fn cache_shm_entry_size_max(&self) -> u32 {
        self.cache_shm_entry_size_max
            .unwrap_or(defaults::CACHE_SHM_ENTRY_SIZE_MAX)
    }

    /// `OIDCCacheDir`, default the system's temporary directory (`TMPDIR`, else `/tmp`, like
    /// `apr_temp_dir_get`).
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    /// `OIDCCacheFileCleanInterval`, default 60 s.
    pub fn cache_file_clean_interval(&self) -> Duration {
        secs(
            self.cache_file_clean_interval
                .unwrap_or(defaults::CACHE_FILE_CLEAN_INTERVAL),
        )
    }

    /// `OIDCRedisCacheServer` (no default; required with `OIDCCacheType redis`).
    pub fn redis_server(&self) -> Option<&RedisServer> {
        self.redis_server.as_ref()
    }

    /// `OIDCRedisCacheUsername`, default none (AUTH with the password only).
    pub fn redis_username(&self) -> Option<&str> {
        self.redis_username.as_deref()
    }

    /// `OIDCRedisCachePassword`, default none (no AUTH).
    pub fn redis_password(&self) -> Option<&Secret> {
        self.redis_password.as_ref()
    }

    /// `OIDCRedisCacheDatabase`, default none (no SELECT: the server's database 0).
    pub fn redis_database(&self) -> Option<u32> {
        self.redis_database
    }

    /// `OIDCRedisCacheConnectTimeout`, default 5 s.
    pub fn redis_connect_timeout(&self) -> Duration {
        secs(
            self.redis_connect_timeout
                .unwrap_or(defaults::REDIS_CONNECT_TIMEOUT),
        )
    }

    /// `OIDCRedisCacheTimeout` (each command's read and write), default 5 s.
    pub fn redis_timeout(&self) -> Duration {
        secs(self.redis_timeout.unwrap_or(defaults::REDIS_TIMEOUT))
    }

    /// `OIDCMemCacheServers` (no default; required with `OIDCCacheType memcache`).
    pub fn memcache_servers(&self) -> &[MemcacheServer] {
        self.memcache_servers.as_deref().unwrap_or(&[])
    }

    /// `OIDCMemCacheConnectionsHMax`: the most connections a process opens to one server;
    /// `None` (unset or 0, the default) is no limit of ours: at most one per request thread,
    /// which is what 2.4.12.3 derives from the MPM's thread count.
    pub fn memcache_hmax(&self) -> Option<u32> {
        self.memcache_hmax.filter(|&n| n > 0)
    }

    /// `OIDCMemCacheConnectionsSMax`, capped by the hard maximum as in 2.4.12.3 (`None`: the
    /// hard maximum). Only a hint here: idle connections are kept up to this number.
    pub fn memcache_smax(&self) -> Option<u32> {
        let smax = self.memcache_smax.filter(|&n| n > 0);
        match (smax, self.memcache_hmax()) {
            (Some(s), Some(h)) => Some(s.min(h)),
            (s, h) => s.or(h),
        }
    }

    /// `OIDCMemCacheConnectionsMin`, default 0. Accepted as a hint: connections are made on
    /// first use in each child, never ahead of time.
    pub fn memcache_min(&self) -> u32 {
        self.memcache_min.unwrap_or(0)
    }

    /// `OIDCMemCacheConnectionsTTL`: how long an idle connection is kept; unset or 0 is 60 s,
    /// as in 2.4.12.3.
    pub fn memcache_ttl(&self) -> Duration {
        secs(
            self.memcache_ttl
                .filter(|&n| n > 0)
                .unwrap_or(defaults::MEMCACHE_TTL),
        )
    }

    // -----------------------------------------------------------------------------------------
    // OpenID Connect relying party

    /// `OIDCProviderMetadataRefreshInterval` in seconds, default 0: fetched metadata is used for
    /// 24 hours (2.4.12.3; see `oidc::rp::provider`).
    pub fn provider_metadata_refresh_interval(&self) -> u32 {
        self.provider_metadata_refresh_interval.unwrap_or(0)
    }

    /// `OIDCProviderTokenEndpointAuth`; unset: `client_secret_basic` when `OIDCClientSecret` is
    /// set, `none` otherwise (2.4.12.3 then took the first method the provider metadata lists
    /// that it supports; that choice belongs to whoever reads the metadata).
    pub fn provider_token_endpoint_auth(&self) -> EndpointAuth {
        match (self.provider_token_endpoint_auth, &self.client_secret) {
            (Some(a), _) => a,
            (None, Some(_)) => EndpointAuth::ClientSecretBasic,
            (None, None) => EndpointAuth::None,
        }
    }

    /// `OIDCProviderAuthRequestMethod`, default GET.
    pub fn provider_auth_request_method(&self) -> HttpMethod {
        self.provider_auth_request_method.unwrap_or(HttpMethod::Get)
    }

    /// `OIDCIDTokenSignedResponseAlg`: the one algorithm ID tokens must be signed with; `None`
    /// (default): any algorithm we support that the provider advertises.
    pub fn id_token_signed_response_alg(&self) -> Option<Alg> {
        self.id_token_signed_response_alg
    }

    /// `OIDCIDTokenIatSlack`, default 600 s.
    pub fn id_token_iat_slack(&self) -> Duration {
        secs(
            self.id_token_iat_slack
                .unwrap_or(defaults::ID_TOKEN_IAT_SLACK),
        )
    }

    /// `OIDCUserInfoTokenMethod`, default `authz_header`.
    pub fn userinfo_token_method(&self) -> UserInfoTokenMethod {
        self.userinfo_token_method
            .unwrap_or(UserInfoTokenMethod::AuthzHeader)
    }

    /// `OIDCUserInfoRefreshInterval`; `None` (default, or 0 seconds): userinfo is fetched
    /// once, at login.
    pub fn userinfo_refresh_interval(&self) -> Option<RefreshPolicy> {
        self.userinfo_refresh_interval.filter(|p| p.seconds > 0)
    }

    /// `OIDCResponseMode`; `None` (default): no `response_mode` parameter, the provider's
    /// default for the response type (`query` for the code flow).
    pub fn response_mode(&self) -> Option<ResponseMode> {
        self.response_mode
    }

    /// `OIDCPKCEMethod`, default `S256` (hardened: 2.4.12.3 used no PKCE unless configured).
    pub fn pkce_method(&self) -> PkceMethod {
        self.pkce_method.unwrap_or(PkceMethod::S256)
    }

    /// `OIDCStateTimeout`, default 300 s.
    pub fn state_timeout(&self) -> Duration {
        secs(self.state_timeout.unwrap_or(defaults::STATE_TIMEOUT))
    }

    /// `OIDCStateMaxNumberOfCookies`, first argument, default 7; 0 means no limit.
    pub fn state_max_number_of_cookies(&self) -> u32 {
        self.state_max_number_of_cookies
            .unwrap_or(defaults::STATE_MAX_NUMBER_OF_COOKIES)
    }

    /// `OIDCStateMaxNumberOfCookies`, second argument, default false: whether the oldest state
    /// cookies are deleted to make room (otherwise a new login is refused while the limit is
    /// reached).
    pub fn state_delete_oldest_cookies(&self) -> bool {
        self.state_delete_oldest_cookies.unwrap_or(false)
    }

    /// `OIDCStateInputHeaders`, default `both`.
    pub fn state_input_headers(&self) -> StateInputHeaders {
        self.state_input_headers.unwrap_or_default()
    }

    /// `OIDCSessionType`, default `server-cache` (not persistent).
    pub fn session_type(&self) -> SessionType {
        self.session_type.unwrap_or(SessionType::SERVER_CACHE)
    }

    /// `OIDCSessionCacheFallbackToCookie`, default Off.
    pub fn session_cache_fallback_to_cookie(&self) -> bool {
        self.session_cache_fallback_to_cookie.unwrap_or(false)
    }

    /// `OIDCSessionCookieChunkSize`, default 4000 (0: no chunking).
    pub fn session_cookie_chunk_size(&self) -> u32 {
        self.session_cookie_chunk_size
            .unwrap_or(defaults::SESSION_COOKIE_CHUNK_SIZE)
    }

    /// `OIDCSessionInactivityTimeout`, default 300 s.
    pub fn session_inactivity_timeout(&self) -> Duration {
        secs(
            self.session_inactivity_timeout
                .unwrap_or(defaults::SESSION_INACTIVITY_TIMEOUT),
        )
    }

    /// `OIDCCookieDomain`; `None` (default): host-only cookies.
    pub fn cookie_domain(&self) -> Option<&str> {
        self.cookie_domain.as_deref()
    }

    /// `OIDCCookieHTTPOnly`, default On.
    pub fn cookie_http_only(&self) -> bool {
        self.cookie_http_only.unwrap_or(true)
    }

    /// The `SameSite` attribute a cookie gets (`None`: no attribute).
    ///
    /// `OIDCCookieSameSite On` is 2.4.12.3's: `Lax` on state cookies and on the session cookie
    /// set by the login callback, `Strict` when the session cookie is set again later. Off or
    /// unset (hardened): the session cookie always gets `Lax` (2.4.12.3 sent `SameSite=None` on
    /// https, or nothing), state cookies get no attribute (the browser's default).
    pub fn cookie_same_site_for(&self, kind: CookieKind) -> Option<SameSite> {
        match (self.cookie_same_site(), kind) {
            (true, CookieKind::SessionUpdate) => Some(SameSite::Strict),
            (true, _) => Some(SameSite::Lax),
            (false, CookieKind::State) => None,
            (false, _) => Some(SameSite::Lax),
        }
    }

    /// `OIDCPassIDTokenAs`, default `claims`.
    pub fn pass_id_token_as(&self) -> PassIdTokenAs {
        self.pass_id_token_as.unwrap_or_default()
    }

    /// `OIDCPassUserInfoAs`, default `claims`.
    pub fn pass_userinfo_as(&self) -> PassUserInfoAs {
        self.pass_userinfo_as.unwrap_or_default()
    }

    /// `OIDCRedirectURLsAllowed`; empty (default): redirects (logout `?logout=<url>`, ...) must
    /// stay on the host of the request.
    pub fn redirect_urls_allowed(&self) -> &[Pattern] {
        &self.redirect_urls_allowed
    }

    /// `OIDCLogoutXFrameOptions`, default `DENY`.
    pub fn logout_x_frame_options(&self) -> &str {
        self.logout_x_frame_options
            .as_deref()
            .unwrap_or(defaults::LOGOUT_X_FRAME_OPTIONS)
    }

    /// `OIDCInfoHook`; empty (default): the info hook is disabled.
    pub fn info_hook_data(&self) -> &[InfoHookData] {
        &self.info_hook_data
    }

    /// `OIDCHTMLErrorTemplate`'s content; `None` (default): the built-in page.
    pub fn html_error_template(&self) -> Option<&str> {
        self.html_error_template
            .as_ref()
            .map(|t| t.content.as_str())
    }

    /// Whether the provider is configured statically: `OIDCProviderIssuer`, with the
    /// authorization and token endpoints (and whatever else is set) instead of discovery.
    pub fn has_static_provider(&self) -> bool {
        self.provider_issuer.is_some()
            && self.provider_authorization_endpoint.is_some()
            && self.provider_token_endpoint.is_some()
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

    /// Whether the OpenID Connect relying party (browser login) is configured: any of
    /// `OIDCRedirectURI`, `OIDCProviderMetadataURL`, `OIDCProviderIssuer` or `OIDCClientID` is
    /// set. [`check_server`] then requires the rest.
    pub fn has_rp_config(&self) -> bool {
        self.redirect_uri.is_some()
            || self.provider_metadata_url.is_some()
            || self.provider_issuer.is_some()
            || self.client_id.is_some()
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
        let mandatory = |name: &str| format!("mandatory parameter '{name}' is not set");
        if cfg.provider_metadata_url.is_none() {
            if cfg.provider_issuer.is_none() {
                error(
                    "one of 'OIDCProviderMetadataURL' or 'OIDCProviderIssuer' must be set"
                        .to_string(),
                );
            } else {
                if cfg.provider_authorization_endpoint.is_none() {
                    error(mandatory("OIDCProviderAuthorizationEndpoint"));
                }
                if cfg.provider_token_endpoint.is_none() {
                    error(mandatory("OIDCProviderTokenEndpoint"));
                }
            }
        }
        match &cfg.redirect_uri {
            None => error(mandatory("OIDCRedirectURI")),
            Some(uri) if !uri.starts_with('/') && !starts_with_ignore_case(uri, "https://") => {
                warn(format!(
                    "the URL scheme of the configured OIDCRedirectURI ({uri}) SHOULD be \"https\" for security reasons (moreover: some Providers may reject non-HTTPS URLs)"
                ))
            }
            Some(_) => {}
        }
        if cfg.crypto_passphrase.is_none() {
            error(mandatory("OIDCCryptoPassphrase"));
        }
        if cfg.client_id.is_none() {
            error(mandatory("OIDCClientID"));
        }
        if let Some(url) = &cfg.provider_metadata_url
            && !starts_with_ignore_case(url, "https://")
        {
            warn(format!(
                "the URL scheme of the configured OIDCProviderMetadataURL ({url}) SHOULD be \"https\" for security reasons!"
            ));
        }
        match cfg.provider_token_endpoint_auth {
            Some(
                auth @ (EndpointAuth::ClientSecretBasic
                | EndpointAuth::ClientSecretPost
                | EndpointAuth::ClientSecretJwt),
            ) if cfg.client_secret.is_none() => error(format!(
                "OIDCProviderTokenEndpointAuth {} requires 'OIDCClientSecret' to be set",
                auth.as_str()
            )),
            Some(EndpointAuth::PrivateKeyJwt) if cfg.private_key_files.is_empty() => error(
                "OIDCProviderTokenEndpointAuth private_key_jwt requires 'OIDCPrivateKeyFiles' to be set"
                    .to_string(),
            ),
            _ => {}
        }
        if let Some(domain) = &cfg.cookie_domain {
            match cfg.redirect_uri.as_deref() {
                Some(uri) if uri.starts_with('/') => warn(
                    "if the configured OIDCRedirectURI is relative, OIDCCookieDomain SHOULD be empty"
                        .to_string(),
                ),
                Some(uri) => {
                    let host = super::url::parse_http_url(uri)
                        .map(|p| p.host.to_string())
                        .unwrap_or_default();
                    if !cookie_domain_matches(&host, domain) {
                        error(format!(
                            "the domain ({domain}) configured in OIDCCookieDomain does not match the URL hostname ({host}) of the configured OIDCRedirectURI ({uri}): setting \"state\" and \"session\" cookies will not work!"
                        ));
                    }
                }
                None => {}
            }
        }
    }

    if cfg.cache_type() == CacheType::Redis && cfg.redis_server.is_none() {
        error("'OIDCCacheType redis' requires 'OIDCRedisCacheServer' to be set".to_string());
    }
    if cfg.cache_type() == CacheType::Memcache && cfg.memcache_servers().is_empty() {
        error("'OIDCCacheType memcache' requires 'OIDCMemCacheServers' to be set".to_string());
    }

    if cfg.has_oauth_config() && cfg.oauth_server_metadata_url.is_none() {
        let local = cfg.has_local_jwt_verification();
        if cfg.oauth_introspection_endpoint.is_none() && !local {
            error("one of 'OIDCOAuthServerMetadataURL', 'OIDCOAuthIntrospectionEndpoint', 'OIDCOAuthVerifyJwksUri', 'OIDCOAuthVerifySharedKeys' or 'OIDCOAuthVerifyCertFiles' must be set".to_string());
        } else if cfg.oauth_introspection_endpoint.is_some() && local {
            error("only 'OIDCOAuthIntrospectionEndpoint' OR one (or more) out of ('OIDCOAuthVerifyJwksUri', 'OIDCOAuthVerifySharedKeys' or 'OIDCOAuthVerifyCertFiles') must be set".to_string());
        }
        if cfg.cache_encrypt() && cfg.crypto_passphrase.is_none() {
            error(if cfg.cache_encrypt.is_some() {
                "mandatory parameter 'OIDCCryptoPassphrase' is not set (OIDCCacheEncrypt is On)"
                    .to_string()
            } else {
                "mandatory parameter 'OIDCCryptoPassphrase' is not set (OIDCCacheType file encrypts by default; set OIDCCacheEncrypt Off to store plain values)".to_string()
            });
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

/// Whether a cookie for `domain` (a leading `.` is ignored) is sent to `host`: the host is the
/// domain or ends with `.` + the domain (ASCII case-insensitive). Stricter than 2.4.12.3, which
/// took any suffix (`ample.com` for `www.example.com`).
pub fn cookie_domain_matches(host: &str, domain: &str) -> bool {
    let domain = domain.strip_prefix('.').unwrap_or(domain);
    if domain.is_empty() || host.len() < domain.len() {
        return false;
    }
    let split = host.len() - domain.len();
    let (Some(head), Some(tail)) = (host.get(..split), host.get(split..)) else {
        return false;
    };
    tail.eq_ignore_ascii_case(domain) && (head.is_empty() || head.ends_with('.'))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}
