//! Real function binaries (`fn-get`, `fn-token`) run as Lambda runs them, against a fake of the
//! Runtime API: a process answers several invocations (the engine and the DynamoDB connection
//! are built once), a query string `http::Uri` refuses is answered instead of crashing the
//! invocation, the token function issues tokens the API functions accept (with the signing key
//! and lifetime from the environment, or the key kept in the table), nothing secret reaches the
//! logs, a function that cannot start tells the Runtime API why, and a function built with
//! another configuration (`JSONAPI_CONFIG_FILE`) serves that API (a broken one fails the build).
//!
//! The invocation tests need `JSONAPI_DYNAMODB_ENDPOINT` (`infra/dynamodb/local.sh start 8000`).

mod common;

use std::time::Duration;

use common::function::{Function, WAIT, build, build_with, cargo_build};
use common::runtime_api::{Record, RuntimeApi};
use common::{
    LIBRARY, admin_client, endpoint, event, fixture, token_event, with_id, with_table, with_token,
};
use jsonapi_auth::SigningKey;
use jsonapi_engine::MEDIA_TYPE;
use jsonapi_lambda::{Body, Operation};
use serde_json::Value;

/// The API Gateway response of an invocation: status and JSON:API document.
fn response(record: Option<Record>, id: &str) -> (u64, Value) {
    json_response(record, id, MEDIA_TYPE)
}

/// The API Gateway response of an invocation: status and JSON document of `content_type`.
fn json_response(record: Option<Record>, id: &str, content_type: &str) -> (u64, Value) {
    match record {
        Some(Record::Response {
            request_id, body, ..
        }) => {
            assert_eq!(request_id, id);
            assert_eq!(body["isBase64Encoded"], false);
            assert_eq!(body["headers"]["content-type"], content_type, "{body}");
            let doc = serde_json::from_str(body["body"].as_str().expect("a body")).expect("JSON");
            (body["statusCode"].as_u64().expect("a status"), doc)
        }
        other => panic!("expected the response to {id}, got {other:?}"),
    }
}

