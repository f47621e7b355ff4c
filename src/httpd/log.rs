//! Logging through httpd's error log with a constant "%s" format, honouring
//! `LogLevel auth_openidc:<level>` (the level is checked before the message is formatted).

use std::ffi::{CString, c_char, c_int};

use super::module::module_index;
use super::sys;
use crate::decision::LogLevel;

pub const ERR: c_int = sys::APLOG_ERR as c_int;
pub const WARNING: c_int = sys::APLOG_WARNING as c_int;
pub const NOTICE: c_int = sys::APLOG_NOTICE as c_int;
pub const INFO: c_int = sys::APLOG_INFO as c_int;
pub const DEBUG: c_int = sys::APLOG_DEBUG as c_int;

pub fn level_of(l: LogLevel) -> c_int {
    match l {
        LogLevel::Error => ERR,
        LogLevel::Warn => WARNING,
        LogLevel::Notice => NOTICE,
        LogLevel::Info => INFO,
        LogLevel::Debug => DEBUG,
    }
}

fn c_message(msg: &str) -> CString {
    // Interior NULs cannot reach C; replace them rather than fail.
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
}

/// True when a message at `level` would be written for this request.
pub fn r_enabled(r: *const sys::request_rec, level: c_int) -> bool {
    if r.is_null() {
        return false;
    }
    // SAFETY: r is a live request_rec given to us by httpd.
    level <= unsafe { sys::ap_get_request_module_loglevel(r, module_index()) }
}

pub fn r_log(file: &'static [u8], line: u32, r: *const sys::request_rec, level: c_int, msg: &str) {
    if !r_enabled(r, level) {
        return;
    }
    let cmsg = c_message(msg);
    // SAFETY: constant "%s" format with a NUL-terminated argument; r is live.
    unsafe {
        sys::ap_log_rerror_(
            file.as_ptr().cast::<c_char>(),
            line as c_int,
            module_index(),
            level,
            0,
            r,
            c"%s".as_ptr(),
            cmsg.as_ptr(),
        );
    }
}

pub fn s_log(file: &'static [u8], line: u32, s: *const sys::server_rec, level: c_int, msg: &str) {
    // SAFETY: s is a server_rec from httpd or null (ap_log_error_ accepts NULL).
    if !s.is_null() && level > unsafe { sys::ap_get_server_module_loglevel(s, module_index()) } {
        return;
    }
    let cmsg = c_message(msg);
    // SAFETY: as in r_log.
    unsafe {
        sys::ap_log_error_(
            file.as_ptr().cast::<c_char>(),
            line as c_int,
            module_index(),
            level,
            0,
            s,
            c"%s".as_ptr(),
            cmsg.as_ptr(),
        );
    }
}

/// `rlog!(r, level, "fmt", args)`: request-scoped log line, formatted only when enabled.
macro_rules! rlog {
    ($r:expr, $level:expr, $($arg:tt)+) => {{
        let r = $r;
        let level = $level;
        if $crate::httpd::log::r_enabled(r, level) {
            $crate::httpd::log::r_log(concat!(file!(), "\0").as_bytes(), line!(), r, level, &format!($($arg)+));
        }
    }};
}

/// `slog!(s, level, "fmt", args)`: server-scoped log line.
macro_rules! slog {
    ($s:expr, $level:expr, $($arg:tt)+) => {{
        $crate::httpd::log::s_log(concat!(file!(), "\0").as_bytes(), line!(), $s, $level, &format!($($arg)+));
    }};
}

pub(crate) use {rlog, slog};

/// Reports a panic caught where no request or server is at hand (config callbacks, filters):
/// httpd writes it to the main error log.
pub fn report_panic(msg: &str) {
    s_log(
        concat!(file!(), "\0").as_bytes(),
        line!(),
        std::ptr::null(),
        ERR,
        &format!("oidc_rs: internal error (panic caught): {msg}"),
    );
}
