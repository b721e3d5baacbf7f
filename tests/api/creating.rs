//! Creating resources (JSON:API checklist I, Oro §1.1, §3, §4, §5.4–5.5; acceptance rows 6, 42,
//! 46–48).

use jsonapi_tests::values::{attr, has_attr, id_of, to_many_ids, to_one_id};
use jsonapi_tests::{
    ApiClient, MT, Method, Source, TestApp, TestResponse, Value, assert_error, assert_error_detail,
    json, resource_doc, to_many, to_one, unique,
};

use crate::fixtures::{
    create_category, create_customer, create_product, line_item_doc, product_attributes,
    unique_email,
};

async fn post_raw(app: &ApiClient, path: &str, body: &str) -> TestResponse {
    app.request(
        Method::POST,
        path,
        &[("Accept", MT), ("Content-Type", MT)],
        Some(body),
    )
    .await
}

/// Asserts a 400 error with this title whose pointer is `pointer` or starts with `pointer/`.
fn assert_error_under(response: &TestResponse, title: &str, pointer: &str) {
    response.assert_status(400);
    let found = response.errors().iter().any(|e| {
        e["status"] == "400"
            && e["title"] == title
            && e["source"]["pointer"]
                .as_str()
                .is_some_and(|p| p == pointer || p.starts_with(&format!("{pointer}/")))
    });
    assert!(
        found,
        "{}\nexpected a 400 {title:?} at or under {pointer}",
        response.describe()
    );
}

/// Asserts the HTTP status and an error of that status at `pointer` (any title).
fn assert_status_at(response: &TestResponse, status: u16, pointer: &str) {
    response.assert_status(status);
    let status = status.to_string();
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["status"] == status.as_str() && e["source"]["pointer"] == pointer),
        "{}\nexpected a {status} error at {pointer}",
        response.describe()
    );
}

#[tokio::test]
async fn creating_returns_201_the_resource_and_a_location_equal_to_its_self_link() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                None,
                json!({ "sku": "NEW-1", "name": "New", "price": "3.20", "quantity": 7, "tags": ["a", "b"] }),
                json!({}),
            ),
        )
        .await;
    response.assert_status(201);
    let product = response.data();
    assert_eq!(product["type"], "products");
    let self_link = product["links"]["self"].as_str().expect("data.links.self");
    assert_eq!(response.header("location"), Some(self_link));
    assert_eq!(attr(product, "sku"), "NEW-1");
    assert_eq!(attr(product, "name"), "New");
    jsonapi_tests::values::assert_decimal(attr(product, "price"), "3.20");
    assert_eq!(attr(product, "quantity"), 7);
    assert_eq!(attr(product, "tags"), &json!(["a", "b"]));

    let fetched = app.get(self_link).await;
    fetched.assert_status(200);
    let mut fetched_data = fetched.data().clone();
    let mut created_data = product.clone();
    // Everything the create returned is what a fetch returns.
    fetched_data.as_object_mut().map(|o| o.remove("meta"));
    created_data.as_object_mut().map(|o| o.remove("meta"));
    assert_eq!(fetched_data, created_data);
}

#[tokio::test]
async fn defaults_fill_attributes_the_client_left_out() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "DEF-1").await;
    assert_eq!(attr(&product, "status"), "enabled");
    assert_eq!(attr(&product, "quantity"), 0);
    assert_eq!(to_one_id(&product, "category"), None);

    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let order = app
        .create(
            "orders",
            json!({}),
            json!({ "customer": to_one("customers", id_of(&customer)) }),
        )
        .await;
    assert_eq!(attr(&order, "status"), "open");
    assert_eq!(attr(&order, "currency"), "USD");

    let user = app
        .create(
            "users",
            json!({ "username": unique("ada"), "email": unique_email("ada") }),
            json!({}),
        )
        .await;
    assert_eq!(attr(&user, "enabled"), true);
}

