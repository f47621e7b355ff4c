//! Claims to backend headers and environment variables, spoofed-header scrubbing and
//! `REMOTE_USER`, with the semantics of mod_auth_openidc 2.4.12.3 (`oidc_util_set_app_infos`,
//! `oidc_util_set_app_info`, `oidc_normalize_header_name`, `oidc_scrub_headers`,
//! `oidc_get_remote_user`) and the improvements listed in COMPAT.md.
//!
//! # Names
//! Header and environment variable have the same name: the prefix as configured, then the claim
//! name with every byte that may not appear in an HTTP token (controls, DEL, non-ASCII bytes,
//! and `()<>@,;:\"/[]?={}`, space, tab) replaced by `-`, one `-` per byte.
//!
//! # Values
//! * string: as is; `true`/`false`: `1`/`0`; integer: decimal; float: C `%f` (`1.500000`);
//! * `null`: nothing is set;
//! * object: JSON as jansson's `json_dumps(v, 0)` writes it: `{"a": 1, "b": [1, 2]}` (a space
//!   after `:` and `,`, non-ASCII raw, `\u001F`-style escapes in upper case, nested floats in
//!   `%.17g` form with `.0` added when needed and the exponent without `+` or leading zeros);
//! * array: the elements joined with the delimiter. As in C, while the text so far is empty or
//!   only whitespace the next element replaces it instead of being appended (so `["", "a"]` gives
//!   `a`). **Improve**: every element renders (C dropped all but strings and booleans): numbers
//!   as above, objects and arrays as JSON; `null` elements are skipped. `[]` gives an empty value.
//!
//! **Improve**: after rendering, every ASCII control byte (0x00–0x1F, 0x7F) of the value becomes a
//! space (C turned only LF into a space). With `base64url` encoding the raw value is encoded
//! instead, as the encoding already makes it safe.
//!
//! # Setting
//! [`ClaimOutput`] keeps `apr_table_set` semantics: setting a name that is already there
//! (compared case-insensitively) replaces the value in place and keeps the first spelling, so
//! each name appears once. The C module renders the userinfo claims, then the ID token claims
//! into the same table, so calling [`render_claims`] twice on one output reproduces it. Any
//! value set through [`ClaimOutput`] (e.g. `OIDCAuthNHeader` with `REMOTE_USER`) has its ASCII
//! control bytes turned into spaces, so nothing can inject a header line.

use std::fmt::Write as _;
use std::io::Write as _;

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::authz::is_c_space;
use crate::config::values::{ClaimEncoding, PassClaimsAs, RemoteUserClaim};

/// Headers and environment variables for the backend, each name once, in first-set order.
/// Values are bytes: with `latin1` encoding they are ISO-8859-1, not UTF-8.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimOutput {
    pub headers: Vec<(String, Vec<u8>)>,
    pub env: Vec<(String, Vec<u8>)>,
}

impl ClaimOutput {
    pub fn new() -> Self {
        Self::default()
    }

    /// `apr_table_set(headers_in, name, value)`; control bytes in `value` become spaces.
    pub fn set_header(&mut self, name: String, value: Vec<u8>) {
        table_set(&mut self.headers, name, value);
    }

    /// `apr_table_set(subprocess_env, name, value)`; control bytes in `value` become spaces.
    pub fn set_env(&mut self, name: String, value: Vec<u8>) {
        table_set(&mut self.env, name, value);
    }

    /// The value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
    }

    /// The value of an environment variable, name compared case-insensitively.
    pub fn env_var(&self, name: &str) -> Option<&[u8]> {
        self.env
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
    }
}

fn table_set(table: &mut Vec<(String, Vec<u8>)>, name: String, mut value: Vec<u8>) {
    for b in value.iter_mut() {
        *b = sanitize_byte(*b);
    }
    match table
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(&name))
    {
        Some(entry) => entry.1 = value,
        None => table.push((name, value)),
    }
}

