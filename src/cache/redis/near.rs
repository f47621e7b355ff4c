//! The near cache of [`RedisCache`](super::RedisCache): a per-process copy of recently read
//! session values that Redis itself invalidates (Redis >= 6 client-side caching, broadcast mode).
//!
//! A tracker thread per cache holds its own connection (plain `TcpStream` and the small RESP
//! reader below, not the `redis` crate, whose reader skips a message after a read timeout) on
//! which it sends `CLIENT ID`, `CLIENT TRACKING ON REDIRECT <id> BCAST PREFIX
//! mod_auth_openidc_rs:s:` and `SUBSCRIBE __redis__:invalidate`. From then on every change of a
//! session key by any client (SET, DEL, EXPIRE, expiry, eviction, FLUSH*) arrives on that
//! connection as a `message` with the keys (nil: everything), and the tracker drops them here.
//!
//! Trust rules:
//! - Entries are served only while the tracker is *healthy* (its SUBSCRIBE was confirmed and
//!   the connection answers a PING within `OIDCRedisCacheTimeout` after a quiet second), and
//!   only for [`MAX_AGE`] after they were read (defence in depth).
//! - Every invalidation and every change of health bumps a generation counter; a value read
//!   from Redis is kept only if the generation did not move while it was read, so an
//!   invalidation racing the GET leaves no stale copy behind.
//! - When the tracker loses its connection (EOF, error, garbage, no pong in time) it empties the
//!   map before anything else and reconnects every second; meanwhile every get goes to Redis.
//!
//! [`stop_background_threads`] stops every tracker of the process (Apache child exit).

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::RedisSettings;
use crate::deps::CacheEntry;

/// The keys the tracker watches: the session section of [`super::KEY_PREFIX`].
pub const TRACKED_PREFIX: &str = "mod_auth_openidc_rs:s:";
const CHANNEL: &[u8] = b"__redis__:invalidate";
/// Entries kept; when full, an arbitrary one goes.
pub const MAX_ENTRIES: usize = 2000;
/// Bytes of values kept (sessions are a few KiB; this bounds a child's memory).
pub const MAX_BYTES: usize = 8 << 20;
/// An entry older than this is read from Redis again even if no invalidation came.
pub const MAX_AGE: Duration = Duration::from_secs(30);
/// How often the tracker's read wakes up to check the stop flag and its PING deadline.
const TICK: Duration = Duration::from_millis(250);
/// Silence on the tracker connection after which it sends a PING.
const QUIET: Duration = Duration::from_secs(1);
/// Pause between reconnect attempts.
const BACKOFF: Duration = Duration::from_secs(1);
/// The tracker's connect timeout is at most this (it retries forever anyway, and a stop must
/// not wait for a long connect).
const CONNECT_MAX: Duration = Duration::from_secs(1);
/// How long [`stop_background_threads`] waits for the trackers.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// RESP reader limits: a frame beyond them is garbage (the tracker reconnects and the near
/// cache starts empty, which is always safe).
const MAX_BULK: usize = 64 << 10;
const MAX_ARRAY: usize = 1 << 16;
const MAX_DEPTH: usize = 4;
const MAX_LINE: usize = 4096;
const MAX_BUFFER: usize = 4 << 20;
const READ_CHUNK: usize = 64 << 10;

struct NearEntry {
    entry: CacheEntry,
    stored_at: Instant,
}

#[derive(Default)]
struct NearState {
    healthy: bool,
    generation: u64,
    map: HashMap<String, NearEntry>,
    bytes: usize,
}

impl NearState {
    fn remove(&mut self, key: &str) {
        if let Some(old) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(cost(key, &old.entry));
        }
    }
    fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }
    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
}

fn cost(key: &str, entry: &CacheEntry) -> usize {
    key.len() + entry.value.len() + 64
}

