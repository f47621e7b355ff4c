//! Configuration: the directive table (one place for name, argument shape, context, parser and
//! doc line), the server and directory config structs, and their merge.
//!
//! - [`DIRECTIVES`] / [`find`]: the table the httpd glue registers as `command_rec[]`.
//! - [`ServerConfig`] / [`DirConfig`]: `Option` fields, [`merge_server`] / [`merge_dir`], and
//!   accessors with mod_auth_openidc 2.4.12.3's defaults.
//! - [`check_server`]: post-configuration consistency checks.
//! - [`reference_conf`]: the text of `apache/auth_openidc_rs.conf`.

pub mod dir;
pub mod directives;
pub mod parse;
pub mod reference;
pub mod server;
mod setters;
pub mod types;
pub mod url;
pub mod values;

pub use dir::DirConfig;
pub use directives::{
    Apply, ArgShape, Args, DIRECTIVES, Directive, Origin, Scope, Section, find, is_supported,
    unsupported_names,
};
pub use reference::reference_conf;
pub use server::{ServerConfig, check_server};
pub use setters::DEFAULT_TOKEN_COOKIE;
pub use types::{
    CacheType, ClaimsTarget, ConfigProblem, EndpointAuth, ExpiryFormat, HttpMethod, MemcacheServer,
    PublicKeyFile, PublicKeyType, RedisServer, ResponseType, Secret, Severity, SharedKey,
    TokenExpiryClaim, XForwardedHeaders,
};

/// Merges a virtual host's config (`add`) over the main server's (`base`).
pub fn merge_server(base: &ServerConfig, add: &ServerConfig) -> ServerConfig {
    server::merge(base, add)
}

/// Merges a more specific per-directory config (`add`) over a less specific one (`base`).
pub fn merge_dir(base: &DirConfig, add: &DirConfig) -> DirConfig {
    dir::merge(base, add)
}

#[cfg(test)]
mod tests;
