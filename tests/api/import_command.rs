//! `jsonapi-local import FILE --type T`: a file streamed into the batch pipeline by the real
//! binary, on a data folder no server holds (the command runs the worker itself) and on one a
//! server holds (the server imports it, through its control socket); a refused file stores
//! nothing.

use std::fmt::Write as _;

use jsonapi_tests::ApiClient;
use jsonapi_tests::binary::{
    ServerProcess, run_on_terminal, run_to_exit, run_to_exit_with_env, run_to_exit_with_input,
};
use serde_json::json;

use crate::batch_sync::hundred_products;

/// Runs `jsonapi-local import FILE --type products --data DATA`: status, stdout, stderr.
fn import(data: &str, file: &std::path::Path) -> (Option<i32>, String, String) {
    let file = file.to_str().expect("UTF-8");
    let (status, out, err) = run_to_exit(&["import", file, "--type", "products", "--data", data]);
    (status.code(), out, err)
}

fn product(sku: &str) -> serde_json::Value {
    json!({"type": "products", "attributes": {"sku": sku, "name": sku, "price": "1.50"}})
}

#[test]
fn files_are_imported_with_or_without_a_server_and_a_refused_one_stores_nothing() {
    let dir = tempfile::tempdir().expect("a folder");
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().expect("UTF-8");

    // A document of 250 products (three chunks), one invalid, one linked to a new category
    // that comes in `included`, after the whole of `data`.
    let mut items: Vec<_> = (0..250).map(|i| product(&format!("IMP-D{i}"))).collect();
    items[57]["attributes"]["price"] = json!("-1");
    items[210]["relationships"] =
        json!({"category": {"data": {"type": "categories", "lid": "new"}}});
    let document = json!({
        "data": items,
        "included": [{"type": "categories", "lid": "new", "attributes": {"name": "Imported"}}],
    });
    let file = dir.path().join("products.json");
    std::fs::write(&file, document.to_string()).expect("written");
    let (status, out, err) = import(data, &file);
    assert_eq!(status, Some(0), "{out}\n{err}");
    assert!(out.contains(": success\n"), "{out}");
    assert!(
        out.contains("read 250, written 249, created 249, updated 0, errors 1"),
        "{out}"
    );
    assert!(
        out.contains("/data/57/attributes/price: range constraint: "),
        "{out}"
    );

    let server = ServerProcess::start_seeded(data);
    let credentials = server.dev_client().expect("the development client");

    // NDJSON while the server holds the folder: the server imports it.
    let mut lines = String::new();
    for i in 0..120 {
        let _ = writeln!(lines, "{}", product(&format!("IMP-N{i}")));
    }
    let file = dir.path().join("products.ndjson");
    std::fs::write(&file, &lines).expect("written");
    let (status, out, err) = import(data, &file);
    assert_eq!(status, Some(0), "{out}\n{err}");
    assert!(out.contains("read 120, written 120, created 120"), "{out}");
    // Told at once that the server reads the file, and that a configuration named here is
    // not the one it imports with.
    assert!(
        err.contains(&format!("the server holding {data} reads ")),
        "{err}"
    );
    let file_arg = file.to_str().expect("UTF-8");
    let (status, _, err) = run_to_exit(&[
        "import",
        file_arg,
        "--type",
        "products",
        "--data",
        data,
        "--config",
        "other.yaml",
    ]);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        err.contains("--config other.yaml is not used: the server holding"),
        "{err}"
    );

    // A malformed line refuses the whole file, with its line.
    let file = dir.path().join("broken.ndjson");
    std::fs::write(&file, format!("{}\n{{\"type\":\n", product("IMP-B0"))).expect("written");
    let (status, out, err) = import(data, &file);
    assert_eq!(status, Some(1), "{out}\n{err}");
    assert!(err.contains("/data/1: ") && err.contains("line 2"), "{err}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let api = ApiClient::new(server.base_url.clone());
    let token = runtime.block_on(api.client_token(&credentials));
    let api = api.with_token(Some(&token));
    let count = |sku: &str| {
        let path = format!("/api/products?filter[sku]={sku}");
        let response = runtime.block_on(api.get(&path));
        response.assert_status(200);
        response.json()["data"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(count("IMP-D0"), 1);
    assert_eq!(count("IMP-D57"), 0, "the invalid item was skipped");
    assert_eq!(count("IMP-N119"), 1);
    assert_eq!(count("IMP-B0"), 0, "a refused file stores nothing");
    let linked = runtime.block_on(api.get("/api/products?filter[sku]=IMP-D210&include=category"));
    linked.assert_status(200);
    assert_eq!(
        linked.json()["included"][0]["attributes"]["name"],
        "Imported",
        "the included category was written with the product far before it"
    );
    server.signal("TERM");
    let (status, _, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

/// On a terminal the command shows how many items were read, whether it reads the file
/// itself or the server holding the folder does (the server sends its count as it goes),
/// then the operation's progress and its summary.
#[test]
fn an_import_on_a_terminal_shows_its_progress_with_or_without_a_server() {
    let dir = tempfile::tempdir().expect("a folder");
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().expect("UTF-8");
    let on_terminal = |prefix: &str| {
        let mut lines = String::new();
        for i in 0..250 {
            let _ = writeln!(lines, "{}", product(&format!("{prefix}{i}")));
        }
        let file = dir.path().join(format!("{prefix}.ndjson"));
        std::fs::write(&file, &lines).expect("written");
        let file = file.to_str().expect("UTF-8");
        let args = [
            "import", file, "--type", "products", "--ndjson", "--data", data,
        ];
        let (status, shown) = run_on_terminal(&args);
        assert_eq!(status.code(), Some(0), "{shown}");
        // (A count the server sends is the only way the command knows it.)
        for expected in [
            "\rread 250 items",
            "applying, 100%",
            "read 250, written 250, created 250",
        ] {
            assert!(shown.contains(expected), "{expected:?} not in {shown:?}");
        }
        shown
    };
    on_terminal("TTY-A");
    let server = ServerProcess::start_seeded(data);
    let shown = on_terminal("TTY-S");
    assert!(shown.contains("the server holding"), "{shown:?}");
    server.signal("TERM");
    let (status, _, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

/// `-` imports standard input (a document, or NDJSON with `--ndjson`), with or without a server
/// on the folder, and leaves no copy of it behind.
#[test]
fn standard_input_is_imported_with_or_without_a_server() {
    let dir = tempfile::tempdir().expect("a folder");
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().expect("UTF-8");
    let from_stdin = |input: String, ndjson: bool| {
        let mut args = vec!["import", "-", "--type", "products", "--data", data];
        if ndjson {
            args.push("--ndjson");
        }
        let (status, out, err) = run_to_exit_with_input(&args, input.into_bytes());
        (status.code(), out, err)
    };
    let items: Vec<_> = (0..130).map(|i| product(&format!("IN-D{i}"))).collect();
    let (status, out, err) = from_stdin(json!({ "data": items }).to_string(), false);
    assert_eq!(status, Some(0), "{out}\n{err}");
    assert!(out.contains("read 130, written 130, created 130"), "{out}");

    let server = ServerProcess::start_seeded(data);
    let mut lines = String::new();
    for i in 0..30 {
        let _ = writeln!(lines, "{}", product(&format!("IN-N{i}")));
    }
    let (status, out, err) = from_stdin(lines, true);
    assert_eq!(status, Some(0), "{out}\n{err}");
    assert!(out.contains("read 30, written 30, created 30"), "{out}");
    // Without --ndjson, lines are not one document.
    let (status, out, err) = from_stdin(
        format!("{}\n{}\n", product("IN-X0"), product("IN-X1")),
        false,
    );
    assert_eq!(status, Some(1), "{out}\n{err}");
    let left: Vec<_> = std::fs::read_dir(&data_dir)
        .expect("the data folder")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".import-stdin-")
        })
        .collect();
    assert!(left.is_empty(), "copies of standard input left: {left:?}");
    server.signal("TERM");
    let (status, _, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn an_import_reports_what_a_request_would_and_exits_non_zero_when_it_failed() {
    let dir = tempfile::tempdir().expect("a folder");
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().expect("UTF-8");

    // 150 products (two chunks): the 6th and the 121st link to one new category; another
    // included category is linked to nothing.
    let mut items: Vec<_> = (0..150).map(|i| product(&format!("REP-{i}"))).collect();
    for n in [5, 120] {
        items[n]["relationships"] =
            json!({"category": {"data": {"type": "categories", "lid": "shared"}}});
    }
    let document = json!({
        "data": items,
        "included": [
            {"type": "categories", "lid": "shared", "attributes": {"name": "Shared"}},
            {"type": "categories", "lid": "alone", "attributes": {"name": "Alone"}},
        ],
    });
    let file = dir.path().join("linked.json");
    std::fs::write(&file, document.to_string()).expect("written");
    let (status, out, err) = import(data, &file);
    assert_eq!(status, Some(0), "{out}\n{err}");
    assert!(
        err.contains("operation 1: stored"),
        "said before it is applied: {err}"
    );
    // The category goes with the first product that names it; the other one, in another
    // chunk, cannot name it (documented); the lone category is reported, not dropped.
    assert!(out.contains("errors 2"), "{out}");
    assert!(out.contains("/data/120"), "{out}");
    assert!(
        out.contains("/included/1: request data constraint: The entity should have a relationship with at least one primary entity"),
        "{out}"
    );

    // Refused as a request would be, nothing stored: the command exits 1 naming the item.
    let refused = |name: &str, lines: String, expected: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, lines).expect("written");
        let (status, out, err) = import(data, &file);
        assert_eq!(status, Some(1), "{out}\n{err}");
        assert!(err.contains(expected), "{err}");
    };
    // Two new items under one lid.
    let twice = json!({"type": "products", "lid": "p", "attributes": {"sku": "TW", "name": "t", "price": "1"}});
    refused(
        "twice.ndjson",
        format!("{twice}\n{twice}\n"),
        "/data/1: request data constraint: The item duplicates the item with the index 0",
    );
    // An item that is no object, in a request's words.
    refused(
        "scalar.ndjson",
        format!("{}\n[1]\n", product("SC-1")),
        "/data/1: request data constraint: The primary resource object should be an object.",
    );

    // A byte order mark is skipped; `data` that is no array is one refusal.
    let file = dir.path().join("bom.ndjson");
    std::fs::write(&file, format!("\u{feff}{}\n", product("BOM-1"))).expect("written");
    let (status, out, err) = import(data, &file);
    assert_eq!(status, Some(0), "{out}\n{err}");
    assert!(out.contains("created 1,"), "{out}");
    let file = dir.path().join("object.json");
    std::fs::write(&file, json!({ "data": product("OBJ-1") }).to_string()).expect("written");
    let (status, out, err) = import(data, &file);
    assert_eq!(status, Some(1), "{out}\n{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("  ")).count(),
        1,
        "one refusal: {err}"
    );
    assert!(err.contains("  /data: request data constraint: The primary data object collection should be an array."), "{err}");

    // An operation that ends `failed` (every chunk given up) is a failed command.
    let file = dir.path().join("one.ndjson");
    std::fs::write(&file, format!("{}\n", product("FAILS"))).expect("written");
    let file = file.to_str().expect("UTF-8");
    let (status, out, err) = run_to_exit_with_env(
        &["import", file, "--type", "products", "--data", data],
        &[("JSONAPI_TEST_FAILPOINT", "fail-chunks")],
        &[],
    );
    assert_eq!(status.code(), Some(1), "{out}\n{err}");
    assert!(
        err.contains("the import failed:") && err.contains(": failed"),
        "{err}"
    );
}

#[test]
fn a_sync_import_cut_short_is_rolled_back_by_the_next_import() {
    let dir = tempfile::tempdir().expect("a folder");
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().expect("UTF-8");
    // A hundred products with fifty categories: written in steps under an intent.
    let file = dir.path().join("hundred.json");
    std::fs::write(&file, hundred_products("ISYNC").to_string()).expect("written");
    let file = file.to_str().expect("UTF-8");
    let args = [
        "import", file, "--type", "products", "--data", data, "--sync",
    ];
    // The process ends between two steps, as `kill -9` would end it.
    let (status, out, err) = run_to_exit_with_env(
        &args,
        &[("JSONAPI_TEST_FAILPOINT", "crash-after-step:3")],
        &[],
    );
    assert!(!status.success(), "{out}\n{err}");
    // The next import rolls the half-written batch back first, then writes it whole.
    let (status, out, err) = run_to_exit(&args);
    assert_eq!(status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("imported 100 products (sync)"), "{out}");
}
