//! `OIDCCacheType shm`: a fixed table of cache slots inside one byte region that all Apache
//! children of a server share. This file is the pure table logic; the region (shared memory and
//! a process-shared lock) comes from the httpd glue through [`SharedRegion`].
//!
//! Region layout (integers native-endian, no alignment assumed: every field is read by copying
//! bytes):
//!
//! ```text
//! header     64 bytes      magic "OIDCRSHM", format version u32, slots u32, slot size u32,
//!                          buckets u32, hash seed 2 x u64, use counter u64, evictions u64
//! index      buckets x 8   open addressing, linear probing: low 32 bits of the key hash u32,
//!                          slot + 1 u32 (0 = empty); buckets = next power of two >= 2 x slots
//! directory  slots x 32    key hash u64, expires_at i64, last use u64, key length u16,
//!                          state u16 (1 = used), value length u32
//! data       slots x slot size: the key `<section>:<key>` at offset 0 (at most KEY_MAX bytes),
//!                          the value at offset KEY_MAX (at most slot size - KEY_MAX - 17 bytes)
//! ```
//!
//! A lookup hashes the key (keyed SipHash, seed per region, so clients cannot aim keys at one
//! probe chain), probes the index and compares the key bytes of the candidate slot: a get
//! touches one or two index cache lines, one directory entry and the slot. Inserting a new key
//! scans the compact directory for a free or expired slot, else evicts the least recently used
//! entry (the use counter is a per-region sequence number, so the order is exact).
//!
//! Corruption never panics and never reads outside the region: a header that does not match the
//! expected geometry reinitialises the table; a directory entry with impossible lengths counts
//! as empty; index entries are always verified against the slot's key, and the index is rebuilt
//! from the directory when it has no room.

use std::sync::{Arc, Mutex};

use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

/// The longest stored key, `<section>:<key>`, in bytes (as mod_auth_openidc). Longer keys are
/// stored as `<section>\x01<hex(sha256(key))>`.
pub const KEY_MAX: usize = 512;
/// Per-slot bytes besides the key area that do not count toward the value (mod_auth_openidc's
/// arithmetic: 16913 = 16384 + 512 + 17).
pub const SLOT_OVERHEAD: usize = 17;
/// `OIDCCacheShmMax` default (mod_auth_openidc 2.4.12.3).
pub const DEFAULT_SLOTS: usize = 500;
/// `OIDCCacheShmEntrySizeMax` default (mod_auth_openidc 2.4.12.3): values up to 16384 bytes.
pub const DEFAULT_SLOT_SIZE: usize = 16913;

const MAGIC: [u8; 8] = *b"OIDCRSHM";
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 64;
const BUCKET_LEN: usize = 8;
const DIR_LEN: usize = 32;
/// Upper bounds that keep every offset computation far from overflow and every u32 field exact.
const MAX_SLOTS: usize = 1 << 24;
const MAX_SLOT_SIZE: usize = 1 << 24;

// header fields
const H_VERSION: usize = 8;
const H_SLOTS: usize = 12;
const H_SLOT_SIZE: usize = 16;
const H_BUCKETS: usize = 20;
const H_SEED0: usize = 24;
const H_SEED1: usize = 32;
const H_TICK: usize = 40;
const H_EVICTIONS: usize = 48;
// directory entry fields
const D_HASH: usize = 0;
const D_EXPIRES: usize = 8;
const D_USED: usize = 16;
const D_KEY_LEN: usize = 24;
const D_STATE: usize = 26;
const D_VAL_LEN: usize = 28;
const STATE_USED: u16 = 1;

/// The shape of a shm table: `OIDCCacheShmMax` slots of `OIDCCacheShmEntrySizeMax` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmGeometry {
    slots: usize,
    slot_size: usize,
}

impl Default for ShmGeometry {
    fn default() -> Self {
        ShmGeometry {
            slots: DEFAULT_SLOTS,
            slot_size: DEFAULT_SLOT_SIZE,
        }
    }
}

