//! Generates the httpd/APR bindings from the installed headers (so MODULE_MAGIC_NUMBER and the
//! struct layouts are those of the Apache the module loads into) and compiles the macro shim.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn query(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd} {args:?} failed: {e} (install apache2-dev)"));
    if !out.status.success() {
        panic!(
            "{cmd} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn main() {
    println!("cargo:rerun-if-changed=ffi/wrapper.h");
    println!("cargo:rerun-if-changed=ffi/shim.h");
    println!("cargo:rerun-if-changed=ffi/shim.c");
    println!("cargo:rerun-if-env-changed=APXS");

    let apxs = env::var("APXS").unwrap_or_else(|_| "apxs".to_string());
    let httpd_include = query(&apxs, &["-q", "INCLUDEDIR"]);
    let apr_config = query(&apxs, &["-q", "APR_CONFIG"]);
    let apr_config = if apr_config.is_empty() {
        "apr-1-config".to_string()
    } else {
        apr_config
    };
    let apr_includes = query(&apr_config, &["--includes"]);
    let apr_cppflags = query(&apr_config, &["--cppflags"]);

    let mut clang_args = vec![format!("-I{httpd_include}"), "-Iffi".to_string()];
    for flag in apr_includes
        .split_whitespace()
        .chain(apr_cppflags.split_whitespace())
    {
        clang_args.push(flag.to_string());
    }

    let bindings = bindgen::Builder::default()
        .header("ffi/wrapper.h")
        .clang_args(&clang_args)
        .allowlist_function("ap_.*|apr_.*|oidcrs_.*")
        .allowlist_type("apr_table_entry_t|apr_array_header_t|request_rec|server_rec|conn_rec|cmd_parms|command_rec|module|authz_provider|authz_status|ap_filter_t|ap_filter_rec_t|apr_bucket_brigade|ap_input_mode_t|apr_read_type_e|cmd_how|ap_conf_vector_t|process_rec")
        .allowlist_var("ap_server_root|NOT_IN_.*|MODULE_MAGIC_.*|AUTHZ_PROVIDER_.*|OK|DECLINED|DONE|HTTP_.*|APR_SUCCESS|APR_HOOK_.*|AP_AUTH_INTERNAL_.*|APLOG_.*|OR_.*|ACCESS_CONF|RSRC_CONF|AP_SQ_.*|M_.*|AP_FTYPE_.*|HUGE_STRING_LEN|APR_EOF|APR_.*")
        .blocklist_function("apr_.*printf.*|ap_.*printf.*")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .generate()
        .expect("bindgen failed on ffi/wrapper.h");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings");

    let mut build = cc::Build::new();
    build
        .file("ffi/shim.c")
        .include(&httpd_include)
        .include("ffi");
    for flag in apr_includes.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-I") {
            build.include(dir);
        }
    }
    for flag in apr_cppflags.split_whitespace() {
        build.flag(flag);
    }
    build.warnings(true).compile("oidcrs_shim");
}