#[tokio::test]
async fn sequence_ids_count_up_per_type() {
    let app = TestApp::spawn().await;
    let a = create_product(&app, "SEQ-1").await;
    let b = create_product(&app, "SEQ-2").await;
    let c = create_category(&app, "First category", None).await;
    assert_eq!(id_of(&a), "1");
    assert_eq!(id_of(&b), "2");
    assert_eq!(id_of(&c), "1");
}

#[tokio::test]
async fn two_identical_posts_create_two_resources() {
    let app = TestApp::spawn().await;
    let a = create_category(&app, "Twin", None).await;
    let b = create_category(&app, "Twin", None).await;
    assert_ne!(id_of(&a), id_of(&b));
    assert_eq!(app.list_all("categories").await.len(), 2);
}

#[tokio::test]
async fn a_to_many_relationship_can_be_set_on_create() {
    let app = jsonapi_tests::shared_scratch();
    let (manager, editor) = (unique("manager"), unique("editor"));
    for role in [&manager, &editor] {
        app.post(
            "/api/roles",
            &resource_doc(
                "roles",
                Some(role.as_str()),
                json!({ "label": role }),
                json!({}),
            ),
        )
        .await
        .assert_status(201);
    }
    let user = app
        .create(
            "users",
            json!({ "username": "grace", "email": "grace@example.com" }),
            json!({ "roles": to_many("roles", &[&manager[..], &editor[..]]) }),
        )
        .await;
    let mut roles = to_many_ids(&user, "roles");
    roles.sort();
    assert_eq!(roles, vec![editor, manager]);
}

#[tokio::test]
async fn a_client_id_for_a_sequence_type_is_forbidden() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                Some("77"),
                product_attributes("CID-1"),
                json!({}),
            ),
        )
        .await;
    assert_status_at(&response, 403, "/data/id");
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn a_client_id_for_a_ulid_type_is_forbidden() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/customers",
            &resource_doc(
                "customers",
                Some("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                json!({ "name": "Ada", "email": "ada@example.com" }),
                json!({}),
            ),
        )
        .await;
    assert_status_at(&response, 403, "/data/id");
    assert!(app.list_all("customers").await.is_empty());
}

#[tokio::test]
async fn a_role_is_created_under_the_id_the_client_chose() {
    let app = jsonapi_tests::shared_scratch();
    let auditor = unique("auditor");
    let response = app
        .post(
            "/api/roles",
            &resource_doc(
                "roles",
                Some(&auditor),
                json!({ "label": "Auditor", "permissions": { "products": ["VIEW", "EDIT"] } }),
                json!({}),
            ),
        )
        .await;
    response.assert_status(201);
    assert_eq!(response.data()["id"], auditor.as_str());
    assert_eq!(
        response.header("location"),
        Some(app.url(&format!("/api/roles/{auditor}")).as_str())
    );
    let role = app.fetch("roles", &auditor).await;
    assert_eq!(attr(&role, "label"), "Auditor");
    assert_eq!(
        attr(&role, "permissions"),
        &json!({ "products": ["VIEW", "EDIT"] })
    );
}

#[tokio::test]
async fn a_taken_client_id_conflicts() {
    let app = TestApp::spawn().await;
    let doc = resource_doc(
        "roles",
        Some("auditor"),
        json!({ "label": "Auditor" }),
        json!({}),
    );
    // The development client's `admin` role is there already.
    let before = app.list_all("roles").await.len();
    app.post("/api/roles", &doc).await.assert_status(201);
    let again = app.post("/api/roles", &doc).await;
    assert_error_detail(
        &again,
        409,
        "conflict constraint",
        Source::Any,
        "The entity already exists.",
    );
    assert_eq!(app.list_all("roles").await.len(), before + 1);
}

#[tokio::test]
async fn a_missing_client_id_is_a_bad_identifier() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/roles",
            &resource_doc("roles", None, json!({ "label": "Nobody" }), json!({})),
        )
        .await;
    assert_error(
        &response,
        400,
        "entity identifier constraint",
        Source::Pointer("/data/id"),
    );
}

