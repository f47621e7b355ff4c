//! The per-directory configuration: directives with `Apply::Dir`, set in `<Location>`,
//! `<Directory>`, `.htaccess`, or at server level (the server's default per-dir config).

use std::borrow::Cow;

use super::server::{pick, pick_vec};
use super::types::{ClaimsTarget, RefreshPolicy, UnAuthAction, UnAutzAction, UnAutzKind};
use super::values::{ClaimEncoding, PassClaimsAs, TokenSource};

/// 2.4.12.3's defaults of the per-directory settings.
pub mod defaults {
    pub const STATE_COOKIE_PREFIX: &str = crate::oidc::authorize::DEFAULT_STATE_COOKIE_PREFIX;
    pub const COOKIE: &str = crate::oidc::rp::DEFAULT_SESSION_COOKIE;
    pub const COOKIE_PATH: &str = "/";
}

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
    /// `OIDCPathScope`: added to `OIDCScope` for this location.
    pub path_scope: Option<String>,
    /// `OIDCPathAuthRequestParams`: `k=v&k2=v2`, already form-encoded.
    pub path_auth_request_params: Option<String>,
    /// `OIDCStateCookiePrefix`.
    pub state_cookie_prefix: Option<String>,
    /// `OIDCUnAuthAction`.
    pub unauth_action: Option<UnAuthAction>,
    /// `OIDCUnAutzAction` with its argument (they are merged together).
    pub unautz_action: Option<UnAutzAction>,
    /// `OIDCCookie`: the session cookie name.
    pub cookie: Option<String>,
    /// `OIDCCookiePath`.
    pub cookie_path: Option<String>,
    /// `OIDCPreservePost`.
    pub preserve_post: Option<bool>,
    /// `OIDCPassRefreshToken`.
    pub pass_refresh_token: Option<bool>,
    /// `OIDCRefreshAccessTokenBeforeExpiry`.
    pub refresh_access_token_before_expiry: Option<RefreshPolicy>,
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
        path_scope: _,
        path_auth_request_params: _,
        state_cookie_prefix: _,
        unauth_action: _,
        unautz_action: _,
        cookie: _,
        cookie_path: _,
        preserve_post: _,
        pass_refresh_token: _,
        refresh_access_token_before_expiry: _,
    } = base;
    let DirConfig {
        pass_claims_as,
        pass_claims_encoding,
        authn_header,
        accept_token_as,
        token_introspection_interval,
        strip_cookies,
        pass_access_token,
        path_scope,
        path_auth_request_params,
        state_cookie_prefix,
        unauth_action,
        unautz_action,
        cookie,
        cookie_path,
        preserve_post,
        pass_refresh_token,
        refresh_access_token_before_expiry,
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
        path_scope: pick(path_scope, &base.path_scope),
        path_auth_request_params: pick(path_auth_request_params, &base.path_auth_request_params),
        state_cookie_prefix: pick(state_cookie_prefix, &base.state_cookie_prefix),
        unauth_action: pick(unauth_action, &base.unauth_action),
        unautz_action: pick(unautz_action, &base.unautz_action),
        cookie: pick(cookie, &base.cookie),
        cookie_path: pick(cookie_path, &base.cookie_path),
        preserve_post: pick(preserve_post, &base.preserve_post),
        pass_refresh_token: pick(pass_refresh_token, &base.pass_refresh_token),
        refresh_access_token_before_expiry: pick(
            refresh_access_token_before_expiry,
            &base.refresh_access_token_before_expiry,
        ),
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

    /// `OIDCPathScope`, default none.
    pub fn path_scope(&self) -> Option<&str> {
        self.path_scope.as_deref()
    }

    /// `OIDCPathAuthRequestParams`, default none.
    pub fn path_auth_request_params(&self) -> Option<&str> {
        self.path_auth_request_params.as_deref()
    }

    /// `OIDCStateCookiePrefix`, default `mod_auth_openidc_state_`.
    pub fn state_cookie_prefix(&self) -> &str {
        self.state_cookie_prefix
            .as_deref()
            .unwrap_or(defaults::STATE_COOKIE_PREFIX)
    }

    /// `OIDCUnAuthAction`, default `auth`.
    pub fn unauth_action(&self) -> UnAuthAction {
        self.unauth_action.unwrap_or(UnAuthAction::Auth)
    }

    /// `OIDCUnAutzAction`, default `403` without a message.
    pub fn unautz_action(&self) -> Cow<'_, UnAutzAction> {
        match &self.unautz_action {
            Some(a) => Cow::Borrowed(a),
            None => Cow::Owned(UnAutzAction {
                kind: UnAutzKind::Return403,
                arg: None,
            }),
        }
    }

    /// `OIDCCookie`: the session cookie name, default `mod_auth_openidc_session`.
    pub fn cookie(&self) -> &str {
        self.cookie.as_deref().unwrap_or(defaults::COOKIE)
    }

    /// `OIDCCookiePath`, default `/`.
    pub fn cookie_path(&self) -> &str {
        self.cookie_path.as_deref().unwrap_or(defaults::COOKIE_PATH)
    }

    /// `OIDCPreservePost`, default Off.
    pub fn preserve_post(&self) -> bool {
        self.preserve_post.unwrap_or(false)
    }

    /// `OIDCPassRefreshToken`, default Off.
    pub fn pass_refresh_token(&self) -> bool {
        self.pass_refresh_token.unwrap_or(false)
    }

    /// `OIDCRefreshAccessTokenBeforeExpiry`; `None` (default): no refresh.
    pub fn refresh_access_token_before_expiry(&self) -> Option<RefreshPolicy> {
        self.refresh_access_token_before_expiry
    }
}
