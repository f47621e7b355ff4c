//! OpenID Connect relying-party building blocks for the browser login (code flow):
//! [`discovery`] (provider metadata), [`authorize`] (state cookie, fingerprint, authorization
//! request URL, 302-vs-401 test) and [`id_token`] (ID token validation, OIDC Core §3.1.3.7).
//!
//! Typical use by the authorization-callback handler:
//! 1. `discovery::fetch(http, &discovery_url_for(issuer), Some(issuer))` once per provider (cache it);
//! 2. `RemoteJwks::new(meta.jwks_uri, refresh)` per provider;
//! 3. after the code exchange: `id_token::validate_with_jwks(id_token, &expectations, &jwks, http, now)`
//!    with `expectations.allowed_algs = allowed_algs(configured_alg, &meta.id_token_signing_alg_values_supported)`.
//!
//! [`rp`] puts them together: `rp::RelyingParty::decide` is the whole `AuthType openid-connect`
//! decision (callback, sessions, logout, info hook, the redirect to the provider).

pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod id_token;
pub mod rp;
pub mod token_endpoint;
pub mod userinfo;

#[cfg(test)]
mod tests;

pub use discovery::{
    DiscoveryError, MAX_DISCOVERY_DOCUMENT, ProviderMetadata, WELL_KNOWN_PATH, discovery_url_for,
};
pub use id_token::{
    DEFAULT_IAT_SLACK, IdToken, IdTokenError, IdTokenExpectations, allowed_algs, validate,
    validate_with_jwks,
};