struct Shared {
    settings: RedisSettings,
    state: Mutex<NearState>,
    stop: AtomicBool,
    /// The process that started the tracker (0: not started). A forked copy of a process
    /// with a running tracker has no tracker thread, so it must not trust the map.
    owner_pid: AtomicU32,
    /// A clone of the tracker's socket, so that a stop can wake its blocked read.
    socket: Mutex<Option<TcpStream>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Shared {
    fn set_healthy(&self, healthy: bool) {
        let mut st = lock(&self.state);
        st.clear();
        st.bump();
        st.healthy = healthy;
    }

    fn invalidate(&self, keys: Option<&[Vec<u8>]>) {
        let mut st = lock(&self.state);
        match keys {
            None => st.clear(),
            Some(keys) => {
                for k in keys {
                    if let Ok(k) = std::str::from_utf8(k) {
                        st.remove(k);
                    }
                }
            }
        }
        st.bump();
    }

    /// Asks the thread to stop and wakes its read; does not wait.
    fn signal_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(s) = lock(&self.socket).as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Every tracker of this process, for [`stop_background_threads`].
static TRACKERS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Stops the tracker threads of every Redis near cache of this process and waits for them (up
/// to about 2 s in all). Afterwards the near caches serve nothing; gets go to Redis.
pub fn stop_background_threads() {
    stop_trackers(|_| true);
}

/// Stops (and unregisters) the registered trackers `which` selects.
fn stop_trackers(which: impl Fn(&Arc<Shared>) -> bool) {
    let trackers: Vec<Arc<Shared>> = {
        let mut reg = lock(&TRACKERS);
        let mut chosen = Vec::new();
        reg.retain(|w| match w.upgrade() {
            Some(t) if which(&t) => {
                chosen.push(t);
                false
            }
            Some(_) => true,
            None => false,
        });
        chosen
    };
    for t in &trackers {
        t.signal_stop();
    }
    let deadline = Instant::now() + STOP_WAIT;
    for t in &trackers {
        join_until(t, deadline);
    }
}

fn join_until(shared: &Shared, deadline: Instant) {
    let Some(handle) = lock(&shared.thread).take() else {
        return;
    };
    while !handle.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if handle.is_finished() {
        let _ = handle.join();
    }
}

/// What a lookup found.
pub enum Lookup {
    Hit(CacheEntry),
    /// Not here: read Redis, then offer the value with this token (`None`: do not keep it).
    Miss(Option<u64>),
}

/// The near cache of one [`RedisCache`](super::RedisCache).
pub struct Near {
    shared: Arc<Shared>,
}

impl Near {
    pub fn new(settings: RedisSettings) -> Near {
        Near {
            shared: Arc::new(Shared {
                settings,
                state: Mutex::new(NearState::default()),
                stop: AtomicBool::new(false),
                owner_pid: AtomicU32::new(0),
                socket: Mutex::new(None),
                thread: Mutex::new(None),
            }),
        }
    }

    /// Starts the tracker on first use in this process; false if this process must not use
    /// the map (a fork of the process that started it, or the thread could not be made).
    fn ensure_started(&self) -> bool {
        let pid = std::process::id();
        match self.shared.owner_pid.load(Ordering::Acquire) {
            0 => {}
            owner => return owner == pid,
        }
        match self
            .shared
            .owner_pid
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {
                let shared = Arc::clone(&self.shared);
                let spawned = std::thread::Builder::new()
                    .name("oidc-redis-near".into())
                    .spawn(move || run(&shared));
                match spawned {
                    Ok(handle) => {
                        *lock(&self.shared.thread) = Some(handle);
                        let mut reg = lock(&TRACKERS);
                        reg.retain(|w| w.strong_count() > 0);
                        reg.push(Arc::downgrade(&self.shared));
                        true
                    }
                    Err(_) => false,
                }
            }
            Err(owner) => owner == pid,
        }
    }

    /// The entry of `key` (a full Redis key) if it may be served without Redis.
    pub fn lookup(&self, key: &str, now: i64) -> Lookup {
        if !self.ensure_started() || self.shared.stopped() {
            return Lookup::Miss(None);
        }
        let mut st = lock(&self.shared.state);
        if !st.healthy {
            return Lookup::Miss(None);
        }
        match st.map.get(key) {
            Some(e) if e.stored_at.elapsed() < MAX_AGE && e.entry.expires_at > now => {
                return Lookup::Hit(e.entry.clone());
            }
            Some(_) => st.remove(key),
            None => {}
        }
        Lookup::Miss(Some(st.generation))
    }

    /// Keeps `entry`, read from Redis after [`lookup`](Self::lookup) gave `token`, unless
    /// something was invalidated (or the tracker's health changed) meanwhile.
    pub fn offer(&self, token: Option<u64>, key: &str, entry: &CacheEntry) {
        let Some(generation) = token else {
            return;
        };
        let c = cost(key, entry);
        if c > MAX_BYTES / 4 {
            return;
        }
        let mut st = lock(&self.shared.state);
        if !st.healthy || st.generation != generation || self.shared.stopped() {
            return;
        }
        st.remove(key);
        while st.map.len() >= MAX_ENTRIES || st.bytes + c > MAX_BYTES {
            let Some(victim) = st.map.keys().next().cloned() else {
                break;
            };
            st.remove(&victim);
        }
        st.map.insert(
            key.to_string(),
            NearEntry {
                entry: entry.clone(),
                stored_at: Instant::now(),
            },
        );
        st.bytes += c;
    }

    /// Our own write of `key`: the local copy goes (Redis's invalidation follows anyway), and
    /// a read racing this write is not kept.
    pub fn forget(&self, key: &str) {
        let mut st = lock(&self.shared.state);
        st.remove(key);
        st.bump();
    }

    /// Whether the tracker is connected and subscribed (tests).
    #[cfg(test)]
    pub fn healthy(&self) -> bool {
        lock(&self.shared.state).healthy
    }

    /// Entries held (tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.shared.state).map.len()
    }

    /// Stops this tracker through the registry, as [`stop_background_threads`] does for all
    /// (tests: the real one would stop the trackers of the tests running beside).
    #[cfg(test)]
    pub fn stop_via_registry(&self) {
        stop_trackers(|t| Arc::ptr_eq(t, &self.shared));
    }

    /// Healthy without a tracker (tests of the map rules alone).
    #[cfg(test)]
    pub fn force_healthy(&self) {
        self.shared
            .owner_pid
            .store(std::process::id(), Ordering::SeqCst);
        self.shared.set_healthy(true);
    }

    /// What the tracker does on an invalidation message (tests).
    #[cfg(test)]
    pub fn invalidate(&self, keys: Option<&[Vec<u8>]>) {
        self.shared.invalidate(keys);
    }

    /// Whether the tracker thread has ended (tests).
    #[cfg(test)]
    pub fn thread_finished(&self) -> bool {
        lock(&self.shared.thread)
            .as_ref()
            .is_none_or(|h| h.is_finished())
    }
}

impl Drop for Near {
    fn drop(&mut self) {
        self.shared.signal_stop();
        if self.shared.owner_pid.load(Ordering::SeqCst) == std::process::id() {
            join_until(&self.shared, Instant::now() + STOP_WAIT);
        }
    }
}

/// The tracker thread: connect, subscribe, apply invalidations; on any failure mark the near
/// cache unhealthy (emptying it) and try again after [`BACKOFF`], until stopped.
fn run(shared: &Shared) {
    while !shared.stopped() {
        let _failure = track(shared);
        shared.set_healthy(false);
        *lock(&shared.socket) = None;
        let until = Instant::now() + BACKOFF;
        while !shared.stopped() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    shared.set_healthy(false);
}

/// One tracker connection, until it fails or the tracker is stopped.
fn track(shared: &Shared) -> Result<(), String> {
    let s = &shared.settings;
    let mut stream = connect(&s.host, s.port, s.connect_timeout.min(CONNECT_MAX))?;
    *lock(&shared.socket) = Some(stream.try_clone().map_err(|e| e.to_string())?);
    if shared.stopped() {
        return Ok(());
    }
    let _ = stream.set_nodelay(true);
    stream
        .set_write_timeout(Some(s.timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(TICK))
        .map_err(|e| e.to_string())?;
    let mut reader = Reader::default();

    // AUTH, CLIENT ID
    let deadline = Instant::now() + s.timeout;
    if let Some(pw) = &s.password {
        let mut auth: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(user) = &s.username {
            auth.push(user.as_bytes());
        }
        auth.push(pw.as_bytes());
        send(&mut stream, &auth)?;
        expect_ok(reader.reply(&mut stream, shared, deadline)?)?;
    }
    send(&mut stream, &[b"CLIENT", b"ID"])?;
    let id = match reader.reply(&mut stream, shared, deadline)? {
        Value::Int(id) => id,
        other => return Err(format!("CLIENT ID: unexpected reply {other:?}")),
    };
    let id = id.to_string();
    send(
        &mut stream,
        &[
            b"CLIENT",
            b"TRACKING",
            b"ON",
            b"REDIRECT",
            id.as_bytes(),
            b"BCAST",
            b"PREFIX",
            TRACKED_PREFIX.as_bytes(),
        ],
    )?;
    expect_ok(reader.reply(&mut stream, shared, deadline)?)?;
    send(&mut stream, &[b"SUBSCRIBE", CHANNEL])?;
    match reader.reply(&mut stream, shared, deadline)? {
        Value::Array(Some(items)) if matches!(items.first(), Some(Value::Bulk(Some(k))) if k == b"subscribe") =>
            {}
        other => return Err(format!("SUBSCRIBE: unexpected reply {other:?}")),
    }
    shared.set_healthy(true);

    let mut last_rx = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    loop {
        if shared.stopped() {
            return Ok(());
        }
        if let Some(v) = reader.poll(&mut stream)? {
            last_rx = Instant::now();
            match classify(v)? {
                Message::Invalidate(keys) => shared.invalidate(keys.as_deref()),
                Message::Pong => ping_sent = None,
                Message::Other => {}
            }
            continue;
        }
        match ping_sent {
            Some(t) if t.elapsed() > s.timeout => return Err("no answer to PING".into()),
            Some(_) => {}
            None if last_rx.elapsed() >= QUIET => {
                send(&mut stream, &[b"PING"])?;
                ping_sent = Some(Instant::now());
            }
            None => {}
        }
    }
}

fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}:{port}: {e}"))?;
    let mut last = format!("{host}:{port}: no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// Writes one command as a RESP array of bulk strings.
fn send(stream: &mut TcpStream, args: &[&[u8]]) -> Result<(), String> {
    stream
        .write_all(&encode(args))
        .map_err(|e| format!("write: {e}"))
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn expect_ok(v: Value) -> Result<(), String> {
    match v {
        Value::Simple(s) if s == b"OK" => Ok(()),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// A RESP2 value as the tracker sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Value {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

pub enum Message {
    /// Keys to drop; `None`: drop everything.
    Invalidate(Option<Vec<Vec<u8>>>),
    Pong,
    Other,
}

/// What a value on the subscribed connection means; an error reply or anything unexpected is
/// a failure (the tracker reconnects).
pub fn classify(v: Value) -> Result<Message, String> {
    match v {
        Value::Array(Some(items)) => {
            let mut it = items.into_iter();
            let kind = match it.next() {
                Some(Value::Bulk(Some(k))) => k,
                other => return Err(format!("unexpected push {other:?}")),
            };
            match kind.as_slice() {
                b"message" => {
                    match it.next() {
                        Some(Value::Bulk(Some(c))) if c == CHANNEL => {}
                        other => return Err(format!("message on an unexpected channel {other:?}")),
                    }
                    Ok(Message::Invalidate(match it.next() {
                        Some(Value::Array(Some(keys))) => {
                            let mut out = Vec::with_capacity(keys.len());
                            for k in keys {
                                match k {
                                    Value::Bulk(Some(k)) => out.push(k),
                                    // not a key: be safe, drop everything
                                    _ => return Ok(Message::Invalidate(None)),
                                }
                            }
                            Some(out)
                        }
                        Some(Value::Bulk(Some(k))) => Some(vec![k]),
                        // nil (a flush) or anything else: drop everything
                        _ => None,
                    }))
                }
                b"pong" => Ok(Message::Pong),
                b"subscribe" => Ok(Message::Other),
                _ => Err(format!(
                    "unexpected push {:?}",
                    String::from_utf8_lossy(&kind)
                )),
            }
        }
        Value::Simple(s) if s.eq_ignore_ascii_case(b"PONG") => Ok(Message::Pong),
        Value::Error(e) => Err(format!("error: {}", String::from_utf8_lossy(&e))),
        other => Err(format!("unexpected value {other:?}")),
    }
}

/// A buffered RESP reader; partial frames stay in the buffer until the rest arrives.
#[derive(Default)]
pub struct Reader {
    buf: Vec<u8>,
    chunk: Vec<u8>,
}

impl Reader {
    /// The next complete value, `None` if none arrived within the stream's read timeout.
    fn poll(&mut self, stream: &mut impl Read) -> Result<Option<Value>, String> {
        if let Some(v) = self.take()? {
            return Ok(Some(v));
        }
        self.chunk.resize(READ_CHUNK, 0);
        match stream.read(&mut self.chunk) {
            Ok(0) => Err("connection closed".into()),
            Ok(n) => {
                self.buf
                    .extend_from_slice(self.chunk.get(..n).unwrap_or(&[]));
                if self.buf.len() > MAX_BUFFER {
                    return Err("reply too large".into());
                }
                self.take()
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// A reply to a handshake command, by `deadline`.
    fn reply(
        &mut self,
        stream: &mut TcpStream,
        shared: &Shared,
        deadline: Instant,
    ) -> Result<Value, String> {
        loop {
            if let Some(v) = self.poll(stream)? {
                return match v {
                    Value::Error(e) => Err(format!("error: {}", String::from_utf8_lossy(&e))),
                    v => Ok(v),
                };
            }
            if shared.stopped() {
                return Err("stopped".into());
            }
            if Instant::now() >= deadline {
                return Err("no reply in time".into());
            }
        }
    }

    /// Parses one value off the front of the buffer.
    fn take(&mut self) -> Result<Option<Value>, String> {
        match parse(&self.buf, 0)? {
            Some((v, used)) => {
                self.buf.drain(..used.min(self.buf.len()));
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }

    /// Feeds bytes directly (tests).
    #[cfg(test)]
    pub fn feed_and_take(&mut self, bytes: &[u8]) -> Result<Option<Value>, String> {
        self.buf.extend_from_slice(bytes);
        self.take()
    }
}

/// One RESP value at the start of `buf`: `Ok(None)` if incomplete, `Err` if malformed or beyond
/// the limits; otherwise the value and the bytes it took.
pub fn parse(buf: &[u8], depth: usize) -> Result<Option<(Value, usize)>, String> {
    let Some(line_end) = find_crlf(buf) else {
        if buf.len() > MAX_LINE {
            return Err("header line too long".into());
        }
        return Ok(None);
    };
    let (Some(&kind), Some(line)) = (buf.first(), buf.get(1..line_end)) else {
        return Err("empty header line".into());
    };
    let after = line_end + 2;
    match kind {
        b'+' => Ok(Some((Value::Simple(line.to_vec()), after))),
        b'-' => Ok(Some((Value::Error(line.to_vec()), after))),
        b':' => Ok(Some((Value::Int(number(line)?), after))),
        b'$' => {
            let n = number(line)?;
            if n == -1 {
                return Ok(Some((Value::Bulk(None), after)));
            }
            let n = usize::try_from(n).map_err(|_| "negative bulk length".to_string())?;
            if n > MAX_BULK {
                return Err("bulk string too long".into());
            }
            let end = after + n;
            let Some(tail) = buf.get(end..end + 2) else {
                return Ok(None);
            };
            if tail != b"\r\n" {
                return Err("bulk string not terminated".into());
            }
            let data = buf.get(after..end).unwrap_or(&[]).to_vec();
            Ok(Some((Value::Bulk(Some(data)), end + 2)))
        }
        b'*' => {
            let n = number(line)?;
            if n == -1 {
                return Ok(Some((Value::Array(None), after)));
            }
            let n = usize::try_from(n).map_err(|_| "negative array length".to_string())?;
            if n > MAX_ARRAY {
                return Err("array too long".into());
            }
            if depth >= MAX_DEPTH {
                return Err("arrays nested too deep".into());
            }
            let mut items = Vec::with_capacity(n.min(1024));
            let mut pos = after;
            for _ in 0..n {
                let Some(rest) = buf.get(pos..) else {
                    return Ok(None);
                };
                match parse(rest, depth + 1)? {
                    Some((v, used)) => {
                        items.push(v);
                        pos += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Value::Array(Some(items)), pos)))
        }
        other => Err(format!("unknown RESP type byte {other:#04x}")),
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).take(MAX_LINE + 1).position(|w| w == b"\r\n")
}

fn number(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(line)))
}
