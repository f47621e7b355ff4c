use std::sync::Arc;

use super::shm::testing;
use super::*;
use crate::crypto::CryptoKeys;
use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

const S: CacheSection = CacheSection::Session;
const NOW: i64 = 1_700_000_000;

fn entry(v: &[u8], exp: i64) -> Option<CacheEntry> {
    Some(CacheEntry {
        value: v.to_vec(),
        expires_at: exp,
    })
}

/// The behaviour every backend shares.
fn contract(c: &dyn Cache) {
    // absent
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);
    // set / get
    c.set(S, "k", b"v1", NOW + 10, NOW).unwrap();
    assert_eq!(c.get(S, "k", NOW).unwrap(), entry(b"v1", NOW + 10));
    // sections are apart
    assert_eq!(c.get(CacheSection::Jwks, "k", NOW).unwrap(), None);
    // overwrite
    c.set(S, "k", b"v2 longer", NOW + 20, NOW).unwrap();
    assert_eq!(c.get(S, "k", NOW).unwrap(), entry(b"v2 longer", NOW + 20));
    // expiry is exclusive at expires_at
    assert_eq!(
        c.get(S, "k", NOW + 19).unwrap(),
        entry(b"v2 longer", NOW + 20)
    );
    assert_eq!(c.get(S, "k", NOW + 20).unwrap(), None);
    // an expired entry stays gone even when asked about with an earlier clock (it was dropped)
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);
    // touch moves a live expiry, refuses absent and expired ones
    c.set(S, "t", b"tv", NOW + 5, NOW).unwrap();
    assert!(c.touch(S, "t", NOW + 100, NOW + 1).unwrap());
    assert_eq!(c.get(S, "t", NOW + 50).unwrap(), entry(b"tv", NOW + 100));
    assert!(!c.touch(S, "t", NOW + 300, NOW + 100).unwrap());
    assert_eq!(c.get(S, "t", NOW).unwrap(), None);
    assert!(!c.touch(S, "never", NOW + 100, NOW).unwrap());
    // remove, and removing the absent is fine
    c.set(S, "r", b"rv", NOW + 5, NOW).unwrap();
    c.remove(S, "r").unwrap();
    assert_eq!(c.get(S, "r", NOW).unwrap(), None);
    c.remove(S, "r").unwrap();
    // empty value and binary value
    c.set(S, "e", b"", NOW + 5, NOW).unwrap();
    assert_eq!(c.get(S, "e", NOW).unwrap(), entry(b"", NOW + 5));
    let bin: Vec<u8> = (0..=255u8).collect();
    c.set(CacheSection::Replay, "b", &bin, NOW + 5, NOW)
        .unwrap();
    assert_eq!(
        c.get(CacheSection::Replay, "b", NOW).unwrap(),
        entry(&bin, NOW + 5)
    );
    // a key longer than the shm key area
    let long = "x".repeat(2000);
    c.set(S, &long, b"long", NOW + 5, NOW).unwrap();
    assert_eq!(c.get(S, &long, NOW).unwrap(), entry(b"long", NOW + 5));
    assert_eq!(c.get(S, &"x".repeat(1999), NOW).unwrap(), None);
}

/// `add`: stores only over an absent or expired key, atomically.
fn add_contract(c: &dyn Cache) {
    let l = CacheSection::Lock;
    assert!(c.add(l, "lk", b"one", NOW + 10, NOW).unwrap());
    assert!(!c.add(l, "lk", b"two", NOW + 20, NOW + 5).unwrap());
    assert_eq!(c.get(l, "lk", NOW).unwrap(), entry(b"one", NOW + 10));
    // sections are apart
    assert!(c.add(S, "lk", b"s", NOW + 10, NOW).unwrap());
    // expired: replaced (also when never read in between)
    assert!(c.add(l, "lk", b"three", NOW + 30, NOW + 10).unwrap());
    assert_eq!(c.get(l, "lk", NOW + 10).unwrap(), entry(b"three", NOW + 30));
    // removed: free again
    c.remove(l, "lk").unwrap();
    assert!(c.add(l, "lk", b"four", NOW + 30, NOW).unwrap());
    // over a value stored by set
    c.set(l, "st", b"set", NOW + 10, NOW).unwrap();
    assert!(!c.add(l, "st", b"add", NOW + 10, NOW).unwrap());
    assert_eq!(c.get(l, "st", NOW).unwrap(), entry(b"set", NOW + 10));
}

