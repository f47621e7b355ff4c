//! The resource server's settings, taken once from the server config (when the per-process
//! state is made) and per request from the directory config.

use std::time::Duration;

use crate::config::types::{EndpointAuth, ExpiryFormat, HttpMethod};
use crate::config::values::{PassClaimsAs, RemoteUserClaim, TokenSource};
use crate::config::{DirConfig, ServerConfig};
use crate::http_client::HttpSettings;
use crate::jose::{Jwk, KeySet};
use crate::token::form_pairs;

use super::introspection::{ExpiryClaim, IntrospectionAuth, IntrospectionSettings};

/// Largest answer accepted from a JWKS, introspection or metadata endpoint.
pub const MAX_PROVIDER_RESPONSE: u64 = 1024 * 1024;

pub struct OAuthSettings {
    pub jwks_uri: Option<String>,
    pub jwks_refresh_interval: i64,
    /// Keys from `OIDCOAuthVerifySharedKeys` and `OIDCOAuthVerifyCertFiles`.
    pub static_keys: KeySet,
    /// `OIDCOAuthVerifyAudience`: the token's `aud` must hold one of these.
    pub audiences: Option<Vec<String>>,
    /// `OIDCOAuthVerifyIssuer`: the token's `iss` must equal it.
    pub issuer: Option<String>,
    pub introspection: Option<IntrospectionSettings>,
    pub metadata_url: Option<String>,
    pub remote_user: RemoteUserClaim,
    pub claim_prefix: String,
    pub claim_delimiter: String,
    pub whitelist: Option<Vec<String>>,
    pub blacklist: Option<Vec<String>>,
    pub http: HttpSettings,
}

impl OAuthSettings {
    pub fn from_config(cfg: &ServerConfig) -> Result<OAuthSettings, String> {
        let mut static_keys = KeySet::new();
        for k in &cfg.oauth_verify_shared_keys {
            let key = Jwk::from_hmac_secret(k.kid.clone(), k.key.expose())
                .map_err(|e| format!("OIDCOAuthVerifySharedKeys: {e}"))?;
            static_keys.push(key);
        }
        for f in &cfg.oauth_verify_cert_files {
            let key = Jwk::from_spki_der(f.kid.clone(), &f.spki_der)
                .map_err(|e| format!("OIDCOAuthVerifyCertFiles {}: {e}", f.path.display()))?;
            static_keys.push(key);
        }
        let timeout = cfg.http_timeout_short();
        let http = HttpSettings {
            ca_bundle: cfg.ca_bundle_path.as_ref().map(|p| p.display().to_string()),
            validate_server: cfg.oauth_ssl_validate_server(),
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(timeout.as_secs().max(1))),
            max_body: MAX_PROVIDER_RESPONSE,
        };
        let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        let mut settings = OAuthSettings {
            jwks_uri: cfg.oauth_verify_jwks_uri.clone(),
            jwks_refresh_interval: cfg.jwks_refresh_interval().as_secs() as i64,
            static_keys,
            audiences: non_empty(&cfg.oauth_verify_audience),
            issuer: cfg.oauth_verify_issuer.clone(),
            introspection: None,
            metadata_url: cfg.oauth_server_metadata_url.clone(),
            remote_user: cfg.oauth_remote_user_claim().into_owned(),
            claim_prefix: cfg.claim_prefix().to_string(),
            claim_delimiter: cfg.claim_delimiter().to_string(),
            whitelist: non_empty(&cfg.white_listed_claims),
            blacklist: non_empty(&cfg.black_listed_claims),
            http,
        };
        settings.introspection = introspection_from(cfg, cfg.oauth_introspection_endpoint.clone());
        Ok(settings)
    }

    /// Introspection settings without an endpoint, for an endpoint found in metadata.
    pub fn default_introspection(&self) -> IntrospectionSettings {
        IntrospectionSettings {
            endpoint: String::new(),
            use_get: false,
            auth: IntrospectionAuth::ClientSecretBasic,
            client_id: None,
            client_secret: None,
            params: Vec::new(),
            token_param_name: "token".into(),
            expiry: ExpiryClaim {
                name: "expires_in".into(),
                absolute: false,
                mandatory: true,
            },
        }
    }
}

/// Introspection settings from the config; `endpoint` may be empty (then metadata supplies it),
/// `None` when neither an endpoint nor a metadata URL is configured.
fn introspection_from(
    cfg: &ServerConfig,
    endpoint: Option<String>,
) -> Option<IntrospectionSettings> {
    if endpoint.is_none() && cfg.oauth_server_metadata_url.is_none() {
        return None;
    }
    let auth = match cfg.introspection_endpoint_auth() {
        Some(EndpointAuth::ClientSecretPost) => IntrospectionAuth::ClientSecretPost,
        Some(EndpointAuth::BearerAccessToken) => IntrospectionAuth::BearerAccessToken(
            cfg.introspection_client_auth_bearer_token()
                .map(str::to_string),
        ),
        Some(EndpointAuth::None) => IntrospectionAuth::None,
        _ => IntrospectionAuth::ClientSecretBasic,
    };
    let expiry = cfg.token_expiry_claim();
    let params = cfg
        .oauth_introspection_endpoint_params
        .as_deref()
        .map(|p| {
            form_pairs(p.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    Some(IntrospectionSettings {
        endpoint: endpoint.unwrap_or_default(),
        use_get: cfg.introspection_method() == HttpMethod::Get,
        auth,
        client_id: cfg.oauth_client_id.clone(),
        client_secret: cfg.oauth_client_secret.as_ref().map(|s| s.expose().clone()),
        params,
        token_param_name: cfg.introspection_token_param_name().to_string(),
        expiry: ExpiryClaim {
            name: expiry.name.clone(),
            absolute: expiry.format == ExpiryFormat::Absolute,
            mandatory: expiry.required,
        },
    })
}

/// What one location asks of the resource server.
pub struct RequestSettings<'a> {
    pub accept: &'a [TokenSource],
    pub pass: PassClaimsAs,
    pub authn_header: Option<&'a str>,
    /// `OIDCOAuthTokenIntrospectionInterval`.
    pub introspection_interval: i64,
    /// `OIDCPassAccessToken`.
    pub pass_access_token: bool,
    /// `OIDCStripCookies`.
    pub strip_cookies: &'a [String],
}

impl<'a> RequestSettings<'a> {
    pub fn from_config(dir: &'a DirConfig) -> Self {
        RequestSettings {
            accept: dir.accept_token_as(),
            pass: dir.pass_claims_as(),
            authn_header: dir.authn_header(),
            introspection_interval: dir.introspection_interval() as i64,
            pass_access_token: dir.pass_access_token(),
            strip_cookies: dir.strip_cookies(),
        }
    }
}
