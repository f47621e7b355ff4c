//! OpenID Provider metadata from a discovery document (OpenID Connect Discovery 1.0 §3, §4).
//!
//! Validation follows Discovery §4.3 and the C module's `oidc_metadata_provider_is_valid`:
//! * the document is a JSON object of at most [`MAX_DISCOVERY_DOCUMENT`] bytes;
//! * `issuer` is present and, when an issuer is configured, exactly equal to it (no normalisation:
//!   a trailing slash matters); without a configured issuer the discovery URL must be
//!   `<issuer>/.well-known/openid-configuration` (§4.3: the issuer the document was fetched for);
//! * `authorization_endpoint` and `token_endpoint` are present (this relying party only does the
//!   code flow); `jwks_uri` is optional as in the C module (an HS256-only provider needs none;
//!   ID tokens with asymmetric signatures then simply find no key);
//! * every URL in the document is an absolute https URL; plain http only to loopback hosts
//!   (127.0.0.0/8, ::1, localhost) for local testing. The issuer has no query or fragment (§3).
//!
//! Error texts are short sentences naming the member, never the document's contents.

use std::fmt;

use serde_json::{Map, Value};

use crate::config::url::{check_https_or_loopback, parse_http_url};
use crate::deps::{HttpClient, HttpMethod, HttpRequest};

/// Largest accepted discovery document.
pub const MAX_DISCOVERY_DOCUMENT: usize = 1024 * 1024;

/// The path a discovery document lives under, relative to the issuer (Discovery §4).
pub const WELL_KNOWN_PATH: &str = "/.well-known/openid-configuration";

/// The provider metadata this module uses. List members absent from the document are empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryError {
    /// The provider could not be reached or did not answer 200.
    Unavailable(String),
    /// The document is larger than [`MAX_DISCOVERY_DOCUMENT`].
    TooLarge,
    /// Not a JSON object.
    NotJsonObject,
    /// A required member is absent (the member name).
    Missing(&'static str),
    /// A member has the wrong JSON type (the member name).
    Malformed(&'static str),
    /// A URL member is not an https URL (or http to a loopback host) (the member name).
    InsecureUrl(&'static str),
    /// `issuer` differs from the configured issuer, or does not fit the discovery URL.
    IssuerMismatch,
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Unavailable(e) => write!(f, "provider metadata unavailable: {e}"),
            DiscoveryError::TooLarge => f.write_str("provider metadata document is too large"),
            DiscoveryError::NotJsonObject => {
                f.write_str("provider metadata document is not a JSON object")
            }
            DiscoveryError::Missing(m) => write!(f, "provider metadata has no {m}"),
            DiscoveryError::Malformed(m) => write!(f, "provider metadata {m} is malformed"),
            DiscoveryError::InsecureUrl(m) => write!(
                f,
                "provider metadata {m} is not an https URL (http is allowed only to loopback hosts)"
            ),
            DiscoveryError::IssuerMismatch => {
                f.write_str("provider metadata issuer does not match the expected issuer")
            }
        }
    }
}

impl std::error::Error for DiscoveryError {}

/// The discovery URL for an issuer (Discovery §4.1: a trailing slash on the issuer is dropped first).
pub fn discovery_url_for(issuer: &str) -> String {
    format!("{}{WELL_KNOWN_PATH}", issuer.trim_end_matches('/'))
}

/// Parse and validate a discovery document fetched from `discovery_url`.
pub fn parse(
    bytes: &[u8],
    discovery_url: &str,
    expected_issuer: Option<&str>,
) -> Result<ProviderMetadata, DiscoveryError> {
    if bytes.len() > MAX_DISCOVERY_DOCUMENT {
        return Err(DiscoveryError::TooLarge);
    }
    let doc: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|_| DiscoveryError::NotJsonObject)?;

    let issuer = required_url(&doc, "issuer")?;
    let issuer_ok = match expected_issuer {
        Some(expected) => issuer == expected,
        None => discovery_url_for(&issuer) == discovery_url,
    };
    if !issuer_ok {
        return Err(DiscoveryError::IssuerMismatch);
    }
    if issuer.contains(['?', '#']) {
        return Err(DiscoveryError::Malformed("issuer"));
    }

    Ok(ProviderMetadata {
        authorization_endpoint: required_url(&doc, "authorization_endpoint")?,
        token_endpoint: required_url(&doc, "token_endpoint")?,
        userinfo_endpoint: optional_url(&doc, "userinfo_endpoint")?,
        jwks_uri: optional_url(&doc, "jwks_uri")?,
        end_session_endpoint: optional_url(&doc, "end_session_endpoint")?,
        introspection_endpoint: optional_url(&doc, "introspection_endpoint")?,
        token_endpoint_auth_methods_supported: string_list(
            &doc,
            "token_endpoint_auth_methods_supported",
        )?,
        id_token_signing_alg_values_supported: string_list(
            &doc,
            "id_token_signing_alg_values_supported",
        )?,
        response_types_supported: string_list(&doc, "response_types_supported")?,
        code_challenge_methods_supported: string_list(&doc, "code_challenge_methods_supported")?,
        issuer,
    })
}

/// GET the discovery document at `url` and [`parse`] it.
pub fn fetch(
    http: &dyn HttpClient,
    url: &str,
    expected_issuer: Option<&str>,
) -> Result<ProviderMetadata, DiscoveryError> {
    fetch_document(http, url, expected_issuer).map(|(meta, _)| meta)
}

/// As [`fetch`], with the document's bytes (kept in the shared cache).
pub fn fetch_document(
    http: &dyn HttpClient,
    url: &str,
    expected_issuer: Option<&str>,
) -> Result<(ProviderMetadata, Vec<u8>), DiscoveryError> {
    check_https_or_loopback(url).map_err(|_| DiscoveryError::InsecureUrl("discovery URL"))?;
    let req = HttpRequest {
        method: HttpMethod::Get,
        url: url.to_owned(),
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
    };
    let resp = http
        .send(&req)
        .map_err(|e| DiscoveryError::Unavailable(format!("fetching {url} failed: {e}")))?;
    if resp.status != 200 {
        return Err(DiscoveryError::Unavailable(format!(
            "{url} answered HTTP {}",
            resp.status
        )));
    }
    let meta = parse(&resp.body, url, expected_issuer)?;
    Ok((meta, resp.body))
}

fn optional_url(
    doc: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, DiscoveryError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            // parse_http_url first so that "not a URL" and "plain http" are told apart.
            parse_http_url(s).map_err(|_| DiscoveryError::Malformed(name))?;
            check_https_or_loopback(s).map_err(|_| DiscoveryError::InsecureUrl(name))?;
            Ok(Some(s.clone()))
        }
        Some(_) => Err(DiscoveryError::Malformed(name)),
    }
}

fn required_url(doc: &Map<String, Value>, name: &'static str) -> Result<String, DiscoveryError> {
    optional_url(doc, name)?.ok_or(DiscoveryError::Missing(name))
}

fn string_list(
    doc: &Map<String, Value>,
    name: &'static str,
) -> Result<Vec<String>, DiscoveryError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(DiscoveryError::Malformed(name))
            })
            .collect(),
        Some(_) => Err(DiscoveryError::Malformed(name)),
    }
}
