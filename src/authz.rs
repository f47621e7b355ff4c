//! `Require claim <spec> [<spec> ...]`: claim-based authorization, with the semantics of
//! mod_auth_openidc 2.4.12.3 (`oidc_authz_worker24` / `oidc_authz_match_claim`).
//!
//! # How a require line is read
//!
//! 1. The C module hands the line to httpd's `ap_expr` parser in string mode
//!    (`AP_EXPR_FLAG_STRING_RESULT`) and evaluates it per request. For a line without variables
//!    that only processes backslash escapes: `\n \r \t \b \f`, octal `\NNN` (at most `\377`),
//!    `\` + any other character gives that character (so `\.` becomes `.` and `\d` becomes `d`;
//!    write `\\d` for the regex escape `\d`), a digit run after `\` that is not a 1–3 digit octal
//!    number is an error, and `$0`..`$9` (regex back-references, with no regex in scope) become
//!    nothing. A NUL produced by `\0` ends the line, as it ends a C string. [`RequireClaim::parse`]
//!    does exactly this at configuration time. Lines with `%{VAR}` need a request: see
//!    [`RequireClaim::uses_variables`] and [`RequireClaim::from_evaluated`].
//! 2. The result is split into words as `ap_getword_conf` does: whitespace separates, `"..."`
//!    and `'...'` quote (with `\"`/`\'` and `\\` unescaped inside), and `\\` collapses to `\`
//!    outside quotes too. Splitting stops at the first empty word (`""`).
//!
//! # How a spec matches (any one spec matching grants access)
//!
//! The claims are walked in order; a claim *key* applies when the spec starts with the key and
//! the next character is
//! * `:` — value match of the rest: a string claim equals it under APR's natural comparison
//!   (`apr_strnatcmp`, which ignores whitespace, so `John Doe` equals `JohnDoe`); a boolean
//!   claim equals `true`/`false` (same comparison); an integer claim equals the rest read as an
//!   integer; an array matches when one of its string/boolean/integer members matches as above.
//!   Objects, nulls and floats never match. When this key does not match, later keys are tried.
//! * `~` — the rest is a regular expression searched (unanchored) in a string claim or in each
//!   string member of an array claim.
//! * `.` — descend: into an object claim the rest is matched as a spec against the object's
//!   keys; on an array claim the rest is a *value* matched as with `:` (`groups.admin` matches
//!   `"groups": ["admin"]`); for any other claim the spec fails. In all three cases the result of
//!   this key is final for the spec (no later key is tried), as in the C module.
//!
//! # Deliberate differences from the C module (improvements)
//! * Integers: C compares with `atoi(value)`, so `Require claim admin:true` matched
//!   `"admin": 0` and `age:18abc` matched `18`. Here the value must be a well-formed decimal
//!   integer (optional leading whitespace and sign) to match an integer claim, compared in full
//!   64-bit precision.
//! * Regexes are compiled once, at configuration time, with Rust's `regex` crate (no
//!   look-around or back-references; `$` only at the very end). A spec whose first `~` comes
//!   before any `:` (plainly a regex spec) with an invalid regex is a configuration error; C only
//!   logged and denied on each request.
//! * A claim string containing NUL is compared in full (C could not receive one at all).

use regex_lite::Regex;
use serde_json::{Map, Value};

/// A parsed `Require claim` line: cheap to evaluate, safe to share between threads.
#[derive(Debug, Clone)]
pub struct RequireClaim {
    specs: Vec<Spec>,
}

#[derive(Debug, Clone)]
struct Spec {
    text: String,
    /// For each `~` in `text` (byte offset, ascending): the regex compiled from the rest of the
    /// text after it, or `None` when that does not compile (then it never matches, as in C).
    regexes: Vec<(usize, Option<Regex>)>,
}

impl RequireClaim {
    /// Parses a `Require claim` line at configuration time (see the module docs).
    ///
    /// Errors: malformed escapes (as `ap_expr` reports them), `%{...}` variables (evaluate those
    /// per request with httpd's `ap_expr` and use [`RequireClaim::from_evaluated`]), a result
    /// that is not UTF-8, and an invalid regex in a spec that is plainly a regex spec.
    pub fn parse(line: &str) -> Result<RequireClaim, String> {
        let expanded = expand_static(line)?;
        let mut specs = Vec::new();
        for word in ConfWords::new(&expanded) {
            if word.is_empty() {
                break;
            }
            specs.push(Spec::compile(word, true)?);
        }
        Ok(RequireClaim { specs })
    }

