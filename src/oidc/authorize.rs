//! The start of the browser login (authorization code flow): the sealed state record kept in the
//! state cookie, the browser fingerprint bound into it, the authorization request URL, the
//! browser-navigation test that picks 302 over 401, and the state cookie strings.
//!
//! Behaviour follows /work/shared/COMPAT.md ("Unauthenticated browser request on an
//! `openid-connect` location" and "Callback"), with the C module 2.4.12.3 for semantics:
//! * the state cookie value is the [`StateRecord`] as compact JSON sealed with
//!   [`crypto::seal`] under the context label `state` (the reference uses a JWE; the contents are
//!   the same: original URL and method, nonce, PKCE verifier, provider, timestamp, fingerprint);
//! * the fingerprint hashes the headers chosen by `OIDCStateInputHeaders` (as the C module's
//!   `oidc_get_browser_state_hash`, but SHA-256 with length-prefixed fields instead of SHA-1 over
//!   the bare concatenation, so `("ab","c")` and `("a","bc")` differ);
//! * a state is refused when it cannot be opened, when `now > created_at + OIDCStateTimeout`
//!   (as the C module), or when the fingerprint differs (compared in constant time).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::crypto::{self, CryptoError, CryptoKeys};
use crate::token::{append_query, form_encode, percent_decode};

/// The context label the state cookie is sealed under (never shared with sessions or tokens).
pub const STATE_CONTEXT: &[u8] = b"state";

/// `OIDCStateTimeout` default, in seconds.
pub const DEFAULT_STATE_TIMEOUT: i64 = 300;

/// The default prefix of state cookie names (the C module's `OIDCStateCookiePrefix` default).
pub const DEFAULT_STATE_COOKIE_PREFIX: &str = "mod_auth_openidc_state_";

/// What the callback needs to finish the login, carried (sealed) in the state cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRecord {
    /// The `state` parameter this record was made for (its cookie is named after it too; the
    /// callback compares both, so a sealed record moved under another cookie name is refused).
    pub state: String,
    /// The absolute URL the browser asked for; the callback redirects back to it.
    pub original_url: String,
    /// The method of the original request (`GET`, `POST`, ...).
    pub original_method: String,
    /// The nonce sent in the authorization request; the ID token must carry it.
    pub nonce: String,
    /// The PKCE code verifier, when PKCE is on.
    pub pkce_verifier: Option<String>,
    /// The issuer of the provider the request went to.
    pub issuer: String,
    /// Unix time (seconds) the state was made.
    pub created_at: i64,
    /// [`fingerprint`] of the browser that started the login.
    pub fingerprint: String,
    /// `OIDCPreservePost`: the form body of the POST that started the login, replayed to the
    /// original URL after the callback (size bounded by the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserved_post: Option<String>,
}

/// Why a state cookie was refused. The callback answers each with 400; the variants only make
/// logs precise. None carries cookie contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// Sealing failed (key unavailable or CSPRNG failure): fail the request.
    Seal(CryptoError),
    /// The cookie could not be opened: tampered, foreign key, wrong context, garbage.
    Unopenable(CryptoError),
    /// It opened but is not a state record (cannot happen unless the key is shared elsewhere).
    Malformed,
    /// Older than `OIDCStateTimeout`.
    Expired,
    /// Made for a browser with other `User-Agent`/`X-Forwarded-For` headers.
    FingerprintMismatch,
    /// Made for another `state` value than the one the callback carries.
    StateMismatch,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Seal(e) => write!(f, "could not seal state: {e}"),
            StateError::Unopenable(e) => write!(f, "state cookie could not be opened: {e}"),
            StateError::Malformed => f.write_str("state cookie does not hold a state record"),
            StateError::Expired => f.write_str("state has expired (OIDCStateTimeout)"),
            StateError::FingerprintMismatch => {
                f.write_str("state was made for another browser (OIDCStateInputHeaders)")
            }
            StateError::StateMismatch => {
                f.write_str("state cookie was made for another state value")
            }
        }
    }
}

impl std::error::Error for StateError {}

/// Seal a state record for the state cookie value.
pub fn seal_state(keys: &CryptoKeys, record: &StateRecord) -> Result<String, StateError> {
    let json = serde_json::to_vec(record).map_err(|_| StateError::Seal(CryptoError::Internal))?;
    crypto::seal(keys, STATE_CONTEXT, &json).map_err(StateError::Seal)
}

