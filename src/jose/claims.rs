//! JWT claim checks for a verified token (RFC 7519 §4.1, RFC 8725 §3.8-3.11, RFC 9068 §4).

use serde_json::{Map, Value};

use super::JoseError;
use super::jws::normalize_media_type;

/// Default clock-skew allowance in seconds. RFC 7519 says "usually no more than a few minutes";
/// we keep it small (checklist C22); configuration may raise it.
pub const DEFAULT_LEEWAY_SECS: i64 = 10;

/// Largest magnitude accepted for a NumericDate: 2^53, the range every JSON implementation represents
/// exactly. Beyond it different parsers see different instants (and 1e300 is a trap for integer
/// conversions), so such values are refused as malformed.
const MAX_NUMERIC_DATE: f64 = 9_007_199_254_740_992.0;

/// What [`validate_claims`] checks. Build it with [`ClaimsPolicy::new`] and adjust the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsPolicy {
    /// Current time, seconds since the epoch.
    pub now: i64,
    /// Clock-skew allowance in seconds (negative values count as 0).
    pub leeway: i64,
    /// Refuse tokens without the expiry claim (RFC 9068 §2.2 requires `exp`).
    pub require_exp: bool,
    /// Name of the expiry claim, normally `exp`; its value is an absolute NumericDate.
    pub expiry_claim: String,
    /// When set, `aud` must be present and contain at least one of these.
    pub audiences: Option<Vec<String>>,
    /// When set, `iss` must be present and equal this exactly (no normalisation).
    pub issuer: Option<String>,
    /// Refuse tokens without `iat` (ID tokens: OIDC Core 3.1.3.7 step 10).
    pub require_iat: bool,
    /// When set, `iat` may lie at most this many seconds (plus leeway) in the past.
    pub max_iat_age: Option<i64>,
    /// When set (ID tokens: the client_id), a token with several audiences must carry `azp`, and any
    /// `azp` must equal this (OIDC Core 3.1.3.7 steps 4-5).
    pub authorized_party: Option<String>,
}

impl ClaimsPolicy {
    /// `exp` required, default leeway, no audience/issuer/azp checks, `iat` optional.
    pub fn new(now: i64) -> ClaimsPolicy {
        ClaimsPolicy {
            now,
            leeway: DEFAULT_LEEWAY_SECS,
            require_exp: true,
            expiry_claim: "exp".to_owned(),
            audiences: None,
            issuer: None,
            require_iat: false,
            max_iat_age: None,
            authorized_party: None,
        }
    }
}

/// A NumericDate claim value: a JSON number (integer or finite fraction) within ±2^53. Strings,
/// booleans, null, arrays, objects and out-of-range numbers are malformed (checklist C21).
pub fn numeric_date(v: &Value) -> Result<f64, JoseError> {
    match v {
        // Integers are range-checked exactly: 2^53 + 1 would round to 2^53 as a float.
        Value::Number(n) if n.as_u64().is_some_and(|u| u > MAX_NUMERIC_DATE as u64) => {
            Err(JoseError::MalformedTimeClaim)
        }
        Value::Number(n) if n.as_i64().is_some_and(|i| i < -(MAX_NUMERIC_DATE as i64)) => {
            Err(JoseError::MalformedTimeClaim)
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && f.abs() <= MAX_NUMERIC_DATE => Ok(f),
            _ => Err(JoseError::MalformedTimeClaim),
        },
        _ => Err(JoseError::MalformedTimeClaim),
    }
}

