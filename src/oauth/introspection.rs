//! RFC 7662 token introspection, with mod_auth_openidc's handling of the answer: `active`
//! (boolean, or the string "true"), the expiry from `exp` when `active` is present, otherwise
//! from `OIDCOAuthTokenExpiryClaim`, and PingFederate's nested `access_token` object.

use serde_json::{Map, Value};

use crate::deps::{HttpClient, HttpMethod, HttpRequest};
use crate::oidc::client_auth::basic_authorization;
use crate::token::form_encode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntrospectionAuth {
    ClientSecretBasic,
    ClientSecretPost,
    /// `Authorization: Bearer` with a configured token, or the introspected token itself.
    BearerAccessToken(Option<String>),
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryClaim {
    pub name: String,
    pub absolute: bool,
    pub mandatory: bool,
}

#[derive(Debug, Clone)]
pub struct IntrospectionSettings {
    pub endpoint: String,
    pub use_get: bool,
    pub auth: IntrospectionAuth,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Extra `name=value` pairs (already decoded) sent with every call.
    pub params: Vec<(String, String)>,
    pub token_param_name: String,
    pub expiry: ExpiryClaim,
}

/// How long an introspection result may be reused when it names no usable expiry.
pub const DEFAULT_CACHE_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub enum IntrospectionError {
    /// The endpoint could not be reached, or answered with an error status or no JSON object.
    Unavailable(String),
    /// The token is not active, or the answer says it is not usable.
    Inactive(String),
}

/// A positive answer: the claims and until when they may be cached (absolute Unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Introspected {
    pub claims: Map<String, Value>,
    pub cache_until: i64,
}

pub fn build_request(s: &IntrospectionSettings, token: &str) -> HttpRequest {
    let mut params = s.params.clone();
    params.push((s.token_param_name.clone(), token.to_string()));
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    match &s.auth {
        IntrospectionAuth::ClientSecretBasic => {
            let id = s.client_id.as_deref().unwrap_or("");
            let secret = s.client_secret.as_deref().unwrap_or("");
            headers.push(("Authorization".into(), basic_authorization(id, secret)));
        }
        IntrospectionAuth::ClientSecretPost => {
            params.push(("client_id".into(), s.client_id.clone().unwrap_or_default()));
            params.push((
                "client_secret".into(),
                s.client_secret.clone().unwrap_or_default(),
            ));
        }
        IntrospectionAuth::BearerAccessToken(configured) => {
            let bearer = configured
                .as_deref()
                .filter(|t| !t.is_empty())
                .unwrap_or(token);
            headers.push(("Authorization".into(), format!("Bearer {bearer}")));
        }
        IntrospectionAuth::None => {
            if let Some(id) = &s.client_id {
                params.push(("client_id".into(), id.clone()));
            }
        }
    }
    let encoded = form_encode(&params);
    if s.use_get {
        let sep = if s.endpoint.contains('?') { '&' } else { '?' };
        HttpRequest {
            method: HttpMethod::Get,
            url: format!("{}{sep}{encoded}", s.endpoint),
            headers,
            body: None,
        }
    } else {
        HttpRequest {
            method: HttpMethod::Post,
            url: s.endpoint.clone(),
            headers,
            body: Some(encoded.into_bytes()),
        }
    }
}

/// Calls the endpoint and interprets the answer.
pub fn introspect(
    http: &dyn HttpClient,
    s: &IntrospectionSettings,
    token: &str,
    now: i64,
) -> Result<Introspected, IntrospectionError> {
    let resp = http.send(&build_request(s, token)).map_err(|e| {
        IntrospectionError::Unavailable(format!(
            "introspection endpoint {} failed: {e}",
            s.endpoint
        ))
    })?;
    if !(200..300).contains(&resp.status) {
        return Err(IntrospectionError::Unavailable(format!(
            "introspection endpoint {} answered HTTP {}",
            s.endpoint, resp.status
        )));
    }
    let value: Value = serde_json::from_slice(&resp.body).map_err(|_| {
        IntrospectionError::Unavailable(format!(
            "introspection endpoint {} answered no JSON",
            s.endpoint
        ))
    })?;
    let Value::Object(result) = value else {
        return Err(IntrospectionError::Unavailable(format!(
            "introspection endpoint {} answered no JSON object",
            s.endpoint
        )));
    };
    interpret(result, &s.expiry, now)
}

