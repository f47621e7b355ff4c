//! `OIDCCacheType memcache`: one or more memcached servers shared by several Apache servers.
//!
//! Written over `std::net::TcpStream` with memcached's text protocol (get, gets, set, add, cas,
//! delete): five commands and their one-line replies do not need a client crate.
//!
//! Key: `mod_auth_openidc_rs:<section prefix>:<key>` when that is a valid memcached key (at most
//! 250 bytes, no space or control character); any other key is stored as
//! `mod_auth_openidc_rs:<section prefix>#<SHA-256 hex of the key>` (the `#` cannot follow the
//! section prefix of a plain key, so the two forms never collide). Value: `expires_at` as 8 bytes
//! big-endian, then the value, so `get` reports the entry's expiry in one round trip; the item's
//! memcached expiry is the same instant (relative seconds up to 30 days, absolute Unix time
//! beyond, as memcached reads any number above 2592000 as a Unix time).
//!
//! With several servers a key lives on one of them: FNV-1a of the memcached key modulo the
//! number of servers (stable across processes and Apache servers with the same list). A server
//! that is down makes its keys [`CacheError::Unavailable`]; the others keep working.
//!
//! Connections: per process and server, made lazily on first use (never before httpd forks),
//! with bounded connect and read/write timeouts; at most `OIDCMemCacheConnectionsHMax` open
//! (unset: no limit of ours, one per request thread), idle ones kept up to
//! `OIDCMemCacheConnectionsSMax` for `OIDCMemCacheConnectionsTTL`. A connection that errs is
//! dropped; a pooled one the server closed meanwhile is replaced and the command sent once more.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::framing::{EXPIRY_LEN, frame, unframe};
use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

/// Every key this cache writes starts with this.
pub const KEY_PREFIX: &str = "mod_auth_openidc_rs:";
/// memcached's longest key.
pub const KEY_MAX: usize = 250;
/// memcached's default item size limit (`-I 1m`); key and item header take part of it.
const ITEM_MAX: usize = 1024 * 1024;
/// The largest stored (framed) value we send: the item limit less room for the key and
/// memcached's item header.
const STORED_MAX: usize = ITEM_MAX - 1024;
/// The largest value a caller can store.
pub const VALUE_MAX: usize = STORED_MAX - EXPIRY_LEN;
/// Longest reply line we read (a `VALUE <key> <flags> <bytes> <cas>` line is < 300 bytes).
const LINE_MAX: usize = 512;
/// memcached reads an exptime above this many seconds (30 days) as an absolute Unix time.
const RELATIVE_EXPTIME_MAX: i64 = 2_592_000;
/// The C module leaves timeouts to apr-util's memcache defaults and has no directive for them;
/// we bound every wait so that a memcached that is down or hung costs a request at most a few
/// seconds (then 503), never a hung worker.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Read and write timeout of each command (see [`CONNECT_TIMEOUT`]).
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Idle connections kept per server when neither SMax nor HMax is set.
const IDLE_DEFAULT_MAX: usize = 16;

/// Where and how to reach the servers (from `OIDCMemCacheServers` and the connection
/// directives).
#[derive(Debug, Clone)]
pub struct MemcacheSettings {
    /// `(host, port)` per server, in configuration order (it decides which server has a key).
    pub servers: Vec<(String, u16)>,
    /// `OIDCMemCacheConnectionsHMax`: most open connections per server (`None`: no limit).
    pub hmax: Option<u32>,
    /// `OIDCMemCacheConnectionsSMax`: most idle connections kept per server.
    pub smax: Option<u32>,
    /// `OIDCMemCacheConnectionsTTL`: idle connections older than this are closed.
    pub ttl: Duration,
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
}

impl MemcacheSettings {
    /// Settings for `servers` with the C module's pool defaults and our timeouts.
    pub fn new(servers: Vec<(String, u16)>) -> MemcacheSettings {
        MemcacheSettings {
            servers,
            hmax: None,
            smax: None,
            ttl: Duration::from_secs(60),
            connect_timeout: CONNECT_TIMEOUT,
            io_timeout: IO_TIMEOUT,
        }
    }
}

/// `OIDCCacheType memcache`.
pub struct MemcacheCache {
    settings: MemcacheSettings,
    servers: Vec<Server>,
}

