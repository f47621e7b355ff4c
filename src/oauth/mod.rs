//! `AuthType oauth20`: the resource server. A bearer token is taken from the request, validated
//! locally (JWKS, shared keys, certificates) or by introspection, and turned into an identity
//! for the backend. Results are cached per process, keyed by a hash of the token, never beyond
//! the token's expiry.
//!
//! Behind the per-process copies (level 1, the hot path: a repeated token costs a hash and a
//! lookup) the server's shared cache is level 2: on a level-1 miss, the OAuth metadata, the
//! JWKS and introspection results are looked up there before the provider is asked, and what
//! the provider answered is stored there with the same lifetime, so a token is introspected
//! once per shared cache (across processes, and across servers with Redis). Locally validated
//! JWTs are not stored there: checking a signature is cheaper than a cache round trip.
mod claims_cache;
mod introspection;
mod jwks;
mod settings;

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

pub use claims_cache::{ClaimsCache, Freshness, ValidToken, token_key};
pub use introspection::{ExpiryClaim, IntrospectionAuth, IntrospectionSettings};
pub use jwks::RemoteJwks;
pub use settings::{MAX_PROVIDER_RESPONSE, OAuthSettings, RequestSettings};

use crate::cache::SharedCache;
use crate::claims::{self, ClaimOutput};
use crate::config::{DirConfig, ServerConfig};
use crate::decision::{Decision, Denial, Identity, LogLevel, Rendered};
use crate::deps::{CacheSection, Clock, HttpClient, HttpMethod, HttpRequest, SystemClock};
use crate::http_client::UreqClient;
use crate::jose::{self, ClaimsPolicy, JoseError};
use crate::request::RequestView;
use crate::token::{self, Extracted};

/// The challenge for an authenticated token that `Require claim` refuses (as the C module's
/// OIDC_OAUTH_BEARER_SCOPE_ERROR value).
pub const INSUFFICIENT_SCOPE_CHALLENGE: &str = "Bearer error=\"insufficient_scope\", error_description=\"Different scope(s) or other claims required\"";

/// Longest token we look at (RFC 8725 bis: cap before decoding).
pub const MAX_TOKEN_LENGTH: usize = 16 * 1024;

/// Clock skew tolerated for `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: i64 = 10;

/// How long OAuth 2.0 authorization server metadata is reused (the C module's default).
const METADATA_CACHE_SECONDS: i64 = 24 * 3600;

/// Bound on the per-process cache of validated tokens.
const MAX_CACHED_TOKENS: usize = 10_000;

/// True when the request carries a bearer token where this location accepts one
/// (`AuthType auth-openidc` uses this to pick the bearer path).
pub fn has_bearer_token(req: &dyn RequestView, dir: &DirConfig) -> bool {
    matches!(
        token::extract_token(req, dir.accept_token_as()),
        Extracted::Found(_)
    )
}

/// Why a token was refused, with what the client is told.
#[derive(Debug, Clone, PartialEq)]
enum Failure {
    /// The token is bad: 401 invalid_token with this description.
    InvalidToken(String),
    /// The provider could not be asked: 503, logged as an error.
    ProviderDown(String),
}

/// Metadata from `OIDCOAuthServerMetadataURL` (RFC 8414) that fills in what is not configured.
struct AsMetadata {
    introspection_endpoint: Option<String>,
    jwks_uri: Option<String>,
    fresh_until: i64,
}

/// The per-process state of one virtual host's resource server.
pub struct ResourceServer {
    settings: OAuthSettings,
    http: Box<dyn HttpClient>,
    clock: Box<dyn Clock>,
    jwks: RwLock<Option<Arc<RemoteJwks>>>,
    metadata: RwLock<Option<AsMetadata>>,
    tokens: ClaimsCache,
    /// Level 2 behind `jwks`, `metadata` and `tokens`.
    shared: SharedCache,
}