    /// Builds the matcher from a line that httpd's `ap_expr` already evaluated for this request
    /// (only needed for lines with `%{...}`). Never fails: like the C module, a regex that does
    /// not compile simply never matches.
    pub fn from_evaluated(expanded: &str) -> RequireClaim {
        let mut specs = Vec::new();
        for word in ConfWords::new(expanded) {
            if word.is_empty() {
                break;
            }
            if let Ok(spec) = Spec::compile(word, false) {
                specs.push(spec);
            }
        }
        RequireClaim { specs }
    }

    /// True when the line refers to request variables (`%{...}` outside a backslash escape), so
    /// that it must be evaluated per request by `ap_expr`.
    pub fn uses_variables(line: &str) -> bool {
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'%' if b.get(i + 1) == Some(&b'{') => return true,
                _ => i += 1,
            }
        }
        false
    }

    /// No specs at all (`Require claim` alone): never matches; the C module warns per request.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The specs as words after unescaping, for logging.
    pub fn specs(&self) -> impl Iterator<Item = &str> {
        self.specs.iter().map(|s| s.text.as_str())
    }

    /// True when any spec matches the claims.
    pub fn matches(&self, claims: &Map<String, Value>) -> bool {
        self.specs.iter().any(|s| s.match_claims(0, claims))
    }
}

impl Spec {
    fn compile(word: String, strict: bool) -> Result<Spec, String> {
        let mut regexes = Vec::new();
        let first_colon = word.find(':');
        for (pos, _) in word.match_indices('~') {
            let pattern = &word[pos + 1..];
            match Regex::new(pattern) {
                Ok(re) => regexes.push((pos, Some(re))),
                Err(e) => {
                    let plainly_regex = regexes.is_empty() && first_colon.is_none_or(|c| pos < c);
                    if strict && plainly_regex {
                        return Err(format!(
                            "Require claim: '{word}': invalid regular expression '{pattern}': {e}"
                        ));
                    }
                    regexes.push((pos, None));
                }
            }
        }
        Ok(Spec {
            text: word,
            regexes,
        })
    }

    fn regex_at(&self, pos: usize) -> Option<&Regex> {
        self.regexes
            .binary_search_by_key(&pos, |(p, _)| *p)
            .ok()
            .and_then(|i| self.regexes.get(i))
            .and_then(|(_, re)| re.as_ref())
    }

    /// `oidc_authz_match_claim`: the spec text from byte `start` against `claims`.
    fn match_claims(&self, start: usize, claims: &Map<String, Value>) -> bool {
        let Some(rest) = self.text.get(start..) else {
            return false;
        };
        for (key, val) in claims {
            let Some(after) = rest.strip_prefix(key.as_str()) else {
                continue;
            };
            let op_pos = start + key.len();
            match after.as_bytes().first() {
                Some(b':') if match_value(&after[1..], val) => return true,
                Some(b'~') if self.regex_at(op_pos).is_some_and(|re| match_regex(re, val)) => {
                    return true;
                }
                Some(b'.') => {
                    return match val {
                        Value::Object(obj) => self.match_claims(op_pos + 1, obj),
                        Value::Array(_) => match_value(&after[1..], val),
                        _ => false,
                    };
                }
                _ => {}
            }
        }
        false
    }
}

/// `oidc_authz_match_value`.
fn match_value(spec: &str, val: &Value) -> bool {
    match val {
        Value::Array(items) => items.iter().any(|v| match_scalar(spec, v)),
        v => match_scalar(spec, v),
    }
}

fn match_scalar(spec: &str, val: &Value) -> bool {
    match val {
        Value::String(s) => apr_strnat_eq(s.as_bytes(), spec.as_bytes(), false),
        Value::Bool(b) => {
            apr_strnat_eq(if *b { b"true" } else { b"false" }, spec.as_bytes(), false)
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                parse_integer(spec).is_some_and(|(neg, mag)| int_eq(i, neg, mag))
            } else if let Some(u) = n.as_u64() {
                parse_integer(spec).is_some_and(|(neg, mag)| !neg && mag == u)
            } else {
                false
            }
        }
        _ => false,
    }
}

fn int_eq(i: i64, neg: bool, mag: u64) -> bool {
    let wanted = if neg {
        -i128::from(mag)
    } else {
        i128::from(mag)
    };
    i128::from(i) == wanted
}

/// A well-formed decimal integer: optional leading C whitespace, optional sign, 1+ digits.
/// Returns (negative, magnitude); None when malformed or beyond u64.
fn parse_integer(s: &str) -> Option<(bool, u64)> {
    let s = s.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok().map(|m| (neg, m))
}

/// `oidc_authz_match_expression`.
fn match_regex(re: &Regex, val: &Value) -> bool {
    match val {
        Value::String(s) => re.is_match(s),
        Value::Array(items) => items
            .iter()
            .any(|v| matches!(v, Value::String(s) if re.is_match(s))),
        _ => false,
    }
}

