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
fn values_carry_their_expiry() {
    let f = frame(b"hello", 1_700_000_000);
    assert_eq!(f.len(), 13);
    assert_eq!(&f[..8], &1_700_000_000i64.to_be_bytes());
    assert_eq!(
        unframe(f),
        Some(CacheEntry {
            value: b"hello".to_vec(),
            expires_at: 1_700_000_000
        })
    );
    assert_eq!(
        unframe(frame(b"", -5)),
        Some(CacheEntry {
            value: vec![],
            expires_at: -5
        })
    );
    // not ours (e.g. written by something else): absent, not a panic
    assert_eq!(unframe(b"short".to_vec()), None);
    assert_eq!(unframe(Vec::new()), None);
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
