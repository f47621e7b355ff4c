//! The relying party's settings: [`RpSettings`] per virtual host (made once per child from the
//! server config) and [`RpRequestSettings`] per location (borrowed from the directory config on
//! every request, so they cost no allocation). Plain fields; the mapping from the directives is
//! done by the config layer. Defaults are 2.4.12.3's unless a comment says otherwise.

use std::fmt;

pub use crate::config::types::SessionKind;
use crate::config::types::{CookieKind, SameSite};
/// The directive value types, shared with the config layer (one type per directive).
pub use crate::config::types::{
    HttpMethod as AuthRequestMethod, PassIdTokenAs, PassUserInfoAs, PkceMethod, RefreshOnError,
    RefreshPolicy, ResponseMode, UnAuthAction, XForwardedHeaders as TrustedForwarded,
};
use crate::config::values::{PassClaimsAs, RemoteUserClaim};
use crate::config::{DirConfig, ServerConfig};
use crate::jose::{Jwk, KeySet, SigningKey};
use crate::oidc::authorize::{
    DEFAULT_STATE_COOKIE_PREFIX, DEFAULT_STATE_TIMEOUT, StateInputHeaders,
};
use crate::oidc::client_auth::ClientCredentials;
use crate::oidc::discovery::ProviderMetadata;
use crate::oidc::id_token::DEFAULT_IAT_SLACK;
use crate::oidc::userinfo::UserInfoTokenMethod;
use crate::token::form_pairs;

/// The default session cookie name (`OIDCCookie`).
pub const DEFAULT_SESSION_COOKIE: &str = "mod_auth_openidc_session";

/// How the provider's configuration is found.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderSource {
    /// `OIDCProviderMetadataURL`, fetched lazily in the child and refreshed per
    /// `OIDCProviderMetadataRefreshInterval`. `issuer` (`OIDCProviderIssuer`), when set, must
    /// equal the document's `issuer`.
    Discovery {
        metadata_url: String,
        issuer: Option<String>,
    },
    /// Static endpoints (`OIDCProviderIssuer`, `OIDCProviderAuthorizationEndpoint`, ...).
    Static(Box<ProviderMetadata>),
}