/// Open a state cookie value and check it: it must authenticate under `keys`, be a state record
/// made for `state`, not be older than `timeout_secs` at `now` (a non-positive timeout refuses
/// everything older than `now`), and carry `fingerprint` (constant-time comparisons).
pub fn open_state(
    keys: &CryptoKeys,
    cookie_value: &str,
    state: &str,
    now: i64,
    timeout_secs: i64,
    fingerprint: &str,
) -> Result<StateRecord, StateError> {
    let json = crypto::open(keys, STATE_CONTEXT, cookie_value).map_err(StateError::Unopenable)?;
    let record: StateRecord = serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
    if now > record.created_at.saturating_add(timeout_secs.max(0)) {
        return Err(StateError::Expired);
    }
    if !crypto::ct_eq(record.state.as_bytes(), state.as_bytes()) {
        return Err(StateError::StateMismatch);
    }
    if !crypto::ct_eq(record.fingerprint.as_bytes(), fingerprint.as_bytes()) {
        return Err(StateError::FingerprintMismatch);
    }
    Ok(record)
}

/// Open a state cookie value without the age and fingerprint checks, for counting and cleaning
/// the state cookies a browser holds (`OIDCStateMaxNumberOfCookies`). `None` when it does not
/// open.
pub fn peek_state(keys: &CryptoKeys, cookie_value: &str) -> Option<StateRecord> {
    let json = crypto::open(keys, STATE_CONTEXT, cookie_value).ok()?;
    serde_json::from_slice(&json).ok()
}

/// `OIDCStateInputHeaders`: which request headers bind the state to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateInputHeaders {
    /// `User-Agent` and `X-Forwarded-For` (the 2.4.12.3 default).
    #[default]
    Both,
    UserAgent,
    XForwardedFor,
    None,
}

impl StateInputHeaders {
    /// Parse a directive value (`both`, `user-agent`, `x-forwarded-for`, `none`; ASCII case
    /// does not matter, as in the C module).
    pub fn parse(value: &str) -> Option<StateInputHeaders> {
        let v = value.trim();
        [
            ("both", StateInputHeaders::Both),
            ("user-agent", StateInputHeaders::UserAgent),
            ("x-forwarded-for", StateInputHeaders::XForwardedFor),
            ("none", StateInputHeaders::None),
        ]
        .into_iter()
        .find(|(name, _)| v.eq_ignore_ascii_case(name))
        .map(|(_, m)| m)
    }

    fn user_agent(self) -> bool {
        matches!(self, StateInputHeaders::Both | StateInputHeaders::UserAgent)
    }

    fn x_forwarded_for(self) -> bool {
        matches!(
            self,
            StateInputHeaders::Both | StateInputHeaders::XForwardedFor
        )
    }
}

const FINGERPRINT_LABEL: &[u8] = b"mod_auth_openidc_rs state fingerprint v1\0";

fn hash_field(h: &mut sha2::Sha256, value: Option<&str>) {
    match value {
        None => h.update([0u8]),
        Some(v) => {
            h.update([1u8]);
            h.update((v.len() as u64).to_be_bytes());
            h.update(v.as_bytes());
        }
    }
}

/// base64url(SHA-256) of the headers `mode` selects: the left-most `X-Forwarded-For` entry (as
/// the C module: the client as the first proxy saw it) and the whole `User-Agent`. Each field is
/// length-prefixed and an absent header differs from an empty one; unselected headers hash as
/// absent, so `none` gives one constant value.
pub fn fingerprint(
    user_agent: Option<&str>,
    x_forwarded_for: Option<&str>,
    mode: StateInputHeaders,
) -> String {
    let xff = x_forwarded_for.filter(|_| mode.x_forwarded_for()).map(|v| {
        v.split([',', ' '])
            .find(|s| !s.is_empty())
            .unwrap_or_default()
    });
    let ua = user_agent.filter(|_| mode.user_agent());
    let mut h = sha2::Sha256::new();
    h.update(FINGERPRINT_LABEL);
    hash_field(&mut h, xff);
    hash_field(&mut h, ua);
    crate::jose::b64url_encode(&h.finalize())
}

/// The parameters of one authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthRequest {
    pub client_id: String,
    /// Space-separated scopes, e.g. `openid email profile`.
    pub scope: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    /// `(code_challenge, code_challenge_method)` when PKCE is on, e.g. `(pkce_s256(v), "S256")`.
    pub pkce_challenge: Option<(String, &'static str)>,
    /// Extra parameters (decoded names and values) from `OIDCAuthRequestParams`, in order.
    pub extra: Vec<(String, String)>,
}

/// Parameters the module sets itself; `OIDCAuthRequestParams` cannot replace them.
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "scope",
    "client_id",
    "state",
    "redirect_uri",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

/// The authorization request parameters in the reference's order (see [`authorization_url`]),
/// unencoded: for the query of a GET, or the fields of an auto-submitted POST form.
pub fn authorization_params(p: &AuthRequest) -> Vec<(&str, &str)> {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("scope", &p.scope),
        ("client_id", &p.client_id),
        ("state", &p.state),
        ("redirect_uri", &p.redirect_uri),
        ("nonce", &p.nonce),
    ];
    if let Some((challenge, method)) = &p.pkce_challenge {
        params.push(("code_challenge", challenge));
        params.push(("code_challenge_method", method));
    }
    for (k, v) in &p.extra {
        if !k.is_empty() && !RESERVED_PARAMS.contains(&k.as_str()) {
            params.push((k, v));
        }
    }
    params
}