struct Server {
    host: String,
    port: u16,
    pool: Mutex<Pool>,
    freed: Condvar,
}

struct Pool {
    idle: Vec<(Conn, Instant)>,
    /// Connections open to this server: idle plus leased.
    open: usize,
}

struct Conn {
    stream: BufReader<TcpStream>,
}

/// Why a command failed: the connection is dropped either way; `Closed` on a pooled connection
/// is retried once on a new one.
#[derive(Debug, PartialEq, Eq)]
enum OpError {
    /// The server closed the connection (EOF, reset, broken pipe).
    Closed(String),
    /// Timeout, protocol error, error reply.
    Failed(String),
    /// `SERVER_ERROR object too large for cache`.
    TooLarge,
}

fn io_err(e: std::io::Error) -> OpError {
    match e.kind() {
        ErrorKind::UnexpectedEof
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe => OpError::Closed(e.to_string()),
        _ => OpError::Failed(e.to_string()),
    }
}

/// The memcached key of `key` in `section` (see the module documentation).
pub fn memcache_key(section: CacheSection, key: &str) -> String {
    let plain = format!("{KEY_PREFIX}{}:{key}", section.prefix());
    if plain.len() <= KEY_MAX && plain.bytes().all(|b| b.is_ascii_graphic()) {
        plain
    } else {
        format!(
            "{KEY_PREFIX}{}#{}",
            section.prefix(),
            super::sha256_hex(key.as_bytes())
        )
    }
}

/// 64-bit FNV-1a: which server has a key (stable everywhere, unlike std's hasher).
fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The index of the server that has `mkey` among `n` servers (`n` > 0).
fn server_index(mkey: &str, n: usize) -> usize {
    let n64 = u64::try_from(n.max(1)).unwrap_or(1);
    usize::try_from(fnv1a(mkey.as_bytes()) % n64).unwrap_or(0)
}

/// memcached's exptime for an entry that expires at `expires_at` (both Unix seconds;
/// `expires_at` > `now`): relative seconds up to 30 days, else the absolute time.
fn exptime(expires_at: i64, now: i64) -> i64 {
    let rel = expires_at.saturating_sub(now);
    if rel <= RELATIVE_EXPTIME_MAX {
        rel.max(1)
    } else {
        expires_at
    }
}

/// One reply line without its `\r\n`, at most [`LINE_MAX`] bytes.
fn read_line(r: &mut impl BufRead) -> Result<String, OpError> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().map_err(io_err)?;
        if buf.is_empty() {
            return Err(OpError::Closed("connection closed by server".into()));
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (buf.get(..=i).unwrap_or(buf), true),
            None => (buf, false),
        };
        let used = chunk.len();
        if line.len() + used > LINE_MAX {
            return Err(OpError::Failed("reply line too long".into()));
        }
        line.extend_from_slice(chunk);
        r.consume(used);
        if done {
            break;
        }
    }
    if !line.ends_with(b"\r\n") {
        return Err(OpError::Failed("reply line not ended by CRLF".into()));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| OpError::Failed("reply line not UTF-8".into()))
}

/// An error reply (`ERROR`, `CLIENT_ERROR ..`, `SERVER_ERROR ..`) or anything unexpected.
fn unexpected(line: &str) -> OpError {
    if line.starts_with("SERVER_ERROR object too large") {
        return OpError::TooLarge;
    }
    let shown: String = line.chars().take(80).collect();
    OpError::Failed(format!("unexpected reply \"{}\"", shown.escape_default()))
}