/// Many threads `add` the same key at once: exactly one wins, and its value is stored.
fn add_race(c: &(dyn Cache + Sync), key: &str) {
    let wins = std::sync::atomic::AtomicUsize::new(0);
    let winner = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for i in 0..16u8 {
            let (wins, winner) = (&wins, &winner);
            s.spawn(move || {
                if c.add(CacheSection::Lock, key, &[i], NOW + 60, NOW).unwrap() {
                    wins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    winner.lock().unwrap().push(i);
                }
            });
        }
    });
    assert_eq!(wins.into_inner(), 1);
    let w = winner.into_inner().unwrap();
    assert_eq!(
        c.get(CacheSection::Lock, key, NOW).unwrap(),
        entry(&w, NOW + 60)
    );
}

#[test]
fn add_contract_and_race_in_every_local_backend() {
    let m = MemoryCache::new(100);
    add_contract(&m);
    add_race(&m, "race");
    let shm = ShmCache::in_heap(ShmGeometry::default());
    add_contract(&shm);
    add_race(&shm, "race");
    let d = temp_dir("add");
    let f = FileCache::new(&*d, 60).unwrap();
    add_contract(&f);
    add_race(&f, "race");
    let arc: Arc<dyn Cache> = Arc::new(MemoryCache::new(10));
    add_contract(&arc);
    add_race(&arc, "race");
    let e = EncryptedCache::new(ShmCache::in_heap(ShmGeometry::default()), keys("p"));
    add_contract(&e);
    add_race(&e, "race");
    let e = EncryptedCache::new(FileCache::new(&*d, 60).unwrap(), keys("p"));
    add_contract(&e);
    add_race(&e, "race2");
}

#[test]
fn add_refuses_too_large_values() {
    let m = MemoryCache::with_max_value(10, 4);
    assert!(matches!(
        m.add(S, "k", b"12345", NOW + 5, NOW),
        Err(CacheError::TooLarge { .. })
    ));
    let shm = small_shm(4);
    let big = vec![0u8; shm.geometry().value_max() + 1];
    assert!(matches!(
        shm.add(S, "k", &big, NOW + 5, NOW),
        Err(CacheError::TooLarge { .. })
    ));
}

#[test]
fn file_add_replaces_expired_files_across_processes_view() {
    // Two FileCache objects over one directory stand for two processes.
    let d = temp_dir("add2");
    let a = FileCache::new(&*d, 60).unwrap();
    let b = FileCache::new(&*d, 60).unwrap();
    assert!(a.add(CacheSection::Lock, "k", b"a", NOW + 5, NOW).unwrap());
    assert!(!b.add(CacheSection::Lock, "k", b"b", NOW + 5, NOW).unwrap());
    // an expired lock is not removed by a read, only replaced by add
    assert_eq!(b.get(CacheSection::Lock, "k", NOW + 5).unwrap(), None);
    assert!(a.path_of(CacheSection::Lock, "k").exists());
    assert!(
        b.add(CacheSection::Lock, "k", b"b", NOW + 20, NOW + 5)
            .unwrap()
    );
    assert_eq!(
        a.get(CacheSection::Lock, "k", NOW + 6).unwrap(),
        entry(b"b", NOW + 20)
    );
    // the clean pass leaves the lock file of add alone, and no temporary files stay behind
    a.clean(NOW + 100).unwrap();
    assert!(
        our_files(&d).iter().all(|n| !n.ends_with(".tmp")),
        "{:?}",
        our_files(&d)
    );
}

// ------------------------------------------------------------------------------------------
// MemoryCache

#[test]
fn memory_contract() {
    contract(&MemoryCache::new(100));
}

#[test]
fn memory_evicts_least_recently_used() {
    let c = MemoryCache::new(3);
    for k in ["a", "b", "c"] {
        c.set(S, k, k.as_bytes(), NOW + 100, NOW).unwrap();
    }
    // a is used, so b is now the oldest
    assert!(c.get(S, "a", NOW).unwrap().is_some());
    c.set(S, "d", b"d", NOW + 100, NOW).unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c.get(S, "b", NOW).unwrap(), None);
    for k in ["a", "c", "d"] {
        assert!(c.get(S, k, NOW).unwrap().is_some(), "{k}");
    }
}

