//! A `request_rec` seen through the core's [`RequestView`], and the setters the glue needs.

use std::cell::OnceCell;
use std::ffi::{CStr, CString, c_char, c_int};

use super::body;
use super::pool::pstr;
use super::sys;
use crate::request::RequestView;

/// A live request. Every `&str` it returns borrows the request (its pool outlives `self`).
pub struct HttpdRequest {
    r: *mut sys::request_rec,
    /// The form body, read on first use (and kept for the backend by the kept-body filter).
    form: OnceCell<Option<Vec<u8>>>,
    /// Whether reading the body is allowed for this request (OIDCOAuthAcceptTokenAs post).
    may_read_body: bool,
}

fn c_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: httpd strings are NUL-terminated and live in the request pool.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// The entries of an APR table, in order.
///
/// # Safety
/// `t` must be a live apr_table_t (or NULL) that is not changed while the slice is used.
unsafe fn table_entries<'a>(t: *const sys::apr_table_t) -> &'a [sys::apr_table_entry_t] {
    // SAFETY: an apr_table_t starts with its apr_array_header_t of apr_table_entry_t (this is
    // what the apr_table_elts macro does).
    unsafe {
        let arr = t as *const sys::apr_array_header_t;
        if arr.is_null() || (*arr).elts.is_null() {
            return &[];
        }
        let n = (*arr).nelts.max(0) as usize;
        std::slice::from_raw_parts((*arr).elts as *const sys::apr_table_entry_t, n)
    }
}

/// The first four bytes of a key, ASCII upper-cased (what APR tables index keys by).
fn key_prefix(key: &[u8]) -> [u8; 4] {
    let mut p = [0u8; 4];
    for (d, s) in p.iter_mut().zip(key) {
        *d = s.to_ascii_uppercase();
    }
    p
}

/// Sets every `(name, value)` in `table` with `apr_table_set` semantics (an existing entry of
/// the name is replaced), without its cost when nothing can be replaced: "set" compares each
/// new name with every entry that shares its first four letters, and identity names all start
/// alike (`OIDC...`), so twenty of them cost hundreds of string comparisons per request. When
/// no existing key shares a first-four-letter prefix with the new names (which are distinct),
/// none of them exists and they are appended instead (`distinct`: the new names are pairwise
/// different ignoring case, else "set" semantics need the slow path).
///
/// # Safety
/// `table` must be a live table of a request whose pool outlives the strings, which the caller
/// keeps alive for the request (they are not copied).
pub unsafe fn set_all(
    table: *mut sys::apr_table_t,
    entries: &[(CString, CString)],
    distinct: bool,
) {
    let mut prefixes: [[u8; 4]; 8] = [[0; 4]; 8];
    let mut count = 0;
    let mut fits = distinct;
    for (name, _) in entries {
        let p = key_prefix(name.to_bytes());
        if !prefixes[..count].contains(&p) {
            if count == prefixes.len() {
                fits = false;
                break;
            }
            prefixes[count] = p;
            count += 1;
        }
    }
    // SAFETY: the caller's contract; the table is only read here.
    let clash = !fits
        || unsafe { table_entries(table) }.iter().any(|e| {
            // SAFETY: table keys are NUL-terminated pool strings.
            !e.key.is_null()
                && prefixes[..count]
                    .contains(&key_prefix(unsafe { CStr::from_ptr(e.key) }.to_bytes()))
        });
    let put = if clash {
        sys::apr_table_setn
    } else {
        sys::apr_table_addn
    };
    for (name, value) in entries {
        // SAFETY: see above; the table keeps the pointers.
        unsafe { put(table, name.as_ptr(), value.as_ptr()) };
    }
}

impl HttpdRequest {
    /// # Safety
    /// `r` must be a live request_rec for the lifetime of the returned value.
    pub unsafe fn new(r: *mut sys::request_rec, may_read_body: bool) -> Self {
        HttpdRequest {
            r,
            form: OnceCell::new(),
            may_read_body,
        }
    }

    pub fn raw(&self) -> *mut sys::request_rec {
        self.r
    }

    fn table_get(&self, table: *mut sys::apr_table_t, name: &str) -> Option<&str> {
        // Header names are short: build the C string on the stack (this runs on every request).
        let mut buf = [0u8; 128];
        if name.len() >= buf.len() || name.as_bytes().contains(&0) {
            return None;
        }
        buf[..name.len()].copy_from_slice(name.as_bytes());
        // SAFETY: buf is NUL-terminated; table belongs to the live request; apr_table_get returns
        // a pool string or NULL.
        c_str(unsafe { sys::apr_table_get(table, buf.as_ptr().cast::<c_char>()) })
    }

    fn set(&self, table: *mut sys::apr_table_t, name: &str, value: &[u8]) {
        let (Ok(n), Ok(v)) = (CString::new(name), CString::new(value)) else {
            return;
        };
        // SAFETY: apr_table_set copies both strings into the table's pool.
        unsafe { sys::apr_table_set(table, n.as_ptr(), v.as_ptr()) }
    }