/// A retrieval reply for `mkey`: `END`, or one `VALUE` (with a cas unique when `with_cas`)
/// then `END`. Sizes are checked before anything is allocated.
fn read_value(
    r: &mut impl BufRead,
    mkey: &str,
    with_cas: bool,
) -> Result<Option<(Vec<u8>, u64)>, OpError> {
    let line = read_line(r)?;
    if line == "END" {
        return Ok(None);
    }
    let bad = || OpError::Failed(format!("malformed VALUE line for {mkey}"));
    let mut parts = line.split(' ');
    if parts.next() != Some("VALUE") {
        return Err(unexpected(&line));
    }
    if parts.next() != Some(mkey) {
        return Err(bad());
    }
    parts
        .next()
        .and_then(|f| f.parse::<u32>().ok())
        .ok_or_else(bad)?;
    let len = parts
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(bad)?;
    let cas = if with_cas {
        parts
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(bad)?
    } else {
        0
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    if len > ITEM_MAX {
        return Err(OpError::Failed(format!("value of {len} bytes too large")));
    }
    let mut data = vec![0u8; len + 2];
    r.read_exact(&mut data).map_err(io_err)?;
    if !data.ends_with(b"\r\n") {
        return Err(OpError::Failed("value not ended by CRLF".into()));
    }
    data.truncate(len);
    let end = read_line(r)?;
    if end != "END" {
        return Err(unexpected(&end));
    }
    Ok(Some((data, cas)))
}

/// A storage command's line plus data block.
fn storage_command(verb: &str, mkey: &str, exptime: i64, data: &[u8], cas: Option<u64>) -> Vec<u8> {
    let mut cmd = match cas {
        Some(c) => format!("{verb} {mkey} 0 {exptime} {} {c}\r\n", data.len()),
        None => format!("{verb} {mkey} 0 {exptime} {}\r\n", data.len()),
    }
    .into_bytes();
    cmd.reserve(data.len() + 2);
    cmd.extend_from_slice(data);
    cmd.extend_from_slice(b"\r\n");
    cmd
}

/// What a storage command answered.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Stored,
    NotStored,
    Exists,
    NotFound,
}

fn read_stored(r: &mut impl BufRead) -> Result<Reply, OpError> {
    let line = read_line(r)?;
    match line.as_str() {
        "STORED" => Ok(Reply::Stored),
        "NOT_STORED" => Ok(Reply::NotStored),
        "EXISTS" => Ok(Reply::Exists),
        "NOT_FOUND" => Ok(Reply::NotFound),
        _ => Err(unexpected(&line)),
    }
}

fn read_deleted(r: &mut impl BufRead) -> Result<bool, OpError> {
    let line = read_line(r)?;
    match line.as_str() {
        "DELETED" => Ok(true),
        "NOT_FOUND" => Ok(false),
        _ => Err(unexpected(&line)),
    }
}

impl Conn {
    fn send(&mut self, cmd: &[u8]) -> Result<(), OpError> {
        let s = self.stream.get_mut();
        s.write_all(cmd).map_err(io_err)?;
        s.flush().map_err(io_err)
    }
}

/// A connection taken from a server's pool; dropping it closes it and frees its slot.
struct Lease<'a> {
    server: &'a Server,
    conn: Option<Conn>,
    pooled: bool,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            let mut p = lock(&self.server.pool);
            p.open = p.open.saturating_sub(1);
            self.server.freed.notify_one();
        }
    }
}

