//! A per-process cache with a bounded number of entries; when full, expired entries go first,
//! then the least recently used one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

type Key = (CacheSection, String);

struct Entry {
    value: Vec<u8>,
    expires_at: i64,
    /// The `tick` of the last get/set; also this entry's key in `Inner::by_use`.
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    /// Entries by last use, oldest first: the eviction order.
    by_use: BTreeMap<u64, Key>,
    tick: u64,
}

impl Inner {
    fn next_tick(&mut self) -> u64 {
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }

    fn remove(&mut self, key: &Key) {
        if let Some(e) = self.map.remove(key) {
            self.by_use.remove(&e.used);
        }
    }

    /// Marks `key` (present) as just used.
    fn bump(&mut self, key: &Key) {
        let tick = self.next_tick();
        if let Some(e) = self.map.get_mut(key) {
            self.by_use.remove(&e.used);
            e.used = tick;
            self.by_use.insert(tick, key.clone());
        }
    }

    /// Makes room for one more entry: first every expired entry, then least recently used ones.
    fn make_room(&mut self, max_entries: usize, now: i64) {
        if self.map.len() < max_entries {
            return;
        }
        let expired: Vec<Key> = self
            .map
            .iter()
            .filter(|(_, e)| e.expires_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &expired {
            self.remove(k);
        }
        while self.map.len() >= max_entries {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.map.remove(&oldest);
        }
    }
}

/// Per-process, bounded cache (least recently used out first). Not shared between Apache
/// children: use it where each process may hold its own copy.
pub struct MemoryCache {
    inner: Mutex<Inner>,
    max_entries: usize,
    max_value: usize,
}

impl MemoryCache {
    /// A cache of at most `max_entries` entries (at least 1) of any size.
    pub fn new(max_entries: usize) -> MemoryCache {
        MemoryCache::with_max_value(max_entries, usize::MAX)
    }

    /// As [`MemoryCache::new`], refusing values longer than `max_value` bytes with
    /// [`CacheError::TooLarge`].
    pub fn with_max_value(max_entries: usize, max_value: usize) -> MemoryCache {
        MemoryCache {
            inner: Mutex::new(Inner::default()),
            max_entries: max_entries.max(1),
            max_value,
        }
    }

    /// How many entries are held (live or expired but not yet dropped).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the map consistent (every mutation is
        // a single map/tree operation pair), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MemoryCache {
    /// `set` (`only_if_absent` false) and `add` (true: keep a live value, `Ok(false)`), under one
    /// hold of the lock.
    fn store(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
        only_if_absent: bool,
    ) -> Result<bool, CacheError> {
        if value.len() > self.max_value {
            return Err(CacheError::TooLarge {
                size: value.len(),
                max: self.max_value,
            });
        }
        let mut inner = self.lock();
        let k = (section, key.to_string());
        if only_if_absent && inner.map.get(&k).is_some_and(|e| e.expires_at > now) {
            return Ok(false);
        }
        inner.remove(&k);
        inner.make_room(self.max_entries, now);
        let used = inner.next_tick();
        inner.by_use.insert(used, k.clone());
        inner.map.insert(
            k,
            Entry {
                value: value.to_vec(),
                expires_at,
                used,
            },
        );
        Ok(true)
    }
}

impl Cache for MemoryCache {
    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError> {
        let mut inner = self.lock();
        let k = (section, key.to_string());
        let (value, expires_at) = match inner.map.get(&k) {
            None => return Ok(None),
            Some(e) if e.expires_at <= now => {
                inner.remove(&k);
                return Ok(None);
            }
            Some(e) => (e.value.clone(), e.expires_at),
        };
        inner.bump(&k);
        Ok(Some(CacheEntry { value, expires_at }))
    }

    fn set(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<(), CacheError> {
        self.store(section, key, value, expires_at, now, false)
            .map(|_| ())
    }

    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError> {
        self.lock().remove(&(section, key.to_string()));
        Ok(())
    }

    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        let mut inner = self.lock();
        let k = (section, key.to_string());
        match inner.map.get_mut(&k) {
            None => Ok(false),
            Some(e) if e.expires_at <= now => {
                inner.remove(&k);
                Ok(false)
            }
            Some(e) => {
                e.expires_at = expires_at;
                Ok(true)
            }
        }
    }

    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        self.store(section, key, value, expires_at, now, true)
    }
}
