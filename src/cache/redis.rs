//! `OIDCCacheType redis`: one Redis server shared by several Apache servers, so that a session
//! made at one is good at all of them.
//!
//! Key: `mod_auth_openidc_rs:<section prefix>:<key>` (the `_rs` keeps the C module's keys, of
//! another format, apart). Value: `expires_at` as 8 bytes big-endian, then the value; the key's
//! Redis expiry is the same instant (`SET .. PXAT`/`PEXPIREAT`), so Redis drops it on time and
//! `get` still reports the entry's expiry without a second round trip.
//!
//! Connections live in a small per-process pool, made lazily on first use (so never before
//! httpd forks its children). Each is made with `OIDCRedisCacheConnectTimeout`, gets
//! `OIDCRedisCacheTimeout` as read and write timeout, and then AUTH and SELECT as configured
//! (sent by us, after the timeouts are set, so that a server that accepts but never answers
//! cannot hang a child). A connection that errs is dropped; the next call connects again.
//!
//! Session reads go through a per-process near cache that Redis itself invalidates (see
//! [`near`]): a hot session costs no round trip, and a change made at another server is seen
//! within milliseconds.

use std::sync::Mutex;
use std::time::Duration;

use super::framing::{frame, unframe};
use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

mod near;
pub use near::stop_background_threads;

/// Every key this cache writes starts with this.
pub const KEY_PREFIX: &str = "mod_auth_openidc_rs:";
/// Idle connections kept per process; more concurrent callers connect and then drop theirs.
const POOL_MAX: usize = 4;

/// Where and how to reach the server (from the `OIDCRedisCache*` directives).
#[derive(Clone)]
pub struct RedisSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub database: Option<u32>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `OIDCCacheType redis`.
pub struct RedisCache {
    settings: RedisSettings,
    pool: Mutex<Vec<redis::Connection>>,
    /// Session values read recently, kept while Redis's invalidations are being received.
    near: near::Near,
}

/// The Redis key of `key` in `section`.
pub fn redis_key(section: CacheSection, key: &str) -> String {
    format!("{KEY_PREFIX}{}:{key}", section.prefix())
}

/// `expires_at` (Unix seconds) in Unix milliseconds for PXAT/PEXPIREAT.
fn expiry_ms(expires_at: i64) -> i64 {
    expires_at.saturating_mul(1000)
}

fn unavailable(e: redis::RedisError) -> CacheError {
    CacheError::Unavailable(format!("redis: {e}"))
}

impl RedisCache {
    /// A cache on the server of `settings`; connects on first use only.
    pub fn new(settings: RedisSettings) -> RedisCache {
        RedisCache {
            near: near::Near::new(settings.clone()),
            settings,
            pool: Mutex::new(Vec::new()),
        }
    }

    pub fn settings(&self) -> &RedisSettings {
        &self.settings
    }

    /// After our own write of `section`/`key` (done or failed): no local copy survives it.
    fn forget(&self, section: CacheSection, k: &str) {
        if section == CacheSection::Session {
            self.near.forget(k);
        }
    }

    fn connect(&self) -> Result<redis::Connection, CacheError> {
        let s = &self.settings;
        let info = redis::ConnectionInfo {
            addr: redis::ConnectionAddr::Tcp(s.host.clone(), s.port),
            // no AUTH/SELECT here: the crate would send them before any read timeout is set
            redis: redis::RedisConnectionInfo::default(),
        };
        let client = redis::Client::open(info).map_err(unavailable)?;
        let mut con = client
            .get_connection_with_timeout(s.connect_timeout)
            .map_err(|e| {
                CacheError::Unavailable(format!(
                    "redis: cannot connect to {}:{}: {e}",
                    s.host, s.port
                ))
            })?;
        con.set_read_timeout(Some(s.timeout)).map_err(unavailable)?;
        con.set_write_timeout(Some(s.timeout))
            .map_err(unavailable)?;
        if let Some(pw) = &s.password {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = &s.username {
                auth.arg(user);
            }
            auth.arg(pw);
            auth.query::<()>(&mut con)
                .map_err(|e| CacheError::Unavailable(format!("redis: AUTH failed: {e}")))?;
        }
        if let Some(db) = s.database {
            redis::cmd("SELECT")
                .arg(db)
                .query::<()>(&mut con)
                .map_err(|e| CacheError::Unavailable(format!("redis: SELECT {db} failed: {e}")))?;
        }
        Ok(con)
    }

