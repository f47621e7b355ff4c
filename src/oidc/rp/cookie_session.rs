//! Client-cookie sessions (`OIDCSessionType client-cookie`, and the logins that
//! `OIDCSessionCacheFallbackToCookie` moves there): the whole [`SessionRecord`] plus its
//! inactivity deadline, sealed with [`crypto::seal`] under the context
//! `client-session\0<cookie name>` (so neither a server-cache record nor a value set under
//! another cookie name opens), base64url, in the session cookie itself or, when longer than
//! `OIDCSessionCookieChunkSize`, split over `<name>_0 .. <name>_<n-1>` with the count in
//! `<name>_chunks` (the C module's layout).
//!
//! Reading joins the chunks, bounded ([`MAX_CHUNKS`], [`crypto::MAX_SEALED_LEN`]); a missing,
//! empty or tampered chunk is no session. Writing clears what a previous, longer session left
//! behind. The hot per-process cache is keyed by [`hot_key`], a SHA-256 of the cookie name and
//! the joined value, so a repeated request costs one hash, no decryption and no JSON.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::session::SessionRecord;
use crate::crypto::{self, CryptoKeys};

/// The context label client-cookie sessions are sealed under (followed by `\0` and the cookie
/// name).
pub const CLIENT_SESSION_CONTEXT: &[u8] = b"client-session";

/// Suffix of the cookie that holds the number of chunks.
pub const CHUNKS_SUFFIX: &str = "_chunks";

/// Most chunks read or written (browsers keep some 50-180 cookies per site, and Apache takes
/// at most 8190 bytes of `Cookie` header by default anyway).
pub const MAX_CHUNKS: usize = 64;

/// What is sealed: the record and the inactivity deadline (Unix seconds).
#[derive(Serialize)]
struct PayloadRef<'a> {
    t: i64,
    s: &'a SessionRecord,
}

#[derive(Deserialize)]
struct Payload {
    t: i64,
    s: SessionRecord,
}

fn context(cookie_name: &str) -> Vec<u8> {
    [CLIENT_SESSION_CONTEXT, b"\0", cookie_name.as_bytes()].concat()
}

/// The cookie value (before chunking) of `record`, inactive after `inactive_until`.
pub fn seal(
    keys: &CryptoKeys,
    cookie_name: &str,
    record: &SessionRecord,
    inactive_until: i64,
) -> Result<String, String> {
    let json = serde_json::to_vec(&PayloadRef {
        t: inactive_until,
        s: record,
    })
    .map_err(|e| format!("session encoding: {e}"))?;
    crypto::seal(keys, &context(cookie_name), &json).map_err(|e| format!("session sealing: {e}"))
}

/// The record and its inactivity deadline; `None` when `value` does not open under
/// `cookie_name` (tampered, foreign key, other cookie, truncated).
pub fn open(keys: &CryptoKeys, cookie_name: &str, value: &str) -> Option<(SessionRecord, i64)> {
    let json = crypto::open(keys, &context(cookie_name), value).ok()?;
    let p: Payload = serde_json::from_slice(&json).ok()?;
    Some((p.s, p.t))
}

/// The per-process hot-cache key of a cookie value: never equal to a server-cache key (those
/// have no `c:` prefix), bound to the cookie name.
pub fn hot_key(cookie_name: &str, value: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(cookie_name.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    format!("c:{}", crate::jose::b64url_encode(&h.finalize()))
}

/// What the request's cookies hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Read<'h> {
    /// No session cookie at all.
    None,
    /// Chunk cookies that cannot be joined (bad count, a chunk missing or empty, too long).
    Invalid(&'static str),
    /// The joined value (borrowed when it is one cookie).
    Value(Cow<'h, str>),
}

/// The value of cookie `<name><suffix>` in a `Cookie` header (the first one).
fn cookie<'h>(header: &'h str, name: &str, suffix: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let pair = pair.trim_start_matches([' ', '\t']);
        let v = pair
            .strip_prefix(name)?
            .strip_prefix(suffix)?
            .strip_prefix('=')?;
        Some(v.trim_end_matches([' ', '\t']))
    })
}

/// The chunk indexes `<name>_<i>` present in a `Cookie` header (at most a few hundred looked at).
fn chunks_present(header: Option<&str>, name: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let Some(header) = header else {
        return out;
    };
    for pair in header.split(';').take(512) {
        let pair = pair.trim_start_matches([' ', '\t']);
        let Some((n, _)) = pair.split_once('=') else {
            continue;
        };
        let Some(i) = n.strip_prefix(name).and_then(|r| r.strip_prefix('_')) else {
            continue;
        };
        if !i.is_empty()
            && i.len() <= 4
            && i.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = i.parse::<usize>()
            && !out.contains(&i)
        {
            out.push(i);
        }
    }
    out
}

/// Whether the request carries a client-cookie session rather than a server-cache session id
/// (chunk cookies, or a session cookie value that is not session-id shaped).
pub fn looks_like_cookie_session(header: Option<&str>, name: &str) -> bool {
    let Some(header) = header else {
        return false;
    };
    cookie(header, name, CHUNKS_SUFFIX).is_some()
        || cookie(header, name, "")
            .is_some_and(|v| !v.is_empty() && !super::session::is_session_id(v))
}

