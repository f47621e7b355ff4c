//! Client authentication at the token endpoint (OIDC Core §9, RFC 6749 §2.3.1, RFC 7523):
//! `client_secret_basic`, `client_secret_post`, `client_secret_jwt`, `private_key_jwt` and
//! `none`, with the reference module's choices:
//! - no method configured: `client_secret_basic` when a client secret is set, otherwise `none`;
//! - a secret-based method without a client secret falls back to `none` (a public client);
//! - an empty client id adds no authentication at all;
//! - assertions carry `iss = sub = client_id`, `aud` = the endpoint URL, a random `jti`,
//!   `iat = now`, `exp = now + 60`; `client_secret_jwt` signs with HS256 keyed by the secret,
//!   `private_key_jwt` with the configured algorithm or RS256 / ES256/384/512 by the key.
//!
//! [`ClientCredentials::apply`] replaces what it added before rather than adding a second copy,
//! so a caller that retries a request may call it again for a fresh assertion.

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::config::types::EndpointAuth;
use crate::jose::{Alg, JoseError, SigningKey, sign_compact};
use crate::token::percent_encode;

/// RFC 7523 §2.2.
pub const CLIENT_ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of a client assertion, in seconds (as the reference module).
pub const ASSERTION_LIFETIME: i64 = 60;

/// How the relying party authenticates itself to the provider's token endpoint.
#[derive(Clone)]
pub struct ClientCredentials {
    pub method: EndpointAuth,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// The first `OIDCPrivateKeyFiles` key, for `private_key_jwt`.
    pub signing_key: Option<SigningKey>,
    /// `private_key_jwt:<alg>`; `None` picks the key's default algorithm.
    pub assertion_alg: Option<Alg>,
}

impl fmt::Debug for ClientCredentials {
    // Hand-written: the client secret must never reach a log line or a test failure message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("method", &self.method.as_str())
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("signing_key", &self.signing_key)
            .field("assertion_alg", &self.assertion_alg)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuthError {
    /// `private_key_jwt` without a usable private key (`OIDCPrivateKeyFiles`).
    NoSigningKey,
    /// The assertion could not be signed (key does not fit the algorithm, openssl failure).
    Signing(JoseError),
    /// The CSPRNG failed while making the assertion's `jti`.
    Random,
    /// A method that cannot be used at this endpoint (`bearer_access_token` at the token endpoint).
    Unsupported(&'static str),
}

impl fmt::Display for ClientAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuthError::NoSigningKey => write!(
                f,
                "no private signing key is configured for private_key_jwt client authentication (OIDCPrivateKeyFiles)"
            ),
            ClientAuthError::Signing(e) => write!(f, "cannot sign the client assertion: {e}"),
            ClientAuthError::Random => write!(f, "random number generator failed"),
            ClientAuthError::Unsupported(m) => {
                write!(f, "client authentication method {m} is not supported here")
            }
        }
    }
}

impl std::error::Error for ClientAuthError {}

impl ClientCredentials {
    /// The credentials with the reference module's default method: `configured`, or
    /// `client_secret_basic` when a client secret is set, or `none`.
    pub fn new(
        configured: Option<EndpointAuth>,
        client_id: impl Into<String>,
        client_secret: Option<String>,
        signing_key: Option<SigningKey>,
    ) -> ClientCredentials {
        let method = configured.unwrap_or(if client_secret.is_some() {
            EndpointAuth::ClientSecretBasic
        } else {
            EndpointAuth::None
        });
        ClientCredentials {
            method,
            client_id: client_id.into(),
            client_secret,
            signing_key,
            assertion_alg: None,
        }
    }

    /// The method actually used: secret-based methods without a secret become `none`.
    pub fn effective_method(&self) -> EndpointAuth {
        match self.method {
            EndpointAuth::ClientSecretBasic
            | EndpointAuth::ClientSecretPost
            | EndpointAuth::ClientSecretJwt
                if self.client_secret.is_none() =>
            {
                EndpointAuth::None
            }
            m => m,
        }
    }

