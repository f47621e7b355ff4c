//! The relying party's settings: [`RpSettings`] per virtual host (made once per child from the
//! server config) and [`RpRequestSettings`] per location (borrowed from the directory config on
//! every request, so they cost no allocation). Plain fields; the mapping from the directives is
//! done by the config layer. Defaults are 2.4.12.3's unless a comment says otherwise.

use std::fmt;

/// The directive value types, shared with the config layer (one type per directive).
pub use crate::config::types::{
    HttpMethod as AuthRequestMethod, PassIdTokenAs, PassUserInfoAs, PkceMethod, ResponseMode,
    UnAuthAction, XForwardedHeaders as TrustedForwarded,
};
use crate::config::values::{PassClaimsAs, RemoteUserClaim};
use crate::jose::KeySet;
use crate::oidc::authorize::{
    DEFAULT_STATE_COOKIE_PREFIX, DEFAULT_STATE_TIMEOUT, StateInputHeaders,
};
use crate::oidc::client_auth::ClientCredentials;
use crate::oidc::discovery::ProviderMetadata;
use crate::oidc::id_token::DEFAULT_IAT_SLACK;
use crate::oidc::userinfo::UserInfoTokenMethod;

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
    /// `OIDCCookie`.
    pub cookie_name: String,
    /// `OIDCCookieDomain`.
    pub cookie_domain: Option<String>,
    /// `OIDCCookieHTTPOnly` (on).
    pub cookie_http_only: bool,
    /// `SameSite` of the session cookie. **Default `Lax`** (hardened default; `None` leaves the
    /// attribute out as 2.4.12.3 with `OIDCCookieSameSite Off`).
    pub session_cookie_same_site: Option<String>,
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
            cookie_name: DEFAULT_SESSION_COOKIE.into(),
            cookie_domain: None,
            cookie_http_only: true,
            session_cookie_same_site: Some("Lax".into()),
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
            .field("cookie_name", &self.cookie_name)
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
        }
    }
}

impl<'a> RpRequestSettings<'a> {
    pub fn cookie_path(&self) -> &'a str {
        self.cookie_path.unwrap_or("/")
    }

    pub fn state_cookie_prefix(&self) -> &'a str {
        self.state_cookie_prefix
            .unwrap_or(DEFAULT_STATE_COOKIE_PREFIX)
    }
}
