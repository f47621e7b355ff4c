//! The check_authn hook: which AuthType, then the core's decision applied to the request.

use std::cell::Cell;
use std::ffi::{CStr, c_char, c_int};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::config::{dir_config, our_slot, server_state};
use super::guard::guard;
use super::log::{self, rlog};
use super::module::module_ptr;
use super::pool::pool_box;
use super::request::{HttpdRequest, set_all};
use super::sys;
use crate::decision::{Decision, Rendered};
use crate::oidc::rp::RpRequestSettings;
use crate::request::RequestView;

/// The AuthType values this module serves (compared case-insensitively, as httpd does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    OpenIdConnect,
    OAuth20,
    /// Bearer token if present, else the browser flow.
    Mixed,
}

impl AuthKind {
    pub fn parse(auth_type: &str) -> Option<AuthKind> {
        if auth_type.eq_ignore_ascii_case("openid-connect") {
            Some(AuthKind::OpenIdConnect)
        } else if auth_type.eq_ignore_ascii_case("oauth20") {
            Some(AuthKind::OAuth20)
        } else if auth_type.eq_ignore_ascii_case("auth-openidc") {
            Some(AuthKind::Mixed)
        } else {
            None
        }
    }
}

/// What authentication found, kept in `r->request_config` for `Require claim` (and holding the
/// shared strings set into the request's tables).
pub struct RequestClaims {
    pub claims: Arc<Map<String, Value>>,
    pub rendered: Arc<Rendered>,
    /// Authenticated by a browser session (not a bearer token): a refusal by `Require claim`
    /// follows `OIDCUnAutzAction`.
    pub browser: bool,
    /// A `Require claim` line refused this request (read when the refusal is final).
    pub claim_refused: Cell<bool>,
}

pub unsafe extern "C" fn check_authn(r: *mut sys::request_rec) -> c_int {
    guard(
        sys::HTTP_INTERNAL_SERVER_ERROR as c_int,
        |msg| {
            rlog!(
                r,
                log::ERR,
                "oidc_rs: internal error (request answered 500): {msg}"
            )
        },
        || unsafe { authenticate(r) },
    )
}

unsafe fn authenticate(r: *mut sys::request_rec) -> c_int {
    // SAFETY: r is the live request httpd hands the hook.
    let req = unsafe { HttpdRequest::new(r, true) };
    let Some(auth_type) = req.configured_auth_type() else {
        return sys::DECLINED as c_int;
    };
    let Some(kind) = AuthKind::parse(auth_type) else {
        return sys::DECLINED as c_int;
    };

    req.adopt_configured_auth_type();

    let (Some(state), Some(dir)) = (unsafe { server_state((*r).server) }, unsafe {
        dir_config(r)
    }) else {
        rlog!(r, log::ERR, "oidc_rs: module configuration missing");
        return sys::HTTP_INTERNAL_SERVER_ERROR as c_int;
    };

    let use_bearer = match kind {
        AuthKind::OAuth20 => true,
        // Mixed: a bearer token, or a CORS preflight (passed as the C module does), takes the
        // resource-server path; anything else is the browser flow.
        AuthKind::Mixed => crate::oauth::has_bearer_token(&req, dir) || req.method() == "OPTIONS",
        AuthKind::OpenIdConnect => false,
    };
    if !use_bearer {
        if !state.cfg.has_rp_config() {
            rlog!(
                r,
                log::ERR,
                "oidc_rs: AuthType {auth_type} needs the browser login configured for this server (OIDCProviderMetadataURL or OIDCProviderIssuer, OIDCClientID, OIDCRedirectURI, OIDCCryptoPassphrase)"
            );
            return sys::HTTP_INTERNAL_SERVER_ERROR as c_int;
        }
        // SAFETY: r->server is the live server this state belongs to.
        let rp = match unsafe { state.relying_party((*r).server) } {
            Ok(rp) => rp,
            Err(e) => {
                rlog!(r, log::ERR, "oidc_rs: cannot run the browser login: {e}");
                return sys::HTTP_INTERNAL_SERVER_ERROR as c_int;
            }
        };
        let decision = rp.decide(&req, &RpRequestSettings::from_config(dir));
        return unsafe { apply(&req, decision, true) };
    }

    // SAFETY: r->server is the live server this state belongs to.
    let rs = match unsafe { state.resource_server((*r).server) } {
        Ok(rs) => rs,
        Err(e) => {
            rlog!(r, log::ERR, "oidc_rs: cannot validate bearer tokens: {e}");
            return sys::HTTP_INTERNAL_SERVER_ERROR as c_int;
        }
    };
    let decision = rs.authenticate(&req, &state.cfg, dir);
    unsafe { apply(&req, decision, false) }
}

