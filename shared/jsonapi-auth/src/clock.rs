//! The time every expiry is measured against, replaceable in tests.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch: the system's, or a manual clock that tests move by hand.
/// Clones of a manual clock share its time.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<AtomicU64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock standing at `start` until [`Clock::advance`] or [`Clock::set`] moves it.
    pub fn manual(start: u64) -> Self {
        Self(Some(Arc::new(AtomicU64::new(start))))
    }

    /// A manual clock starting at the system's current time.
    pub fn manual_now() -> Self {
        Self::manual(system_now())
    }

    /// The current time in epoch seconds.
    pub fn now(&self) -> u64 {
        self.0
            .as_ref()
            .map_or_else(system_now, |t| t.load(Ordering::SeqCst))
    }

    /// Moves a manual clock forward (the system clock ignores it).
    pub fn advance(&self, seconds: u64) {
        if let Some(t) = &self.0 {
            t.fetch_add(seconds, Ordering::SeqCst);
        }
    }

    /// Sets a manual clock (the system clock ignores it).
    pub fn set(&self, now: u64) {
        if let Some(t) = &self.0 {
            t.store(now, Ordering::SeqCst);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::system"),
            Some(t) => write!(f, "Clock::manual({})", t.load(Ordering::SeqCst)),
        }
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_by_hand_and_is_shared() {
        let c = Clock::manual(100);
        let twin = c.clone();
        assert_eq!(c.now(), 100);
        twin.advance(5);
        assert_eq!(c.now(), 105);
        c.set(7);
        assert_eq!(twin.now(), 7);
        let s = Clock::system();
        s.advance(1_000_000);
        assert!(s.now().abs_diff(system_now()) < 5);
    }
}
