//! A real function binary (`fn-get`) run as Lambda runs it, against a fake of the Runtime API:
//! it answers several invocations from one process (the engine and the DynamoDB connection are
//! built once), a query string `http::Uri` refuses is answered instead of crashing the
//! invocation, and a function that cannot start tells the Runtime API why.
//!
//! The invocation test needs `JSONAPI_DYNAMODB_ENDPOINT` (`infra/dynamodb/local.sh start 8000`).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::runtime_api::{Record, RuntimeApi};
use common::{endpoint, fixture, with_id, with_table};
use jsonapi_engine::Engine;
use jsonapi_lambda::{Body, Operation};
use serde_json::Value;

/// How long any one thing may take before the test gives up.
const WAIT: Duration = Duration::from_secs(30);

/// Builds a function binary of the workspace (same profile and target directory as this test)
/// and returns its path.
fn build(package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    // <target>/<profile>/deps/<test binary>
    let profile_dir = exe.parent().and_then(Path::parent).expect("a profile dir");
    let target_dir = profile_dir.parent().expect("a target dir");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "-p", package])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.ends_with("release") {
        cargo.arg("--release");
    }
    let mut child = cargo.spawn().expect("cargo runs");
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if let Some(status) = child.try_wait().expect("cargo") {
            assert!(status.success(), "cargo build -p {package} failed");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cargo build -p {package} took more than 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    profile_dir.join(package)
}

/// A running function process, killed when dropped; its stdout (the logs) is collected.
struct Function {
    child: Child,
    logs: Arc<Mutex<String>>,
}

impl Function {
    /// Starts `binary` with the environment Lambda gives a function, plus `env`.
    fn start(binary: &Path, runtime_api: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        // Only what Lambda would set: no credentials or settings of the machine leak in.
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "fn-get")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("the function starts");
        let logs = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, logs }
    }

    /// The log lines, as JSON.
    fn log_lines(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("a JSON log line: {l}")))
            .collect()
    }

    /// Waits (bounded) for the process to exit, and says whether it failed.
    fn exit_failed(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("the process") {
                return !status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the function did not exit within {WAIT:?}");
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        // It long-polls `/next` forever.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The API Gateway response of an invocation: status and JSON:API document.
fn response(record: Option<Record>, id: &str) -> (u64, Value) {
    match record {
        Some(Record::Response {
            request_id, body, ..
        }) => {
            assert_eq!(request_id, id);
            assert_eq!(body["isBase64Encoded"], false);
            assert_eq!(body["headers"]["content-type"], jsonapi_engine::MEDIA_TYPE);
            let doc = serde_json::from_str(body["body"].as_str().expect("a body")).expect("JSON");
            (body["statusCode"].as_u64().expect("a status"), doc)
        }
        other => panic!("expected the response to {id}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_function_process_answers_invocation_after_invocation() {
    let binary = build("fn-get");
    with_table("runtime", |store| async move {
        // Arrange: a product, created in-process through the create function's handler.
        let engine = Engine::new(jsonapi_config::example_domain(), store.clone());
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
        let function = Function::start(
            &binary,
            &api.address(),
            &[
                ("TABLE_NAME", store.table()),
                ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint()),
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
        let logs = function.log_lines();
        let requests: Vec<&Value> = logs.iter().filter(|l| l["message"] == "request").collect();
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
        drop(function);
    })
    .await;
}

#[tokio::test]
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
    let cases = [
        (
            vec![("TABLE_NAME", "t"), ("JSONAPI_CONFIG", config)],
            "InvalidConfiguration",
            config,
        ),
        (vec![], "MissingTableName", "TABLE_NAME"),
    ];
    for (env, kind, named) in cases {
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
            }
            other => panic!("{kind}: expected an init error, got {other:?}"),
        }
        assert!(
            function.exit_failed(),
            "{kind}: the process exits with an error"
        );
    }
}
