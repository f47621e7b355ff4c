//! The userinfo endpoint (OIDC Core §5.3): the access token is presented as
//! `Authorization: Bearer` (GET) or as a form parameter (POST), per `OIDCUserInfoTokenMethod`;
//! the answer must be 200 with a JSON object whose `sub` equals the ID token's (§5.3.2, OIDF
//! test oidcc-client-test-userinfo-invalid-sub). Claims keep the provider's member order.
//!
//! Not done: signed or encrypted userinfo (`application/jwt`) is refused with
//! [`UserInfoError::SignedNotSupported`]; aggregated/distributed claims
//! (`_claim_names`/`_claim_sources`) are passed on as they are, unresolved.

use std::fmt;

use serde_json::{Map, Value};

use super::token_endpoint::clean;
use crate::deps::{HttpClient, HttpError, HttpMethod, HttpRequest, HttpResponse};
use crate::token::form_encode;

/// `OIDCUserInfoTokenMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserInfoTokenMethod {
    /// `authz_header` (default): GET with `Authorization: Bearer <token>`.
    #[default]
    AuthzHeader,
    /// `post_param`: POST with the form body `access_token=<token>`.
    PostParam,
}

impl UserInfoTokenMethod {
    /// Every directive value with its method (the one list the config layer parses with).
    pub const VALUES: &'static [(&'static str, UserInfoTokenMethod)] = &[
        ("authz_header", UserInfoTokenMethod::AuthzHeader),
        ("post_param", UserInfoTokenMethod::PostParam),
    ];

    /// The directive value (`authz_header` or `post_param`, as the reference module: exact).
    pub fn parse(s: &str) -> Option<UserInfoTokenMethod> {
        Self::VALUES.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
    }

    pub fn as_str(self) -> &'static str {
        Self::VALUES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("", |(n, _)| *n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserInfoError {
    /// No answer: transport failure, timeout, or a body larger than the client accepts.
    Unavailable(HttpError),
    /// A status other than 200. `error` is the OAuth error from a JSON body or the
    /// `WWW-Authenticate: Bearer error="..."` header (e.g. `invalid_token`), when there is one.
    Status { status: u16, error: Option<String> },
    /// A 200 answer with an `error` member.
    ErrorResponse {
        error: String,
        description: Option<String>,
    },
    /// A signed or encrypted (JWT) userinfo answer: not supported.
    SignedNotSupported,
    /// A 200 answer that is not a JSON object.
    BadResponse(String),
    /// The answer has no `sub` string.
    MissingSub,
    /// The answer's `sub` is not the ID token's.
    SubMismatch { expected: String, got: String },
}

impl UserInfoError {
    /// True when the provider could not be reached, failed on its side (5xx) or answered
    /// garbage (as the token endpoint's errors: a 503 page, not a refused login).
    pub fn is_outage(&self) -> bool {
        match self {
            UserInfoError::Unavailable(_) | UserInfoError::BadResponse(_) => true,
            UserInfoError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

impl fmt::Display for UserInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserInfoError::Unavailable(e) => write!(f, "userinfo endpoint unavailable: {e}"),
            UserInfoError::Status { status, error } => {
                write!(f, "userinfo endpoint answered HTTP {status}")?;
                if let Some(e) = error {
                    write!(f, " with error {e:?}")?;
                }
                Ok(())
            }
            UserInfoError::ErrorResponse { error, description } => {
                write!(f, "userinfo endpoint returned error {error:?}")?;
                if let Some(d) = description {
                    write!(f, ": {d:?}")?;
                }
                Ok(())
            }
            UserInfoError::SignedNotSupported => {
                write!(f, "signed userinfo responses are not supported")
            }
            UserInfoError::BadResponse(m) => {
                write!(f, "userinfo endpoint answer is not usable: {m}")
            }
            UserInfoError::MissingSub => write!(
                f,
                "mandatory claim \"sub\" was not returned from the userinfo endpoint"
            ),
            UserInfoError::SubMismatch { expected, got } => write!(
                f,
                "\"sub\" claim ({got:?}) returned from the userinfo endpoint does not match the one in the id_token ({expected:?})"
            ),
        }
    }
}

impl std::error::Error for UserInfoError {}

/// The request for `method`, without sending it.
pub fn build_request(
    endpoint: &str,
    access_token: &str,
    method: UserInfoTokenMethod,
) -> HttpRequest {
    match method {
        UserInfoTokenMethod::AuthzHeader => HttpRequest {
            method: HttpMethod::Get,
            url: endpoint.to_owned(),
            headers: vec![("Authorization".to_owned(), format!("Bearer {access_token}"))],
            body: None,
        },
        UserInfoTokenMethod::PostParam => HttpRequest {
            method: HttpMethod::Post,
            url: endpoint.to_owned(),
            headers: Vec::new(),
            body: Some(
                form_encode(&[("access_token".to_owned(), access_token.to_owned())]).into_bytes(),
            ),
        },
    }
}

/// Fetch the claims and check that `sub` is present and equals `expected_sub`.
pub fn fetch(
    http: &dyn HttpClient,
    endpoint: &str,
    access_token: &str,
    method: UserInfoTokenMethod,
    expected_sub: &str,
) -> Result<Map<String, Value>, UserInfoError> {
    let claims = fetch_claims(http, endpoint, access_token, method)?;
    check_sub(&claims, expected_sub)?;
    Ok(claims)
}

/// Fetch the claims without the `sub` check (for callers that implement `OIDC_NO_USERINFO_SUB`;
/// use [`check_sub`] otherwise).
pub fn fetch_claims(
    http: &dyn HttpClient,
    endpoint: &str,
    access_token: &str,
    method: UserInfoTokenMethod,
) -> Result<Map<String, Value>, UserInfoError> {
    let resp = http
        .send(&build_request(endpoint, access_token, method))
        .map_err(UserInfoError::Unavailable)?;
    parse_response(&resp)
}

/// `sub` must be a string equal to `expected_sub`.
pub fn check_sub(claims: &Map<String, Value>, expected_sub: &str) -> Result<(), UserInfoError> {
    match claims.get("sub") {
        Some(Value::String(s)) if s == expected_sub => Ok(()),
        Some(Value::String(s)) => Err(UserInfoError::SubMismatch {
            expected: clean(expected_sub),
            got: clean(s),
        }),
        _ => Err(UserInfoError::MissingSub),
    }
}

fn is_jwt_media_type(resp: &HttpResponse) -> bool {
    resp.header("Content-Type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/jwt"))
    })
}