#[tokio::test]
async fn a_body_type_other_than_the_url_type_conflicts() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/products",
            &resource_doc("categories", None, json!({ "name": "Wrong" }), json!({})),
        )
        .await;
    assert_error(
        &response,
        409,
        "conflict constraint",
        Source::Pointer("/data/type"),
    );
    assert!(app.list_all("categories").await.is_empty());
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = jsonapi_tests::shared_scratch();
    for body in [
        "{\"data\": {",
        "not json",
        "{\"data\": {\"type\": \"products\",}}",
    ] {
        let response = post_raw(&app, "/api/products", body).await;
        assert_error(&response, 400, "bad request http exception", Source::Any);
    }
}

#[tokio::test]
async fn an_empty_body_is_invalid_request_data() {
    let app = jsonapi_tests::shared_scratch();
    let response = post_raw(&app, "/api/products", "").await;
    response.assert_status(400);
    let title = response.errors()[0]["title"].as_str().unwrap_or_default();
    assert!(
        ["request data constraint", "bad request http exception"].contains(&title),
        "{}",
        response.describe()
    );
}

#[tokio::test]
async fn a_document_without_primary_data_is_invalid_request_data() {
    let app = jsonapi_tests::shared_scratch();
    for body in [json!({}), json!({ "meta": {} }), json!({ "data": null })] {
        let response = app.post("/api/products", &body).await;
        assert_error(
            &response,
            400,
            "request data constraint",
            Source::Pointer("/data"),
        );
    }
}

#[tokio::test]
async fn an_array_or_scalar_as_primary_data_is_invalid_request_data() {
    let app = jsonapi_tests::shared_scratch();
    for data in [json!([{ "type": "products" }]), json!("products"), json!(1)] {
        let response = app.post("/api/products", &json!({ "data": data })).await;
        assert_error(
            &response,
            400,
            "request data constraint",
            Source::Pointer("/data"),
        );
    }
}

#[tokio::test]
async fn primary_data_without_a_type_is_invalid_request_data() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/products",
            &json!({ "data": { "attributes": product_attributes("NT-1") } }),
        )
        .await;
    assert_error(
        &response,
        400,
        "request data constraint",
        Source::Pointer("/data/type"),
    );
}

#[tokio::test]
async fn attributes_and_relationships_that_are_not_objects_are_invalid_request_data() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/products",
            &json!({ "data": { "type": "products", "attributes": ["sku"] } }),
        )
        .await;
    assert_error(
        &response,
        400,
        "request data constraint",
        Source::Pointer("/data/attributes"),
    );
    let response = app
        .post(
            "/api/products",
            &json!({ "data": { "type": "products", "attributes": product_attributes("NO-2"), "relationships": 5 } }),
        )
        .await;
    assert_error(
        &response,
        400,
        "request data constraint",
        Source::Pointer("/data/relationships"),
    );
}

#[tokio::test]
async fn a_relationship_without_data_is_invalid_request_data() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                None,
                product_attributes("RD-1"),
                json!({ "category": { "links": { "related": "http://example.com" } } }),
            ),
        )
        .await;
    assert_error_under(
        &response,
        "request data constraint",
        "/data/relationships/category",
    );
}

#[tokio::test]
async fn missing_required_attributes_are_all_reported_as_not_blank() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/products",
            &resource_doc("products", None, json!({ "description": "x" }), json!({})),
        )
        .await;
    response.assert_status(400);
    for field in ["sku", "name", "price"] {
        jsonapi_tests::assert_has_error(
            &response,
            400,
            "not blank constraint",
            Source::Pointer(&format!("/data/attributes/{field}")),
        );
    }
    assert_eq!(response.errors().len(), 3, "{}", response.describe());
}

#[tokio::test]
async fn a_blank_required_string_is_not_blank() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                None,
                json!({ "sku": "BL-1", "name": "", "price": "1" }),
                json!({}),
            ),
        )
        .await;
    assert_error(
        &response,
        400,
        "not blank constraint",
        Source::Pointer("/data/attributes/name"),
    );
    let response = app
        .post(
            "/api/categories",
            &resource_doc("categories", None, json!({ "name": null }), json!({})),
        )
        .await;
    response.assert_status(400);
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["source"]["pointer"] == "/data/attributes/name"
                && (e["title"] == "not blank constraint" || e["title"] == "not null constraint")),
        "{}",
        response.describe()
    );
}

