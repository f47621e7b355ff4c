//! `OIDCCacheType file`: one file per key in `OIDCCacheDir`.
//!
//! File name: `mod-auth-openidc-rs-<section>-<hex(sha256(key))>` (never the raw key; the `-rs`
//! keeps the C module's files, of another format, out of our clean pass). Content:
//!
//! ```text
//! "OIDCRSF1" | expires_at i64 LE | value length u64 LE | value
//! ```
//!
//! Writes go to a fresh temporary file (`O_EXCL`, mode 0600) renamed over the target, so a
//! reader sees the old or the new file, never a partial one. Reads refuse symlinks and files not
//! owned by this process's user or readable by others (a shared `/tmp` lets other local users
//! plant files under predictable names, e.g. for provider metadata keyed by URL). Expired files
//! are removed on read, and by a pass over the directory at most once per
//! `OIDCCacheFileCleanInterval` seconds, started from `set` and coordinated between processes by
//! a marker file holding the time of the last pass.
//!
//! `add` creates the target with `link(2)` from a complete temporary file, which fails when the
//! name exists: one creator wins. An expired file is replaced under an exclusive `flock` on a
//! lock file that the clean pass holds too; expired [`CacheSection::Lock`] files are not removed
//! on read, so that only lock holders remove them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{FileExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use crate::deps::{Cache, CacheEntry, CacheError, CacheSection};

/// Every file this cache writes starts with this.
pub const FILE_PREFIX: &str = "mod-auth-openidc-rs-";
/// `OIDCCacheFileCleanInterval` default, seconds.
pub const DEFAULT_CLEAN_INTERVAL: i64 = 60;

const MAGIC: &[u8; 8] = b"OIDCRSF1";
const HEADER_LEN: usize = 24;
/// Larger values are refused (a cache file is a session or a provider document).
const VALUE_MAX: usize = 16 * 1024 * 1024;
const MARKER: &str = "mod-auth-openidc-rs-last-cleaned";
/// Held (`flock`) while an expired file is replaced by `add` and during a clean pass, so that
/// neither removes a file another process has just created.
const ADD_LOCK: &str = "mod-auth-openidc-rs-add-lock";
const TMP_SUFFIX: &str = ".tmp";
/// Temporary files older than this are leftovers of a crashed writer.
const TMP_MAX_AGE: Duration = Duration::from_secs(3600);

/// `OIDCCacheType file`.
pub struct FileCache {
    dir: PathBuf,
    clean_interval: i64,
    /// Before this time (Unix seconds) this process does not even look at the marker file.
    next_clean: AtomicI64,
    /// The owner of files this process creates (learnt from a probe file), to recognise ours.
    own_uid: OnceLock<u32>,
}

fn unavailable(what: &str, path: &Path, e: io::Error) -> CacheError {
    CacheError::Unavailable(format!("{what} {}: {e}", path.display()))
}

/// Parses the header of a cache file of `file_len` bytes: (expires_at, value length), or `None`
/// when it is not a well-formed cache file.
fn parse_header(h: &[u8], file_len: u64) -> Option<(i64, usize)> {
    let magic = h.get(..8)?;
    let expires_at = i64::from_le_bytes(h.get(8..16)?.try_into().ok()?);
    let len = u64::from_le_bytes(h.get(16..24)?.try_into().ok()?);
    if magic != MAGIC || len > VALUE_MAX as u64 || file_len != HEADER_LEN as u64 + len {
        return None;
    }
    Some((expires_at, len as usize))
}

impl FileCache {
    /// A cache in `dir`, cleaned at most once per `clean_interval` seconds. Fails when `dir` is
    /// not a readable directory.
    pub fn new(dir: impl Into<PathBuf>, clean_interval: i64) -> Result<FileCache, CacheError> {
        let dir = dir.into();
        fs::read_dir(&dir).map_err(|e| unavailable("cannot read cache directory", &dir, e))?;
        Ok(FileCache {
            dir,
            clean_interval: clean_interval.max(0),
            next_clean: AtomicI64::new(i64::MIN),
            own_uid: OnceLock::new(),
        })
    }