/// What one virtual host's relying party is configured with. `Debug` hides the client secret.
#[derive(Clone)]
pub struct RpSettings {
    /// `OIDCRedirectURI`: absolute, or a path (then on the host of the request).
    pub redirect_uri: String,
    /// `OIDCClientID`.
    pub client_id: String,
    /// `OIDCClientSecret`: the HMAC key of HS* ID tokens (client authentication uses
    /// `client_auth`).
    pub client_secret: Option<String>,
    /// Client authentication at the token endpoint (`OIDCProviderTokenEndpointAuth`,
    /// `OIDCClientSecret`, `OIDCPrivateKeyFiles`).
    pub client_auth: ClientCredentials,
    pub provider: ProviderSource,
    /// `OIDCProviderMetadataRefreshInterval` in seconds; 0 means 24 hours (the C module kept
    /// discovered metadata in its cache for a day).
    pub metadata_refresh_interval: i64,
    /// `OIDCJWKSRefreshInterval` (3600).
    pub jwks_refresh_interval: i64,
    /// `OIDCProviderVerifyCertFiles`: static ID token keys, used with (or instead of) the JWKS.
    pub verify_keys: KeySet,
    /// `OIDCScope` (`openid`).
    pub scope: String,
    /// `OIDCAuthRequestParams`, as written (`k=v&k2=#`).
    pub auth_request_params: Option<String>,
    /// `OIDCResponseMode`.
    pub response_mode: Option<ResponseMode>,
    /// `OIDCPKCEMethod`.
    pub pkce: PkceMethod,
    /// `OIDCProviderAuthRequestMethod`.
    pub auth_request_method: AuthRequestMethod,
    /// `OIDCProviderTokenEndpointParams`, decoded pairs.
    pub token_endpoint_params: Vec<(String, String)>,
    /// `OIDCIDTokenSignedResponseAlg`.
    pub id_token_alg: Option<String>,
    /// `OIDCIDTokenIatSlack` (600).
    pub iat_slack: i64,
    /// `OIDCUserInfoTokenMethod`.
    pub userinfo_method: UserInfoTokenMethod,
    /// `OIDCStateTimeout` (300).
    pub state_timeout: i64,
    /// `OIDCStateInputHeaders` (both).
    pub state_input_headers: StateInputHeaders,
    /// `OIDCStateMaxNumberOfCookies` first argument (7; 0 = no limit).
    pub max_state_cookies: u32,
    /// `OIDCStateMaxNumberOfCookies` second argument (false).
    pub delete_oldest_state_cookies: bool,
    /// `SameSite` of the state cookie (none: the attribute is left out, as the reference).
    pub state_cookie_same_site: Option<String>,
    /// `OIDCCookieDomain`.
    pub cookie_domain: Option<String>,
    /// `OIDCCookieHTTPOnly` (on).
    pub cookie_http_only: bool,
    /// `SameSite` of the session cookie. **Default `Lax`** (hardened default; `None` leaves the
    /// attribute out as 2.4.12.3 with `OIDCCookieSameSite Off`).
    pub session_cookie_same_site: Option<String>,
    /// `OIDCSessionType server-cache:persistent`: the session cookie gets a `Max-Age` (the
    /// session's remaining lifetime) and survives a browser restart (false).
    pub persistent_session_cookie: bool,
    /// `OIDCSessionType`: sessions in the cache (default) or in client cookies.
    pub session_kind: SessionKind,
    /// `OIDCSessionType client-cookie:store_id_token` (always true for server-cache): keep
    /// the compact ID token in the session.
    pub store_id_token: bool,
    /// `OIDCSessionCacheFallbackToCookie` (off).
    pub session_fallback_to_cookie: bool,
    /// `OIDCSessionCookieChunkSize` (4000; 0: one cookie whatever its size).
    pub session_cookie_chunk_size: usize,
    /// `OIDCSessionInactivityTimeout` (300).
    pub session_inactivity_timeout: i64,
    /// `OIDCSessionMaxDuration` (28800; 0 = the ID token's `exp`).
    pub session_max_duration: i64,
    /// `OIDCXForwardedHeaders`.
    pub forwarded: TrustedForwarded,
    /// `OIDCRemoteUserClaim` (`sub@`).
    pub remote_user: RemoteUserClaim,
    /// `OIDCClaimPrefix` (`OIDC_CLAIM_`).
    pub claim_prefix: String,
    /// `OIDCClaimDelimiter` (`,`).
    pub claim_delimiter: String,
    /// `OIDCWhiteListedClaims`.
    pub whitelist: Option<Vec<String>>,
    /// `OIDCBlackListedClaims`.
    pub blacklist: Option<Vec<String>>,
    /// `OIDCPassIDTokenAs`.
    pub pass_id_token_as: PassIdTokenAs,
    /// `OIDCPassUserInfoAs`.
    pub pass_userinfo_as: PassUserInfoAs,
    /// `OIDCDefaultURL`: where a callback goes when the state holds no URL, and where an
    /// invalid state is sent instead of a 400.
    pub default_url: Option<String>,
    /// `OIDCDefaultLoggedOutURL`: the target of `?logout=` with an empty value.
    pub default_logged_out_url: Option<String>,
    /// `OIDCRedirectURLsAllowed`: absolute logout targets matching one of these are allowed.
    pub redirect_urls_allowed: Vec<regex_lite::Regex>,
    /// `OIDCLogoutXFrameOptions`.
    pub logout_x_frame_options: Option<String>,
    /// `OIDCInfoHook`: the keys `?info=` returns; empty disables the hook.
    pub info_hook: Vec<String>,
    /// `OIDCHTMLErrorTemplate`: the template's contents (two `%s`: error, description).
    pub error_template: Option<String>,
    /// `OIDCUserInfoRefreshInterval` (`None`: userinfo only at login).
    pub userinfo_refresh: Option<RefreshPolicy>,
    /// How long a refresh lock is held at most (seconds): `OIDCHTTPTimeoutLong` plus a margin,
    /// so a lock outlives the token endpoint call it guards but not a crashed holder by much.
    pub refresh_lock_ttl: i64,
    /// How long a request whose access token has expired waits for another request's refresh
    /// of the same session before it reads the session again.
    pub refresh_wait: std::time::Duration,
}

