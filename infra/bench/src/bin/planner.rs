//! The query planner's benchmark, in process (no HTTP): loads N products, then runs each
//! scenario for a few seconds and prints requests per second and the store round trips per
//! request, for the embedded store and (with `--endpoint`) DynamoDB Local.
//!
//! `cargo run --release -p jsonapi-bench --bin planner -- --products 100000`

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use http::{Method, StatusCode};
use jsonapi_bench::request;
use jsonapi_engine::Engine;
use jsonapi_store::Store;
use jsonapi_store::counting::{Counting, RoundTrips};
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// Products to load.
    #[arg(long, default_value_t = 100_000)]
    products: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Concurrent requests while loading.
    #[arg(long, default_value_t = 16)]
    load_concurrency: usize,
    /// A DynamoDB Local endpoint: benchmark the DynamoDB backend instead of the embedded one.
    #[arg(long)]
    endpoint: Option<String>,
}

async fn run<S: Store>(store: S, args: &Args, backend: &str) {
    let (store, trips) = Counting::new(store);
    // Requests run as the process itself: this measures the planner and the store round
    // trips; token checks are measured over HTTP by run.sh.
    let engine = Arc::new(Engine::new(jsonapi_config::example_domain(), store));
    load(&engine, args, backend).await;
    measure(&engine, &trips, args, backend).await;
}

/// Five categories, then `args.products` products created concurrently.
async fn load<S: Store>(engine: &Arc<Engine<S>>, args: &Args, backend: &str) {
    let started = Instant::now();
    for name in ["Garden", "Kitchen", "Office", "Outdoor", "Toys"] {
        let body =
            json!({"data": {"type": "categories", "attributes": {"name": name}}}).to_string();
        engine
            .handle_as_system(request(Method::POST, "/api/categories", Some(body)))
            .await;
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let loaders: Vec<_> = (0..args.load_concurrency)
        .map(|_| {
            let (engine, next, total) = (Arc::clone(engine), Arc::clone(&next), args.products);
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= total {
                        break;
                    }
                    // Deterministic spread: prices 0.00..99.99, names scrambled against ids.
                    let body = json!({"data": {"type": "products",
                        "attributes": {"sku": format!("B{n}"), "name": format!("Item {:05}", (n * 7919) % 100_000), "price": format!("{}.{:02}", (n * 37) % 100, n % 100)},
                        "relationships": {"category": {"data": {"type": "categories", "id": ((n % 5) + 1).to_string()}}}}});
                    let r = engine.handle_as_system(request(Method::POST, "/api/products", Some(body.to_string()))).await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
                }
            })
        })
        .collect();
    for l in loaders {
        l.await.expect("loader");
    }
    let load = started.elapsed();
    eprintln!(
        "{backend}: loaded {} products in {:.1}s ({:.0}/s)",
        args.products,
        load.as_secs_f64(),
        args.products as f64 / load.as_secs_f64()
    );
}

/// Runs each scenario for `args.seconds`: requests per second and round trips per request.
async fn measure<S: Store>(engine: &Engine<S>, trips: &RoundTrips, args: &Args, backend: &str) {
    let scenarios: [(&str, Method, &str); 5] = [
        ("GET one", Method::GET, "/api/products/777"),
        ("GET list page", Method::GET, "/api/products?page[size]=10"),
        (
            "filtered, sorted page + include",
            Method::GET,
            "/api/products?filter[category]=3&sort=-price&page[size]=10&include=category",
        ),
        (
            "price range, sorted by name",
            Method::GET,
            "/api/products?filter[price][gte]=40&filter[price][lt]=60&sort=name&page[size]=10",
        ),
        ("POST create", Method::POST, "/api/products"),
    ];
    println!(
        "{backend:<10} {:<34} {:>10} {:>16}",
        "scenario", "req/s", "round trips/req"
    );
    for (name, method, uri) in scenarios {
        let before = trips.snapshot().total();
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let mut n = 0_u64;
        while Instant::now() < deadline {
            let body = (method == Method::POST).then(|| {
                json!({"data": {"type": "products", "attributes": {"sku": format!("N{n}"), "name": "New", "price": "1.00"}}}).to_string()
            });
            let r = engine
                .handle_as_system(request(method.clone(), uri, body))
                .await;
            assert!(
                r.status.is_success(),
                "{name}: {}",
                String::from_utf8_lossy(&r.body)
            );
            n += 1;
        }
        let per = (trips.snapshot().total() - before) as f64 / n as f64;
        println!(
            "{backend:<10} {name:<34} {:>10.0} {per:>16.2}",
            n as f64 / args.seconds as f64
        );
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match &args.endpoint {
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            run(
                jsonapi_store_redb::RedbStore::open(dir.path()).expect("store"),
                &args,
                "embedded",
            )
            .await;
        }
        Some(endpoint) => {
            let config = jsonapi_store_dynamodb::Config {
                endpoint: Some(endpoint.clone()),
                table: format!("bench-{}", std::process::id()),
                region: None,
            };
            let store = jsonapi_store_dynamodb::DynamoStore::connect_creating(config)
                .await
                .expect("DynamoDB makes a table");
            run(store.clone(), &args, "dynamodb").await;
            store.delete_table().await.expect("table");
        }
    }
}
