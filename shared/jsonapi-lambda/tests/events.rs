//! Each function's handler fed real API Gateway HTTP API events (`tests/fixtures/apigw/`),
//! against DynamoDB Local: what a client of the deployed API would get. API events carry the
//! access token an API client got from the token function's handler (`common::admin_client`).
//!
//! Needs `JSONAPI_DYNAMODB_ENDPOINT` (`infra/dynamodb/local.sh start 8000`); each test makes
//! its own table and deletes it.

mod common;

use base64::Engine as _;
use common::{
    ADMIN_ROLE, admin_client, fixture, parts, request, token_event, with_id, with_table, with_token,
};
use std::time::Duration;

use http::StatusCode;
use jsonapi_auth::SigningKey;
use jsonapi_auth::{ClientSpec, GrantType};
use jsonapi_engine::{Engine, MEDIA_TYPE};
use jsonapi_lambda::{Body, Operation, api_request, handle};
use jsonapi_store::{Item, Key, QueryPage, RangeQuery, StoreResult, Write};
use jsonapi_store_dynamodb::DynamoStore;
use serde_json::{Value, json};

/// The public base URL of the fixtures' API: the execute-api domain and the `prod` stage.
const BASE: &str = "https://r4nd0m1d.execute-api.us-east-1.amazonaws.com/prod";

/// A response: status, headers and the JSON document (`Null` without a body).
struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    doc: Value,
}

/// A JSON:API function's answer.
async fn send(engine: &Engine<DynamoStore>, op: Operation, event: &Value) -> Answer {
    let answer = send_any(engine, op, event).await;
    if answer.doc != Value::Null {
        assert_eq!(answer.headers["content-type"], MEDIA_TYPE);
    }
    answer
}

/// The token function's answer: OAuth's plain JSON (RFC 6749 §5), never cached.
async fn send_oauth(engine: &Engine<DynamoStore>, event: &Value) -> Answer {
    let answer = send_any(engine, Operation::Token, event).await;
    if answer.doc != Value::Null {
        assert_eq!(answer.headers["content-type"], "application/json");
    }
    answer
}

async fn send_any(engine: &Engine<DynamoStore>, op: Operation, event: &Value) -> Answer {
    let (status, headers, doc) = parts(handle(engine, op, request(event)).await);
    Answer {
        status,
        headers,
        doc,
    }
}

/// The create fixture with other attributes (its body stays base64, as API Gateway sends it).
fn create_event(sku: &str, price: &str, quantity: u32) -> Value {
    let mut event = fixture("create-product");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut doc: Value =
        serde_json::from_slice(&b64.decode(event["body"].as_str().unwrap()).expect("base64"))
            .unwrap();
    let attrs = &mut doc["data"]["attributes"];
    attrs["sku"] = sku.into();
    attrs["price"] = price.into();
    attrs["quantity"] = quantity.into();
    event["body"] = b64.encode(doc.to_string()).into();
    event
}

fn engine(store: DynamoStore) -> Engine<DynamoStore> {
    jsonapi_example::engine(jsonapi_config::example_domain(), store)
}

#[test]
fn an_event_becomes_the_request_the_client_sent() {
    // Arrange
    let event = fixture("create-product");
    // Act
    let req = api_request(request(&event), None);
    // Assert
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(
        req.path, "/api/products",
        "the stage is not part of the API path"
    );
    assert_eq!(req.base_url, BASE, "links start with the stage");
    assert_eq!(
        req.headers["cookie"],
        "session=opaque-session-id; theme=dark"
    );
    assert_eq!(req.headers["content-type"], MEDIA_TYPE);
    let body: Value = serde_json::from_slice(&req.body).expect("the base64 body, decoded");
    assert_eq!(body["data"]["attributes"]["sku"], "LAMBDA-1");
}