#[tokio::test]
async fn null_for_a_non_nullable_attribute_is_not_null() {
    let app = jsonapi_tests::shared_scratch();
    for field in ["status", "quantity"] {
        let mut attributes = product_attributes(&format!("NN-{field}"));
        attributes[field] = Value::Null;
        let response = app
            .post(
                "/api/products",
                &resource_doc("products", None, attributes, json!({})),
            )
            .await;
        assert_error(
            &response,
            400,
            "not null constraint",
            Source::Pointer(&format!("/data/attributes/{field}")),
        );
    }
}

#[tokio::test]
async fn strings_longer_or_shorter_than_allowed_are_length_errors() {
    let app = jsonapi_tests::shared_scratch();
    let mut attributes = product_attributes("x");
    attributes["sku"] = json!("S".repeat(65));
    let response = app
        .post(
            "/api/products",
            &resource_doc("products", None, attributes, json!({})),
        )
        .await;
    assert_error(
        &response,
        400,
        "length constraint",
        Source::Pointer("/data/attributes/sku"),
    );

    // Exactly the maximum is fine.
    let mut attributes = product_attributes("x");
    attributes["sku"] = json!("S".repeat(64));
    app.post(
        "/api/products",
        &resource_doc("products", None, attributes, json!({})),
    )
    .await
    .assert_status(201);

    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let response = app
        .post(
            "/api/orders",
            &resource_doc(
                "orders",
                None,
                json!({ "currency": "US" }),
                json!({ "customer": to_one("customers", id_of(&customer)) }),
            ),
        )
        .await;
    assert_error(
        &response,
        400,
        "length constraint",
        Source::Pointer("/data/attributes/currency"),
    );
}

#[tokio::test]
async fn numbers_below_their_minimum_are_range_errors() {
    let app = jsonapi_tests::shared_scratch();
    for (field, value) in [("price", json!("-0.01")), ("quantity", json!(-1))] {
        let mut attributes = product_attributes(&format!("RG-{field}"));
        attributes[field] = value;
        let response = app
            .post(
                "/api/products",
                &resource_doc("products", None, attributes, json!({})),
            )
            .await;
        assert_error(
            &response,
            400,
            "range constraint",
            Source::Pointer(&format!("/data/attributes/{field}")),
        );
    }
    // Zero is the minimum itself.
    let mut attributes = product_attributes("RG-zero");
    attributes["price"] = json!("0");
    app.post(
        "/api/products",
        &resource_doc("products", None, attributes, json!({})),
    )
    .await
    .assert_status(201);
}

#[tokio::test]
async fn a_line_item_quantity_below_one_is_a_range_error() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let order = crate::fixtures::create_order(&app, id_of(&customer)).await;
    let product = create_product(&app, "LI-1").await;
    let response = app
        .post(
            "/api/orderlineitems",
            &line_item_doc(&order, id_of(&product), 0, "1.00"),
        )
        .await;
    assert_error(
        &response,
        400,
        "range constraint",
        Source::Pointer("/data/attributes/quantity"),
    );
}

#[tokio::test]
async fn a_value_outside_an_enum_is_a_choice_error() {
    let app = jsonapi_tests::shared_scratch();
    let mut attributes = product_attributes("CH-1");
    attributes["status"] = json!("bogus");
    let response = app
        .post(
            "/api/products",
            &resource_doc("products", None, attributes, json!({})),
        )
        .await;
    assert_error(
        &response,
        400,
        "choice constraint",
        Source::Pointer("/data/attributes/status"),
    );
}

