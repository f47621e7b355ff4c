//! The token endpoint (RFC 6749 §4.1.3 / §6, OIDC Core §3.1.3): the authorization-code
//! exchange of the callback and the refresh-token grant, with client authentication from
//! [`super::client_auth`].
//!
//! Errors are sorted so that the caller can answer an outage with 503 and a refusal with 401:
//! see [`TokenEndpointError::is_outage`].

use std::fmt;

use serde_json::{Map, Value};

use super::client_auth::{ClientAuthError, ClientCredentials};
use crate::deps::{HttpClient, HttpError, HttpMethod, HttpRequest, HttpResponse};
use crate::token::form_encode;

/// `expires_in` values above this (ten years) are treated as absent.
pub const MAX_EXPIRES_IN: i64 = 10 * 365 * 24 * 3600;

/// Provider-supplied error texts are cut to this many characters before they are kept.
const MAX_ERROR_TEXT: usize = 256;

/// A successful authorization-code exchange.
#[derive(Clone, PartialEq)]
pub struct TokenResponse {
    pub id_token: String,
    pub access_token: Option<String>,
    pub token_type: Option<String>,
    /// Seconds; `None` when absent, not a non-negative integer (or numeric string), or absurd.
    pub expires_in: Option<i64>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// The whole answer, in the provider's member order.
    pub raw: Map<String, Value>,
}

/// A successful refresh: as [`TokenResponse`], but the provider need not return a new ID token.
#[derive(Clone, PartialEq)]
pub struct RefreshResponse {
    pub id_token: Option<String>,
    pub access_token: Option<String>,
    pub token_type: Option<String>,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub raw: Map<String, Value>,
}

// Hand-written: tokens are credentials and must not end up in logs via `{:?}`.
impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("id_token", &"<redacted>")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

impl fmt::Debug for RefreshResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshResponse")
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEndpointError {
    /// No answer: transport failure, timeout, or a body larger than the client accepts.
    Unavailable(HttpError),
    /// An RFC 6749 §5.2 error object (`{"error": "...", "error_description": "..."}`), with any
    /// HTTP status (also 200: the reference module checks for `error` in every answer).
    /// The texts are the provider's, cut short and stripped of control characters.
    ErrorResponse {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// A status other than 200 without an error object (e.g. an HTML 502 page from a proxy).
    Status(u16),
    /// A 200 answer that is not usable: not JSON, not an object, members of the wrong type,
    /// no `id_token` for a code exchange.
    BadResponse(String),
    /// The client authentication could not be made (configuration problem).
    ClientAuth(ClientAuthError),
}

impl TokenEndpointError {
    /// True when the provider could not be reached or failed on its side (5xx): the user should
    /// see "service unavailable" (503), not "unauthorized".
    pub fn is_outage(&self) -> bool {
        match self {
            TokenEndpointError::Unavailable(_) => true,
            TokenEndpointError::Status(s) => *s >= 500,
            TokenEndpointError::ErrorResponse { status, .. } => *status >= 500,
            TokenEndpointError::BadResponse(_) | TokenEndpointError::ClientAuth(_) => false,
        }
    }
}

impl fmt::Display for TokenEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenEndpointError::Unavailable(e) => write!(f, "token endpoint unavailable: {e}"),
            TokenEndpointError::ErrorResponse {
                status,
                error,
                description,
            } => {
                write!(f, "token endpoint returned error {error:?} (HTTP {status})")?;
                if let Some(d) = description {
                    write!(f, ": {d:?}")?;
                }
                Ok(())
            }
            TokenEndpointError::Status(s) => write!(f, "token endpoint answered HTTP {s}"),
            TokenEndpointError::BadResponse(m) => {
                write!(f, "token endpoint answer is not usable: {m}")
            }
            TokenEndpointError::ClientAuth(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TokenEndpointError {}

/// Exchange an authorization code (RFC 6749 §4.1.3): POST `grant_type=authorization_code`,
/// `code`, `redirect_uri`, `code_verifier` (PKCE, when given), the client authentication, then
/// the `OIDCProviderTokenEndpointParams` (`extra_params`, decoded pairs; any whose name the
/// module already sent is skipped). The answer must be 200 with a JSON object holding an
/// `id_token` string.
#[allow(clippy::too_many_arguments)]
pub fn exchange_code(
    http: &dyn HttpClient,
    endpoint: &str,
    creds: &ClientCredentials,
    code: &str,
    redirect_uri: &str,
    pkce_verifier: Option<&str>,
    extra_params: &[(String, String)],
    now: i64,
) -> Result<TokenResponse, TokenEndpointError> {
    let mut form = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code.to_owned()),
        ("redirect_uri".to_owned(), redirect_uri.to_owned()),
    ];
    if let Some(v) = pkce_verifier {
        form.push(("code_verifier".to_owned(), v.to_owned()));
    }
    let fields = call(http, endpoint, creds, form, extra_params, now)?;
    let id_token = fields.id_token.ok_or_else(|| {
        TokenEndpointError::BadResponse("no id_token in the token response".into())
    })?;
    Ok(TokenResponse {
        id_token,
        access_token: fields.access_token,
        token_type: fields.token_type,
        expires_in: fields.expires_in,
        refresh_token: fields.refresh_token,
        scope: fields.scope,
        raw: fields.raw,
    })
}

