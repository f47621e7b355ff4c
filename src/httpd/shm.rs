//! The shared memory behind `OIDCCacheType shm` ([`crate::cache::ShmCache`]).
//!
//! Each server (main or virtual host) whose config asks for it gets one anonymous
//! `MAP_SHARED` mapping, made in the parent in `post_config` (never in the dry-run first pass)
//! and inherited by every child through `fork`:
//!
//! ```text
//! [ pthread_mutex_t (robust, process-shared) | padding to 128 ] [ table: see cache::shm ]
//! ```
//!
//! Surviving `apachectl graceful`: a restart clears pconf and unloads this DSO, but the mapping
//! must outlive both so that sessions survive. The mappings are therefore listed in a registry of
//! plain C records (no Rust values, no pointers into this DSO) allocated from the process pool
//! `s->process->pool`, which lives as long as the parent, and found again through
//! `apr_pool_userdata_get` under [`REGISTRY_KEY`]. Each generation's `post_config` claims the
//! mapping of each server by a stable identity (`<ServerName>:<port>:<n-th server with that
//! name and port>`) and reuses it when its geometry is unchanged; otherwise (or for a server
//! that is gone) the parent unmaps the old one. Old children keep their own mapping until they
//! exit, and new children share the reused one with them.
//!
//! Which server's mapping is which in the children: `post_config` stores the record for each
//! server_rec in pconf userdata (per generation), and [`region_for`] looks it up there.
//!
//! Locking: a `PTHREAD_PROCESS_SHARED` + `PTHREAD_MUTEX_ROBUST` mutex at the start of the
//! mapping, initialised once when the mapping is made (never again: a reused mapping's mutex may
//! be held by an old child). A child that dies holding it makes the next locker get
//! `EOWNERDEAD`: the lock is made consistent and the table invalidated (it may be half-written),
//! so it starts over empty. A lock not obtained within [`LOCK_TIMEOUT_SECS`] (a hung child) is a
//! `CacheError::Unavailable`, not a hung request.

// Called by the session glue once it is wired (issue 3); until then nothing uses it.

use std::ffi::{CString, c_char, c_void};
use std::ptr;
use std::sync::Arc;

use super::config::server_state;
use super::sys;
use crate::cache::{SharedRegion, ShmCache, ShmGeometry, invalidate};
use crate::config::ServerConfig;
use crate::deps::CacheError;

/// Process-pool userdata key of the registry. Versioned: a build with another record layout
/// starts its own registry instead of misreading this one.
const REGISTRY_KEY: &std::ffi::CStr = c"oidc_rs_shm_registry_v1";
/// Bytes reserved for the mutex before the table.
const LOCK_AREA: usize = 128;
const LOCK_TIMEOUT_SECS: libc::time_t = 5;

const _: () = assert!(std::mem::size_of::<libc::pthread_mutex_t>() <= LOCK_AREA);
const _: () = assert!(std::mem::align_of::<libc::pthread_mutex_t>() <= 64);

/// The registry, in process-pool memory.
#[repr(C)]
struct Registry {
    head: *mut Segment,
    /// Incremented by every (real) post_config.
    generation: u64,
}

/// One mapping, in process-pool memory. Records are never freed (a few dozen bytes per server
/// identity ever configured); `base` is NULL once the mapping is gone.
#[repr(C)]
struct Segment {
    next: *mut Segment,
    /// NUL-terminated identity, in process-pool memory.
    id: *const c_char,
    base: *mut u8,
    map_len: usize,
    slots: usize,
    slot_size: usize,
    /// The generation that last claimed this mapping.
    generation: u64,
}

/// The key under which pconf holds the segment of server `s` for this generation.
fn server_key(s: *const sys::server_rec) -> CString {
    // No interior NUL in a formatted address.
    CString::new(format!("oidc_rs_shm:{:p}", s)).unwrap_or_default()
}

/// Allocates a zeroed `T` in `pool`.
///
/// # Safety
/// `pool` must be a live pool; `T` must be valid when zeroed (plain C records here).
unsafe fn pool_zeroed<T>(pool: *mut sys::apr_pool_t) -> Result<*mut T, String> {
    // SAFETY: pool is live; oidcrs_pcalloc returns zeroed, 8-aligned memory or NULL.
    let p = unsafe { sys::oidcrs_pcalloc(pool, std::mem::size_of::<T>() as sys::apr_size_t) };
    if p.is_null() {
        return Err("out of memory".into());
    }
    Ok(p.cast())
}

