//! Value types of directive arguments that the request-time core uses directly.

/// Where a bearer token may be taken from (`OIDCOAuthAcceptTokenAs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (scheme case-insensitive).
    Header,
    /// `access_token` parameter of an `application/x-www-form-urlencoded` POST body.
    Post,
    /// `access_token` query parameter.
    Query,
    /// A cookie with this name (`cookie` alone means `PA.global`).
    Cookie(String),
    /// The password of `Authorization: Basic` credentials.
    Basic,
}

/// `OIDCPassClaimsAs none|headers|environment|both [latin1|base64url|none]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassClaimsAs {
    pub headers: bool,
    pub environment: bool,
    pub encoding: ClaimEncoding,
}

impl Default for PassClaimsAs {
    /// 2.4.12.3's default: `both`, values passed as raw UTF-8.
    fn default() -> Self {
        PassClaimsAs {
            headers: true,
            environment: true,
            encoding: ClaimEncoding::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimEncoding {
    /// Raw UTF-8 bytes.
    None,
    /// UTF-8 converted to ISO-8859-1, characters outside it replaced by '?'.
    Latin1,
    /// base64url without padding.
    Base64Url,
}

/// `OIDCRemoteUserClaim` / `OIDCOAuthRemoteUserClaim`: `<claim>[@] [<regex>] [<replacement>]`.
#[derive(Debug, Clone)]
pub struct RemoteUserClaim {
    /// Top-level claim name.
    pub claim: String,
    /// Trailing `@` on the claim: append `@` + the issuer without `https://` (RP only).
    pub append_issuer: bool,
    /// Optional regex; without a replacement its capture group 1 is the user (no group 1: no user).
    pub regex: Option<regex_lite::Regex>,
    /// Optional replacement with `$1`... references.
    pub replacement: Option<String>,
}

impl PartialEq for RemoteUserClaim {
    fn eq(&self, other: &Self) -> bool {
        self.claim == other.claim
            && self.append_issuer == other.append_issuer
            && self.regex.as_ref().map(|r| r.as_str()) == other.regex.as_ref().map(|r| r.as_str())
            && self.replacement == other.replacement
    }
}
