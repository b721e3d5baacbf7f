//! Planned reads, asserted by counting the store's round trips: a page costs an index range
//! read plus one batch read, an include level one more batch read, a write one transaction.
//! The same scenario runs on the embedded store and on DynamoDB Local, where an interceptor on
//! the SDK client also counts the HTTP requests sent to DynamoDB: they must equal the store's
//! round trips (no hidden retries or extra pages).
//!
//! Requests are made as the process itself (`Engine::handle_as_system`), except the ones that
//! show what a bearer token costs: nothing once the client and its roles are cached.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use jsonapi_auth::GrantType;
use jsonapi_engine::{ApiRequest, ApiResponse, Engine, MEDIA_TYPE};
use jsonapi_store::Store;
use jsonapi_store::counting::{Counting, RoundTripCounts, RoundTrips};
use serde_json::{Value, json};

struct Harness<S> {
    engine: Engine<Counting<S>>,
    trips: Arc<RoundTrips>,
    /// Requests the DynamoDB SDK sent, when the store is DynamoDB.
    sdk_requests: Option<Arc<AtomicU64>>,
}

/// Counts every request the DynamoDB SDK transmits (retries included).
#[derive(Debug, Clone, Default)]
struct CountRequests(Arc<AtomicU64>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "count-requests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn delta(after: RoundTripCounts, before: RoundTripCounts) -> RoundTripCounts {
    RoundTripCounts {
        gets: after.gets - before.gets,
        batch_gets: after.batch_gets - before.batch_gets,
        queries: after.queries - before.queries,
        counts: after.counts - before.counts,
        allocations: after.allocations - before.allocations,
        transactions: after.transactions - before.transactions,
        items_read: after.items_read - before.items_read,
    }
}

impl<S: Store> Harness<S> {
    fn new(store: S, sdk_requests: Option<Arc<AtomicU64>>) -> Self {
        let (store, trips) = Counting::new(store);
        Self {
            engine: Engine::new(jsonapi_config::example_domain(), store),
            trips,
            sdk_requests,
        }
    }

    /// A request as the process itself.
    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (ApiResponse, RoundTripCounts) {
        // JSON:API named in Accept: a request that names it nowhere gets the plain view.
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, MEDIA_TYPE.parse().unwrap());
        if body.is_some() {
            headers.insert(header::CONTENT_TYPE, MEDIA_TYPE.parse().unwrap());
        }
        self.send(method, uri, headers, body.map(|b| b.to_string()), true)
            .await
    }

    /// A request from outside, with `Authorization: Bearer token` when given one.
    async fn call_with_token(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
    ) -> (ApiResponse, RoundTripCounts) {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, MEDIA_TYPE.parse().unwrap());
        if let Some(token) = token {
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        self.send(method, uri, headers, None, false).await
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: HeaderMap,
        body: Option<String>,
        system: bool,
    ) -> (ApiResponse, RoundTripCounts) {
        let (path, query) = match uri.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (uri.to_owned(), None),
        };
        let request = ApiRequest {
            method,
            path,
            query,
            headers,
            body: body.map(Into::into).unwrap_or_default(),
            base_url: "http://test".to_owned(),
        };
        let before = self.trips.snapshot();
        let sdk_before = self.sdk_requests.as_ref().map(|c| c.load(Ordering::SeqCst));
        let response = if system {
            self.engine.handle_as_system(request).await
        } else {
            self.engine.handle(request).await
        };
        let trips = delta(self.trips.snapshot(), before);
        if let (Some(counter), Some(sdk_before)) = (&self.sdk_requests, sdk_before) {
            let sent = counter.load(Ordering::SeqCst) - sdk_before;
            assert_eq!(
                sent,
                trips.total(),
                "DynamoDB requests vs store round trips for {uri}"
            );
        }
        (response, trips)
    }

    async fn create(&self, ty: &str, data: Value) -> String {
        let (r, _) = self
            .call(
                Method::POST,
                &format!("/api/{ty}"),
                Some(json!({ "data": data })),
            )
            .await;
        let doc: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(r.status, StatusCode::CREATED, "{doc}");
        doc["data"]["id"].as_str().unwrap().to_owned()
    }
}

