use super::*;
use serde_json::json;

fn claims(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("test claims must be an object"),
    }
}

fn req(line: &str) -> RequireClaim {
    RequireClaim::parse(line).unwrap_or_else(|e| panic!("parse {line:?}: {e}"))
}

fn grants(line: &str, c: Value) -> bool {
    req(line).matches(&claims(c))
}

// ---- natural comparison -------------------------------------------------------------------

#[test]
fn strnat_equal_and_whitespace_insensitive() {
    assert!(apr_strnat_eq(b"abc", b"abc", false));
    assert!(apr_strnat_eq(b"John Doe", b"JohnDoe", false));
    assert!(apr_strnat_eq(b" a\tb\n", b"ab", false));
    assert!(apr_strnat_eq(b"", b"   ", false));
    assert!(!apr_strnat_eq(b"abc", b"abd", false));
    assert!(!apr_strnat_eq(b"abc", b"ab", false));
    assert!(!apr_strnat_eq(b"ab", b"abc", false));
    assert!(!apr_strnat_eq(b"ABC", b"abc", false));
    assert!(apr_strnat_eq(b"ABC", b"abc", true));
    assert!(apr_strnat_eq(b"bEaReR", b"Bearer", true));
}

#[test]
fn strnat_digit_runs_must_be_identical() {
    assert!(apr_strnat_eq(b"a12b", b"a12b", false));
    assert!(!apr_strnat_eq(b"a012", b"a12", false));
    assert!(!apr_strnat_eq(b"12", b"1 2", false));
    assert!(!apr_strnat_eq(b"1 2", b"12", false));
    assert!(!apr_strnat_eq(b"007", b"7", false));
    assert!(apr_strnat_eq(b"v1.2.3", b"v1.2.3", false));
}

#[test]
fn strnat_nul_is_an_ordinary_byte() {
    assert!(!apr_strnat_eq(b"admin\0x", b"admin", false));
    assert!(apr_strnat_eq(b"a\0b", b"a\0b", false));
}

// ---- line parsing -------------------------------------------------------------------------