    /// Runs `f` on a pooled (or new) connection; the connection goes back to the pool only
    /// when `f` succeeded. A pooled connection the server has closed meanwhile (Redis restarted,
    /// idle timeout) is replaced by a new one and `f` runs once more: every command here is
    /// idempotent (GET, SET with an absolute expiry, DEL, the touch script) except `add`'s
    /// SET NX, whose repeat can only answer "not set" (see [`RedisCache::add`]). Timeouts are not
    /// retried, so a call waits at most one connect plus two command timeouts.
    fn with_con<T>(
        &self,
        mut f: impl FnMut(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, CacheError> {
        let pooled = match self.pool.lock() {
            Ok(mut p) => p.pop(),
            Err(poisoned) => poisoned.into_inner().pop(),
        };
        let (con, out) = match pooled {
            Some(mut c) => match f(&mut c) {
                Err(e) if e.is_connection_dropped() => {
                    drop(c);
                    let mut c = self.connect()?;
                    let out = f(&mut c);
                    (c, out)
                }
                out => (c, out),
            },
            None => {
                let mut c = self.connect()?;
                let out = f(&mut c);
                (c, out)
            }
        };
        let out = out.map_err(unavailable)?;
        let mut p = match self.pool.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if p.len() < POOL_MAX {
            p.push(con);
        }
        Ok(out)
    }
}

impl Cache for RedisCache {
    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError> {
        let k = redis_key(section, key);
        let token = if section == CacheSection::Session {
            match self.near.lookup(&k, now) {
                near::Lookup::Hit(entry) => return Ok(Some(entry)),
                near::Lookup::Miss(token) => token,
            }
        } else {
            None
        };
        let stored: Option<Vec<u8>> = self.with_con(|c| redis::cmd("GET").arg(&k).query(c))?;
        let entry = stored.and_then(unframe).filter(|e| e.expires_at > now);
        if let Some(e) = &entry {
            self.near.offer(token, &k, e);
        }
        Ok(entry)
    }

    fn set(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<(), CacheError> {
        let k = redis_key(section, key);
        let out = if expires_at <= now {
            self.with_con(|c| redis::cmd("DEL").arg(&k).query(c))
        } else {
            let v = frame(value, expires_at);
            self.with_con(|c| {
                redis::cmd("SET")
                    .arg(&k)
                    .arg(v.as_slice())
                    .arg("PXAT")
                    .arg(expiry_ms(expires_at))
                    .query(c)
            })
        };
        self.forget(section, &k);
        out
    }

    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError> {
        let k = redis_key(section, key);
        let out = self.with_con(|c| redis::cmd("DEL").arg(&k).query(c));
        self.forget(section, &k);
        out
    }

    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        // One script: the stored expiry (the value's first 8 bytes) and the key's Redis
        // expiry move together, and only if the key is still there.
        let k = redis_key(section, key);
        if expires_at <= now {
            self.remove(section, key)?;
            return Ok(false);
        }
        let head = expires_at.to_be_bytes();
        let touched: Result<i64, CacheError> = self.with_con(|c| {
            redis::cmd("EVAL")
                .arg(TOUCH_SCRIPT)
                .arg(1)
                .arg(&k)
                .arg(&head[..])
                .arg(expiry_ms(expires_at))
                .query(c)
        });
        // the stored expiry head changed: the local copy is out of date
        self.forget(section, &k);
        Ok(touched? == 1)
    }

    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        // SET NX PXAT: Redis drops keys at their expiry, so "absent" includes "expired". Should
        // a dropped connection make `with_con` send it twice, the second answer is "not set":
        // the caller then believes another holds the lock, never that two do.
        if expires_at <= now {
            return Ok(false);
        }
        let k = redis_key(section, key);
        let v = frame(value, expires_at);
        let reply: Option<String> = self.with_con(|c| {
            redis::cmd("SET")
                .arg(&k)
                .arg(v.as_slice())
                .arg("NX")
                .arg("PXAT")
                .arg(expiry_ms(expires_at))
                .query(c)
        })?;
        Ok(reply.is_some())
    }
}

/// KEYS[1]: the key; ARGV[1]: the new expiry as the value's 8-byte head; ARGV[2]: the same
/// in Unix milliseconds.
const TOUCH_SCRIPT: &str = "if redis.call('STRLEN', KEYS[1]) >= 8 then \
     redis.call('SETRANGE', KEYS[1], 0, ARGV[1]) \
     redis.call('PEXPIREAT', KEYS[1], ARGV[2]) return 1 else return 0 end";

#[cfg(test)]
mod tests;
