//! Rust values and strings owned by APR pools.

use std::ffi::{c_char, c_void};
use std::ptr;

use super::sys;

/// Drops, in place, the `T` a pool cleanup points at (the memory itself is the pool's).
/// Registered by [`pool_box`]; never panics out.
unsafe extern "C" fn drop_in_pool<T>(data: *mut c_void) -> sys::apr_status_t {
    let _ = std::panic::catch_unwind(|| {
        if !data.is_null() {
            // SAFETY: `data` points at the T written by pool_box::<T>, dropped once, here.
            unsafe { ptr::drop_in_place(data.cast::<T>()) };
        }
    });
    sys::APR_SUCCESS as sys::apr_status_t
}

/// Moves `value` into memory of `pool`: it is dropped when the pool is cleared or destroyed.
/// The memory comes from the pool (no malloc on the request path); APR aligns allocations to 8
/// bytes, which covers the types stored here (checked at compile time).
///
/// # Safety
/// `pool` must be a live APR pool. The returned pointer is valid until that pool is cleared.
pub unsafe fn pool_box<T>(pool: *mut sys::apr_pool_t, value: T) -> *mut T {
    const {
        assert!(
            std::mem::align_of::<T>() <= 8,
            "APR pool memory is 8-byte aligned"
        )
    };
    // SAFETY: pool is live (caller's contract); apr_palloc aborts httpd's way on exhaustion.
    let raw = unsafe { sys::apr_palloc(pool, std::mem::size_of::<T>().max(1) as sys::apr_size_t) }
        .cast::<T>();
    if raw.is_null() {
        // Out of memory: keep the value alive on the heap rather than write through NULL.
        return Box::into_raw(Box::new(value));
    }
    // SAFETY: raw is fresh, large enough and aligned; the cleanup drops exactly this value.
    unsafe {
        ptr::write(raw, value);
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
