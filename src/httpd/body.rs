//! Reading a form body for `OIDCOAuthAcceptTokenAs post` without losing it: the bytes are read
//! (bounded), then served again by the `oidc_rs_kept_body` input filter, so that mod_proxy
//! forwards the body unchanged.

use std::ffi::{c_char, c_void};

use super::pool::pool_box;
use super::sys;

pub const KEPT_BODY_FILTER: &std::ffi::CStr = c"oidc_rs_kept_body";

/// Largest form body read to look for an `access_token` parameter.
const MAX_FORM_BODY: usize = 1024 * 1024;

struct KeptBody {
    data: Vec<u8>,
    offset: usize,
}

/// Reads the whole request body into memory and installs the filter that replays it.
/// Returns `None` when reading fails or the body exceeds the limit (then nothing is replayed
/// and the request continues without a body token).
///
/// # Safety
/// `r` must be a live request_rec whose body has not been read yet.
pub unsafe fn read_and_keep(r: *mut sys::request_rec) -> Option<Vec<u8>> {
    unsafe {
        let pool = (*r).pool;
        let bb = sys::apr_brigade_create(pool, (*(*r).connection).bucket_alloc);
        if bb.is_null() {
            return None;
        }
        let mut data: Vec<u8> = Vec::new();
        let mut ok = true;
        loop {
            let rv = sys::ap_get_brigade(
                (*r).input_filters,
                bb,
                sys::ap_input_mode_t_AP_MODE_READBYTES,
                sys::apr_read_type_e_APR_BLOCK_READ,
                sys::HUGE_STRING_LEN as sys::apr_off_t,
            );
            if rv != sys::APR_SUCCESS as sys::apr_status_t {
                ok = false;
                break;
            }
            let eos = sys::oidcrs_brigade_ends_with_eos(bb) != 0;
            let mut len: sys::apr_off_t = 0;
            sys::apr_brigade_length(bb, 1, &mut len);
            if len > 0 {
                let start = data.len();
                let len = len as usize;
                if start + len > MAX_FORM_BODY {
                    ok = false;
                }
                data.resize(start + len, 0);
                let mut got = len as sys::apr_size_t;
                sys::apr_brigade_flatten(bb, data[start..].as_mut_ptr().cast::<c_char>(), &mut got);
                data.truncate(start + got as usize);
            }
            sys::apr_brigade_cleanup(bb.cast());
            if eos || !ok {
                break;
            }
        }
        crate::httpd::log::rlog!(
            r,
            crate::httpd::log::DEBUG,
            "oidc_rs: read a form body of {} bytes",
            data.len()
        );
        // The backend gets the body without the token (as from the C module); a body too large
        // to inspect goes back unchanged.
        let forwarded = if ok {
            crate::token::strip_access_token(&data)
        } else {
            data.clone()
        };
        if forwarded.len() != data.len() {
            let len = std::ffi::CString::new(forwarded.len().to_string()).unwrap_or_default();
            sys::apr_table_set((*r).headers_in, c"Content-Length".as_ptr(), len.as_ptr());
            sys::apr_table_unset((*r).headers_in, c"Transfer-Encoding".as_ptr());
        }
        let ctx = pool_box(
            pool,
            KeptBody {
                data: forwarded,
                offset: 0,
            },
        );
        sys::ap_add_input_filter(
            KEPT_BODY_FILTER.as_ptr(),
            ctx.cast::<c_void>(),
            r,
            (*r).connection,
        );
        if ok { Some(data) } else { None }
    }
}

/// The input filter serving the kept body, then EOS.
pub unsafe extern "C" fn kept_body_filter(
    f: *mut sys::ap_filter_t,
    bb: *mut sys::apr_bucket_brigade,
    mode: sys::ap_input_mode_t,
    _block: sys::apr_read_type_e,
    readbytes: sys::apr_off_t,
) -> sys::apr_status_t {
    super::guard::guard(
        sys::APR_EGENERAL as sys::apr_status_t,
        super::log::report_panic,
        || unsafe {
            let ctx = (*f).ctx as *mut KeptBody;
            if ctx.is_null() {
                return sys::ap_get_brigade((*f).next, bb, mode, _block, readbytes);
            }
            let kept = &mut *ctx;
            if mode != sys::ap_input_mode_t_AP_MODE_READBYTES
                && mode != sys::ap_input_mode_t_AP_MODE_SPECULATIVE
            {
                // Nothing but plain reads makes sense on a form body: report end of stream.
                sys::oidcrs_brigade_append(bb, std::ptr::null(), 0, 1);
                return sys::APR_SUCCESS as sys::apr_status_t;
            }
            let remaining = kept.data.len() - kept.offset;
            let want = if readbytes > 0 {
                (readbytes as usize).min(remaining)
            } else {
                remaining
            };
            let chunk = &kept.data[kept.offset..kept.offset + want];
            let eos = want == remaining;
            sys::oidcrs_brigade_append(
                bb,
                chunk.as_ptr().cast::<c_char>(),
                chunk.len() as sys::apr_size_t,
                eos as i32,
            );
            if mode == sys::ap_input_mode_t_AP_MODE_READBYTES {
                kept.offset += want;
            }
            sys::APR_SUCCESS as sys::apr_status_t
        },
    )
}
