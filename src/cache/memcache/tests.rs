use std::io::Cursor;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

#[test]
fn keys_are_prefixed_and_hashed_when_memcached_would_refuse_them() {
    assert_eq!(
        memcache_key(CacheSection::Session, "abc"),
        "mod_auth_openidc_rs:s:abc"
    );
    assert_eq!(
        memcache_key(CacheSection::ProviderMetadata, "https://x/y"),
        "mod_auth_openidc_rs:p:https://x/y"
    );
    // spaces, control characters and long keys become a hash (distinct per key)
    for k in ["a b", "a\r\nb", "é", &"x".repeat(300)] {
        let m = memcache_key(CacheSection::Jwks, k);
        assert!(m.starts_with("mod_auth_openidc_rs:j#"), "{m}");
        assert_eq!(m.len(), "mod_auth_openidc_rs:j#".len() + 64);
        assert!(m.bytes().all(|b| b.is_ascii_graphic()));
    }
    assert_ne!(
        memcache_key(CacheSection::Jwks, "a b"),
        memcache_key(CacheSection::Jwks, "a  b")
    );
    // the longest plain key still fits; one more byte is hashed
    let fit = "k".repeat(KEY_MAX - "mod_auth_openidc_rs:s:".len());
    assert_eq!(memcache_key(CacheSection::Session, &fit).len(), KEY_MAX);
    assert!(memcache_key(CacheSection::Session, &format!("{fit}k")).contains('#'));
    // a plain key that looks like a hashed one cannot collide: it has ':' after the section
    let h = memcache_key(CacheSection::Jwks, "a b");
    let tail = h.trim_start_matches("mod_auth_openidc_rs:j#");
    assert_ne!(memcache_key(CacheSection::Jwks, &format!("#{tail}")), h);
}

#[test]
fn server_selection_is_stable_and_spreads() {
    assert_eq!(server_index("k", 1), 0);
    assert_eq!(server_index("k", 0), 0);
    let mut seen = [0usize; 3];
    for i in 0..300 {
        let k = format!("mod_auth_openidc_rs:s:{i}");
        let a = server_index(&k, 3);
        assert_eq!(a, server_index(&k, 3));
        seen[a] += 1;
    }
    assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
    // FNV-1a 64 reference values
    assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
    assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
}

#[test]
fn exptime_is_relative_up_to_30_days_then_absolute() {
    let now = 1_700_000_000;
    assert_eq!(exptime(now + 300, now), 300);
    assert_eq!(exptime(now + 2_592_000, now), 2_592_000);
    assert_eq!(exptime(now + 2_592_001, now), now + 2_592_001);
    assert_eq!(exptime(now + 365 * 86400, now), now + 365 * 86400);
    assert_eq!(exptime(i64::MAX, now), i64::MAX);
}

fn value_reply(r: &[u8], key: &str, cas: bool) -> Result<Option<(Vec<u8>, u64)>, OpError> {
    read_value(&mut Cursor::new(r.to_vec()), key, cas)
}

#[test]
fn retrieval_replies_are_parsed_strictly() {
    assert_eq!(value_reply(b"END\r\n", "k", false), Ok(None));
    assert_eq!(
        value_reply(b"VALUE k 0 3\r\nabc\r\nEND\r\n", "k", false),
        Ok(Some((b"abc".to_vec(), 0)))
    );
    assert_eq!(
        value_reply(b"VALUE k 7 4 99\r\na\r\nb\r\nEND\r\n", "k", true),
        Ok(Some((b"a\r\nb".to_vec(), 99)))
    );
    // binary data with CR/LF inside is read by length
    assert_eq!(
        value_reply(b"VALUE k 0 0\r\n\r\nEND\r\n", "k", false),
        Ok(Some((vec![], 0)))
    );
    let garbage: &[&[u8]] = &[
        b"",
        b"END",
        b"END\n",
        b"VALUE other 0 3\r\nabc\r\nEND\r\n",
        b"VALUE k x 3\r\nabc\r\nEND\r\n",
        b"VALUE k 0 -1\r\nabc\r\nEND\r\n",
        b"VALUE k 0 3 5\r\nabc\r\nEND\r\n",
        b"VALUE k 0 3\r\nabcd\r\nEND\r\n",
        b"VALUE k 0 3\r\nab",
        b"VALUE k 0 3\r\nabc\r\n",
        b"VALUE k 0 3\r\nabc\r\nVALUE k 0 3\r\n",
        b"VALUE k 0 99999999999\r\n",
        b"VALUE k 0 18446744073709551615\r\n",
        b"VALUE k 0 1048577\r\n",
        b"ERROR\r\n",
        b"SERVER_ERROR out of memory\r\n",
        b"\xff\xfe\r\n",
        b"VALUE k 0 3\r\n\xff\xff\xff\r\nEND\r\n",
    ];
    for g in garbage {
        let r = value_reply(g, "k", false);
        // the last one is a fine binary value; everything else is an error, never a panic
        if g.starts_with(b"VALUE k 0 3\r\n\xff") {
            assert_eq!(r, Ok(Some((vec![0xff; 3], 0))));
        } else {
            assert!(r.is_err(), "{:?} gave {r:?}", String::from_utf8_lossy(g));
        }
    }
    // gets without a cas is malformed
    assert!(value_reply(b"VALUE k 0 3\r\nabc\r\nEND\r\n", "k", true).is_err());
}