impl ShmGeometry {
    /// `slots` entries (1 to 2^24) of `slot_size` bytes (KEY_MAX + 18 to 2^24).
    pub fn new(slots: usize, slot_size: usize) -> Result<ShmGeometry, String> {
        if !(1..=MAX_SLOTS).contains(&slots) {
            return Err(format!(
                "shm cache: {slots} entries is outside 1..={MAX_SLOTS}"
            ));
        }
        let min = KEY_MAX + SLOT_OVERHEAD + 1;
        if !(min..=MAX_SLOT_SIZE).contains(&slot_size) {
            return Err(format!(
                "shm cache: an entry size of {slot_size} bytes is outside {min}..={MAX_SLOT_SIZE}"
            ));
        }
        Ok(ShmGeometry { slots, slot_size })
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// The largest value a slot holds.
    pub fn value_max(&self) -> usize {
        self.slot_size - KEY_MAX - SLOT_OVERHEAD
    }

    fn buckets(&self) -> usize {
        (self.slots * 2).next_power_of_two()
    }

    fn index_off(&self) -> usize {
        HEADER_LEN
    }

    fn dir_off(&self) -> usize {
        self.index_off() + self.buckets() * BUCKET_LEN
    }

    fn data_off(&self) -> usize {
        self.dir_off() + self.slots * DIR_LEN
    }

    /// The bytes of region this table needs (at most about 2^48, so no overflow).
    pub fn region_len(&self) -> usize {
        self.data_off() + self.slots * self.slot_size
    }
}

/// A byte region shared by every process that uses the cache, with a lock around each use.
pub trait SharedRegion: Send + Sync {
    /// Runs `f` on the whole region while holding the region's (cross-process) lock.
    ///
    /// An implementation that finds the previous holder died while holding the lock (the table
    /// may be half-written) must call [`invalidate`] on the bytes before running `f`, so that
    /// the table starts over empty.
    fn with_locked(&self, f: &mut dyn FnMut(&mut [u8])) -> Result<(), CacheError>;
    /// The length of the region in bytes.
    fn size(&self) -> usize;
}

/// Marks the table in `region` as invalid: the next user reinitialises it (all entries lost).
pub fn invalidate(region: &mut [u8]) {
    if let Some(magic) = region.get_mut(..MAGIC.len()) {
        magic.fill(0);
    }
}

/// A region in process memory behind a std mutex: tests, and single-process use.
pub struct HeapRegion {
    bytes: Mutex<Vec<u8>>,
}

impl HeapRegion {
    /// A zeroed region of `len` bytes.
    pub fn new(len: usize) -> HeapRegion {
        HeapRegion {
            bytes: Mutex::new(vec![0; len]),
        }
    }
}

impl SharedRegion for HeapRegion {
    fn with_locked(&self, f: &mut dyn FnMut(&mut [u8])) -> Result<(), CacheError> {
        // A panic while holding the lock may have left the table half-written, exactly the
        // case of a process dying mid-write: start the table over.
        let mut guard = match self.bytes.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                invalidate(&mut g);
                self.bytes.clear_poison();
                g
            }
        };
        f(&mut guard);
        Ok(())
    }

    fn size(&self) -> usize {
        self.bytes.lock().map(|g| g.len()).unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------------
// byte access: out-of-range reads give 0 and out-of-range writes are dropped (never reached for
// a region checked against its geometry, but a wrong offset must not become a panic).

fn rd_u16(b: &[u8], off: usize) -> u16 {
    b.get(off..off + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_ne_bytes)
        .unwrap_or(0)
}

fn rd_u32(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0)
}

fn rd_u64(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_ne_bytes)
        .unwrap_or(0)
}

fn wr(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(dst) = b.get_mut(off..off + v.len()) {
        dst.copy_from_slice(v);
    }
}

fn wr_u16(b: &mut [u8], off: usize, v: u16) {
    wr(b, off, &v.to_ne_bytes())
}

fn wr_u32(b: &mut [u8], off: usize, v: u32) {
    wr(b, off, &v.to_ne_bytes())
}

fn wr_u64(b: &mut [u8], off: usize, v: u64) {
    wr(b, off, &v.to_ne_bytes())
}

/// A directory entry as read.
#[derive(Clone, Copy)]
struct Dir {
    hash: u64,
    expires_at: i64,
    used: u64,
    key_len: usize,
    val_len: usize,
}

/// The table over a region at least `g.region_len()` long.
struct Table<'a> {
    b: &'a mut [u8],
    g: ShmGeometry,
    mask: usize,
}

