//! The per-directory configuration: directives with `Apply::Dir`, set in `<Location>`,
//! `<Directory>`, `.htaccess`, or at server level (the server's default per-dir config).

use super::server::{pick, pick_vec};
use super::types::ClaimsTarget;
use super::values::{ClaimEncoding, PassClaimsAs, TokenSource};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirConfig {
    /// `OIDCPassClaimsAs`, first argument.
    pub pass_claims_as: Option<ClaimsTarget>,
    /// `OIDCPassClaimsAs`, second argument; merged on its own, as in the C module (a location
    /// that sets only `headers` keeps an encoding set further up).
    pub pass_claims_encoding: Option<ClaimEncoding>,
    /// `OIDCAuthNHeader`.
    pub authn_header: Option<String>,
    /// `OIDCOAuthAcceptTokenAs`, in configuration order, at most one entry per kind.
    pub accept_token_as: Vec<TokenSource>,
    /// `OIDCOAuthTokenIntrospectionInterval`: -1, 0 or a number of seconds.
    pub token_introspection_interval: Option<i32>,
    /// `OIDCStripCookies`: cookies removed from the request before it is passed on.
    pub strip_cookies: Vec<String>,
    /// `OIDCPassAccessToken` (2.4.14.3): pass `OIDC_access_token` to the backend.
    pub pass_access_token: Option<bool>,
}

/// httpd's `merge_dir_config`: the more specific section (`add`) wins for everything it sets.
/// Returns a new struct; it runs at request time on shared structs, so it never mutates.
///
/// Both structs are destructured without `..`, so adding a field without merging it is a
/// compile error.
pub fn merge(base: &DirConfig, add: &DirConfig) -> DirConfig {
    let DirConfig {
        pass_claims_as: _,
        pass_claims_encoding: _,
        authn_header: _,
        accept_token_as: _,
        token_introspection_interval: _,
        strip_cookies: _,
        pass_access_token: _,
    } = base;
    let DirConfig {
        pass_claims_as,
        pass_claims_encoding,
        authn_header,
        accept_token_as,
        token_introspection_interval,
        strip_cookies,
        pass_access_token,
    } = add;
    DirConfig {
        pass_claims_as: pick(pass_claims_as, &base.pass_claims_as),
        pass_claims_encoding: pick(pass_claims_encoding, &base.pass_claims_encoding),
        authn_header: pick(authn_header, &base.authn_header),
        accept_token_as: pick_vec(accept_token_as, &base.accept_token_as),
        token_introspection_interval: pick(
            token_introspection_interval,
            &base.token_introspection_interval,
        ),
        strip_cookies: pick_vec(strip_cookies, &base.strip_cookies),
        pass_access_token: pick(pass_access_token, &base.pass_access_token),
    }
}

impl DirConfig {
    /// `OIDCPassClaimsAs`, default `both` with raw UTF-8 values (2.4.12.3).
    pub fn pass_claims_as(&self) -> PassClaimsAs {
        let target = self.pass_claims_as.unwrap_or(ClaimsTarget::Both);
        PassClaimsAs {
            headers: target.headers(),
            environment: target.environment(),
            encoding: self.pass_claims_encoding.unwrap_or(ClaimEncoding::None),
        }
    }

    /// `OIDCAuthNHeader`: a request header that gets a copy of REMOTE_USER; default none.
    pub fn authn_header(&self) -> Option<&str> {
        self.authn_header.as_deref()
    }

    /// `OIDCOAuthAcceptTokenAs`, default `header` only.
    pub fn accept_token_as(&self) -> &[TokenSource] {
        const DEFAULT: &[TokenSource] = &[TokenSource::Header];
        if self.accept_token_as.is_empty() {
            DEFAULT
        } else {
            &self.accept_token_as
        }
    }

    /// `OIDCOAuthTokenIntrospectionInterval`, default 0: -1 never caches introspection (and,
    /// from 2.4.20 on, JWT validation) results, 0 caches them until the token expires, n > 0
    /// re-validates a cached result older than n seconds.
    pub fn introspection_interval(&self) -> i32 {
        self.token_introspection_interval.unwrap_or(0)
    }

    /// `OIDCStripCookies`, default none.
    pub fn strip_cookies(&self) -> &[String] {
        &self.strip_cookies
    }

    /// `OIDCPassAccessToken`, default On.
    pub fn pass_access_token(&self) -> bool {
        self.pass_access_token.unwrap_or(true)
    }
}
