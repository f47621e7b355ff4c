//! Logging a cache outage once per burst: when Redis (or memcached, or the shm lock) fails, every
//! request that needs a session fails with it, and an error line per request would flood the
//! log and hide what happened. The first failure of a burst is reported at error level; the
//! following ones go to debug, and a long outage is reported again once a minute with the number
//! of failures in between. Per process: each Apache child reports its own bursts.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::decision::LogLevel;

/// A failure after this many quiet seconds starts a new burst.
pub const QUIET_SECONDS: i64 = 10;

/// During a long outage, the report is repeated this often (seconds).
pub const REPEAT_SECONDS: i64 = 60;

/// Failure bookkeeping for one cache; all methods are lock-free.
#[derive(Debug, Default)]
pub struct OutageLog {
    /// Unix time of the last failure (0: none yet).
    last_failure: AtomicI64,
    /// Unix time of the last failure reported at error level.
    last_report: AtomicI64,
    /// Failures since the last report.
    unreported: AtomicU64,
}

impl OutageLog {
    pub fn new() -> OutageLog {
        OutageLog::default()
    }

    /// Records a failure at `now` and says how to log it: `(LogLevel::Error, message with the
    /// count of failures not reported since the last report)` for the first failure of a burst
    /// or once per [`REPEAT_SECONDS`], `(LogLevel::Debug, message)` otherwise.
    pub fn failure(&self, now: i64, message: String) -> (LogLevel, String) {
        let previous = self.last_failure.swap(now, Ordering::Relaxed);
        let last_report = self.last_report.load(Ordering::Relaxed);
        let new_burst = previous == 0 || now.saturating_sub(previous) >= QUIET_SECONDS;
        let repeat = now.saturating_sub(last_report) >= REPEAT_SECONDS;
        if (new_burst || repeat)
            && self
                .last_report
                .compare_exchange(last_report, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let quiet = self.unreported.swap(0, Ordering::Relaxed);
            let message = if quiet > 0 && !new_burst {
                format!("{message} (still failing: {quiet} more failures since the last report)")
            } else {
                message
            };
            return (LogLevel::Error, message);
        }
        self.unreported.fetch_add(1, Ordering::Relaxed);
        (LogLevel::Debug, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(log: &OutageLog, now: i64) -> LogLevel {
        log.failure(now, "redis down".into()).0
    }

    #[test]
    fn first_failure_of_a_burst_is_an_error_the_rest_debug() {
        let log = OutageLog::new();
        assert_eq!(level(&log, 1000), LogLevel::Error);
        for t in 1000..1009 {
            assert_eq!(level(&log, t), LogLevel::Debug, "at {t}");
        }
    }

    #[test]
    fn a_quiet_gap_starts_a_new_burst() {
        let log = OutageLog::new();
        assert_eq!(level(&log, 1000), LogLevel::Error);
        assert_eq!(level(&log, 1005), LogLevel::Debug);
        assert_eq!(level(&log, 1005 + QUIET_SECONDS - 1), LogLevel::Debug);
        assert_eq!(level(&log, 1005 + 2 * QUIET_SECONDS), LogLevel::Error);
    }

    #[test]
    fn a_long_outage_is_reported_again_with_the_count() {
        let log = OutageLog::new();
        assert_eq!(level(&log, 1000), LogLevel::Error);
        for t in 1001..1000 + REPEAT_SECONDS {
            assert_eq!(level(&log, t), LogLevel::Debug);
        }
        let (lvl, msg) = log.failure(1000 + REPEAT_SECONDS, "redis down".into());
        assert_eq!(lvl, LogLevel::Error);
        assert!(
            msg.contains(&format!("{} more failures", REPEAT_SECONDS - 1)),
            "{msg}"
        );
        assert_eq!(level(&log, 1001 + REPEAT_SECONDS), LogLevel::Debug);
    }

    #[test]
    fn concurrent_failures_report_once() {
        let log = std::sync::Arc::new(OutageLog::new());
        let errors: usize = (0..8)
            .map(|_| {
                let log = log.clone();
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|_| level(&log, 5000) == LogLevel::Error)
                        .count()
                })
            })
            .map(|h| h.join().unwrap_or(0))
            .sum();
        assert_eq!(errors, 1);
    }
}
