//! The URL the browser sees (scheme, host and port, through trusted forwarding headers), the
//! absolute redirect URI, and the open-redirect check for logout targets.

use crate::config::url::parse_http_url;
use crate::request::RequestView;

use super::settings::{RpSettings, TrustedForwarded};

/// Scheme, host (IPv6 literals in brackets) and port of the request as the browser sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// `scheme://host[:port]`, the port left out when it is the scheme's default.
    pub fn base(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let default = if self.https { 443 } else { 80 };
        if self.port == default || self.port == 0 {
            format!("{scheme}://{}", self.host)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The first value of a comma-separated header, trimmed.
fn first_value(v: &str) -> &str {
    v.split(',').next().unwrap_or("").trim()
}

/// `proto=` / `host=` of the first element of an RFC 7239 `Forwarded` header.
fn forwarded_param<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    let first = header.split(',').next()?;
    first.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// Host names and ports come from headers: keep only what may appear in an authority.
fn clean_host(h: &str) -> Option<&str> {
    let ok = !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b));
    ok.then_some(h)
}

/// Splits `host[:port]` (IPv6 literal in brackets).
fn split_host_port(hp: &str) -> (&str, Option<u16>) {
    if hp.starts_with('[') {
        if let Some(end) = hp.find(']') {
            let port = hp.get(end + 1..).and_then(|r| r.strip_prefix(':'));
            return (&hp[..=end], port.and_then(|p| p.parse().ok()));
        }
        return (hp, None);
    }
    match hp.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (hp, None),
    }
}

/// The origin of the request: the connection's scheme, `hostname()` and `port()`, replaced by
/// the trusted forwarding headers when present (as the C module's `oidc_get_current_url_*`).
pub fn origin(req: &dyn RequestView, trust: TrustedForwarded) -> Origin {
    let mut https = req.is_https();
    let mut host = req.hostname().to_string();
    if host.contains(':') && !host.starts_with('[') {
        host = format!("[{host}]");
    }
    let mut port = req.port();
    let mut port_from_host = None;

    if trust.forwarded
        && let Some(f) = req.header("Forwarded")
    {
        if let Some(p) = forwarded_param(f, "proto") {
            https = p.eq_ignore_ascii_case("https");
        }
        if let Some(h) = forwarded_param(f, "host").and_then(clean_host) {
            let (h, p) = split_host_port(h);
            host = h.to_string();
            port_from_host = Some(p);
        }
    }
    if trust.proto
        && let Some(p) = req.header("X-Forwarded-Proto")
    {
        https = first_value(p).eq_ignore_ascii_case("https");
    }
    if trust.host
        && let Some(h) = req
            .header("X-Forwarded-Host")
            .map(first_value)
            .and_then(clean_host)
    {
        let (h, p) = split_host_port(h);
        host = h.to_string();
        port_from_host = Some(p);
    }
    let forwarded_port = if trust.port {
        req.header("X-Forwarded-Port")
            .and_then(|p| first_value(p).parse::<u16>().ok())
    } else {
        None
    };
    port = match (forwarded_port, port_from_host) {
        (Some(p), _) => p,
        // A forwarded host without a port: the scheme's default.
        (None, Some(p)) => p.unwrap_or(if https { 443 } else { 80 }),
        (None, None) if trust.proto || trust.forwarded => {
            // The proxy terminates TLS: the local port says nothing about the browser's.
            if https != req.is_https() {
                if https { 443 } else { 80 }
            } else {
                port
            }
        }
        (None, None) => port,
    };
    Origin { https, host, port }
}

/// The absolute URL the browser asked for: origin + `unparsed_uri` (kept byte for byte, so
/// deep links with queries and percent-encoding come back exactly).
pub fn current_url(req: &dyn RequestView, origin: &Origin) -> String {
    let uri = req.unparsed_uri();
    if uri.starts_with('/') {
        format!("{}{uri}", origin.base())
    } else {
        format!("{}/{uri}", origin.base())
    }
}