impl<'a> Table<'a> {
    /// Opens the table, reinitialising it when the header is not ours or of another geometry.
    /// `None` when the region is too short for the geometry.
    fn open(b: &'a mut [u8], g: ShmGeometry) -> Option<Table<'a>> {
        if b.len() < g.region_len() {
            return None;
        }
        let mut t = Table {
            b,
            g,
            mask: g.buckets() - 1,
        };
        if !t.header_ok() {
            t.reinit();
        }
        Some(t)
    }

    fn header_ok(&self) -> bool {
        self.b.get(..MAGIC.len()) == Some(&MAGIC[..])
            && rd_u32(self.b, H_VERSION) == FORMAT_VERSION
            && rd_u32(self.b, H_SLOTS) as usize == self.g.slots
            && rd_u32(self.b, H_SLOT_SIZE) as usize == self.g.slot_size
            && rd_u32(self.b, H_BUCKETS) as usize == self.g.buckets()
    }

    /// Writes a fresh header (new hash seed) and empties the index and the directory. Slot data
    /// is left as is: it is unreachable without a directory entry.
    fn reinit(&mut self) {
        let g = self.g;
        if let Some(meta) = self.b.get_mut(..g.data_off()) {
            meta.fill(0);
        }
        let mut seed = [0u8; 16];
        if openssl::rand::rand_bytes(&mut seed).is_err() {
            // The seed only spreads keys over probe chains; a weak one costs speed, not safety.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            seed = (t ^ ((std::process::id() as u128) << 64)).to_ne_bytes();
        }
        wr(self.b, H_SEED0, &seed);
        wr_u32(self.b, H_VERSION, FORMAT_VERSION);
        wr_u32(self.b, H_SLOTS, g.slots as u32);
        wr_u32(self.b, H_SLOT_SIZE, g.slot_size as u32);
        wr_u32(self.b, H_BUCKETS, g.buckets() as u32);
        wr(self.b, 0, &MAGIC);
    }

    fn hash(&self, key: &[u8]) -> u64 {
        use std::hash::Hasher as _;
        // SipHash-2-4 with a per-region random key: a fixed, documented algorithm (std's
        // DefaultHasher may change between Rust versions, and old and new children of a graceful
        // restart may run different builds).
        #[allow(deprecated)]
        let mut h =
            std::hash::SipHasher::new_with_keys(rd_u64(self.b, H_SEED0), rd_u64(self.b, H_SEED1));
        h.write(key);
        h.finish()
    }

    fn next_use(&mut self) -> u64 {
        let t = rd_u64(self.b, H_TICK).wrapping_add(1);
        wr_u64(self.b, H_TICK, t);
        t
    }

    // --- index

    fn bucket_off(&self, pos: usize) -> usize {
        self.g.index_off() + pos * BUCKET_LEN
    }

    /// (low 32 bits of the hash, slot + 1) of bucket `pos`.
    fn bucket(&self, pos: usize) -> (u32, u32) {
        let off = self.bucket_off(pos);
        (rd_u32(self.b, off), rd_u32(self.b, off + 4))
    }

    fn set_bucket(&mut self, pos: usize, h32: u32, slot_ref: u32) {
        let off = self.bucket_off(pos);
        wr_u32(self.b, off, h32);
        wr_u32(self.b, off + 4, slot_ref);
    }

    /// Inserts `slot` under `hash`; false when no empty bucket was found (corrupt index).
    fn index_insert(&mut self, hash: u64, slot: usize) -> bool {
        let mut pos = hash as usize & self.mask;
        for _ in 0..=self.mask {
            if self.bucket(pos).1 == 0 {
                self.set_bucket(pos, hash as u32, slot as u32 + 1);
                return true;
            }
            pos = (pos + 1) & self.mask;
        }
        false
    }

    /// Empties bucket `pos` and moves later members of its probe run back (no tombstones).
    fn index_remove_at(&mut self, mut hole: usize) {
        let mut j = hole;
        for _ in 0..self.mask {
            j = (j + 1) & self.mask;
            let (h32, slot_ref) = self.bucket(j);
            if slot_ref == 0 {
                break;
            }
            let home = h32 as usize & self.mask;
            // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.set_bucket(hole, h32, slot_ref);
                hole = j;
            }
        }
        self.set_bucket(hole, 0, 0);
    }