#[tokio::test]
async fn a_malformed_email_is_an_email_error() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/users",
            &resource_doc(
                "users",
                None,
                json!({ "username": "u", "email": "not-an-email" }),
                json!({}),
            ),
        )
        .await;
    assert_error(
        &response,
        400,
        "email constraint",
        Source::Pointer("/data/attributes/email"),
    );
    let response = app
        .post(
            "/api/customers",
            &resource_doc(
                "customers",
                None,
                json!({ "name": "C", "email": "a@" }),
                json!({}),
            ),
        )
        .await;
    assert_error(
        &response,
        400,
        "email constraint",
        Source::Pointer("/data/attributes/email"),
    );
}

#[tokio::test]
async fn a_wrongly_typed_attribute_is_rejected_at_its_pointer() {
    let app = jsonapi_tests::shared_scratch();
    for (field, value) in [
        ("quantity", json!("many")),
        ("price", json!("cheap")),
        ("tags", json!("not-an-array")),
        ("name", json!({ "an": "object" })),
    ] {
        let mut attributes = product_attributes(&format!("TY-{field}"));
        attributes[field] = value;
        let response = app
            .post(
                "/api/products",
                &resource_doc("products", None, attributes, json!({})),
            )
            .await;
        response.assert_status(400);
        let pointer = format!("/data/attributes/{field}");
        assert!(
            response
                .errors()
                .iter()
                .any(|e| e["source"]["pointer"] == pointer.as_str()),
            "{}\nexpected an error at {pointer}",
            response.describe()
        );
    }
}

#[tokio::test]
async fn a_taken_unique_value_is_a_unique_entity_error() {
    let app = TestApp::spawn().await;
    create_product(&app, "UNIQ-1").await;
    let response = app
        .post(
            "/api/products",
            &resource_doc("products", None, product_attributes("UNIQ-1"), json!({})),
        )
        .await;
    assert_error(
        &response,
        400,
        "unique entity constraint",
        Source::Pointer("/data/attributes/sku"),
    );
    assert_eq!(app.list_all("products").await.len(), 1);

    app.create(
        "users",
        json!({ "username": "ada", "email": "ada@example.com" }),
        json!({}),
    )
    .await;
    for (attributes, field) in [
        (
            json!({ "username": "ada", "email": "other@example.com" }),
            "username",
        ),
        (
            json!({ "username": "other", "email": "ada@example.com" }),
            "email",
        ),
    ] {
        let response = app
            .post(
                "/api/users",
                &resource_doc("users", None, attributes, json!({})),
            )
            .await;
        assert_error(
            &response,
            400,
            "unique entity constraint",
            Source::Pointer(&format!("/data/attributes/{field}")),
        );
    }

    create_customer(&app, "Ada", "ada@example.com").await;
    let response = app
        .post(
            "/api/customers",
            &resource_doc(
                "customers",
                None,
                json!({ "name": "Other", "email": "ada@example.com" }),
                json!({}),
            ),
        )
        .await;
    assert_error(
        &response,
        400,
        "unique entity constraint",
        Source::Pointer("/data/attributes/email"),
    );
}

#[tokio::test]
async fn linkage_to_a_missing_resource_is_a_form_error() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                None,
                product_attributes("FK-1"),
                json!({ "category": to_one("categories", "999") }),
            ),
        )
        .await;
    assert_error_detail(
        &response,
        400,
        "form constraint",
        Source::Pointer("/data/relationships/category/data"),
        "The entity does not exist.",
    );
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn to_many_linkage_to_a_missing_resource_is_a_form_error() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/users",
            &resource_doc(
                "users",
                None,
                json!({ "username": "ada", "email": "ada@example.com" }),
                json!({ "roles": to_many("roles", &["ghost"]) }),
            ),
        )
        .await;
    assert_error_under(
        &response,
        "form constraint",
        "/data/relationships/roles/data",
    );
    assert!(app.list_all("users").await.is_empty());
}

#[tokio::test]
async fn a_missing_required_relationship_is_reported_at_its_pointer() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/orders",
            &resource_doc("orders", None, json!({ "poNumber": "PO" }), json!({})),
        )
        .await;
    response.assert_status(400);
    assert!(
        response.errors().iter().any(|e| {
            e["status"] == "400"
                && (e["title"] == "not blank constraint" || e["title"] == "not null constraint")
                && e["source"]["pointer"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/data/relationships/customer"))
        }),
        "{}",
        response.describe()
    );
}

