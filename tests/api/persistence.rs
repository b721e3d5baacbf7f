//! Data survives a stop and a start of the server on the same data folder.

use jsonapi_tests::values::{attr, id_of, to_many_ids, to_one_id};
use jsonapi_tests::{Source, TestApp, assert_error, json, resource_doc, to_one};

use crate::fixtures::{create_category, create_customer, create_product};

#[tokio::test]
async fn resources_survive_a_restart_unchanged() {
    let mut app = TestApp::spawn().await;
    let category = create_category(&app, "Durable", None).await;
    let product = app
        .create(
            "products",
            json!({ "sku": "KEEP-1", "name": "Kept", "price": "4.40", "tags": ["t"] }),
            json!({ "category": to_one("categories", id_of(&category)) }),
        )
        .await;
    let customer = create_customer(&app, "Ada", "ada@example.com").await;
    app.post(
        "/api/roles",
        &resource_doc(
            "roles",
            Some("manager"),
            json!({ "label": "Manager" }),
            json!({}),
        ),
    )
    .await
    .assert_status(201);

    app.restart().await;

    let after = app.fetch("products", id_of(&product)).await;
    assert_eq!(after["attributes"], product["attributes"]);
    assert_eq!(to_one_id(&after, "category"), Some(id_of(&category)));
    let category = app.fetch("categories", id_of(&category)).await;
    assert_eq!(
        to_many_ids(&category, "products"),
        vec![id_of(&product).to_owned()]
    );
    let after = app.fetch("customers", id_of(&customer)).await;
    assert_eq!(after["attributes"], customer["attributes"]);
    assert_eq!(
        attr(&app.fetch("roles", "manager").await, "label"),
        "Manager"
    );
}

#[tokio::test]
async fn updates_and_deletes_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let kept = create_product(&app, "UPD-1").await;
    let gone = create_product(&app, "DEL-1").await;
    app.patch(
        &format!("/api/products/{}", id_of(&kept)),
        &resource_doc(
            "products",
            Some(id_of(&kept)),
            json!({ "name": "Updated" }),
            json!({}),
        ),
    )
    .await
    .assert_status(200);
    app.delete(&format!("/api/products/{}", id_of(&gone)))
        .await
        .assert_status(204);

    app.restart().await;

    assert_eq!(
        attr(&app.fetch("products", id_of(&kept)).await, "name"),
        "Updated"
    );
    assert_error(
        &app.get(&format!("/api/products/{}", id_of(&gone))).await,
        404,
        "not found http exception",
        Source::Any,
    );
    assert_eq!(app.list_all("products").await.len(), 1);
}

#[tokio::test]
async fn sequences_and_unique_values_carry_on_after_a_restart() {
    let mut app = TestApp::spawn().await;
    create_product(&app, "SEQ-1").await;
    let second = create_product(&app, "SEQ-2").await;
    app.restart().await;
    let third = create_product(&app, "SEQ-3").await;
    // Ids may skip after a restart (sequences can be reserved in blocks) but never go back.
    let number = |p: &jsonapi_tests::Value| id_of(p).parse::<u64>().expect("a sequence id");
    assert!(
        number(&third) > number(&second),
        "{} after {}",
        id_of(&third),
        id_of(&second)
    );
    let duplicate = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                None,
                crate::fixtures::product_attributes("SEQ-1"),
                json!({}),
            ),
        )
        .await;
    assert_error(
        &duplicate,
        400,
        "unique entity constraint",
        Source::Pointer("/data/attributes/sku"),
    );
}

#[tokio::test]
async fn the_seed_data_is_loaded_once() {
    let mut app = TestApp::spawn_seeded().await;
    let seeded = app.list_all("products").await;
    assert_eq!(seeded.len(), 50);
    assert!(!app.list_all("categories").await.is_empty());
    assert!(!app.list_all("customers").await.is_empty());
    assert!(!app.list_all("orders").await.is_empty());
    app.restart_with_seed().await;
    let again = app.list_all("products").await;
    assert_eq!(again.len(), 50, "seeding twice must not duplicate the seed");
    let summary = |resources: &[jsonapi_tests::Value]| -> Vec<(String, jsonapi_tests::Value)> {
        resources
            .iter()
            .map(|r| (id_of(r).to_owned(), r["attributes"].clone()))
            .collect()
    };
    assert!(
        summary(&again) == summary(&seeded),
        "the seeded products changed"
    );
}

/// A kill -9 in the middle of concurrent creates loses none the server answered 201 to: a
/// create is answered only once the commit holding it is on disk, however many writes that
/// commit groups (the embedded store syncs once for all the writes queued behind a commit).
#[test]
fn a_kill_loses_no_acknowledged_create() {
    use std::sync::{Arc, Mutex};

    use jsonapi_tests::ApiClient;
    use jsonapi_tests::binary::ServerProcess;

    let data = tempfile::tempdir().expect("a data folder");
    let data_arg = data.path().to_str().expect("a UTF-8 path");
    let server = ServerProcess::start_seeded(data_arg);
    let client = server
        .dev_client()
        .expect("--seed prints the development client");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let acknowledged = runtime.block_on(async {
        let api = ApiClient::new(server.base_url.clone());
        let token = api.client_token(&client).await;
        let api = api.with_token(Some(&token));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..16)
            .map(|writer| {
                let (api, acknowledged) = (api.clone(), Arc::clone(&acknowledged));
                tokio::spawn(async move {
                    for n in 0.. {
                        let name = format!("Crash {writer}-{n}");
                        let doc =
                            resource_doc("categories", None, json!({ "name": name }), json!({}));
                        // Once the server is gone, the request in flight panics: the task ends.
                        let created = api.post("/api/categories", &doc).await;
                        created.assert_status(201);
                        acknowledged
                            .lock()
                            .expect("not poisoned")
                            .push(id_of(created.data()).to_owned());
                    }
                })
            })
            .collect();
        while acknowledged.lock().expect("not poisoned").len() < 100 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        server.signal("KILL");
        for writer in writers {
            assert!(
                writer.await.is_err(),
                "a writer stops only when the server is gone"
            );
        }
        acknowledged.lock().expect("not poisoned").clone()
    });
    drop(server);

    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--data", data_arg]);
    runtime.block_on(async {
        let api = ApiClient::new(server.base_url.clone());
        let token = api.client_token(&client).await;
        let api = api.with_token(Some(&token));
        let stored: std::collections::HashSet<String> = api
            .list_all("categories")
            .await
            .iter()
            .map(|c| id_of(c).to_owned())
            .collect();
        let lost: Vec<_> = acknowledged
            .iter()
            .filter(|id| !stored.contains(*id))
            .collect();
        assert!(lost.is_empty(), "acknowledged, then lost: {lost:?}");
    });
    server.signal("TERM");
}