/// Three or five dot-separated base64url parts: a compact JWS or JWE.
fn looks_like_compact_jwt(body: &[u8]) -> bool {
    let s = body.trim_ascii();
    let parts = s.split(|b| *b == b'.').count();
    !s.is_empty()
        && (parts == 3 || parts == 5)
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn parse_response(resp: &HttpResponse) -> Result<Map<String, Value>, UserInfoError> {
    if resp.status != 200 {
        return Err(UserInfoError::Status {
            status: resp.status,
            error: status_error(resp),
        });
    }
    if is_jwt_media_type(resp) {
        return Err(UserInfoError::SignedNotSupported);
    }
    match serde_json::from_slice::<Value>(&resp.body) {
        Ok(Value::Object(m)) => {
            if let Some(e) = m.get("error").filter(|e| !e.is_null()) {
                let error = match e {
                    Value::String(s) => clean(s),
                    other => clean(&other.to_string()),
                };
                let description = match m.get("error_description") {
                    Some(Value::String(s)) => Some(clean(s)),
                    _ => None,
                };
                return Err(UserInfoError::ErrorResponse { error, description });
            }
            Ok(m)
        }
        Ok(_) => Err(UserInfoError::BadResponse("not a JSON object".into())),
        Err(_) if looks_like_compact_jwt(&resp.body) => Err(UserInfoError::SignedNotSupported),
        Err(_) => Err(UserInfoError::BadResponse("not JSON".into())),
    }
}

/// The OAuth error of a non-200 answer: `error` of a JSON body, or `error="..."` of a
/// `WWW-Authenticate: Bearer` header (RFC 6750 §3).
fn status_error(resp: &HttpResponse) -> Option<String> {
    if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&resp.body)
        && let Some(Value::String(e)) = m.get("error")
    {
        return Some(clean(e));
    }
    let h = resp.header("WWW-Authenticate")?;
    let start = h.find("error=\"")? + "error=\"".len();
    let rest = h.get(start..)?;
    let end = rest.find('"')?;
    rest.get(..end).map(clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::form_pairs;
    use serde_json::json;
    use std::sync::Mutex;

    const EP: &str = "https://op.example/userinfo";

    struct Fake {
        seen: Mutex<Vec<HttpRequest>>,
        resp: Result<HttpResponse, HttpError>,
    }

    impl HttpClient for Fake {
        fn send(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
            self.seen.lock().unwrap().push(req.clone());
            self.resp.clone()
        }
    }

    fn fake(status: u16, ct: &str, body: &[u8]) -> Fake {
        Fake {
            seen: Mutex::new(Vec::new()),
            resp: Ok(HttpResponse {
                status,
                headers: vec![("content-type".into(), ct.into())],
                body: body.to_vec(),
            }),
        }
    }

    fn json_ok(v: Value) -> Fake {
        fake(200, "application/json", v.to_string().as_bytes())
    }

    fn get(f: &Fake) -> Result<Map<String, Value>, UserInfoError> {
        fetch(f, EP, "AT+/=", UserInfoTokenMethod::AuthzHeader, "alice")
    }

    #[test]
    fn authz_header_mode_sends_bearer_get() {
        let f = json_ok(json!({"sub": "alice", "name": "A", "email": "a@x"}));
        let claims = get(&f).unwrap();
        let req = f.seen.lock().unwrap()[0].clone();
        assert_eq!(req.method, HttpMethod::Get);
        assert_eq!(req.url, EP);
        assert_eq!(
            req.headers,
            vec![("Authorization".to_string(), "Bearer AT+/=".to_string())]
        );
        assert_eq!(req.body, None);
        assert_eq!(
            claims.keys().collect::<Vec<_>>(),
            ["sub", "name", "email"],
            "provider order kept"
        );
    }

    #[test]
    fn post_param_mode_sends_the_token_in_the_body() {
        let f = json_ok(json!({"sub": "alice"}));
        fetch(&f, EP, "AT+/=", UserInfoTokenMethod::PostParam, "alice").unwrap();
        let req = f.seen.lock().unwrap()[0].clone();
        assert_eq!(req.method, HttpMethod::Post);
        assert!(req.headers.iter().all(|(n, _)| n != "Authorization"));
        let body = req.body.unwrap();
        assert_eq!(body, b"access_token=AT%2B%2F%3D");
        let pairs: Vec<_> = form_pairs(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(pairs, [("access_token".to_string(), "AT+/=".to_string())]);
    }

    #[test]
    fn invalid_sub_is_rejected() {
        let e = get(&json_ok(json!({"sub": "mallory", "name": "M"}))).unwrap_err();
        assert_eq!(
            e,
            UserInfoError::SubMismatch {
                expected: "alice".into(),
                got: "mallory".into()
            }
        );
        // Case and whitespace matter.
        assert!(get(&json_ok(json!({"sub": "Alice"}))).is_err());
        assert!(get(&json_ok(json!({"sub": "alice "}))).is_err());
    }

    #[test]
    fn missing_or_non_string_sub_is_rejected() {
        for v in [
            json!({"name": "x"}),
            json!({"sub": null}),
            json!({"sub": 1}),
            json!({"sub": ["alice"]}),
        ] {
            assert_eq!(
                get(&json_ok(v.clone())),
                Err(UserInfoError::MissingSub),
                "{v}"
            );
        }
        // Without the check the claims are returned.
        let f = json_ok(json!({"name": "x"}));
        assert!(fetch_claims(&f, EP, "t", UserInfoTokenMethod::AuthzHeader).is_ok());
    }

    #[test]
    fn non_object_answers_are_bad() {
        for body in [
            &b"[{\"sub\":\"alice\"}]"[..],
            b"\"alice\"",
            b"null",
            b"<html>",
            b"",
        ] {
            let e = get(&fake(200, "application/json", body)).unwrap_err();
            assert!(
                matches!(e, UserInfoError::BadResponse(_)),
                "{}: {e:?}",
                String::from_utf8_lossy(body)
            );
            // Garbage from the provider is its failure, not a refused login: 503 like the
            // token endpoint's.
            assert!(e.is_outage());
        }
    }

    #[test]
    fn signed_userinfo_is_not_supported() {
        let jwt = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
        assert_eq!(
            get(&fake(200, "application/jwt; charset=UTF-8", jwt)),
            Err(UserInfoError::SignedNotSupported)
        );
        // A JWT body with a wrong content type is recognised too.
        assert_eq!(
            get(&fake(200, "text/plain", jwt)),
            Err(UserInfoError::SignedNotSupported)
        );
        // Even a JSON body declared as application/jwt is not taken as claims.
        assert_eq!(
            get(&fake(200, "Application/JWT", br#"{"sub":"alice"}"#)),
            Err(UserInfoError::SignedNotSupported)
        );
    }

    #[test]
    fn error_statuses() {
        let mut f = fake(401, "text/plain", b"");
        if let Ok(r) = &mut f.resp {
            r.headers.push((
                "WWW-Authenticate".into(),
                r#"Bearer realm="op", error="invalid_token", error_description="expired""#.into(),
            ));
        }
        let e = get(&f).unwrap_err();
        assert_eq!(
            e,
            UserInfoError::Status {
                status: 401,
                error: Some("invalid_token".into())
            }
        );
        assert!(!e.is_outage());
        let e = get(&fake(
            403,
            "application/json",
            br#"{"error":"insufficient_scope"}"#,
        ))
        .unwrap_err();
        assert_eq!(
            e,
            UserInfoError::Status {
                status: 403,
                error: Some("insufficient_scope".into())
            }
        );
        let e = get(&fake(503, "text/html", b"down")).unwrap_err();
        assert_eq!(
            e,
            UserInfoError::Status {
                status: 503,
                error: None
            }
        );
        assert!(e.is_outage());
        let e = get(&json_ok(
            json!({"error": "invalid_token", "error_description": "bad"}),
        ))
        .unwrap_err();
        assert_eq!(
            e,
            UserInfoError::ErrorResponse {
                error: "invalid_token".into(),
                description: Some("bad".into())
            }
        );
    }

    #[test]
    fn transport_errors_are_outages() {
        for err in [
            HttpError::Timeout,
            HttpError::TooLarge,
            HttpError::Transport("refused".into()),
        ] {
            let f = Fake {
                seen: Mutex::new(Vec::new()),
                resp: Err(err.clone()),
            };
            let e = get(&f).unwrap_err();
            assert_eq!(e, UserInfoError::Unavailable(err));
            assert!(e.is_outage());
        }
    }

    #[test]
    fn token_method_directive_values() {
        assert_eq!(
            UserInfoTokenMethod::parse("authz_header"),
            Some(UserInfoTokenMethod::AuthzHeader)
        );
        assert_eq!(
            UserInfoTokenMethod::parse("post_param"),
            Some(UserInfoTokenMethod::PostParam)
        );
        assert_eq!(UserInfoTokenMethod::parse("Post_Param"), None);
        assert_eq!(UserInfoTokenMethod::default().as_str(), "authz_header");
    }
}