#[test]
fn memory_drops_expired_before_live_when_full() {
    let c = MemoryCache::new(2);
    c.set(S, "old", b"1", NOW + 1, NOW).unwrap();
    c.set(S, "live", b"2", NOW + 100, NOW).unwrap();
    c.get(S, "old", NOW).unwrap(); // "old" is the most recently used, but expires first
    c.set(S, "new", b"3", NOW + 100, NOW + 10).unwrap();
    assert!(c.get(S, "live", NOW + 10).unwrap().is_some());
    assert!(c.get(S, "new", NOW + 10).unwrap().is_some());
}

#[test]
fn memory_too_large() {
    let c = MemoryCache::with_max_value(10, 4);
    c.set(S, "k", b"1234", NOW + 1, NOW).unwrap();
    assert_eq!(
        c.set(S, "k", b"12345", NOW + 1, NOW),
        Err(CacheError::TooLarge { size: 5, max: 4 })
    );
    // the old value is untouched by the refused write
    assert_eq!(c.get(S, "k", NOW).unwrap(), entry(b"1234", NOW + 1));
}

// ------------------------------------------------------------------------------------------
// ShmCache

fn small_shm(slots: usize) -> ShmCache {
    ShmCache::in_heap(ShmGeometry::new(slots, KEY_MAX + SLOT_OVERHEAD + 300).unwrap())
}

#[test]
fn shm_contract() {
    contract(&ShmCache::in_heap(ShmGeometry::default()));
    contract(&small_shm(8));
}

#[test]
fn shm_default_geometry_is_the_c_modules() {
    let g = ShmGeometry::default();
    assert_eq!((g.slots(), g.slot_size()), (500, 16913));
    assert_eq!(g.value_max(), 16384);
    assert!(g.region_len() > 500 * 16913 && g.region_len() < 500 * 16913 + 64 * 1024);
}

#[test]
fn shm_geometry_bounds() {
    assert!(ShmGeometry::new(0, DEFAULT_SLOT_SIZE).is_err());
    assert!(ShmGeometry::new(1, KEY_MAX + SLOT_OVERHEAD).is_err());
    assert!(ShmGeometry::new(1, KEY_MAX + SLOT_OVERHEAD + 1).is_ok());
    assert!(ShmGeometry::new(usize::MAX, DEFAULT_SLOT_SIZE).is_err());
    assert!(ShmGeometry::new(10, usize::MAX).is_err());
}

#[test]
fn shm_too_large() {
    let c = ShmCache::in_heap(ShmGeometry::default());
    let max = vec![7u8; 16384];
    c.set(S, "k", &max, NOW + 1, NOW).unwrap();
    assert_eq!(c.get(S, "k", NOW).unwrap(), entry(&max, NOW + 1));
    assert_eq!(
        c.set(S, "k", &[0u8; 16385], NOW + 1, NOW),
        Err(CacheError::TooLarge {
            size: 16385,
            max: 16384
        })
    );
    assert_eq!(c.get(S, "k", NOW).unwrap(), entry(&max, NOW + 1));
}

#[test]
fn shm_evicts_least_recently_used_when_full() {
    let c = small_shm(4);
    for k in ["a", "b", "c", "d"] {
        c.set(S, k, k.as_bytes(), NOW + 100, NOW).unwrap();
    }
    c.get(S, "a", NOW).unwrap();
    c.get(S, "b", NOW).unwrap();
    c.set(S, "e", b"e", NOW + 100, NOW).unwrap(); // evicts c
    c.get(S, "d", NOW).unwrap();
    c.set(S, "f", b"f", NOW + 100, NOW).unwrap(); // evicts a (the oldest use now)
    assert_eq!(c.get(S, "c", NOW).unwrap(), None);
    assert_eq!(c.get(S, "a", NOW).unwrap(), None);
    for k in ["b", "d", "e", "f"] {
        assert_eq!(
            c.get(S, k, NOW).unwrap(),
            entry(k.as_bytes(), NOW + 100),
            "{k}"
        );
    }
    assert_eq!(c.evictions().unwrap(), 2);
    assert_eq!(c.live_entries(NOW).unwrap(), 4);
}

#[test]
fn shm_touch_does_not_count_as_use() {
    let c = small_shm(2);
    c.set(S, "a", b"a", NOW + 100, NOW).unwrap();
    c.set(S, "b", b"b", NOW + 100, NOW).unwrap();
    assert!(c.touch(S, "a", NOW + 200, NOW).unwrap());
    c.set(S, "c", b"c", NOW + 100, NOW).unwrap();
    assert_eq!(c.get(S, "a", NOW).unwrap(), None);
    assert!(c.get(S, "b", NOW).unwrap().is_some());
}