#[test]
fn query_strings_arrive_exactly_as_sent() {
    let event = fixture("list-products");
    let req = api_request(request(&event), None);
    // Repeated names stay repeated (API Gateway's `queryStringParameters` would have joined them
    // into "2,3"), brackets stay as they were sent, encoded or not.
    assert_eq!(
        req.query.as_deref(),
        Some(
            "filter[status]=enabled&filter[quantity][gte]=2&filter[quantity][gte]=3&page%5Bsize%5D=2&sort=-price"
        )
    );
    let req = api_request(request(&fixture("get-product")), None);
    assert_eq!(
        req.query.as_deref(),
        Some("fields%5Bproducts%5D=sku,name,price")
    );
}

#[test]
fn the_default_stage_adds_nothing_and_a_custom_domain_replaces_the_base_url() {
    let req = api_request(request(&fixture("head-product")), None);
    assert_eq!(req.path, "/api/products/1");
    assert_eq!(
        req.base_url,
        "https://r4nd0m1d.execute-api.us-east-1.amazonaws.com"
    );
    let req = api_request(
        request(&fixture("get-product")),
        Some("https://api.example.com/"),
    );
    assert_eq!(req.base_url, "https://api.example.com");
    assert_eq!(req.path, "/api/products/1");
    // A custom domain whose API mapping has a path: requests arrive with it in front.
    let mut event = fixture("get-product");
    event["rawPath"] = "/v1/api/products/1".into();
    event["requestContext"]["domainName"] = "api.example.com".into();
    let req = api_request(request(&event), Some("https://api.example.com/v1"));
    assert_eq!(req.path, "/api/products/1");
    assert_eq!(req.base_url, "https://api.example.com/v1");
}

#[test]
fn links_never_follow_the_host_or_forwarded_headers_a_client_sends() {
    let mut event = fixture("get-product");
    for (name, value) in [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "http"),
        ("forwarded", "host=evil.example;proto=http"),
    ] {
        event["headers"][name] = value.into();
    }
    let req = api_request(request(&event), None);
    assert_eq!(req.base_url, BASE, "API Gateway's domain and stage");
    // An emulator that names no domain: links relative to the server, not to the Host.
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("domainName");
    let req = api_request(request(&event), None);
    assert_eq!(req.base_url, "/prod");
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn links_start_with_the_configured_public_url() {
    with_table("public-url", |store| async move {
        let mut schema = jsonapi_config::example_domain();
        schema.api.public_url = Some("https://shop.example.com".to_owned());
        let engine = Engine::new(schema, store);
        let client = admin_client(&engine).await;
        let mut event = with_token(fixture("create-product"), &client.token);
        event["headers"]["host"] = "evil.example".into();
        let created = send(&engine, Operation::Create, &event).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.doc);
        let id = created.doc["data"]["id"].as_str().unwrap();
        let own = format!("https://shop.example.com/api/products/{id}");
        assert_eq!(created.doc["data"]["links"]["self"], own.as_str());
        assert_eq!(created.headers["location"], own.as_str());
    })
    .await;
}

