//! The httpd glue: the only module with `unsafe`. It exports the `auth_openidc_module` record,
//! turns directives into calls of the pure config parsers, and applies the core's decisions.
mod authn;
mod authz;
mod body;
mod cmds;
mod config;
mod guard;
mod lifecycle;
mod log;
mod module;
mod pool;
mod request;
mod shm;
mod sys;