/// The session value the browser sent under cookie `name`, joined from its chunks.
pub fn read<'h>(header: Option<&'h str>, name: &str) -> Read<'h> {
    let Some(header) = header else {
        return Read::None;
    };
    let Some(count) = cookie(header, name, CHUNKS_SUFFIX) else {
        return match cookie(header, name, "") {
            Some(v) if !v.is_empty() => Read::Value(Cow::Borrowed(v)),
            _ => Read::None,
        };
    };
    let n = match count.parse::<usize>() {
        Ok(n) if (1..=MAX_CHUNKS).contains(&n) && count.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return Read::Invalid("session cookie chunk count invalid"),
    };
    let mut joined = String::new();
    for i in 0..n {
        let chunk = match cookie(header, name, &format!("_{i}")) {
            Some(c) if !c.is_empty() => c,
            _ => return Read::Invalid("session cookie chunk missing"),
        };
        if joined.len() + chunk.len() > crypto::MAX_SEALED_LEN {
            return Read::Invalid("session cookie chunks too long");
        }
        joined.push_str(chunk);
    }
    Read::Value(Cow::Owned(joined))
}

/// The `Set-Cookie` values that store `value` under cookie `name`: one cookie when it fits in
/// `chunk_size` (or `chunk_size` is 0), else `<name>_0..` and `<name>_chunks`. Cookies of a
/// previous session that the new ones do not overwrite (chunks beyond the new count, the count
/// cookie, the plain cookie) are cleared. `set(name, value)` and `clear(name)` make the header
/// values with the session cookie's attributes.
pub fn write(
    name: &str,
    value: &str,
    chunk_size: usize,
    header: Option<&str>,
    set: impl Fn(&str, &str) -> String,
    clear: impl Fn(&str) -> String,
) -> Result<Vec<String>, String> {
    let present = chunks_present(header, name);
    let had_count = header.is_some_and(|h| cookie(h, name, CHUNKS_SUFFIX).is_some());
    let mut out = Vec::new();
    if chunk_size == 0 || value.len() <= chunk_size {
        out.push(set(name, value));
        if had_count {
            out.push(clear(&format!("{name}{CHUNKS_SUFFIX}")));
        }
        for i in present {
            out.push(clear(&format!("{name}_{i}")));
        }
        return Ok(out);
    }
    let n = value.len().div_ceil(chunk_size);
    if n > MAX_CHUNKS {
        return Err(format!(
            "the session needs {n} cookies of OIDCSessionCookieChunkSize {chunk_size} bytes, more than {MAX_CHUNKS}"
        ));
    }
    // base64url: every byte is one ASCII character, so byte chunks are characters.
    for (i, chunk) in value.as_bytes().chunks(chunk_size).enumerate() {
        out.push(set(&format!("{name}_{i}"), &String::from_utf8_lossy(chunk)));
    }
    out.push(set(&format!("{name}{CHUNKS_SUFFIX}"), &n.to_string()));
    out.push(clear(name));
    for i in present.into_iter().filter(|i| *i >= n) {
        out.push(clear(&format!("{name}_{i}")));
    }
    Ok(out)
}

/// `Set-Cookie` values that remove the session cookie `name` and every chunk cookie of it the
/// browser sent.
pub fn clear_all(name: &str, header: Option<&str>, clear: impl Fn(&str) -> String) -> Vec<String> {
    let mut out = vec![clear(name)];
    if header.is_some_and(|h| cookie(h, name, CHUNKS_SUFFIX).is_some()) {
        out.push(clear(&format!("{name}{CHUNKS_SUFFIX}")));
    }
    for i in chunks_present(header, name) {
        out.push(clear(&format!("{name}_{i}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_single_chunked_and_broken() {
        let n = "s";
        assert_eq!(read(None, n), Read::None);
        assert_eq!(read(Some("a=b"), n), Read::None);
        assert_eq!(read(Some("s="), n), Read::None);
        assert_eq!(
            read(Some("x=1; s=abc"), n),
            Read::Value(Cow::Borrowed("abc"))
        );
        assert_eq!(
            read(Some("s_1=def; s_chunks=2; s_0=abc"), n),
            Read::Value(Cow::Owned("abcdef".into()))
        );
        for bad in [
            "s_chunks=2; s_0=abc",
            "s_chunks=2; s_0=abc; s_1=",
            "s_chunks=0; s=abc",
            "s_chunks=65; s_0=a",
            "s_chunks=+1; s_0=a",
            "s_chunks=x",
            "s_chunks=99999999999999999999999",
        ] {
            assert!(matches!(read(Some(bad), n), Read::Invalid(_)), "{bad}");
        }
        let big = "A".repeat(crypto::MAX_SEALED_LEN / 2 + 1);
        let h = format!("s_chunks=2; s_0={big}; s_1={big}");
        assert!(matches!(read(Some(&h), n), Read::Invalid(_)));
    }

    #[test]
    fn chunks_present_only_counts_our_numbered_cookies() {
        let h = "s_0=a; s_3=b; s_chunks=2; s_x=1; s_=2; sx_1=3; s_12345=4; t_1=5; s_3=dup";
        assert_eq!(chunks_present(Some(h), "s"), vec![0, 3]);
        assert!(looks_like_cookie_session(Some("s_chunks=1"), "s"));
        assert!(looks_like_cookie_session(
            Some("s=AQ-not-a-session-id"),
            "s"
        ));
        let id = "A".repeat(super::super::session::SESSION_ID_LEN);
        assert!(!looks_like_cookie_session(Some(&format!("s={id}")), "s"));
        assert!(!looks_like_cookie_session(Some("s="), "s"));
        assert!(!looks_like_cookie_session(None, "s"));
    }
}