#[test]
fn shm_reuses_expired_slots_before_evicting() {
    let c = small_shm(3);
    c.set(S, "short", b"1", NOW + 1, NOW).unwrap();
    c.set(S, "a", b"a", NOW + 100, NOW).unwrap();
    c.set(S, "b", b"b", NOW + 100, NOW).unwrap();
    c.set(S, "c", b"c", NOW + 100, NOW + 5).unwrap();
    assert_eq!(c.evictions().unwrap(), 0);
    for k in ["a", "b", "c"] {
        assert!(c.get(S, k, NOW + 5).unwrap().is_some(), "{k}");
    }
}

#[test]
fn shm_many_keys_churn_keeps_index_consistent() {
    // Far more keys than slots, with removes and expiries mixed in: every live key must stay
    // findable (exercises backward-shift deletion in the probe runs).
    let c = small_shm(16);
    let mut model = std::collections::HashMap::new();
    for i in 0..5000u32 {
        let k = format!("key{}", i % 40);
        match i % 7 {
            0 => {
                c.remove(S, &k).unwrap();
                model.remove(&k);
            }
            1 => {
                c.set(S, &k, b"x", NOW + 1, NOW).unwrap(); // expired at NOW + 1
                model.remove(&k);
            }
            _ => {
                let v = i.to_string();
                c.set(S, &k, v.as_bytes(), NOW + 100, NOW).unwrap();
                model.insert(k.clone(), v);
            }
        }
        if i % 50 == 0 {
            // Every key that the table still holds has the model's value.
            for (k, v) in &model {
                if let Some(e) = c.get(S, k, NOW + 1).unwrap() {
                    assert_eq!(e.value, v.as_bytes(), "{k} at {i}");
                }
            }
        }
    }
    // The 16 most recently written live keys are all present.
    let live = c.live_entries(NOW + 1).unwrap();
    assert!(live <= 16);
    let held = model
        .keys()
        .filter(|k| c.get(S, k, NOW + 1).unwrap().is_some())
        .count();
    assert_eq!(held, live);
}

#[test]
fn shm_region_too_small_is_unavailable() {
    let g = ShmGeometry::new(10, 1000).unwrap();
    let r: Arc<dyn SharedRegion> = Arc::new(HeapRegion::new(g.region_len() - 1));
    assert!(matches!(
        ShmCache::new(r, g),
        Err(CacheError::Unavailable(_))
    ));
}

#[test]
fn shm_two_caches_over_one_region_share_entries() {
    let g = ShmGeometry::new(10, 1000).unwrap();
    let r: Arc<dyn SharedRegion> = Arc::new(HeapRegion::new(g.region_len()));
    let a = ShmCache::new(r.clone(), g).unwrap();
    let b = ShmCache::new(r, g).unwrap();
    a.set(S, "k", b"shared", NOW + 10, NOW).unwrap();
    assert_eq!(b.get(S, "k", NOW).unwrap(), entry(b"shared", NOW + 10));
    b.remove(S, "k").unwrap();
    assert_eq!(a.get(S, "k", NOW).unwrap(), None);
}

/// A region whose bytes the test can reach.
fn shm_with_region(g: ShmGeometry) -> (ShmCache, Arc<HeapRegion>) {
    let r = Arc::new(HeapRegion::new(g.region_len()));
    let c = ShmCache::new(r.clone() as Arc<dyn SharedRegion>, g).unwrap();
    (c, r)
}

fn poke(r: &HeapRegion, f: impl FnOnce(&mut [u8])) {
    let mut f = Some(f);
    r.with_locked(&mut |b| {
        if let Some(f) = f.take() {
            f(b)
        }
    })
    .unwrap();
}

#[test]
fn shm_bad_header_reinitialises() {
    let g = ShmGeometry::new(8, 1000).unwrap();
    let (c, r) = shm_with_region(g);
    c.set(S, "k", b"v", NOW + 10, NOW).unwrap();
    poke(&r, |b| b[0] ^= 0xff);
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);
    c.set(S, "k", b"v2", NOW + 10, NOW).unwrap();
    assert_eq!(c.get(S, "k", NOW).unwrap(), entry(b"v2", NOW + 10));

    // another geometry written over the header (e.g. the config changed): also a fresh table
    poke(&r, |b| b[12] = b[12].wrapping_add(1));
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);

    // invalidate() is what a region does after a holder died mid-write
    c.set(S, "k", b"v3", NOW + 10, NOW).unwrap();
    poke(&r, invalidate);
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);
}