    /// Add the client authentication for a call to `endpoint` at time `now` to the form
    /// parameters and request headers. Parameters and the `Authorization` header this adds
    /// replace any of the same name already there.
    pub fn apply(
        &self,
        endpoint: &str,
        now: i64,
        form: &mut Vec<(String, String)>,
        headers: &mut Vec<(String, String)>,
    ) -> Result<(), ClientAuthError> {
        if self.client_id.is_empty() {
            return Ok(());
        }
        let secret = self.client_secret.as_deref().unwrap_or("");
        match self.effective_method() {
            EndpointAuth::None => set_param(form, "client_id", &self.client_id),
            EndpointAuth::ClientSecretBasic => {
                set_header(
                    headers,
                    "Authorization",
                    &basic_authorization(&self.client_id, secret),
                );
            }
            EndpointAuth::ClientSecretPost => {
                set_param(form, "client_id", &self.client_id);
                set_param(form, "client_secret", secret);
            }
            EndpointAuth::ClientSecretJwt => {
                let key = SigningKey::from_hmac_secret(None, secret.as_bytes())
                    .map_err(ClientAuthError::Signing)?;
                let jwt = self.assertion(endpoint, now, &key, Alg::HS256)?;
                set_assertion(form, jwt);
            }
            EndpointAuth::PrivateKeyJwt => {
                let key = self
                    .signing_key
                    .as_ref()
                    .ok_or(ClientAuthError::NoSigningKey)?;
                let alg = self.assertion_alg.unwrap_or_else(|| key.default_alg());
                let jwt = self.assertion(endpoint, now, key, alg)?;
                set_assertion(form, jwt);
            }
            EndpointAuth::BearerAccessToken => {
                return Err(ClientAuthError::Unsupported(
                    EndpointAuth::BearerAccessToken.as_str(),
                ));
            }
        }
        Ok(())
    }

    fn assertion(
        &self,
        audience: &str,
        now: i64,
        key: &SigningKey,
        alg: Alg,
    ) -> Result<String, ClientAuthError> {
        let jti = crate::crypto::random_token(16).map_err(|_| ClientAuthError::Random)?;
        let mut claims = Map::new();
        claims.insert("iss".into(), Value::String(self.client_id.clone()));
        claims.insert("sub".into(), Value::String(self.client_id.clone()));
        claims.insert("aud".into(), Value::String(audience.to_owned()));
        claims.insert("jti".into(), Value::String(jti));
        claims.insert(
            "exp".into(),
            Value::from(now.saturating_add(ASSERTION_LIFETIME)),
        );
        claims.insert("iat".into(), Value::from(now));
        let mut header = Map::new();
        header.insert("typ".into(), Value::String("JWT".into()));
        sign_compact(&header, &claims, key, alg).map_err(ClientAuthError::Signing)
    }
}

fn set_assertion(form: &mut Vec<(String, String)>, jwt: String) {
    set_param(
        form,
        "client_assertion_type",
        CLIENT_ASSERTION_TYPE_JWT_BEARER,
    );
    set_param(form, "client_assertion", &jwt);
}

