//! ID token validation for the authorization code flow (OpenID Connect Core 1.0 §3.1.3.7, with the
//! §2 claim requirements). The numbered comments in [`validate`] follow the steps of §3.1.3.7.
//!
//! Error texts ([`IdTokenError`]'s `Display`) are short fixed sentences without token contents.

use std::fmt;

use serde_json::{Map, Value};

use crate::deps::HttpClient;
use crate::jose::{
    Alg, ClaimsPolicy, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LEN, JoseError, Jwk, KeyFamily,
    KeySet, check_typ, numeric_date, parse_compact, validate_claims, verify_signature_with_algs,
};
use crate::oauth::RemoteJwks;

/// Default for OIDCIDTokenIatSlack: how far (seconds) `iat` may lie from now, either way.
pub const DEFAULT_IAT_SLACK: i64 = 600;

/// What the relying party expects of an ID token from one authentication. `Debug` hides the
/// client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct IdTokenExpectations {
    /// The provider's issuer identifier (from the validated provider metadata).
    pub issuer: String,
    /// Our client_id: must be in `aud`, and `azp` when present.
    pub client_id: String,
    /// The nonce we sent in the authorization request (from the state cookie).
    pub nonce: String,
    /// False for an ID token from a refresh (Core §12.2): `nonce` may be absent, and when
    /// present must equal [`IdTokenExpectations::nonce`] (the original token's).
    pub nonce_required: bool,
    /// Accepted signature algorithms, see [`allowed_algs`]. Empty refuses every token.
    pub allowed_algs: Vec<Alg>,
    /// OIDCClientSecret: the HMAC key for HS256/384/512 (Core §10.1). Without it HS* is refused.
    pub client_secret: Option<Vec<u8>>,
    /// Clock skew allowance for `exp`/`nbf` (seconds).
    pub leeway: i64,
    /// OIDCIDTokenIatSlack (seconds).
    pub iat_slack: i64,
}

impl IdTokenExpectations {
    /// Default leeway and iat slack, no client secret.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        nonce: impl Into<String>,
        allowed_algs: Vec<Alg>,
    ) -> IdTokenExpectations {
        IdTokenExpectations {
            issuer: issuer.into(),
            client_id: client_id.into(),
            nonce: nonce.into(),
            nonce_required: true,
            allowed_algs,
            client_secret: None,
            leeway: DEFAULT_LEEWAY_SECS,
            iat_slack: DEFAULT_IAT_SLACK,
        }
    }
}

impl fmt::Debug for IdTokenExpectations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenExpectations")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("allowed_algs", &self.allowed_algs)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("leeway", &self.leeway)
            .field("iat_slack", &self.iat_slack)
            .finish_non_exhaustive()
    }
}

/// The signature algorithms to accept (Core §3.1.3.7 step 7): OIDCIDTokenSignedResponseAlg when
/// configured, else the provider's `id_token_signing_alg_values_supported` (names we do not
/// support, `none` among them, are dropped), else RS256 (the Discovery §3 default every provider
/// must support). An unknown configured name gives an empty list: nothing is accepted.
pub fn allowed_algs(configured: Option<&str>, advertised: &[String]) -> Vec<Alg> {
    if let Some(name) = configured {
        return Alg::from_name(name).into_iter().collect();
    }
    let mut algs: Vec<Alg> = Vec::new();
    for a in advertised.iter().filter_map(|n| Alg::from_name(n)) {
        if !algs.contains(&a) {
            algs.push(a);
        }
    }
    if advertised.is_empty() {
        algs.push(Alg::RS256);
    }
    algs
}

/// A validated ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct IdToken {
    /// All claims, in document order.
    pub claims: Map<String, Value>,
    pub sub: String,
    pub iss: String,
    /// `exp`, seconds since the epoch (fractions dropped).
    pub exp: i64,
    /// `iat`, seconds since the epoch (fractions dropped).
    pub iat: i64,
    /// The algorithm that signed it.
    pub alg: Alg,
    /// The header `kid`, if any.
    pub kid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdTokenError {
    /// Syntax, signature, iss/aud/azp or time checks failed (see the inner error).
    Jose(JoseError),
    /// The `nonce` claim is absent or not a string.
    MissingNonce,
    /// The `nonce` claim differs from the one we sent.
    NonceMismatch,
    /// The `sub` claim is absent, not a string, or empty.
    MissingSubject,
    /// The provider keys could not be obtained ([`validate_with_jwks`]).
    KeysUnavailable(String),
}

impl IdTokenError {
    /// True when the token names a `kid` the key set lacks: refetch the JWKS once and retry.
    pub fn is_unknown_kid(&self) -> bool {
        matches!(self, IdTokenError::Jose(e) if e.is_unknown_kid())
    }
}

impl From<JoseError> for IdTokenError {
    fn from(e: JoseError) -> Self {
        IdTokenError::Jose(e)
    }
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdTokenError::Jose(e) => write!(f, "invalid ID token: {e}"),
            IdTokenError::MissingNonce => f.write_str("invalid ID token: no nonce"),
            IdTokenError::NonceMismatch => f.write_str("invalid ID token: nonce does not match"),
            IdTokenError::MissingSubject => f.write_str("invalid ID token: no subject"),
            IdTokenError::KeysUnavailable(e) => write!(f, "provider keys unavailable: {e}"),
        }
    }
}

impl std::error::Error for IdTokenError {}

fn is_hmac(alg: Alg) -> bool {
    alg.family() == KeyFamily::Oct
}