#[test]
fn shm_garbage_everywhere_never_panics() {
    let g = ShmGeometry::new(8, KEY_MAX + SLOT_OVERHEAD + 64).unwrap();
    let (c, r) = shm_with_region(g);
    let (_, dir_off, data_off) = testing::offsets(g);
    // A valid header over random index, directory and data: every operation must stay in bounds.
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        c.set(S, "init", b"x", NOW + 10, NOW).unwrap();
        poke(&r, |b| {
            for byte in b[testing::HEADER_LEN..data_off + 2 * g.slot_size()].iter_mut() {
                if rnd() % 3 == 0 {
                    *byte = rnd() as u8;
                }
            }
            // make some directory entries look used with wild lengths
            for s in 0..g.slots() {
                let off = dir_off + s * testing::DIR_LEN;
                if round % 2 == 0 {
                    b[off + 26] = 1;
                    b[off + 27] = 0;
                }
            }
        });
        for i in 0..20 {
            let k = format!("k{}", rnd() % 12);
            match i % 4 {
                0 => drop(c.get(S, &k, NOW)),
                1 => drop(c.set(S, &k, b"value", NOW + 10, NOW)),
                2 => drop(c.touch(S, &k, NOW + 20, NOW)),
                _ => drop(c.remove(S, &k)),
            }
        }
        // After garbage, a fresh write is still readable.
        c.set(S, "after", b"ok", NOW + 10, NOW).unwrap();
        assert_eq!(c.get(S, "after", NOW).unwrap(), entry(b"ok", NOW + 10));
    }
}

#[test]
fn shm_full_index_of_stale_buckets_is_rebuilt() {
    let g = ShmGeometry::new(4, 1000).unwrap();
    let (c, r) = shm_with_region(g);
    let (index_off, dir_off, _) = testing::offsets(g);
    c.set(S, "a", b"a", NOW + 10, NOW).unwrap();
    // Fill every bucket with stale references (slot 3, which is free).
    poke(&r, |b| {
        for pos in 0..(dir_off - index_off) / testing::BUCKET_LEN {
            let off = index_off + pos * testing::BUCKET_LEN;
            b[off..off + 4].copy_from_slice(&0xdead_beefu32.to_ne_bytes());
            b[off + 4..off + 8].copy_from_slice(&4u32.to_ne_bytes());
        }
    });
    // "a" is lost from the index (its bucket was overwritten) but nothing loops or panics,
    // and an insert finds no empty bucket, so the index is rebuilt from the directory.
    assert_eq!(c.get(S, "a", NOW).unwrap(), None);
    c.set(S, "b", b"b", NOW + 10, NOW).unwrap();
    assert_eq!(c.get(S, "b", NOW).unwrap(), entry(b"b", NOW + 10));
    assert_eq!(c.get(S, "a", NOW).unwrap(), entry(b"a", NOW + 10));
}

#[test]
fn shm_poisoned_heap_region_starts_over() {
    let g = ShmGeometry::new(4, 1000).unwrap();
    let (c, r) = shm_with_region(g);
    c.set(S, "k", b"v", NOW + 10, NOW).unwrap();
    let r2 = r.clone();
    let _ = std::thread::spawn(move || {
        poke(&r2, |_| panic!("a writer dies mid-update"));
    })
    .join();
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);
    c.set(S, "k", b"v", NOW + 10, NOW).unwrap();
    assert_eq!(c.get(S, "k", NOW).unwrap(), entry(b"v", NOW + 10));
}

