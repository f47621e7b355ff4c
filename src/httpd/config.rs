//! Per-server and per-directory config records: Rust values owned by httpd pools.
//! Merges allocate a new record and never touch `base`/`add` (per-dir merges run at request
//! time, concurrently, on the shared parse-time records).

use std::ffi::{c_char, c_void};
use std::sync::{Arc, OnceLock};

use super::guard::guard;
use super::module::module_ptr;
use super::pool::pool_box;
use super::sys;
use crate::cache::{
    EncryptedCache, FileCache, MemcacheCache, MemcacheSettings, RedisCache, RedisSettings,
    SharedCache,
};
use crate::config::{CacheType, DirConfig, ServerConfig};
use crate::crypto::CryptoKeys;
use crate::decision::LogLevel;
use crate::deps::Cache;
use crate::oauth::ResourceServer;
use crate::oidc::rp::RelyingParty;

/// What httpd keeps for each (virtual) server: the immutable config and the per-process
/// runtime state made lazily from it in the child (HTTP clients, provider metadata, JWKS,
/// token and session caches).
pub struct ServerState {
    pub cfg: ServerConfig,
    pub resource_server: OnceLock<Result<Arc<ResourceServer>, String>>,
    pub relying_party: OnceLock<Result<Arc<RelyingParty>, String>>,
    /// Keys from `OIDCCryptoPassphrase`, derived in the parent at post_config.
    pub crypto_keys: OnceLock<CryptoKeys>,
    /// The `OIDCCacheType` backend of this server in this process, made once and shared by
    /// the relying party (sessions) and, as level 2 for provider documents and introspection
    /// results, by both the relying party and the resource server.
    cache: OnceLock<Result<Arc<dyn Cache>, String>>,
}

impl ServerState {
    fn new(cfg: ServerConfig) -> Self {
        ServerState {
            cfg,
            resource_server: OnceLock::new(),
            relying_party: OnceLock::new(),
            crypto_keys: OnceLock::new(),
            cache: OnceLock::new(),
        }
    }

    /// The configured cache backend, made on first use in this process.
    ///
    /// # Safety
    /// `s` must be the live server_rec this state belongs to.
    unsafe fn cache(&self, s: *const sys::server_rec) -> Result<Arc<dyn Cache>, String> {
        self.cache
            // SAFETY: the caller's contract.
            .get_or_init(|| unsafe { session_cache(&self.cfg, s) })
            .clone()
    }

    /// The level-2 cache for provider metadata, JWKS, OAuth metadata and introspection
    /// results: the configured backend, sealed per `OIDCCacheEncrypt`, errors logged to `s`'s
    /// error log. None (per-process copies only) when the backend cannot be made or values
    /// should be encrypted but there is no passphrase.
    ///
    /// # Safety
    /// `s` must be the live server_rec this state belongs to.
    unsafe fn shared_cache(&self, s: *const sys::server_rec) -> SharedCache {
        let log = ServerLog(s);
        // SAFETY: the caller's contract.
        let base = match unsafe { self.cache(s) } {
            Ok(c) => c,
            Err(e) => {
                log.log(
                    LogLevel::Warn,
                    &format!("no shared cache for provider documents and tokens: {e}"),
                );
                return SharedCache::none();
            }
        };
        let cache: Arc<dyn Cache> = if self.cfg.cache_encrypt() {
            let Some(keys) = self.crypto_keys.get() else {
                log.log(
                    LogLevel::Warn,
                    "no shared cache for provider documents and tokens: OIDCCacheEncrypt is on but OIDCCryptoPassphrase is not set",
                );
                return SharedCache::none();
            };
            Arc::new(EncryptedCache::new(base, Arc::new(keys.clone())))
        } else {
            base
        };
        SharedCache::new(cache, Arc::new(move |level, msg: &str| log.log(level, msg)))
    }

