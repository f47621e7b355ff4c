use super::*;
use serde_json::json;

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("test claims must be an object"),
    }
}

const RAW: PassClaimsAs = PassClaimsAs {
    headers: true,
    environment: true,
    encoding: ClaimEncoding::None,
};
const HEADERS: PassClaimsAs = PassClaimsAs {
    headers: true,
    environment: false,
    encoding: ClaimEncoding::None,
};

fn render(v: Value) -> ClaimOutput {
    let mut out = ClaimOutput::new();
    render_claims(&map(v), "OIDC-", ",", HEADERS, None, None, &mut out);
    out
}

/// The headers as (name, UTF-8 value) pairs.
fn headers(out: &ClaimOutput) -> Vec<(String, String)> {
    out.headers
        .iter()
        .map(|(n, v)| (n.clone(), String::from_utf8(v.clone()).expect("utf-8")))
        .collect()
}

fn one(v: Value) -> Option<String> {
    let out = render(json!({ "c": v }));
    out.header("OIDC-c")
        .map(|v| String::from_utf8(v.to_vec()).expect("utf-8"))
}

// ---- values -------------------------------------------------------------------------------

#[test]
fn scalars() {
    assert_eq!(one(json!("zoe")).as_deref(), Some("zoe"));
    assert_eq!(one(json!("")).as_deref(), Some(""));
    assert_eq!(one(json!(true)).as_deref(), Some("1"));
    assert_eq!(one(json!(false)).as_deref(), Some("0"));
    assert_eq!(one(json!(0)).as_deref(), Some("0"));
    assert_eq!(one(json!(1700000000)).as_deref(), Some("1700000000"));
    assert_eq!(one(json!(-42)).as_deref(), Some("-42"));
    assert_eq!(one(json!(i64::MAX)).as_deref(), Some("9223372036854775807"));
    assert_eq!(
        one(json!(i64::MIN)).as_deref(),
        Some("-9223372036854775808")
    );
    assert_eq!(
        one(json!(u64::MAX)).as_deref(),
        Some("18446744073709551615")
    );
    assert_eq!(one(json!(null)), None);
}

#[test]
fn floats_as_c_percent_f() {
    assert_eq!(one(json!(1.5)).as_deref(), Some("1.500000"));
    assert_eq!(one(json!(0.1)).as_deref(), Some("0.100000"));
    assert_eq!(one(json!(-2.0)).as_deref(), Some("-2.000000"));
    assert_eq!(
        one(json!(1e20)).as_deref(),
        Some("100000000000000000000.000000")
    );
    assert_eq!(one(json!(5e-7)).as_deref(), Some("0.000000"));
    assert_eq!(one(json!(2.5e-6)).as_deref(), Some("0.000003"));
}