#[test]
fn shm_concurrent_threads() {
    let c = ShmCache::in_heap(ShmGeometry::new(64, 2048).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..2000 {
                    let k = format!("t{t}-{}", i % 6);
                    let v = format!("{t}:{i}").repeat(10);
                    c.set(S, &k, v.as_bytes(), NOW + 100, NOW).unwrap();
                    // Only this thread writes its keys, and 8 x 6 keys fit in 64 slots.
                    assert_eq!(c.get(S, &k, NOW).unwrap(), entry(v.as_bytes(), NOW + 100));
                    assert!(c.touch(S, &k, NOW + 200, NOW).unwrap());
                    if i % 5 == 0 {
                        c.remove(S, &k).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(c.evictions().unwrap(), 0);
}

#[test]
fn shm_keys_near_key_max() {
    let c = small_shm(4);
    // "s:" + 510 = 512 bytes: stored as is; one more is hashed. Both work and stay apart.
    let k510 = "k".repeat(510);
    let k511 = "k".repeat(511);
    c.set(S, &k510, b"510", NOW + 10, NOW).unwrap();
    c.set(S, &k511, b"511", NOW + 10, NOW).unwrap();
    assert_eq!(c.get(S, &k510, NOW).unwrap(), entry(b"510", NOW + 10));
    assert_eq!(c.get(S, &k511, NOW).unwrap(), entry(b"511", NOW + 10));
}

/// Not a pass/fail test: prints ns per get of a 3 KB value (run with --nocapture, release).
#[test]
fn shm_get_benchmark() {
    let c = ShmCache::in_heap(ShmGeometry::default());
    let v = vec![b'x'; 3000];
    for i in 0..500 {
        c.set(
            S,
            &format!("session-{i:04}-abcdefghijklmnop"),
            &v,
            NOW + 100,
            NOW,
        )
        .unwrap();
    }
    let keys: Vec<String> = (0..500)
        .map(|i| format!("session-{i:04}-abcdefghijklmnop"))
        .collect();
    let n = 200_000;
    let start = std::time::Instant::now();
    let mut total = 0;
    for i in 0..n {
        total += c
            .get(S, &keys[i % 500], NOW)
            .unwrap()
            .map_or(0, |e| e.value.len());
    }
    let ns = start.elapsed().as_nanos() / n as u128;
    assert_eq!(total, n * 3000);
    let start = std::time::Instant::now();
    for i in 0..n / 10 {
        c.set(S, &keys[i % 500], &v, NOW + 100, NOW).unwrap();
    }
    let set_ns = start.elapsed().as_nanos() / (n as u128 / 10);
    let start = std::time::Instant::now();
    for i in 0..n / 10 {
        c.set(S, &format!("new-{i}"), &v, NOW + 100, NOW).unwrap();
    }
    let insert_ns = start.elapsed().as_nanos() / (n as u128 / 10);
    eprintln!(
        "shm 500 x 16913: get 3 KB {ns} ns/op, overwrite {set_ns} ns/op, insert with LRU eviction {insert_ns} ns/op"
    );
}

// ------------------------------------------------------------------------------------------
// FileCache

/// A scratch directory, removed when dropped (also when the test fails).
struct TempDir(std::path::PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!(
        "oidc-rs-cache-test-{name}-{}-{}",
        std::process::id(),
        crate::crypto::random_token(6).unwrap()
    ));
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

fn our_files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn file_contract() {
    let d = temp_dir("contract");
    contract(&FileCache::new(&*d, 60).unwrap());
}

#[test]
fn file_names_hide_the_key_and_mode_is_0600() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = temp_dir("names");
    let c = FileCache::new(&*d, 60).unwrap();
    c.set(S, "secret-session-id", b"v", NOW + 10, NOW).unwrap();
    let path = c.path_of(S, "secret-session-id");
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("mod-auth-openidc-rs-s-"), "{name}");
    assert!(!name.contains("secret"));
    assert_eq!(name.len(), "mod-auth-openidc-rs-s-".len() + 64);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // no temporary files left behind
    assert!(our_files(&d).iter().all(|n| !n.ends_with(".tmp")));
}

#[test]
fn file_unreadable_dir_is_unavailable() {
    let missing = std::env::temp_dir().join("oidc-rs-cache-test-does-not-exist-xyz");
    assert!(matches!(
        FileCache::new(&missing, 60),
        Err(CacheError::Unavailable(_))
    ));
    // a directory that disappears after start-up: set fails with Unavailable, get is absent
    let d = temp_dir("gone");
    let c = FileCache::new(&*d, 60).unwrap();
    std::fs::remove_dir_all(&d).unwrap();
    assert!(matches!(
        c.set(S, "k", b"v", NOW + 1, NOW),
        Err(CacheError::Unavailable(_))
    ));
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);
}

#[test]
fn file_expired_removed_on_read() {
    let d = temp_dir("expiry");
    let c = FileCache::new(&*d, 60).unwrap();
    c.set(S, "k", b"v", NOW + 10, NOW).unwrap();
    assert!(c.path_of(S, "k").exists());
    assert_eq!(c.get(S, "k", NOW + 10).unwrap(), None);
    assert!(!c.path_of(S, "k").exists());
}

