//! The static `command_rec[]` built at compile time from the one directive table in
//! `crate::config`, and the trampolines httpd calls for each argument shape.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::path::Path;
use std::ptr;

use super::config::server_state;
use super::guard::guard;
use super::pool::pstr;
use super::sys;
use crate::config::{Apply, ArgShape, Args, DIRECTIVES, DirConfig, Directive, Scope};

fn c_str_opt<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string from httpd.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

const N: usize = DIRECTIVES.len();

/// httpd reads the table and never writes it.
pub struct CmdTable(pub [sys::command_rec; N + 1]);
// SAFETY: the table is immutable plain data (pointers to 'static C strings, fn pointers and
// pointers into the 'static DIRECTIVES table).
unsafe impl Sync for CmdTable {}

pub static CMDS: CmdTable = CmdTable(build());

const fn how(shape: ArgShape) -> sys::cmd_how {
    match shape {
        ArgShape::RawArgs => sys::cmd_how_RAW_ARGS,
        ArgShape::Take1 => sys::cmd_how_TAKE1,
        ArgShape::Take2 => sys::cmd_how_TAKE2,
        ArgShape::Iterate => sys::cmd_how_ITERATE,
        ArgShape::Iterate2 => sys::cmd_how_ITERATE2,
        ArgShape::Flag => sys::cmd_how_FLAG,
        ArgShape::NoArgs => sys::cmd_how_NO_ARGS,
        ArgShape::Take12 => sys::cmd_how_TAKE12,
        ArgShape::Take3 => sys::cmd_how_TAKE3,
        ArgShape::Take23 => sys::cmd_how_TAKE23,
        ArgShape::Take123 => sys::cmd_how_TAKE123,
        ArgShape::Take13 => sys::cmd_how_TAKE13,
    }
}

const fn func(shape: ArgShape) -> sys::cmd_func {
    match shape {
        ArgShape::RawArgs => sys::cmd_func {
            raw_args: Some(cmd_raw),
        },
        ArgShape::Take1 | ArgShape::Iterate => sys::cmd_func {
            take1: Some(cmd_take1),
        },
        ArgShape::Take2 | ArgShape::Take12 | ArgShape::Iterate2 => sys::cmd_func {
            take2: Some(cmd_take2),
        },
        ArgShape::Take3 | ArgShape::Take23 | ArgShape::Take123 | ArgShape::Take13 => {
            sys::cmd_func {
                take3: Some(cmd_take3),
            }
        }
        ArgShape::Flag => sys::cmd_func {
            flag: Some(cmd_flag),
        },
        ArgShape::NoArgs => sys::cmd_func {
            no_args: Some(cmd_noargs),
        },
    }
}

const fn req_override(scope: Scope) -> c_int {
    match scope {
        Scope::Server => sys::RSRC_CONF as c_int,
        Scope::ServerAndDir => (sys::RSRC_CONF | sys::ACCESS_CONF | sys::OR_AUTHCFG) as c_int,
    }
}

const fn build() -> [sys::command_rec; N + 1] {
    // SAFETY: an all-zero command_rec is the NULL terminator httpd expects.
    let mut table: [sys::command_rec; N + 1] = unsafe { std::mem::zeroed() };
    let mut i = 0;
    while i < N {
        let d: &'static Directive = &DIRECTIVES[i];
        table[i] = sys::command_rec {
            name: d.name.as_ptr(),
            func: func(d.shape),
            cmd_data: d as *const Directive as *mut c_void,
            req_override: req_override(d.scope),
            args_how: how(d.shape),
            errmsg: d.doc.as_ptr(),
        };
        i += 1;
    }
    table
}

