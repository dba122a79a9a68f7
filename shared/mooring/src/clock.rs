//! Time as a port, so that tests can fix "now" (challenge time bounds, JWT expiry).

use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that stands still until moved (tests).
#[cfg(any(test, feature = "testing"))]
#[derive(Default)]
pub struct FixedClock(std::sync::atomic::AtomicU64);

#[cfg(any(test, feature = "testing"))]
impl FixedClock {
    pub fn at(now: u64) -> Self {
        Self(std::sync::atomic::AtomicU64::new(now))
    }

    pub fn set(&self, now: u64) {
        self.0.store(now, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "testing"))]
impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
