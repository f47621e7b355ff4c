//! Bearer token extraction (`OIDCOAuthAcceptTokenAs`), with the semantics of mod_auth_openidc
//! 2.4.12.3 `oidc_oauth_get_bearer_token`, plus small form/cookie helpers other modules reuse.
//!
//! Sources are tried in the C module's fixed order, whatever order the directive lists them in:
//! 1. the `Authorization` header (`header` and/or `basic`; `header` is the default when the
//!    list is empty). The header's first word is the scheme, up to the first space. If it equals
//!    `Bearer` (APR natural comparison, case-insensitive) and `header` is accepted, the token is
//!    the rest after any whitespace — even empty (`Authorization: Bearer` gives an empty token,
//!    which then fails validation), and even with inner spaces. Otherwise, if `basic` is
//!    accepted, the rest is base64-decoded leniently (standard alphabet, decoding stops at the
//!    first other character, as `apr_base64_decode`), cut at a NUL, and when it holds a `:` the
//!    token is what follows the first `:`. As in C the scheme word is not checked for `Basic`.
//! 2. `post`: only for method `POST`, the `access_token` field of the
//!    `application/x-www-form-urlencoded` body ([`crate::request::RequestView::form_body`]).
//! 3. `query`: the `access_token` query parameter.
//! 4. `cookie`: the value of the named cookie.
//!
//! The first source that yields a value wins, even an empty value. For `post` and `query` the
//! field name is compared case-insensitively after decoding and the last occurrence wins (C puts
//! the fields in an `apr_table` with `apr_table_set`); a value's leading `=` signs are dropped
//! (`ap_getword`). Tokens are returned as found: rejecting odd characters is the validator's job,
//! as in C.

use std::borrow::Cow;

use crate::config::values::TokenSource;
use crate::request::RequestView;

/// The outcome of [`extract_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted<'a> {
    /// A token (possibly empty or malformed) from one of the accepted sources.
    Found(Cow<'a, str>),
    /// No accepted source had one: answer 401 `invalid_request`.
    NotFound,
}

/// Finds the bearer token of a request in the accepted `sources` (see the module docs).
pub fn extract_token<'a>(req: &'a dyn RequestView, sources: &[TokenSource]) -> Extracted<'a> {
    let accept_header = sources.is_empty() || sources.contains(&TokenSource::Header);
    let accept_basic = sources.contains(&TokenSource::Basic);

    if (accept_header || accept_basic)
        && let Some(line) = req.header("Authorization")
        && let Some(tok) = from_authorization(line, accept_header, accept_basic)
    {
        return Extracted::Found(tok);
    }

    if sources.contains(&TokenSource::Post)
        && req.method() == "POST"
        && let Some(body) = req.form_body()
        && let Some(tok) = c_form_param(body, "access_token")
    {
        return Extracted::Found(Cow::Owned(tok.into_owned()));
    }

    if sources.contains(&TokenSource::Query)
        && let Some(q) = req.query()
        && let Some(tok) = c_form_param(q.as_bytes(), "access_token")
    {
        return Extracted::Found(Cow::Owned(tok.into_owned()));
    }

    for source in sources {
        if let TokenSource::Cookie(name) = source
            && let Some(v) = req.header("Cookie").and_then(|h| cookie_value(h, name))
        {
            return Extracted::Found(Cow::Borrowed(v));
        }
    }

    Extracted::NotFound
}

fn from_authorization(line: &str, accept_header: bool, accept_basic: bool) -> Option<Cow<'_, str>> {
    // ap_getword(line, ' '): the word up to the first space, then skip all following spaces.
    let (scheme, rest) = match line.find(' ') {
        Some(p) => (&line[..p], line[p..].trim_start_matches(' ')),
        None => (line, ""),
    };
    if accept_header && crate::authz::apr_strnat_eq(scheme.as_bytes(), b"Bearer", true) {
        let tok =
            rest.trim_start_matches(|c: char| c.is_ascii() && crate::authz::is_c_space(c as u8));
        return Some(Cow::Borrowed(tok));
    }
    if accept_basic {
        let decoded = apr_base64_decode(rest.as_bytes());
        let decoded = match decoded.iter().position(|&b| b == 0) {
            Some(nul) => &decoded[..nul],
            None => &decoded[..],
        };
        if let Some(colon) = decoded.iter().position(|&b| b == b':') {
            return Some(Cow::Owned(
                String::from_utf8_lossy(&decoded[colon + 1..]).into_owned(),
            ));
        }
    }
    None
}