impl ResourceServer {
    /// Made lazily in the child process, from the server's final config.
    pub fn new(cfg: &ServerConfig) -> Result<ResourceServer, String> {
        let settings = OAuthSettings::from_config(cfg)?;
        let http = UreqClient::new(&settings.http)?;
        Ok(ResourceServer::with(
            settings,
            Box::new(http),
            Box::new(SystemClock),
        ))
    }

    pub fn with(
        settings: OAuthSettings,
        http: Box<dyn HttpClient>,
        clock: Box<dyn Clock>,
    ) -> ResourceServer {
        let jwks = settings.jwks_uri.clone().map(|u| {
            Arc::new(RemoteJwks::new(
                u,
                settings.jwks_refresh_interval,
                SharedCache::none(),
            ))
        });
        ResourceServer {
            settings,
            http,
            clock,
            jwks: RwLock::new(jwks),
            metadata: RwLock::new(None),
            tokens: ClaimsCache::new(MAX_CACHED_TOKENS),
            shared: SharedCache::none(),
        }
    }

    /// OAuth metadata, JWKS and introspection results also through `shared` (level 2 behind
    /// this process's copies).
    pub fn with_shared_cache(mut self, shared: SharedCache) -> ResourceServer {
        self.jwks = RwLock::new(self.settings.jwks_uri.clone().map(|u| {
            Arc::new(RemoteJwks::new(
                u,
                self.settings.jwks_refresh_interval,
                shared.clone(),
            ))
        }));
        self.shared = shared;
        self
    }

    pub fn authenticate(
        &self,
        req: &dyn RequestView,
        _cfg: &ServerConfig,
        dir: &DirConfig,
    ) -> Decision {
        self.decide(req, &RequestSettings::from_config(dir))
    }

    /// The whole bearer decision for one request.
    pub fn decide(&self, req: &dyn RequestView, rs: &RequestSettings) -> Decision {
        let now = self.clock.now();
        let token = match token::extract_token(req, rs.accept) {
            Extracted::Found(t) => t,
            // A CORS preflight carries no credentials: let it through with an empty user, as
            // the C module does (the backend answers it; spoofed headers are still removed).
            Extracted::NotFound if req.method() == "OPTIONS" => {
                return Decision::Allow(Identity {
                    rendered: Arc::new(Rendered::new("", ClaimOutput::default())),
                    remove_headers: self.spoofed_headers(req, rs),
                    claims: Arc::new(Map::new()),
                    cookie_header: stripped_cookies(req, rs),
                    set_cookies: Vec::new(),
                    log: None,
                });
            }
            Extracted::NotFound => {
                return self.challenge(
                    req,
                    rs,
                    "invalid_request",
                    "No bearer token found in the request",
                    None,
                );
            }
        };
        let valid = match self.validate(&token, rs, now) {
            Ok(v) => v,
            Err(Failure::InvalidToken(why)) => {
                return self.challenge(req, rs, "invalid_token", &why, None);
            }
            Err(Failure::ProviderDown(why)) => {
                return Decision::Deny(Denial {
                    status: 503,
                    www_authenticate: None,
                    log: format!("cannot validate bearer token: {why}"),
                    log_level: LogLevel::Error,
                });
            }
        };
        let Some(rendered) = valid.rendered(rs.pass, rs.pass_access_token, rs.authn_header, || {
            self.render(&valid.claims, &token, rs)
        }) else {
            return self.challenge(
                req,
                rs,
                "invalid_token",
                "Could not set remote user",
                Some(format!(
                    "OIDCOAuthRemoteUserClaim {:?} gives no user for this token",
                    self.settings.remote_user.claim
                )),
            );
        };
        Decision::Allow(Identity {
            rendered,
            remove_headers: self.spoofed_headers(req, rs),
            claims: valid.claims.clone(),
            cookie_header: stripped_cookies(req, rs),
            set_cookies: Vec::new(),
            log: None,
        })
    }