/// `OIDCRedirectURI` made absolute for this request.
pub fn redirect_uri(settings: &RpSettings, origin: &Origin) -> String {
    if settings.redirect_uri.starts_with('/') {
        format!("{}{}", origin.base(), settings.redirect_uri)
    } else {
        settings.redirect_uri.clone()
    }
}

/// The path of `OIDCRedirectURI`, to compare with the request path.
pub fn redirect_uri_path(redirect_uri: &str) -> &str {
    if redirect_uri.starts_with('/') {
        return redirect_uri.split(['?', '#']).next().unwrap_or("/");
    }
    let after_scheme = match redirect_uri.find("://") {
        Some(i) => &redirect_uri[i + 3..],
        None => redirect_uri,
    };
    match after_scheme.find('/') {
        Some(i) => after_scheme[i..].split(['?', '#']).next().unwrap_or("/"),
        None => "/",
    }
}

/// The host of an absolute URL (brackets stripped from IPv6 literals), lower case.
fn url_host(url: &str) -> Option<String> {
    parse_http_url(url)
        .ok()
        .map(|p| p.host.to_ascii_lowercase())
}

fn bare_host(h: &str) -> String {
    h.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// Why a logout target was refused: a short title and a description for the error page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRefused {
    pub error: &'static str,
    pub description: String,
}

/// Sequences that browsers or later URL parsers may turn into another host or a script
/// (the C module's list in `oidc_validate_redirect_url`, compared case-insensitively).
const SUSPICIOUS: &[&str] = &[
    "/%09",
    "/%2f",
    "/\t",
    "/%68",
    "/http:",
    "/https:",
    "/javascript:",
    "/〱",
    "/〵",
    "/ゝ",
    "/ー",
    "/ｰ",
    "/<",
    "%01javascript:",
    "/%5c",
    "/\\",
];

/// Check a post-logout target against open redirects: a relative URL (`/path`, not `//` or
/// `/\`) is fine; an absolute http(s) URL must be on the host of the request or of the
/// redirect URI, or match one of `OIDCRedirectURLsAllowed`. Control characters and the
/// suspicious sequences above are refused everywhere.
pub fn validate_logout_url(
    url: &str,
    settings: &RpSettings,
    origin: &Origin,
    redirect_uri: &str,
) -> Result<(), UrlRefused> {
    if url.chars().any(char::is_control) {
        return Err(UrlRefused {
            error: "Invalid URL",
            description: "URL value contains illegal control character(s)".into(),
        });
    }
    // As the C module: backslashes count as slashes.
    let normalized = url.replace('\\', "/");
    let lower = url.to_lowercase();
    if SUSPICIOUS.iter().any(|s| lower.contains(s)) {
        return Err(UrlRefused {
            error: "Invalid URL",
            description: format!("URL value \"{url}\" contains illegal character(s)"),
        });
    }
    if settings
        .redirect_urls_allowed
        .iter()
        .any(|re| re.is_match(&normalized))
    {
        return Ok(());
    }
    if normalized.starts_with('/') {
        if normalized.starts_with("//") {
            return Err(UrlRefused {
                error: "Malformed URL",
                description: format!("No hostname was parsed and starting with '//': {url}"),
            });
        }
        return Ok(());
    }
    let Some(host) = url_host(&normalized) else {
        return Err(UrlRefused {
            error: "Malformed URL",
            description: format!(
                "No hostname was parsed and it does not seem to be relative, i.e starting with '/': {url}"
            ),
        });
    };
    let current = bare_host(&origin.host);
    let redirect_host = url_host(redirect_uri);
    if host == current || redirect_host.as_deref() == Some(host.as_str()) {
        return Ok(());
    }
    Err(UrlRefused {
        error: "Invalid Request",
        description: format!(
            "URL value \"{url}\" does not match the hostname of the current request \"{}\"",
            origin.host
        ),
    })
}
