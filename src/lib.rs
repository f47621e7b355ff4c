//! mod_auth_openidc_rs: an Apache httpd 2.4 module, a drop-in replacement for mod_auth_openidc.
//!
//! Everything but `httpd` is pure Rust with no httpd types, testable with plain `cargo test`:
//! the glue in `httpd` turns a `request_rec` into a [`request::RequestView`], asks the core for a
//! [`decision::Decision`] and applies it.
#![deny(unsafe_code)]

pub mod authz;
pub mod cache;
pub mod claims;
pub mod config;
pub mod crypto;
pub mod decision;
pub mod deps;
pub mod http_client;
pub mod jose;
pub mod oauth;
pub mod oidc;
pub mod request;
pub mod token;

// The glue links against httpd/APR symbols that only exist inside an httpd process, so the
// unit-test binary (a plain executable) leaves it out.
#[cfg(not(test))]
#[allow(unsafe_code)]
mod httpd;