#[test]
fn words_split_on_whitespace_and_quotes() {
    // ap_expr removes one level of backslashes first, so `\\'` reaches ap_getword_conf as `\'`.
    let r = req(r#"  a:1   "b:two words"  'c:it\\'s' d:x\\\\y  "#);
    let specs: Vec<_> = r.specs().collect();
    assert_eq!(specs, ["a:1", "b:two words", "c:it's", r"d:x\y"]);
    // A single backslash before the quote is eaten by ap_expr: the quote then ends the word.
    let r = req(r#"'c:it\'s'"#);
    assert_eq!(r.specs().collect::<Vec<_>>(), ["c:it", "s'"]);
}

#[test]
fn words_stop_at_first_empty_word() {
    let r = req(r#"a:1 "" b:2"#);
    assert_eq!(r.specs().collect::<Vec<_>>(), ["a:1"]);
    assert!(!grants(r#""" sub:x"#, json!({"sub": "x"})));
}

#[test]
fn empty_line_has_no_specs_and_never_matches() {
    let r = req("");
    assert!(r.is_empty());
    assert!(!r.matches(&claims(json!({"sub": "x"}))));
    assert!(req("   ").is_empty());
}

#[test]
fn ap_expr_escapes_are_processed() {
    // `\.` and `\d` lose their backslash (ap_expr), `\\d` keeps one.
    assert_eq!(req(r"e~a\.b").specs().next(), Some("e~a.b"));
    assert_eq!(req(r"s~^\d+$").specs().next(), Some("s~^d+$"));
    assert_eq!(req(r"s~^\\d+$").specs().next(), Some(r"s~^\d+$"));
    // Four backslashes: ap_expr gives two, ap_getword_conf collapses them to one.
    assert_eq!(req(r"s:a\\\\b").specs().next(), Some(r"s:a\b"));
    assert_eq!(req(r"n:\101\x").specs().next(), Some("n:Ax"));
    assert_eq!(req(r"n:caf\303\251").specs().next(), Some("n:café"));
    // Back-references with no regex in scope are empty; other `$` stay.
    assert_eq!(req(r"n:a$1b$").specs().next(), Some("n:ab$"));
    // `\t` becomes a tab, which then separates words.
    assert_eq!(req(r"a:1\tb:2").specs().collect::<Vec<_>>(), ["a:1", "b:2"]);
    // A NUL ends the line, as in C.
    assert_eq!(req(r"a:1\0 b:2").specs().collect::<Vec<_>>(), ["a:1"]);
}

#[test]
fn ap_expr_escape_errors() {
    assert!(RequireClaim::parse(r"a:\8").is_err());
    assert!(RequireClaim::parse(r"a:\0123").is_err());
    assert!(RequireClaim::parse(r"a:\400").is_err());
    assert!(RequireClaim::parse(r"a:b\").is_err());
    assert!(RequireClaim::parse("a:\\377").is_err(), "not UTF-8");
}

#[test]
fn variables_need_a_request() {
    assert!(RequireClaim::uses_variables("sub:%{REMOTE_USER}"));
    assert!(!RequireClaim::uses_variables(r"sub:\%{x}"));
    assert!(!RequireClaim::uses_variables("sub:100%"));
    assert!(RequireClaim::parse("sub:%{REMOTE_USER}").is_err());
    let r = RequireClaim::from_evaluated("sub:alice grp~(");
    assert!(r.matches(&claims(json!({"sub": "alice"}))));
    assert!(!r.matches(&claims(json!({"grp": "("}))));
}

#[test]
fn invalid_regex_is_a_config_error_when_plainly_a_regex() {
    assert!(RequireClaim::parse("email~(unclosed").is_err());
    // The `~` sits in a value after `:`: a literal value, not an error.
    let r = req("email:~(x");
    assert!(r.matches(&claims(json!({"email": "~(x"}))));
    // A second `~` whose tail does not compile simply never matches.
    let r = req("a~x~*a");
    assert!(r.matches(&claims(json!({"a": "zx~~a"}))));
    assert!(!r.matches(&claims(json!({"a~x": "*a"}))));
}

// ---- value matching -----------------------------------------------------------------------

#[test]
fn string_values() {
    assert!(grants("sub:alice", json!({"sub": "alice"})));
    assert!(!grants("sub:alice", json!({"sub": "bob"})));
    assert!(!grants("sub:alice", json!({"sub": "alice2"})));
    assert!(!grants("sub:Alice", json!({"sub": "alice"})));
    assert!(grants(r#""name:John Doe""#, json!({"name": "JohnDoe"})));
    assert!(grants("name:JohnDoe", json!({"name": " John  Doe "})));
    assert!(!grants("sub:admin", json!({"sub": "admin\u{0}evil"})));
    assert!(grants("sub:", json!({"sub": ""})));
    assert!(grants("sub:", json!({"sub": "  "})));
    assert!(grants("email:a@b.c", json!({"email": "a@b.c"})));
    assert!(grants("uri:https://x/y", json!({"uri": "https://x/y"})));
}

#[test]
fn unicode_values() {
    assert!(grants("name:Zoë", json!({"name": "Zoë"})));
    assert!(!grants("name:Zoe", json!({"name": "Zoë"})));
    assert!(grants("naïve:ja", json!({"naïve": "ja"})));
}

#[test]
fn integer_values() {
    assert!(grants("age:18", json!({"age": 18})));
    assert!(grants("age:+18", json!({"age": 18})));
    assert!(grants("age:018", json!({"age": 18})));
    assert!(grants("t:-5", json!({"t": -5})));
    assert!(grants("t:0", json!({"t": 0})));
    assert!(grants("t:-0", json!({"t": 0})));
    assert!(!grants("age:19", json!({"age": 18})));
    assert!(!grants("t:5", json!({"t": -5})));
    assert!(grants("big:9223372036854775807", json!({"big": i64::MAX})));
    assert!(grants("neg:-9223372036854775808", json!({"neg": i64::MIN})));
    assert!(grants("u:18446744073709551615", json!({"u": u64::MAX})));
    assert!(!grants("u:-1", json!({"u": u64::MAX})));
    // Improve over atoi(): malformed numbers never match.
    assert!(!grants("admin:true", json!({"admin": 0})));
    assert!(!grants("age:18abc", json!({"age": 18})));
    assert!(!grants("age:", json!({"age": 0})));
    assert!(!grants("age:99999999999999999999999", json!({"age": 1})));
    // The string form of a number is not a number claim.
    assert!(grants("age:18", json!({"age": "18"})));
}

#[test]
fn floats_objects_and_nulls_never_match() {
    assert!(!grants("x:1.5", json!({"x": 1.5})));
    assert!(!grants("x:1", json!({"x": 1.0})));
    assert!(!grants("x:null", json!({"x": null})));
    assert!(!grants("x:", json!({"x": null})));
    assert!(!grants(r#"x:{}"#, json!({"x": {}})));
}

#[test]
fn boolean_values() {
    assert!(grants(
        "email_verified:true",
        json!({"email_verified": true})
    ));
    assert!(grants("x:false", json!({"x": false})));
    assert!(!grants("x:true", json!({"x": false})));
    assert!(!grants("x:1", json!({"x": true})));
    assert!(!grants("x:True", json!({"x": true})));
    assert!(!grants("x:true", json!({"x": "yes"})));
    assert!(grants("x:true", json!({"x": "true"})));
}

#[test]
fn array_values() {
    let c = json!({"groups": ["users", "admin"], "n": [1, 2, 3], "b": [false, true],
                   "mixed": [{"x": 1}, null, 2.5, ["admin"], "ok"]});
    assert!(grants("groups:admin", c.clone()));
    assert!(grants("groups:users", c.clone()));
    assert!(!grants("groups:root", c.clone()));
    assert!(grants("n:2", c.clone()));
    assert!(!grants("n:4", c.clone()));
    assert!(grants("b:true", c.clone()));
    assert!(grants("mixed:ok", c.clone()));
    assert!(
        !grants("mixed:admin", c.clone()),
        "nested arrays are not searched"
    );
    assert!(!grants("mixed:2.5", c.clone()));
    assert!(!grants("groups:admin", json!({"groups": []})));
}

#[test]
fn missing_claims_and_no_claims() {
    assert!(!grants("sub:x", json!({})));
    assert!(!grants("sub:x", json!({"other": "x"})));
    assert!(!grants("sub", json!({"sub": "x"})), "no operator");
    assert!(!grants("su:x", json!({"sub": "x"})));
    assert!(!grants("subx:1", json!({"sub": "x"})));
}

#[test]
fn any_spec_grants() {
    assert!(grants("sub:a sub:b groups:z", json!({"sub": "b"})));
    assert!(grants("sub:a groups:z", json!({"groups": ["z"]})));
    assert!(!grants("sub:a sub:b", json!({"sub": "c"})));
}

#[test]
fn later_keys_are_tried_when_a_value_does_not_match() {
    // "urn" does not match "x:y"... then key "urn:x" matches with value "y".
    let c = json!({"urn": "nope", "urn:x": "y"});
    assert!(grants("urn:x:y", c));
    let c = json!({"urn:x": "y", "urn": "x:y"});
    assert!(grants("urn:x:y", c));
}

// ---- dotted keys --------------------------------------------------------------------------

#[test]
fn dotted_keys_descend_into_objects() {
    let c = json!({"realm_access": {"roles": ["admin", "user"], "lvl": 3,
                                    "deep": {"x": "y"}}});
    assert!(grants("realm_access.roles:admin", c.clone()));
    assert!(!grants("realm_access.roles:root", c.clone()));
    assert!(grants("realm_access.lvl:3", c.clone()));
    assert!(grants("realm_access.deep.x:y", c.clone()));
    assert!(grants("realm_access.roles~^adm", c.clone()));
    assert!(!grants("realm_access.missing:x", c.clone()));
    assert!(!grants("realm_access:x", c));
}

#[test]
fn dotted_key_on_array_matches_value() {
    assert!(grants("groups.admin", json!({"groups": ["admin"]})));
    assert!(grants("groups.a:b", json!({"groups": ["a:b"]})));
    assert!(!grants("groups.root", json!({"groups": ["admin"]})));
}

#[test]
fn dotted_key_result_is_final() {
    // "a" is a string: the spec fails at once although a later key "a.b" would match.
    assert!(!grants("a.b:c", json!({"a": "s", "a.b": "c"})));
    // A flat key with a dot, before the object, matches.
    assert!(grants("a.b:c", json!({"a.b": "c", "a": {"b": "x"}})));
    // The object comes first and decides (no match), even though "a.b" would match.
    assert!(!grants("a.b:c", json!({"a": {"b": "x"}, "a.b": "c"})));
}

// ---- regexes ------------------------------------------------------------------------------

#[test]
fn regex_matches_strings_and_array_members() {
    let c = json!({"email": "zoe@example.com", "groups": ["g-users", "g-admins"], "n": 5});
    assert!(grants(r"email~@example\\.com$", c.clone()));
    assert!(!grants(r"email~@example\\.org$", c.clone()));
    assert!(grants("email~example", c.clone()), "unanchored search");
    assert!(grants("groups~^g-adm", c.clone()));
    assert!(!grants("groups~^root", c.clone()));
    assert!(!grants("n~5", c.clone()), "numbers are not regex-matched");
    assert!(!grants("missing~.*", c));
}

#[test]
fn regex_with_quoted_spaces() {
    assert!(grants(r#""name~^John D""#, json!({"name": "John Doe"})));
}

#[test]
fn regexes_are_per_key_position() {
    // Key "a~b" with a ":" value, and key "a" with regex "b~c".
    let r = req("a~b~c");
    assert!(r.matches(&claims(json!({"a": "xb~cx"}))));
    assert!(r.matches(&claims(json!({"a~b": "c"})))); // key "a~b", op "~", regex "c"
    assert!(!r.matches(&claims(json!({"a~b": "d"}))));
}