/// Merges `src` into `dst` as the C module's `oidc_util_json_merge` (jansson `json_object_set`):
/// a key already in `dst` gets `src`'s value in place, new keys are appended in `src`'s order.
/// The C module merges the ID token claims into the userinfo claims this way for `Require claim`
/// and for `OIDCRemoteUserClaim`.
pub fn merge_claims(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (k, v) in src {
        dst.insert(k.clone(), v.clone());
    }
}

/// Renders each top-level claim in order as `<prefix><name>` (see the module docs) into `out`,
/// as headers and/or environment variables per `pass`.
///
/// `blacklist`/`whitelist` (`OIDCBlackListedClaims`/`OIDCWhiteListedClaims`; the C module
/// applies them to the claims it stores in the session, so pass `None` for bearer tokens): a
/// blacklisted claim is dropped; with a whitelist only listed claims remain. Names compare
/// exactly.
pub fn render_claims(
    claims: &Map<String, Value>,
    prefix: &str,
    delimiter: &str,
    pass: PassClaimsAs,
    whitelist: Option<&[String]>,
    blacklist: Option<&[String]>,
    out: &mut ClaimOutput,
) {
    if !pass.headers && !pass.environment {
        return;
    }
    let mut buf = Vec::with_capacity(128);
    for (key, value) in claims {
        if blacklist.is_some_and(|b| b.iter().any(|n| n == key)) {
            continue;
        }
        if whitelist.is_some_and(|w| !w.iter().any(|n| n == key)) {
            continue;
        }
        buf.clear();
        if !render_value(value, delimiter, &mut buf) {
            continue;
        }
        emit(out, header_name(prefix, key), &buf, pass);
    }
}

/// Sets one value under `<prefix><normalized key>`, encoded per `pass` (`oidc_util_set_app_info`;
/// e.g. `set_app_info(out, "OIDC_", "access_token", token, pass)`).
pub fn set_app_info(
    out: &mut ClaimOutput,
    prefix: &str,
    key: &str,
    value: &str,
    pass: PassClaimsAs,
) {
    if pass.headers || pass.environment {
        emit(out, header_name(prefix, key), value.as_bytes(), pass);
    }
}

fn emit(out: &mut ClaimOutput, name: String, raw: &[u8], pass: PassClaimsAs) {
    let value = encode_value(raw, pass.encoding);
    match (pass.headers, pass.environment) {
        (true, true) => {
            out.set_env(name.clone(), value.clone());
            out.set_header(name, value);
        }
        (true, false) => out.set_header(name, value),
        (false, true) => out.set_env(name, value),
        (false, false) => {}
    }
}

/// Applies `OIDCPassClaimsAs`'s encoding to a rendered (UTF-8) value; control bytes become spaces
/// unless the value is base64url-encoded.
pub fn encode_value(raw: &[u8], encoding: ClaimEncoding) -> Vec<u8> {
    match encoding {
        ClaimEncoding::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(raw)
            .into_bytes(),
        ClaimEncoding::None => raw.iter().map(|&b| sanitize_byte(b)).collect(),
        ClaimEncoding::Latin1 => {
            let mut v = Vec::with_capacity(raw.len());
            for c in String::from_utf8_lossy(raw).chars() {
                let cp = u32::from(c);
                v.push(match u8::try_from(cp) {
                    Ok(b) => sanitize_byte(b),
                    Err(_) => b'?',
                });
            }
            v
        }
    }
}

fn sanitize_byte(b: u8) -> u8 {
    if b < 0x20 || b == 0x7f { b' ' } else { b }
}

/// `<prefix>` + the claim name with bytes invalid in an HTTP token replaced by `-`
/// (`oidc_normalize_header_name`). The prefix is used as configured.
pub fn header_name(prefix: &str, key: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + key.len());
    name.push_str(prefix);
    for &b in key.as_bytes() {
        let bad = !(32..127).contains(&b) || b"()<>@,;:\\\"/[]?={} \t".contains(&b);
        name.push(if bad { '-' } else { char::from(b) });
    }
    name
}

