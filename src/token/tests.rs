use super::*;
use crate::request::TestRequest;
use base64::Engine as _;

fn found(s: &str) -> Extracted<'static> {
    Extracted::Found(Cow::Owned(s.to_owned()))
}

fn basic(userpass: &[u8]) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(userpass)
    )
}

const HEADER: &[TokenSource] = &[TokenSource::Header];

// ---- Authorization: Bearer ----------------------------------------------------------------

#[test]
fn bearer_header() {
    let r = TestRequest::get().with_header("Authorization", "Bearer abc.def.ghi");
    assert_eq!(extract_token(&r, HEADER), found("abc.def.ghi"));
}

#[test]
fn bearer_is_the_default_source() {
    let r = TestRequest::get().with_header("Authorization", "Bearer t");
    assert_eq!(extract_token(&r, &[]), found("t"));
    let r = TestRequest::get().with_query("access_token=t");
    assert_eq!(extract_token(&r, &[]), Extracted::NotFound);
}

#[test]
fn bearer_scheme_is_case_insensitive() {
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let r = TestRequest::get().with_header("Authorization", &format!("{scheme} tok"));
        assert_eq!(extract_token(&r, HEADER), found("tok"), "{scheme}");
    }
    let r = TestRequest::get().with_header("authorization", "Bearer tok");
    assert_eq!(extract_token(&r, HEADER), found("tok"), "header name case");
}

#[test]
fn bearer_with_many_spaces_and_tabs() {
    let r = TestRequest::get().with_header("Authorization", "Bearer    tok");
    assert_eq!(extract_token(&r, HEADER), found("tok"));
    let r = TestRequest::get().with_header("Authorization", "Bearer \t tok");
    assert_eq!(extract_token(&r, HEADER), found("tok"));
}

#[test]
fn bearer_without_token_is_an_empty_token() {
    let r = TestRequest::get().with_header("Authorization", "Bearer");
    assert_eq!(extract_token(&r, HEADER), found(""));
    let r = TestRequest::get().with_header("Authorization", "Bearer   ");
    assert_eq!(extract_token(&r, HEADER), found(""));
    // An empty token ends the search: the query is not looked at.
    let r = TestRequest::get()
        .with_header("Authorization", "Bearer")
        .with_query("access_token=q");
    assert_eq!(
        extract_token(&r, &[TokenSource::Header, TokenSource::Query]),
        found("")
    );
}

#[test]
fn bearer_token_returned_as_sent() {
    let r = TestRequest::get().with_header("Authorization", "Bearer a b\tc ");
    assert_eq!(extract_token(&r, HEADER), found("a b\tc "));
    // Two Authorization headers reach us merged by httpd with ", ".
    let r = TestRequest::get().with_header("Authorization", "Bearer one, Bearer two");
    assert_eq!(extract_token(&r, HEADER), found("one, Bearer two"));
}

#[test]
fn other_schemes_are_not_bearer() {
    for line in [
        "Basic dXNlcjpwYXNz",
        "Bearertok",
        "Bearer-x tok",
        " Bearer tok",
        "Token tok",
        "",
    ] {
        let r = TestRequest::get().with_header("Authorization", line);
        assert_eq!(extract_token(&r, HEADER), Extracted::NotFound, "{line:?}");
    }
}

#[test]
fn bearer_not_accepted_when_only_other_sources() {
    let r = TestRequest::get().with_header("Authorization", "Bearer tok");
    assert_eq!(
        extract_token(&r, &[TokenSource::Query]),
        Extracted::NotFound
    );
}

// ---- Authorization: Basic -----------------------------------------------------------------

#[test]
fn basic_password_is_the_token() {
    let r = TestRequest::get().with_header("Authorization", &basic(b"user:tok"));
    assert_eq!(extract_token(&r, &[TokenSource::Basic]), found("tok"));
    let r = TestRequest::get().with_header("Authorization", &basic(b"user:to:k"));
    assert_eq!(extract_token(&r, &[TokenSource::Basic]), found("to:k"));
    let r = TestRequest::get().with_header("Authorization", &basic(b":tok"));
    assert_eq!(extract_token(&r, &[TokenSource::Basic]), found("tok"));
    let r = TestRequest::get().with_header("Authorization", &basic(b"user:"));
    assert_eq!(extract_token(&r, &[TokenSource::Basic]), found(""));
}

#[test]
fn basic_without_colon_is_not_a_token() {
    let r = TestRequest::get().with_header("Authorization", &basic(b"usertok"));
    assert_eq!(
        extract_token(&r, &[TokenSource::Basic]),
        Extracted::NotFound
    );
    // A colon after a NUL does not count.
    let r = TestRequest::get().with_header("Authorization", &basic(b"user\0:tok"));
    assert_eq!(
        extract_token(&r, &[TokenSource::Basic]),
        Extracted::NotFound
    );
    let r = TestRequest::get().with_header("Authorization", "Basic !!!");
    assert_eq!(
        extract_token(&r, &[TokenSource::Basic]),
        Extracted::NotFound
    );
    let r = TestRequest::get().with_header("Authorization", "Basic");
    assert_eq!(
        extract_token(&r, &[TokenSource::Basic]),
        Extracted::NotFound
    );
}