    /// Removes the bucket of `slot` from the probe run of `hash`, if there is one.
    fn index_remove_slot(&mut self, hash: u64, slot: usize) {
        let mut pos = hash as usize & self.mask;
        for _ in 0..=self.mask {
            let (h32, slot_ref) = self.bucket(pos);
            if slot_ref == 0 {
                return;
            }
            if h32 == hash as u32 && slot_ref as usize == slot + 1 {
                self.index_remove_at(pos);
                return;
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// Rebuilds the index from the directory (rehashing every key), starting with `first`. A key
    /// found in two slots (only after corruption) keeps `first`, else the more recently used
    /// slot; the other is freed.
    fn rebuild_index(&mut self, first: usize) {
        let (from, to) = (self.g.index_off(), self.g.dir_off());
        if let Some(index) = self.b.get_mut(from..to) {
            index.fill(0);
        }
        let order = std::iter::once(first).chain((0..self.g.slots).filter(|s| *s != first));
        for slot in order {
            if let Some(d) = self.dir(slot) {
                let key = self.key_bytes(slot, d).to_vec();
                let hash = self.hash(&key);
                wr_u64(self.b, self.dir_off(slot) + D_HASH, hash);
                match self.find(hash, &key) {
                    Some((other, od)) if other == first || od.used >= d.used => self.free(slot),
                    Some((other, _)) => {
                        self.free(other);
                        self.index_insert(hash, slot);
                    }
                    None => {
                        self.index_insert(hash, slot);
                    }
                }
            }
        }
    }

    // --- directory and slots

    fn dir_off(&self, slot: usize) -> usize {
        self.g.dir_off() + slot * DIR_LEN
    }

    fn slot_off(&self, slot: usize) -> usize {
        self.g.data_off() + slot * self.g.slot_size
    }

    /// The directory entry of a used slot with possible lengths; `None` for a free (or corrupt,
    /// which counts as free) slot.
    fn dir(&self, slot: usize) -> Option<Dir> {
        if slot >= self.g.slots {
            return None;
        }
        let off = self.dir_off(slot);
        if rd_u16(self.b, off + D_STATE) != STATE_USED {
            return None;
        }
        let key_len = rd_u16(self.b, off + D_KEY_LEN) as usize;
        let val_len = rd_u32(self.b, off + D_VAL_LEN) as usize;
        if key_len == 0 || key_len > KEY_MAX || val_len > self.g.value_max() {
            return None;
        }
        Some(Dir {
            hash: rd_u64(self.b, off + D_HASH),
            expires_at: rd_u64(self.b, off + D_EXPIRES) as i64,
            used: rd_u64(self.b, off + D_USED),
            key_len,
            val_len,
        })
    }

    fn key_bytes(&self, slot: usize, d: Dir) -> &[u8] {
        let off = self.slot_off(slot);
        self.b.get(off..off + d.key_len).unwrap_or(&[])
    }

    fn value_bytes(&self, slot: usize, d: Dir) -> &[u8] {
        let off = self.slot_off(slot) + KEY_MAX;
        self.b.get(off..off + d.val_len).unwrap_or(&[])
    }

    /// The slot holding `key` (with hash `hash`) and its directory entry.
    fn find(&self, hash: u64, key: &[u8]) -> Option<(usize, Dir)> {
        let mut pos = hash as usize & self.mask;
        for _ in 0..=self.mask {
            let (h32, slot_ref) = self.bucket(pos);
            if slot_ref == 0 {
                return None;
            }
            if h32 == hash as u32 {
                let slot = slot_ref as usize - 1;
                if let Some(d) = self.dir(slot)
                    && d.hash == hash
                    && self.key_bytes(slot, d) == key
                {
                    return Some((slot, d));
                }
            }
            pos = (pos + 1) & self.mask;
        }
        None
    }

    /// Frees a slot and its index entry.
    fn free(&mut self, slot: usize) {
        if let Some(d) = self.dir(slot) {
            self.index_remove_slot(d.hash, slot);
        }
        let off = self.dir_off(slot);
        if let Some(entry) = self.b.get_mut(off..off + DIR_LEN) {
            entry.fill(0);
        }
    }

    /// A slot for a new key: the first free one, else the first expired one, else the least
    /// recently used one (evicted). Its old entry is already removed.
    fn claim_slot(&mut self, now: i64) -> usize {
        let mut expired = None;
        let mut lru: Option<(usize, u64)> = None;
        let mut chosen = None;
        for slot in 0..self.g.slots {
            match self.dir(slot) {
                None => {
                    chosen = Some(slot);
                    break;
                }
                Some(d) if d.expires_at <= now => {
                    if expired.is_none() {
                        expired = Some(slot);
                    }
                }
                Some(d) => {
                    if lru.is_none_or(|(_, used)| d.used < used) {
                        lru = Some((slot, d.used));
                    }
                }
            }
        }
        let slot = match (chosen, expired, lru) {
            (Some(s), _, _) | (None, Some(s), _) => s,
            (None, None, Some((s, _))) => {
                let n = rd_u64(self.b, H_EVICTIONS).wrapping_add(1);
                wr_u64(self.b, H_EVICTIONS, n);
                s
            }
            // slots >= 1, so one of the three is set.
            (None, None, None) => 0,
        };
        self.free(slot);
        slot
    }

    /// Writes `key` => `value` into `slot` (value length already checked) and indexes it when
    /// `index` is set.
    fn write(&mut self, slot: usize, hash: u64, key: &[u8], value: &[u8], expires_at: i64) {
        let used = self.next_use();
        let off = self.slot_off(slot);
        wr(self.b, off, key);
        wr(self.b, off + KEY_MAX, value);
        let d = self.dir_off(slot);
        wr_u64(self.b, d + D_HASH, hash);
        wr_u64(self.b, d + D_EXPIRES, expires_at as u64);
        wr_u64(self.b, d + D_USED, used);
        wr_u16(self.b, d + D_KEY_LEN, key.len() as u16);
        wr_u32(self.b, d + D_VAL_LEN, value.len() as u32);
        wr_u16(self.b, d + D_STATE, STATE_USED);
    }

    fn set(&mut self, key: &[u8], value: &[u8], expires_at: i64, now: i64) {
        let hash = self.hash(key);
        if let Some((slot, _)) = self.find(hash, key) {
            self.write(slot, hash, key, value, expires_at);
            return;
        }
        let slot = self.claim_slot(now);
        self.write(slot, hash, key, value, expires_at);
        if !self.index_insert(hash, slot) {
            self.rebuild_index(slot);
        }
    }

    /// The live entry of `key`; an expired one is freed.
    fn get(&mut self, key: &[u8], now: i64) -> Option<CacheEntry> {
        let hash = self.hash(key);
        let (slot, d) = self.find(hash, key)?;
        if d.expires_at <= now {
            self.free(slot);
            return None;
        }
        let used = self.next_use();
        let off = self.dir_off(slot);
        wr_u64(self.b, off + D_USED, used);
        Some(CacheEntry {
            value: self.value_bytes(slot, d).to_vec(),
            expires_at: d.expires_at,
        })
    }

    fn touch(&mut self, key: &[u8], expires_at: i64, now: i64) -> bool {
        let hash = self.hash(key);
        let Some((slot, d)) = self.find(hash, key) else {
            return false;
        };
        if d.expires_at <= now {
            self.free(slot);
            return false;
        }
        let off = self.dir_off(slot);
        wr_u64(self.b, off + D_EXPIRES, expires_at as u64);
        true
    }

    /// [`Table::set`] unless `key` holds a live entry; true when stored.
    fn add(&mut self, key: &[u8], value: &[u8], expires_at: i64, now: i64) -> bool {
        let hash = self.hash(key);
        if self
            .find(hash, key)
            .is_some_and(|(_, d)| d.expires_at > now)
        {
            return false;
        }
        self.set(key, value, expires_at, now);
        true
    }

    fn remove(&mut self, key: &[u8]) {
        let hash = self.hash(key);
        if let Some((slot, _)) = self.find(hash, key) {
            self.free(slot);
        }
    }

    fn live_entries(&self, now: i64) -> usize {
        (0..self.g.slots)
            .filter_map(|s| self.dir(s))
            .filter(|d| d.expires_at > now)
            .count()
    }
}

/// The stored form of a key: `<section>:<key>`, or `<section>\x01<hex(sha256(key))>` when that
/// would exceed [`KEY_MAX`] (a byte no short key contains, so the two forms never meet).
fn stored_key(section: CacheSection, key: &str) -> Vec<u8> {
    let prefix = section.prefix().as_bytes();
    let mut k = Vec::with_capacity(prefix.len() + 1 + key.len().min(64));
    k.extend_from_slice(prefix);
    if prefix.len() + 1 + key.len() <= KEY_MAX {
        k.push(b':');
        k.extend_from_slice(key.as_bytes());
    } else {
        k.push(0x01);
        k.extend_from_slice(super::sha256_hex(key.as_bytes()).as_bytes());
    }
    k
}

/// `OIDCCacheType shm`: a [`Cache`] over a [`SharedRegion`] laid out as described in the
/// module documentation. Cheap to clone (shares the region).
#[derive(Clone)]
pub struct ShmCache {
    region: Arc<dyn SharedRegion>,
    geometry: ShmGeometry,
}

impl ShmCache {
    /// A cache over `region`, which must be at least `geometry.region_len()` bytes. A region
    /// that does not hold a table of this geometry yet is initialised on first use.
    pub fn new(region: Arc<dyn SharedRegion>, geometry: ShmGeometry) -> Result<Self, CacheError> {
        if region.size() < geometry.region_len() {
            return Err(CacheError::Unavailable(format!(
                "shm region of {} bytes is smaller than the {} the table needs",
                region.size(),
                geometry.region_len()
            )));
        }
        Ok(ShmCache { region, geometry })
    }

    /// A cache in process memory (not shared between processes): tests and benchmarks.
    pub fn in_heap(geometry: ShmGeometry) -> ShmCache {
        ShmCache {
            region: Arc::new(HeapRegion::new(geometry.region_len())),
            geometry,
        }
    }

    pub fn geometry(&self) -> ShmGeometry {
        self.geometry
    }

    /// How many entries were evicted while still live since the table was initialised: a
    /// steadily growing count means `OIDCCacheShmMax` is too small.
    pub fn evictions(&self) -> Result<u64, CacheError> {
        self.locked(|t| rd_u64(t.b, H_EVICTIONS))
    }

    /// The number of live entries at `now` (scans the directory).
    pub fn live_entries(&self, now: i64) -> Result<usize, CacheError> {
        self.locked(|t| t.live_entries(now))
    }

    fn locked<R>(&self, mut f: impl FnMut(&mut Table<'_>) -> R) -> Result<R, CacheError> {
        let geometry = self.geometry;
        let mut out = None;
        self.region.with_locked(&mut |bytes: &mut [u8]| {
            if let Some(mut t) = Table::open(bytes, geometry) {
                out = Some(f(&mut t));
            }
        })?;
        out.ok_or_else(|| CacheError::Unavailable("shm region is smaller than its table".into()))
    }
}

impl Cache for ShmCache {
    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError> {
        let key = stored_key(section, key);
        self.locked(|t| t.get(&key, now))
    }

    fn set(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<(), CacheError> {
        let max = self.geometry.value_max();
        if value.len() > max {
            return Err(CacheError::TooLarge {
                size: value.len(),
                max,
            });
        }
        let key = stored_key(section, key);
        self.locked(|t| t.set(&key, value, expires_at, now))
    }

    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError> {
        let key = stored_key(section, key);
        self.locked(|t| t.remove(&key))
    }

    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        let key = stored_key(section, key);
        self.locked(|t| t.touch(&key, expires_at, now))
    }

    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        let max = self.geometry.value_max();
        if value.len() > max {
            return Err(CacheError::TooLarge {
                size: value.len(),
                max,
            });
        }
        let key = stored_key(section, key);
        // Check and write under one hold of the region lock: atomic for every child.
        self.locked(|t| t.add(&key, value, expires_at, now))
    }
}

#[cfg(test)]
pub(super) mod testing {
    //! Layout facts for the corruption tests.
    pub const HEADER_LEN: usize = super::HEADER_LEN;
    pub const DIR_LEN: usize = super::DIR_LEN;
    pub const BUCKET_LEN: usize = super::BUCKET_LEN;
    pub fn offsets(g: super::ShmGeometry) -> (usize, usize, usize) {
        (g.index_off(), g.dir_off(), g.data_off())
    }
}
