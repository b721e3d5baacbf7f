//! The HTTP benchmark's data, straight on a store (no HTTP; the server is stopped for the
//! embedded store, whose folder one process holds at a time):
//!
//! - `load`: products `--from`..`--to` spread over the first `--categories` categories (made
//!   when fewer exist), many creates at a time (the embedded store commits the writes that
//!   queue behind a sync together).
//! - `trips`: the store round trips of each scenario (`NAME|METHOD|PATH|BODY`, as in
//!   `run.sh`), counted in process over a few requests: they do not depend on load.
//!
//! `dataset load --data DIR --to 1000`, `dataset trips --data DIR 'GET one|GET|/api/products/1|'`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::{Args as ClapArgs, Parser, Subcommand};
use http::{Method, StatusCode};
use jsonapi_bench::{render_template, request};
use jsonapi_engine::Engine;
use jsonapi_store::Store;
use jsonapi_store::counting::Counting;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, ClapArgs)]
struct StoreArgs {
    /// The embedded store's data folder.
    #[arg(long, required_unless_present = "endpoint")]
    data: Option<std::path::PathBuf>,
    /// A DynamoDB Local endpoint (with `--table`) instead of a data folder.
    #[arg(long, requires = "table")]
    endpoint: Option<String>,
    /// The DynamoDB table.
    #[arg(long)]
    table: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates products `from`..`to` (numbers, not ids) over the first `categories` categories.
    Load {
        #[arg(long, default_value_t = 0)]
        from: usize,
        #[arg(long)]
        to: usize,
        #[arg(long, default_value_t = 10)]
        categories: usize,
        /// Creates in flight at a time.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Prints `NAME<TAB>round trips per request` for each scenario.
    Trips {
        /// Requests per scenario.
        #[arg(long, default_value_t = 20)]
        requests: u64,
        /// How many ids `{k}` cycles over (as loadgen's `--keys`).
        #[arg(long, default_value_t = 1)]
        keys: u64,
        scenarios: Vec<String>,
    },
}

fn ok(name: &str, status: StatusCode, body: &[u8]) {
    assert!(
        status.is_success(),
        "{name}: {status} {}",
        String::from_utf8_lossy(body)
    );
}

async fn get_json<S: Store>(engine: &Engine<S>, uri: &str) -> Value {
    let r = engine
        .handle_as_system(request(Method::GET, uri, None))
        .await;
    ok(uri, r.status, &r.body);
    serde_json::from_slice(&r.body).expect("JSON")
}

/// The ids of the first `n` categories, making the missing ones.
async fn categories<S: Store>(engine: &Engine<S>, n: usize) -> Vec<String> {
    let listed = get_json(engine, &format!("/api/categories?page[size]={n}&sort=id")).await;
    let mut ids: Vec<String> = listed["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect();
    while ids.len() < n {
        let body = json!({"data": {"type": "categories", "attributes": {"name": format!("Bench {}", ids.len() + 1)}}});
        let r = engine
            .handle_as_system(request(
                Method::POST,
                "/api/categories",
                Some(body.to_string()),
            ))
            .await;
        ok("category", r.status, &r.body);
        let created: Value = serde_json::from_slice(&r.body).expect("JSON");
        ids.push(created["data"]["id"].as_str().expect("an id").to_owned());
    }
    ids
}

async fn load<S: Store>(
    engine: Arc<Engine<S>>,
    from: usize,
    to: usize,
    categories_n: usize,
    concurrency: usize,
) {
    let started = std::time::Instant::now();
    let categories = Arc::new(categories(&engine, categories_n).await);
    let next = Arc::new(AtomicUsize::new(from));
    let loaders: Vec<_> = (0..concurrency)
        .map(|_| {
            let (engine, next, categories) = (Arc::clone(&engine), Arc::clone(&next), Arc::clone(&categories));
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= to {
                        break;
                    }
                    // Deterministic spread: prices 0.00..99.99, every fifth disabled.
                    let body = json!({"data": {"type": "products",
                        "attributes": {"sku": format!("BENCH-{n}"), "name": format!("Item {:06}", (n * 7919) % 1_000_000),
                            "price": format!("{}.{:02}", (n * 37) % 100, n % 100),
                            "status": if n % 5 == 0 { "disabled" } else { "enabled" }},
                        "relationships": {"category": {"data": {"type": "categories", "id": categories[n % categories.len()]}}}}});
                    let r = engine.handle_as_system(request(Method::POST, "/api/products", Some(body.to_string()))).await;
                    ok("product", r.status, &r.body);
                }
            })
        })
        .collect();
    for loader in loaders {
        loader.await.expect("a loader");
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "dataset: products {from}..{to} loaded in {secs:.1}s ({:.0}/s)",
        (to - from) as f64 / secs
    );
}

async fn trips<S: Store>(store: S, requests: u64, keys: u64, scenarios: &[String]) {
    let (store, trips) = Counting::new(store);
    let engine = Engine::new(jsonapi_config::example_domain(), store);
    for scenario in scenarios {
        let mut parts = scenario.splitn(4, '|');
        let (Some(name), Some(method), Some(path), body) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            panic!("a scenario is NAME|METHOD|PATH|BODY: {scenario}");
        };
        let method: Method = method.parse().expect("a method");
        let before = trips.snapshot().total();
        for n in 0..requests {
            let body = body
                .filter(|b| !b.is_empty())
                .map(|b| render_template(b, n, keys).replace("{run}", "trips"));
            let path = render_template(path, n, keys);
            let r = engine
                .handle_as_system(request(method.clone(), &path, body))
                .await;
            ok(name, r.status, &r.body);
        }
        let per = (trips.snapshot().total() - before) as f64 / requests as f64;
        println!("{name}\t{per:.1}");
    }
}

async fn run<S: Store>(store: S, command: Command) {
    match command {
        Command::Load {
            from,
            to,
            categories,
            concurrency,
        } => {
            let engine = Arc::new(Engine::new(jsonapi_config::example_domain(), store));
            load(engine, from, to, categories, concurrency).await;
        }
        Command::Trips {
            requests,
            keys,
            scenarios,
        } => trips(store, requests, keys, &scenarios).await,
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    match (cli.store.endpoint, cli.store.table, cli.store.data) {
        (Some(endpoint), Some(table), _) => {
            let config = jsonapi_store_dynamodb::Config {
                endpoint: Some(endpoint),
                table,
                region: None,
            };
            let store = jsonapi_store_dynamodb::DynamoStore::connect(config)
                .await
                .expect("the table");
            run(store, cli.command).await;
        }
        (_, _, Some(data)) => {
            let store =
                jsonapi_store_redb::RedbStore::open_existing(&data).expect("the data folder");
            run(store, cli.command).await;
        }
        _ => unreachable!("clap requires a data folder or an endpoint and a table"),
    }
}
