//! Rust values and strings owned by APR pools.

use std::ffi::{c_char, c_void};
use std::ptr;

use super::sys;

/// Drops the `T` a pool cleanup points at. Registered by [`pool_box`]; never panics out.
unsafe extern "C" fn drop_in_pool<T>(data: *mut c_void) -> sys::apr_status_t {
    let _ = std::panic::catch_unwind(|| {
        if !data.is_null() {
            // SAFETY: `data` is the Box::into_raw pointer made by pool_box::<T>, dropped once, here.
            drop(unsafe { Box::from_raw(data.cast::<T>()) });
        }
    });
    sys::APR_SUCCESS as sys::apr_status_t
}

/// Moves `value` into the pool's lifetime: it is dropped when the pool is cleared or destroyed.
///
/// # Safety
/// `pool` must be a live APR pool. The returned pointer is valid until that pool is cleared.
pub unsafe fn pool_box<T>(pool: *mut sys::apr_pool_t, value: T) -> *mut T {
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: pool is live (caller's contract); the cleanup frees exactly this Box.
    unsafe {
        sys::apr_pool_cleanup_register(
            pool,
            raw.cast::<c_void>(),
            Some(drop_in_pool::<T>),
            Some(sys::apr_pool_cleanup_null),
        );
    }
    raw
}

/// Copies bytes into the pool as a NUL-terminated C string; interior NULs cut the string there.
///
/// # Safety
/// `pool` must be a live APR pool.
pub unsafe fn pstr(pool: *mut sys::apr_pool_t, s: &[u8]) -> *mut c_char {
    let len = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    if pool.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: apr_pstrmemdup copies `len` bytes from a valid slice and NUL-terminates.
    unsafe { sys::apr_pstrmemdup(pool, s.as_ptr().cast::<c_char>(), len as sys::apr_size_t) }
}
