//! The real `jsonapi-local` binary as a process: start-up line, a request, clean exit on
//! SIGTERM, and a bad configuration stopping start-up with file, line and key. With `--seed` it
//! makes and prints its development client, whose token the requests carry.

use std::io::Write;

use jsonapi_tests::binary::{ServerProcess, run_to_exit};
use jsonapi_tests::{ApiClient, json};

#[test]
fn the_binary_serves_requests_and_exits_cleanly_on_sigterm() {
    let data = tempfile::tempdir().expect("a data folder");
    let data_arg = data.path().to_str().expect("a UTF-8 path");
    let server = ServerProcess::start_seeded(data_arg);
    let client = server
        .dev_client()
        .expect("--seed prints the development client");
    assert!(
        server.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        server.base_url
    );
    assert!(
        !server.base_url.ends_with(":0"),
        "the real port is printed: {}",
        server.base_url
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let api = ApiClient::new(server.base_url.clone());
        // Without a token the API answers 401.
        api.get("/api/categories").await.assert_status(401);
        let token = api.client_token(&client).await;
        let api = api.with_token(Some(&token));
        let before = api.list_all("categories").await;
        let created = api
            .create(
                "categories",
                json!({ "name": "From the binary" }),
                json!({}),
            )
            .await;
        let after = api.list_all("categories").await;
        assert_eq!(after.len(), before.len() + 1);
        // A list leaves inverse to-many linkage out: the same resource, compared by its
        // identity and attributes.
        let last = after.last().expect("the new category");
        assert_eq!(last["id"], created["id"]);
        assert_eq!(last["attributes"], created["attributes"]);
        assert_eq!(after[..before.len()], before[..]);
    });
    drop(runtime);

    server.signal("TERM");
    let (status, _stdout, stderr) = server.wait();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; stderr:\n{stderr}"
    );
}

#[test]
fn the_binary_exits_cleanly_on_sigint_and_keeps_its_data() {
    let data = tempfile::tempdir().expect("a data folder");
    let data_arg = data.path().to_str().expect("a UTF-8 path");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");

    let server = ServerProcess::start_seeded(data_arg);
    let client = server
        .dev_client()
        .expect("--seed prints the development client");
    let (created, token) = runtime.block_on(async {
        let api = ApiClient::new(server.base_url.clone());
        let token = api.client_token(&client).await;
        let created = api
            .with_token(Some(&token))
            .create("categories", json!({ "name": "Survivor" }), json!({}))
            .await;
        (created, token)
    });
    server.signal("INT");
    let (status, _stdout, stderr) = server.wait();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; stderr:\n{stderr}"
    );

    let server = ServerProcess::start_seeded(data_arg);
    // The client made at the first start is kept, its secret not shown again.
    assert_eq!(server.dev_client(), None);
    runtime.block_on(async {
        // The signing key is kept in the data folder: the first start's token still works.
        let api = ApiClient::new(server.base_url.clone()).with_token(Some(&token));
        let id = created["id"].as_str().expect("an id");
        let fetched = api.fetch("categories", id).await;
        assert_eq!(fetched["attributes"]["name"], "Survivor");
    });
    server.signal("TERM");
    let (status, _, stderr) = server.wait();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; stderr:\n{stderr}"
    );
}

#[test]
fn a_bad_configuration_stops_start_up_naming_the_file_line_and_key() {
    let dir = tempfile::tempdir().expect("a folder");
    let config = dir.path().join("broken-api.yaml");
    let mut file = std::fs::File::create(&config).expect("the config file");
    // Line 3 holds the bad value of key types.products.id.
    file.write_all(b"types:\n  products:\n    id: counter\n")
        .expect("the config is written");
    drop(file);
    let config_arg = config.to_str().expect("a UTF-8 path");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("a UTF-8 path");

    let (status, stdout, stderr) = run_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data_arg,
        "--config",
        config_arg,
    ]);
    assert!(!status.success(), "exit status {status}; stdout:\n{stdout}");
    assert!(status.code().is_some(), "killed by a signal: {status}");
    assert!(
        !stdout.contains("listening on"),
        "it started anyway:\n{stdout}"
    );
    let expected = format!("{config_arg}:3: types.products.id: ");
    assert!(
        stderr.contains(&expected),
        "stderr does not name the file, line and key ({expected:?}):\n{stderr}"
    );
}

#[test]
fn a_public_url_that_is_not_an_absolute_http_url_is_refused_at_start() {
    let data = tempfile::tempdir().expect("a data folder");
    let data_arg = data.path().to_str().expect("a UTF-8 path");
    let (status, stdout, stderr) = run_to_exit(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data_arg,
        "--public-url",
        "shop.example.com/api",
    ]);
    assert!(!status.success(), "exit status {status}; stdout:\n{stdout}");
    assert!(!stdout.contains("listening on"), "it started:\n{stdout}");
    assert!(
        stderr.contains("--public-url") && stderr.contains("absolute http or https URL"),
        "stderr does not say what is wrong:\n{stderr}"
    );
}
