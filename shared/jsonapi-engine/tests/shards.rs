//! A type declared with `shards: 4`: its listing and index entries are spread over four
//! partitions (none in the unsharded one), a page reads each shard once and merges them into
//! the unsharded order (cursor walks, numbered pages, counts), and updates and deletes leave
//! no entry behind. On the embedded store and on DynamoDB Local.

use std::sync::Arc;

use http::{HeaderMap, Method, StatusCode, header};
use jsonapi_engine::{ApiRequest, ApiResponse, Engine, MEDIA_TYPE};
use jsonapi_store::counting::{Counting, RoundTrips};
use jsonapi_store::{RangeQuery, Store};
use serde_json::{Value, json};

const SHARDS: u32 = 4;
const PRODUCTS: usize = 40;

struct Harness<S> {
    engine: Engine<Counting<S>>,
    trips: Arc<RoundTrips>,
}

impl<S: Store> Harness<S> {
    fn new(store: S) -> Self {
        let text = jsonapi_config::EXAMPLE_DOMAIN.replacen(
            "\n  products:\n",
            &format!("\n  products:\n    shards: {SHARDS}\n"),
            1,
        );
        let schema = jsonapi_config::parse("example.yaml", &text).unwrap();
        let (store, trips) = Counting::new(store);
        Self {
            engine: Engine::new(schema, store),
            trips,
        }
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> ApiResponse {
        let (path, query) = match uri.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (uri.to_owned(), None),
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, MEDIA_TYPE.parse().unwrap());
        headers.insert("x-include", "totalCount".parse().unwrap());
        if body.is_some() {
            headers.insert(header::CONTENT_TYPE, MEDIA_TYPE.parse().unwrap());
        }
        let request = ApiRequest {
            method,
            path,
            query,
            headers,
            body: body.map(|b| b.to_string().into()).unwrap_or_default(),
            base_url: "http://test".to_owned(),
        };
        self.engine.handle_as_system(request).await
    }

