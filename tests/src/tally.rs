//! What the suite costs, counted: when `JSONAPI_TEST_TALLY` names a file, every server the
//! harness starts (in process or as a child process) and every request it sends appends one line
//! to it (`server <how>`, `request`), so that `sort FILE | uniq -c` sums a run up. Counts beside
//! wall times, because this machine is shared and its times are noisy. Off (no file touched)
//! when the variable is unset.

use std::fs::File;
use std::io::Write as _;
use std::sync::{Mutex, OnceLock};

/// Appends `event` as one line to the tally file, if there is one.
pub(crate) fn count(event: &str) {
    static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os("JSONAPI_TEST_TALLY")?;
        let file = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("JSONAPI_TEST_TALLY {}: {e}", path.display()));
        Some(Mutex::new(file))
    });
    if let Some(file) = file {
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        // One write per line, so that lines from parallel tests never interleave.
        let _ = file.write_all(format!("{event}\n").as_bytes());
    }
}
