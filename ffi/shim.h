#ifndef OIDCRS_SHIM_H
#define OIDCRS_SHIM_H
#include <httpd.h>
#include <http_config.h>
#include <apr_buckets.h>

/* apr_pcalloc is a macro */
void *oidcrs_pcalloc(apr_pool_t *p, apr_size_t size);
/* true when the brigade's last bucket is EOS (APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))) */
int oidcrs_brigade_ends_with_eos(apr_bucket_brigade *bb);
/* append a copy of data as a heap bucket, then (if eos) an EOS bucket */
void oidcrs_brigade_append(apr_bucket_brigade *bb, const char *data, apr_size_t len, int eos);
/* r->per_dir_config / r->request_config access by module index (ap_get_module_config is a macro) */
void *oidcrs_get_module_config(const ap_conf_vector_t *cv, const module *m);
void oidcrs_set_module_config(ap_conf_vector_t *cv, const module *m, void *val);
#endif