    async fn create(&self, ty: &str, data: Value) -> String {
        let r = self
            .call(
                Method::POST,
                &format!("/api/{ty}"),
                Some(json!({ "data": data })),
            )
            .await;
        let doc = body(&r);
        assert_eq!(r.status, StatusCode::CREATED, "{doc}");
        doc["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Every id of a list, walking its `next` links, and the total count of its first page.
    async fn walk(&self, uri: &str) -> (Vec<String>, u64) {
        let mut ids = Vec::new();
        let mut next = Some(uri.to_owned());
        let mut total = None;
        while let Some(uri) = next {
            let r = self.call(Method::GET, &uri, None).await;
            let doc = body(&r);
            assert_eq!(r.status, StatusCode::OK, "{uri}: {doc}");
            total.get_or_insert_with(|| {
                r.headers["x-include-total-count"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            });
            ids.extend(page_ids(&doc));
            next = doc["links"]["next"]
                .as_str()
                .map(|l| l.trim_start_matches("http://test").to_owned());
            assert!(ids.len() <= PRODUCTS, "the walk repeats: {ids:?}");
        }
        (ids, total.unwrap())
    }

    /// How many entries a partition's shards hold, and how many the unsharded one does.
    async fn entries(&self, pk: &str) -> (Vec<u64>, u64) {
        let store = self.engine.store();
        let mut per_shard = Vec::new();
        for k in 0..SHARDS {
            let shard = jsonapi_engine::shards::shard_pk(pk, k);
            per_shard.push(store.count(&RangeQuery::partition(shard, 1)).await.unwrap());
        }
        let unsharded = store.count(&RangeQuery::partition(pk, 1)).await.unwrap();
        (per_shard, unsharded)
    }
}

fn body(r: &ApiResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn page_ids(doc: &Value) -> Vec<String> {
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn scenario<S: Store>(store: S) {
    let h = Harness::new(store);
    let mut categories = Vec::new();
    for name in ["A", "B", "C"] {
        let data = json!({"type": "categories", "attributes": {"name": name}});
        categories.push(h.create("categories", data).await);
    }
    // Product n: price (n * 7 % 40).25, so that price order is not id order.
    let mut products = Vec::new();
    for n in 0..PRODUCTS {
        let data = json!({"type": "products",
            "attributes": {"sku": format!("P{n}"), "name": format!("Product {n:02}"), "price": format!("{}.25", n * 7 % 40)},
            "relationships": {"category": {"data": {"type": "categories", "id": categories[n % 3]}}}});
        products.push((h.create("products", data).await, n * 7 % 40, n % 3));
    }

    // The entries are in the shards only, and in every one of them.
    for pk in [
        "list#products",
        "idx#products#price",
        "idx#products#category+price",
    ] {
        let (per_shard, unsharded) = h.entries(pk).await;
        assert_eq!(unsharded, 0, "{pk}");
        assert_eq!(per_shard.iter().sum::<u64>(), PRODUCTS as u64, "{pk}");
        assert!(per_shard.iter().all(|n| *n > 0), "{pk}: {per_shard:?}");
    }

    // A page: one range read per shard, one batch read of the resources.
    let before = h.trips.snapshot();
    let r = h
        .call(Method::GET, "/api/products?page[size]=10", None)
        .await;
    let after = h.trips.snapshot();
    let first = page_ids(&body(&r));
    let by_id: Vec<String> = products.iter().map(|(id, _, _)| id.clone()).collect();
    assert_eq!(first, by_id[..10]);
    assert_eq!(
        after.queries - before.queries,
        u64::from(SHARDS),
        "{after:?}"
    );
    assert_eq!(after.batch_gets - before.batch_gets, 1, "{after:?}");

    // Cursor walks, in the unsharded order, every product once.
    let mut by_price = products.clone();
    by_price.sort_by_key(|(id, price, _)| {
        (
            std::cmp::Reverse(*price),
            std::cmp::Reverse(id.parse::<u64>().unwrap()),
        )
    });
    let by_price: Vec<String> = by_price.into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(
        h.walk("/api/products?page[size]=7&page[after]=").await,
        (by_id.clone(), 40)
    );
    assert_eq!(
        h.walk("/api/products?sort=-price&page[size]=3&page[after]=")
            .await,
        (by_price, 40)
    );
    let in_category: Vec<String> = products
        .iter()
        .filter(|(_, _, c)| *c == 1)
        .map(|(id, _, _)| id.clone())
        .collect();
    let uri = format!(
        "/api/products?filter[category]={}&page[size]=4&page[after]=",
        categories[1]
    );
    let count = in_category.len() as u64;
    assert_eq!(h.walk(&uri).await, (in_category, count));
    // A numbered page counts positions over the merged order.
    let r = h
        .call(
            Method::GET,
            "/api/products?page[size]=10&page[number]=3",
            None,
        )
        .await;
    assert_eq!(page_ids(&body(&r)), by_id[20..30]);

    // An update moves its entries within its shard; a delete removes them.
    let (id, _, _) = &products[5];
    let patch = json!({"data": {"type": "products", "id": id, "attributes": {"price": "99.00"}}});
    let r = h
        .call(Method::PATCH, &format!("/api/products/{id}"), Some(patch))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", body(&r));
    let r = h
        .call(
            Method::DELETE,
            &format!("/api/products/{}", products[6].0),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for pk in ["list#products", "idx#products#price"] {
        let (per_shard, _) = h.entries(pk).await;
        assert_eq!(per_shard.iter().sum::<u64>(), PRODUCTS as u64 - 1, "{pk}");
    }
    let r = h
        .call(Method::GET, "/api/products?sort=-price&page[size]=1", None)
        .await;
    assert_eq!(page_ids(&body(&r)), std::slice::from_ref(id));
}

#[tokio::test]
async fn sharded_lists_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    scenario(jsonapi_store_redb::RedbStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn sharded_lists_on_dynamodb() {
    let endpoint = std::env::var("JSONAPI_DYNAMODB_ENDPOINT")
        .expect("JSONAPI_DYNAMODB_ENDPOINT names DynamoDB Local's endpoint");
    let config = jsonapi_store_dynamodb::Config {
        endpoint: Some(endpoint),
        table: format!("shards-{}", ulid::Ulid::new()),
        region: None,
    };
    let store = jsonapi_store_dynamodb::DynamoStore::connect_creating(config)
        .await
        .unwrap();
    scenario(store.clone()).await;
    store.delete_table().await.unwrap();
}