fn lock(m: &Mutex<Pool>) -> MutexGuard<'_, Pool> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl MemcacheCache {
    /// A cache on the servers of `settings`; connects on first use only.
    pub fn new(settings: MemcacheSettings) -> MemcacheCache {
        let servers = settings
            .servers
            .iter()
            .map(|(host, port)| Server {
                host: host.clone(),
                port: *port,
                pool: Mutex::new(Pool {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
            })
            .collect();
        MemcacheCache { settings, servers }
    }

    pub fn settings(&self) -> &MemcacheSettings {
        &self.settings
    }

    fn server_for(&self, mkey: &str) -> Result<&Server, CacheError> {
        self.servers
            .get(server_index(mkey, self.servers.len()))
            .ok_or_else(|| CacheError::Unavailable("memcache: no server configured".into()))
    }

    fn idle_max(&self) -> usize {
        let n = self.settings.smax.or(self.settings.hmax);
        n.and_then(|n| usize::try_from(n).ok())
            .unwrap_or(IDLE_DEFAULT_MAX)
    }

    fn connect(&self, server: &Server) -> Result<Conn, CacheError> {
        let fail = |e: String| {
            CacheError::Unavailable(format!(
                "memcache: cannot connect to {}:{}: {e}",
                server.host, server.port
            ))
        };
        let addrs = (server.host.as_str(), server.port)
            .to_socket_addrs()
            .map_err(|e| fail(e.to_string()))?;
        let mut last = String::from("no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.settings.connect_timeout) {
                Ok(s) => {
                    s.set_read_timeout(Some(self.settings.io_timeout))
                        .map_err(|e| fail(e.to_string()))?;
                    s.set_write_timeout(Some(self.settings.io_timeout))
                        .map_err(|e| fail(e.to_string()))?;
                    let _ = s.set_nodelay(true);
                    return Ok(Conn {
                        stream: BufReader::new(s),
                    });
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(fail(last))
    }

    /// An idle connection of `server`, or a new one when fewer than HMax are open; waits up
    /// to the connect timeout for one to be freed otherwise.
    fn checkout<'a>(&self, server: &'a Server) -> Result<Lease<'a>, CacheError> {
        let deadline = Instant::now() + self.settings.connect_timeout;
        let hmax = self
            .settings
            .hmax
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n > 0);
        let mut p = lock(&server.pool);
        loop {
            // idle connections past OIDCMemCacheConnectionsTTL are closed
            let ttl = self.settings.ttl;
            let before = p.idle.len();
            p.idle.retain(|(_, since)| since.elapsed() < ttl);
            let expired = before - p.idle.len();
            p.open = p.open.saturating_sub(expired);
            if let Some((conn, _)) = p.idle.pop() {
                return Ok(Lease {
                    server,
                    conn: Some(conn),
                    pooled: true,
                });
            }
            if hmax.is_none_or(|h| p.open < h) {
                p.open += 1;
                drop(p);
                return match self.connect(server) {
                    Ok(c) => Ok(Lease {
                        server,
                        conn: Some(c),
                        pooled: false,
                    }),
                    Err(e) => {
                        // the slot taken above is freed
                        let mut p = lock(&server.pool);
                        p.open = p.open.saturating_sub(1);
                        server.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CacheError::Unavailable(format!(
                    "memcache: all {} connections to {}:{} are busy",
                    p.open, server.host, server.port
                )));
            }
            p = match server.freed.wait_timeout(p, left) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn checkin(&self, mut lease: Lease<'_>) {
        if let Some(conn) = lease.conn.take() {
            let mut p = lock(&lease.server.pool);
            if p.idle.len() < self.idle_max() {
                p.idle.push((conn, Instant::now()));
            } else {
                p.open = p.open.saturating_sub(1);
            }
            lease.server.freed.notify_one();
        }
    }

    /// Runs `f` on a connection to the server of `mkey`; the connection goes back to the pool
    /// only when `f` succeeded. A pooled connection the server closed meanwhile (memcached
    /// restarted) is replaced by a new one and `f` runs once more (every command here is safe to
    /// repeat); timeouts are not retried.
    fn with_conn<T>(
        &self,
        mkey: &str,
        mut f: impl FnMut(&mut Conn) -> Result<T, OpError>,
    ) -> Result<T, CacheError> {
        let server = self.server_for(mkey)?;
        let mut lease = self.checkout(server)?;
        let mut out = match lease.conn.as_mut() {
            Some(c) => f(c),
            None => Err(OpError::Failed("no connection".into())),
        };
        if lease.pooled && matches!(out, Err(OpError::Closed(_))) {
            drop(lease);
            lease = self.checkout_new(server)?;
            out = match lease.conn.as_mut() {
                Some(c) => f(c),
                None => Err(OpError::Failed("no connection".into())),
            };
        }
        match out {
            Ok(v) => {
                self.checkin(lease);
                Ok(v)
            }
            Err(OpError::TooLarge) => {
                // memcached swallows the data block, but the connection is not worth trusting
                drop(lease);
                Err(CacheError::TooLarge {
                    size: STORED_MAX + 1,
                    max: VALUE_MAX,
                })
            }
            Err(OpError::Closed(e) | OpError::Failed(e)) => Err(CacheError::Unavailable(format!(
                "memcache {}:{}: {e}",
                server.host, server.port
            ))),
        }
    }

    /// A fresh connection (for the retry: the other idle ones are likely closed as well).
    fn checkout_new<'a>(&self, server: &'a Server) -> Result<Lease<'a>, CacheError> {
        {
            let mut p = lock(&server.pool);
            let n = p.idle.len();
            p.idle.clear();
            p.open = p.open.saturating_sub(n);
        }
        self.checkout(server)
    }
}

impl MemcacheCache {
    /// A storage command (`set`, `add`) for a live entry, its reply read by `answer`.
    #[allow(clippy::too_many_arguments)]
    fn store<T>(
        &self,
        verb: &str,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
        answer: impl Fn(Reply) -> Result<T, OpError>,
    ) -> Result<T, CacheError> {
        let mkey = memcache_key(section, key);
        let cmd = storage_command(
            verb,
            &mkey,
            exptime(expires_at, now),
            &frame(value, expires_at),
            None,
        );
        self.with_conn(&mkey, |c| {
            c.send(&cmd)?;
            answer(read_stored(&mut c.stream)?)
        })
    }
}

fn check_size(value: &[u8]) -> Result<(), CacheError> {
    if value.len() > VALUE_MAX {
        return Err(CacheError::TooLarge {
            size: value.len(),
            max: VALUE_MAX,
        });
    }
    Ok(())
}

impl Cache for MemcacheCache {
    /// Store `value` until `expires_at` only if `key` has no live value; `Ok(true)` when stored
    /// (memcached `add`: atomic across every process and server using this memcached).
    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        check_size(value)?;
        if expires_at <= now {
            return Ok(false);
        }
        self.store(
            "add",
            section,
            key,
            value,
            expires_at,
            now,
            |reply| match reply {
                Reply::Stored => Ok(true),
                Reply::NotStored => Ok(false),
                other => Err(OpError::Failed(format!("add answered {other:?}"))),
            },
        )
    }

    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError> {
        let mkey = memcache_key(section, key);
        let cmd = format!("get {mkey}\r\n");
        let stored = self.with_conn(&mkey, |c| {
            c.send(cmd.as_bytes())?;
            read_value(&mut c.stream, &mkey, false)
        })?;
        Ok(stored
            .and_then(|(v, _)| unframe(v))
            .filter(|e| e.expires_at > now))
    }

    fn set(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<(), CacheError> {
        check_size(value)?;
        if expires_at <= now {
            return self.remove(section, key);
        }
        self.store(
            "set",
            section,
            key,
            value,
            expires_at,
            now,
            |reply| match reply {
                Reply::Stored => Ok(()),
                other => Err(OpError::Failed(format!("set answered {other:?}"))),
            },
        )
    }

    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError> {
        let mkey = memcache_key(section, key);
        let cmd = format!("delete {mkey}\r\n");
        self.with_conn(&mkey, |c| {
            c.send(cmd.as_bytes())?;
            read_deleted(&mut c.stream).map(|_| ())
        })
    }

    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        if expires_at <= now {
            self.remove(section, key)?;
            return Ok(false);
        }
        // The expiry lives in the value's head as well as in the item, so both move together:
        // gets, then cas of the same value with the new head and exptime. A concurrent write
        // (EXISTS) is retried a few times; it is itself a fresh value, so the key is live.
        let mkey = memcache_key(section, key);
        let get = format!("gets {mkey}\r\n");
        self.with_conn(&mkey, |c| {
            for _ in 0..3 {
                c.send(get.as_bytes())?;
                let Some((mut stored, cas)) = read_value(&mut c.stream, &mkey, true)? else {
                    return Ok(false);
                };
                let live = stored
                    .get(..EXPIRY_LEN)
                    .and_then(|h| <[u8; EXPIRY_LEN]>::try_from(h).ok())
                    .map(i64::from_be_bytes)
                    .is_some_and(|old| old > now);
                let Some(head) = stored.get_mut(..EXPIRY_LEN).filter(|_| live) else {
                    return Ok(false);
                };
                head.copy_from_slice(&expires_at.to_be_bytes());
                let cmd =
                    storage_command("cas", &mkey, exptime(expires_at, now), &stored, Some(cas));
                c.send(&cmd)?;
                match read_stored(&mut c.stream)? {
                    Reply::Stored => return Ok(true),
                    Reply::NotFound => return Ok(false),
                    Reply::Exists => continue,
                    Reply::NotStored => {
                        return Err(OpError::Failed("cas answered NotStored".into()));
                    }
                }
            }
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests;
