//! Test-only failure injection, read once from `JSONAPI_TEST_FAILPOINT` (documented in
//! docs/batch.md). Unset in every real deployment.
//!
//! - `fail-last-step`: the last step of a batch written in steps (`crate::intent`) fails as
//!   when a concurrent writer took a unique value it claims;
//! - `crash-after-step:N`: the process ends (as `kill -9` would) right after step N (from 0)
//!   committed;
//! - `stop-after-step:N`: a synchronous request's batch written in steps is asked to stop
//!   right after step N (from 0) committed, as its wait passing then would
//!   (`crate::batch`'s degrade: the steps are rolled back and the batch goes on as an
//!   operation, whose worker is not stopped);
//! - `fail-chunks`: every run of an asynchronous batch's chunk fails before applying anything,
//!   as when the store keeps failing (`crate::batch`'s worker gives the chunk up after its
//!   attempts).

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failpoint {
    None,
    FailLastStep,
    CrashAfterStep(usize),
    StopAfterStep(usize),
    FailChunks,
}

pub(crate) fn failpoint() -> Failpoint {
    static FAILPOINT: OnceLock<Failpoint> = OnceLock::new();
    *FAILPOINT.get_or_init(|| {
        let value = std::env::var("JSONAPI_TEST_FAILPOINT").unwrap_or_default();
        let step = |prefix: &str| value.strip_prefix(prefix).and_then(|n| n.parse().ok());
        match (step("crash-after-step:"), step("stop-after-step:")) {
            (Some(n), _) => Failpoint::CrashAfterStep(n),
            (None, Some(n)) => Failpoint::StopAfterStep(n),
            _ if value == "fail-last-step" => Failpoint::FailLastStep,
            _ if value == "fail-chunks" => Failpoint::FailChunks,
            _ => Failpoint::None,
        }
    })
}