#[test]
fn file_clean_pass_runs_at_most_once_per_interval() {
    let d = temp_dir("clean");
    let c = FileCache::new(&*d, 60).unwrap();
    c.set(S, "short", b"1", NOW + 5, NOW).unwrap(); // first set runs a pass (none yet)
    c.set(S, "long", b"2", NOW + 1000, NOW).unwrap();
    // a leftover temporary file of a crashed writer, an hour old, and a fresh one
    let stale_tmp = d.join("mod-auth-openidc-rs-s-abc.XYZ.tmp");
    std::fs::write(&stale_tmp, b"partial").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale_tmp)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let fresh_tmp = d.join("mod-auth-openidc-rs-s-def.XYZ.tmp");
    std::fs::write(&fresh_tmp, b"in progress").unwrap();
    // a foreign file with another prefix is never touched
    std::fs::write(d.join("mod-auth-openidc-s-foreign"), b"C module").unwrap();

    // Within the interval: no pass, the expired file stays.
    c.set(S, "x", b"3", NOW + 1000, NOW + 30).unwrap();
    assert!(c.path_of(S, "short").exists());
    // Another process (a second instance) also honours the marker.
    let other = FileCache::new(&*d, 60).unwrap();
    other.set(S, "y", b"4", NOW + 1000, NOW + 59).unwrap();
    assert!(c.path_of(S, "short").exists());
    // After the interval: the pass removes the expired file and the stale temporary file.
    other.set(S, "z", b"5", NOW + 1000, NOW + 61).unwrap();
    assert!(!c.path_of(S, "short").exists());
    assert!(!stale_tmp.exists());
    assert!(fresh_tmp.exists());
    assert!(d.join("mod-auth-openidc-s-foreign").exists());
    for k in ["long", "x", "y", "z"] {
        assert!(c.get(S, k, NOW + 61).unwrap().is_some(), "{k}");
    }
}

#[test]
fn file_corrupt_files_are_absent_and_cleaned() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = temp_dir("corrupt");
    let c = FileCache::new(&*d, 60).unwrap();
    c.set(S, "k", b"value", NOW + 10, NOW).unwrap();
    let path = c.path_of(S, "k");
    // truncated: the length field no longer matches
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() - 1]).unwrap();
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);
    assert!(!path.exists());
    // a huge claimed length is not allocated
    let mut bad = full.clone();
    bad[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, &bad).unwrap();
    assert_eq!(c.get(S, "k", NOW).unwrap(), None);
    // garbage
    std::fs::write(&path, b"garbage").unwrap();
    assert!(!c.touch(S, "k", NOW + 100, NOW).unwrap());
    assert_eq!(c.clean(NOW).unwrap(), 0);
    std::fs::write(&path, b"garbage").unwrap();
    // written with the umask's mode: readable by others, so not ours, and left alone
    assert_eq!(c.clean(NOW).unwrap(), 0);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(c.clean(NOW).unwrap(), 1);
    assert!(!path.exists());
}

#[test]
fn file_refuses_symlinks_and_foreign_modes() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = temp_dir("hostile");
    let c = FileCache::new(&*d, 60).unwrap();
    // A symlink planted under the name of a key points at a valid cache file elsewhere.
    let elsewhere = temp_dir("hostile-src");
    let src = FileCache::new(&*elsewhere, 60).unwrap();
    src.set(
        CacheSection::ProviderMetadata,
        "https://op/",
        b"evil",
        NOW + 10,
        NOW,
    )
    .unwrap();
    let planted = c.path_of(CacheSection::ProviderMetadata, "https://op/");
    std::os::unix::fs::symlink(
        src.path_of(CacheSection::ProviderMetadata, "https://op/"),
        &planted,
    )
    .unwrap();
    assert_eq!(
        c.get(CacheSection::ProviderMetadata, "https://op/", NOW)
            .unwrap(),
        None
    );
    // A readable-by-others file is not one of ours either.
    std::fs::remove_file(&planted).unwrap();
    std::fs::copy(
        src.path_of(CacheSection::ProviderMetadata, "https://op/"),
        &planted,
    )
    .unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        c.get(CacheSection::ProviderMetadata, "https://op/", NOW)
            .unwrap(),
        None
    );
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        c.get(CacheSection::ProviderMetadata, "https://op/", NOW)
            .unwrap(),
        entry(b"evil", NOW + 10)
    );
}