/// The decision on an introspection answer (separate from I/O for tests).
pub fn interpret(
    mut result: Map<String, Value>,
    expiry: &ExpiryClaim,
    now: i64,
) -> Result<Introspected, IntrospectionError> {
    if let Some(err) = result.get("error") {
        let err = err.as_str().unwrap_or("error");
        return Err(IntrospectionError::Inactive(format!(
            "introspection answered error {err:?}"
        )));
    }
    let cache_until = match result.get("active") {
        Some(active) => {
            let is_active = match active {
                Value::Bool(b) => *b,
                Value::String(s) => s.eq_ignore_ascii_case("true"),
                _ => false,
            };
            if !is_active {
                return Err(IntrospectionError::Inactive("token is not active".into()));
            }
            expiry_of(
                &result,
                &ExpiryClaim {
                    name: "exp".into(),
                    absolute: true,
                    mandatory: false,
                },
                now,
            )?
        }
        None => expiry_of(&result, expiry, now)?,
    };
    if let Some(at) = cache_until
        && at <= now
    {
        return Err(IntrospectionError::Inactive("token has expired".into()));
    }
    let cache_until = cache_until.unwrap_or(now + DEFAULT_CACHE_SECONDS);
    // PingFederate: the claims are in a nested "access_token" object; keep client_id and scope.
    let claims = match result.remove("access_token") {
        Some(Value::Object(mut inner)) => {
            for k in ["client_id", "scope"] {
                if let Some(v) = result.get(k) {
                    inner.insert(k.into(), v.clone());
                }
            }
            inner
        }
        Some(other) => {
            result.insert("access_token".into(), other);
            result
        }
        None => result,
    };
    Ok(Introspected {
        claims,
        cache_until,
    })
}