/// Replace every `name` parameter by one `name=value` (appended at the end).
fn set_param(form: &mut Vec<(String, String)>, name: &str, value: &str) {
    form.retain(|(n, _)| n != name);
    form.push((name.to_owned(), value.to_owned()));
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value.to_owned()));
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1): the id and secret are
/// form-encoded first, so a `:` in the id cannot shift the split. Spaces become `%20`, which
/// form decoding and percent decoding both turn back into a space.
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let creds = format!(
        "{}:{}",
        percent_encode(client_id),
        percent_encode(client_secret)
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(creds)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::testkit::TestKey;
    use crate::jose::{Jwk, KeySet, parse_compact, verify_signature};
    use crate::token::{form_decode, form_encode};

    const EP: &str = "https://op.example/token";
    const NOW: i64 = 1_700_000_000;

    type Pairs = Vec<(String, String)>;

    fn run(c: &ClientCredentials) -> (Pairs, Pairs) {
        let mut form = vec![("grant_type".to_string(), "authorization_code".to_string())];
        let mut headers = Vec::new();
        c.apply(EP, NOW, &mut form, &mut headers).unwrap();
        (form, headers)
    }

    fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn decode_basic(h: &[(String, String)]) -> (String, String) {
        let v = &h.iter().find(|(n, _)| n == "Authorization").unwrap().1;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v.strip_prefix("Basic ").unwrap())
            .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (id, secret) = raw.split_once(':').unwrap();
        (
            form_decode(id.as_bytes()).into_owned(),
            form_decode(secret.as_bytes()).into_owned(),
        )
    }

    #[test]
    fn default_method_follows_the_secret() {
        let c = ClientCredentials::new(None, "id", Some("s".into()), None);
        assert_eq!(c.method, EndpointAuth::ClientSecretBasic);
        let c = ClientCredentials::new(None, "id", None, None);
        assert_eq!(c.method, EndpointAuth::None);
        let c = ClientCredentials::new(Some(EndpointAuth::ClientSecretPost), "id", None, None);
        assert_eq!(c.method, EndpointAuth::ClientSecretPost);
        assert_eq!(c.effective_method(), EndpointAuth::None);
    }

    #[test]
    fn basic_encodes_special_characters_per_rfc6749() {
        let c = ClientCredentials::new(
            Some(EndpointAuth::ClientSecretBasic),
            "my:client id%",
            Some("p:a ss%2B+/é".into()),
            None,
        );
        let (form, headers) = run(&c);
        assert_eq!(form.len(), 1, "nothing in the body: {form:?}");
        let v = &headers[0].1;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "my%3Aclient%20id%25:p%3Aa%20ss%252B%2B%2F%C3%A9"
        );
        assert_eq!(
            decode_basic(&headers),
            ("my:client id%".to_string(), "p:a ss%2B+/é".to_string())
        );
    }

    #[test]
    fn basic_replaces_an_existing_authorization_header() {
        let c = ClientCredentials::new(None, "id", Some("s".into()), None);
        let mut form = Vec::new();
        let mut headers = vec![("authorization".to_string(), "Bearer old".to_string())];
        c.apply(EP, NOW, &mut form, &mut headers).unwrap();
        c.apply(EP, NOW, &mut form, &mut headers).unwrap();
        assert_eq!(headers.len(), 1);
        assert!(headers[0].1.starts_with("Basic "));
    }

    #[test]
    fn post_puts_id_and_secret_in_the_body() {
        let c = ClientCredentials::new(
            Some(EndpointAuth::ClientSecretPost),
            "a b",
            Some("x:y%".into()),
            None,
        );
        let (form, headers) = run(&c);
        assert!(headers.is_empty());
        assert_eq!(param(&form, "client_id"), Some("a b"));
        assert_eq!(param(&form, "client_secret"), Some("x:y%"));
        assert_eq!(
            form_encode(&form),
            "grant_type=authorization_code&client_id=a%20b&client_secret=x%3Ay%25"
        );
    }

    #[test]
    fn none_sends_only_the_client_id() {
        for c in [
            ClientCredentials::new(
                Some(EndpointAuth::None),
                "pub",
                Some("ignored".into()),
                None,
            ),
            ClientCredentials::new(None, "pub", None, None),
            // A secret-based method without a secret: a public client, as the reference module.
            ClientCredentials::new(Some(EndpointAuth::ClientSecretJwt), "pub", None, None),
            ClientCredentials::new(Some(EndpointAuth::ClientSecretBasic), "pub", None, None),
        ] {
            let (form, headers) = run(&c);
            assert!(headers.is_empty(), "{c:?}");
            assert_eq!(param(&form, "client_id"), Some("pub"));
            assert_eq!(param(&form, "client_secret"), None);
            assert_eq!(param(&form, "client_assertion"), None);
        }
    }

    #[test]
    fn empty_client_id_adds_nothing() {
        let c = ClientCredentials::new(None, "", Some("s".into()), None);
        let (form, headers) = run(&c);
        assert_eq!(form.len(), 1);
        assert!(headers.is_empty());
    }

    fn check_assertion_claims(jwt: &str, client_id: &str) -> crate::jose::ParsedJws {
        let p = parse_compact(jwt, 16 * 1024).unwrap();
        let c = &p.claims;
        assert_eq!(c["iss"], client_id);
        assert_eq!(c["sub"], client_id);
        assert_eq!(c["aud"], EP);
        assert_eq!(c["iat"], NOW);
        assert_eq!(c["exp"], NOW + 60);
        assert!(c["jti"].as_str().unwrap().len() >= 20);
        p
    }

    #[test]
    fn client_secret_jwt_is_hs256_keyed_by_the_secret() {
        let secret = "a-client-secret-that-is-32-bytes";
        let c = ClientCredentials::new(
            Some(EndpointAuth::ClientSecretJwt),
            "rp",
            Some(secret.into()),
            None,
        );
        let (form, headers) = run(&c);
        assert!(headers.is_empty());
        assert_eq!(
            param(&form, "client_secret"),
            None,
            "the secret never travels"
        );
        assert_eq!(param(&form, "client_id"), None);
        assert_eq!(
            param(&form, "client_assertion_type"),
            Some(CLIENT_ASSERTION_TYPE_JWT_BEARER)
        );
        let p = check_assertion_claims(param(&form, "client_assertion").unwrap(), "rp");
        assert_eq!(p.alg, Alg::HS256);
        let mut ks = KeySet::new();
        ks.push(Jwk::from_hmac_secret(None, secret.as_bytes()).unwrap());
        verify_signature(&p, &ks).unwrap();
        let mut wrong = KeySet::new();
        wrong.push(Jwk::from_hmac_secret(None, b"another-secret-that-is-32-bytes!").unwrap());
        assert!(verify_signature(&p, &wrong).is_err());
    }

    #[test]
    fn assertions_get_fresh_jti_and_are_replaced_on_reapply() {
        let c = ClientCredentials::new(
            Some(EndpointAuth::ClientSecretJwt),
            "rp",
            Some("s".repeat(32)),
            None,
        );
        let mut form = Vec::new();
        let mut headers = Vec::new();
        c.apply(EP, NOW, &mut form, &mut headers).unwrap();
        let first = param(&form, "client_assertion").unwrap().to_string();
        c.apply(EP, NOW, &mut form, &mut headers).unwrap();
        assert_eq!(form.len(), 2, "{form:?}");
        let second = param(&form, "client_assertion").unwrap();
        let jti = |t: &str| parse_compact(t, 16 * 1024).unwrap().claims["jti"].clone();
        assert_ne!(jti(&first), jti(second));
    }

    #[test]
    fn private_key_jwt_rs256_with_kid() {
        let tk = TestKey::rsa(None);
        let pem = tk.pkey().unwrap().private_key_to_pem_pkcs8().unwrap();
        let key = SigningKey::from_pem(Some("rp-key-1".into()), &pem).unwrap();
        let c = ClientCredentials::new(Some(EndpointAuth::PrivateKeyJwt), "rp", None, Some(key));
        let (form, headers) = run(&c);
        assert!(headers.is_empty());
        let p = check_assertion_claims(param(&form, "client_assertion").unwrap(), "rp");
        assert_eq!(p.alg, Alg::RS256);
        assert_eq!(p.kid.as_deref(), Some("rp-key-1"));
        let mut ks = KeySet::new();
        ks.push(Jwk::from_pem(Some("rp-key-1".into()), tk.public_pem().as_bytes()).unwrap());
        verify_signature(&p, &ks).unwrap();
        // Another key does not verify it.
        let mut other = KeySet::new();
        other.push(
            Jwk::from_pem(
                Some("rp-key-1".into()),
                TestKey::rsa_n(1, None, Alg::RS256).public_pem().as_bytes(),
            )
            .unwrap(),
        );
        assert!(verify_signature(&p, &other).is_err());
    }

    #[test]
    fn private_key_jwt_es256_and_configured_alg() {
        let tk = TestKey::ec(Alg::ES256, None);
        let pem = tk.pkey().unwrap().private_key_to_pem_pkcs8().unwrap();
        let key = SigningKey::from_pem(None, &pem).unwrap();
        let mut c = ClientCredentials::new(
            Some(EndpointAuth::PrivateKeyJwt),
            "rp",
            Some("unused".into()),
            Some(key),
        );
        let (form, _) = run(&c);
        let p = check_assertion_claims(param(&form, "client_assertion").unwrap(), "rp");
        assert_eq!(p.alg, Alg::ES256);
        assert_eq!(p.kid, None);
        let mut ks = KeySet::new();
        ks.push(Jwk::from_pem(None, tk.public_pem().as_bytes()).unwrap());
        verify_signature(&p, &ks).unwrap();
        assert_eq!(param(&form, "client_secret"), None);

        // A configured algorithm the key cannot make is an error, not a silent fallback.
        c.assertion_alg = Some(Alg::RS256);
        let err = c
            .apply(EP, NOW, &mut Vec::new(), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err, ClientAuthError::Signing(JoseError::NoSuitableKey));
    }

    #[test]
    fn private_key_jwt_ps256_when_configured() {
        let tk = TestKey::rsa(None);
        let pem = tk.pkey().unwrap().private_key_to_pem_pkcs8().unwrap();
        let mut c = ClientCredentials::new(
            Some(EndpointAuth::PrivateKeyJwt),
            "rp",
            None,
            Some(SigningKey::from_pem(None, &pem).unwrap()),
        );
        c.assertion_alg = Some(Alg::PS256);
        let (form, _) = run(&c);
        let p = parse_compact(param(&form, "client_assertion").unwrap(), 16 * 1024).unwrap();
        assert_eq!(p.alg, Alg::PS256);
        let mut ks = KeySet::new();
        ks.push(Jwk::from_pem(None, tk.public_pem().as_bytes()).unwrap());
        verify_signature(&p, &ks).unwrap();
    }

    #[test]
    fn private_key_jwt_without_key_and_bearer_are_errors() {
        let c = ClientCredentials::new(
            Some(EndpointAuth::PrivateKeyJwt),
            "rp",
            Some("s".into()),
            None,
        );
        assert_eq!(
            c.apply(EP, NOW, &mut Vec::new(), &mut Vec::new()),
            Err(ClientAuthError::NoSigningKey)
        );
        let c = ClientCredentials::new(
            Some(EndpointAuth::BearerAccessToken),
            "rp",
            Some("s".into()),
            None,
        );
        assert!(matches!(
            c.apply(EP, NOW, &mut Vec::new(), &mut Vec::new()),
            Err(ClientAuthError::Unsupported(_))
        ));
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = ClientCredentials::new(None, "rp", Some("hunter2-secret".into()), None);
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("<redacted>") && d.contains("client_secret_basic"));
    }
}