impl RpSettings {
    /// Settings with every default, for the given client and provider.
    pub fn new(
        redirect_uri: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<String>,
        provider: ProviderSource,
    ) -> RpSettings {
        let client_id = client_id.into();
        let client_auth =
            ClientCredentials::new(None, client_id.clone(), client_secret.clone(), None);
        RpSettings {
            redirect_uri: redirect_uri.into(),
            client_id,
            client_secret,
            client_auth,
            provider,
            metadata_refresh_interval: 0,
            jwks_refresh_interval: 3600,
            verify_keys: KeySet::new(),
            scope: "openid".into(),
            auth_request_params: None,
            response_mode: None,
            pkce: PkceMethod::S256,
            auth_request_method: AuthRequestMethod::Get,
            token_endpoint_params: Vec::new(),
            id_token_alg: None,
            iat_slack: DEFAULT_IAT_SLACK,
            userinfo_method: UserInfoTokenMethod::AuthzHeader,
            state_timeout: DEFAULT_STATE_TIMEOUT,
            state_input_headers: StateInputHeaders::Both,
            max_state_cookies: 7,
            delete_oldest_state_cookies: false,
            state_cookie_same_site: None,
            cookie_domain: None,
            cookie_http_only: true,
            session_cookie_same_site: Some("Lax".into()),
            persistent_session_cookie: false,
            session_kind: SessionKind::ServerCache,
            store_id_token: true,
            session_fallback_to_cookie: false,
            session_cookie_chunk_size: 4000,
            session_inactivity_timeout: 300,
            session_max_duration: 8 * 3600,
            forwarded: TrustedForwarded::default(),
            remote_user: RemoteUserClaim {
                claim: "sub".into(),
                append_issuer: true,
                regex: None,
                replacement: None,
            },
            claim_prefix: "OIDC_CLAIM_".into(),
            claim_delimiter: ",".into(),
            whitelist: None,
            blacklist: None,
            pass_id_token_as: PassIdTokenAs::default(),
            pass_userinfo_as: PassUserInfoAs::default(),
            default_url: None,
            default_logged_out_url: None,
            redirect_urls_allowed: Vec::new(),
            logout_x_frame_options: None,
            info_hook: Vec::new(),
            error_template: None,
            userinfo_refresh: None,
            refresh_lock_ttl: 60 + 5,
            refresh_wait: std::time::Duration::from_secs(3),
        }
    }
}

impl fmt::Debug for RpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpSettings")
            .field("redirect_uri", &self.redirect_uri)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("provider", &self.provider)
            .field("scope", &self.scope)
            .field("pkce", &self.pkce)
            .field("response_mode", &self.response_mode)
            .field(
                "session_inactivity_timeout",
                &self.session_inactivity_timeout,
            )
            .field("session_max_duration", &self.session_max_duration)
            .finish_non_exhaustive()
    }
}

/// What one location asks of the relying party (borrowed from the directory config).
#[derive(Debug, Clone, Copy)]
pub struct RpRequestSettings<'a> {
    /// `OIDCUnAuthAction`.
    pub unauth_action: UnAuthAction,
    /// `OIDCPassClaimsAs` (both, raw).
    pub pass: PassClaimsAs,
    /// `OIDCAuthNHeader`.
    pub authn_header: Option<&'a str>,
    /// `OIDCPassRefreshToken`.
    pub pass_refresh_token: bool,
    /// `OIDCStripCookies`.
    pub strip_cookies: &'a [String],
    /// `OIDCPathScope`: appended to `OIDCScope`.
    pub path_scope: Option<&'a str>,
    /// `OIDCPathAuthRequestParams`.
    pub path_auth_request_params: Option<&'a str>,
    /// `OIDCCookiePath` (`/`).
    pub cookie_path: Option<&'a str>,
    /// `OIDCStateCookiePrefix` (`mod_auth_openidc_state_`).
    pub state_cookie_prefix: Option<&'a str>,
    /// `OIDCPreservePost`.
    pub preserve_post: bool,
    /// `OIDCCookie` (`mod_auth_openidc_session`).
    pub cookie_name: Option<&'a str>,
    /// `OIDCRefreshAccessTokenBeforeExpiry` (`None`: no refresh).
    pub refresh_before_expiry: Option<RefreshPolicy>,
}