fn expiry_of(
    result: &Map<String, Value>,
    claim: &ExpiryClaim,
    now: i64,
) -> Result<Option<i64>, IntrospectionError> {
    match result.get(&claim.name) {
        None if claim.mandatory => Err(IntrospectionError::Inactive(format!(
            "introspection answer has no {:?} claim",
            claim.name
        ))),
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n > 0 => Ok(Some(if claim.absolute {
                n
            } else {
                now.saturating_add(n)
            })),
            _ if claim.mandatory => Err(IntrospectionError::Inactive(format!(
                "introspection answer's {:?} claim is not a positive integer",
                claim.name
            ))),
            _ => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn default_expiry() -> ExpiryClaim {
        ExpiryClaim {
            name: "expires_in".into(),
            absolute: false,
            mandatory: true,
        }
    }

    fn settings(auth: IntrospectionAuth, use_get: bool) -> IntrospectionSettings {
        IntrospectionSettings {
            endpoint: "https://as.example/introspect".into(),
            use_get,
            auth,
            client_id: Some("rs client".into()),
            client_secret: Some("s3cr:t".into()),
            params: vec![("token_type_hint".into(), "access_token".into())],
            token_param_name: "token".into(),
            expiry: default_expiry(),
        }
    }

    #[test]
    fn active_true_uses_exp() {
        let r = interpret(
            obj(json!({"active": true, "sub": "a", "exp": 2000})),
            &default_expiry(),
            1000,
        )
        .unwrap();
        assert_eq!(r.cache_until, 2000);
        assert_eq!(r.claims["sub"], "a");
    }

    #[test]
    fn active_string_true_is_accepted_and_false_rejected() {
        assert!(
            interpret(
                obj(json!({"active": "TRUE", "exp": 2000})),
                &default_expiry(),
                1000
            )
            .is_ok()
        );
        assert!(matches!(
            interpret(obj(json!({"active": false})), &default_expiry(), 1000),
            Err(IntrospectionError::Inactive(_))
        ));
        assert!(interpret(obj(json!({"active": "yes"})), &default_expiry(), 1000).is_err());
        assert!(interpret(obj(json!({"active": 1})), &default_expiry(), 1000).is_err());
    }

    #[test]
    fn active_without_exp_is_cached_briefly() {
        let r = interpret(obj(json!({"active": true})), &default_expiry(), 1000).unwrap();
        assert_eq!(r.cache_until, 1000 + DEFAULT_CACHE_SECONDS);
    }

    #[test]
    fn no_active_uses_configured_expiry_claim() {
        let r = interpret(
            obj(json!({"sub": "a", "expires_in": 30})),
            &default_expiry(),
            1000,
        )
        .unwrap();
        assert_eq!(r.cache_until, 1030);
        let abs = ExpiryClaim {
            name: "valid_until".into(),
            absolute: true,
            mandatory: true,
        };
        assert_eq!(
            interpret(obj(json!({"valid_until": 1500})), &abs, 1000)
                .unwrap()
                .cache_until,
            1500
        );
        assert!(
            interpret(obj(json!({"sub": "a"})), &default_expiry(), 1000).is_err(),
            "mandatory claim missing"
        );
        let optional = ExpiryClaim {
            mandatory: false,
            ..default_expiry()
        };
        assert!(interpret(obj(json!({"sub": "a"})), &optional, 1000).is_ok());
    }

    #[test]
    fn expired_exp_is_inactive() {
        assert!(
            interpret(
                obj(json!({"active": true, "exp": 999})),
                &default_expiry(),
                1000
            )
            .is_err()
        );
    }

    #[test]
    fn error_member_is_rejected() {
        assert!(
            interpret(
                obj(json!({"error": "invalid_client"})),
                &default_expiry(),
                1000
            )
            .is_err()
        );
    }

    #[test]
    fn pingfederate_nested_access_token() {
        let r = interpret(
            obj(json!({"access_token": {"sub": "p"}, "client_id": "c", "scope": "s", "expires_in": 10})),
            &default_expiry(),
            1000,
        )
        .unwrap();
        assert_eq!(
            Value::Object(r.claims),
            json!({"sub": "p", "client_id": "c", "scope": "s"})
        );
    }

    #[test]
    fn basic_auth_post_request() {
        let req = build_request(
            &settings(IntrospectionAuth::ClientSecretBasic, false),
            "tok en",
        );
        assert_eq!(req.method, HttpMethod::Post);
        let body = String::from_utf8(req.body.unwrap()).unwrap();
        assert_eq!(body, "token_type_hint=access_token&token=tok%20en");
        let auth = &req
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .unwrap()
            .1;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(decoded, b"rs%20client:s3cr%3At");
    }

    #[test]
    fn post_auth_and_get_method() {
        let req = build_request(&settings(IntrospectionAuth::ClientSecretPost, true), "t");
        assert_eq!(req.method, HttpMethod::Get);
        assert!(req.url.starts_with("https://as.example/introspect?token_type_hint=access_token&token=t&client_id=rs%20client&client_secret=s3cr%3At"));
        assert!(!req.headers.iter().any(|(n, _)| n == "Authorization"));
    }

    #[test]
    fn bearer_auth_uses_configured_or_own_token() {
        let own = build_request(
            &settings(IntrospectionAuth::BearerAccessToken(None), false),
            "T1",
        );
        assert!(
            own.headers
                .contains(&("Authorization".into(), "Bearer T1".into()))
        );
        let empty = build_request(
            &settings(
                IntrospectionAuth::BearerAccessToken(Some(String::new())),
                false,
            ),
            "T1",
        );
        assert!(
            empty
                .headers
                .contains(&("Authorization".into(), "Bearer T1".into()))
        );
        let conf = build_request(
            &settings(
                IntrospectionAuth::BearerAccessToken(Some("RS".into())),
                false,
            ),
            "T1",
        );
        assert!(
            conf.headers
                .contains(&("Authorization".into(), "Bearer RS".into()))
        );
    }
}
