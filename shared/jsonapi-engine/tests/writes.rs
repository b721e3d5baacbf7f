//! Writes that must be all or nothing: compound documents, upsert races, validate-only
//! requests, and a store that fails in the middle of a transaction. Requests are made as the
//! process itself (`Engine::handle_as_system`): authentication is the black-box suite's concern.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{HeaderMap, Method, StatusCode, header};
use jsonapi_engine::{ApiRequest, Engine, MEDIA_TYPE};
use jsonapi_store::{Item, Key, QueryPage, RangeQuery, Store, StoreError, StoreResult, Write};
use jsonapi_store_redb::RedbStore;
use serde_json::{Value, json};

/// A store whose transactions fail while `failing` is set: the storage failing mid-write. It
/// keeps the actions of the last transaction it was given. With `rival` set, another process
/// rewrites that resource item (a new version) just before the next transaction: a race no
/// lock in this process can see.
#[derive(Debug)]
struct Faulty {
    inner: RedbStore,
    failing: Arc<AtomicBool>,
    last: Arc<Mutex<Vec<Write>>>,
    rival: Arc<Mutex<Option<Key>>>,
}

impl Store for Faulty {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.inner.batch_get(keys).await
    }
    async fn query(&self, query: &RangeQuery) -> StoreResult<QueryPage> {
        self.inner.query(query).await
    }
    async fn count(&self, query: &RangeQuery) -> StoreResult<u64> {
        self.inner.count(query).await
    }
    async fn allocate(&self, key: &Key, n: u64) -> StoreResult<u64> {
        self.inner.allocate(key, n).await
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        writes.clone_into(&mut self.last.lock().unwrap());
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Internal("injected failure".to_owned()));
        }
        let rival = self.rival.lock().unwrap().take();
        if let Some(key) = rival {
            let mut item = self.inner.get(&key).await?.expect("the rival's resource");
            let version = item.attrs["v"].as_u64().unwrap();
            item.attrs.insert("v".into(), (version + 1).into());
            item.attrs["a"]["name"] = json!("Rival");
            self.inner
                .transact(vec![Write::Put {
                    item,
                    condition: None,
                }])
                .await?;
        }
        self.inner.transact(writes).await
    }
}

async fn call<S: Store>(
    engine: &Engine<S>,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call_with(engine, method, uri, body, HeaderMap::new())
        .await
        .0
}

/// As [`call`], with more headers; also returns the response's headers.
async fn call_with<S: Store>(
    engine: &Engine<S>,
    method: Method,
    uri: &str,
    body: Option<Value>,
    mut headers: HeaderMap,
) -> ((StatusCode, Value), HeaderMap) {
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (uri.to_owned(), None),
    };
    headers.insert(header::CONTENT_TYPE, MEDIA_TYPE.parse().unwrap());
    let request = ApiRequest {
        method,
        path,
        query,
        headers,
        body: body.map(|b| b.to_string().into()).unwrap_or_default(),
        base_url: "http://test".to_owned(),
    };
    let response = engine.handle_as_system(request).await;
    let doc = if response.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&response.body).unwrap()
    };
    ((response.status, doc), response.headers)
}

fn engine_in(dir: &std::path::Path) -> Engine<RedbStore> {
    jsonapi_example::engine(
        jsonapi_config::example_domain(),
        RedbStore::open(dir).unwrap(),
    )
}

async fn customer<S: Store>(engine: &Engine<S>) -> String {
    let (status, doc) = call(engine, Method::POST, "/api/customers", Some(json!({"data": {"type": "customers", "attributes": {"name": "C", "email": "c@example.com"}}}))).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    doc["data"]["id"].as_str().unwrap().to_owned()
}