#[test]
fn reply_lines_are_bounded() {
    // an endless line without a newline is refused after LINE_MAX bytes
    let long = vec![b'A'; 10 * LINE_MAX];
    assert_eq!(
        read_line(&mut Cursor::new(long)),
        Err(OpError::Failed("reply line too long".into()))
    );
    let mut ok = vec![b'A'; LINE_MAX - 2];
    ok.extend_from_slice(b"\r\n");
    assert_eq!(
        read_line(&mut Cursor::new(ok)).map(|l| l.len()),
        Ok(LINE_MAX - 2)
    );
    assert!(matches!(
        read_line(&mut Cursor::new(b"STOR".to_vec())),
        Err(OpError::Closed(_))
    ));
}

#[test]
fn storage_replies() {
    let st = |r: &[u8]| read_stored(&mut Cursor::new(r.to_vec()));
    assert_eq!(st(b"STORED\r\n"), Ok(Reply::Stored));
    assert_eq!(st(b"NOT_STORED\r\n"), Ok(Reply::NotStored));
    assert_eq!(st(b"EXISTS\r\n"), Ok(Reply::Exists));
    assert_eq!(st(b"NOT_FOUND\r\n"), Ok(Reply::NotFound));
    assert_eq!(
        st(b"SERVER_ERROR object too large for cache\r\n"),
        Err(OpError::TooLarge)
    );
    assert!(matches!(st(b"stored\r\n"), Err(OpError::Failed(_))));
    assert!(matches!(
        st(b"CLIENT_ERROR bad\r\n"),
        Err(OpError::Failed(_))
    ));
    let del = |r: &[u8]| read_deleted(&mut Cursor::new(r.to_vec()));
    assert_eq!(del(b"DELETED\r\n"), Ok(true));
    assert_eq!(del(b"NOT_FOUND\r\n"), Ok(false));
    assert!(del(b"ERROR\r\n").is_err());
    assert_eq!(
        storage_command("set", "k", 5, b"ab", None),
        b"set k 0 5 2\r\nab\r\n".to_vec()
    );
    assert_eq!(
        storage_command("cas", "k", 5, b"ab", Some(7)),
        b"cas k 0 5 2 7\r\nab\r\n".to_vec()
    );
}

// ---------------------------------------------------------------------------------------------
// against a real memcached

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