    /// The browser-login relying party of server `s` (whose state this is), made on first use in
    /// this process.
    ///
    /// # Safety
    /// `s` must be the live server_rec this state belongs to.
    pub unsafe fn relying_party(
        &self,
        s: *const sys::server_rec,
    ) -> Result<&Arc<RelyingParty>, &str> {
        self.relying_party
            .get_or_init(|| {
                // SAFETY: the caller's contract.
                let cache = unsafe { self.cache(s) }?;
                let rp = RelyingParty::new(&self.cfg, cache, self.crypto_keys.get().cloned())?;
                // SAFETY: the caller's contract.
                Ok(Arc::new(
                    rp.with_shared_cache(unsafe { self.shared_cache(s) }),
                ))
            })
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// The bearer-token validator of this server, made on first use in this process.
    ///
    /// # Safety
    /// `s` must be the live server_rec this state belongs to.
    pub unsafe fn resource_server(
        &self,
        s: *const sys::server_rec,
    ) -> Result<&Arc<ResourceServer>, &str> {
        self.resource_server
            .get_or_init(|| {
                let rs = ResourceServer::new(&self.cfg)?;
                // SAFETY: the caller's contract.
                Ok(Arc::new(
                    rs.with_shared_cache(unsafe { self.shared_cache(s) }),
                ))
            })
            .as_ref()
            .map_err(|e| e.as_str())
    }
}

/// Logs to one server's error log from any thread of the child.
#[derive(Clone, Copy)]
struct ServerLog(*const sys::server_rec);

// SAFETY: the server_rec lives as long as the configuration generation, which outlives the
// ServerState (allocated from the same pconf) that holds this; httpd's logging functions may
// be called with it from any thread.
unsafe impl Send for ServerLog {}
unsafe impl Sync for ServerLog {}

impl ServerLog {
    fn log(&self, level: LogLevel, msg: &str) {
        super::log::s_log(
            concat!(file!(), "\0").as_bytes(),
            line!(),
            self.0,
            super::log::level_of(level),
            &format!("oidc_rs: {msg}"),
        );
    }
}

/// The cache the relying party keeps sessions in, per `OIDCCacheType`: the shared memory made
/// for `s` in post_config, the files of `OIDCCacheDir`, or the Redis or memcached servers (connected on first
/// use, in the child). Session records are sealed by the
/// relying party itself (always, whatever `OIDCCacheEncrypt` says, and keyed by a hash of the
/// session id), so the store is not wrapped in a second layer of encryption.
///
/// # Safety
/// `s` must be a live server_rec of this generation.
unsafe fn session_cache(
    cfg: &ServerConfig,
    s: *const sys::server_rec,
) -> Result<Arc<dyn Cache>, String> {
    Ok(match cfg.cache_type() {
        // SAFETY: the caller's contract.
        CacheType::Shm => {
            Arc::new(unsafe { super::shm::cache_for(s) }.ok_or(
                "the shared memory cache was not set up for this server (OIDCCacheType shm)",
            )?)
        }
        CacheType::File => Arc::new(
            FileCache::new(
                cfg.cache_dir(),
                cfg.cache_file_clean_interval().as_secs() as i64,
            )
            .map_err(|e| format!("OIDCCacheDir {}: {e}", cfg.cache_dir().display()))?,
        ),
        CacheType::Redis => {
            let server = cfg
                .redis_server()
                .ok_or("OIDCCacheType redis requires OIDCRedisCacheServer")?;
            Arc::new(RedisCache::new(RedisSettings {
                host: server.host.clone(),
                port: server.port,
                username: cfg.redis_username().map(str::to_string),
                password: cfg.redis_password().map(|p| p.expose().clone()),
                database: cfg.redis_database(),
                connect_timeout: cfg.redis_connect_timeout(),
                timeout: cfg.redis_timeout(),
            }))
        }
        CacheType::Memcache => {
            let servers: Vec<(String, u16)> = cfg
                .memcache_servers()
                .iter()
                .map(|s| (s.host.clone(), s.port))
                .collect();
            if servers.is_empty() {
                return Err("OIDCCacheType memcache requires OIDCMemCacheServers".into());
            }
            let mut settings = MemcacheSettings::new(servers);
            settings.hmax = cfg.memcache_hmax();
            settings.smax = cfg.memcache_smax();
            settings.ttl = cfg.memcache_ttl();
            Arc::new(MemcacheCache::new(settings))
        }
    })
}

/// Derives the keys of every server with a browser login (or a bearer path that encrypts what it
/// keeps in the shared cache) from its `OIDCCryptoPassphrase`, once
/// per distinct passphrase (PBKDF2 is deliberately slow), in the parent at post_config: the
/// children inherit the key bytes instead of each deriving them again. Nothing but plain data.
///
/// # Safety
/// `s` must be the live server list.
pub unsafe fn derive_crypto_keys(s: *mut sys::server_rec) {
    let mut derived: Vec<(String, CryptoKeys)> = Vec::new();
    let mut srv = s;
    while !srv.is_null() {
        // SAFETY: srv walks the live server list.
        if let Some(state) = unsafe { server_state(srv) }
            && (state.cfg.has_rp_config()
                || (state.cfg.has_oauth_config() && state.cfg.cache_encrypt()))
            && let Some(pass) = state.cfg.crypto_passphrase.as_ref()
        {
            let pass = pass.expose();
            let keys = match derived.iter().find(|(p, _)| p == pass) {
                Some((_, k)) => k.clone(),
                None => {
                    let k = CryptoKeys::derive(pass, None);
                    derived.push((pass.clone(), k.clone()));
                    k
                }
            };
            let _ = state.crypto_keys.set(keys);
        }
        srv = unsafe { (*srv).next };
    }
}

/// The server state of `s`.
///
/// # Safety
/// `s` must be a live server_rec whose module config vector holds our record.
pub unsafe fn server_state<'a>(s: *const sys::server_rec) -> Option<&'a mut ServerState> {
    if s.is_null() {
        return None;
    }
    // SAFETY: module_config is the vector httpd made for s; our slot holds a ServerState.
    unsafe { our_slot::<ServerState>((*s).module_config).as_mut() }
}

/// The merged per-dir config of a request.
///
/// # Safety
/// `r` must be a live request_rec.
pub unsafe fn dir_config<'a>(r: *const sys::request_rec) -> Option<&'a DirConfig> {
    if r.is_null() {
        return None;
    }
    // SAFETY: per_dir_config is the request's merged vector; our slot holds a DirConfig.
    unsafe { our_slot::<DirConfig>((*r).per_dir_config).as_ref() }
}

/// This module's slot in an httpd config vector (server, per-dir or request), NULL when unset.
///
/// # Safety
/// `v` must be a live config vector whose slot for this module, if set, holds a `T`.
pub unsafe fn our_slot<T>(v: *mut sys::ap_conf_vector_t) -> *mut T {
    if v.is_null() {
        return std::ptr::null_mut();
    }
    unsafe { sys::oidcrs_get_module_config(v, module_ptr()) }.cast::<T>()
}

pub unsafe extern "C" fn create_server_config(
    p: *mut sys::apr_pool_t,
    _s: *mut sys::server_rec,
) -> *mut c_void {
    guard(std::ptr::null_mut(), super::log::report_panic, || {
        unsafe { pool_box(p, ServerState::new(ServerConfig::default())) }.cast()
    })
}

pub unsafe extern "C" fn merge_server_config(
    p: *mut sys::apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    guard(add, super::log::report_panic, || {
        if base.is_null() || add.is_null() {
            return add;
        }
        // SAFETY: both are ServerState records made by create_server_config.
        let (base, add) = unsafe {
            (
                &*(base as *const ServerState),
                &*(add as *const ServerState),
            )
        };
        let merged = crate::config::merge_server(&base.cfg, &add.cfg);
        unsafe { pool_box(p, ServerState::new(merged)) }.cast()
    })
}

pub unsafe extern "C" fn create_dir_config(
    p: *mut sys::apr_pool_t,
    _dir: *mut c_char,
) -> *mut c_void {
    guard(std::ptr::null_mut(), super::log::report_panic, || {
        unsafe { pool_box(p, DirConfig::default()) }.cast()
    })
}

pub unsafe extern "C" fn merge_dir_config(
    p: *mut sys::apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    guard(add, super::log::report_panic, || {
        if base.is_null() || add.is_null() {
            return add;
        }
        // SAFETY: both are DirConfig records made by create_dir_config (or an earlier merge).
        let (base, add) = unsafe { (&*(base as *const DirConfig), &*(add as *const DirConfig)) };
        unsafe { pool_box(p, crate::config::merge_dir(base, add)) }.cast()
    })
}