    /// Incoming headers that look like ours (`OIDC_*`, the claim prefix, `OIDCAuthNHeader`).
    fn spoofed_headers(&self, req: &dyn RequestView, rs: &RequestSettings) -> Vec<String> {
        claims::spoofed_headers(
            req,
            &self.settings.claim_prefix,
            rs.authn_header,
            self.settings.whitelist.as_deref(),
        )
    }

    /// User, claim headers/env and `OIDC_access_token` for a valid token; `None` when
    /// `OIDCOAuthRemoteUserClaim` gives no user.
    fn render(
        &self,
        claims: &Map<String, Value>,
        token: &str,
        rs: &RequestSettings,
    ) -> Option<Rendered> {
        let user = claims::remote_user(claims, &self.settings.remote_user, None)?;
        let mut out = ClaimOutput::default();
        if let Some(h) = rs.authn_header {
            out.set_header(h.to_string(), user.clone().into_bytes());
        }
        claims::render_claims(
            claims,
            &self.settings.claim_prefix,
            &self.settings.claim_delimiter,
            rs.pass,
            self.settings.whitelist.as_deref(),
            self.settings.blacklist.as_deref(),
            &mut out,
        );
        if rs.pass_access_token {
            claims::set_app_info(&mut out, "OIDC_", "access_token", token, rs.pass);
        }
        Some(Rendered::new(&user, out))
    }

    fn challenge(
        &self,
        req: &dyn RequestView,
        rs: &RequestSettings,
        error: &str,
        description: &str,
        log: Option<String>,
    ) -> Decision {
        Decision::Deny(Denial {
            status: 401,
            www_authenticate: Some(www_authenticate(rs, req.auth_name(), error, description)),
            log: log.unwrap_or_else(|| format!("bearer token refused: {error}: {description}")),
            log_level: LogLevel::Info,
        })
    }

    /// Claims of a valid token: from the cache, or validated now (and cached).
    fn validate(
        &self,
        token: &str,
        rs: &RequestSettings,
        now: i64,
    ) -> Result<Arc<ValidToken>, Failure> {
        let key = token_key(token);
        let freshness = Freshness(rs.introspection_interval);
        if let Some(valid) = self.tokens.get(&key, now, freshness) {
            return Ok(valid);
        }
        let (claims, expires_at) = match self.introspection_settings(now) {
            Some(intro) => {
                let shared_key = shared_token_key(&intro, token);
                if freshness.0 >= 0
                    && let Some((valid, validated_at, until)) =
                        self.shared_token(&shared_key, now, freshness)
                {
                    self.tokens
                        .put_at(key, valid.clone(), validated_at, now, until, freshness);
                    return Ok(valid);
                }
                let r = introspection::introspect(self.http.as_ref(), &intro, token, now).map_err(
                    |e| match e {
                        introspection::IntrospectionError::Unavailable(e) => {
                            Failure::ProviderDown(e)
                        }
                        introspection::IntrospectionError::Inactive(e) => Failure::InvalidToken(e),
                    },
                )?;
                if freshness.0 >= 0 {
                    let stored = serde_json::json!({"validated_at": now, "claims": r.claims});
                    self.shared.set(
                        CacheSection::AccessToken,
                        &shared_key,
                        stored.to_string().as_bytes(),
                        r.cache_until,
                        now,
                    );
                }
                (r.claims, r.cache_until)
            }
            None => {
                let claims = self.validate_jwt(token, now)?;
                let exp = claims
                    .get("exp")
                    .and_then(Value::as_f64)
                    .map(|e| e as i64)
                    .unwrap_or(now);
                (claims, exp)
            }
        };
        let valid = Arc::new(ValidToken::new(claims));
        self.tokens
            .put(key, valid.clone(), now, expires_at, freshness);
        Ok(valid)
    }

