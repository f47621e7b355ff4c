//! `Require claim <spec>...`: an authz provider over the claims kept by authentication.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr;

use super::authn::request_claims;
use super::config::{dir_config, server_state};
use super::guard::guard;
use super::log::{self, rlog};
use super::pool::{pool_box, pstr};
use super::request::HttpdRequest;
use super::sys;
use crate::authz::RequireClaim;
use crate::config::DirConfig;
use crate::config::types::UnAutzKind;
use crate::oidc::rp::RpRequestSettings;

/// Registered for every generation in register_hooks; lives in our image, like the hooks.
pub static CLAIM_PROVIDER: sys::authz_provider = sys::authz_provider {
    check_authorization: Some(check_claim),
    parse_require_line: Some(parse_claim),
};

/// Parses the require line at config time into a pool-owned [`RequireClaim`].
unsafe extern "C" fn parse_claim(
    cmd: *mut sys::cmd_parms,
    require_line: *const c_char,
    parsed: *mut *const c_void,
) -> *const c_char {
    let pool = if cmd.is_null() {
        ptr::null_mut()
    } else {
        unsafe { (*cmd).pool }
    };
    let result = guard(
        Err("Require claim: internal error".to_string()),
        super::log::report_panic,
        || {
            if require_line.is_null() || parsed.is_null() {
                return Err("Require claim: missing argument".to_string());
            }
            let line = unsafe { CStr::from_ptr(require_line) }
                .to_str()
                .map_err(|_| "Require claim: argument is not valid UTF-8".to_string())?;
            let rule = RequireClaim::parse(line).map_err(|e| format!("Require claim: {e}"))?;
            unsafe { *parsed = pool_box(pool, rule).cast::<c_void>().cast_const() };
            Ok(())
        },
    );
    match result {
        Ok(()) => ptr::null(),
        Err(e) => unsafe { pstr(pool, e.as_bytes()) },
    }
}

unsafe extern "C" fn check_claim(
    r: *mut sys::request_rec,
    _require_line: *const c_char,
    parsed: *const c_void,
) -> sys::authz_status {
    guard(
        sys::authz_status_AUTHZ_GENERAL_ERROR,
        |msg| {
            rlog!(
                r,
                log::ERR,
                "oidc_rs: internal error in Require claim: {msg}"
            )
        },
        || unsafe {
            // Called before authentication too (authorize_userless): ask for a user first.
            if (*r).user.is_null() {
                return sys::authz_status_AUTHZ_DENIED_NO_USER;
            }
            if *(*r).user == 0 && CStr::from_ptr((*r).method).to_bytes() == b"OPTIONS" {
                // A CORS preflight let through by AuthType auth-openidc.
                return sys::authz_status_AUTHZ_GRANTED;
            }
            if parsed.is_null() {
                return sys::authz_status_AUTHZ_GENERAL_ERROR;
            }
            let rule = &*(parsed as *const RequireClaim);
            let Some(claims) = request_claims(r) else {
                rlog!(
                    r,
                    log::DEBUG,
                    "oidc_rs: Require claim: no claims for this request"
                );
                return sys::authz_status_AUTHZ_DENIED;
            };
            if rule.matches(&claims.claims) {
                sys::authz_status_AUTHZ_GRANTED
            } else if claims.browser {
                rlog!(r, log::DEBUG, "oidc_rs: Require claim: no match");
                claims.claim_refused.set(true);
                sys::authz_status_AUTHZ_DENIED
            } else {
                rlog!(r, log::DEBUG, "oidc_rs: Require claim: no match");
                let env = c"OIDC_OAUTH_BEARER_SCOPE_ERROR";
                let value = std::ffi::CString::new(crate::oauth::INSUFFICIENT_SCOPE_CHALLENGE)
                    .unwrap_or_default();
                sys::apr_table_set((*r).subprocess_env, env.as_ptr(), value.as_ptr());
                sys::authz_status_AUTHZ_DENIED
            }
        },
    )
}

/// `OIDCUnAutzAction` for a session whose claims `Require claim` refused, called from the
/// note_auth_failure hook once mod_authz_core has decided to answer 401 (403 with
/// `AuthzSendForbiddenOnFailure On`); the custom response of both statuses makes that answer
/// what the action says:
/// * `401`/`403` with a message: that text (HTML-escaped) as the page;
/// * `302 <url>`: a redirect to the URL (the C module sends a 401 page with a meta refresh);
/// * `auth`: a new login at the provider (step-up), for browser navigations only.
///
/// # Safety
/// `r` must be a live request_rec.
pub unsafe fn unauthorized_browser_user(r: *mut sys::request_rec) {
    let Some(dir) = (unsafe { dir_config(r) }) else {
        return;
    };
    let action = dir.unautz_action();
    let custom = match action.kind {
        UnAutzKind::Return401 | UnAutzKind::Return403 => action
            .arg
            .as_deref()
            // httpd marks text responses with a leading '"' itself; <p> keeps a message that
            // starts with '/' or a scheme from being taken for a redirect target.
            .map(|msg| format!("<p>{}</p>", crate::oidc::rp::pages::escape(msg))),
        // httpd redirects externally only to absolute URLs ('/...' would be an internal redirect).
        UnAutzKind::Return302 => action
            .arg
            .as_deref()
            .map(|url| unsafe { absolute_url(r, url) }),
        UnAutzKind::Auth => unsafe { step_up_location(r, dir) },
    };
    let Some(custom) = custom else {
        return;
    };
    let Ok(custom) = CString::new(custom) else {
        return;
    };
    // SAFETY: r is live; ap_custom_response copies the string into the request pool.
    unsafe {
        sys::ap_custom_response(r, sys::HTTP_UNAUTHORIZED as c_int, custom.as_ptr());
        sys::ap_custom_response(r, sys::HTTP_FORBIDDEN as c_int, custom.as_ptr());
    }
}

/// `url` made absolute against this server (scheme, host and port as httpd sees them).
///
/// # Safety
/// `r` must be a live request_rec.
unsafe fn absolute_url(r: *mut sys::request_rec, url: &str) -> String {
    if !url.starts_with('/') {
        return url.to_string();
    }
    let Ok(c) = CString::new(url) else {
        return url.to_string();
    };
    // SAFETY: r is live; ap_construct_url returns a request-pool string.
    let abs = unsafe { sys::ap_construct_url((*r).pool, c.as_ptr(), r) };
    if abs.is_null() {
        return url.to_string();
    }
    unsafe { CStr::from_ptr(abs) }
        .to_string_lossy()
        .into_owned()
}

/// For `OIDCUnAutzAction auth`: starts a new login (state cookie set now) and returns the
/// provider URL to redirect to; `None` for requests that cannot complete one (XHR, API).
///
/// # Safety
/// `r` must be a live request_rec.
unsafe fn step_up_location(r: *mut sys::request_rec, dir: &DirConfig) -> Option<String> {
    // SAFETY: r is live for this call.
    let req = unsafe { HttpdRequest::new(r, false) };
    let state = unsafe { server_state((*r).server) }?;
    let rp = unsafe { state.relying_party((*r).server) }.ok()?;
    let response = rp.start_login(&req, &RpRequestSettings::from_config(dir))?;
    let mut location = None;
    for (name, value) in response.headers {
        if name.eq_ignore_ascii_case("Location") {
            location = Some(value);
        } else {
            req.add_err_header_out(&name, &value);
        }
    }
    location
}