#[test]
fn huge_numbers_from_json_text() {
    let claims: Map<String, Value> =
        serde_json::from_str(r#"{"big": 123456789012345678901234567890, "e": 1e300}"#)
            .expect("json");
    let mut out = ClaimOutput::new();
    render_claims(&claims, "OIDC-", ",", HEADERS, None, None, &mut out);
    let h = headers(&out);
    assert_eq!(h[0].1, "123456789012345677877719597056.000000");
    // Both checked against glibc printf("%f").
    assert_eq!(
        h[1].1,
        "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371\
         375080447864043704443832883878176942523235360430575644792184786706982848387200926575803\
         737830233794788090059368953234970799945081119038967640880074652742780142494579258788820\
         056842838115669472196386865459400540160.000000"
    );
}

#[test]
fn string_arrays_joined() {
    assert_eq!(one(json!(["a", "b", "c"])).as_deref(), Some("a,b,c"));
    assert_eq!(one(json!([])).as_deref(), Some(""));
    assert_eq!(one(json!(["only"])).as_deref(), Some("only"));
    assert_eq!(one(json!([true, false])).as_deref(), Some("1,0"));
    let mut out = ClaimOutput::new();
    render_claims(
        &map(json!({"g": ["a", "b"]})),
        "P_",
        " | ",
        HEADERS,
        None,
        None,
        &mut out,
    );
    assert_eq!(out.header("P_g"), Some(&b"a | b"[..]));
}

#[test]
fn array_join_keeps_c_empty_prefix_quirk() {
    // While the text so far is empty or whitespace, the next element replaces it.
    assert_eq!(one(json!(["", "a"])).as_deref(), Some("a"));
    assert_eq!(one(json!(["", "", "a", "", "b"])).as_deref(), Some("a,,b"));
    assert_eq!(one(json!([" ", "a"])).as_deref(), Some("a"));
    assert_eq!(one(json!(["a", ""])).as_deref(), Some("a,"));
}

#[test]
fn mixed_arrays_render_every_element_in_order() {
    assert_eq!(one(json!([1, "two", true])).as_deref(), Some("1,two,1"));
    assert_eq!(
        one(json!([1.5, null, {"a": 1}, [2, "x"]])).as_deref(),
        Some(r#"1.500000,{"a": 1},[2, "x"]"#)
    );
    assert_eq!(one(json!([null, null])).as_deref(), Some(""));
}

#[test]
fn objects_as_jansson_json() {
    assert_eq!(one(json!({})).as_deref(), Some("{}"));
    assert_eq!(
        one(json!({"a": 1, "b": [1, 2], "c": {"d": null}})).as_deref(),
        Some(r#"{"a": 1, "b": [1, 2], "c": {"d": null}}"#)
    );
    // Compared against libjansson 2.14's json_dumps(v, 0) output, with the DEL byte and the
    // escaped control characters as jansson writes them (DEL then becomes a space here).
    let v: Value = serde_json::from_str(
        r#"{"s": "q\"\\/\u0001\u001f\n\té\u007f", "n": -1, "f": 0.1, "g": 1e-7, "h": 2.5e+20,
            "i": 1e300, "b": true, "z": null, "a": [1, "x", {}, []], "e": {}, "k\"ey": 1}"#,
    )
    .expect("json");
    let want = r#"{"s": "q\"\\/\u0001\u001F\n\té ", "n": -1, "f": 0.10000000000000001, "g": 9.9999999999999995e-8, "h": 2.5e20, "i": 1.0000000000000001e300, "b": true, "z": null, "a": [1, "x", {}, []], "e": {}, "k\"ey": 1}"#;
    assert_eq!(one(v).as_deref(), Some(want));
}

#[test]
fn jansson_reals() {
    // Expected strings produced by libjansson 2.14.
    let cases: &[(f64, &str)] = &[
        (0.1, "0.10000000000000001"),
        (1.5, "1.5"),
        (100.0, "100.0"),
        (1e16, "10000000000000000.0"),
        (1e17, "1e17"),
        (12345678901234567.0, "12345678901234568.0"),
        (1.2345678901234567e-5, "1.2345678901234568e-5"),
        (0.0001, "0.0001"),
        (0.00001, "1.0000000000000001e-5"),
        (123.456, "123.456"),
        (-2.5e-300, "-2.5e-300"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
        (5e-324, "4.9406564584124654e-324"),
        (9.999999999999999e16, "99999999999999984.0"),
        (0.30000000000000004, "0.30000000000000004"),
        (3.0, "3.0"),
        (-0.5, "-0.5"),
        (2e22, "2e22"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
    ];
    for (f, want) in cases {
        let mut buf = Vec::new();
        write_jansson_real(*f, &mut buf);
        assert_eq!(String::from_utf8(buf).expect("utf-8"), *want, "{f:e}");
    }
}

#[test]
fn unicode_passes_raw() {
    assert_eq!(one(json!("Zoë 😀 東京")).as_deref(), Some("Zoë 😀 東京"));
    assert_eq!(one(json!({"n": "é"})).as_deref(), Some(r#"{"n": "é"}"#));
}

#[test]
fn control_characters_never_reach_a_value() {
    assert_eq!(
        one(json!("a\r\nX-Evil: 1")).as_deref(),
        Some("a  X-Evil: 1")
    );
    assert_eq!(
        one(json!("nul\u{0}tab\tdel\u{7f}")).as_deref(),
        Some("nul tab del ")
    );
    assert_eq!(one(json!(["a\nb", "c\rd"])).as_deref(), Some("a b,c d"));
    // Non-ASCII line separators are not HTTP line breaks; they stay.
    assert_eq!(
        one(json!("a\u{2028}b\u{85}c")).as_deref(),
        Some("a\u{2028}b\u{85}c")
    );
    let out = render(json!({"k": "x\ny"}));
    for (_, v) in &out.headers {
        assert!(v.iter().all(|&b| b >= 0x20 && b != 0x7f));
    }
}

// ---- names --------------------------------------------------------------------------------

#[test]
fn header_names_normalized() {
    assert_eq!(header_name("OIDC-", "email"), "OIDC-email");
    assert_eq!(
        header_name("OIDC_CLAIM_", "given_name"),
        "OIDC_CLAIM_given_name"
    );
    assert_eq!(header_name("OIDC-", "a b:c/d(e)"), "OIDC-a-b-c-d-e-");
    assert_eq!(header_name("OIDC-", "x\r\ny"), "OIDC-x--y");
    assert_eq!(
        header_name("OIDC-", "\u{7f}@,;\\\"[]?={}<>\t"),
        "OIDC-".to_string() + &"-".repeat(15)
    );
    assert_eq!(
        header_name("OIDC-", "naïve"),
        "OIDC-na--ve",
        "one dash per UTF-8 byte"
    );
    assert_eq!(
        header_name("OIDC-", "https://x.example/claims/role"),
        "OIDC-https---x.example-claims-role"
    );
    assert_eq!(
        header_name("", "a.b-c_d~e!#$%&'*+^`|"),
        "a.b-c_d~e!#$%&'*+^`|"
    );
}

#[test]
fn env_names_equal_header_names() {
    let mut out = ClaimOutput::new();
    render_claims(
        &map(json!({"a b": "1", "sub": "zoe"})),
        "OIDC_CLAIM_",
        ",",
        RAW,
        None,
        None,
        &mut out,
    );
    assert_eq!(out.headers, out.env);
    assert_eq!(out.env[0].0, "OIDC_CLAIM_a-b");
}

// ---- order, duplicates, pass modes --------------------------------------------------------

#[test]
fn claims_in_order_with_prefix() {
    let out =
        render(json!({"sub": "zoe", "email": "z@x", "email_verified": true, "n": null, "exp": 5}));
    assert_eq!(
        headers(&out),
        [
            ("OIDC-sub", "zoe"),
            ("OIDC-email", "z@x"),
            ("OIDC-email_verified", "1"),
            ("OIDC-exp", "5")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(out.env.is_empty());
}

#[test]
fn same_name_is_set_once_last_value_first_spelling() {
    let out = render(json!({"a b": "1", "Email": "x", "a-b": "2", "email": "y"}));
    assert_eq!(
        headers(&out),
        [("OIDC-a-b", "2"), ("OIDC-Email", "y")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

#[test]
fn second_render_overrides_like_apr_table_set() {
    let mut out = ClaimOutput::new();
    render_claims(
        &map(json!({"sub": "u", "email": "e"})),
        "OIDC-",
        ",",
        RAW,
        None,
        None,
        &mut out,
    );
    render_claims(
        &map(json!({"sub": "i", "nonce": "n"})),
        "OIDC-",
        ",",
        RAW,
        None,
        None,
        &mut out,
    );
    set_app_info(&mut out, "OIDC_", "access_token", "tok", RAW);
    let names: Vec<_> = out.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["OIDC-sub", "OIDC-email", "OIDC-nonce", "OIDC_access_token"]
    );
    assert_eq!(out.header("oidc-sub"), Some(&b"i"[..]));
    assert_eq!(out.env_var("OIDC_access_token"), Some(&b"tok"[..]));
}

#[test]
fn pass_modes() {
    let c = map(json!({"sub": "zoe"}));
    let mut out = ClaimOutput::new();
    let env_only = PassClaimsAs {
        headers: false,
        environment: true,
        encoding: ClaimEncoding::None,
    };
    render_claims(&c, "OIDC-", ",", env_only, None, None, &mut out);
    assert!(out.headers.is_empty());
    assert_eq!(out.env_var("OIDC-sub"), Some(&b"zoe"[..]));
    let mut out = ClaimOutput::new();
    let none = PassClaimsAs {
        headers: false,
        environment: false,
        encoding: ClaimEncoding::None,
    };
    render_claims(&c, "OIDC-", ",", none, None, None, &mut out);
    set_app_info(&mut out, "OIDC_", "access_token", "t", none);
    assert_eq!(out, ClaimOutput::default());
}

// ---- encodings ----------------------------------------------------------------------------

#[test]
fn latin1_encoding() {
    let pass = PassClaimsAs {
        headers: true,
        environment: false,
        encoding: ClaimEncoding::Latin1,
    };
    let mut out = ClaimOutput::new();
    render_claims(
        &map(json!({"n": "Zoë 東\n", "a": "plain"})),
        "OIDC-",
        ",",
        pass,
        None,
        None,
        &mut out,
    );
    assert_eq!(out.header("OIDC-n"), Some(&b"Zo\xeb ? "[..]));
    assert_eq!(out.header("OIDC-a"), Some(&b"plain"[..]));
}

#[test]
fn base64url_encoding() {
    let pass = PassClaimsAs {
        headers: true,
        environment: true,
        encoding: ClaimEncoding::Base64Url,
    };
    let mut out = ClaimOutput::new();
    render_claims(
        &map(json!({"n": "Zoë\n?>", "e": "", "b": true})),
        "OIDC-",
        ",",
        pass,
        None,
        None,
        &mut out,
    );
    // The raw value is encoded, newline included, without padding.
    assert_eq!(out.header("OIDC-n"), Some(&b"Wm_Dqwo_Pg"[..]));
    assert_eq!(out.header("OIDC-e"), Some(&b""[..]));
    assert_eq!(out.header("OIDC-b"), Some(&b"MQ"[..]));
    assert_eq!(out.env_var("OIDC-n"), Some(&b"Wm_Dqwo_Pg"[..]));
}

// ---- filters ------------------------------------------------------------------------------

#[test]
fn blacklist_and_whitelist() {
    let c = map(json!({"sub": "s", "email": "e", "phone": "p"}));
    let black = vec!["phone".to_string()];
    let white = vec!["sub".to_string(), "phone".to_string()];
    let names = |w: Option<&[String]>, b: Option<&[String]>| {
        let mut out = ClaimOutput::new();
        render_claims(&c, "OIDC-", ",", HEADERS, w, b, &mut out);
        out.headers.into_iter().map(|(n, _)| n).collect::<Vec<_>>()
    };
    assert_eq!(names(None, Some(&black)), ["OIDC-sub", "OIDC-email"]);
    assert_eq!(names(Some(&white), None), ["OIDC-sub", "OIDC-phone"]);
    assert_eq!(names(Some(&white), Some(&black)), ["OIDC-sub"]);
    assert!(names(Some(&[]), None).is_empty());
    let case = vec!["SUB".to_string()];
    assert!(names(Some(&case), None).is_empty(), "names compare exactly");
}

// ---- scrubbing ----------------------------------------------------------------------------

#[test]
fn scrub_fixed_prefix_and_oidc_dash_prefix() {
    let incoming = [
        "Host",
        "OIDC-sub",
        "oidc-email",
        "OIDC_access_token",
        "oidc_x",
        "Oidc.y",
        "OIDC",
        "OIDCX-a",
        "X-OIDC-sub",
        "Cookie",
        "oidc ",
        "OIDC-",
    ];
    let scrub = headers_to_scrub(&incoming, "OIDC-", None, None);
    assert_eq!(
        scrub,
        [
            "OIDC-sub",
            "oidc-email",
            "OIDC_access_token",
            "oidc_x",
            "Oidc.y",
            "oidc ",
            "OIDC-"
        ]
    );
}

#[test]
fn scrub_custom_prefix() {
    let incoming = [
        "X-Claim-sub",
        "x_claim_email",
        "X.CLAIM.z",
        "X-Claims",
        "X-Clai",
        "OIDC_access_token",
        "Other",
    ];
    let scrub = headers_to_scrub(&incoming, "X-Claim-", None, None);
    assert_eq!(
        scrub,
        [
            "X-Claim-sub",
            "x_claim_email",
            "X.CLAIM.z",
            "OIDC_access_token"
        ]
    );
}

#[test]
fn scrub_default_prefix() {
    let incoming = ["OIDC_CLAIM_sub", "oidc-claim-x", "OIDC_other", "Accept"];
    assert_eq!(
        headers_to_scrub(&incoming, "OIDC_CLAIM_", None, None),
        ["OIDC_CLAIM_sub", "oidc-claim-x", "OIDC_other"]
    );
}

#[test]
fn scrub_authn_header() {
    let incoming = [
        "X-Remote-User",
        "x-remote-user",
        "x_remote_user",
        "X-Remote-Users",
        "Accept",
    ];
    assert_eq!(
        headers_to_scrub(&incoming, "OIDC-", Some("X-Remote-User"), None),
        ["X-Remote-User", "x-remote-user", "x_remote_user"]
    );
}

#[test]
fn scrub_empty_prefix() {
    let incoming = ["sub", "Email", "OIDC_access_token", "Host"];
    // Without a whitelist only the fixed prefix goes (C warns that this is insecure).
    assert_eq!(
        headers_to_scrub(&incoming, "", None, None),
        ["OIDC_access_token"]
    );
    let white = vec!["sub".to_string(), "email".to_string()];
    assert_eq!(
        headers_to_scrub(&incoming, "", None, Some(&white)),
        ["sub", "Email", "OIDC_access_token"]
    );
    // With a prefix the whitelist plays no part in scrubbing.
    assert_eq!(
        headers_to_scrub(&incoming, "P-", None, Some(&white)),
        ["OIDC_access_token"]
    );
}

#[test]
fn scrub_non_ascii_names() {
    assert!(
        must_scrub("OIDC\u{e9}x", "OIDC-", None, None),
        "é bytes are '_' in env form"
    );
    assert!(!must_scrub("\u{e9}", "OIDC-", None, None));
    assert!(!must_scrub("", "OIDC-", None, None));
}

// ---- REMOTE_USER --------------------------------------------------------------------------

fn spec(claim: &str, append_issuer: bool, re: Option<&str>, rep: Option<&str>) -> RemoteUserClaim {
    RemoteUserClaim {
        claim: claim.into(),
        append_issuer,
        regex: re.map(|r| regex_lite::Regex::new(r).expect("test regex")),
        replacement: rep.map(str::to_owned),
    }
}

#[test]
fn remote_user_plain() {
    let c = map(json!({"sub": "zoe", "n": 5, "arr": ["a"], "nul": null}));
    assert_eq!(
        remote_user(&c, &spec("sub", false, None, None), None).as_deref(),
        Some("zoe")
    );
    assert_eq!(remote_user(&c, &spec("n", false, None, None), None), None);
    assert_eq!(remote_user(&c, &spec("arr", false, None, None), None), None);
    assert_eq!(remote_user(&c, &spec("nul", false, None, None), None), None);
    assert_eq!(
        remote_user(&c, &spec("missing", false, None, None), None),
        None
    );
}

#[test]
fn remote_user_with_issuer() {
    let c = map(json!({"sub": "zoe"}));
    let s = spec("sub", true, None, None);
    assert_eq!(
        remote_user(&c, &s, Some("https://idp.example.com")).as_deref(),
        Some("zoe@idp.example.com")
    );
    assert_eq!(
        remote_user(&c, &s, Some("https://idp.example.com/realms/x")).as_deref(),
        Some("zoe@idp.example.com/realms/x")
    );
    assert_eq!(
        remote_user(&c, &s, Some("http://idp:8080")).as_deref(),
        Some("zoe@http://idp:8080")
    );
    // C quirk: "https://" anywhere makes it drop the first 8 bytes.
    assert_eq!(
        remote_user(&c, &s, Some("urn:x:https://y")).as_deref(),
        Some("zoe@tps://y")
    );
    // No '@' without the flag.
    assert_eq!(
        remote_user(&c, &spec("sub", false, None, None), Some("https://i")).as_deref(),
        Some("zoe")
    );
}

#[test]
fn remote_user_oauth_mode_keeps_at_in_claim_name() {
    let c = map(json!({"sub": "zoe", "sub@": "odd"}));
    assert_eq!(
        remote_user(&c, &spec("sub", true, None, None), None).as_deref(),
        Some("odd")
    );
    let c = map(json!({"sub": "zoe"}));
    assert_eq!(remote_user(&c, &spec("sub", true, None, None), None), None);
}

#[test]
fn remote_user_regex_first_group() {
    let c = map(json!({"email": "zoe@example.com"}));
    let s = spec("email", false, Some("^(.*)@example\\.com$"), None);
    assert_eq!(remote_user(&c, &s, None).as_deref(), Some("zoe"));
    // No match, no group, group not taking part: no user.
    assert_eq!(
        remote_user(&c, &spec("email", false, Some("^(.*)@other$"), None), None),
        None
    );
    assert_eq!(
        remote_user(&c, &spec("email", false, Some("zoe"), None), None),
        None
    );
    assert_eq!(
        remote_user(&c, &spec("email", false, Some("(x)?zoe"), None), None),
        None
    );
    // Regex then issuer.
    let s = spec("email", true, Some("^([^@]+)"), None);
    assert_eq!(
        remote_user(&c, &s, Some("https://i.example")).as_deref(),
        Some("zoe@i.example")
    );
}

#[test]
fn remote_user_regex_replacement() {
    let c = map(json!({"email": "zoe@example.com", "path": "a/b/c"}));
    let r = |claim: &str, re: &str, rep: &str| {
        remote_user(&c, &spec(claim, false, Some(re), Some(rep)), None)
    };
    assert_eq!(
        r("email", "^(.*)@(.*)$", "$2\\$1").as_deref(),
        Some("example.com\\zoe")
    );
    assert_eq!(
        r("email", "^(.*)@example\\.com$", "${1}x").as_deref(),
        Some("zoex")
    );
    assert_eq!(
        r("email", "^(.*)@example\\.com$", "$1a").as_deref(),
        Some("zoea"),
        "PCRE2 reads digits only"
    );
    assert_eq!(r("email", "@.*", "").as_deref(), Some("zoe"));
    assert_eq!(
        r("email", "(?P<user>[^@]+)@.*", "u=$user").as_deref(),
        Some("u=zoe")
    );
    assert_eq!(
        r("email", "(?P<user>[^@]+)@.*", "u=${user}!").as_deref(),
        Some("u=zoe!")
    );
    assert_eq!(
        r("email", "e", "E").as_deref(),
        Some("zoE@ExamplE.com"),
        "global"
    );
    assert_eq!(
        r("email", "^.*$", "$$ $0").as_deref(),
        Some("$ zoe@example.com")
    );
    assert_eq!(r("path", "/", "\\").as_deref(), Some("a\\b\\c"));
    // Failures: no match, bad group, unset group, bad `$`.
    assert_eq!(r("email", "^nomatch$", "x"), None);
    assert_eq!(r("email", "^(.*)$", "$2"), None);
    assert_eq!(r("email", "^(.*)$", "$nope"), None);
    assert_eq!(r("email", "^(x)?(.*)$", "$1"), None);
    assert_eq!(r("email", "^(.*)$", "a$"), None);
    assert_eq!(r("email", "^(.*)$", "a$-"), None);
    assert_eq!(r("email", "^(.*)$", "${1"), None);
}

#[test]
fn set_header_never_carries_control_bytes() {
    let mut out = ClaimOutput::new();
    out.set_header("X-Remote-User".into(), b"zoe\r\nX-Evil: 1\0".to_vec());
    out.set_env("REMOTE".into(), b"a\nb".to_vec());
    assert_eq!(out.header("x-remote-user"), Some(&b"zoe  X-Evil: 1 "[..]));
    assert_eq!(out.env_var("REMOTE"), Some(&b"a b"[..]));
    // Latin-1 bytes above 0x7F are not touched.
    out.set_header("L".into(), vec![0x80, 0xe9, 0xff]);
    assert_eq!(out.header("L"), Some(&[0x80u8, 0xe9, 0xff][..]));
}

#[test]
fn merge_like_jansson_object_set() {
    let mut dst = map(json!({"sub": "u", "email": "e", "name": "n"}));
    let src = map(json!({"iss": "i", "sub": "s", "aud": "a"}));
    merge_claims(&mut dst, &src);
    let keys: Vec<_> = dst.keys().map(String::as_str).collect();
    assert_eq!(keys, ["sub", "email", "name", "iss", "aud"]);
    assert_eq!(dst["sub"], "s");
}