    pub fn set_header_in(&self, name: &str, value: &str) {
        self.set(unsafe { (*self.r).headers_in }, name, value.as_bytes())
    }

    pub fn unset_header_in(&self, name: &str) {
        if let Ok(n) = CString::new(name) {
            // SAFETY: live table; apr_table_unset removes every entry of that name.
            unsafe { sys::apr_table_unset((*self.r).headers_in, n.as_ptr()) }
        }
    }

    pub fn set_err_header_out(&self, name: &str, value: &str) {
        self.set(unsafe { (*self.r).err_headers_out }, name, value.as_bytes())
    }

    /// Adds (never merges) a response header that survives httpd's error pages (`Set-Cookie`
    /// may appear several times).
    pub fn add_err_header_out(&self, name: &str, value: &str) {
        let (Ok(n), Ok(v)) = (CString::new(name), CString::new(value)) else {
            return;
        };
        // SAFETY: apr_table_add copies both strings into the table's pool.
        unsafe { sys::apr_table_add((*self.r).err_headers_out, n.as_ptr(), v.as_ptr()) }
    }

    /// Writes a page the module makes itself (status, content type, body). The caller returns
    /// DONE so that httpd sends nothing else.
    pub fn write_page(&self, status: u16, content_type: &str, body: &[u8]) {
        let r = self.r;
        // SAFETY: r is live; the content type is copied into the request pool, which outlives
        // the response; ap_rwrite copies the body into the output brigade.
        unsafe {
            (*r).status = c_int::from(status);
            sys::ap_set_content_type(r, pstr((*r).pool, content_type.as_bytes()));
            sys::ap_rwrite(body.as_ptr().cast(), body.len() as c_int, r);
            sys::ap_rflush(r);
        }
    }

    pub fn set_header_out(&self, name: &str, value: &str) {
        self.set(unsafe { (*self.r).headers_out }, name, value.as_bytes())
    }

    pub fn err_header_out(&self, name: &str) -> Option<&str> {
        self.table_get(unsafe { (*self.r).err_headers_out }, name)
    }

    /// Records the configured AuthType as the request's (as mod_auth_basic does: the string
    /// belongs to the per-dir config and outlives the request).
    pub fn adopt_configured_auth_type(&self) {
        // SAFETY: ap_auth_type returns a string owned by the config pool, or NULL.
        unsafe { (*self.r).ap_auth_type = sys::ap_auth_type(self.r).cast_mut() };
    }

    /// The `AuthType` configured for this request's location, if any.
    pub fn configured_auth_type(&self) -> Option<&str> {
        // SAFETY: ap_auth_type returns the per-dir AuthType string or NULL.
        c_str(unsafe { sys::ap_auth_type(self.r) })
    }
}

impl RequestView for HttpdRequest {
    fn method(&self) -> &str {
        c_str(unsafe { (*self.r).method }).unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.table_get(unsafe { (*self.r).headers_in }, name)
    }

    fn visit_header_names(&self, f: &mut dyn FnMut(&str)) {
        // SAFETY: headers_in is the live request's table.
        for key in unsafe { table_entries((*self.r).headers_in) } {
            if let Some(name) = c_str(key.key) {
                f(name)
            }
        }
    }

    fn query(&self) -> Option<&str> {
        c_str(unsafe { (*self.r).args })
    }

    fn form_body(&self) -> Option<&[u8]> {
        if !self.may_read_body {
            return None;
        }
        self.form
            .get_or_init(|| {
                if !self.method().eq_ignore_ascii_case("POST") {
                    return None;
                }
                let ct = self.header("Content-Type")?;
                if !ct
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
                {
                    return None;
                }
                // SAFETY: r is live; the body is read once and re-injected for the backend.
                unsafe { body::read_and_keep(self.r) }
            })
            .as_deref()
    }

    fn auth_name(&self) -> Option<&str> {
        // SAFETY: ap_auth_name returns the per-dir AuthName or NULL.
        c_str(unsafe { sys::ap_auth_name(self.r) })
    }

    fn is_https(&self) -> bool {
        // SAFETY: ap_run_http_scheme returns a static/pool string for a live request.
        c_str(unsafe { sys::ap_run_http_scheme(self.r) }) == Some("https")
    }

    fn unparsed_uri(&self) -> &str {
        // SAFETY: r is live; unparsed_uri is a request-pool string (NULL only for odd internal
        // requests, seen as "/").
        c_str(unsafe { (*self.r).unparsed_uri }).unwrap_or("/")
    }

    fn hostname(&self) -> &str {
        // SAFETY: r is live; hostname and server_hostname are pool strings or NULL.
        unsafe {
            c_str((*self.r).hostname)
                .or_else(|| c_str((*(*self.r).server).server_hostname))
                .unwrap_or("localhost")
        }
    }

    fn port(&self) -> u16 {
        // SAFETY: r is live.
        unsafe { sys::ap_get_server_port(self.r) }
    }
}