/// Claim checks for a verified JWT (RFC 7519/8725/9068). Times compare as
/// (all arithmetic in f64, so nothing overflows):
/// * expired when `now >= exp + leeway` (RFC 7519 §4.1.4: now must be *before* exp);
/// * not yet valid when `nbf > now + leeway`;
/// * issued in the future when `iat > now + leeway`; too old when `iat < now - max_iat_age - leeway`.
///
/// `exp`/`nbf`/`iat` must be numbers (see [`numeric_date`]) whenever present, even if not required.
/// `aud` may be a string or an array of strings; `iss` and `azp`, when present, must be strings.
pub fn validate_claims(
    claims: &Map<String, Value>,
    policy: &ClaimsPolicy,
) -> Result<(), JoseError> {
    let now = policy.now as f64;
    let leeway = policy.leeway.max(0) as f64;

    match claims.get(policy.expiry_claim.as_str()) {
        Some(v) if now >= numeric_date(v)? + leeway => return Err(JoseError::Expired),
        Some(_) => {}
        None if policy.require_exp => return Err(JoseError::MissingExpiry),
        None => {}
    }
    if policy.expiry_claim != "exp"
        && let Some(v) = claims.get("exp")
    {
        numeric_date(v)?;
    }
    if let Some(v) = claims.get("nbf")
        && numeric_date(v)? > now + leeway
    {
        return Err(JoseError::NotYetValid);
    }
    match claims.get("iat") {
        Some(v) => {
            let iat = numeric_date(v)?;
            if iat > now + leeway {
                return Err(JoseError::IssuedInFuture);
            }
            if let Some(age) = policy.max_iat_age
                && iat < now - age.max(0) as f64 - leeway
            {
                return Err(JoseError::IssuedTooLongAgo);
            }
        }
        None if policy.require_iat => return Err(JoseError::MissingIssuedAt),
        None => {}
    }

    match (claims.get("iss"), &policy.issuer) {
        (Some(Value::String(iss)), Some(expected)) if iss == expected => {}
        (Some(Value::String(_)), None) | (None, None) => {}
        _ => return Err(JoseError::IssuerMismatch),
    }

    let audiences: Vec<&str> = match claims.get("aud") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or(JoseError::MalformedAudience))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(JoseError::MalformedAudience),
    };
    if let Some(accepted) = &policy.audiences {
        if audiences.is_empty() {
            return Err(JoseError::MissingAudience);
        }
        if !audiences.iter().any(|a| accepted.iter().any(|x| x == a)) {
            return Err(JoseError::AudienceMismatch);
        }
    }

    let azp = match claims.get("azp") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(JoseError::AuthorizedPartyMismatch),
    };
    if let Some(party) = &policy.authorized_party {
        match azp {
            Some(a) if a != party => return Err(JoseError::AuthorizedPartyMismatch),
            None if audiences.len() > 1 => return Err(JoseError::AuthorizedPartyMismatch),
            _ => {}
        }
    }
    Ok(())
}

/// Cross-JWT confusion (RFC 8725 §3.11, checklist C24): accept the `typ` header only if it is one of
/// `accepted` (compared case-insensitively, `application/` optional, so `at+jwt` matches
/// `application/at+JWT`), or absent when `allow_absent`.
/// Typical rules: access tokens (RFC 9068) `["at+jwt"]` (`["at+jwt", "jwt"]` for compatibility);
/// ID tokens `["jwt"]` with absent allowed; logout tokens `["logout+jwt", "jwt"]` with absent allowed.
pub fn check_typ(
    typ: Option<&str>,
    accepted: &[&str],
    allow_absent: bool,
) -> Result<(), JoseError> {
    match typ {
        None if allow_absent => Ok(()),
        None => Err(JoseError::TypeNotAccepted),
        Some(t) => {
            let t = normalize_media_type(t);
            if accepted.iter().any(|a| normalize_media_type(a) == t) {
                Ok(())
            } else {
                Err(JoseError::TypeNotAccepted)
            }
        }
    }
}

/// Rate limit for JWKS refetches triggered by unknown `kid`s (checklist C34): at most one refetch
/// per `min_interval` seconds. Keep one per JWKS URI behind a mutex; on a refused refetch keep using
/// the last good key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefetchLimiter {
    min_interval: i64,
    last: Option<i64>,
}

impl RefetchLimiter {
    pub fn new(min_interval_secs: i64) -> RefetchLimiter {
        RefetchLimiter {
            min_interval: min_interval_secs.max(0),
            last: None,
        }
    }

    /// True (and remember `now`) when a refetch may happen now. A clock that went backwards allows one.
    pub fn try_acquire(&mut self, now: i64) -> bool {
        if let Some(last) = self.last
            && now >= last
            && now.saturating_sub(last) < self.min_interval
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}