impl Default for RpRequestSettings<'_> {
    fn default() -> Self {
        RpRequestSettings {
            unauth_action: UnAuthAction::Auth,
            pass: PassClaimsAs::default(),
            authn_header: None,
            pass_refresh_token: false,
            strip_cookies: &[],
            path_scope: None,
            path_auth_request_params: None,
            cookie_path: None,
            state_cookie_prefix: None,
            preserve_post: false,
            cookie_name: None,
            refresh_before_expiry: None,
        }
    }
}

impl<'a> RpRequestSettings<'a> {
    pub fn cookie_name(&self) -> &'a str {
        self.cookie_name.unwrap_or(DEFAULT_SESSION_COOKIE)
    }

    pub fn cookie_path(&self) -> &'a str {
        self.cookie_path.unwrap_or("/")
    }

    pub fn state_cookie_prefix(&self) -> &'a str {
        self.state_cookie_prefix
            .unwrap_or(DEFAULT_STATE_COOKIE_PREFIX)
    }
}

impl RpSettings {
    /// The settings of a virtual host's final (merged) server config. Start-up checks
    /// (`config::check_server`) have already refused incomplete configurations; what is still
    /// missing here is reported as an error string.
    pub fn from_config(cfg: &ServerConfig) -> Result<RpSettings, String> {
        let redirect_uri = cfg
            .redirect_uri
            .clone()
            .ok_or("OIDCRedirectURI is not set")?;
        let client_id = cfg.client_id.clone().ok_or("OIDCClientID is not set")?;
        let client_secret = cfg.client_secret.as_ref().map(|s| s.expose().clone());
        let provider = match &cfg.provider_metadata_url {
            Some(url) => ProviderSource::Discovery {
                metadata_url: url.clone(),
                issuer: cfg.provider_issuer.clone(),
            },
            None => ProviderSource::Static(Box::new(static_provider(cfg)?)),
        };
        let signing_key = match cfg.private_key_files.first() {
            None => None,
            Some(f) => Some(
                SigningKey::from_pkcs8_der(f.kid.clone(), f.pkcs8_der.expose())
                    .map_err(|e| format!("OIDCPrivateKeyFiles {}: {e}", f.path.display()))?,
            ),
        };
        let mut verify_keys = KeySet::new();
        for f in &cfg.provider_verify_cert_files {
            let key = Jwk::from_spki_der(f.kid.clone(), &f.spki_der)
                .map_err(|e| format!("OIDCProviderVerifyCertFiles {}: {e}", f.path.display()))?;
            verify_keys.push(key);
        }
        let mut s = RpSettings::new(redirect_uri, client_id, client_secret.clone(), provider);
        s.client_auth = ClientCredentials::new(
            Some(cfg.provider_token_endpoint_auth()),
            s.client_id.clone(),
            client_secret,
            signing_key,
        );
        s.metadata_refresh_interval = i64::from(cfg.provider_metadata_refresh_interval());
        s.jwks_refresh_interval = cfg.jwks_refresh_interval().as_secs() as i64;
        s.verify_keys = verify_keys;
        s.scope = cfg.scope().to_string();
        s.auth_request_params = cfg.auth_request_params.clone();
        s.response_mode = cfg.response_mode();
        s.pkce = cfg.pkce_method();
        s.auth_request_method = cfg.provider_auth_request_method();
        s.token_endpoint_params = cfg
            .provider_token_endpoint_params
            .as_deref()
            .map(|p| {
                form_pairs(p.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        s.id_token_alg = cfg
            .id_token_signed_response_alg()
            .map(|a| a.name().to_string());
        s.iat_slack = cfg.id_token_iat_slack().as_secs() as i64;
        s.userinfo_method = cfg.userinfo_token_method();
        s.state_timeout = cfg.state_timeout().as_secs() as i64;
        s.state_input_headers = cfg.state_input_headers();
        s.max_state_cookies = cfg.state_max_number_of_cookies();
        s.delete_oldest_state_cookies = cfg.state_delete_oldest_cookies();
        let same_site = |kind| {
            cfg.cookie_same_site_for(kind)
                .map(|v: SameSite| v.value().to_string())
        };
        s.state_cookie_same_site = same_site(CookieKind::State);
        s.session_cookie_same_site = same_site(CookieKind::SessionAfterLogin);
        s.cookie_domain = cfg.cookie_domain().map(str::to_string);
        s.cookie_http_only = cfg.cookie_http_only();
        let session_type = cfg.session_type();
        s.persistent_session_cookie = session_type.persistent;
        s.session_kind = session_type.kind;
        s.store_id_token = session_type.store_id_token;
        s.session_fallback_to_cookie = cfg.session_cache_fallback_to_cookie();
        s.session_cookie_chunk_size = cfg.session_cookie_chunk_size() as usize;
        s.session_inactivity_timeout = cfg.session_inactivity_timeout().as_secs() as i64;
        s.session_max_duration = i64::from(cfg.session_max_duration());
        s.forwarded = cfg.x_forwarded_headers();
        s.remote_user = cfg.remote_user_claim().into_owned();
        s.claim_prefix = cfg.claim_prefix().to_string();
        s.claim_delimiter = cfg.claim_delimiter().to_string();
        let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        s.whitelist = non_empty(&cfg.white_listed_claims);
        s.blacklist = non_empty(&cfg.black_listed_claims);
        s.pass_id_token_as = cfg.pass_id_token_as();
        s.pass_userinfo_as = cfg.pass_userinfo_as();
        s.default_url = cfg.default_url.clone();
        s.default_logged_out_url = cfg.default_logged_out_url.clone();
        s.redirect_urls_allowed = cfg
            .redirect_urls_allowed()
            .iter()
            .map(|p| p.0.clone())
            .collect();
        s.logout_x_frame_options = Some(cfg.logout_x_frame_options().to_string());
        s.info_hook = cfg
            .info_hook_data()
            .iter()
            .map(|d| d.as_str().to_string())
            .collect();
        s.error_template = cfg.html_error_template().map(str::to_string);
        s.userinfo_refresh = cfg.userinfo_refresh_interval();
        s.refresh_lock_ttl = (cfg.http_timeout_long().as_secs() as i64).saturating_add(5);
        Ok(s)
    }
}

/// The provider from `OIDCProviderIssuer`, `OIDCProviderAuthorizationEndpoint`, ... (no
/// metadata URL).
fn static_provider(cfg: &ServerConfig) -> Result<ProviderMetadata, String> {
    let need = |v: &Option<String>, name: &str| v.clone().ok_or(format!("{name} is not set"));
    Ok(ProviderMetadata {
        issuer: need(&cfg.provider_issuer, "OIDCProviderIssuer")?,
        authorization_endpoint: need(
            &cfg.provider_authorization_endpoint,
            "OIDCProviderAuthorizationEndpoint",
        )?,
        token_endpoint: need(&cfg.provider_token_endpoint, "OIDCProviderTokenEndpoint")?,
        userinfo_endpoint: cfg.provider_userinfo_endpoint.clone(),
        jwks_uri: cfg.provider_jwks_uri.clone(),
        end_session_endpoint: cfg.provider_end_session_endpoint.clone(),
        introspection_endpoint: None,
        token_endpoint_auth_methods_supported: Vec::new(),
        id_token_signing_alg_values_supported: Vec::new(),
        response_types_supported: Vec::new(),
        code_challenge_methods_supported: Vec::new(),
    })
}

impl<'a> RpRequestSettings<'a> {
    /// The settings of one location (borrowed: no allocation per request).
    pub fn from_config(dir: &'a DirConfig) -> RpRequestSettings<'a> {
        RpRequestSettings {
            unauth_action: dir.unauth_action(),
            pass: dir.pass_claims_as(),
            authn_header: dir.authn_header(),
            pass_refresh_token: dir.pass_refresh_token(),
            strip_cookies: dir.strip_cookies(),
            path_scope: dir.path_scope(),
            path_auth_request_params: dir.path_auth_request_params(),
            cookie_path: Some(dir.cookie_path()),
            state_cookie_prefix: Some(dir.state_cookie_prefix()),
            preserve_post: dir.preserve_post(),
            cookie_name: Some(dir.cookie()),
            refresh_before_expiry: dir.refresh_access_token_before_expiry(),
        }
    }
}
