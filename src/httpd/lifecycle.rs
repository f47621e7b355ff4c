//! Start-up checks: configuration errors fail `apache2 -t` and start-up (check_config, which
//! runs for `-t` too), warnings are logged once per start (post_config, skipping the first,
//! dry-run pass). Nothing is fetched or connected here: clients are made lazily in children.

use std::ffi::{c_int, c_void};

use super::config::server_state;
use super::guard::guard;
use super::log::{self, slog};
use super::sys;
use crate::cache::ShmGeometry;
use crate::config::{CacheType, ServerConfig, Severity, check_server};

/// Logs the problems of `severity` of the main server and every virtual host at `level`;
/// returns how many there were.
unsafe fn report_problems(s: *mut sys::server_rec, severity: Severity, level: c_int) -> usize {
    let mut count = 0;
    let mut srv = s;
    while !srv.is_null() {
        if let Some(state) = unsafe { server_state(srv) } {
            for problem in check_server(&state.cfg)
                .into_iter()
                .filter(|p| p.severity == severity)
            {
                slog!(srv, level, "oidc_rs: {}", problem.message);
                count += 1;
            }
        }
        srv = unsafe { (*srv).next };
    }
    count
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
            if report_problems(s, Severity::Error, log::ERR) > 0 {
                sys::HTTP_INTERNAL_SERVER_ERROR as c_int
            } else {
                sys::OK as c_int
            }
        },
    )
}

/// The shared memory a server needs: with `OIDCCacheType shm`, its browser login keeps sessions
/// there, and both the browser login and the bearer path keep provider metadata, JWKS and
/// introspection results there behind their per-process copies (so an `oauth20`-only server
/// gets a segment too; untouched slots cost no memory).
fn shm_geometry(cfg: &ServerConfig) -> Option<ShmGeometry> {
    if !(cfg.has_rp_config() || cfg.has_oauth_config()) || cfg.cache_type() != CacheType::Shm {
        return None;
    }
    ShmGeometry::new(
        cfg.cache_shm_max() as usize,
        cfg.cache_shm_entry_size_max() as usize,
    )
    .ok()
}

pub unsafe extern "C" fn post_config(
    pconf: *mut sys::apr_pool_t,
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
                != sys::AP_SQ_MS_CREATE_PRE_CONFIG as c_int
            {
                report_problems(s, Severity::Warning, log::WARNING);
                super::config::derive_crypto_keys(s);
            }
            // Shared memory for the session caches, inherited by the children (kept across
            // graceful restarts; see shm.rs).
            if let Err(e) = super::shm::post_config(pconf, s, shm_geometry) {
                slog!(
                    s,
                    log::ERR,
                    "oidc_rs: cannot set up the shared memory cache: {e}"
                );
                return sys::HTTP_INTERNAL_SERVER_ERROR as c_int;
            }
            sys::OK as c_int
        },
    )
}

/// In each child, before it serves requests: makes the bearer-token validators and browser-login
/// relying parties of the servers that use them (HTTP client and TLS context; nothing is fetched yet), then hands the memory
/// that building them used only transiently (OpenSSL loads the system trust store before the
/// configured one replaces it) back to the system, so that it does not stay resident in every
/// child.
pub unsafe extern "C" fn child_init(pchild: *mut sys::apr_pool_t, s: *mut sys::server_rec) {
    guard(
        (),
        |m| slog!(s, log::ERR, "oidc_rs: {m}"),
        || unsafe {
            // The caches' background threads (Redis near cache trackers, started lazily) end
            // with the child, before its pool goes and the module may be unloaded.
            if !pchild.is_null() {
                sys::apr_pool_cleanup_register(
                    pchild,
                    std::ptr::null(),
                    Some(stop_cache_threads),
                    Some(sys::apr_pool_cleanup_null),
                );
            }
            let mut srv = s;
            while !srv.is_null() {
                if let Some(state) = server_state(srv)
                    && state.cfg.has_oauth_config()
                    && let Err(e) = state.resource_server(srv)
                {
                    slog!(
                        srv,
                        log::ERR,
                        "oidc_rs: cannot set up bearer-token validation: {e}"
                    );
                }
                // The browser login: HTTP client, session cache, the keys derived in the
                // parent.
                if let Some(state) = server_state(srv)
                    && state.cfg.has_rp_config()
                    && let Err(e) = state.relying_party(srv)
                {
                    slog!(
                        srv,
                        log::ERR,
                        "oidc_rs: cannot set up the browser login: {e}"
                    );
                }
                srv = (*srv).next;
            }
            libc::malloc_trim(0);
        },
    )
}

/// Pool cleanup of the child pool: stops the caches' background threads (waits about 2 s at
/// most). No data: the threads are found through the cache module's own registry.
unsafe extern "C" fn stop_cache_threads(_data: *mut c_void) -> sys::apr_status_t {
    guard(
        (),
        |m| log::report_panic(&format!("oidc_rs: stopping cache threads: {m}")),
        crate::cache::stop_background_threads,
    );
    sys::APR_SUCCESS as sys::apr_status_t
}
