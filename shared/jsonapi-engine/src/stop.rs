//! Asking a long write to stop at its next safe point.
//!
//! A synchronous batch past its wait, or a batch worker told to shut down, must stop writing
//! without leaving a change half done. Dropping the write's future could cut a store
//! transaction off in flight, so the write is asked instead: it looks at its [`Stop`] before
//! each of its transactions (`crate::intent`, `crate::commit`), and when asked it undoes what it
//! wrote, marks the stop honoured and fails. Whoever asked then knows from
//! [`Stop::honoured`] that nothing was written; a write that ended first (written, or refused
//! for its own reasons) answers as usual.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{ApiError, ApiErrors, ErrorKind};

/// A request to stop, shared by the writer and whoever may ask.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stop(Arc<State>);

#[derive(Debug, Default)]
struct State {
    asked: AtomicBool,
    honoured: AtomicBool,
}

impl Stop {
    /// Asks the writer to stop at its next safe point.
    pub(crate) fn ask(&self) {
        self.0.asked.store(true, Ordering::SeqCst);
    }

    /// Whether the writer was asked to stop.
    pub(crate) fn asked(&self) -> bool {
        self.0.asked.load(Ordering::SeqCst)
    }

    /// The writer stopped with nothing of its change left written: records it, and returns
    /// the error the write unwinds with (its caller reads [`Self::honoured`], never this).
    pub(crate) fn honour(&self) -> ApiErrors {
        self.0.honoured.store(true, Ordering::SeqCst);
        ApiError::new(
            ErrorKind::Unavailable,
            "The change was stopped before its end and undone.",
        )
        .into()
    }

    /// Whether the writer stopped because it was asked to, leaving nothing written.
    pub(crate) fn honoured(&self) -> bool {
        self.0.honoured.load(Ordering::SeqCst)
    }
}

/// Runs `work` to its end, asking `stop` once `signal` completes first: the work is never
/// dropped, so it ends at a point of its own choosing. The work (a whole batch's write) is
/// kept on the heap: inline, its unoptimised future would grow every caller's past a test
/// thread's 2 MiB stack.
pub(crate) async fn stopping_at<T>(
    stop: &Stop,
    signal: impl Future<Output = ()>,
    work: impl Future<Output = T>,
) -> T {
    let mut work = Box::pin(work);
    tokio::select! {
        out = &mut work => return out,
        () = signal => stop.ask(),
    }
    work.await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_work_is_asked_to_stop_at_the_signal_and_still_runs_to_its_end() {
        let stop = Stop::default();
        let seen = stop.clone();
        let work = async move {
            while !seen.asked() {
                tokio::task::yield_now().await;
            }
            Err::<(), _>(seen.honour())
        };
        let out = stopping_at(&stop, async {}, work).await;
        assert!(out.is_err());
        assert!(stop.asked() && stop.honoured());
    }

    #[tokio::test]
    async fn work_done_before_the_signal_is_not_asked() {
        let stop = Stop::default();
        let out = stopping_at(&stop, std::future::pending(), async { 7 }).await;
        assert_eq!(out, 7);
        assert!(!stop.asked() && !stop.honoured());
    }
}
