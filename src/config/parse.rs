//! Generic value parsers shared by the directive setters. Each returns a short error sentence
//! that the setter prefixes with the directive name.

use std::path::{Path, PathBuf};

/// `oidc_parse_boolean`: `true|on|yes|1` and `false|off|no|0`, case-insensitively.
pub fn boolean(value: &str) -> Result<bool, String> {
    let v = value.to_ascii_lowercase();
    match v.as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err(format!(
            "invalid boolean value \"{value}\"; must be On or Off (or true/false, yes/no, 1/0)"
        )),
    }
}

/// The argument of a FLAG directive as the glue passes it: `On` or `Off` (httpd itself only
/// accepts those, case-insensitively).
pub fn flag(value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("on") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("off") {
        Ok(false)
    } else {
        Err(format!("invalid value \"{value}\"; must be On or Off"))
    }
}

/// A decimal integer (optional sign), like `strtol(arg, &end, 10)` with nothing left over.
pub fn integer(value: &str) -> Result<i64, String> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid integer value \"{value}\""));
    }
    value
        .parse::<i64>()
        .map_err(|_| format!("integer value \"{value}\" is out of range"))
}

/// An integer in `min..=max` (`oidc_parse_int_min_max`).
pub fn integer_in(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let v = integer(value)?;
    if v < min {
        return Err(format!(
            "integer value {v} is smaller than the minimum allowed value {min}"
        ));
    }
    if v > max {
        return Err(format!(
            "integer value {v} is greater than the maximum allowed value {max}"
        ));
    }
    Ok(v)
}

/// The error for a value that is not one of `options`:
/// `invalid value "foo"; must be one of "a", "b"`.
pub fn not_one_of(value: &str, options: &[&str]) -> String {
    let list: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    format!(
        "invalid value \"{value}\"; must be one of {}",
        list.join(", ")
    )
}

/// Picks the value whose name equals `value` exactly (the C module compares case-sensitively).
pub fn one_of<T: Copy>(value: &str, options: &[(&str, T)]) -> Result<T, String> {
    match options.iter().find(|(name, _)| *name == value) {
        Some((_, v)) => Ok(*v),
        None => {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            Err(not_one_of(value, &names))
        }
    }
}

/// httpd's `ap_getword_conf`: the first word of `line`, unquoted, and the rest of the line after
/// the whitespace that follows it. A quoted word ends at the matching quote; inside it `\"`
/// (resp. `\'`) and `\\` are unescaped. An unquoted word ends at whitespace; `\\` is unescaped.
pub fn getword_conf(line: &str) -> (String, &str) {
    let s = line.trim_start_matches(is_conf_space);
    let mut chars = s.char_indices().peekable();
    let mut word = String::new();
    let quote = match s.chars().next() {
        Some(q @ ('"' | '\'')) => {
            chars.next();
            Some(q)
        }
        _ => None,
    };
    let mut end = s.len();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q => {
                end = i + c.len_utf8();
                break;
            }
            None if is_conf_space(c) => {
                end = i;
                break;
            }
            _ => {}
        }
        if c == '\\'
            && let Some(&(_, n)) = chars.peek()
            && (n == '\\' || Some(n) == quote)
        {
            word.push(n);
            chars.next();
            continue;
        }
        word.push(c);
    }
    let rest = s.get(end..).unwrap_or("").trim_start_matches(is_conf_space);
    (word, rest)
}

fn is_conf_space(c: char) -> bool {
    // apr_isspace: the C locale's isspace
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// APR's `apr_tokenize_to_argv`: splits a command line on blanks; `"..."` and `'...'` group,
/// and a backslash before a blank or a quote is removed.
pub fn tokenize_to_argv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            break;
        };
        let quote = if first == '"' || first == '\'' {
            chars.next();
            Some(first)
        } else {
            None
        };
        let mut word = String::new();
        while let Some(c) = chars.next() {
            if c == '\\'
                && let Some(&n) = chars.peek()
                && matches!(n, ' ' | '\t' | '"' | '\'')
            {
                word.push(n);
                chars.next();
                continue;
            }
            let ends = match quote {
                Some(q) => c == q,
                None => c == ' ' || c == '\t',
            };
            if ends {
                break;
            }
            word.push(c);
        }
        out.push(word);
    }
    out
}

/// httpd's `ap_server_root_relative`: an absolute path stays, a relative one is taken relative
/// to ServerRoot (or to the current directory when none is known).
pub fn server_root_relative(name: &str, server_root: Option<&Path>) -> PathBuf {
    let p = Path::new(name);
    match server_root {
        Some(root) if p.is_relative() => root.join(p),
        _ => p.to_path_buf(),
    }
}

