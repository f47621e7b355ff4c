//! The exported `auth_openidc_module` record (the only exported symbol) and hook registration.

use std::ffi::{c_int, c_ulong};
use std::ptr::{self, addr_of, addr_of_mut};

use super::{authn, authz, body, cmds, config, guard, lifecycle, sys};

/// httpd writes module_index, next, dynamic_load_handle and name into this record, so it is a
/// `static mut`; the name matches the C module's, so `<IfModule mod_auth_openidc.c>` still works.
#[unsafe(no_mangle)]
pub static mut auth_openidc_module: sys::module = sys::module {
    version: sys::MODULE_MAGIC_NUMBER_MAJOR as c_int,
    minor_version: sys::MODULE_MAGIC_NUMBER_MINOR as c_int,
    module_index: -1,
    name: c"mod_auth_openidc.c".as_ptr(),
    dynamic_load_handle: ptr::null_mut(),
    next: ptr::null_mut(),
    magic: sys::MODULE_MAGIC_COOKIE as c_ulong,
    rewrite_args: None,
    create_dir_config: Some(config::create_dir_config),
    merge_dir_config: Some(config::merge_dir_config),
    create_server_config: Some(config::create_server_config),
    merge_server_config: Some(config::merge_server_config),
    cmds: cmds::CMDS.0.as_ptr(),
    register_hooks: Some(register_hooks),
    flags: 0,
};

pub fn module_ptr() -> *const sys::module {
    addr_of!(auth_openidc_module)
}

/// The live module index (for per-module LogLevel and config vectors).
pub fn module_index() -> c_int {
    // SAFETY: httpd writes the index once at load time, before any request or log call.
    unsafe { (*addr_of_mut!(auth_openidc_module)).module_index }
}

unsafe extern "C" fn register_hooks(p: *mut sys::apr_pool_t) {
    guard::install_panic_hook();
    guard::guard((), super::log::report_panic, || unsafe {
        sys::ap_hook_check_config(
            Some(lifecycle::check_config),
            ptr::null(),
            ptr::null(),
            sys::APR_HOOK_MIDDLE as c_int,
        );
        sys::ap_hook_post_config(
            Some(lifecycle::post_config),
            ptr::null(),
            ptr::null(),
            sys::APR_HOOK_LAST as c_int,
        );
        sys::ap_hook_child_init(
            Some(lifecycle::child_init),
            ptr::null(),
            ptr::null(),
            sys::APR_HOOK_MIDDLE as c_int,
        );
        sys::ap_hook_check_authn(
            Some(authn::check_authn),
            ptr::null(),
            ptr::null(),
            sys::APR_HOOK_MIDDLE as c_int,
            sys::AP_AUTH_INTERNAL_PER_CONF as c_int,
        );
        sys::ap_hook_note_auth_failure(
            Some(authn::note_auth_failure),
            ptr::null(),
            ptr::null(),
            sys::APR_HOOK_MIDDLE as c_int,
        );
        sys::ap_register_auth_provider(
            p,
            sys::AUTHZ_PROVIDER_GROUP.as_ptr().cast(),
            c"claim".as_ptr(),
            sys::AUTHZ_PROVIDER_VERSION.as_ptr().cast(),
            addr_of!(authz::CLAIM_PROVIDER).cast(),
            sys::AP_AUTH_INTERNAL_PER_CONF as c_int,
        );
        sys::ap_register_input_filter(
            body::KEPT_BODY_FILTER.as_ptr(),
            Some(body::kept_body_filter),
            None,
            sys::ap_filter_type_AP_FTYPE_RESOURCE,
        );
    });
}
