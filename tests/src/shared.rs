//! Servers shared by every test of the process, each started once, on first use, so that a test
//! that needs no server of its own pays for none.
//!
//! - [`shared_seeded`]: the example domain loaded with the seed data. Read-only: the tests that
//!   list, count, sort or page the seed data rely on it staying as seeded.
//! - [`shared_scratch`]: the example domain, not seeded, for tests that create the resources
//!   they look at and never read what they did not create (no listing of a whole type, no
//!   count). Values that must be unique ([`unique`]) keep parallel tests apart.
//!
//! Tests that list or count, change settings, clients or keys, restart or stop the server start
//! their own [`crate::TestApp`].

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::app::{authenticated_client, start_server};
use crate::setup::Setup;
use crate::{ApiClient, Credentials};

/// A client for one server loaded with the seed data and shared by every test of this process
/// that only reads it (seeding is the slow part of starting a server, much more so on
/// DynamoDB). Never write through it: tests that change data use [`shared_scratch`] or start
/// their own [`crate::TestApp`].
///
/// # Panics
/// When the shared server cannot start.
pub fn shared_seeded() -> ApiClient {
    static SEEDED: OnceLock<Shared> = OnceLock::new();
    SEEDED
        .get_or_init(|| Shared::start("seeded", true))
        .client()
}

/// A client for one server of the example domain, not seeded, shared by every test of this
/// process that writes only resources of its own: create what you read, and give unique values
/// ([`unique`]) where the model wants them unique (SKUs, e-mails, user names). Never list a
/// whole type or count through it: other tests write there at the same time.
///
/// # Panics
/// When the shared server cannot start.
pub fn shared_scratch() -> ApiClient {
    scratch().client()
}

/// The development client (role `admin`) of the [`shared_scratch`] server, whose token that
/// client carries.
///
/// # Panics
/// When the shared server cannot start.
pub fn shared_scratch_dev_client() -> Credentials {
    scratch().dev_client.clone()
}

fn scratch() -> &'static Shared {
    static SCRATCH: OnceLock<Shared> = OnceLock::new();
    SCRATCH.get_or_init(|| Shared::start("scratch", false))
}

/// `prefix` made unique in this test process (`SKU` → `SKU-17`), for the values the model wants
/// unique on a shared server.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A server running for the life of the test process.
struct Shared {
    base_url: String,
    token: Option<String>,
    dev_client: Credentials,
}

impl Shared {
    /// A fresh client each time: a client's pooled connections belong to the runtime of the
    /// test that made it, and every `#[tokio::test]` has its own.
    fn client(&self) -> ApiClient {
        ApiClient::new(self.base_url.clone()).with_token(self.token.as_deref())
    }

    /// Starts the server on a thread and runtime of its own (a server started on a test's
    /// runtime would stop with that test). Its data folder is
    /// `$TMPDIR/jsonapi-tests-shared-{name}-{pid}` (on DynamoDB, the table is named after it);
    /// folders left by earlier processes that are gone are removed first.
    fn start(name: &str, seed: bool) -> Self {
        let tmp = std::env::temp_dir();
        let prefix = format!("{PREFIX}{name}-");
        remove_abandoned(&tmp, &prefix);
        let data = tmp.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).expect("the shared data folder");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("shared-{name}-server"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("the shared server's runtime");
                runtime.block_on(async move {
                    let server = start_server(&data, seed, &Setup::default()).await;
                    let (api, dev_client) = authenticated_client(&server).await;
                    let _ = sender.send(Self {
                        base_url: server.base_url(),
                        token: api.token().map(str::to_owned),
                        dev_client: dev_client.expect("a development client"),
                    });
                    // Serve until the test process exits.
                    std::future::pending::<()>().await;
                });
            })
            .expect("the shared server's thread");
        receiver
            .recv()
            .expect("the shared server started (see the panic above)")
    }
}

const PREFIX: &str = "jsonapi-tests-shared-";

/// Removes the shared data folders (`{prefix}{pid}`) of test processes that are gone.
fn remove_abandoned(tmp: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