/// Validate an ID token from the token endpoint. `keys` is the provider's key set (its JWKS; any
/// `oct` keys in it are never used); HS* tokens are checked with `expected.client_secret` only.
pub fn validate(
    token: &str,
    expected: &IdTokenExpectations,
    keys: &KeySet,
    now: i64,
) -> Result<IdToken, IdTokenError> {
    // Step 1: only signed tokens (compact JWS); encrypted ID tokens (JWE) are refused by the parser,
    // as are `alg: none` (any spelling), `crit`, nested tokens and duplicate JSON members.
    let jws = parse_compact(token, DEFAULT_MAX_TOKEN_LEN)?;
    // RFC 8725 §3.11: an ID token is typed `JWT` or untyped; refuse e.g. `at+jwt` or `logout+jwt`.
    check_typ(jws.typ.as_deref(), &["jwt"], true)?;

    // Steps 6-8: the signature, with the algorithm allowlist (step 7: the registered / configured
    // algorithm) and, for MACs, the client secret as key (step 8). Provider JWKS never supply HMAC
    // keys (KeySet::from_jwks_json drops `oct` keys; we also filter here), so an HS256 token can
    // only verify under our own client secret, and only when HS* is allowed.
    let alg = jws.alg;
    if !expected.allowed_algs.contains(&alg) {
        return Err(JoseError::AlgNotAllowed.into());
    }
    let only_alg = [alg];
    if is_hmac(alg) {
        let Some(secret) = expected.client_secret.as_deref() else {
            return Err(JoseError::AlgNotAllowed.into());
        };
        let mut set = KeySet::new();
        // The client secret has no kid: ignore the header kid for it.
        set.push(Jwk::from_hmac_secret(None, secret)?);
        let mut unkeyed = jws.clone();
        unkeyed.kid = None;
        verify_signature_with_algs(&unkeyed, &set, Some(&only_alg))?;
    } else {
        let mut set = KeySet::new();
        for k in keys.iter().filter(|k| k.kty() != "oct") {
            set.push(k.clone());
        }
        verify_signature_with_algs(&jws, &set, Some(&only_alg))?;
    }
    let claims = &jws.claims;

    // Steps 2-5: `iss` exactly the issuer; `aud` contains client_id; several audiences need `azp`;
    // an `azp` must be client_id. Only these members go to the shared checker: the time claims are
    // checked below with the ID-token rules.
    let mut ident = Map::new();
    for name in ["iss", "aud", "azp"] {
        if let Some(v) = claims.get(name) {
            ident.insert(name.to_owned(), v.clone());
        }
    }
    let mut policy = ClaimsPolicy::new(now);
    policy.require_exp = false;
    policy.issuer = Some(expected.issuer.clone());
    policy.audiences = Some(vec![expected.client_id.clone()]);
    policy.authorized_party = Some(expected.client_id.clone());
    validate_claims(&ident, &policy)?;

    let now_f = now as f64;
    let leeway = expected.leeway.max(0) as f64;
    // Step 9: `exp` present and in the future (with leeway).
    let exp = match claims.get("exp") {
        Some(v) => numeric_date(v)?,
        None => return Err(JoseError::MissingExpiry.into()),
    };
    if now_f >= exp + leeway {
        return Err(JoseError::Expired.into());
    }
    if let Some(v) = claims.get("nbf")
        && numeric_date(v)? > now_f + leeway
    {
        return Err(JoseError::NotYetValid.into());
    }
    // Step 10: `iat` present and within OIDCIDTokenIatSlack of now, either way (as the C module).
    let iat = match claims.get("iat") {
        Some(v) => numeric_date(v)?,
        None => return Err(JoseError::MissingIssuedAt.into()),
    };
    let slack = expected.iat_slack.max(0) as f64;
    if iat < now_f - slack {
        return Err(JoseError::IssuedTooLongAgo.into());
    }
    if iat > now_f + slack {
        return Err(JoseError::IssuedInFuture.into());
    }

    // Step 11: `nonce` equal to the one we sent, compared in constant time.
    match claims.get("nonce") {
        Some(Value::String(n)) if !n.is_empty() => {
            if !crate::crypto::ct_eq(n.as_bytes(), expected.nonce.as_bytes()) {
                return Err(IdTokenError::NonceMismatch);
            }
        }
        None if !expected.nonce_required => {}
        _ => return Err(IdTokenError::MissingNonce),
    }
    // Steps 12-13 (acr, auth_time with max_age) are not requested by this relying party.

    // Core §2: `sub` is required, a non-empty string.
    let sub = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(IdTokenError::MissingSubject),
    };

    Ok(IdToken {
        sub,
        iss: expected.issuer.clone(),
        exp: exp as i64,
        iat: iat as i64,
        alg,
        kid: jws.kid.clone(),
        claims: jws.claims,
    })
}

/// [`validate`] against a remote JWKS: on an unknown `kid` the JWKS is refetched once (throttled by
/// [`RemoteJwks`]) and the token checked again (key rotation, conformance
/// `oidcc-client-test-signing-key-rotation-just-before-signing`).
pub fn validate_with_jwks(
    token: &str,
    expected: &IdTokenExpectations,
    jwks: &RemoteJwks,
    http: &dyn HttpClient,
    now: i64,
) -> Result<IdToken, IdTokenError> {
    let keys = jwks
        .keys(http, now)
        .map_err(|e| IdTokenError::KeysUnavailable(e.to_string()))?;
    match validate(token, expected, &keys, now) {
        Err(e) if e.is_unknown_kid() => match jwks.refresh_for_unknown_kid(http, now) {
            Some(fresh) => validate(token, expected, &fresh, now),
            None => Err(e),
        },
        other => other,
    }
}