struct Memcached {
    child: Child,
    port: u16,
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MEMCACHED: &str = "/usr/bin/memcached";

/// A memcached on a free loopback port, or `None` (test skipped) when it is not installed.
fn memcached() -> Option<Memcached> {
    if !std::path::Path::new(MEMCACHED).exists() {
        eprintln!("{MEMCACHED} not installed: skipped");
        return None;
    }
    memcached_on(free_port())
}

fn memcached_on(port: u16) -> Option<Memcached> {
    memcached_with(port, &[])
}

fn memcached_with(port: u16, extra: &[&str]) -> Option<Memcached> {
    let child = Command::new(MEMCACHED)
        .args(extra)
        .args([
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-m",
            "16",
        ])
        .args(["-u", "root"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let m = Memcached { child, port };
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(m);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("memcached did not start on port {port}");
}

fn cache_on(ports: &[u16]) -> MemcacheCache {
    let mut s = MemcacheSettings::new(ports.iter().map(|&p| ("127.0.0.1".into(), p)).collect());
    s.connect_timeout = Duration::from_secs(1);
    s.io_timeout = Duration::from_secs(1);
    MemcacheCache::new(s)
}

fn now() -> i64 {
    crate::deps::Clock::now(&crate::deps::SystemClock)
}

#[test]
fn unreachable_server_is_unavailable_quickly() {
    let cache = cache_on(&[free_port()]);
    let t = Instant::now();
    let r = cache.get(CacheSection::Session, "k", 0);
    assert!(matches!(r, Err(CacheError::Unavailable(_))), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn get_set_remove_touch_add_against_memcached() {
    let Some(m) = memcached() else { return };
    let cache = cache_on(&[m.port]);
    let now = now();
    let s = CacheSection::Session;
    assert_eq!(cache.get(s, "a", now), Ok(None));
    cache.set(s, "a", b"v\r\nEND\r\n", now + 100, now).unwrap();
    assert_eq!(
        cache.get(s, "a", now),
        Ok(Some(CacheEntry {
            value: b"v\r\nEND\r\n".to_vec(),
            expires_at: now + 100
        }))
    );
    // sections are apart
    assert_eq!(cache.get(CacheSection::Replay, "a", now), Ok(None));
    // expired by our clock even if memcached still has it
    assert_eq!(cache.get(s, "a", now + 100), Ok(None));
    // touch moves the reported expiry and memcached's
    assert_eq!(cache.touch(s, "a", now + 500, now), Ok(true));
    assert_eq!(
        cache.get(s, "a", now).unwrap().unwrap().expires_at,
        now + 500
    );
    assert_eq!(
        cache.get(s, "a", now).unwrap().unwrap().value,
        b"v\r\nEND\r\n"
    );
    assert_eq!(cache.touch(s, "missing", now + 500, now), Ok(false));
    assert_eq!(cache.touch(s, "a", now + 500, now + 600), Ok(false));
    // long expiries (> 30 days) are sent as absolute times and stay
    cache.set(s, "long", b"x", now + 40 * 86400, now).unwrap();
    assert!(cache.get(s, "long", now).unwrap().is_some());
    // a key with a space is hashed, still works
    cache.set(s, "with space", b"y", now + 100, now).unwrap();
    assert_eq!(
        cache.get(s, "with space", now).unwrap().unwrap().value,
        b"y"
    );
    // remove
    cache.remove(s, "a").unwrap();
    cache.remove(s, "a").unwrap();
    assert_eq!(cache.get(s, "a", now), Ok(None));
    // set in the past removes
    cache.set(s, "long", b"x", now, now).unwrap();
    assert_eq!(cache.get(s, "long", now), Ok(None));
    // add stores only once
    assert_eq!(cache.add(s, "once", b"1", now + 100, now), Ok(true));
    assert_eq!(cache.add(s, "once", b"2", now + 100, now), Ok(false));
    assert_eq!(cache.get(s, "once", now).unwrap().unwrap().value, b"1");
    // too large, refused before sending; the largest allowed is stored
    let big = vec![7u8; VALUE_MAX + 1];
    assert_eq!(
        cache.set(s, "big", &big, now + 100, now),
        Err(CacheError::TooLarge {
            size: VALUE_MAX + 1,
            max: VALUE_MAX
        })
    );
    let max = vec![7u8; VALUE_MAX];
    cache.set(s, "max", &max, now + 100, now).unwrap();
    assert_eq!(
        cache.get(s, "max", now).unwrap().unwrap().value.len(),
        VALUE_MAX
    );
}

#[test]
fn expiry_is_memcacheds_too() {
    let Some(m) = memcached() else { return };
    let cache = cache_on(&[m.port]);
    let now = now();
    cache
        .set(CacheSection::Session, "e", b"x", now + 1, now)
        .unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    // asked with an old clock: only memcached's own expiry can hide it
    assert_eq!(cache.get(CacheSection::Session, "e", now - 10), Ok(None));
}

#[test]
fn several_servers_share_keys_out_and_a_down_one_only_fails_its_keys() {
    let (Some(a), Some(b)) = (memcached(), memcached()) else {
        return;
    };
    let cache = cache_on(&[a.port, b.port]);
    let now = now();
    let s = CacheSection::Session;
    for i in 0..20 {
        cache.set(s, &i.to_string(), b"v", now + 100, now).unwrap();
    }
    // each server has some: another cache with only one of them sees a part
    let only_a = cache_on(&[a.port]);
    let on_a = (0..20)
        .filter(|i| only_a.get(s, &i.to_string(), now).unwrap().is_some())
        .count();
    assert!(on_a > 0 && on_a < 20, "{on_a}");
    drop(b);
    let mut ok = 0;
    let mut down = 0;
    for i in 0..20 {
        match cache.get(s, &i.to_string(), now) {
            Ok(Some(_)) => ok += 1,
            Err(CacheError::Unavailable(_)) => down += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((ok, down), (on_a, 20 - on_a));
}

#[test]
fn a_restarted_server_is_used_again_without_an_error() {
    let Some(m) = memcached() else { return };
    let port = m.port;
    let cache = cache_on(&[port]);
    let now = now();
    let s = CacheSection::Session;
    cache.set(s, "k", b"v", now + 100, now).unwrap();
    drop(m);
    assert!(matches!(
        cache.get(s, "k", now),
        Err(CacheError::Unavailable(_))
    ));
    let Some(_m2) = memcached_on(port) else {
        return;
    };
    // nothing left (memcached keeps nothing), but no error either
    assert_eq!(cache.get(s, "k", now), Ok(None));
    cache.set(s, "k", b"v", now + 100, now).unwrap();
    // the pooled connection was closed by the server restart: one retry, no error
    drop(_m2);
    let Some(_m3) = memcached_on(port) else {
        return;
    };
    assert_eq!(cache.get(s, "k", now), Ok(None));
}

#[test]
fn a_hung_server_costs_at_most_the_timeouts() {
    // a listener that accepts and never answers
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let cache = cache_on(&[port]);
    let t = Instant::now();
    let r = cache.get(CacheSection::Session, "k", 0);
    assert!(matches!(r, Err(CacheError::Unavailable(_))), "{r:?}");
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
    drop(l);
}

#[test]
fn hmax_bounds_open_connections() {
    let Some(m) = memcached() else { return };
    let mut s = MemcacheSettings::new(vec![("127.0.0.1".into(), m.port)]);
    s.hmax = Some(2);
    let cache = std::sync::Arc::new(MemcacheCache::new(s));
    let now = now();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let c = cache.clone();
            std::thread::spawn(move || {
                for j in 0..50 {
                    let k = format!("{i}-{j}");
                    c.set(CacheSection::Session, &k, b"v", now + 100, now)
                        .unwrap();
                    assert!(c.get(CacheSection::Session, &k, now).unwrap().is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let p = lock(&cache.servers[0].pool);
    assert!(p.open <= 2 && p.idle.len() <= 2, "{} open", p.open);
}

#[test]
fn idle_connections_past_ttl_are_closed() {
    let Some(m) = memcached() else { return };
    let mut s = MemcacheSettings::new(vec![("127.0.0.1".into(), m.port)]);
    s.ttl = Duration::from_millis(50);
    let cache = MemcacheCache::new(s);
    cache.remove(CacheSection::Session, "k").unwrap();
    assert_eq!(lock(&cache.servers[0].pool).idle.len(), 1);
    std::thread::sleep(Duration::from_millis(80));
    cache.remove(CacheSection::Session, "k").unwrap();
    let p = lock(&cache.servers[0].pool);
    assert_eq!((p.open, p.idle.len()), (1, 1));
}

#[test]
fn a_server_with_a_smaller_item_limit_refuses_as_too_large() {
    if !std::path::Path::new(MEMCACHED).exists() {
        return;
    }
    let Some(m) = memcached_with(free_port(), &["-I", "64k", "-o", "slab_chunk_max=32768"]) else {
        return;
    };
    let cache = cache_on(&[m.port]);
    let now = now();
    let s = CacheSection::Session;
    let r = cache.set(s, "big", &vec![1u8; 100 * 1024], now + 100, now);
    assert!(matches!(r, Err(CacheError::TooLarge { .. })), "{r:?}");
    // the cache keeps working
    cache.set(s, "small", b"x", now + 100, now).unwrap();
    assert_eq!(cache.get(s, "small", now).unwrap().unwrap().value, b"x");
}
