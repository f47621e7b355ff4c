/* One-line C wrappers for httpd/APR macros that bindgen cannot translate. No logic lives here. */
#include "shim.h"
#include <http_config.h>

void *oidcrs_pcalloc(apr_pool_t *p, apr_size_t size) { return apr_pcalloc(p, size); }

int oidcrs_brigade_ends_with_eos(apr_bucket_brigade *bb) {
    return !APR_BRIGADE_EMPTY(bb) && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb));
}

void oidcrs_brigade_append(apr_bucket_brigade *bb, const char *data, apr_size_t len, int eos) {
    if (len > 0)
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_heap_create(data, len, NULL, bb->bucket_alloc));
    if (eos)
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
}

void *oidcrs_get_module_config(const ap_conf_vector_t *cv, const module *m) {
    return ap_get_module_config(cv, m);
}

void oidcrs_set_module_config(ap_conf_vector_t *cv, const module *m, void *val) {
    ap_set_module_config(cv, m, val);
}
