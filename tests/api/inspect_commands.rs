//! The model's inspection commands as `jsonapi-local` subcommands, on a configuration file and
//! without a server (`oro:api:dump`, `oro:api:config:dump`, checking a file, and the OpenAPI
//! dump): the real binary, its exit status, what it prints.

use std::io::Write;

use jsonapi_tests::binary::run_to_exit;
use jsonapi_tests::{TestApp, Value, json};

/// Runs the binary to completion; its exit code, stdout and stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let (status, stdout, stderr) = run_to_exit(args);
    (status.code(), stdout, stderr)
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

#[test]
fn check_accepts_a_valid_file_and_names_file_line_and_key_of_a_bad_one() {
    let (code, stdout, stderr) = run(&["check"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "infra/api/example.yaml: ok, 14 types\n");

    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("api.yaml");
    let mut file = std::fs::File::create(&path).expect("a file");
    file.write_all(
        b"types:\n  products:\n    id: sequence\n    attributes:\n      name: { type: string, maxLenght: 5 }\n",
    )
    .expect("written");
    let path = path.to_str().expect("UTF-8");
    let (code, stdout, stderr) = run(&["check", "--config", path]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    let expected = format!("{path}:5: types.products.attributes.name");
    assert!(
        stderr.starts_with(&expected) && stderr.contains("maxLenght"),
        "expected {expected:?}…:\n{stderr}"
    );
    let (code, _, stderr) = run(&["check", "--config", "/nonexistent/api.yaml"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("/nonexistent/api.yaml: cannot read the file"),
        "{stderr}"
    );
}

#[test]
fn template_prints_the_committed_template_and_refuses_what_cannot_be_deployed() {
    let (code, stdout, stderr) = run(&["template"]);
    assert_eq!(code, Some(0), "{stderr}");
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
            .expect("template.yaml");
    assert!(
        stdout == committed,
        "`jsonapi-local template` is not template.yaml"
    );

    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("api.yaml");
    std::fs::write(
        &path,
        "api:\n  enabled: false\ntypes:\n  notes:\n    id: sequence\n",
    )
    .expect("written");
    let path = path.to_str().expect("UTF-8");
    let (code, stdout, stderr) = run(&["template", "--config", path]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(path) && stderr.contains("api.enabled is false"),
        "{stderr}"
    );
}

#[test]
fn dump_lists_types_with_their_actions_filtered_like_the_models_dump() {
    let (code, stdout, stderr) = run(&["dump"]);
    assert_eq!(code, Some(0), "{stderr}");
    let all = yaml(&stdout);
    let names: Vec<&String> = all.as_object().expect("a mapping").keys().collect();
    assert_eq!(
        names,
        [
            "users",
            "roles",
            "categories",
            "products",
            "customers",
            "orders",
            "orderlineitems",
            "addresses",
            "shippingmethods",
            "paymentmethods",
            "shoppinglists",
            "shoppinglistitems",
            "checkouts",
            "checkoutlineitems"
        ]
    );
    assert_eq!(
        all["products"]["actions"],
        json!([
            "get",
            "get_list",
            "create",
            "update",
            "delete",
            "delete_list",
            "update_list",
            "get_subresource",
            "get_relationship",
            "update_relationship",
            "add_relationship",
            "delete_relationship"
        ])
    );
    for (flag, expected) in [
        // Types whose ids the client chooses upsert by id.
        (
            "--upsert",
            vec!["roles", "products", "shippingmethods", "paymentmethods"],
        ),
        ("--validate", vec!["products"]),
    ] {
        let (code, stdout, _) = run(&["dump", flag]);
        assert_eq!(code, Some(0));
        let some = yaml(&stdout);
        let names: Vec<&String> = some.as_object().expect("a mapping").keys().collect();
        assert_eq!(names, expected, "dump {flag}");
    }
    // The example enables the batch API on four types.
    let (code, stdout, _) = run(&["dump", "--action", "update_list"]);
    assert_eq!(code, Some(0));
    let batch = yaml(&stdout);
    let names: Vec<&String> = batch.as_object().expect("a mapping").keys().collect();
    assert_eq!(names, ["categories", "products", "customers", "orders"]);
    let (code, _, stderr) = run(&["dump", "--action", "get_all"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("unknown action \"get_all\""), "{stderr}");
}

#[test]
fn config_dump_shows_one_type_resolved() {
    let (code, stdout, stderr) = run(&["config-dump", "orders"]);
    assert_eq!(code, Some(0), "{stderr}");
    let orders = &yaml(&stdout)["orders"];
    assert_eq!(orders["id"], "sequence");
    assert_eq!(orders["title"], json!(["{poNumber}", "Order {id}"]));
    // Defaults the file leaves out are shown resolved.
    assert_eq!(orders["attributes"]["total"]["direction"], "output-only");
    assert_eq!(orders["attributes"]["total"]["writable"], false);
    assert_eq!(
        orders["attributes"]["status"]["values"],
        json!(["open", "paid", "shipped", "cancelled"])
    );
    assert_eq!(orders["relationships"]["customer"]["onDelete"], "restrict");
    assert_eq!(
        orders["relationships"]["lineItems"]["linkageKeptBy"],
        "orderlineitems.order"
    );
    assert_eq!(
        orders["filters"]["status"]["operators"],
        json!(["eq", "neq", "exists", "neq_or_null"])
    );
    assert_eq!(orders["filters"]["status"]["allowArray"], true);
    assert_eq!(orders["sorters"], json!(["id", "createdAt", "total"]));
    let (code, _, stderr) = run(&["config-dump", "invoices"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no type \"invoices\"") && stderr.contains("orders"),
        "{stderr}"
    );
}

#[tokio::test]
async fn openapi_prints_the_document_the_server_serves() {
    let app = TestApp::spawn().await;
    let served = app
        .anonymous()
        .get("/api/doc/openapi.json")
        .await
        .json()
        .clone();
    let base = app.base_url().to_owned();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&["openapi", "--server-url", &base]))
            .await
            .expect("the command ran");
    assert_eq!(code, Some(0), "{stderr}");
    let printed: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(printed, served);
    let (_, stdout, _) = tokio::task::spawn_blocking(|| run(&["openapi"]))
        .await
        .expect("the command ran");
    let default: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(default["servers"][0]["url"], "http://127.0.0.1:8080");
}