/// `apr_base64_decode`: decodes the longest prefix of standard-alphabet characters, ignoring a
/// trailing partial group of one character and any non-zero trailing bits.
fn apr_base64_decode(input: &[u8]) -> Vec<u8> {
    fn six(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut n = 0u32;
    for &c in input {
        let Some(v) = six(c) else { break };
        acc = (acc << 6) | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// The value of cookie `name` in a `Cookie` header, or `None`.
///
/// As the C module (`oidc_util_get_cookie`): the header is split on `;`, spaces and tabs before
/// each pair are skipped, the name must match exactly (case-sensitive) and be followed directly
/// by `=`, and the first such pair wins. The value is returned as sent (not unquoted, not
/// decoded), except that trailing spaces and tabs are dropped (RFC 6265; C kept them).
pub fn cookie_value<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let pair = pair.trim_start_matches([' ', '\t']);
        let value = pair.strip_prefix(name)?.strip_prefix('=')?;
        Some(value.trim_end_matches([' ', '\t']))
    })
}

/// Percent-decodes `input` (`%XX` with two hex digits; any other `%` is kept as is). `+` is left
/// alone: use [`form_decode`] for `application/x-www-form-urlencoded` data. Bytes that are not
/// UTF-8 after decoding become U+FFFD. Borrows when there is nothing to decode.
pub fn percent_decode(input: &str) -> Cow<'_, str> {
    match decode_bytes(input.as_bytes(), false) {
        Cow::Borrowed(_) => Cow::Borrowed(input),
        Cow::Owned(v) => Cow::Owned(into_string_lossy(v)),
    }
}

/// Decodes one `application/x-www-form-urlencoded` name or value: `+` is a space, then
/// [`percent_decode`] rules. Borrows when there is nothing to decode and the input is UTF-8.
pub fn form_decode(input: &[u8]) -> Cow<'_, str> {
    match decode_bytes(input, true) {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(v) => Cow::Owned(into_string_lossy(v)),
    }
}

fn into_string_lossy(v: Vec<u8>) -> String {
    match String::from_utf8(v) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn decode_bytes(input: &[u8], plus_as_space: bool) -> Cow<'_, [u8]> {
    if !input
        .iter()
        .any(|&b| b == b'%' || (plus_as_space && b == b'+'))
    {
        return Cow::Borrowed(input);
    }
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%'
            && let Some(h) = input.get(i + 1).copied().and_then(hex)
            && let Some(l) = input.get(i + 2).copied().and_then(hex)
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(if plus_as_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    Cow::Owned(out)
}

/// The decoded pairs of form-encoded data (a query string or a body), in order. Pairs are
/// separated by `&` (empty ones skipped); a pair without `=` has an empty value.
pub fn form_pairs(data: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    data.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (form_decode(&pair[..eq]), form_decode(&pair[eq + 1..])),
            None => (form_decode(pair), Cow::Borrowed("")),
        })
}

/// The value of field `name` in form-encoded `data` (query string or body): names compared
/// exactly after decoding, the last occurrence wins (as the C module's
/// `oidc_util_get_request_parameter`).
pub fn form_param(data: impl AsRef<[u8]>, name: &str) -> Option<String> {
    form_pairs(data.as_ref())
        .filter(|(k, _)| k == name)
        .last()
        .map(|(_, v)| v.into_owned())
}

/// `oidc_util_read_form_encoded_params` + `apr_table_get`: name compared case-insensitively
/// after decoding, last occurrence wins, leading `=` of the value dropped.
fn c_form_param<'a>(data: &'a [u8], name: &str) -> Option<Cow<'a, str>> {
    let mut found = None;
    for pair in data.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => {
                let v = &pair[eq + 1..];
                let skip = v.iter().take_while(|&&b| b == b'=').count();
                (&pair[..eq], &v[skip..])
            }
            None => (pair, &pair[pair.len()..]),
        };
        if form_decode(k).eq_ignore_ascii_case(name) {
            found = Some(v);
        }
    }
    found.map(form_decode)
}

#[cfg(test)]
mod tests;

/// Percent-encodes everything but RFC 3986 unreserved characters (for form bodies and query
/// strings sent to providers).
pub fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod percent_encode_tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_roundtrips() {
        assert_eq!(percent_encode("a b+c/d:é~"), "a%20b%2Bc%2Fd%3A%C3%A9~");
        assert_eq!(percent_decode(&percent_encode("x=1&y=ü")), "x=1&y=ü");
    }
}