#[test]
fn a_decoded_path_reaches_the_engine_encoded() {
    // HTTP APIs decode `rawPath`: a client's `/api/roles/sales%20team` arrives with a space.
    let mut event = fixture("get-product");
    event["rawPath"] = "/prod/api/roles/sales team".into();
    let req = api_request(request(&event), None);
    assert_eq!(req.path, "/api/roles/sales%20team");
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_product_can_be_created_read_listed_updated_and_deleted() {
    with_table("crud", |store| async move {
        let engine = engine(store);
        let client = admin_client(&engine).await;
        let fixture = |name: &str| with_token(fixture(name), &client.token);
        let create_event =
            |sku, price, quantity| with_token(create_event(sku, price, quantity), &client.token);

        // create (base64 body, cookies, named stage)
        let created = send(&engine, Operation::Create, &fixture("create-product")).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.doc);
        let id = created.doc["data"]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        assert_eq!(created.doc["data"]["attributes"]["name"], "Lambda Shirt");
        assert_eq!(
            created.doc["data"]["links"]["self"],
            format!("{BASE}/api/products/{id}"),
            "links use the public URL with the stage"
        );
        for (sku, price, quantity) in [
            ("LAMBDA-2", "29.99", 5),
            ("LAMBDA-3", "24.99", 4),
            ("LAMBDA-4", "9.99", 1),
        ] {
            let r = send(
                &engine,
                Operation::Create,
                &create_event(sku, price, quantity),
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.doc);
        }

        // get, with a sparse fieldset sent encoded
        let got = send(
            &engine,
            Operation::Get,
            &with_id(fixture("get-product"), &id),
        )
        .await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.doc);
        let attributes = got.doc["data"]["attributes"].as_object().unwrap();
        let mut names: Vec<&String> = attributes.keys().collect();
        names.sort();
        assert_eq!(names, ["name", "price", "sku"]);
        assert_eq!(
            got.doc["data"]["links"]["self"],
            format!("{BASE}/api/products/{id}")
        );

        // head, on the $default stage
        let head = send(
            &engine,
            Operation::Get,
            &with_id(fixture("head-product"), &id),
        )
        .await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.doc, Value::Null, "HEAD has no body");
        assert!(head.headers.contains_key("content-length"));

        // list: two filters on one field (quantity >= 2 and >= 3), the second page exists
        let list = send(&engine, Operation::GetList, &fixture("list-products")).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.doc);
        let ids: Vec<&str> = list.doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["attributes"]["sku"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["LAMBDA-2", "LAMBDA-3"],
            "quantity >= 3, by price descending, 2 a page"
        );
        let next = list.doc["links"]["next"].as_str().expect("a next link");
        assert!(next.starts_with(&format!("{BASE}/api/products?")), "{next}");
        assert!(
            next.contains("page%5Bnumber%5D=2") || next.contains("page[number]=2"),
            "{next}"
        );

        // update (plain text body)
        let updated = send(
            &engine,
            Operation::Update,
            &with_id(fixture("update-product"), &id),
        )
        .await;
        assert_eq!(updated.status, StatusCode::OK, "{}", updated.doc);
        assert_eq!(
            updated.doc["data"]["attributes"]["name"],
            "Lambda Shirt (blue)"
        );
        assert_eq!(updated.doc["data"]["attributes"]["quantity"], 7);

        // delete, then it is gone
        let deleted = send(
            &engine,
            Operation::Delete,
            &with_id(fixture("delete-product"), &id),
        )
        .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.doc);
        let gone = send(
            &engine,
            Operation::Get,
            &with_id(fixture("get-product"), &id),
        )
        .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(gone.doc["errors"][0]["status"], "404", "{}", gone.doc);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn every_other_function_answers_its_routes() {
    with_table("others", |store| async move {
        let engine = engine(store);
        let client = admin_client(&engine).await;
        let fixture = |name: &str| with_token(fixture(name), &client.token);
        let create_event =
            |sku, price, quantity| with_token(create_event(sku, price, quantity), &client.token);
        let created = send(&engine, Operation::Create, &fixture("create-product")).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.doc);
        let id = created.doc["data"]["id"].as_str().unwrap().to_owned();
        let third = send(
            &engine,
            Operation::Create,
            &create_event("LAMBDA-3", "5.00", 2),
        )
        .await;
        let third = third.doc["data"]["id"].as_str().unwrap().to_owned();

        let related = send(
            &engine,
            Operation::GetSubresource,
            &with_id(fixture("get-product-category"), &id),
        )
        .await;
        assert_eq!(related.status, StatusCode::OK, "{}", related.doc);
        assert_eq!(related.doc["data"], Value::Null, "no category yet");

        let linkage = send(
            &engine,
            Operation::GetRelationship,
            &with_id(fixture("get-product-category-relationship"), &id),
        )
        .await;
        assert_eq!(linkage.status, StatusCode::OK, "{}", linkage.doc);
        assert_eq!(
            linkage.doc["links"]["self"],
            format!("{BASE}/api/products/{id}/relationships/category")
        );

        // The atomic extension: two resources, linked by a lid, in one transaction.
        let atomic = send_any(&engine, Operation::Operations, &fixture("post-operations")).await;
        assert_eq!(atomic.status, StatusCode::OK, "{}", atomic.doc);
        assert_eq!(
            atomic.headers["content-type"],
            "application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\""
        );
        let results = &atomic.doc["atomic:results"];
        assert_eq!(
            results[1]["data"]["relationships"]["category"]["data"]["id"], results[0]["data"]["id"],
            "{}",
            atomic.doc
        );

        let options = send(&engine, Operation::Options, &fixture("options-products")).await;
        assert_eq!(options.status, StatusCode::OK);
        let allow = options.headers["allow"].to_str().unwrap();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

        let deleted = send(&engine, Operation::DeleteList, &fixture("delete-products")).await;
        assert!(
            deleted.status.is_success(),
            "{} {}",
            deleted.status,
            deleted.doc
        );
        let gone = send(
            &engine,
            Operation::Get,
            &with_id(fixture("get-product"), &third),
        )
        .await;
        assert_eq!(
            gone.status,
            StatusCode::NOT_FOUND,
            "filter[sku]=LAMBDA-3 deleted it"
        );

        // Relationship writes: whatever the engine answers, it is its answer for this route (a
        // JSON:API document), not the 404 of a request routed to the wrong function, nor a
        // refusal of the caller.
        for (op, name) in [
            (
                Operation::UpdateRelationship,
                "update-product-category-relationship",
            ),
            (Operation::AddRelationship, "add-category-products"),
            (Operation::DeleteRelationship, "delete-category-products"),
        ] {
            let answer = send(&engine, op, &fixture(name)).await;
            let detail = answer.doc["errors"][0]["detail"]
                .as_str()
                .unwrap_or_default();
            assert!(
                !detail.starts_with("No route found"),
                "{name}: {}",
                answer.doc
            );
            assert!(
                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&answer.status),
                "{name}: {}",
                answer.doc
            );
        }
    })
    .await;
}

