//! The panic boundary: every `extern "C"` entry runs its body through [`guard`], so a panic
//! becomes a logged error and a fallback value (500, an error string, AUTHZ_GENERAL_ERROR ...),
//! never an abort of the httpd child.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// Where the last panic on this thread happened, recorded by the hook for the guard to log.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the panic hook (once per process image; each cdylib has its own std). The hook
/// records the panic instead of printing it to stderr (which is the error log, unformatted).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_string()
        };
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let text = format!("panic at {location}: {message}");
        let _ = LAST_PANIC.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                *p = Some(text);
            }
        });
    }));
}

/// Runs `body`; on panic calls `report` with a description and returns `fallback`.
pub fn guard<R>(fallback: R, report: impl FnOnce(&str), body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(_) => {
            let text = LAST_PANIC
                .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()))
                .ok()
                .flatten()
                .unwrap_or_else(|| "panic".to_string());
            let _ = catch_unwind(AssertUnwindSafe(|| report(&text)));
            fallback
        }
    }
}