    /// The `OIDCCacheDir` default: the system temporary directory.
    pub fn default_dir() -> PathBuf {
        std::env::temp_dir()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `key` of `section`.
    pub fn path_of(&self, section: CacheSection, key: &str) -> PathBuf {
        self.dir.join(format!(
            "{FILE_PREFIX}{}-{}",
            section.prefix(),
            super::sha256_hex(key.as_bytes())
        ))
    }

    /// Creates a fresh file next to `target` (`O_EXCL`, mode 0600, no symlinks followed).
    fn create_temp(&self, target: &Path) -> Result<(PathBuf, File), CacheError> {
        let rnd = crate::crypto::random_token(12)
            .map_err(|_| CacheError::Unavailable("no randomness for a temporary name".into()))?;
        let mut name = target.as_os_str().to_owned();
        name.push(format!(".{rnd}{TMP_SUFFIX}"));
        let tmp = PathBuf::from(name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(|e| unavailable("cannot create", &tmp, e))?;
        Ok((tmp, file))
    }

    /// The uid of files this process creates in the directory.
    fn own_uid(&self) -> Result<u32, CacheError> {
        if let Some(uid) = self.own_uid.get() {
            return Ok(*uid);
        }
        let (tmp, file) = self.create_temp(&self.dir.join(format!("{FILE_PREFIX}probe")))?;
        let meta = file.metadata();
        let _ = fs::remove_file(&tmp);
        let uid = meta.map_err(|e| unavailable("cannot stat", &tmp, e))?.uid();
        Ok(*self.own_uid.get_or_init(|| uid))
    }

    /// Opens an existing cache file for reading (and writing when `write`): `Ok(None)` when
    /// absent, or not a regular file of ours (those are left alone, and count as absent).
    fn open_ours(&self, path: &Path, write: bool) -> Result<Option<(File, u64)>, CacheError> {
        let opened = OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path);
        let file = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            // ELOOP: a symlink planted under our name.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
            Err(e) => return Err(unavailable("cannot open", path, e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| unavailable("cannot stat", path, e))?;
        if !meta.is_file() || meta.mode() & 0o077 != 0 || meta.uid() != self.own_uid()? {
            return Ok(None);
        }
        Ok(Some((file, meta.len())))
    }

    /// Removes `path` if it is still the file `file` (not one renamed over it meanwhile).
    fn remove_if_same(path: &Path, file: &File) {
        if let (Ok(open), Ok(now)) = (file.metadata(), fs::symlink_metadata(path))
            && open.ino() == now.ino()
            && open.dev() == now.dev()
        {
            let _ = fs::remove_file(path);
        }
    }

    /// Runs [`FileCache::clean`] when the last pass (by any process) is `clean_interval` old.
    fn clean_if_due(&self, now: i64) {
        if now < self.next_clean.load(Ordering::Relaxed) {
            return;
        }
        let marker = self.dir.join(MARKER);
        let last = self
            .open_ours(&marker, false)
            .ok()
            .flatten()
            .and_then(|(mut f, len)| {
                let mut s = String::new();
                (len < 32 && f.read_to_string(&mut s).is_ok()).then_some(s)
            })
            .and_then(|s| s.trim().parse::<i64>().ok());
        if let Some(last) = last
            && now < last.saturating_add(self.clean_interval)
            && last <= now
        {
            self.next_clean
                .store(last.saturating_add(self.clean_interval), Ordering::Relaxed);
            return;
        }
        self.next_clean
            .store(now.saturating_add(self.clean_interval), Ordering::Relaxed);
        if self
            .write_atomically(&marker, now.to_string().as_bytes())
            .is_ok()
        {
            let _ = self.clean(now);
        }
    }

    /// Removes every expired or malformed cache file and stale temporary file of ours; returns
    /// how many files were removed.
    pub fn clean(&self, now: i64) -> Result<usize, CacheError> {
        let _guard = self.add_lock()?;
        let entries =
            fs::read_dir(&self.dir).map_err(|e| unavailable("cannot read", &self.dir, e))?;
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(FILE_PREFIX) || name == MARKER || name == ADD_LOCK {
                continue;
            }
            let path = entry.path();
            if name.ends_with(TMP_SUFFIX) {
                let stale = fs::symlink_metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > TMP_MAX_AGE);
                if stale && fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
                continue;
            }
            let Ok(Some((file, len))) = self.open_ours(&path, false) else {
                continue;
            };
            let mut h = [0u8; HEADER_LEN];
            let live = file.read_exact_at(&mut h, 0).is_ok()
                && parse_header(&h, len).is_some_and(|(exp, _)| exp > now);
            if !live {
                Self::remove_if_same(&path, &file);
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The exclusive `flock` on [`ADD_LOCK`], released when the file is dropped.
    fn add_lock(&self) -> Result<File, CacheError> {
        let path = self.dir.join(ADD_LOCK);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| unavailable("cannot open", &path, e))?;
        file.lock()
            .map_err(|e| unavailable("cannot lock", &path, e))?;
        Ok(file)
    }

    /// The file content of `value` until `expires_at`.
    fn content(value: &[u8], expires_at: i64) -> Result<Vec<u8>, CacheError> {
        if value.len() > VALUE_MAX {
            return Err(CacheError::TooLarge {
                size: value.len(),
                max: VALUE_MAX,
            });
        }
        let mut content = Vec::with_capacity(HEADER_LEN + value.len());
        content.extend_from_slice(MAGIC);
        content.extend_from_slice(&expires_at.to_le_bytes());
        content.extend_from_slice(&(value.len() as u64).to_le_bytes());
        content.extend_from_slice(value);
        Ok(content)
    }

    /// Whether `path` holds a live file of ours at `now`; a foreign or malformed file counts as
    /// not live.
    fn is_live(&self, path: &Path, now: i64) -> Result<Option<(File, bool)>, CacheError> {
        let Some((file, len)) = self.open_ours(path, false)? else {
            return Ok(None);
        };
        let mut h = [0u8; HEADER_LEN];
        let live = file.read_exact_at(&mut h, 0).is_ok()
            && parse_header(&h, len).is_some_and(|(exp, _)| exp > now);
        Ok(Some((file, live)))
    }

    /// Links the complete temporary file `tmp` to `path`: false when `path` exists.
    fn link_new(tmp: &Path, path: &Path) -> Result<bool, CacheError> {
        match fs::hard_link(tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(unavailable("cannot link to", path, e)),
        }
    }

    fn add_file(&self, tmp: &Path, path: &Path, now: i64) -> Result<bool, CacheError> {
        if Self::link_new(tmp, path)? {
            return Ok(true);
        }
        let _guard = self.add_lock()?;
        match self.is_live(path, now)? {
            Some((_, true)) => return Ok(false),
            Some((file, false)) => Self::remove_if_same(path, &file),
            // Absent now, or a file we may not touch (not ours: link fails again below).
            None => {}
        }
        Self::link_new(tmp, path)
    }

    /// Writes `content` to `path` through a temporary file and a rename.
    fn write_atomically(&self, path: &Path, content: &[u8]) -> Result<(), CacheError> {
        let (tmp, mut file) = self.create_temp(path)?;
        let written = file
            .write_all(content)
            .map_err(|e| unavailable("cannot write", &tmp, e))
            .and_then(|()| {
                fs::rename(&tmp, path).map_err(|e| unavailable("cannot rename to", path, e))
            });
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }
}

impl Cache for FileCache {
    fn get(
        &self,
        section: CacheSection,
        key: &str,
        now: i64,
    ) -> Result<Option<CacheEntry>, CacheError> {
        let path = self.path_of(section, key);
        let Some((file, len)) = self.open_ours(&path, false)? else {
            return Ok(None);
        };
        let mut h = [0u8; HEADER_LEN];
        let header = file
            .read_exact_at(&mut h, 0)
            .ok()
            .and(parse_header(&h, len));
        let Some((expires_at, val_len)) = header else {
            Self::remove_if_same(&path, &file);
            return Ok(None);
        };
        if expires_at <= now {
            // Expired locks are replaced by `add` only (see the module documentation).
            if section != CacheSection::Lock {
                Self::remove_if_same(&path, &file);
            }
            return Ok(None);
        }
        let mut value = vec![0u8; val_len];
        file.read_exact_at(&mut value, HEADER_LEN as u64)
            .map_err(|e| unavailable("cannot read", &path, e))?;
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
        let content = Self::content(value, expires_at)?;
        self.clean_if_due(now);
        self.write_atomically(&self.path_of(section, key), &content)
    }

    fn add(
        &self,
        section: CacheSection,
        key: &str,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        let content = Self::content(value, expires_at)?;
        self.clean_if_due(now);
        let path = self.path_of(section, key);
        let (tmp, mut file) = self.create_temp(&path)?;
        let added = file
            .write_all(&content)
            .map_err(|e| unavailable("cannot write", &tmp, e))
            .and_then(|()| self.add_file(&tmp, &path, now));
        let _ = fs::remove_file(&tmp);
        added
    }

    fn remove(&self, section: CacheSection, key: &str) -> Result<(), CacheError> {
        let path = self.path_of(section, key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable("cannot remove", &path, e)),
        }
    }

    fn touch(
        &self,
        section: CacheSection,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, CacheError> {
        let path = self.path_of(section, key);
        let Some((file, len)) = self.open_ours(&path, true)? else {
            return Ok(false);
        };
        let mut h = [0u8; HEADER_LEN];
        let header = file
            .read_exact_at(&mut h, 0)
            .ok()
            .and(parse_header(&h, len));
        match header {
            Some((old, _)) if old > now => {
                // In place: an aligned 8-byte write inside one page, seen whole by readers.
                file.write_all_at(&expires_at.to_le_bytes(), 8)
                    .map_err(|e| unavailable("cannot write", &path, e))?;
                Ok(true)
            }
            _ => {
                Self::remove_if_same(&path, &file);
                Ok(false)
            }
        }
    }
}