/// The registry in `process_pool`, made on first use.
///
/// # Safety
/// `process_pool` must be `s->process->pool`.
unsafe fn registry(process_pool: *mut sys::apr_pool_t) -> Result<*mut Registry, String> {
    let mut found: *mut c_void = ptr::null_mut();
    // SAFETY: valid key and out pointer; the pool is live.
    unsafe { sys::apr_pool_userdata_get(&mut found, REGISTRY_KEY.as_ptr(), process_pool) };
    if !found.is_null() {
        return Ok(found.cast());
    }
    // SAFETY: Registry is a plain C record, valid when zeroed.
    let reg = unsafe { pool_zeroed::<Registry>(process_pool) }?;
    // SAFETY: `_set` copies the key into the pool (never `_setn`: our key lives in this DSO);
    // no cleanup function (a pointer into this DSO must not outlive it).
    let rv = unsafe {
        sys::apr_pool_userdata_set(reg.cast(), REGISTRY_KEY.as_ptr(), None, process_pool)
    };
    if rv != sys::APR_SUCCESS as sys::apr_status_t {
        return Err(format!("apr_pool_userdata_set failed ({rv})"));
    }
    Ok(reg)
}

/// Maps a zeroed shared region of `len` bytes and initialises its mutex.
///
/// # Safety
/// Call in the parent before the children fork.
unsafe fn map_segment(len: usize) -> Result<*mut u8, String> {
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
    let base = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(format!(
            "cannot map {len} bytes of shared memory: {}",
            std::io::Error::last_os_error()
        ));
    }
    let mutex = base.cast::<libc::pthread_mutex_t>();
    // SAFETY: the mapping is page-aligned and at least LOCK_AREA long (checked by the caller);
    // nobody else sees it yet. attr is initialised before use and destroyed after.
    let rc = unsafe {
        let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
        let mut rc = libc::pthread_mutexattr_init(&mut attr);
        if rc == 0 {
            rc = libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED);
            if rc == 0 {
                rc = libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST);
            }
            if rc == 0 {
                rc = libc::pthread_mutex_init(mutex, &attr);
            }
            libc::pthread_mutexattr_destroy(&mut attr);
        }
        rc
    };
    if rc != 0 {
        // SAFETY: base/len are the mapping made above, unused by anyone.
        unsafe { libc::munmap(base, len) };
        return Err(format!(
            "cannot make a process-shared mutex: {}",
            std::io::Error::from_raw_os_error(rc)
        ));
    }
    Ok(base.cast())
}

/// Unmaps the segment's region in this process (the parent). Children that inherited it keep
/// their copy.
///
/// # Safety
/// No value of this process may still use the region (`region_for` handles live in pconf-owned
/// state, which is gone by the time the next generation's post_config runs).
unsafe fn unmap(seg: &mut Segment) {
    if !seg.base.is_null() {
        // SAFETY: base/map_len describe a mapping made by map_segment.
        unsafe { libc::munmap(seg.base.cast(), seg.map_len) };
        seg.base = ptr::null_mut();
        seg.map_len = 0;
    }
}

/// The identity of a server that is stable across restarts.
///
/// # Safety
/// `srv` must be a live server_rec.
unsafe fn identity(srv: *const sys::server_rec, seen: &mut Vec<String>) -> String {
    // SAFETY: server_hostname is NULL or a NUL-terminated string of the config.
    let (host, port) = unsafe {
        let h = (*srv).server_hostname;
        let host = if h.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(h).to_string_lossy().into_owned()
        };
        (host, (*srv).port)
    };
    let base = format!("{host}:{port}");
    let n = seen.iter().filter(|b| **b == base).count();
    seen.push(base.clone());
    format!("{base}:{n}")
}

