//! `Require claim <spec>...`: an authz provider over the claims kept by authentication.

use std::ffi::{CStr, c_char, c_void};
use std::ptr;

use super::authn::request_claims;
use super::guard::guard;
use super::log::{self, rlog};
use super::pool::{pool_box, pstr};
use super::sys;
use crate::authz::RequireClaim;

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