/// Renders one claim value, appending to `buf`, which should start empty (an array's elements
/// join onto what is already there). See the module docs; no sanitizing or encoding yet.
/// Returns false when nothing must be set (`null`).
pub fn render_value(value: &Value, delimiter: &str, buf: &mut Vec<u8>) -> bool {
    match value {
        Value::Null => false,
        Value::Array(items) => {
            for item in items {
                if item.is_null() {
                    continue;
                }
                if buf.iter().all(|&b| is_c_space(b)) {
                    buf.clear();
                } else {
                    buf.extend_from_slice(delimiter.as_bytes());
                }
                render_scalar_or_json(item, buf);
            }
            true
        }
        other => {
            render_scalar_or_json(other, buf);
            true
        }
    }
}

fn render_scalar_or_json(value: &Value, buf: &mut Vec<u8>) {
    match value {
        Value::Null => {}
        Value::String(s) => buf.extend_from_slice(s.as_bytes()),
        Value::Bool(b) => buf.push(if *b { b'1' } else { b'0' }),
        Value::Number(n) => write_number(n, buf, false),
        Value::Array(_) | Value::Object(_) => write_jansson(value, buf),
    }
}

/// Integers in decimal; floats as C `%f` (top level) or jansson's `%.17g` form (inside JSON).
fn write_number(n: &Number, buf: &mut Vec<u8>, in_json: bool) {
    if let Some(i) = n.as_i64() {
        let _ = write!(buf, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(buf, "{u}");
    } else if let Some(f) = n.as_f64() {
        if in_json {
            write_jansson_real(f, buf);
        } else {
            write_c_f(f, buf);
        }
    }
}

/// C `printf("%f", f)`.
fn write_c_f(f: f64, buf: &mut Vec<u8>) {
    if f.is_nan() {
        buf.extend_from_slice(if f.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
    } else if f.is_infinite() {
        buf.extend_from_slice(if f < 0.0 { b"-inf" } else { b"inf" });
    } else {
        let _ = write!(buf, "{f:.6}");
    }
}

/// jansson's real format: `%.17g`, then `.0` appended when there is neither `.` nor `e`, and the
/// exponent written without `+` and without leading zeros.
fn write_jansson_real(f: f64, buf: &mut Vec<u8>) {
    const P: i32 = 17;
    if !f.is_finite() {
        // jansson refuses to encode these; JSON input cannot hold them anyway.
        buf.extend_from_slice(b"null");
        return;
    }
    if f == 0.0 {
        buf.extend_from_slice(if f.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    // Rounded to P significant digits, in e-style: "d.dddde[-]X".
    let mut e_style = String::with_capacity(32);
    let _ = write!(e_style, "{:.*e}", (P - 1) as usize, f);
    let Some((mantissa, exp)) = e_style.split_once('e') else {
        return;
    };
    let x: i32 = exp.parse().unwrap_or(0);
    let mut text = String::with_capacity(32);
    if !(-4..P).contains(&x) {
        text.push_str(strip_fraction_zeros(mantissa));
        text.push('e');
        let _ = write!(text, "{x}");
    } else {
        let decimals = (P - 1 - x).max(0) as usize;
        let mut fixed = String::with_capacity(32);
        let _ = write!(fixed, "{f:.decimals$}");
        text.push_str(strip_fraction_zeros(&fixed));
    }
    if !text.contains('.') && !text.contains('e') {
        text.push_str(".0");
    }
    buf.extend_from_slice(text.as_bytes());
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `json_dumps(value, 0)` as jansson 2.14 writes it.
fn write_jansson(value: &Value, buf: &mut Vec<u8>) {
    match value {
        Value::Null => buf.extend_from_slice(b"null"),
        Value::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => write_number(n, buf, true),
        Value::String(s) => write_jansson_string(s, buf),
        Value::Array(items) => {
            buf.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    buf.extend_from_slice(b", ");
                }
                write_jansson(item, buf);
            }
            buf.push(b']');
        }
        Value::Object(map) => {
            buf.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    buf.extend_from_slice(b", ");
                }
                write_jansson_string(k, buf);
                buf.extend_from_slice(b": ");
                write_jansson(v, buf);
            }
            buf.push(b'}');
        }
    }
}

fn write_jansson_string(s: &str, buf: &mut Vec<u8>) {
    buf.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            0x08 => buf.extend_from_slice(b"\\b"),
            0x0c => buf.extend_from_slice(b"\\f"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            0..0x20 => {
                let _ = write!(buf, "\\u{:04X}", b);
            }
            _ => buf.push(b),
        }
    }
    buf.push(b'"');
}