/// The authorization request URL, parameters in the reference's order:
/// `response_type=code&scope=..&client_id=..&state=..&redirect_uri=..&nonce=..`, then
/// `code_challenge`/`code_challenge_method` with PKCE, then the extra parameters (skipping empty
/// names and any of the parameters above). Every value is percent-encoded (space as `%20`).
/// Joined to `endpoint` with `?`, or with `&` when it already has a query.
pub fn authorization_url(endpoint: &str, p: &AuthRequest) -> String {
    append_query(endpoint, &form_encode(&authorization_params(p)))
}

/// Parse an `OIDCAuthRequestParams` value (`k=v&k2=v2`, percent-encoded as in a query string)
/// into decoded pairs. A value of `#` means "copy this parameter from the current request" (as
/// the C module): `request_param` is asked for it and the pair is dropped when it has none.
pub fn parse_auth_request_params(
    value: &str,
    request_param: impl Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for item in value.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let k = percent_decode(k).into_owned();
        let v = percent_decode(v).into_owned();
        if v == "#" {
            if let Some(from_request) = request_param(&k) {
                out.push((k, from_request));
            }
        } else {
            out.push((k, v));
        }
    }
    out
}

/// Whether each comma-separated element of an `Accept` value names one of the media ranges a
/// browser navigation accepts (`text/html`, `application/xhtml+xml`, `*/*`), parameters after
/// `;` ignored.
fn accept_allows_html(accept: &str) -> bool {
    accept.split(',').any(|elem| {
        let media = elem.split(';').next().unwrap_or_default().trim();
        ["text/html", "application/xhtml+xml", "*/*"]
            .iter()
            .any(|m| media.eq_ignore_ascii_case(m))
    })
}

/// Whether a request on an `openid-connect` location can complete a login round trip (→ 302 to
/// the provider) or is a script/API call (→ 401, no state cookie). As the C module's
/// `oidc_is_auth_capable_request`; `headers` looks a request header up by name
/// (case-insensitively, as httpd's table):
/// * `X-Requested-With: XMLHttpRequest` → false;
/// * `Sec-Fetch-Mode` present and not `navigate` (`cors`, `no-cors`, ...) → false;
/// * `Sec-Fetch-Dest` present and not `document` (`empty`, `iframe`, ...) → false;
/// * `Accept` present without `text/html`, `application/xhtml+xml` or `*/*` → false
///   (so `application/json` alone is false even with `Sec-Fetch-Mode: navigate`);
/// * otherwise true, including a request with no `Accept` header at all (COMPAT: "no special
///   headers" → 302; the C source would answer 401 there).
pub fn is_browser_navigation(headers: impl Fn(&str) -> Option<String>) -> bool {
    let is = |name: &str, value: &str| {
        headers(name).is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    };
    let present = |name: &str| headers(name).is_some();
    if is("X-Requested-With", "XMLHttpRequest") {
        return false;
    }
    if present("Sec-Fetch-Mode") && !is("Sec-Fetch-Mode", "navigate") {
        return false;
    }
    if present("Sec-Fetch-Dest") && !is("Sec-Fetch-Dest", "document") {
        return false;
    }
    match headers("Accept") {
        Some(accept) => accept_allows_html(&accept),
        None => true,
    }
}

/// The name of the state cookie for `state`: `<prefix><state>` (default prefix
/// [`DEFAULT_STATE_COOKIE_PREFIX`]).
pub fn state_cookie_name(prefix: &str, state: &str) -> String {
    format!("{prefix}{state}")
}

/// A `Set-Cookie` value for the state cookie: `name=value; Path=/; HttpOnly`, then `; Secure`
/// when the request came over https, then `; SameSite=<v>` when configured (not `Off`).
pub fn state_cookie(name: &str, value: &str, secure: bool, same_site: Option<&str>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(s) = same_site {
        c.push_str("; SameSite=");
        c.push_str(s);
    }
    c
}

/// A `Set-Cookie` value that deletes cookie `name` on `path`.
pub fn clear_cookie(name: &str, path: &str) -> String {
    clear_cookie_in(name, path, None)
}

/// A `Set-Cookie` value that deletes cookie `name` on `path` of `domain` (`OIDCCookieDomain`).
pub fn clear_cookie_in(name: &str, path: &str, domain: Option<&str>) -> String {
    let domain = domain.map(|d| format!("; Domain={d}")).unwrap_or_default();
    format!("{name}=; Path={path}{domain}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly")
}

#[cfg(test)]
mod tests;