/// Runs the directive's parser; returns NULL on success or an error string in cmd->pool,
/// which httpd prints with the file and line.
unsafe fn dispatch(
    cmd: *mut sys::cmd_parms,
    mconfig: *mut c_void,
    raw: &[*const c_char],
) -> *const c_char {
    let pool = if cmd.is_null() {
        ptr::null_mut()
    } else {
        unsafe { (*cmd).pool }
    };
    let result: Result<(), String> = guard(
        Err("mod_auth_openidc_rs: internal error while parsing this directive".to_string()),
        super::log::report_panic,
        || {
            if cmd.is_null() {
                return Err("mod_auth_openidc_rs: no command context".to_string());
            }
            // SAFETY: cmd_data is the &'static Directive put there by build().
            let directive: &Directive = unsafe { &*((*cmd).info as *const Directive) };
            let mut words = Vec::with_capacity(raw.len());
            for &p in raw {
                if p.is_null() {
                    continue;
                }
                // SAFETY: httpd passes NUL-terminated argument strings.
                let s = unsafe { CStr::from_ptr(p) };
                match s.to_str() {
                    Ok(s) => words.push(s),
                    Err(_) => {
                        return Err(format!(
                            "{}: argument is not valid UTF-8",
                            directive.name.to_string_lossy()
                        ));
                    }
                }
            }
            // SAFETY: ap_server_root is httpd's global ServerRoot string (or NULL early on).
            let root = c_str_opt(unsafe { sys::ap_server_root });
            let args = Args {
                words,
                server_root: root.map(Path::new),
            };
            if let Apply::Server(_) = directive.apply
                && directive.scope == Scope::ServerAndDir
            {
                // Server-wide settings allowed in <Location> (as in the C module) must never
                // be changed from .htaccess at request time.
                // SAFETY: cmd is live; the returned error is a static/pool string.
                let err = unsafe { sys::ap_check_cmd_context(cmd, sys::NOT_IN_HTACCESS) };
                if let Some(e) = c_str_opt(err) {
                    return Err(e.to_string());
                }
            }
            // SAFETY: cmd->server is the server being configured; its module config was made
            // by our create_server_config.
            let state = unsafe { server_state((*cmd).server) }
                .ok_or_else(|| "mod_auth_openidc_rs: no server config".to_string())?;
            let mut scratch = DirConfig::default();
            // SAFETY: mconfig is the per-dir config made by our create_dir_config.
            let dir = if mconfig.is_null() {
                &mut scratch
            } else {
                unsafe { &mut *(mconfig as *mut DirConfig) }
            };
            directive.apply_to(&mut state.cfg, dir, &args)
        },
    );
    match result {
        Ok(()) => ptr::null(),
        Err(msg) => unsafe { pstr(pool, msg.as_bytes()) },
    }
}

unsafe extern "C" fn cmd_take1(
    cmd: *mut sys::cmd_parms,
    m: *mut c_void,
    a: *const c_char,
) -> *const c_char {
    unsafe { dispatch(cmd, m, &[a]) }
}

unsafe extern "C" fn cmd_take2(
    cmd: *mut sys::cmd_parms,
    m: *mut c_void,
    a: *const c_char,
    b: *const c_char,
) -> *const c_char {
    unsafe { dispatch(cmd, m, &[a, b]) }
}

unsafe extern "C" fn cmd_take3(
    cmd: *mut sys::cmd_parms,
    m: *mut c_void,
    a: *const c_char,
    b: *const c_char,
    c: *const c_char,
) -> *const c_char {
    unsafe { dispatch(cmd, m, &[a, b, c]) }
}

unsafe extern "C" fn cmd_raw(
    cmd: *mut sys::cmd_parms,
    m: *mut c_void,
    a: *const c_char,
) -> *const c_char {
    unsafe { dispatch(cmd, m, &[a]) }
}

unsafe extern "C" fn cmd_flag(
    cmd: *mut sys::cmd_parms,
    m: *mut c_void,
    on: c_int,
) -> *const c_char {
    let word: &CStr = if on != 0 { c"On" } else { c"Off" };
    unsafe { dispatch(cmd, m, &[word.as_ptr()]) }
}

unsafe extern "C" fn cmd_noargs(cmd: *mut sys::cmd_parms, m: *mut c_void) -> *const c_char {
    unsafe { dispatch(cmd, m, &[]) }
}
