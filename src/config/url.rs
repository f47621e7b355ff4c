//! The URL checks of the directive parsers: enough of RFC 3986 to tell an absolute http(s) URL
//! with a host from anything else, the way `apr_uri_parse` + the C module's checks do.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The parts of an absolute URL that the configuration checks look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// The scheme in lower case (`http` or `https` after [`parse_http_url`]).
    pub scheme: String,
    /// The host as written, IPv6 literals without their brackets.
    pub host: &'a str,
    pub port: Option<u16>,
}

/// Parses an absolute `http://` or `https://` URL with a non-empty host.
/// The error is a short sentence without the directive name.
pub fn parse_http_url(url: &str) -> Result<UrlParts<'_>, String> {
    if url.is_empty() {
        return Err("the URL is empty".to_string());
    }
    if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("\"{url}\" contains a forbidden character ({c:?})"));
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(format!(
            "\"{url}\" cannot be parsed as a URL (no scheme set)"
        ));
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.');
    if !scheme_ok {
        return Err(format!(
            "\"{url}\" cannot be parsed as a URL (no scheme set)"
        ));
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "\"{url}\" must be an \"https\" or \"http\" URL (scheme is \"{scheme}\")"
        ));
    }
    let Some(after) = rest.strip_prefix("//") else {
        return Err(format!("\"{url}\" has no host name (check your slashes)"));
    };
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = after.get(..authority_end).unwrap_or("");
    // userinfo@host:port: the host part follows the last '@'
    let hostport = match authority.rfind('@') {
        Some(i) => authority.get(i + 1..).unwrap_or(""),
        None => authority,
    };
    let (host, port) = split_host_port(hostport)
        .map_err(|e| format!("\"{url}\" has an invalid authority: {e}"))?;
    if host.is_empty() {
        return Err(format!("\"{url}\" has no host name (check your slashes)"));
    }
    Ok(UrlParts { scheme, host, port })
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port_str) = if let Some(stripped) = hostport.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            return Err("unterminated IPv6 address".to_string());
        };
        let host = stripped.get(..close).unwrap_or("");
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!("\"{host}\" is not an IPv6 address"));
        }
        let tail = stripped.get(close + 1..).unwrap_or("");
        match tail.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if tail.is_empty() => (host, None),
            None => return Err("junk after the IPv6 address".to_string()),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port_str {
        None | Some("") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(format!("\"{p}\" is not a port number")),
        },
    };
    Ok((host, port))
}

/// Whether `host` names this machine: `localhost`, an address in 127.0.0.0/8, or `::1`
/// (also as an IPv4-mapped `::ffff:127.x.y.z`).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4: Ipv4Addr| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// An https URL, or an http URL to a loopback host (for local tests).
pub fn check_https_or_loopback(url: &str) -> Result<(), String> {
    let parts = parse_http_url(url)?;
    if parts.scheme == "https" || is_loopback_host(parts.host) {
        Ok(())
    } else {
        Err(format!(
            "\"{url}\" must be an https URL (plain http is allowed only to loopback hosts: 127.0.0.0/8, ::1, localhost)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_urls() {
        let p = parse_http_url("https://idp.example.com/jwks").unwrap();
        assert_eq!(
            (p.scheme.as_str(), p.host, p.port),
            ("https", "idp.example.com", None)
        );
        let p = parse_http_url("HTTP://u:p@127.0.0.1:8080?x").unwrap();
        assert_eq!(
            (p.scheme.as_str(), p.host, p.port),
            ("http", "127.0.0.1", Some(8080))
        );
        let p = parse_http_url("http://[::1]:9/x").unwrap();
        assert_eq!((p.host, p.port), ("::1", Some(9)));
    }

    #[test]
    fn rejects_bad_urls() {
        for (url, want) in [
            ("", "empty"),
            ("idp.example.com/jwks", "no scheme"),
            ("/jwks", "no scheme"),
            ("ftp://x/", "scheme is \"ftp\""),
            ("https:/x/", "no host name"),
            ("https:///x", "no host name"),
            ("https://:443/x", "no host name"),
            ("https://x:99999/", "not a port number"),
            ("https://x:-1/", "not a port number"),
            ("https://[::1/", "unterminated"),
            ("https://[zz]/", "not an IPv6 address"),
            ("https://a b/", "forbidden character"),
        ] {
            let err = parse_http_url(url).unwrap_err();
            assert!(err.contains(want), "{url}: {err}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "localhost.example.com",
            "128.0.0.1",
            "10.0.0.1",
            "::2",
            "example.com",
            "0.0.0.0",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn https_or_loopback() {
        assert!(check_https_or_loopback("https://idp.example.com/jwk").is_ok());
        assert!(check_https_or_loopback("http://127.0.0.1:8080/jwk").is_ok());
        assert!(check_https_or_loopback("http://localhost/jwk").is_ok());
        assert!(check_https_or_loopback("http://[::1]:80/jwk").is_ok());
        let err = check_https_or_loopback("http://idp.example.com/jwk").unwrap_err();
        assert_eq!(
            err,
            "\"http://idp.example.com/jwk\" must be an https URL (plain http is allowed only to loopback hosts: 127.0.0.0/8, ::1, localhost)"
        );
    }
}