/// Makes or reuses the shared memory of every server for which `needs` returns a geometry
/// (e.g. the browser flow with `OIDCCacheType shm`), and unmaps those of servers that no longer
/// need one. Does nothing in the dry-run first pass at start-up.
///
/// # Safety
/// Call from the post_config hook, in the parent, with its `pconf` and `s`.
pub unsafe fn post_config(
    pconf: *mut sys::apr_pool_t,
    s: *mut sys::server_rec,
    needs: impl Fn(&ServerConfig) -> Option<ShmGeometry>,
) -> Result<(), String> {
    // SAFETY: plain query of httpd's state.
    if unsafe { sys::ap_state_query(sys::AP_SQ_MAIN_STATE as std::ffi::c_int) }
        == sys::AP_SQ_MS_CREATE_PRE_CONFIG as std::ffi::c_int
    {
        return Ok(());
    }
    // SAFETY: s->process is set for every server_rec of a running httpd.
    let process_pool = unsafe {
        if s.is_null() || (*s).process.is_null() {
            return Err("no process record".into());
        }
        (*(*s).process).pool
    };
    // SAFETY: the process pool of this httpd.
    let reg = unsafe { &mut *registry(process_pool)? };
    let generation = reg.generation.wrapping_add(1);
    reg.generation = generation;

    let mut seen = Vec::new();
    let mut srv = s;
    while !srv.is_null() {
        // SAFETY: srv walks the live server list.
        let geometry = unsafe { server_state(srv) }.and_then(|st| needs(&st.cfg));
        if let Some(g) = geometry {
            // SAFETY: srv is live.
            let id = unsafe { identity(srv, &mut seen) };
            // SAFETY: the registry and its records are ours, in the process pool.
            let seg = unsafe { claim(reg, process_pool, &id, g, generation) }
                .map_err(|e| format!("shm cache for {id}: {e}"))?;
            let key = server_key(srv);
            // SAFETY: `_set` copies the key; the value is a process-pool record that outlives
            // pconf; no cleanup.
            unsafe { sys::apr_pool_userdata_set(seg.cast(), key.as_ptr(), None, pconf) };
        }
        // SAFETY: srv is live.
        srv = unsafe { (*srv).next };
    }

    // Unmap what this generation did not claim.
    let mut cur = reg.head;
    while !cur.is_null() {
        // SAFETY: records of the registry list, in the process pool.
        let seg = unsafe { &mut *cur };
        if seg.generation != generation {
            // SAFETY: the previous generation's state is gone (pconf was cleared).
            unsafe { unmap(seg) };
        }
        cur = seg.next;
    }
    Ok(())
}

/// The segment for `id`, reused when mapped with geometry `g`, else (re)made.
///
/// # Safety
/// `reg` must be the registry of `process_pool`.
unsafe fn claim(
    reg: &mut Registry,
    process_pool: *mut sys::apr_pool_t,
    id: &str,
    g: ShmGeometry,
    generation: u64,
) -> Result<*mut Segment, String> {
    let mut cur = reg.head;
    let mut found = ptr::null_mut();
    while !cur.is_null() {
        // SAFETY: registry records; id is a NUL-terminated process-pool string.
        let matches = unsafe { std::ffi::CStr::from_ptr((*cur).id) }.to_bytes() == id.as_bytes();
        if matches {
            found = cur;
            break;
        }
        // SAFETY: as above.
        cur = unsafe { (*cur).next };
    }
    if found.is_null() {
        // SAFETY: Segment is a plain C record, valid zeroed; pool_str copies into the pool.
        unsafe {
            found = pool_zeroed::<Segment>(process_pool)?;
            (*found).id = super::pool::pstr(process_pool, id.as_bytes());
            if (*found).id.is_null() {
                return Err("out of memory".into());
            }
            (*found).next = reg.head;
        }
        reg.head = found;
    }
    // SAFETY: found is a registry record.
    let seg = unsafe { &mut *found };
    let same = !seg.base.is_null() && seg.slots == g.slots() && seg.slot_size == g.slot_size();
    if !same {
        // SAFETY: the previous generation's state is gone; children keep their own copies.
        unsafe { unmap(seg) };
        let len = LOCK_AREA + g.region_len();
        // SAFETY: in the parent, before the children of this generation fork.
        seg.base = unsafe { map_segment(len) }?;
        seg.map_len = len;
        seg.slots = g.slots();
        seg.slot_size = g.slot_size();
    }
    seg.generation = generation;
    Ok(found)
}

/// A handle on one server's mapping.
struct ShmRegion {
    mutex: *mut libc::pthread_mutex_t,
    table: *mut u8,
    len: usize,
}

// SAFETY: the pointers address a MAP_SHARED mapping that stays mapped for the life of the child
// (and in the parent, for the life of the pconf generation that made the handle); every access
// to the table goes through the process-shared mutex.
unsafe impl Send for ShmRegion {}
unsafe impl Sync for ShmRegion {}