#[test]
fn basic_decoding_is_lenient_like_apr() {
    // Padding and anything after it is ignored.
    let r = TestRequest::get().with_header("Authorization", "Basic dTp0b2s=garbage");
    assert_eq!(extract_token(&r, &[TokenSource::Basic]), found("tok"));
    // Missing padding is fine.
    let r = TestRequest::get().with_header("Authorization", "Basic dTp0b2s");
    assert_eq!(extract_token(&r, &[TokenSource::Basic]), found("tok"));
    // Like C, the scheme word is not checked.
    let r = TestRequest::get().with_header("Authorization", "Whatever dTp0b2s=");
    assert_eq!(extract_token(&r, &[TokenSource::Basic]), found("tok"));
}

#[test]
fn header_and_basic_together() {
    let both = &[TokenSource::Header, TokenSource::Basic];
    let r = TestRequest::get().with_header("Authorization", "Bearer bt");
    assert_eq!(extract_token(&r, both), found("bt"));
    let r = TestRequest::get().with_header("Authorization", &basic(b"u:pw"));
    assert_eq!(extract_token(&r, both), found("pw"));
    // Basic only: a "Bearer" header is read as Basic credentials (C behaviour).
    let r = TestRequest::get().with_header("Authorization", "Bearer dTp0b2s=");
    assert_eq!(extract_token(&r, &[TokenSource::Basic]), found("tok"));
}

#[test]
fn apr_base64_decode_prefix_rules() {
    assert_eq!(apr_base64_decode(b"TWFu"), b"Man");
    assert_eq!(apr_base64_decode(b"TWE"), b"Ma");
    assert_eq!(apr_base64_decode(b"TQ"), b"M");
    assert_eq!(apr_base64_decode(b"T"), b"");
    assert_eq!(apr_base64_decode(b"TWFuT"), b"Man");
    assert_eq!(apr_base64_decode(b"TW-u"), b"M");
    assert_eq!(apr_base64_decode(b""), b"");
    assert_eq!(apr_base64_decode(b"+/+/"), [0xfb, 0xff, 0xbf]);
}

// ---- POST body ----------------------------------------------------------------------------

#[test]
fn post_body() {
    let r = TestRequest::default().with_form_body("POST", "a=1&access_token=tok%2Bx+y&b=2");
    assert_eq!(extract_token(&r, &[TokenSource::Post]), found("tok+x y"));
}

#[test]
fn post_body_only_for_post() {
    let r = TestRequest::default().with_form_body("PUT", "access_token=tok");
    assert_eq!(extract_token(&r, &[TokenSource::Post]), Extracted::NotFound);
    let r = TestRequest::default().with_form_body("POST", "access_token=tok");
    assert_eq!(extract_token(&r, HEADER), Extracted::NotFound);
    let r = TestRequest {
        method: "POST".into(),
        ..Default::default()
    };
    assert_eq!(extract_token(&r, &[TokenSource::Post]), Extracted::NotFound);
}

#[test]
fn post_body_c_table_semantics() {
    // Last occurrence wins, names compare case-insensitively after decoding.
    let r = TestRequest::default().with_form_body("POST", "access_token=a&ACCESS_TOKEN=b");
    assert_eq!(extract_token(&r, &[TokenSource::Post]), found("b"));
    let r = TestRequest::default().with_form_body("POST", "access%5Ftoken=c");
    assert_eq!(extract_token(&r, &[TokenSource::Post]), found("c"));
    // No '=' gives an empty value; leading '=' of a value are dropped.
    let r = TestRequest::default().with_form_body("POST", "access_token");
    assert_eq!(extract_token(&r, &[TokenSource::Post]), found(""));
    let r = TestRequest::default().with_form_body("POST", "access_token==x==");
    assert_eq!(extract_token(&r, &[TokenSource::Post]), found("x=="));
}

// ---- query --------------------------------------------------------------------------------

#[test]
fn query_param() {
    let r = TestRequest::get().with_query("x=1&access_token=q%2e1&&y");
    assert_eq!(extract_token(&r, &[TokenSource::Query]), found("q.1"));
    let r = TestRequest::get().with_query("access_tokens=q");
    assert_eq!(
        extract_token(&r, &[TokenSource::Query]),
        Extracted::NotFound
    );
    let r = TestRequest::get().with_query("");
    assert_eq!(
        extract_token(&r, &[TokenSource::Query]),
        Extracted::NotFound
    );
    let r = TestRequest::get();
    assert_eq!(
        extract_token(&r, &[TokenSource::Query]),
        Extracted::NotFound
    );
}