/// A header field name: an RFC 9110 token.
pub fn is_header_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Flattens a multi-line error text (like a regex syntax error) onto one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for v in ["On", "on", "TRUE", "yes", "1"] {
            assert_eq!(boolean(v), Ok(true), "{v}");
        }
        for v in ["Off", "false", "No", "0"] {
            assert_eq!(boolean(v), Ok(false), "{v}");
        }
        assert_eq!(
            boolean("maybe"),
            Err(
                "invalid boolean value \"maybe\"; must be On or Off (or true/false, yes/no, 1/0)"
                    .into()
            )
        );
        assert_eq!(flag("oN"), Ok(true));
        assert_eq!(flag("OFF"), Ok(false));
        assert!(flag("1").is_err());
    }

    #[test]
    fn integers() {
        assert_eq!(integer("42"), Ok(42));
        assert_eq!(integer("-1"), Ok(-1));
        assert_eq!(integer("+7"), Ok(7));
        for bad in ["", "-", "1.5", "0x10", " 1", "1 ", "abc", "１"] {
            assert_eq!(
                integer(bad),
                Err(format!("invalid integer value \"{bad}\"")),
                "{bad}"
            );
        }
        assert!(
            integer("99999999999999999999")
                .unwrap_err()
                .contains("out of range")
        );
        assert_eq!(integer_in("5", 1, 10), Ok(5));
        assert_eq!(
            integer_in("0", 1, 10),
            Err("integer value 0 is smaller than the minimum allowed value 1".into())
        );
        assert_eq!(
            integer_in("11", 1, 10),
            Err("integer value 11 is greater than the maximum allowed value 10".into())
        );
    }

    #[test]
    fn options() {
        assert_eq!(one_of("b", &[("a", 1), ("b", 2)]), Ok(2));
        assert_eq!(
            one_of("B", &[("a", 1), ("b", 2)]),
            Err("invalid value \"B\"; must be one of \"a\", \"b\"".into())
        );
    }

    #[test]
    fn getword_conf_like_httpd() {
        assert_eq!(getword_conf("\"OIDC-\""), ("OIDC-".to_string(), ""));
        assert_eq!(getword_conf("  OIDC_  "), ("OIDC_".to_string(), ""));
        assert_eq!(getword_conf("a b"), ("a".to_string(), "b"));
        assert_eq!(getword_conf("\"a b\"  c d"), ("a b".to_string(), "c d"));
        assert_eq!(getword_conf("'it\\'s' x"), ("it's".to_string(), "x"));
        assert_eq!(getword_conf("\"q\\\"q\\\\\""), ("q\"q\\".to_string(), ""));
        assert_eq!(getword_conf("a\\\\b"), ("a\\b".to_string(), ""));
        assert_eq!(getword_conf("a\\b"), ("a\\b".to_string(), ""));
        assert_eq!(getword_conf("\"\""), (String::new(), ""));
        assert_eq!(getword_conf(""), (String::new(), ""));
        assert_eq!(getword_conf("   "), (String::new(), ""));
        assert_eq!(
            getword_conf("\"unterminated"),
            ("unterminated".to_string(), "")
        );
        assert_eq!(getword_conf("\"é\" ü"), ("é".to_string(), "ü"));
    }

    #[test]
    fn tokenize_like_apr() {
        assert_eq!(tokenize_to_argv("/bin/echo a  b"), ["/bin/echo", "a", "b"]);
        assert_eq!(
            tokenize_to_argv("/bin/bash -c \"head -c 3 | tr x y\""),
            ["/bin/bash", "-c", "head -c 3 | tr x y"]
        );
        assert_eq!(tokenize_to_argv("a\\ b 'c d'"), ["a b", "c d"]);
        assert_eq!(tokenize_to_argv("  "), Vec::<String>::new());
    }

    #[test]
    fn paths_and_tokens() {
        let root = Path::new("/etc/apache2");
        assert_eq!(
            server_root_relative("/x/y", Some(root)),
            PathBuf::from("/x/y")
        );
        assert_eq!(
            server_root_relative("x/y", Some(root)),
            PathBuf::from("/etc/apache2/x/y")
        );
        assert_eq!(server_root_relative("x", None), PathBuf::from("x"));
        assert!(is_header_token("X-Remote-User"));
        assert!(!is_header_token("X Remote"));
        assert!(!is_header_token(""));
        assert!(!is_header_token("a:b"));
        assert_eq!(one_line("a\n  b\tc"), "a b c");
    }
}