#[test]
fn file_concurrent_writers_never_expose_partial_files() {
    let d = temp_dir("atomic");
    let c = Arc::new(FileCache::new(&*d, 60).unwrap());
    let big_a = vec![b'a'; 64 * 1024];
    let big_b = vec![b'b'; 80 * 1024];
    let writers: Vec<_> = [big_a.clone(), big_b.clone()]
        .into_iter()
        .map(|v| {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    c.set(S, "k", &v, NOW + 10, NOW).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let c = c.clone();
        std::thread::spawn(move || {
            for _ in 0..300 {
                if let Some(e) = c.get(S, "k", NOW).unwrap() {
                    assert!(e.value == big_a || e.value == big_b, "torn read");
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    assert!(our_files(&d).iter().all(|n| !n.ends_with(".tmp")));
}

// ------------------------------------------------------------------------------------------
// EncryptedCache

fn keys(pass: &str) -> Arc<CryptoKeys> {
    Arc::new(CryptoKeys::derive_with_iterations(pass, None, 1))
}

#[test]
fn encrypted_contract_over_each_backend() {
    contract(&EncryptedCache::new(MemoryCache::new(100), keys("p")));
    contract(&EncryptedCache::new(
        ShmCache::in_heap(ShmGeometry::default()),
        keys("p"),
    ));
    let d = temp_dir("enc");
    contract(&EncryptedCache::new(
        FileCache::new(&*d, 60).unwrap(),
        keys("p"),
    ));
}

#[test]
fn encrypted_store_holds_neither_key_nor_value() {
    let inner = Arc::new(MemoryCache::new(10));
    let c = EncryptedCache::new(inner.clone(), keys("p"));
    c.set(S, "session-id-123", b"alice@example", NOW + 10, NOW)
        .unwrap();
    assert_eq!(inner.get(S, "session-id-123", NOW).unwrap(), None);
    let stored = inner
        .get(S, &super::sha256_hex(b"session-id-123"), NOW)
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored.value).contains("alice"));
    assert_eq!(stored.expires_at, NOW + 10);
    assert_eq!(
        c.get(S, "session-id-123", NOW).unwrap(),
        entry(b"alice@example", NOW + 10)
    );
}

#[test]
fn encrypted_value_moved_to_another_key_or_section_does_not_open() {
    let inner = Arc::new(MemoryCache::new(10));
    let c = EncryptedCache::new(inner.clone(), keys("p"));
    c.set(S, "victim", b"admin session", NOW + 10, NOW).unwrap();
    let sealed = inner
        .get(S, &super::sha256_hex(b"victim"), NOW)
        .unwrap()
        .unwrap()
        .value;
    // copied under the attacker's session id
    inner
        .set(S, &super::sha256_hex(b"attacker"), &sealed, NOW + 10, NOW)
        .unwrap();
    assert_eq!(c.get(S, "attacker", NOW).unwrap(), None);
    // copied to another section under the same key
    inner
        .set(
            CacheSection::Replay,
            &super::sha256_hex(b"victim"),
            &sealed,
            NOW + 10,
            NOW,
        )
        .unwrap();
    assert_eq!(c.get(CacheSection::Replay, "victim", NOW).unwrap(), None);
    // another passphrase, tampering, garbage: absent, not an error
    let other = EncryptedCache::new(inner.clone(), keys("other"));
    assert_eq!(other.get(S, "victim", NOW).unwrap(), None);
    let mut tampered = sealed.clone();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    inner
        .set(S, &super::sha256_hex(b"victim"), &tampered, NOW + 10, NOW)
        .unwrap();
    assert_eq!(c.get(S, "victim", NOW).unwrap(), None);
    inner
        .set(
            S,
            &super::sha256_hex(b"victim"),
            &[0xff, 0xfe],
            NOW + 10,
            NOW,
        )
        .unwrap();
    assert_eq!(c.get(S, "victim", NOW).unwrap(), None);
}

#[test]
fn encrypted_too_large_for_the_envelope_is_refused() {
    let c = EncryptedCache::new(MemoryCache::new(10), keys("p"));
    let max = 65536 / 4 * 3 - 29;
    c.set(S, "k", &vec![1u8; max], NOW + 10, NOW).unwrap();
    assert_eq!(c.get(S, "k", NOW).unwrap().unwrap().value.len(), max);
    assert!(matches!(
        c.set(S, "k", &vec![1u8; max + 1], NOW + 10, NOW),
        Err(CacheError::TooLarge { .. })
    ));
    // shm: the sealed value must fit the slot
    let shm = EncryptedCache::new(ShmCache::in_heap(ShmGeometry::default()), keys("p"));
    assert!(matches!(
        shm.set(S, "k", &vec![1u8; 16384], NOW + 10, NOW),
        Err(CacheError::TooLarge { max: 16384, .. })
    ));
    shm.set(S, "k", &vec![1u8; 12000], NOW + 10, NOW).unwrap();
}