// ---- cookie -------------------------------------------------------------------------------

#[test]
fn cookie_source() {
    let src = &[TokenSource::Cookie("PA.global".into())];
    let r = TestRequest::get().with_header("Cookie", "a=1; PA.global=tok; b=2");
    assert_eq!(extract_token(&r, src), found("tok"));
    let r = TestRequest::get().with_header("Cookie", "pa.global=tok");
    assert_eq!(extract_token(&r, src), Extracted::NotFound);
    let r = TestRequest::get().with_header("Cookie", "XPA.global=tok");
    assert_eq!(extract_token(&r, src), Extracted::NotFound);
    let r = TestRequest::get();
    assert_eq!(extract_token(&r, src), Extracted::NotFound);
}

#[test]
fn cookie_value_parsing() {
    assert_eq!(cookie_value("a=1; b=2", "b"), Some("2"));
    assert_eq!(cookie_value("a=1;b=2", "b"), Some("2"));
    assert_eq!(cookie_value("b=1; b=2", "b"), Some("1"), "first wins");
    assert_eq!(cookie_value("ab=1; b=2", "b"), Some("2"));
    assert_eq!(cookie_value("b =1", "b"), None);
    assert_eq!(cookie_value("b=", "b"), Some(""));
    assert_eq!(cookie_value("b=x=y", "b"), Some("x=y"));
    assert_eq!(cookie_value("b=\"q\"", "b"), Some("\"q\""));
    assert_eq!(cookie_value("a=1;;  \tb=v \t; c", "b"), Some("v"));
    assert_eq!(cookie_value("", "b"), None);
    assert_eq!(cookie_value("b", "b"), None);
    assert_eq!(
        cookie_value("mod_auth_openidc_session=abc", "mod_auth_openidc_session"),
        Some("abc")
    );
}

// ---- order of sources ---------------------------------------------------------------------

#[test]
fn sources_are_tried_in_c_order_not_list_order() {
    let all = &[
        TokenSource::Cookie("c".into()),
        TokenSource::Query,
        TokenSource::Post,
        TokenSource::Header,
    ];
    let r = TestRequest::default()
        .with_form_body("POST", "access_token=post")
        .with_query("access_token=query")
        .with_header("Cookie", "c=cookie")
        .with_header("Authorization", "Bearer header");
    assert_eq!(extract_token(&r, all), found("header"));
    let mut r2 = r.clone();
    r2.headers.retain(|(n, _)| n != "Authorization");
    assert_eq!(extract_token(&r2, all), found("post"));
    r2.body = None;
    assert_eq!(extract_token(&r2, all), found("query"));
    r2.query = None;
    assert_eq!(extract_token(&r2, all), found("cookie"));
    r2.headers.clear();
    assert_eq!(extract_token(&r2, all), Extracted::NotFound);
}

#[test]
fn unusable_authorization_falls_through_to_other_sources() {
    let src = &[TokenSource::Header, TokenSource::Query];
    let r = TestRequest::get()
        .with_header("Authorization", "Basic dTpw")
        .with_query("access_token=q");
    assert_eq!(extract_token(&r, src), found("q"));
}

// ---- helpers ------------------------------------------------------------------------------

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("a%20b"), "a b");
    assert_eq!(percent_decode("a+b"), "a+b");
    assert_eq!(percent_decode("%41%4a%4A"), "AJJ");
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%zz%4"), "%zz%4");
    assert_eq!(percent_decode("%C3%A9"), "é");
    assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    assert_eq!(percent_decode("%00"), "\0");
    assert!(matches!(percent_decode("plain"), Cow::Borrowed(_)));
}

#[test]
fn form_decoding() {
    assert_eq!(form_decode(b"a+b%2B"), "a b+");
    assert_eq!(form_decode(b"caf%C3%A9"), "café");
    assert!(matches!(form_decode(b"plain"), Cow::Borrowed(_)));
}

#[test]
fn form_params() {
    assert_eq!(form_param("a=1&b=2", "b").as_deref(), Some("2"));
    assert_eq!(form_param("a=1&b=2&b=3", "b").as_deref(), Some("3"));
    assert_eq!(form_param("a=1", "b"), None);
    assert_eq!(form_param("B=1", "b"), None, "exact name");
    assert_eq!(form_param("b", "b").as_deref(), Some(""));
    assert_eq!(form_param("b==x", "b").as_deref(), Some("=x"));
    assert_eq!(form_param("st%61te=x%26y", "state").as_deref(), Some("x&y"));
    assert_eq!(
        form_param(b"&&b=+1&".as_slice(), "b").as_deref(),
        Some(" 1")
    );
    let pairs: Vec<_> = form_pairs(b"x=1&y&z=")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let want: Vec<(String, String)> = [("x", "1"), ("y", ""), ("z", "")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(pairs, want);
}