async fn product<S: Store>(engine: &Engine<S>, sku: &str) -> String {
    let body = json!({"data": {"type": "products", "attributes": {"sku": sku, "name": sku, "price": "1"}}});
    let (status, doc) = call(engine, Method::POST, "/api/products", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    doc["data"]["id"].as_str().unwrap().to_owned()
}

fn order_with_lines(customer: &str, product: &str) -> Value {
    json!({
        "data": {"type": "orders", "lid": "o", "relationships": {"customer": {"data": {"type": "customers", "id": customer}}}},
        "included": [
            {"type": "orderlineitems", "id": "a", "attributes": {"quantity": 3, "price": "2.50"},
             "relationships": {"order": {"data": {"type": "orders", "lid": "o"}}, "product": {"data": {"type": "products", "id": product}}}},
            {"type": "orderlineitems", "id": "b", "attributes": {"quantity": 1, "price": "0.25"},
             "relationships": {"order": {"data": {"type": "orders", "lid": "o"}}, "product": {"data": {"type": "products", "id": product}}}}
        ]
    })
}

#[tokio::test]
async fn a_compound_create_is_one_transaction_and_leaves_nothing_when_the_store_fails() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(AtomicBool::new(false));
    let store = Faulty {
        inner: RedbStore::open(dir.path()).unwrap(),
        failing: Arc::clone(&failing),
        last: Arc::default(),
        rival: Arc::default(),
    };
    let engine = jsonapi_example::engine(jsonapi_config::example_domain(), store);
    let c = customer(&engine).await;
    let p = product(&engine, "P").await;

    failing.store(true, Ordering::SeqCst);
    let (status, doc) = call(
        &engine,
        Method::POST,
        "/api/orders",
        Some(order_with_lines(&c, &p)),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{doc}");
    assert!(
        !doc.to_string().contains("injected"),
        "the cause stays in the logs: {doc}"
    );
    failing.store(false, Ordering::SeqCst);
    for ty in ["orders", "orderlineitems"] {
        let (_, doc) = call(&engine, Method::GET, &format!("/api/{ty}"), None).await;
        assert_eq!(doc["data"], json!([]), "no partial graph of {ty}");
    }

    let (status, doc) = call(
        &engine,
        Method::POST,
        "/api/orders",
        Some(order_with_lines(&c, &p)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["data"]["attributes"]["total"], "7.75");
    let included = doc["included"].as_array().unwrap();
    assert_eq!(included.len(), 2);
    assert_eq!(included[0]["meta"]["includeId"], "a");
    assert_eq!(
        doc["data"]["relationships"]["lineItems"]["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn an_invalid_included_item_rejects_the_whole_request() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(dir.path());
    let c = customer(&engine).await;
    let p = product(&engine, "P").await;
    let mut body = order_with_lines(&c, &p);
    body["included"][1]["attributes"]["quantity"] = json!(0);
    let (status, doc) = call(&engine, Method::POST, "/api/orders", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");
    assert_eq!(
        doc["errors"][0]["source"]["pointer"],
        "/included/1/attributes/quantity"
    );
    let (_, doc) = call(&engine, Method::GET, "/api/orders", None).await;
    assert_eq!(doc["data"], json!([]));
}

#[tokio::test]
async fn concurrent_upserts_of_one_key_make_one_resource() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(engine_in(dir.path()));
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let engine = Arc::clone(&engine);
            tokio::spawn(async move {
                let body = json!({"data": {"type": "products", "meta": {"upsert": ["sku"]},
                                           "attributes": {"sku": "RACE", "name": format!("v{n}"), "price": "1"}}});
                call(&engine, Method::POST, "/api/products", Some(body)).await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let (status, doc) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected {other}: {doc}"),
        }
    }
    assert_eq!(created, 1);
    let (_, doc) = call(
        &*engine,
        Method::GET,
        "/api/products?filter[sku]=RACE",
        None,
    )
    .await;
    assert_eq!(doc["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn validate_persists_nothing_and_consumes_no_id() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(dir.path());
    product(&engine, "FIRST").await;
    let body = json!({"data": {"type": "products", "meta": {"validate": true}, "attributes": {"sku": "V", "name": "V", "price": "1"}}});
    let (status, doc) = call(&engine, Method::POST, "/api/products", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let would_be = doc["data"]["id"].as_str().unwrap().to_owned();
    let (_, list) = call(&engine, Method::GET, "/api/products?filter[sku]=V", None).await;
    assert_eq!(list["data"], json!([]));
    assert_eq!(
        product(&engine, "REAL").await,
        would_be,
        "the id the dry run showed is still free"
    );

    let taken = json!({"data": {"type": "products", "meta": {"validate": true}, "attributes": {"sku": "REAL", "name": "V", "price": "1"}}});
    let (status, doc) = call(&engine, Method::POST, "/api/products", Some(taken)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");
    assert_eq!(doc["errors"][0]["title"], "unique entity constraint");

    let (status, doc) = call(&engine, Method::POST, "/api/categories", Some(json!({"data": {"type": "categories", "meta": {"validate": true}, "attributes": {"name": "x"}}}))).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "categories do not enable validation: {doc}"
    );
    assert_eq!(doc["errors"][0]["source"]["pointer"], "/meta/validate");
}

#[tokio::test]
async fn inverse_sides_agree_and_totals_follow_relationship_writes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(dir.path());
    let c = customer(&engine).await;
    let p = product(&engine, "P").await;
    let (_, first) = call(
        &engine,
        Method::POST,
        "/api/orders",
        Some(order_with_lines(&c, &p)),
    )
    .await;
    let first_id = first["data"]["id"].as_str().unwrap().to_owned();
    let line_a = first["included"][0]["id"].as_str().unwrap().to_owned();
    let (_, second) = call(&engine, Method::POST, "/api/orders", Some(json!({"data": {"type": "orders", "relationships": {"customer": {"data": {"type": "customers", "id": c}}}}}))).await;
    let second_id = second["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(second["data"]["attributes"]["total"], "0.00");

    // Move line a (3 x 2.50) to the second order through the order's to-one side.
    let (status, _) = call(
        &engine,
        Method::PATCH,
        &format!("/api/orderlineitems/{line_a}/relationships/order"),
        Some(json!({"data": {"type": "orders", "id": second_id}})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, o1) = call(
        &engine,
        Method::GET,
        &format!("/api/orders/{first_id}"),
        None,
    )
    .await;
    let (_, o2) = call(
        &engine,
        Method::GET,
        &format!("/api/orders/{second_id}"),
        None,
    )
    .await;
    assert_eq!(o1["data"]["attributes"]["total"], "0.25");
    assert_eq!(o2["data"]["attributes"]["total"], "7.50");
    assert_eq!(
        o2["data"]["relationships"]["lineItems"]["data"],
        json!([{"type": "orderlineitems", "id": line_a}])
    );

    // Line items cannot leave an order without another: their order is required.
    let (status, doc) = call(
        &engine,
        Method::PATCH,
        &format!("/api/orders/{second_id}/relationships/lineItems"),
        Some(json!({"data": []})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");

    // Deleting an order deletes its line items (cascade); its customer refuses while orders remain.
    let (status, doc) = call(
        &engine,
        Method::DELETE,
        &format!("/api/customers/{c}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{doc}");
    let (status, _) = call(
        &engine,
        Method::DELETE,
        &format!("/api/orders/{second_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &engine,
        Method::GET,
        &format!("/api/orderlineitems/{line_a}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn passwords_are_stored_only_as_argon2id_hashes_and_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(dir.path());
    let body = json!({"data": {"type": "users", "attributes": {"username": "ada", "email": "ada@example.com", "password": "s3cret-Pass"}}});
    let (status, doc) = call(&engine, Method::POST, "/api/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert!(
        doc["data"]["attributes"].get("password").is_none(),
        "input-only: {doc}"
    );
    let id = doc["data"]["id"].as_str().unwrap().to_owned();
    let stored = |engine: &Engine<RedbStore>| {
        let key = Key::new(format!("users#{id}"), "#");
        let store = engine.store().clone();
        async move {
            store.get(&key).await.unwrap().unwrap().attrs["a"]["password"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = stored(&engine).await;
    assert!(first.starts_with("$argon2id$"), "{first}");
    assert!(!first.contains("s3cret-Pass"));

    // An update without a password keeps the hash; a new password gets a new hash.
    let patch = json!({"data": {"type": "users", "id": id, "attributes": {"firstName": "Ada"}}});
    call(
        &engine,
        Method::PATCH,
        &format!("/api/users/{id}"),
        Some(patch),
    )
    .await;
    assert_eq!(stored(&engine).await, first);
    let patch =
        json!({"data": {"type": "users", "id": id, "attributes": {"password": "an0ther-Pass"}}});
    let (status, _) = call(
        &engine,
        Method::PATCH,
        &format!("/api/users/{id}"),
        Some(patch),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let second = stored(&engine).await;
    assert!(
        second.starts_with("$argon2id$") && second != first,
        "{second}"
    );
}

#[tokio::test]
async fn a_link_costs_an_existence_check_and_a_membership_stamp() {
    let dir = tempfile::tempdir().unwrap();
    let last = Arc::new(Mutex::new(Vec::new()));
    let store = Faulty {
        inner: RedbStore::open(dir.path()).unwrap(),
        failing: Arc::default(),
        last: Arc::clone(&last),
        rival: Arc::default(),
    };
    let engine = jsonapi_example::engine(jsonapi_config::example_domain(), store);
    let (_, doc) = call(
        &engine,
        Method::POST,
        "/api/categories",
        Some(json!({"data": {"type": "categories", "attributes": {"name": "C"}}})),
    )
    .await;
    let category = doc["data"]["id"].as_str().unwrap().to_owned();
    let actions = || last.lock().unwrap().clone();

    product(&engine, "ALONE").await;
    let alone = actions();
    let body = json!({"data": {"type": "products", "attributes": {"sku": "LINKED", "name": "ALONE", "price": "1"},
        "relationships": {"category": {"data": {"type": "categories", "id": category}}}}});
    let (status, doc) = call(&engine, Method::POST, "/api/products", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let linked = actions();
    // The same product with a category (whose index entries a product without one has too,
    // under the null value): a check that the category exists and a new stamp on it.
    let stamp = Key::new(format!("categories#{category}"), "members");
    let item = Key::new(format!("categories#{category}"), "#");
    assert!(
        linked
            .iter()
            .any(|w| matches!(w, Write::Put { item: i, condition: None } if i.key == stamp)),
        "{linked:#?}"
    );
    assert!(
        linked.iter().any(|w| matches!(w, Write::Check { key, condition: jsonapi_store::Condition::Present } if *key == item)),
        "{linked:#?}"
    );
    assert_eq!(
        (alone.len(), linked.len()),
        (14, 16),
        "{alone:#?}\n{linked:#?}"
    );

    // Deleting the category reads who points at it under its stamp and removes the stamp.
    let (status, _) = call(
        &engine,
        Method::DELETE,
        &format!("/api/categories/{category}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deleted = actions();
    assert!(
        deleted
            .iter()
            .any(|w| matches!(w, Write::Delete { key, condition: Some(_) } if key.sk == "members")),
        "{deleted:#?}"
    );
}

/// `If-Match` is a condition of the write's own transaction: a writer in another process that
/// changes the resource between this write's read and its transaction makes the transaction
/// fail, and the re-run finds the version gone (412), leaving the rival's change in place. A
/// write that does not rewrite the item (an inverse relationship, a PATCH that changes
/// nothing) still carries a check of the version.
#[tokio::test]
async fn if_match_is_held_by_the_transaction_not_by_a_read_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let rival = Arc::new(Mutex::new(None));
    let last = Arc::new(Mutex::new(Vec::new()));
    let store = Faulty {
        inner: RedbStore::open(dir.path()).unwrap(),
        failing: Arc::default(),
        last: Arc::clone(&last),
        rival: Arc::clone(&rival),
    };
    let engine = jsonapi_example::engine(jsonapi_config::example_domain(), store);
    let id = product(&engine, "RACE").await;
    let uri = format!("/api/products/{id}");
    let tagged = |tag: &str| {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, tag.parse().unwrap());
        h
    };
    let etag = |headers: &HeaderMap| headers[header::ETAG].to_str().unwrap().to_owned();
    let (_, headers) = call_with(&engine, Method::GET, &uri, None, HeaderMap::new()).await;
    let tag = etag(&headers);
    let key = Key::new(format!("products#{id}"), "#");
    *rival.lock().unwrap() = Some(key.clone());
    let patch = json!({"data": {"type": "products", "id": id, "attributes": {"name": "Mine"}}});
    let ((status, doc), _) = call_with(
        &engine,
        Method::PATCH,
        &uri,
        Some(patch.clone()),
        tagged(&tag),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{doc}");
    assert_eq!(doc["errors"][0]["source"]["header"], "If-Match");
    let ((_, doc), headers) = call_with(&engine, Method::GET, &uri, None, HeaderMap::new()).await;
    assert_eq!(
        doc["data"]["attributes"]["name"], "Rival",
        "the rival's change stands"
    );
    let tag = etag(&headers);
    let version = |writes: &[Write], key: &Key| {
        writes
            .iter()
            .find(|w| w.key() == key)
            .and_then(|w| match w.condition() {
                Some(jsonapi_store::Condition::Equals { name, value }) if name == "v" => {
                    value.as_u64()
                }
                _ => None,
            })
    };
    // A PATCH that changes nothing: one check of the version, nothing written.
    let same = json!({"data": {"type": "products", "id": id, "attributes": {"name": "Rival"}}});
    let ((status, doc), _) =
        call_with(&engine, Method::PATCH, &uri, Some(same), tagged(&tag)).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let writes = last.lock().unwrap().clone();
    assert!(
        matches!(writes.as_slice(), [Write::Check { key: k, .. }] if *k == key),
        "{writes:?}"
    );
    assert!(version(&writes, &key).is_some(), "{writes:?}");
    // An inverse relationship write rewrites the members; the owner is checked at its version.
    let (status, doc) = call(
        &engine,
        Method::POST,
        "/api/categories",
        Some(json!({"data": {"type": "categories", "attributes": {"name": "K"}}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let category = doc["data"]["id"].as_str().unwrap().to_owned();
    let (_, headers) = call_with(
        &engine,
        Method::GET,
        &format!("/api/categories/{category}"),
        None,
        HeaderMap::new(),
    )
    .await;
    let linkage = json!({"data": [{"type": "products", "id": id}]});
    let ((status, doc), _) = call_with(
        &engine,
        Method::POST,
        &format!("/api/categories/{category}/relationships/products"),
        Some(linkage),
        tagged(&etag(&headers)),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{doc}");
    let writes = last.lock().unwrap().clone();
    let owner = Key::new(format!("categories#{category}"), "#");
    assert_eq!(version(&writes, &owner), Some(1), "{writes:?}");
}