/// Whether any log line holds `secret`.
fn leaks(function: &Function, secret: &str) -> bool {
    function.logs.lock().unwrap().contains(secret)
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_function_process_answers_invocation_after_invocation() {
    let binary = build("fn-get");
    with_table("runtime", |store| async move {
        // Arrange: an API client and its token (the signing key kept in the table, which the
        // process reads), a product created in-process through the create function's handler.
        let engine = jsonapi_example::engine(jsonapi_config::example_domain(), store.clone());
        let client = admin_client(&engine).await;
        let fixture = |name: &str| with_token(fixture(name), &client.token);
        let event = fixture("create-product").to_string();
        let created = jsonapi_lambda::handle(
            &engine,
            Operation::Create,
            lambda_http::request::from_str(&event).unwrap(),
        )
        .await;
        let Body::Text(text) = created.body() else {
            panic!("a document")
        };
        let id = serde_json::from_str::<Value>(text).unwrap()["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut api = RuntimeApi::start().await;
        // The deployment's template names the configuration the function carries (the
        // example domain, built in when JSONAPI_CONFIG_FILE is unset).
        let digest = jsonapi_config::digest(jsonapi_config::EXAMPLE_DOMAIN);
        let function = Function::start(
            &binary,
            &api.address(),
            &[
                ("TABLE_NAME", store.table()),
                ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint()),
                ("JSONAPI_CONFIG_SHA256", &digest),
            ],
        );

        // Act: three invocations of the one process.
        api.invoke("req-1", with_id(fixture("get-product"), &id));
        // A raw `"` and space, which `http::Uri` refuses (lambda_http alone would panic, and
        // API Gateway answer 502).
        let mut odd = with_id(fixture("get-product"), &id);
        odd["rawQueryString"] = r#"fields[products]="sku" name"#.into();
        api.invoke("req-2", odd);
        api.invoke("req-3", with_id(fixture("get-product"), "999999"));

        // Assert
        let (status, doc) = response(api.record(WAIT).await, "req-1");
        assert_eq!(status, 200, "{doc}");
        assert_eq!(
            doc["data"]["links"]["self"],
            format!("https://r4nd0m1d.execute-api.us-east-1.amazonaws.com/prod/api/products/{id}")
        );
        let (status, doc) = response(api.record(WAIT).await, "req-2");
        assert_eq!(
            status, 400,
            "the engine's answer to a bad field name: {doc}"
        );
        assert_eq!(
            doc["errors"][0]["source"]["parameter"], "fields[products]",
            "{doc}"
        );
        let (status, doc) = response(api.record(WAIT).await, "req-3");
        assert_eq!(status, 404, "{doc}");
        assert!(
            api.record(Duration::from_millis(200)).await.is_none(),
            "nothing else"
        );

        // One JSON log line per request, with the Lambda request id; no body, no query.
        let is_request = |l: &&Value| l["message"] == "request";
        let logs = function.log_lines_when(|l| l.iter().filter(is_request).count() >= 3);
        let requests: Vec<&Value> = logs.iter().filter(is_request).collect();
        let ids: Vec<&str> = requests
            .iter()
            .map(|l| l["request_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["req-1", "req-2", "req-3"], "{logs:?}");
        assert_eq!(requests[0]["status"], 200);
        assert_eq!(requests[0]["method"], "GET");
        assert_eq!(requests[0]["path"], format!("/api/products/{id}"));
        let all = serde_json::to_string(&logs).unwrap();
        assert!(
            !all.contains("fields[products]") && !all.contains("LAMBDA-1"),
            "{all}"
        );
        assert!(
            !leaks(&function, &client.token),
            "the bearer token is logged"
        );
        let initialised = logs.iter().find(|l| l["message"] == "initialised");
        assert_eq!(
            initialised.expect("an init line")["signing_key"],
            "table",
            "{logs:?}"
        );
        drop(function);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_function_that_cannot_start_tells_the_runtime_api_why() {
    let binary = build("fn-get");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("api.yaml");
    std::fs::write(
        &config,
        "api:\n  prefix: /api\ntypes:\n  products:\n    id: guessed\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    // Values that must not show in the error nor in the logs.
    let short_secret = "sh0rt-s3cret-value";
    let dynamodb = endpoint();
    let bad_pem =
        "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LXNlY3JldA==\n-----END PRIVATE KEY-----\n";
    let other_digest = &jsonapi_config::digest("api: {}\ntypes: {}\n");
    let cases = [
        (
            vec![("TABLE_NAME", "t"), ("JSONAPI_CONFIG", config)],
            "InvalidConfiguration",
            config,
            None,
        ),
        (vec![], "MissingTableName", "TABLE_NAME", None),
        // Built with the example domain, deployed with a template generated from another file.
        (
            vec![("TABLE_NAME", "t"), ("JSONAPI_CONFIG_SHA256", other_digest)],
            "ConfigurationMismatch",
            "JSONAPI_CONFIG_FILE",
            None,
        ),
        (
            vec![("TABLE_NAME", "t"), ("JWT_SECRET", short_secret)],
            "InvalidSigningKey",
            "JWT_SECRET",
            Some(short_secret),
        ),
        (
            vec![
                ("TABLE_NAME", "t"),
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("JWT_PRIVATE_KEY", bad_pem),
            ],
            "InvalidSigningKey",
            "JWT_PRIVATE_KEY",
            Some("bm90LWEta2V5LXNlY3JldA"),
        ),
        (
            vec![("TABLE_NAME", "t"), ("TOKEN_LIFETIME_SECONDS", "5")],
            "InvalidTokenLifetime",
            "TOKEN_LIFETIME_SECONDS",
            None,
        ),
        (
            vec![
                ("TABLE_NAME", "t"),
                ("JSONAPI_PUBLIC_URL", "https://api.example.com/?from=x"),
            ],
            "InvalidPublicUrl",
            "JSONAPI_PUBLIC_URL",
            None,
        ),
        (
            vec![
                ("TABLE_NAME", "jsonapi-no-such-table"),
                ("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb),
            ],
            "TableNotFound",
            "\"jsonapi-no-such-table\" does not exist",
            None,
        ),
    ];
    for (env, kind, named, secret) in cases {
        let mut api = RuntimeApi::start().await;
        let mut function = Function::start(&binary, &api.address(), &env);
        match api.record(WAIT).await {
            Some(Record::InitError {
                body, error_type, ..
            }) => {
                assert_eq!(error_type, "Runtime.InitError");
                assert_eq!(body["errorType"], kind, "{body}");
                let message = body["errorMessage"].as_str().unwrap();
                assert!(
                    message.contains(named),
                    "{kind}: the message names {named}: {message}"
                );
                if let Some(secret) = secret {
                    assert!(!message.contains(secret), "{kind}: {message}");
                }
            }
            other => panic!("{kind}: expected an init error, got {other:?}"),
        }
        assert!(
            function.exit_failed(),
            "{kind}: the process exits with an error"
        );
        if let Some(secret) = secret {
            assert!(!leaks(&function, secret), "{kind}: the value is logged");
        }
    }
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn the_token_function_signs_with_the_environments_key_and_lifetime() {
    let token_binary = build("fn-token");
    let get_binary = build("fn-get");
    with_table("runtime-token", |store| async move {
        // The deployment's JwtSecret: every function gets it as JWT_SECRET.
        let jwt_secret = "a-deployment-secret-of-more-than-32-bytes";
        let key = SigningKey::hs256(jwt_secret.as_bytes()).unwrap();
        let engine = jsonapi_example::engine(jsonapi_config::example_domain(), store.clone())
            .with_signing_key(key);
        let client = admin_client(&engine).await;
        let env = [
            ("TABLE_NAME", store.table()),
            ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint()),
            ("JWT_SECRET", jwt_secret),
            ("TOKEN_LIFETIME_SECONDS", "120"),
        ];
        let mut api = RuntimeApi::start().await;
        let token_fn = Function::start(&token_binary, &api.address(), &env);

        api.invoke("token-1", token_event(&client.id, &client.secret));
        api.invoke("token-2", token_event(&client.id, "a-wrong-secret"));
        api.invoke("jwks-1", fixture("get-jwks"));

        let (status, doc) = json_response(api.record(WAIT).await, "token-1", "application/json");
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["expires_in"], 120, "TOKEN_LIFETIME_SECONDS");
        let token = doc["access_token"].as_str().expect("a token").to_owned();
        let (status, doc) = json_response(api.record(WAIT).await, "token-2", "application/json");
        assert_eq!(
            (status, &doc["error"]),
            (401, &"invalid_client".into()),
            "{doc}"
        );
        let (status, doc) = json_response(api.record(WAIT).await, "jwks-1", "application/json");
        assert_eq!(status, 200, "{doc}");
        assert_eq!(
            doc["keys"],
            serde_json::json!([]),
            "HS256 has no public key"
        );
        // No key was made for the table: the environment's is the key.
        let stored =
            jsonapi_store::Store::get(&store, &jsonapi_store::Key::new("meta#signing-key", "#"))
                .await
                .unwrap();
        assert!(stored.is_none(), "no signing key in the table");

        // Another function process, with the same environment, accepts the token.
        let mut api2 = RuntimeApi::start().await;
        let get_fn = Function::start(&get_binary, &api2.address(), &env);
        let event = with_id(fixture("get-product"), "999999");
        api2.invoke("get-1", with_token(event.clone(), &token));
        api2.invoke("get-2", event);
        let (status, doc) = response(api2.record(WAIT).await, "get-1");
        assert_eq!(status, 404, "authenticated, and no such product: {doc}");
        let (status, doc) = response(api2.record(WAIT).await, "get-2");
        assert_eq!(status, 401, "{doc}");

        for function in [&token_fn, &get_fn] {
            for secret in [jwt_secret, &client.secret, &token] {
                assert!(!leaks(function, secret), "a secret or token is logged");
            }
            let lines = function.log_lines();
            let init = lines.iter().find(|l| l["message"] == "initialised");
            assert_eq!(init.expect("an init line")["signing_key"], "JWT_SECRET");
        }
        drop((token_fn, get_fn));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_function_built_with_another_configuration_serves_that_api() {
    // A broken file stops the build, with the error `jsonapi-local check` gives.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("api.yaml");
    std::fs::write(
        &broken,
        "api:\n  prefix: /x\ntypes:\n  books:\n    id: guessed\n",
    )
    .unwrap();
    let broken = broken.to_str().unwrap();
    let out = cargo_build("jsonapi-lambda", Some(broken))
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build went through");
    assert!(
        stderr.contains(&format!(
            "{broken}:5: types.books.id: unknown variant `guessed`"
        )),
        "{stderr}"
    );

    // The library, built into the list function as `sam build` builds it.
    let binary = build_with("fn-get-list", Some(LIBRARY));
    let text = std::fs::read_to_string(LIBRARY).unwrap();
    let library = jsonapi_config::parse(LIBRARY, &text).unwrap();
    with_table("runtime-library", |store| async move {
        let engine = jsonapi_example::engine(library, store.clone());
        let client = admin_client(&engine).await;
        let mut api = RuntimeApi::start().await;
        let function = Function::start(
            &binary,
            &api.address(),
            &[
                ("TABLE_NAME", store.table()),
                ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint()),
                // As the library's template sets it.
                ("JSONAPI_CONFIG_SHA256", &jsonapi_config::digest(&text)),
            ],
        );
        let list =
            |path: &str, route: &str| with_token(event("GET", route, path, None), &client.token);
        api.invoke("req-1", list("/library/v1/authors", "/library/v1/{type}"));
        api.invoke("req-2", list("/api/products", "/api/{type}"));
        let (status, doc) = response(api.record(WAIT).await, "req-1");
        assert_eq!(status, 200, "{doc}");
        assert_eq!(
            doc["links"]["self"],
            "https://r4nd0m1d.execute-api.us-east-1.amazonaws.com/prod/library/v1/authors"
        );
        let (status, doc) = response(api.record(WAIT).await, "req-2");
        assert_eq!(
            status, 404,
            "the example's routes are not this API's: {doc}"
        );
        drop(function);
    })
    .await;
}