/// The incoming headers of `req` that [`must_scrub`] removes (spoofed identity headers), in
/// arrival order.
pub fn spoofed_headers(
    req: &dyn crate::request::RequestView,
    prefix: &str,
    authn_header: Option<&str>,
    whitelist: Option<&[String]>,
) -> Vec<String> {
    let mut remove = Vec::new();
    req.visit_header_names(&mut |name| {
        if must_scrub(name, prefix, authn_header, whitelist) {
            remove.push(name.to_string());
        }
    });
    remove
}

/// Whether an incoming request header must be removed before the module sets its own
/// (`oidc_scrub_headers`). Names are compared in environment-variable form (ASCII letters upper
/// case, every other non-alphanumeric byte `_`), so `oidc-x`, `OIDC_x` and `Oidc.x` are alike.
/// Removed are headers
/// * starting with `OIDC_` in that form (the fixed prefix of `OIDC_access_token` etc.);
/// * starting with the claim prefix in that form, unless the prefix is empty;
/// * equal to `OIDCAuthNHeader` (**improve**: C compared this one byte for byte);
/// * with an empty prefix, equal to a whitelisted claim name (**improve**: C compared exactly).
pub fn must_scrub(
    name: &str,
    prefix: &str,
    authn_header: Option<&str>,
    whitelist: Option<&[String]>,
) -> bool {
    env_prefix_eq(name, "OIDC_")
        || (!prefix.is_empty() && env_prefix_eq(name, prefix))
        || authn_header.is_some_and(|h| env_eq(name, h))
        || (prefix.is_empty() && whitelist.is_some_and(|w| w.iter().any(|c| env_eq(name, c))))
}

/// The incoming header names that [`must_scrub`] removes, in the given order.
pub fn headers_to_scrub<S: AsRef<str>>(
    incoming: &[S],
    prefix: &str,
    authn_header: Option<&str>,
    whitelist: Option<&[String]>,
) -> Vec<String> {
    incoming
        .iter()
        .map(AsRef::as_ref)
        .filter(|n| must_scrub(n, prefix, authn_header, whitelist))
        .map(str::to_owned)
        .collect()
}

fn env_byte(b: u8) -> u8 {
    if b.is_ascii_alphanumeric() {
        b.to_ascii_uppercase()
    } else {
        b'_'
    }
}

/// `oidc_strnenvcmp(name, prefix, strlen(prefix)) == 0`.
fn env_prefix_eq(name: &str, prefix: &str) -> bool {
    let (n, p) = (name.as_bytes(), prefix.as_bytes());
    n.len() >= p.len() && n.iter().zip(p).all(|(&a, &b)| env_byte(a) == env_byte(b))
}

/// `oidc_strnenvcmp(a, b, -1) == 0`.
fn env_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && env_prefix_eq(a, b)
}