/// A store that panics whatever it is asked: a bug anywhere below the Lambda edge.
#[derive(Debug)]
struct Panicking;

impl jsonapi_store::Store for Panicking {
    async fn get(&self, _: &Key) -> StoreResult<Option<Item>> {
        panic!("a bug in the store")
    }
    async fn batch_get(&self, _: &[Key]) -> StoreResult<Vec<Item>> {
        panic!("a bug in the store")
    }
    async fn query(&self, _: &RangeQuery) -> StoreResult<QueryPage> {
        panic!("a bug in the store")
    }
    async fn count(&self, _: &RangeQuery) -> StoreResult<u64> {
        panic!("a bug in the store")
    }
    async fn allocate(&self, _: &Key, _: u64) -> StoreResult<u64> {
        panic!("a bug in the store")
    }
    async fn transact(&self, _: Vec<Write>) -> StoreResult<()> {
        panic!("a bug in the store")
    }
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_panic_below_the_edge_is_a_json_api_500_not_a_502() {
    let engine = jsonapi_example::engine(jsonapi_config::example_domain(), Panicking);
    // A bearer token makes the engine read its signing key: the store's first call.
    let event = with_token(fixture("get-product"), "any.token.value");
    let response = handle(&engine, Operation::Get, request(&event)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], MEDIA_TYPE);
    let Body::Text(text) = response.body() else {
        panic!("a document")
    };
    let doc: Value = serde_json::from_str(text).unwrap();
    assert_eq!(doc["errors"][0]["status"], "500", "{doc}");
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_request_for_another_function_is_a_json_api_404() {
    with_table("misrouted", |store| async move {
        let engine = engine(store);
        // The get event sent to the create function: a deployment error, not a client's.
        let answer = send(&engine, Operation::Create, &fixture("get-product")).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(
            answer.doc["errors"][0]["detail"],
            json!("No route found for \"GET /api/products/1\".")
        );
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn the_token_function_answers_oauth_json_for_form_and_json_bodies() {
    with_table("token", |store| async move {
        let engine = engine(store);
        let client = admin_client(&engine).await;

        // The form fixture, base64 as API Gateway sends it.
        let ok = send_oauth(&engine, &token_event(&client.id, &client.secret)).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.doc);
        assert_eq!(ok.headers["cache-control"], "no-store");
        assert_eq!(ok.doc["token_type"], "Bearer");
        assert_eq!(ok.doc["expires_in"], 3600, "api.auth.accessTokenLifetime");
        let token = ok.doc["access_token"].as_str().expect("access_token");
        assert_eq!(token.split('.').count(), 3, "a JWT");

        // The same request as JSON, a plain text body.
        let mut event = token_event(&client.id, &client.secret);
        event["headers"]["content-type"] = "application/json".into();
        event["isBase64Encoded"] = false.into();
        event["body"] = json!({"grant_type": "client_credentials", "client_id": client.id,
            "client_secret": client.secret})
        .to_string()
        .into();
        let ok = send_oauth(&engine, &event).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.doc);

        // A wrong secret: 401 invalid_client with a Basic challenge (RFC 6749 §5.2).
        let bad = send_oauth(&engine, &token_event(&client.id, "not-the-secret")).await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED, "{}", bad.doc);
        assert_eq!(bad.doc["error"], "invalid_client", "{}", bad.doc);
        assert!(bad.doc["error_description"].is_string(), "{}", bad.doc);
        let challenge = bad.headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Basic"), "{challenge}");
        assert!(bad.doc.get("access_token").is_none());

        // An unknown client, the same answer.
        let unknown = send_oauth(&engine, &token_event("no-such-client", &client.secret)).await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "{}", unknown.doc);
        assert_eq!(unknown.doc["error"], "invalid_client");

        // A grant the endpoint does not know: 400 unsupported_grant_type.
        let mut event = token_event(&client.id, &client.secret);
        let b64 = base64::engine::general_purpose::STANDARD;
        let form = format!(
            "grant_type=implicit&client_id={}&client_secret={}",
            client.id, client.secret
        );
        event["body"] = b64.encode(form).into();
        let unsupported = send_oauth(&engine, &event).await;
        assert_eq!(
            unsupported.status,
            StatusCode::BAD_REQUEST,
            "{}",
            unsupported.doc
        );
        assert_eq!(unsupported.doc["error"], "unsupported_grant_type");

        // A grant this client may not use: 400 unauthorized_client.
        let mut event = token_event(&client.id, &client.secret);
        let form = format!(
            "grant_type=password&username=admin&password=x&client_id={}&client_secret={}",
            client.id, client.secret
        );
        event["body"] = b64.encode(form).into();
        let refused = send_oauth(&engine, &event).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.doc);
        assert_eq!(
            refused.doc["error"], "unauthorized_client",
            "{}",
            refused.doc
        );

        // OPTIONS on the token route: the token function's, not the options function's.
        let mut event = fixture("token-client-credentials");
        event["requestContext"]["http"]["method"] = "OPTIONS".into();
        event["routeKey"] = "OPTIONS /oauth2-token".into();
        event["body"] = Value::Null;
        event["isBase64Encoded"] = false.into();
        let options = send_oauth(&engine, &event).await;
        assert_eq!(options.status, StatusCode::OK);
        assert_eq!(options.headers["allow"], "OPTIONS, POST");

        // The token route sent to an API function: a routing error, answered as such.
        let misrouted = send(
            &engine,
            Operation::Create,
            &token_event(&client.id, &client.secret),
        )
        .await;
        assert_eq!(misrouted.status, StatusCode::NOT_FOUND, "{}", misrouted.doc);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn an_api_event_without_a_valid_token_is_a_json_api_401_with_a_challenge() {
    with_table("no-token", |store| async move {
        let engine = engine(store);
        let client = admin_client(&engine).await;
        let id = {
            let created = send(
                &engine,
                Operation::Create,
                &with_token(fixture("create-product"), &client.token),
            )
            .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.doc);
            created.doc["data"]["id"].as_str().unwrap().to_owned()
        };
        let event = with_id(fixture("get-product"), &id);

        // No Authorization header: RFC 6750 §3, a challenge without an error code.
        let none = send(&engine, Operation::Get, &event).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{}", none.doc);
        assert_eq!(none.headers["www-authenticate"], "Bearer realm=\"api\"");
        assert_eq!(none.doc["errors"][0]["status"], "401", "{}", none.doc);
        assert_eq!(none.doc["errors"][0]["title"], "authentication exception");
        assert!(none.doc.get("data").is_none(), "{}", none.doc);

        // A token that is not ours: invalid_token.
        let forged = send(&engine, Operation::Get, &with_token(event.clone(), "a.b.c")).await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", forged.doc);
        let challenge = forged.headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("invalid_token"), "{challenge}");
        assert_eq!(forged.doc["errors"][0]["status"], "401");

        // The same request with the client's token.
        let ok = send(&engine, Operation::Get, &with_token(event, &client.token)).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.doc);

        // A revoked client's token stops working (after the revocation cache's few seconds;
        // a fresh engine, as a new function instance, reads it at once).
        engine
            .clients()
            .await
            .unwrap()
            .revoke(&client.id)
            .await
            .unwrap();
        let fresh =
            jsonapi_example::engine(jsonapi_config::example_domain(), engine.store().clone());
        let event = with_token(with_id(fixture("get-product"), &id), &client.token);
        let revoked = send(&fresh, Operation::Get, &event).await;
        assert_eq!(revoked.status, StatusCode::UNAUTHORIZED, "{}", revoked.doc);

        // OPTIONS needs no token.
        let options = send(&engine, Operation::Options, &fixture("options-products")).await;
        assert_eq!(options.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_disabled_users_token_is_refused_by_every_function_within_the_cache_period() {
    with_table("disabled-user", |store| async move {
        // The update function disables the user; the get function, another process, had read
        // the user while it was enabled and trusts that for its cache period only.
        let update = engine(store.clone());
        let admin = admin_client(&update).await;
        let get = engine(store.clone()).with_auth_cache_ttl(Duration::from_millis(200));
        let user = json!({"data": {"type": "users", "attributes": {"username": "grace",
            "email": "grace@example.com", "password": "hopper-1906"},
            "relationships": {"roles": {"data": [{"type": "roles", "id": "admin"}]}}}});
        let mut event = with_token(fixture("create-product"), &admin.token);
        set_route(&mut event, "POST", "/api/users", &user);
        let created = send(&update, Operation::Create, &event).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.doc);
        let id = created.doc["data"]["id"].as_str().unwrap().to_owned();

        // Signed in through a client allowed the password grant.
        let client = update
            .clients()
            .await
            .unwrap()
            .create("app", &[], &[GrantType::Password])
            .await
            .unwrap();
        let mut event = token_event(&client.id, client.secret.expose());
        let form = format!(
            "grant_type=password&username=grace&password=hopper-1906&client_id={}&client_secret={}",
            client.id,
            client.secret.expose()
        );
        event["body"] = base64::engine::general_purpose::STANDARD
            .encode(form)
            .into();
        let signed_in = send_oauth(&update, &event).await;
        assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.doc);
        let token = signed_in.doc["access_token"].as_str().unwrap().to_owned();
        let mut read = with_token(fixture("get-product"), &token);
        set_route(&mut read, "GET", &format!("/api/users/{id}"), &Value::Null);
        assert_eq!(
            send(&get, Operation::Get, &read).await.status,
            StatusCode::OK
        );

        let mut disable = with_token(fixture("update-product"), &admin.token);
        let body = json!({"data": {"type": "users", "id": id, "attributes": {"enabled": false}}});
        set_route(&mut disable, "PATCH", &format!("/api/users/{id}"), &body);
        let disabled = send(&update, Operation::Update, &disable).await;
        assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.doc);

        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = send(&get, Operation::Get, &read).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.doc);
        assert_eq!(
            refused.doc["errors"][0]["detail"],
            "The access token's user has been disabled or deleted."
        );
        // A new instance reads the user's state at once.
        let fresh = engine(store);
        let refused = send(&fresh, Operation::Get, &read).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.doc);
    })
    .await;
}