/// C `isspace` in the C locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `apr_strnatcmp(a, b) == 0` (or `apr_strnatcasecmp` with `fold_case`): whitespace anywhere
/// is skipped, digit runs must be identical, other bytes compared one by one (ASCII case folded
/// when asked). Unlike C, a NUL byte is an ordinary byte, not the end.
pub(crate) fn apr_strnat_eq(a: &[u8], b: &[u8], fold_case: bool) -> bool {
    let (mut i, mut j) = (0usize, 0usize);
    loop {
        while a.get(i).is_some_and(|&c| is_c_space(c)) {
            i += 1;
        }
        while b.get(j).is_some_and(|&c| is_c_space(c)) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        match (ca, cb) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                if x.is_ascii_digit() && y.is_ascii_digit() {
                    let ra = digit_run(&a[i..]);
                    let rb = digit_run(&b[j..]);
                    if ra != rb {
                        return false;
                    }
                }
                let equal = if fold_case {
                    x.eq_ignore_ascii_case(&y)
                } else {
                    x == y
                };
                if !equal {
                    return false;
                }
            }
            _ => return false,
        }
        i += 1;
        j += 1;
    }
}

fn digit_run(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    &s[..n]
}

/// Static part of `ap_expr` string-mode evaluation (httpd 2.4 `util_expr_scan.l`): escapes and
/// back-references. `%{` is refused: it needs a request.
fn expand_static(line: &str) -> Result<String, String> {
    let b = line.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' => {
                let Some(&n) = b.get(i + 1) else {
                    return Err("Require claim: the line ends with a lone backslash".into());
                };
                if n.is_ascii_digit() {
                    // flex takes the longest rule: a 1-3 digit octal escape only when the
                    // whole digit run is that escape, otherwise "Bad escape sequence".
                    let run = digit_run(&b[i + 1..]);
                    if run.len() > 3 || run.iter().any(|&d| d > b'7') {
                        return Err("Require claim: bad escape sequence in the line".into());
                    }
                    let v = run
                        .iter()
                        .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
                    let Ok(byte) = u8::try_from(v) else {
                        return Err("Require claim: escape sequence out of bound".into());
                    };
                    if byte == 0 {
                        // The C string ends here.
                        break;
                    }
                    out.push(byte);
                    i += 1 + run.len();
                } else {
                    out.push(match n {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        other => other,
                    });
                    i += 2;
                }
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                // Regex back-reference with no regex in scope: the empty string.
                i += 2;
            }
            b'%' if b.get(i + 1) == Some(&b'{') => {
                return Err(
                    "Require claim: %{...} variables need a request; evaluate the \
                            line with ap_expr and use RequireClaim::from_evaluated"
                        .into(),
                );
            }
            b'\n' => return Err("Require claim: unterminated string or variable".into()),
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "Require claim: the line is not valid UTF-8".into())
}

/// `ap_getword_conf` over a string: yields words, then empty strings at the end.
struct ConfWords<'a> {
    rest: &'a str,
    done: bool,
}

impl<'a> ConfWords<'a> {
    fn new(s: &'a str) -> Self {
        ConfWords {
            rest: s,
            done: false,
        }
    }
}

impl Iterator for ConfWords<'_> {
    /// Words own their text (unescaping may change it); empty once the input is used up.
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.done {
            return None;
        }
        let s = self
            .rest
            .trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
        let b = s.as_bytes();
        let Some(&first) = b.first() else {
            self.done = true;
            return Some(String::new());
        };
        let (word, after) = if first == b'"' || first == b'\'' {
            let quote = first;
            let mut k = 1;
            while k < b.len() && b[k] != quote {
                if b[k] == b'\\' && k + 1 < b.len() && (b[k + 1] == quote || b[k + 1] == b'\\') {
                    k += 2;
                } else {
                    k += 1;
                }
            }
            let end = k.min(b.len());
            let word = unescape_conf(&s[1..end], Some(quote));
            let after = if end < b.len() { &s[end + 1..] } else { "" };
            (word, after)
        } else {
            let end = b.iter().position(|&c| is_c_space(c)).unwrap_or(b.len());
            (unescape_conf(&s[..end], None), &s[end..])
        };
        self.rest = after;
        Some(word)
    }
}

/// `substring_conf`: `\\` → `\` always, `\<quote>` → `<quote>` inside quotes.
fn unescape_conf(s: &str, quote: Option<u8>) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1)
                .is_some_and(|&n| n == b'\\' || Some(n) == quote)
        {
            out.push(b[i + 1]);
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    // Only ASCII bytes were removed, so this stays UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests;
