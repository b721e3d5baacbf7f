//! The claims of imports that events deliver: a claim is a lease that its import renews; a
//! second delivery finds it held while it is renewed, and takes it over once it lapses, after
//! which the first holder can neither renew it nor record an operation under it.

use std::time::Duration;

use jsonapi_engine::{Delivery, Engine};
use jsonapi_store_redb::RedbStore;

fn engine(dir: &std::path::Path) -> Engine<RedbStore> {
    let schema = jsonapi_config::parse("deliveries.yaml", jsonapi_config::EXAMPLE_DOMAIN)
        .expect("a valid configuration");
    jsonapi_example::engine(schema, RedbStore::open(dir).expect("a store"))
}

#[tokio::test]
async fn a_renewed_claim_stays_held_and_a_lapsed_one_is_taken_over() {
    let dir = tempfile::tempdir().expect("a folder");
    let engine = engine(dir.path());
    let upload = ["bucket", "imports/products/a.ndjson", "etag", "seq"];
    let short = Duration::from_secs(1);
    let Ok(Delivery::Claimed(mut first)) = engine.claim_delivery(&upload, short).await else {
        panic!("the first delivery claims the upload");
    };
    assert_eq!(
        engine.claim_delivery(&upload, short).await.ok(),
        Some(Delivery::Busy)
    );
    // Renewed for longer than the wait below: still held after the first lease.
    engine
        .renew_delivery(&mut first, Duration::from_secs(60))
        .await
        .expect("renewed");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        engine.claim_delivery(&upload, short).await.ok(),
        Some(Delivery::Busy)
    );

    // Not renewed: it lapses, and the next delivery takes it over.
    let other = ["bucket", "imports/products/b.ndjson", "etag", "seq"];
    let Ok(Delivery::Claimed(mut dead)) = engine.claim_delivery(&other, short).await else {
        panic!("claimed");
    };
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let Ok(Delivery::Claimed(retry)) = engine.claim_delivery(&other, short).await else {
        panic!("a lapsed claim is taken over");
    };
    assert!(
        engine.renew_delivery(&mut dead, short).await.is_err(),
        "the first holder lost it"
    );
    assert!(engine.settle_delivery(&dead, 7).await.is_err());
    engine.settle_delivery(&retry, 8).await.expect("settled");
    assert_eq!(
        engine.claim_delivery(&other, short).await.ok(),
        Some(Delivery::Imported(8))
    );
}