/// Unlocks on drop, so that a panic inside the table code does not leave the lock held.
struct Unlock(*mut libc::pthread_mutex_t);

impl Drop for Unlock {
    fn drop(&mut self) {
        // SAFETY: this thread holds the mutex (made consistent if it was recovered).
        unsafe { libc::pthread_mutex_unlock(self.0) };
    }
}

impl SharedRegion for ShmRegion {
    fn with_locked(&self, f: &mut dyn FnMut(&mut [u8])) -> Result<(), CacheError> {
        // SAFETY: ts is a plain out parameter.
        let mut deadline: libc::timespec = unsafe { std::mem::zeroed() };
        // SAFETY: valid clock id and out pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut deadline) };
        deadline.tv_sec = deadline.tv_sec.saturating_add(LOCK_TIMEOUT_SECS);
        // SAFETY: the mutex was initialised process-shared in map_segment.
        let rc = unsafe { libc::pthread_mutex_timedlock(self.mutex, &deadline) };
        let recovered = match rc {
            0 => false,
            libc::EOWNERDEAD => {
                // SAFETY: we hold the mutex after EOWNERDEAD.
                if unsafe { libc::pthread_mutex_consistent(self.mutex) } != 0 {
                    // SAFETY: as above; unlocking without consistent leaves it unrecoverable,
                    // which is reported below on every later attempt.
                    unsafe { libc::pthread_mutex_unlock(self.mutex) };
                    return Err(CacheError::Unavailable(
                        "shm cache lock cannot be recovered".into(),
                    ));
                }
                true
            }
            libc::ETIMEDOUT => {
                return Err(CacheError::Unavailable(format!(
                    "shm cache lock not obtained within {LOCK_TIMEOUT_SECS} s"
                )));
            }
            e => {
                return Err(CacheError::Unavailable(format!(
                    "shm cache lock failed: {}",
                    std::io::Error::from_raw_os_error(e)
                )));
            }
        };
        let _unlock = Unlock(self.mutex);
        // SAFETY: table..table+len lies in the mapping; the mutex excludes every other user
        // (threads of this process and other processes), so this is the only reference.
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.table, self.len) };
        if recovered {
            // A child died holding the lock: the table may be half-written.
            invalidate(bytes);
        }
        f(bytes);
        Ok(())
    }

    fn size(&self) -> usize {
        self.len
    }
}

/// The shared region and geometry of server `s`, as set up by [`post_config`] of this
/// generation; `None` when `s` has none. Look it up once per child (child_init or lazily) and
/// keep it in pconf-owned state (never in a static: the parent unmaps regions that a later
/// generation no longer uses).
///
/// # Safety
/// `s` must be a live server_rec of this generation.
pub unsafe fn region_for(
    s: *const sys::server_rec,
) -> Option<(Arc<dyn SharedRegion>, ShmGeometry)> {
    // SAFETY: s is live; s->process->pconf is this generation's pconf.
    let pconf = unsafe {
        if s.is_null() || (*s).process.is_null() {
            return None;
        }
        (*(*s).process).pconf
    };
    let mut found: *mut c_void = ptr::null_mut();
    let key = server_key(s);
    // SAFETY: valid key and out pointer; pconf is live.
    unsafe { sys::apr_pool_userdata_get(&mut found, key.as_ptr(), pconf) };
    if found.is_null() {
        return None;
    }
    // SAFETY: post_config stored a registry record under this key.
    let seg = unsafe { &*found.cast::<Segment>() };
    if seg.base.is_null() || seg.map_len < LOCK_AREA {
        return None;
    }
    let geometry = ShmGeometry::new(seg.slots, seg.slot_size).ok()?;
    let region = ShmRegion {
        mutex: seg.base.cast(),
        // SAFETY: LOCK_AREA <= map_len, so the offset stays inside the mapping.
        table: unsafe { seg.base.add(LOCK_AREA) },
        len: seg.map_len - LOCK_AREA,
    };
    Some((Arc::new(region), geometry))
}

/// [`region_for`] as a ready [`ShmCache`].
///
/// # Safety
/// As [`region_for`].
pub unsafe fn cache_for(s: *const sys::server_rec) -> Option<ShmCache> {
    // SAFETY: the caller's contract.
    let (region, geometry) = unsafe { region_for(s) }?;
    ShmCache::new(region, geometry).ok()
}
