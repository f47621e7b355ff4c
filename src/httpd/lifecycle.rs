//! Start-up checks: configuration errors fail `apache2 -t` and start-up (check_config, which
//! runs for `-t` too), warnings are logged once per start (post_config, skipping the first,
//! dry-run pass). Nothing is fetched or connected here: clients are made lazily in children.

use std::ffi::c_int;

use super::config::server_state;
use super::guard::guard;
use super::log::{self, slog};
use super::sys;
use crate::config::{Severity, check_server};

/// Visits the main server and every virtual host.
unsafe fn for_each_server(s: *mut sys::server_rec, mut f: impl FnMut(*mut sys::server_rec)) {
    let mut cur = s;
    while !cur.is_null() {
        f(cur);
        cur = unsafe { (*cur).next };
    }
}

pub unsafe extern "C" fn check_config(
    _pconf: *mut sys::apr_pool_t,
    _plog: *mut sys::apr_pool_t,
    _ptemp: *mut sys::apr_pool_t,
    s: *mut sys::server_rec,
) -> c_int {
    guard(
        sys::HTTP_INTERNAL_SERVER_ERROR as c_int,
        |m| slog!(s, log::ERR, "oidc_rs: {m}"),
        || unsafe {
            let mut failed = false;
            for_each_server(s, |srv| {
                if let Some(state) = server_state(srv) {
                    for problem in check_server(&state.cfg) {
                        if problem.severity == Severity::Error {
                            slog!(
                                srv,
                                log::ERR,
                                "oidc_rs: configuration error: {}",
                                problem.message
                            );
                            failed = true;
                        }
                    }
                }
            });
            if failed {
                sys::HTTP_INTERNAL_SERVER_ERROR as c_int
            } else {
                sys::OK as c_int
            }
        },
    )
}

pub unsafe extern "C" fn post_config(
    _pconf: *mut sys::apr_pool_t,
    _plog: *mut sys::apr_pool_t,
    _ptemp: *mut sys::apr_pool_t,
    s: *mut sys::server_rec,
) -> c_int {
    guard(
        sys::HTTP_INTERNAL_SERVER_ERROR as c_int,
        |m| slog!(s, log::ERR, "oidc_rs: {m}"),
        || unsafe {
            // The first pass at start-up is a dry run whose results are thrown away.
            if sys::ap_state_query(sys::AP_SQ_MAIN_STATE as c_int)
                == sys::AP_SQ_MS_CREATE_PRE_CONFIG as c_int
            {
                return sys::OK as c_int;
            }
            for_each_server(s, |srv| {
                if let Some(state) = server_state(srv) {
                    for problem in check_server(&state.cfg) {
                        if problem.severity == Severity::Warning {
                            slog!(srv, log::WARNING, "oidc_rs: {}", problem.message);
                        }
                    }
                }
            });
            sys::OK as c_int
        },
    )
}