    /// An introspection result stored in the shared cache by another process or server:
    /// (token, validated_at, cache_until), unless older than `OIDCOAuthTokenIntrospectionInterval`.
    fn shared_token(
        &self,
        shared_key: &str,
        now: i64,
        freshness: Freshness,
    ) -> Option<(Arc<ValidToken>, i64, i64)> {
        let entry = self
            .shared
            .get(CacheSection::AccessToken, shared_key, now)?;
        let Ok(Value::Object(mut stored)) = serde_json::from_slice::<Value>(&entry.value) else {
            return None;
        };
        let validated_at = stored.get("validated_at").and_then(Value::as_i64)?;
        if freshness.0 > 0 && now > validated_at.saturating_add(freshness.0) {
            return None;
        }
        let Some(Value::Object(claims)) = stored.remove("claims") else {
            return None;
        };
        Some((
            Arc::new(ValidToken::new(claims)),
            validated_at,
            entry.expires_at,
        ))
    }

    /// Local validation of a JWT access token (RFC 9068 / RFC 8725).
    fn validate_jwt(&self, token: &str, now: i64) -> Result<Map<String, Value>, Failure> {
        let parsed = jose::parse_compact(token, MAX_TOKEN_LENGTH)
            .map_err(|e| Failure::InvalidToken(e.to_string()))?;
        let mut last_err: Option<JoseError> = None;
        if !self.settings.static_keys.is_empty() {
            match jose::verify_signature(&parsed, &self.settings.static_keys) {
                Ok(()) => return self.check_claims(parsed.claims, now),
                Err(e) => last_err = Some(e),
            }
        }
        if let Some(remote) = self.remote_jwks(now) {
            let keys = remote
                .keys(self.http.as_ref(), now)
                .map_err(|e| Failure::ProviderDown(e.to_string()))?;
            match jose::verify_signature(&parsed, &keys) {
                Ok(()) => return self.check_claims(parsed.claims, now),
                Err(JoseError::UnknownKid) => {
                    if let Some(keys) = remote.refresh_for_unknown_kid(self.http.as_ref(), now) {
                        match jose::verify_signature(&parsed, &keys) {
                            Ok(()) => return self.check_claims(parsed.claims, now),
                            Err(e) => last_err = Some(e),
                        }
                    } else {
                        last_err = Some(JoseError::UnknownKid);
                    }
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(Failure::InvalidToken(match last_err {
            Some(e) => e.to_string(),
            None => "no keys are configured to verify the token".to_string(),
        }))
    }

    fn check_claims(
        &self,
        claims: Map<String, Value>,
        now: i64,
    ) -> Result<Map<String, Value>, Failure> {
        let mut policy = ClaimsPolicy::new(now);
        policy.leeway = LEEWAY_SECONDS;
        policy.require_exp = true;
        policy.audiences = self.settings.audiences.clone();
        policy.issuer = self.settings.issuer.clone();
        jose::validate_claims(&claims, &policy)
            .map_err(|e| Failure::InvalidToken(e.to_string()))?;
        Ok(claims)
    }

    /// The JWKS source: configured, or the metadata document's `jwks_uri`.
    fn remote_jwks(&self, now: i64) -> Option<Arc<RemoteJwks>> {
        if let Some(j) = self.jwks.read().ok()?.as_ref()
            && (self.settings.metadata_url.is_none() || self.settings.jwks_uri.is_some())
        {
            return Some(j.clone());
        }
        let uri = self.metadata(now).and_then(|m| m.1)?;
        let mut slot = self.jwks.write().ok()?;
        match slot.as_ref() {
            Some(j) if j.uri() == uri => Some(j.clone()),
            _ => {
                let j = Arc::new(RemoteJwks::new(
                    uri,
                    self.settings.jwks_refresh_interval,
                    self.shared.clone(),
                ));
                *slot = Some(j.clone());
                Some(j)
            }
        }
    }

    /// Introspection settings, with the endpoint from the metadata document when not configured.
    fn introspection_settings(&self, now: i64) -> Option<IntrospectionSettings> {
        let base = self.settings.introspection.clone();
        match base {
            Some(s) if !s.endpoint.is_empty() => Some(s),
            other => {
                let endpoint = self.metadata(now).and_then(|m| m.0)?;
                let mut s = other.unwrap_or_else(|| self.settings.default_introspection());
                s.endpoint = endpoint;
                Some(s)
            }
        }
    }

    /// (introspection_endpoint, jwks_uri) from `OIDCOAuthServerMetadataURL`, cached 24 h.
    fn metadata(&self, now: i64) -> Option<(Option<String>, Option<String>)> {
        let url = self.settings.metadata_url.as_ref()?;
        if let Ok(m) = self.metadata.read()
            && let Some(m) = m.as_ref().filter(|m| now < m.fresh_until)
        {
            return Some((m.introspection_endpoint.clone(), m.jwks_uri.clone()));
        }
        let parse = |body: &[u8]| match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(doc)) => Some(doc),
            _ => None,
        };
        let (doc, fresh_until) = match self
            .shared
            .get(CacheSection::OAuthMetadata, url, now)
            .and_then(|e| Some((parse(&e.value)?, e.expires_at)))
        {
            Some(hit) => hit,
            None => {
                let req = HttpRequest {
                    method: HttpMethod::Get,
                    url: url.clone(),
                    headers: vec![],
                    body: None,
                };
                let resp = self.http.send(&req).ok().filter(|r| r.status == 200)?;
                let doc = parse(&resp.body)?;
                let until = now.saturating_add(METADATA_CACHE_SECONDS);
                self.shared
                    .set(CacheSection::OAuthMetadata, url, &resp.body, until, now);
                (doc, until)
            }
        };
        let get = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
        let m = AsMetadata {
            introspection_endpoint: get("introspection_endpoint"),
            jwks_uri: get("jwks_uri"),
            fresh_until,
        };
        let out = (m.introspection_endpoint.clone(), m.jwks_uri.clone());
        if let Ok(mut slot) = self.metadata.write() {
            *slot = Some(m);
        }
        Some(out)
    }
}

/// The shared-cache key of an introspection result: the token's hash (the token itself is
/// never stored), scoped to the endpoint and client that introspected it, so a server that
/// trusts another authorization server sharing the same cache never takes the result for its own.
fn shared_token_key(intro: &IntrospectionSettings, token: &str) -> String {
    let scope = crate::cache::sha256_hex(
        format!(
            "{}\0{}",
            intro.endpoint,
            intro.client_id.as_deref().unwrap_or("")
        )
        .as_bytes(),
    );
    format!(
        "{}.{}",
        crate::cache::sha256_hex(token.as_bytes()),
        scope.get(..16).unwrap_or(&scope)
    )
}

/// The `Cookie` header after `OIDCStripCookies`, when it changes.
fn stripped_cookies(req: &dyn RequestView, rs: &RequestSettings) -> Option<String> {
    token::stripped_cookie_header(req, rs.strip_cookies)
}

/// RFC 6750 §3 challenge, shaped as the C module shapes it (`Basic` when only basic is accepted).
fn www_authenticate(
    rs: &RequestSettings,
    realm: Option<&str>,
    error: &str,
    description: &str,
) -> String {
    let scheme =
        if rs.accept.len() == 1 && rs.accept[0] == crate::config::values::TokenSource::Basic {
            "Basic"
        } else {
            "Bearer"
        };
    let clean = |s: &str| {
        s.chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect::<String>()
    };
    let mut h = scheme.to_string();
    match realm {
        Some(realm) => h.push_str(&format!(
            " realm=\"{}\", error=\"{}\"",
            clean(realm),
            clean(error)
        )),
        None => h.push_str(&format!(" error=\"{}\"", clean(error))),
    }
    h.push_str(&format!(", error_description=\"{}\"", clean(description)));
    h
}

#[cfg(test)]
mod tests;
