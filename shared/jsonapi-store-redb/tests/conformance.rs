//! The storage conformance suite against the embedded backend.

use jsonapi_store_redb::RedbStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_passes_the_storage_conformance_suite() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = RedbStore::open(dir.path()).expect("the store opens");
    jsonapi_store::conformance::run_all(&store, "conformance").await;
}
