use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

#[test]
fn keys_are_prefixed_by_module_and_section() {
    assert_eq!(
        redis_key(CacheSection::Session, "abc"),
        "mod_auth_openidc_rs:s:abc"
    );
    assert_eq!(
        redis_key(CacheSection::ProviderMetadata, "https://x/y"),
        "mod_auth_openidc_rs:p:https://x/y"
    );
}

#[test]
fn expiry_in_milliseconds_saturates() {
    assert_eq!(expiry_ms(1_700_000_000), 1_700_000_000_000);
    assert_eq!(expiry_ms(i64::MAX), i64::MAX);
}

#[test]
fn password_is_not_in_debug_output() {
    let s = settings(1, Some("sekrit"));
    assert!(!format!("{s:?}").contains("sekrit"));
}

fn settings(port: u16, password: Option<&str>) -> RedisSettings {
    RedisSettings {
        host: "127.0.0.1".into(),
        port,
        username: None,
        password: password.map(str::to_string),
        database: None,
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

#[test]
fn unreachable_server_is_unavailable_quickly() {
    let port = free_port();
    let cache = RedisCache::new(settings(port, None));
    let t = Instant::now();
    let r = cache.get(CacheSection::Session, "k", 0);
    assert!(matches!(r, Err(CacheError::Unavailable(_))), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn silent_server_hits_the_read_timeout() {
    // accepts connections but never answers: the command times out instead of hanging
    let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut s = settings(port, Some("pw"));
    s.timeout = Duration::from_millis(300);
    let cache = RedisCache::new(s);
    let t = Instant::now();
    let r = cache.get(CacheSection::Session, "k", 0);
    assert!(matches!(r, Err(CacheError::Unavailable(_))), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    drop(listener);
}

/// A `redis-server` on a free loopback port, stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const REDIS_SERVER: &str = "/usr/bin/redis-server";

fn start_server(password: &str) -> Option<Server> {
    if !std::path::Path::new(REDIS_SERVER).exists() {
        eprintln!("{REDIS_SERVER} missing: skipping");
        return None;
    }
    let port = free_port();
    let child = Command::new(REDIS_SERVER)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server did not start on port {port}");
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn pttl(cache: &RedisCache, key: &str) -> i64 {
    cache
        .with_con(|c| redis::cmd("PTTL").arg(key).query(c))
        .unwrap_or(-100)
}

#[test]
fn against_a_real_server() {
    let Some(server) = start_server("pw1") else {
        return;
    };
    let mut s = settings(server.port, Some("pw1"));
    s.database = Some(2);
    let cache = RedisCache::new(s);
    let t = now();
    let sec = CacheSection::Session;

    assert_eq!(cache.get(sec, "a", t), Ok(None));
    cache.set(sec, "a", b"value-a", t + 100, t).unwrap();
    assert_eq!(
        cache.get(sec, "a", t),
        Ok(Some(CacheEntry {
            value: b"value-a".to_vec(),
            expires_at: t + 100
        }))
    );
    // sections are apart
    assert_eq!(cache.get(CacheSection::Replay, "a", t), Ok(None));
    // Redis's own TTL is the entry's expiry
    let ttl = pttl(&cache, "mod_auth_openidc_rs:s:a");
    assert!((98_000..=100_000).contains(&ttl), "{ttl}");
    // the entry is in the selected database, not in 0
    let other = RedisCache::new(settings(server.port, Some("pw1")));
    assert_eq!(other.get(sec, "a", t), Ok(None));

    // expired by the caller's clock even if Redis still has it
    assert_eq!(cache.get(sec, "a", t + 100), Ok(None));

    // touch moves both expiries
    assert_eq!(cache.touch(sec, "a", t + 500, t), Ok(true));
    assert_eq!(cache.get(sec, "a", t).unwrap().unwrap().expires_at, t + 500);
    let ttl = pttl(&cache, "mod_auth_openidc_rs:s:a");
    assert!((498_000..=500_000).contains(&ttl), "{ttl}");
    assert_eq!(cache.touch(sec, "missing", t + 500, t), Ok(false));

    // replace, then remove
    cache.set(sec, "a", b"v2", t + 50, t).unwrap();
    assert_eq!(cache.get(sec, "a", t).unwrap().unwrap().value, b"v2");
    cache.remove(sec, "a").unwrap();
    assert_eq!(cache.get(sec, "a", t), Ok(None));
    cache.remove(sec, "a").unwrap();

    // a set that is already expired stores nothing
    cache.set(sec, "b", b"x", t, t).unwrap();
    assert_eq!(cache.get(sec, "b", t - 10), Ok(None));

    // binary values survive
    let bin: Vec<u8> = (0..=255u8).collect();
    cache.set(sec, "bin", &bin, t + 10, t).unwrap();
    assert_eq!(cache.get(sec, "bin", t).unwrap().unwrap().value, bin);

    // wrong password: unavailable, not a panic
    let bad = RedisCache::new(settings(server.port, Some("nope")));
    assert!(matches!(
        bad.get(sec, "a", t),
        Err(CacheError::Unavailable(_))
    ));
    let none = RedisCache::new(settings(server.port, None));
    assert!(matches!(
        none.get(sec, "a", t),
        Err(CacheError::Unavailable(_))
    ));

    // AUTH with a user name (Redis 6 ACL users)
    cache
        .with_con(|c| {
            redis::cmd("ACL")
                .arg(
                    &[
                        "SETUSER",
                        "web",
                        "on",
                        ">pw2",
                        "~mod_auth_openidc_rs:*",
                        "+@all",
                    ][..],
                )
                .query::<()>(c)
        })
        .unwrap();
    let mut us = settings(server.port, Some("pw2"));
    us.username = Some("web".into());
    let user = RedisCache::new(us.clone());
    user.set(sec, "u", b"by-user", t + 10, t).unwrap();
    assert_eq!(user.get(sec, "u", t).unwrap().unwrap().value, b"by-user");
    us.password = Some("pw1".into());
    assert!(matches!(
        RedisCache::new(us).get(sec, "u", t),
        Err(CacheError::Unavailable(_))
    ));

    // Redis restarts while a connection sits in the pool: the next call notices the closed
    // connection, connects again and succeeds (the data is gone: no persistence)
    let port = server.port;
    drop(server);
    let server = restart(port);
    assert_eq!(cache.get(sec, "bin", t), Ok(None));
    cache.set(sec, "c", b"again", t + 10, t).unwrap();
    assert_eq!(cache.get(sec, "c", t).unwrap().unwrap().value, b"again");

    // the server goes away: unavailable (connection refused), not a panic or a hang; when it
    // is back on the same port the cache works again without a restart of ours
    drop(server);
    for _ in 0..2 {
        assert!(matches!(
            cache.get(sec, "c", t),
            Err(CacheError::Unavailable(_))
        ));
    }
    let _server = restart(port);
    cache.set(sec, "d", b"back", t + 10, t).unwrap();
    assert_eq!(cache.get(sec, "d", t).unwrap().unwrap().value, b"back");
}

fn restart(port: u16) -> Server {
    let child = Command::new(REDIS_SERVER)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--requirepass", "pw1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

#[test]
fn add_against_a_real_server_is_set_nx() {
    let Some(server) = start_server("pw2") else {
        return;
    };
    let cache = RedisCache::new(settings(server.port, Some("pw2")));
    let t = now();
    let l = CacheSection::Lock;
    assert_eq!(cache.add(l, "k", b"one", t + 100, t), Ok(true));
    assert_eq!(cache.add(l, "k", b"two", t + 100, t), Ok(false));
    assert_eq!(cache.get(l, "k", t).unwrap().unwrap().value, b"one");
    let ttl = pttl(&cache, "mod_auth_openidc_rs:l:k");
    assert!((98_000..=100_000).contains(&ttl), "{ttl}");
    // an already expired add stores nothing
    assert_eq!(cache.add(l, "past", b"x", t, t), Ok(false));
    assert_eq!(pttl(&cache, "mod_auth_openidc_rs:l:past"), -2);
    // expired (Redis dropped it at its PXAT): taken again
    assert_eq!(cache.add(l, "short", b"a", t + 1, t), Ok(true));
    let deadline = Instant::now() + Duration::from_secs(4);
    while pttl(&cache, "mod_auth_openidc_rs:l:short") != -2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let t2 = now();
    assert_eq!(cache.add(l, "short", b"b", t2 + 100, t2), Ok(true));
    assert_eq!(cache.get(l, "short", t2).unwrap().unwrap().value, b"b");
    // removed: free again
    cache.remove(l, "k").unwrap();
    assert_eq!(cache.add(l, "k", b"three", t + 100, t), Ok(true));

    // many clients (each with its own connections, as separate servers) at once: one wins
    let wins = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for i in 0..16u8 {
            let wins = &wins;
            let port = server.port;
            s.spawn(move || {
                let c = RedisCache::new(settings(port, Some("pw2")));
                if c.add(l, "race", &[i], t + 100, t) == Ok(true) {
                    wins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(wins.into_inner(), 1);
}

// ---- the near cache -------------------------------------------------------------------------

use super::near::{self, Lookup, Message, Reader, Value, classify, parse};

fn bulk(s: &[u8]) -> Value {
    Value::Bulk(Some(s.to_vec()))
}

#[test]
fn resp_reader_parses_what_the_tracker_sees() {
    let frames: &[(&[u8], Value)] = &[
        (b"+OK\r\n", Value::Simple(b"OK".to_vec())),
        (b"-ERR no\r\n", Value::Error(b"ERR no".to_vec())),
        (b":42\r\n", Value::Int(42)),
        (b":-7\r\n", Value::Int(-7)),
        (b"$-1\r\n", Value::Bulk(None)),
        (b"$0\r\n\r\n", bulk(b"")),
        (b"$3\r\na\r\n\r\n", bulk(b"a\r\n")),
        (b"*-1\r\n", Value::Array(None)),
        (
            b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*2\r\n$3\r\nk:1\r\n$3\r\nk:2\r\n",
            Value::Array(Some(vec![
                bulk(b"message"),
                bulk(b"__redis__:invalidate"),
                Value::Array(Some(vec![bulk(b"k:1"), bulk(b"k:2")])),
            ])),
        ),
    ];
    for (bytes, want) in frames {
        assert_eq!(
            parse(bytes, 0),
            Ok(Some((clone_value(want), bytes.len()))),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        // every proper prefix is incomplete, not an error
        for cut in 0..bytes.len() {
            assert_eq!(parse(&bytes[..cut], 0), Ok(None), "cut {cut} of {bytes:?}");
        }
        // fed byte by byte, partial frames are kept until complete
        let mut r = Reader::default();
        for (i, b) in bytes.iter().enumerate() {
            let got = r.feed_and_take(&[*b]).unwrap();
            if i + 1 < bytes.len() {
                assert_eq!(got, None);
            } else {
                assert_eq!(got.as_ref(), Some(want));
            }
        }
    }
    // two frames in one read come out one after the other
    let mut r = Reader::default();
    assert_eq!(
        r.feed_and_take(b"+OK\r\n:1\r\n+P"),
        Ok(Some(Value::Simple(b"OK".to_vec())))
    );
    assert_eq!(r.feed_and_take(b""), Ok(Some(Value::Int(1))));
    assert_eq!(r.feed_and_take(b"ONG"), Ok(None));
    assert_eq!(
        r.feed_and_take(b"\r\n"),
        Ok(Some(Value::Simple(b"PONG".to_vec())))
    );
}

fn clone_value(v: &Value) -> Value {
    match v {
        Value::Simple(s) => Value::Simple(s.clone()),
        Value::Error(s) => Value::Error(s.clone()),
        Value::Int(i) => Value::Int(*i),
        Value::Bulk(b) => Value::Bulk(b.clone()),
        Value::Array(a) => Value::Array(a.as_ref().map(|a| a.iter().map(clone_value).collect())),
    }
}

#[test]
fn resp_reader_refuses_garbage_and_oversize_without_panicking() {
    let bad: &[&[u8]] = &[
        b"?x\r\n",
        b"\r\n",
        b":abc\r\n",
        b"$-2\r\n",
        b"$3\r\nabcXY",
        b"*-5\r\n",
        b"$99999999999\r\n",
        b"*99999999\r\n",
        b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
        b"$18446744073709551616\r\n",
    ];
    for b in bad {
        assert!(parse(b, 0).is_err(), "{:?}", String::from_utf8_lossy(b));
    }
    // a header line that never ends is an error once it is too long, not a growing buffer
    assert!(parse(&[b'+'; 5000], 0).is_err());
    assert_eq!(parse(&[b'+'; 100], 0), Ok(None));
    // pseudo-random bytes: errors or values, never a panic
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let len = (x % 40) as usize;
        let mut buf = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf.push(b"*$:+-\r\n0123456789-"[(x % 18) as usize]);
        }
        let _ = parse(&buf, 0);
    }
}

#[test]
fn tracker_messages_are_classified() {
    let msg = |payload: Value| {
        Value::Array(Some(vec![
            bulk(b"message"),
            bulk(b"__redis__:invalidate"),
            payload,
        ]))
    };
    let keys = |m: Result<Message, String>| match m {
        Ok(Message::Invalidate(k)) => k,
        _ => panic!("not an invalidation"),
    };
    assert_eq!(
        keys(classify(msg(Value::Array(Some(vec![
            bulk(b"a"),
            bulk(b"b")
        ]))))),
        Some(vec![b"a".to_vec(), b"b".to_vec()])
    );
    // nil (FLUSHALL) and anything odd in the payload: everything goes
    assert_eq!(keys(classify(msg(Value::Array(None)))), None);
    assert_eq!(keys(classify(msg(Value::Bulk(None)))), None);
    assert_eq!(
        keys(classify(msg(Value::Array(Some(vec![Value::Int(1)]))))),
        None
    );
    assert!(matches!(
        classify(Value::Array(Some(vec![bulk(b"pong"), bulk(b"")]))),
        Ok(Message::Pong)
    ));
    assert!(matches!(
        classify(Value::Simple(b"PONG".to_vec())),
        Ok(Message::Pong)
    ));
    // errors, other channels, unknown shapes: the tracker reconnects
    assert!(classify(Value::Error(b"ERR x".to_vec())).is_err());
    assert!(classify(Value::Int(3)).is_err());
    assert!(
        classify(Value::Array(Some(vec![
            bulk(b"message"),
            bulk(b"other"),
            Value::Array(None)
        ])))
        .is_err()
    );
    assert!(classify(Value::Array(Some(vec![]))).is_err());
}

fn entry(v: &[u8], expires_at: i64) -> CacheEntry {
    CacheEntry {
        value: v.to_vec(),
        expires_at,
    }
}

#[test]
fn near_map_rules() {
    let near = near::Near::new(settings(1, None));
    near.force_healthy();
    let hit = |k: &str, now: i64| match near.lookup(k, now) {
        Lookup::Hit(e) => Some(e),
        Lookup::Miss(_) => None,
    };
    let token = |k: &str| match near.lookup(k, 0) {
        Lookup::Miss(t) => t,
        Lookup::Hit(_) => panic!("unexpected hit"),
    };

    let t = token("a");
    assert!(t.is_some());
    near.offer(t, "a", &entry(b"va", 100));
    assert_eq!(hit("a", 0), Some(entry(b"va", 100)));
    // expired by the caller's clock: not served
    assert_eq!(hit("a", 100), None);

    // an invalidation (or our own write) between lookup and offer: the read is not kept
    let t = token("b");
    near.invalidate(Some(&[b"unrelated".to_vec()]));
    near.offer(t, "b", &entry(b"vb", 100));
    assert_eq!(hit("b", 0), None);
    let t = token("b");
    near.forget("c");
    near.offer(t, "b", &entry(b"vb", 100));
    assert_eq!(hit("b", 0), None);
    // no token (tracker unhealthy at lookup): never kept
    near.offer(None, "b", &entry(b"vb", 100));
    assert_eq!(hit("b", 0), None);

    // invalidation by key, and of everything
    for k in ["x", "y"] {
        let t = token(k);
        near.offer(t, k, &entry(k.as_bytes(), 100));
    }
    near.invalidate(Some(&[b"x".to_vec()]));
    assert_eq!(hit("x", 0), None);
    assert!(hit("y", 0).is_some());
    near.invalidate(None);
    assert_eq!(hit("y", 0), None);

    // bounded
    for i in 0..near::MAX_ENTRIES + 50 {
        let k = format!("k{i}");
        let t = token(&k);
        near.offer(t, &k, &entry(b"v", 100));
    }
    assert_eq!(near.len(), near::MAX_ENTRIES);
    let big = vec![0u8; near::MAX_BYTES / 8];
    for i in 0..20 {
        let k = format!("big{i}");
        let t = token(&k);
        near.offer(t, &k, &entry(&big, 100));
    }
    let kept = (0..20)
        .filter(|i| hit(&format!("big{i}"), 0).is_some())
        .count();
    assert!(
        (1..8).contains(&kept),
        "{kept} values of 1/8 of the byte bound kept"
    );
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    t.elapsed()
}

/// How many GETs the server has run (INFO commandstats).
fn get_calls(admin: &RedisCache) -> u64 {
    let info: String = admin
        .with_con(|c| redis::cmd("INFO").arg("commandstats").query(c))
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn raw(admin: &RedisCache, args: &[&str]) {
    admin
        .with_con(|c| redis::cmd(args[0]).arg(&args[1..]).query::<redis::Value>(c))
        .unwrap();
}

#[test]
fn near_cache_serves_hot_sessions_and_sees_changes_elsewhere() {
    let Some(server) = start_server("pw1") else {
        return;
    };
    let cache = RedisCache::new(settings(server.port, Some("pw1")));
    // another Apache server, and an admin connection
    let other = RedisCache::new(settings(server.port, Some("pw1")));
    let admin = RedisCache::new(settings(server.port, Some("pw1")));
    let t = now();
    let sec = CacheSection::Session;
    let key = |k: &str| redis_key(sec, k);

    cache.set(sec, "s1", b"one", t + 100, t).unwrap();
    assert_eq!(cache.get(sec, "s1", t).unwrap().unwrap().value, b"one");
    wait_for("tracker healthy", Duration::from_secs(5), || {
        cache.near.healthy()
    });
    assert_eq!(cache.get(sec, "s1", t).unwrap().unwrap().value, b"one");
    let before = get_calls(&admin);
    for _ in 0..20 {
        assert_eq!(cache.get(sec, "s1", t).unwrap().unwrap().value, b"one");
    }
    assert_eq!(get_calls(&admin), before, "hot session reads cost no GET");
    // other sections are not kept near
    cache
        .set(CacheSection::ProviderMetadata, "p", b"m", t + 100, t)
        .unwrap();
    for _ in 0..3 {
        cache.get(CacheSection::ProviderMetadata, "p", t).unwrap();
    }
    assert_eq!(get_calls(&admin), before + 3);
    // absent sessions are not kept
    for _ in 0..3 {
        assert_eq!(cache.get(sec, "nothing", t), Ok(None));
    }
    assert_eq!(get_calls(&admin), before + 6);

    // a change at another server, or by anyone, is seen at once
    let sees = |what: &str, want: Option<&[u8]>| {
        let took = wait_for(what, Duration::from_secs(2), || {
            cache.get(sec, "s1", t).unwrap().map(|e| e.value).as_deref() == want
        });
        assert!(took < Duration::from_millis(500), "{what}: took {took:?}");
        // and the new state is kept near again
        if let Some(want) = want {
            let _ = cache.get(sec, "s1", t);
            let n = get_calls(&admin);
            assert_eq!(cache.get(sec, "s1", t).unwrap().unwrap().value, want);
            assert_eq!(get_calls(&admin), n, "{what}: kept near again");
        }
    };
    other.set(sec, "s1", b"two", t + 100, t).unwrap();
    sees("SET by another server", Some(b"two"));
    other.touch(sec, "s1", t + 300, t).unwrap();
    wait_for("touch elsewhere", Duration::from_secs(2), || {
        cache.get(sec, "s1", t).unwrap().map(|e| e.expires_at) == Some(t + 300)
    });
    other.remove(sec, "s1").unwrap();
    sees("logout at another server", None);

    other.set(sec, "s1", b"three", t + 100, t).unwrap();
    sees("a new value", Some(b"three"));
    raw(&admin, &["PEXPIRE", &key("s1"), "1"]);
    sees("expiry in Redis", None);

    other.set(sec, "s1", b"four", t + 100, t).unwrap();
    sees("a new value", Some(b"four"));
    raw(&admin, &["FLUSHALL"]);
    sees("FLUSHALL", None);

    // our own writes are seen by our own next read, always
    cache.set(sec, "s2", b"mine", t + 100, t).unwrap();
    assert_eq!(cache.get(sec, "s2", t).unwrap().unwrap().value, b"mine");
    assert_eq!(cache.get(sec, "s2", t).unwrap().unwrap().value, b"mine");
    cache.set(sec, "s2", b"mine2", t + 100, t).unwrap();
    assert_eq!(cache.get(sec, "s2", t).unwrap().unwrap().value, b"mine2");
    cache.remove(sec, "s2").unwrap();
    assert_eq!(cache.get(sec, "s2", t), Ok(None));
}

#[test]
fn near_cache_follows_the_tracker_through_outages() {
    let Some(server) = start_server("pw1") else {
        return;
    };
    let port = server.port;
    let mut s = settings(port, Some("pw1"));
    s.timeout = Duration::from_millis(500);
    s.connect_timeout = Duration::from_millis(500);
    let cache = RedisCache::new(s);
    let t = now();
    let sec = CacheSection::Session;
    cache.set(sec, "s", b"v", t + 100, t).unwrap();
    cache.get(sec, "s", t).unwrap();
    wait_for("healthy", Duration::from_secs(5), || cache.near.healthy());
    cache.get(sec, "s", t).unwrap();
    assert_eq!(cache.near.len(), 1);

    // hung Redis: the known session is still served near (no wait) until the tracker's PING
    // goes unanswered; then nothing is served near and the read times out
    let pid = server.child.id().to_string();
    let signal = |sig: &str| {
        let ok = Command::new("kill")
            .args([sig, &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {pid}");
    };
    signal("-STOP");
    let t0 = Instant::now();
    assert_eq!(cache.get(sec, "s", t).unwrap().unwrap().value, b"v");
    assert!(
        t0.elapsed() < Duration::from_millis(100),
        "{:?}",
        t0.elapsed()
    );
    let noticed = wait_for(
        "unhealthy after the PING timeout",
        Duration::from_secs(4),
        || !cache.near.healthy(),
    );
    assert!(noticed <= Duration::from_millis(2500), "{noticed:?}");
    assert_eq!(cache.near.len(), 0);
    let t1 = Instant::now();
    assert!(matches!(
        cache.get(sec, "s", t),
        Err(CacheError::Unavailable(_))
    ));
    assert!(
        t1.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t1.elapsed()
    );
    signal("-CONT");
    wait_for("healthy after resume", Duration::from_secs(5), || {
        cache.near.healthy()
    });
    assert_eq!(cache.get(sec, "s", t).unwrap().unwrap().value, b"v");

    // Redis gone: the tracker notices at once, nothing stale is served
    cache.get(sec, "s", t).unwrap();
    assert_eq!(cache.near.len(), 1);
    drop(server);
    wait_for("unhealthy after the kill", Duration::from_secs(1), || {
        !cache.near.healthy()
    });
    assert!(matches!(
        cache.get(sec, "s", t),
        Err(CacheError::Unavailable(_))
    ));
    // back: healthy again (an empty Redis: no persistence), the near cache works again
    let _server = restart(port);
    wait_for("healthy after restart", Duration::from_secs(5), || {
        cache.near.healthy()
    });
    assert_eq!(cache.get(sec, "s", t), Ok(None));
    cache.set(sec, "s", b"w", t + 100, t).unwrap();
    // (Redis also reports our own SET to our tracker: a read racing that report is not kept)
    wait_for("kept near again", Duration::from_secs(2), || {
        cache.get(sec, "s", t).is_ok_and(|e| e.is_some()) && cache.near.len() == 1
    });

    // stopping joins the tracker; reads go to Redis from then on
    let t2 = Instant::now();
    cache.near.stop_via_registry();
    assert!(t2.elapsed() < Duration::from_secs(2), "{:?}", t2.elapsed());
    assert!(cache.near.thread_finished());
    assert!(!cache.near.healthy());
    assert_eq!(cache.near.len(), 0);
    assert_eq!(cache.get(sec, "s", t).unwrap().unwrap().value, b"w");
    assert_eq!(cache.near.len(), 0);
}