/// Points an event at another route: method, raw path (the fixtures' `prod` stage kept) and a
/// JSON:API body (`Null`: none).
fn set_route(event: &mut Value, method: &str, path: &str, body: &Value) {
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = format!("/prod{path}").into();
    event["rawPath"] = format!("/prod{path}").into();
    event["routeKey"] = format!("{method} {path}").into();
    event["rawQueryString"] = "".into();
    if body.is_null() {
        event["body"] = Value::Null;
        event["isBase64Encoded"] = false.into();
    } else {
        event["headers"]["content-type"] = MEDIA_TYPE.into();
        event["body"] = body.to_string().into();
        event["isBase64Encoded"] = false.into();
    }
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn the_jwks_event_serves_the_public_key_that_checks_the_tokens() {
    with_table("jwks", |store| async move {
        // Without a key from the environment: the ES256 key kept in the table, made by the
        // first request that needs it.
        let engine = engine(store.clone());
        let jwks = send_oauth(&engine, &fixture("get-jwks")).await;
        assert_eq!(jwks.status, StatusCode::OK, "{}", jwks.doc);
        let keys = jwks.doc["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1, "{}", jwks.doc);
        assert_eq!(keys[0]["alg"], "ES256");
        assert_eq!(keys[0]["use"], "sig");
        assert!(keys[0].get("d").is_none(), "no private part");
        let cache = jwks.headers["cache-control"].to_str().unwrap();
        assert!(cache.starts_with("public"), "{cache}");

        // A token issued afterwards names that key.
        let client = admin_client(&engine).await;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: Value =
            serde_json::from_slice(&b64.decode(client.token.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], keys[0]["kid"]);

        // HEAD, as API Gateway routes it to the same function.
        let mut head = fixture("get-jwks");
        head["requestContext"]["http"]["method"] = "HEAD".into();
        head["routeKey"] = "HEAD /.well-known/jwks.json".into();
        let head = send_oauth(&engine, &head).await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.doc, Value::Null);

        // A deployment's HS256 secret (JwtSecret) has no public half: no key is listed, and
        // the stored key no longer checks tokens.
        let secret = SigningKey::hs256(b"0123456789abcdef0123456789abcdef-test").unwrap();
        let hs = engine_with_key(store, secret);
        let jwks = send_oauth(&hs, &fixture("get-jwks")).await;
        assert_eq!(jwks.status, StatusCode::OK);
        assert_eq!(jwks.doc, json!({"keys": []}));
        let refused = send(
            &hs,
            Operation::Get,
            &with_token(fixture("get-product"), &client.token),
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.doc);
    })
    .await;
}

fn engine_with_key(store: DynamoStore, key: SigningKey) -> Engine<DynamoStore> {
    engine(store).with_signing_key(key)
}

/// The authorization endpoint's event (`GET` or `POST /oauth2-token/authorize` under the `prod`
/// stage), from the JWKS fixture's shape.
fn authorize_event(method: &str, query: &str, form: Option<&str>, cookie: Option<&str>) -> Value {
    let mut event = fixture("get-jwks");
    event["routeKey"] = format!("{method} /oauth2-token/authorize").into();
    event["rawPath"] = "/prod/oauth2-token/authorize".into();
    event["rawQueryString"] = query.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = "/prod/oauth2-token/authorize".into();
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event["requestContext"]["stage"] = "prod".into();
    event["headers"]["accept"] = "text/html".into();
    if let Some(form) = form {
        event["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
        event["headers"]["content-length"] = form.len().to_string().into();
        event["body"] = base64::engine::general_purpose::STANDARD
            .encode(form)
            .into();
        event["isBase64Encoded"] = true.into();
    }
    if let Some(cookie) = cookie {
        // API Gateway hands cookies over apart from the headers.
        event["cookies"] = json!([cookie]);
    }
    event
}

/// An HTML page's status, headers and text.
async fn page(
    engine: &Engine<DynamoStore>,
    event: &Value,
) -> (StatusCode, http::HeaderMap, String) {
    let (parts, body) = handle(engine, Operation::Token, request(event))
        .await
        .into_parts();
    let text = match body {
        Body::Text(text) => text,
        Body::Empty => String::new(),
        other => panic!("unexpected body {other:?}"),
    };
    (parts.status, parts.headers, text)
}

/// The value of the hidden field `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..start + html[start..].find('"').expect("its end")].to_owned()
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn the_sign_in_pages_and_their_cookie_pass_through_api_gateway_events() {
    with_table("authorize", |store| async move {
        let engine = engine(store.clone());
        let admin = admin_client(&engine).await;
        let user = json!({"data": {"type": "users", "attributes": {"username": "ada",
            "email": "ada@example.com", "password": "analytical-1843"},
            "relationships": {"roles": {"data": [{"type": "roles", "id": ADMIN_ROLE}]}}}});
        let mut create = create_event("unused", "1", 1);
        set_route(&mut create, "POST", "/api/users", &user);
        let create = with_token(create, &admin.token);
        assert_eq!(send_any(&engine, Operation::Create, &create).await.status.as_u16(), 201);
        let redirect = "https://app.example.com/callback";
        let spec = ClientSpec {
            name: "App".into(),
            roles: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode],
            redirect_uris: vec![redirect.into()],
        };
        let client = engine.clients().await.unwrap().register(&spec, true).await.unwrap();
        let challenge = jsonapi_auth::pkce::s256_challenge(&"v".repeat(43));
        let query = format!(
            "response_type=code&client_id={}&redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256",
            client.id(),
            "https%3A%2F%2Fapp.example.com%2Fcallback"
        );

        let (status, headers, html) = page(&engine, &authorize_event("GET", &query, None, None)).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        // The form token's cookie is scoped to the endpoint under the stage, and secure.
        let cookie = headers["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("Path=/prod/oauth2-token/authorize"), "{cookie}");
        assert!(cookie.contains("; Secure"), "{cookie}");
        let pair = cookie.split(';').next().unwrap().to_owned();

        let mut form = form_urlencoded::Serializer::new(String::new());
        for name in ["step", "csrf", "response_type", "client_id", "redirect_uri", "state",
                     "code_challenge", "code_challenge_method"] {
            form.append_pair(name, &hidden(&html, name).replace("&amp;", "&"));
        }
        form.append_pair("username", "ada").append_pair("password", "analytical-1843");
        let form = form.finish();
        let (status, _, consent) =
            page(&engine, &authorize_event("POST", "", Some(&form), Some(&pair))).await;
        assert_eq!(status, StatusCode::OK, "{consent}");
        let answer = format!(
            "step=consent&csrf={}&ticket={}&decision=allow",
            hidden(&consent, "csrf"),
            hidden(&consent, "ticket")
        );
        let (status, headers, _) =
            page(&engine, &authorize_event("POST", "", Some(&answer), Some(&pair))).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let location = headers["location"].to_str().unwrap();
        assert!(location.starts_with(&format!("{redirect}?code=")), "{location}");
        assert!(location.ends_with("&state=s1"), "{location}");

        // Without the cookie (another site's post): refused.
        let (status, _, _) = page(&engine, &authorize_event("POST", "", Some(&form), None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}