/// The form body forwarded to the backend after a token was looked for in it: every field but
/// `access_token` (names compared case-insensitively, as when the token is read), each kept
/// byte for byte in its original order — as the C module, which never hands the token on in
/// the body.
pub fn strip_access_token(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let name = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => &pair[..eq],
            None => pair,
        };
        if form_decode(name).eq_ignore_ascii_case("access_token") {
            continue;
        }
        if !out.is_empty() {
            out.push(b'&');
        }
        out.extend_from_slice(pair);
    }
    out
}

#[cfg(test)]
mod strip_tests {
    use super::*;

    #[test]
    fn strips_every_access_token_field_and_keeps_the_rest_verbatim() {
        assert_eq!(
            strip_access_token(
                b"foo=bar&access_token=abc&baz=q+u%20x&Access_Token=x&%C3%BC=%C3%A9%26%3D"
            ),
            b"foo=bar&baz=q+u%20x&%C3%BC=%C3%A9%26%3D".to_vec()
        );
        assert_eq!(strip_access_token(b"access_token=abc"), b"".to_vec());
        assert_eq!(strip_access_token(b"a=1&&b=2"), b"a=1&b=2".to_vec());
        assert_eq!(
            strip_access_token(b"access%5Ftoken=abc&x=1"),
            b"x=1".to_vec()
        );
    }
}

/// `application/x-www-form-urlencoded` (or query string) form of `pairs`, in order, every name
/// and value percent-encoded by [`percent_encode`].
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encode(k.as_ref()),
                percent_encode(v.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `url` with `query` added: after `?`, or after `&` when `url` already has a query (nothing in
/// between when it already ends with `?` or `&`).
pub fn append_query(url: &str, query: &str) -> String {
    let sep = if !url.contains('?') {
        "?"
    } else if url.ends_with('?') || url.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!("{url}{sep}{query}")
}

/// `OIDCStripCookies` applied to the request's `Cookie` header: its new value (empty: remove
/// the header), or `None` when nothing changes.
pub fn stripped_cookie_header(req: &dyn RequestView, strip: &[String]) -> Option<String> {
    if strip.is_empty() {
        return None;
    }
    strip_cookies(req.header("Cookie")?, strip)
}

/// The `Cookie` header without the cookies named in `strip` (`OIDCStripCookies`), or `None`
/// when none of them is present. Names are compared exactly, as the C module does; the other
/// cookies keep their order and bytes and are joined with `"; "`. An empty result means the
/// header is to be removed.
pub fn strip_cookies(header: &str, strip: &[String]) -> Option<String> {
    let mut kept: Vec<&str> = Vec::new();
    let mut removed = false;
    for part in header.split(';') {
        let part = part.trim_start_matches([' ', '\t']);
        if part.is_empty() {
            continue;
        }
        let name = part.split('=').next().unwrap_or("").trim_end();
        if strip.iter().any(|s| s == name) {
            removed = true;
        } else {
            kept.push(part);
        }
    }
    removed.then(|| kept.join("; "))
}

#[cfg(test)]
mod strip_cookie_tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn removes_named_cookies_and_keeps_the_rest_in_order() {
        let strip = names(&["session", "PA.global"]);
        assert_eq!(
            strip_cookies("a=1; session=x; b=2", &strip).as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(strip_cookies("PA.global=t", &strip).as_deref(), Some(""));
        assert_eq!(strip_cookies("a=1;b=2", &strip), None, "nothing to remove");
        assert_eq!(
            strip_cookies("Session=x; a=1", &strip),
            None,
            "names are case-sensitive"
        );
        assert_eq!(
            strip_cookies("sessionx=1; session=2", &strip).as_deref(),
            Some("sessionx=1")
        );
    }

    #[test]
    fn hostile_headers_do_not_break_it() {
        // CVE-2023-28625: crafted Cookie headers crashed the C module's stripping.
        let strip = names(&["s"]);
        for h in [
            "",
            ";",
            ";;;",
            "=",
            "s",
            "s;",
            "=;s=1",
            " ; s = 1 ;",
            "s=1=2",
            "\t s=1",
        ] {
            let out = strip_cookies(h, &strip);
            if let Some(o) = out {
                assert!(
                    !o.split("; ").any(|p| p.split('=').next() == Some("s")),
                    "{h:?} -> {o:?}"
                );
            }
        }
        assert_eq!(strip_cookies("s", &strip).as_deref(), Some(""));
    }
}