/// Applies the core's decision to the request (`browser`: made by the browser login).
unsafe fn apply(req: &HttpdRequest, decision: Decision, browser: bool) -> c_int {
    let r = req.raw();
    match decision {
        Decision::Decline => sys::DECLINED as c_int,
        Decision::Allow(identity) => {
            if let Some((level, message)) = &identity.log {
                rlog!(r, log::level_of(*level), "oidc_rs: {message}");
            }
            for name in &identity.remove_headers {
                rlog!(
                    r,
                    log::WARNING,
                    "oidc_rs: removing spoofed request header {name:?}"
                );
                req.unset_header_in(name);
            }
            match identity.cookie_header.as_deref() {
                None => {}
                Some("") => req.unset_header_in("Cookie"),
                Some(cookies) => req.set_header_in("Cookie", cookies),
            }
            for cookie in &identity.set_cookies {
                req.add_err_header_out("Set-Cookie", cookie);
            }
            // SAFETY: r is live. The rendered identity is shared (cached per token); the request
            // pool holds a reference to it, so the strings handed to httpd without copying live
            // exactly as long as the request.
            unsafe {
                let kept = &*pool_box(
                    (*r).pool,
                    RequestClaims {
                        claims: identity.claims,
                        rendered: identity.rendered,
                        browser,
                        claim_refused: Cell::new(false),
                    },
                );
                let distinct = kept.rendered.names_distinct;
                set_all((*r).headers_in, &kept.rendered.headers, distinct);
                set_all((*r).subprocess_env, &kept.rendered.env, distinct);
                (*r).user = kept.rendered.user.as_ptr().cast_mut();
                let kept_ptr: *const RequestClaims = kept;
                sys::oidcrs_set_module_config(
                    (*r).request_config,
                    module_ptr(),
                    kept_ptr.cast_mut().cast(),
                );
            }
            rlog!(r, log::DEBUG, "oidc_rs: authenticated user {:?}", unsafe {
                CStr::from_ptr((*r).user)
            });
            sys::OK as c_int
        }
        Decision::Respond(response) => {
            if let Some((level, message)) = &response.log {
                rlog!(r, log::level_of(*level), "oidc_rs: {message}");
            }
            for (name, value) in &response.headers {
                if name.eq_ignore_ascii_case("Location") {
                    // httpd's redirect page reads Location from headers_out.
                    req.set_header_out(name, value);
                } else {
                    req.add_err_header_out(name, value);
                }
            }
            match &response.body {
                Some((content_type, body)) => {
                    req.write_page(response.status, content_type, body);
                    sys::DONE
                }
                None => c_int::from(response.status),
            }
        }
        Decision::Deny(denial) => {
            let level = log::level_of(denial.log_level);
            rlog!(r, level, "oidc_rs: {}", denial.log);
            if let Some(challenge) = &denial.www_authenticate {
                req.set_err_header_out("WWW-Authenticate", challenge);
            }
            denial.status as c_int
        }
    }
}

/// The claims of this request or of the request it was made from (subrequest / internal redirect,
/// where httpd copied `r->user` without running authentication again).
///
/// # Safety
/// `r` must be a live request_rec.
pub unsafe fn request_claims<'a>(mut r: *const sys::request_rec) -> Option<&'a RequestClaims> {
    while !r.is_null() {
        // SAFETY: request_config is the live per-request vector; our slot holds RequestClaims.
        if let Some(claims) = unsafe { our_slot::<RequestClaims>((*r).request_config).as_ref() } {
            return Some(claims);
        }
        r = unsafe {
            if !(*r).main.is_null() {
                (*r).main
            } else {
                (*r).prev
            }
        };
    }
    None
}

/// Called by mod_authz_core before it answers 401 to an authenticated user; claims the
/// failure for our AuthTypes (so httpd logs no "AuthType not handled" error) and adds the
/// RFC 6750 challenge for bearer locations.
pub unsafe extern "C" fn note_auth_failure(
    r: *mut sys::request_rec,
    auth_type: *const c_char,
) -> c_int {
    guard(
        sys::DECLINED as c_int,
        super::log::report_panic,
        || unsafe {
            if auth_type.is_null() {
                return sys::DECLINED as c_int;
            }
            let Ok(t) = std::ffi::CStr::from_ptr(auth_type).to_str() else {
                return sys::DECLINED as c_int;
            };
            let kind = AuthKind::parse(t);
            if kind.is_none() {
                return sys::DECLINED as c_int;
            }
            // A browser session refused by `Require claim`: OIDCUnAutzAction decides the answer.
            // Done here, once the verdict is final (a refused line inside <RequireAny> that
            // another line grants must have no effect).
            if let Some(claims) = request_claims(r)
                && claims.browser
            {
                if claims.claim_refused.get() {
                    super::authz::unauthorized_browser_user(r);
                }
                return sys::OK as c_int;
            }
            match kind {
                None => sys::DECLINED as c_int,
                Some(AuthKind::OpenIdConnect) => sys::OK as c_int,
                Some(_) => {
                    let req = HttpdRequest::new(r, false);
                    if req.err_header_out("WWW-Authenticate").is_none() {
                        req.set_err_header_out(
                            "WWW-Authenticate",
                            crate::oauth::INSUFFICIENT_SCOPE_CHALLENGE,
                        );
                    }
                    sys::OK as c_int
                }
            }
        },
    )
}