#[tokio::test]
async fn an_unknown_attribute_is_an_extra_field() {
    let app = jsonapi_tests::shared_scratch();
    let mut attributes = product_attributes("EX-1");
    attributes["colour"] = json!("red");
    let response = app
        .post(
            "/api/products",
            &resource_doc("products", None, attributes, json!({})),
        )
        .await;
    assert_error(
        &response,
        400,
        "extra fields constraint",
        Source::Pointer("/data/attributes/colour"),
    );
}

#[tokio::test]
async fn an_unknown_relationship_is_an_extra_field() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                None,
                product_attributes("EX-2"),
                json!({ "owner": to_one("users", "1") }),
            ),
        )
        .await;
    assert_error(
        &response,
        400,
        "extra fields constraint",
        Source::Pointer("/data/relationships/owner"),
    );
}

#[tokio::test]
async fn a_relationship_sent_as_an_attribute_is_an_extra_field() {
    let app = jsonapi_tests::shared_scratch();
    let mut attributes = product_attributes("EX-3");
    attributes["category"] = json!("1");
    let response = app
        .post(
            "/api/products",
            &resource_doc("products", None, attributes, json!({})),
        )
        .await;
    assert_error(
        &response,
        400,
        "extra fields constraint",
        Source::Pointer("/data/attributes/category"),
    );
}

#[tokio::test]
async fn an_output_only_field_is_rejected_as_an_extra_field() {
    let app = TestApp::spawn().await;
    let customer = create_customer(&app, "Ada", "ada@example.com").await;
    let response = app
        .post(
            "/api/orders",
            &resource_doc(
                "orders",
                None,
                json!({ "total": "100.00" }),
                json!({ "customer": to_one("customers", id_of(&customer)) }),
            ),
        )
        .await;
    assert_error(
        &response,
        400,
        "extra fields constraint",
        Source::Pointer("/data/attributes/total"),
    );
    assert!(app.list_all("orders").await.is_empty());
}

#[tokio::test]
async fn read_only_timestamps_sent_on_create_are_ignored() {
    let app = jsonapi_tests::shared_scratch();
    let mut attributes = product_attributes("TS-1");
    attributes["createdAt"] = json!("2001-02-03T04:05:06Z");
    attributes["updatedAt"] = json!("2001-02-03T04:05:06Z");
    let response = app
        .post(
            "/api/products",
            &resource_doc("products", None, attributes, json!({})),
        )
        .await;
    response.assert_status(201);
    let product = response.data();
    assert_ne!(attr(product, "createdAt"), "2001-02-03T04:05:06Z");
    assert_ne!(attr(product, "updatedAt"), "2001-02-03T04:05:06Z");
    let created = jsonapi_tests::values::parse_api_datetime(
        attr(product, "createdAt").as_str().unwrap_or_default(),
    )
    .expect("createdAt is a datetime");
    assert!(
        created.year() >= 2024,
        "createdAt {created} is not the server's clock"
    );
}

#[tokio::test]
async fn a_password_is_accepted_but_never_returned() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/users",
            &resource_doc(
                "users",
                None,
                json!({ "username": "ada", "email": "ada@example.com", "password": "s3cret!" }),
                json!({}),
            ),
        )
        .await;
    response.assert_status(201);
    assert!(
        !has_attr(response.data(), "password"),
        "{}",
        response.describe()
    );
    assert!(
        !response.raw.windows(7).any(|w| w == b"s3cret!"),
        "{}",
        response.describe()
    );
    let fetched = app
        .get(&format!("/api/users/{}", id_of(response.data())))
        .await;
    assert!(
        !has_attr(fetched.data(), "password"),
        "{}",
        fetched.describe()
    );
    let list = app.get("/api/users").await;
    assert!(
        !list.raw.windows(7).any(|w| w == b"s3cret!"),
        "{}",
        list.describe()
    );
}
