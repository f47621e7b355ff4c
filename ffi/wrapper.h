/* Headers bindgen reads to generate src/httpd bindings, from the httpd/APR it will load into. */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_provider.h>
#include <mod_auth.h>
#include <util_filter.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_buckets.h>
#include <apr_pools.h>








/* The shim (ffi/shim.c): one-line wrappers of APR/httpd macros. */
#include "shim.h"
