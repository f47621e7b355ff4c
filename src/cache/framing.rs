//! How the network caches (Redis, memcached) store a value: its absolute expiry (8 bytes,
//! big-endian Unix seconds) and then the value, so that `get` reports the entry's expiry
//! without a second round trip and `touch` can move it in place.

use crate::deps::CacheEntry;

/// Length of the expiry head.
pub const EXPIRY_LEN: usize = 8;

/// The stored value: expiry (8 bytes big-endian) then the value.
pub fn frame(value: &[u8], expires_at: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(EXPIRY_LEN + value.len());
    out.extend_from_slice(&expires_at.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// The inverse of [`frame`]; `None` for a value too short to be ours.
pub fn unframe(mut stored: Vec<u8>) -> Option<CacheEntry> {
    let head: [u8; EXPIRY_LEN] = stored.get(..EXPIRY_LEN)?.try_into().ok()?;
    stored.drain(..EXPIRY_LEN);
    Some(CacheEntry {
        value: stored,
        expires_at: i64::from_be_bytes(head),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