/// Use a refresh token (RFC 6749 §6): POST `grant_type=refresh_token`, `refresh_token`,
/// `scope` (when given; the reference module sends the configured scope), the client
/// authentication and `extra_params`. The ID token is optional in the answer.
pub fn refresh(
    http: &dyn HttpClient,
    endpoint: &str,
    creds: &ClientCredentials,
    refresh_token: &str,
    scope: Option<&str>,
    extra_params: &[(String, String)],
    now: i64,
) -> Result<RefreshResponse, TokenEndpointError> {
    let mut form = vec![
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), refresh_token.to_owned()),
    ];
    if let Some(s) = scope {
        form.push(("scope".to_owned(), s.to_owned()));
    }
    call(http, endpoint, creds, form, extra_params, now)
}

/// The request, without sending it (separate for tests and logging).
pub fn build_request(
    endpoint: &str,
    creds: &ClientCredentials,
    mut form: Vec<(String, String)>,
    extra_params: &[(String, String)],
    now: i64,
) -> Result<HttpRequest, TokenEndpointError> {
    let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
    creds
        .apply(endpoint, now, &mut form, &mut headers)
        .map_err(TokenEndpointError::ClientAuth)?;
    let own: Vec<String> = form.iter().map(|(n, _)| n.clone()).collect();
    for (name, value) in extra_params {
        if !own.contains(name) {
            form.push((name.clone(), value.clone()));
        }
    }
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: endpoint.to_owned(),
        headers,
        body: Some(form_encode(&form).into_bytes()),
    })
}

fn call(
    http: &dyn HttpClient,
    endpoint: &str,
    creds: &ClientCredentials,
    form: Vec<(String, String)>,
    extra_params: &[(String, String)],
    now: i64,
) -> Result<RefreshResponse, TokenEndpointError> {
    let req = build_request(endpoint, creds, form, extra_params, now)?;
    let resp = http.send(&req).map_err(TokenEndpointError::Unavailable)?;
    parse_response(&resp)
}

/// Any token endpoint answer (the ID token optional; [`exchange_code`] requires it).
fn parse_response(resp: &HttpResponse) -> Result<RefreshResponse, TokenEndpointError> {
    let parsed = serde_json::from_slice::<Value>(&resp.body);
    let is_json = parsed.is_ok();
    let obj = match parsed {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    if let Some(m) = &obj
        && let Some(e) = error_of(resp.status, m)
    {
        return Err(e);
    }
    if resp.status != 200 {
        return Err(TokenEndpointError::Status(resp.status));
    }
    let Some(raw) = obj else {
        return Err(TokenEndpointError::BadResponse(if is_json {
            "not a JSON object".into()
        } else {
            "not JSON".into()
        }));
    };
    Ok(RefreshResponse {
        id_token: string_member(&raw, "id_token")?.filter(|s| !s.is_empty()),
        access_token: string_member(&raw, "access_token")?,
        token_type: string_member(&raw, "token_type")?,
        expires_in: expires_in(raw.get("expires_in")),
        refresh_token: string_member(&raw, "refresh_token")?,
        scope: string_member(&raw, "scope")?,
        raw,
    })
}

/// The RFC 6749 §5.2 error in an answer, if it has one (an `error` member that is a string).
fn error_of(status: u16, m: &Map<String, Value>) -> Option<TokenEndpointError> {
    let error = match m.get("error")? {
        Value::Null => return None,
        Value::String(s) => clean(s),
        other => clean(&other.to_string()),
    };
    let description = match m.get("error_description") {
        Some(Value::String(s)) => Some(clean(s)),
        _ => None,
    };
    Some(TokenEndpointError::ErrorResponse {
        status,
        error,
        description,
    })
}

/// Provider text for logs: control characters replaced, at most [`MAX_ERROR_TEXT`] characters.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .take(MAX_ERROR_TEXT)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A member that must be a string when present (`null` counts as absent).
fn string_member(m: &Map<String, Value>, name: &str) -> Result<Option<String>, TokenEndpointError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenEndpointError::BadResponse(format!(
            "{name} is not a string"
        ))),
    }
}