fn ids(response: &ApiResponse) -> Vec<String> {
    let doc: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(response.status, StatusCode::OK, "{doc}");
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn scenario<S: Store>(store: S, sdk_requests: Option<Arc<AtomicU64>>) {
    let h = Harness::new(store, sdk_requests);
    let mut categories = Vec::new();
    for name in ["A", "B", "C"] {
        categories.push(
            h.create(
                "categories",
                json!({"type": "categories", "attributes": {"name": name}}),
            )
            .await,
        );
    }
    // Product n: price n.50, category n % 3.
    let mut products = Vec::new();
    for n in 0..30_usize {
        let id = h
            .create(
                "products",
                json!({"type": "products",
                       "attributes": {"sku": format!("P{n}"), "name": format!("Product {n:02}"), "price": format!("{n}.50")},
                       "relationships": {"category": {"data": {"type": "categories", "id": categories[n % 3]}}}}),
            )
            .await;
        products.push((id, n));
    }
    let customer = h
        .create(
            "customers",
            json!({"type": "customers", "attributes": {"name": "C", "email": "c@example.com"}}),
        )
        .await;
    let order = h
        .create("orders", json!({"type": "orders", "relationships": {"customer": {"data": {"type": "customers", "id": customer}}}}))
        .await;
    let line = h
        .create(
            "orderlineitems",
            json!({"type": "orderlineitems", "attributes": {"quantity": 2, "price": "3.00"},
                   "relationships": {"order": {"data": {"type": "orders", "id": order}},
                                     "product": {"data": {"type": "products", "id": products[0].0}}}}),
        )
        .await;

    // One resource: one read.
    let (r, trips) = h
        .call(
            Method::GET,
            &format!("/api/products/{}", products[7].0),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(trips.total(), 1, "{trips:?}");

    // One resource with two to-one relationships included: one read plus one batch read.
    let (r, trips) = h
        .call(
            Method::GET,
            &format!("/api/orderlineitems/{line}?include=order,product"),
            None,
        )
        .await;
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(doc["included"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(
        (trips.gets, trips.batch_gets, trips.total()),
        (1, 1, 2),
        "{trips:?}"
    );

    // A page of 10 filtered on an indexed field, by id: an index range and a batch read.
    let expected: Vec<String> = products
        .iter()
        .filter(|(_, n)| n % 3 == 1)
        .map(|(id, _)| id.clone())
        .take(10)
        .collect();
    let (r, trips) = h
        .call(
            Method::GET,
            &format!(
                "/api/products?filter[category]={}&page[size]=10",
                categories[1]
            ),
            None,
        )
        .await;
    assert_eq!(ids(&r), expected);
    assert!(trips.total() <= 2, "{trips:?}");

    // Filtered and sorted by the same field, descending.
    let mut expected: Vec<(String, usize)> =
        products.iter().filter(|(_, n)| *n >= 10).cloned().collect();
    expected.sort_by_key(|p| std::cmp::Reverse(p.1));
    let expected: Vec<String> = expected.into_iter().map(|(id, _)| id).take(10).collect();
    let (r, trips) = h
        .call(
            Method::GET,
            "/api/products?filter[price][gte]=10&sort=-price&page[size]=10",
            None,
        )
        .await;
    assert_eq!(ids(&r), expected);
    assert!(trips.total() <= 2, "{trips:?}");

    // A predicate the index cannot apply (status) reads ahead twice the page, not a hundred
    // items: every product is enabled, so the first read-ahead fills the page of 3 and the
    // one more that says whether more follow.
    let (r, trips) = h
        .call(
            Method::GET,
            "/api/products?filter[status]=enabled&filter[price][gte]=10&sort=-price&page[size]=3",
            None,
        )
        .await;
    assert_eq!(ids(&r), expected[..3]);
    assert!(trips.total() <= 2, "{trips:?}");
    assert!(trips.items_read <= 2 * 4, "{trips:?}");

    // A composite index serves an equality on one field sorted by another.
    let mut expected: Vec<(String, usize)> = products
        .iter()
        .filter(|(_, n)| n % 3 == 0)
        .cloned()
        .collect();
    expected.sort_by_key(|p| std::cmp::Reverse(p.1));
    let expected: Vec<String> = expected.into_iter().map(|(id, _)| id).take(5).collect();
    let (r, trips) = h
        .call(
            Method::GET,
            &format!(
                "/api/products?filter[category]={}&sort=-price&page[size]=5",
                categories[0]
            ),
            None,
        )
        .await;
    assert_eq!(ids(&r), expected);
    assert!(trips.total() <= 2, "{trips:?}");

    // Each include level adds one batch read.
    let (r, trips) = h
        .call(
            Method::GET,
            &format!(
                "/api/products?filter[category]={}&page[size]=10&include=category",
                categories[2]
            ),
            None,
        )
        .await;
    assert_eq!(ids(&r).len(), 10);
    assert!(trips.total() <= 3 && trips.batch_gets == 2, "{trips:?}");

    // A write is one transaction.
    let (r, trips) = h
        .call(
            Method::PATCH,
            &format!("/api/products/{}", products[3].0),
            Some(json!({"data": {"type": "products", "id": products[3].0, "attributes": {"price": "99.00"}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(trips.transactions, 1, "{trips:?}");
    let (r, trips) = h
        .call(Method::POST, "/api/products", Some(json!({"data": {"type": "products", "attributes": {"sku": "NEW", "name": "New", "price": "1"}}})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(trips.transactions, 1, "{trips:?}");
    assert!(trips.allocations <= 1, "{trips:?}");

    cursor_pages(&h, &categories[0]).await;
    bearer_costs_nothing_once_cached(&h, &products[7].0).await;
}

/// The `next` link of a list response, as a path.
fn next_link(response: &ApiResponse) -> String {
    let doc: Value = serde_json::from_slice(&response.body).unwrap();
    let next = doc["links"]["next"]
        .as_str()
        .unwrap_or_else(|| panic!("a next link in {doc}"));
    next.strip_prefix("http://test").unwrap().to_owned()
}

/// The round trips of the second page of a cursor walk of `path`, which must hold what the
/// same list's second numbered page holds.
async fn second_cursor_page<S: Store>(
    h: &Harness<S>,
    path: &str,
) -> (Vec<String>, RoundTripCounts) {
    let (first, _) = h
        .call(Method::GET, &format!("{path}&page[after]="), None)
        .await;
    let (r, trips) = h.call(Method::GET, &next_link(&first), None).await;
    let (numbered, _) = h
        .call(Method::GET, &format!("{path}&page[number]=2"), None)
        .await;
    assert_eq!(ids(&r), ids(&numbered), "{path}");
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    let names = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["attributes"]["name"].as_str().unwrap().to_owned())
        .collect();
    (names, trips)
}

/// A cursor page costs what a first page costs: the cursor holds the last resource's sort
/// values and id, and the read starts just past its index entry (or, sorted in memory, past
/// it among the matches).
async fn cursor_pages<S: Store>(h: &Harness<S>, category: &str) {
    // Names that share their first 800 bytes have one cut key in the name index: the group is
    // read in one range read and ordered by the names; a page that ends inside it resumes at
    // its start.
    let clefs = "\u{1D11E}".repeat(200);
    for tail in ["e", "a", "d", "b", "c"] {
        h.create(
            "products",
            json!({"type": "products", "attributes": {"sku": format!("LONG-{tail}"), "name": format!("{clefs}{tail}"), "price": "1"}}),
        )
        .await;
    }
    let long_names =
        format!("/api/products?filter[name][starts_with]={clefs}&sort=name&page[size]=2");
    // (path, page size, queries, batch reads): the sort field's index; sorted in memory, as
    // no index holds a category's products by quantity (the probe that chooses this plan at
    // most 200 matches, the range, one batch read; by two fields there is no other plan, so no
    // probe); inside a group of cut keys.
    let cases = [
        ("/api/products?sort=-price&page[size]=4".to_owned(), 4, 1, 1),
        (
            format!("/api/products?filter[category]={category}&sort=-quantity&page[size]=3"),
            3,
            2,
            1,
        ),
        (
            format!("/api/products?filter[category]={category}&sort=-quantity,name&page[size]=3"),
            3,
            1,
            1,
        ),
        (long_names.clone(), 2, 1, 1),
    ];
    for (path, size, queries, batch_gets) in cases {
        let (names, trips) = second_cursor_page(h, &path).await;
        assert_eq!(names.len(), size, "{path}");
        assert_eq!(
            (trips.queries, trips.batch_gets, trips.total()),
            (queries, batch_gets, queries + batch_gets),
            "{path}: {trips:?}"
        );
    }
    let (names, _) = second_cursor_page(h, &long_names).await;
    assert_eq!(names, [format!("{clefs}c"), format!("{clefs}d")]);
}

/// A token's client and roles are read once and then cached (`jsonapi_engine::auth::CACHE_TTL`),
/// so that an authenticated GET of one resource costs what it costs without authentication:
/// one round trip. The published public keys that check tokens (the key is kept in the store
/// here) are read once per cache period too, before the first token is checked. Refusals cost
/// none: the token is checked with the keys in memory. A user's token also reads its user (at
/// the same time as its client), once per cache period.
async fn bearer_costs_nothing_once_cached<S: Store>(h: &Harness<S>, product: &str) {
    h.create(
        "roles",
        json!({"type": "roles", "id": "reader", "attributes": {"label": "Reader", "permissions": {"products": ["VIEW"]}}}),
    )
    .await;
    h.create(
        "users",
        json!({"type": "users", "attributes": {"username": "reading", "email": "reading@example.com", "password": "round-trips"},
               "relationships": {"roles": {"data": [{"type": "roles", "id": "reader"}]}}}),
    )
    .await;
    let client = h
        .engine
        .clients()
        .await
        .unwrap()
        .create(
            "round trips",
            &["reader".to_owned()],
            &[GrantType::ClientCredentials, GrantType::Password],
        )
        .await
        .unwrap();
    let credentials = json!({"client_id": client.id, "client_secret": client.secret.expose()});
    let token = |extra: Value| {
        let mut body = credentials.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        async move {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            let (r, _) = h
                .send(
                    Method::POST,
                    "/oauth2-token",
                    headers,
                    Some(body.to_string()),
                    false,
                )
                .await;
            let answer: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(r.status, StatusCode::OK, "{answer}");
            answer["access_token"].as_str().unwrap().to_owned()
        }
    };
    let uri = format!("/api/products/{product}");

    // The first request reads the published keys, the client (is it revoked?) and its role's
    // permissions.
    let client_token = token(json!({"grant_type": "client_credentials"})).await;
    let (r, trips) = h
        .call_with_token(Method::GET, &uri, Some(&client_token))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (trips.gets, trips.batch_gets, trips.total()),
        (3, 1, 4),
        "keys + client + role + resource: {trips:?}"
    );
    // Then one resource is one read again, as without authentication.
    let (r, trips) = h
        .call_with_token(Method::GET, &uri, Some(&client_token))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(trips.total(), 1, "{trips:?}");
    // A permission the role lacks is refused from the cache too.
    let (r, trips) = h
        .call_with_token(Method::DELETE, &uri, Some(&client_token))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(trips.total(), 0, "{trips:?}");

    // A user's token: its user is read besides (the client and the role are cached by now),
    // then nothing but the resource.
    let user_token =
        token(json!({"grant_type": "password", "username": "reading", "password": "round-trips"}))
            .await;
    let (r, trips) = h
        .call_with_token(Method::GET, &uri, Some(&user_token))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (trips.gets, trips.total()),
        (2, 2),
        "user + resource: {trips:?}"
    );
    let (r, trips) = h
        .call_with_token(Method::GET, &uri, Some(&user_token))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(trips.total(), 1, "{trips:?}");

    // No token, or one that does not verify: refused before the store is asked anything.
    let (r, trips) = h.call_with_token(Method::GET, &uri, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(trips.total(), 0, "{trips:?}");
    let (signed, signature) = client_token.rsplit_once('.').unwrap();
    let other = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{signed}.{other}{}", &signature[1..]);
    let (r, trips) = h.call_with_token(Method::GET, &uri, Some(&tampered)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(trips.total(), 0, "{trips:?}");
}

#[tokio::test]
async fn planned_reads_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    scenario(
        jsonapi_store_redb::RedbStore::open(dir.path()).unwrap(),
        None,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn planned_reads_on_dynamodb() {
    let endpoint = std::env::var("JSONAPI_DYNAMODB_ENDPOINT")
        .expect("JSONAPI_DYNAMODB_ENDPOINT is not set: start DynamoDB Local with `infra/dynamodb/local.sh start 8000` and set it to http://127.0.0.1:8000");
    let table = format!("roundtrips-{}", ulid::Ulid::new());
    let counter = CountRequests::default();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(counter.clone())
        .build();
    let store = jsonapi_store_dynamodb::DynamoStore::from_client(
        aws_sdk_dynamodb::Client::from_conf(config),
        table,
    );
    store.create_table().await.unwrap();
    scenario(store.clone(), Some(Arc::clone(&counter.0))).await;
    store.delete_table().await.unwrap();
}