/// `REMOTE_USER` from the claims (`OIDCRemoteUserClaim` / `OIDCOAuthRemoteUserClaim`,
/// `oidc_get_remote_user` + `oidc_set_request_user`). `None` → 401 "Could not set remote user".
///
/// * The claim must be a string (numbers and everything else give `None`).
/// * With a regex and no replacement: capture group 1 of the first match; `None` when there is
///   no match or group 1 does not exist or did not take part.
/// * With a replacement: every match is replaced (PCRE2 `pcre2_substitute` with
///   `SUBSTITUTE_GLOBAL`): `$n`/`${n}`/`$name`/`${name}` insert a group, `$$` a `$`; `None` when
///   nothing matched, or the replacement names a group that does not exist or did not take part,
///   or has a bad `$`. (C also failed for inputs of 254+ bytes or outputs of 765+ bytes; we don't.)
/// * `issuer: Some(iss)` is RP mode: with `append_issuer` (`sub@`) the result gets `@` + the
///   issuer, whose first 8 bytes are dropped when it contains `https://`. `issuer: None` is OAuth
///   mode, where C did no `@` processing: a trailing `@` is part of the claim name looked up.
pub fn remote_user(
    claims: &Map<String, Value>,
    spec: &RemoteUserClaim,
    issuer: Option<&str>,
) -> Option<String> {
    let value = if spec.append_issuer && issuer.is_none() {
        claims.get(&format!("{}@", spec.claim))
    } else {
        claims.get(&spec.claim)
    };
    let Some(Value::String(input)) = value else {
        return None;
    };

    let mut user = match (&spec.regex, &spec.replacement) {
        (None, _) => input.clone(),
        (Some(re), None) => re.captures(input)?.get(1)?.as_str().to_owned(),
        (Some(re), Some(rep)) => substitute_all(re, input, rep)?,
    };

    if spec.append_issuer
        && let Some(iss) = issuer
    {
        let host = if iss.contains("https://") {
            iss.get(8..).unwrap_or(iss)
        } else {
            iss
        };
        user.push('@');
        user.push_str(host);
    }
    Some(user)
}

/// Global substitution with PCRE2 replacement syntax; `None` when nothing matched or the
/// replacement is invalid for this regex/match.
fn substitute_all(re: &regex_lite::Regex, input: &str, rep: &str) -> Option<String> {
    let mut out = String::with_capacity(input.len() + rep.len());
    let mut last = 0;
    let mut count = 0usize;
    for caps in re.captures_iter(input) {
        let m = caps.get(0)?;
        out.push_str(input.get(last..m.start())?);
        expand_pcre2(re, &caps, rep, &mut out)?;
        last = m.end();
        count += 1;
    }
    if count == 0 {
        return None;
    }
    out.push_str(input.get(last..)?);
    Some(out)
}

fn expand_pcre2(
    re: &regex_lite::Regex,
    caps: &regex_lite::Captures<'_>,
    rep: &str,
    out: &mut String,
) -> Option<()> {
    let mut rest = rep;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (reference, tail) = if let Some(braced) = after.strip_prefix('{') {
            let close = braced.find('}')?;
            (&braced[..close], &braced[close + 1..])
        } else if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        } else {
            let n = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let reference = &after[..n];
            // A leading digit run is a group number; what follows is literal text.
            let digits = reference.bytes().take_while(u8::is_ascii_digit).count();
            let take = if digits > 0 { digits } else { n };
            (&after[..take], &after[take..])
        };
        if reference.is_empty() {
            return None;
        }
        let group = if reference.bytes().all(|b| b.is_ascii_digit()) {
            let idx: usize = reference.parse().ok()?;
            if idx >= re.captures_len() {
                return None;
            }
            caps.get(idx)?
        } else {
            if !reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return None;
            }
            re.capture_names().flatten().find(|n| *n == reference)?;
            caps.name(reference)?
        };
        out.push_str(group.as_str());
        rest = tail;
    }
    out.push_str(rest);
    Some(())
}

#[cfg(test)]
mod tests;