/// `expires_in` as a number or a numeric string (old Azure AD); anything else, negative or
/// above [`MAX_EXPIRES_IN`] gives `None`.
fn expires_in(v: Option<&Value>) -> Option<i64> {
    let n = match v? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    (0..=MAX_EXPIRES_IN).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::types::EndpointAuth;
    use crate::token::form_pairs;
    use serde_json::json;
    use std::sync::Mutex;

    const EP: &str = "https://op.example/token";
    const NOW: i64 = 1_700_000_000;

    fn ok_json(v: Value) -> HttpResponse {
        respond(200, v.to_string().as_bytes())
    }

    fn respond(status: u16, body: &[u8]) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_vec(),
        }
    }

    /// A fake client that records the request and answers `resp`.
    struct Fake {
        seen: Mutex<Vec<HttpRequest>>,
        resp: Result<HttpResponse, HttpError>,
    }

    impl Fake {
        fn new(resp: Result<HttpResponse, HttpError>) -> Fake {
            Fake {
                seen: Mutex::new(Vec::new()),
                resp,
            }
        }
        fn last(&self) -> HttpRequest {
            self.seen.lock().unwrap().last().cloned().unwrap()
        }
        fn form(&self) -> Vec<(String, String)> {
            let body = self.last().body.unwrap();
            form_pairs(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        }
    }

    impl HttpClient for Fake {
        fn send(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
            self.seen.lock().unwrap().push(req.clone());
            self.resp.clone()
        }
    }

    fn good() -> Value {
        json!({"access_token": "AT", "token_type": "Bearer", "expires_in": 3600,
               "refresh_token": "RT", "id_token": "a.b.c", "scope": "openid"})
    }

    fn basic() -> ClientCredentials {
        ClientCredentials::new(None, "rp", Some("secret".into()), None)
    }

    fn exchange(
        http: &dyn HttpClient,
        creds: &ClientCredentials,
    ) -> Result<TokenResponse, TokenEndpointError> {
        exchange_code(http, EP, creds, "the code", "https://rp/cb", None, &[], NOW)
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn code_exchange_request_shape_with_basic_auth() {
        let fake = Fake::new(Ok(ok_json(good())));
        let r = exchange(&fake, &basic()).unwrap();
        let req = fake.last();
        assert_eq!(req.method, HttpMethod::Post);
        assert_eq!(req.url, EP);
        assert_eq!(
            String::from_utf8(req.body.clone().unwrap()).unwrap(),
            "grant_type=authorization_code&code=the%20code&redirect_uri=https%3A%2F%2Frp%2Fcb"
        );
        let auth = req
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .unwrap();
        assert_eq!(
            auth.1,
            super::super::client_auth::basic_authorization("rp", "secret")
        );
        assert_eq!(r.id_token, "a.b.c");
        assert_eq!(r.access_token.as_deref(), Some("AT"));
        assert_eq!(r.token_type.as_deref(), Some("Bearer"));
        assert_eq!(r.expires_in, Some(3600));
        assert_eq!(r.refresh_token.as_deref(), Some("RT"));
        assert_eq!(r.scope.as_deref(), Some("openid"));
        assert_eq!(
            r.raw.keys().collect::<Vec<_>>(),
            [
                "access_token",
                "token_type",
                "expires_in",
                "refresh_token",
                "id_token",
                "scope"
            ]
        );
    }

    #[test]
    fn pkce_verifier_and_extra_params_never_override() {
        let fake = Fake::new(Ok(ok_json(good())));
        let creds = ClientCredentials::new(
            Some(EndpointAuth::ClientSecretPost),
            "rp",
            Some("s".into()),
            None,
        );
        let extra = pairs(&[
            ("resource", "https://api/ x"),
            ("grant_type", "password"),
            ("client_id", "evil"),
            ("code_verifier", "other"),
            ("audience", "a"),
        ]);
        exchange_code(
            &fake,
            EP,
            &creds,
            "c",
            "https://rp/cb",
            Some("verif-ier_~."),
            &extra,
            NOW,
        )
        .unwrap();
        assert_eq!(
            fake.form(),
            pairs(&[
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("redirect_uri", "https://rp/cb"),
                ("code_verifier", "verif-ier_~."),
                ("client_id", "rp"),
                ("client_secret", "s"),
                ("resource", "https://api/ x"),
                ("audience", "a"),
            ])
        );
        assert!(
            !fake
                .last()
                .headers
                .iter()
                .any(|(n, _)| n == "Authorization")
        );
    }

    #[test]
    fn private_key_jwt_assertion_audience_is_the_endpoint() {
        use crate::jose::testkit::TestKey;
        use crate::jose::{SigningKey, parse_compact};
        let pem = TestKey::rsa(None)
            .pkey()
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        let creds = ClientCredentials::new(
            Some(EndpointAuth::PrivateKeyJwt),
            "rp",
            None,
            Some(SigningKey::from_pem(Some("k".into()), &pem).unwrap()),
        );
        let fake = Fake::new(Ok(ok_json(good())));
        exchange(&fake, &creds).unwrap();
        let form = fake.form();
        let jwt = &form
            .iter()
            .find(|(n, _)| n == "client_assertion")
            .unwrap()
            .1;
        let p = parse_compact(jwt, 16 * 1024).unwrap();
        assert_eq!(p.claims["aud"], EP);
        assert_eq!(p.claims["iat"], NOW);
    }

    #[test]
    fn json_error_with_any_status_is_an_error_response() {
        for status in [400u16, 401, 500, 200] {
            let fake = Fake::new(Ok(respond(
                status,
                br#"{"error":"invalid_grant","error_description":"code\nexpired"}"#,
            )));
            let e = exchange(&fake, &basic()).unwrap_err();
            assert_eq!(
                e,
                TokenEndpointError::ErrorResponse {
                    status,
                    error: "invalid_grant".into(),
                    description: Some("code?expired".into()),
                }
            );
            assert_eq!(e.is_outage(), status >= 500);
        }
    }

    #[test]
    fn server_error_500_with_json_error_is_an_outage() {
        let fake = Fake::new(Ok(respond(500, br#"{"error":"server_error"}"#)));
        let e = exchange(&fake, &basic()).unwrap_err();
        assert!(
            matches!(e, TokenEndpointError::ErrorResponse { status: 500, ref error, description: None } if error == "server_error")
        );
        assert!(e.is_outage());
    }

    #[test]
    fn non_200_without_error_json() {
        let fake = Fake::new(Ok(respond(502, b"<html>Bad gateway</html>")));
        let e = exchange(&fake, &basic()).unwrap_err();
        assert_eq!(e, TokenEndpointError::Status(502));
        assert!(e.is_outage());
        let fake201 = Fake::new(Ok(respond(201, good().to_string().as_bytes())));
        let e = exchange(&fake201, &basic()).unwrap_err();
        assert_eq!(e, TokenEndpointError::Status(201));
        assert!(!e.is_outage());
    }

    #[test]
    fn unusable_200_answers_are_bad_responses() {
        for body in [
            &b"not json"[..],
            b"[1,2]",
            b"\"a.b.c\"",
            b"",
            br#"{"access_token":"AT"}"#,
            br#"{"id_token":""}"#,
            br#"{"id_token":null}"#,
            br#"{"id_token":123}"#,
            br#"{"id_token":"a.b.c","access_token":{"x":1}}"#,
            br#"{"id_token":"a.b.c","refresh_token":["r"]}"#,
            br#"{"id_token":"a.b.c","token_type":true}"#,
            br#"{"id_token":"a.b.c","scope":1}"#,
        ] {
            let fake = Fake::new(Ok(respond(200, body)));
            let e = exchange(&fake, &basic()).unwrap_err();
            assert!(
                matches!(e, TokenEndpointError::BadResponse(_)),
                "{}: {e:?}",
                String::from_utf8_lossy(body)
            );
            assert!(!e.is_outage());
        }
    }

    #[test]
    fn transport_timeout_and_too_large_are_unavailable() {
        for err in [
            HttpError::Transport("connection refused".into()),
            HttpError::Timeout,
            HttpError::TooLarge,
        ] {
            let fake = Fake::new(Err(err.clone()));
            let e = exchange(&fake, &basic()).unwrap_err();
            assert_eq!(e, TokenEndpointError::Unavailable(err));
            assert!(e.is_outage());
        }
    }

    #[test]
    fn expires_in_forms() {
        let cases: [(Value, Option<i64>); 10] = [
            (json!(3600), Some(3600)),
            (json!("3599"), Some(3599)),
            (json!(" 60 "), Some(60)),
            (json!(0), Some(0)),
            (json!(-5), None),
            (json!("-5"), None),
            (json!(1e30), None),
            (json!(99_999_999_999i64), None),
            (json!("soon"), None),
            (json!(12.5), None),
        ];
        for (v, want) in cases {
            let mut body = good();
            body["expires_in"] = v.clone();
            let fake = Fake::new(Ok(ok_json(body)));
            assert_eq!(exchange(&fake, &basic()).unwrap().expires_in, want, "{v}");
        }
        let mut body = good();
        body.as_object_mut().unwrap().remove("expires_in");
        let fake = Fake::new(Ok(ok_json(body)));
        assert_eq!(exchange(&fake, &basic()).unwrap().expires_in, None);
        // "error": null is no error.
        let mut body = good();
        body["error"] = Value::Null;
        let fake = Fake::new(Ok(ok_json(body)));
        assert!(exchange(&fake, &basic()).is_ok());
    }

    #[test]
    fn client_auth_failure_sends_nothing() {
        let creds = ClientCredentials::new(Some(EndpointAuth::PrivateKeyJwt), "rp", None, None);
        let fake = Fake::new(Ok(ok_json(good())));
        let e = exchange(&fake, &creds).unwrap_err();
        assert!(matches!(e, TokenEndpointError::ClientAuth(_)));
        assert!(fake.seen.lock().unwrap().is_empty());
    }

    #[test]
    fn refresh_grant_shape_and_optional_id_token() {
        let fake = Fake::new(Ok(ok_json(
            json!({"access_token": "AT2", "token_type": "Bearer", "expires_in": "120"}),
        )));
        let extra = pairs(&[("refresh_token", "no"), ("x", "y")]);
        let r = refresh(
            &fake,
            EP,
            &ClientCredentials::new(None, "rp", None, None),
            "R T",
            Some("openid email"),
            &extra,
            NOW,
        )
        .unwrap();
        assert_eq!(
            fake.form(),
            pairs(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "R T"),
                ("scope", "openid email"),
                ("client_id", "rp"),
                ("x", "y"),
            ])
        );
        assert_eq!(r.id_token, None);
        assert_eq!(r.access_token.as_deref(), Some("AT2"));
        assert_eq!(r.expires_in, Some(120));
        let fake = Fake::new(Ok(respond(400, br#"{"error":"invalid_grant"}"#)));
        assert!(matches!(
            refresh(&fake, EP, &basic(), "r", None, &[], NOW),
            Err(TokenEndpointError::ErrorResponse { status: 400, .. })
        ));
    }

    #[test]
    fn debug_redacts_tokens() {
        let fake = Fake::new(Ok(ok_json(good())));
        let r = exchange(&fake, &basic()).unwrap();
        let d = format!("{r:?}");
        assert!(
            !d.contains("a.b.c") && !d.contains("\"AT\"") && !d.contains("RT"),
            "{d}"
        );
    }

    #[test]
    fn long_provider_error_texts_are_cut() {
        let long = "x".repeat(10_000);
        let fake = Fake::new(Ok(respond(
            400,
            json!({"error": long, "error_description": long})
                .to_string()
                .as_bytes(),
        )));
        match exchange(&fake, &basic()).unwrap_err() {
            TokenEndpointError::ErrorResponse {
                error, description, ..
            } => {
                assert_eq!(error.len(), MAX_ERROR_TEXT);
                assert_eq!(description.unwrap().len(), MAX_ERROR_TEXT);
            }
            e => panic!("{e:?}"),
        }
    }
}
