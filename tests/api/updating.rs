//! Updating resources with `PATCH` (JSON:API checklist J, Oro §1.1, §3; acceptance rows 7, 42,
//! 46–48).

use jsonapi_tests::values::{attr, has_attr, id_of, to_many_ids, to_one_id};
use jsonapi_tests::{
    Source, TestApp, Value, assert_error, assert_error_detail, json, resource_doc, to_many, to_one,
};

use crate::fixtures::{
    create_category, create_customer, create_order, create_product, unique_email,
};

fn patch_doc(ty: &str, id: &str, attributes: Value) -> Value {
    resource_doc(ty, Some(id), attributes, json!({}))
}

#[tokio::test]
async fn patching_one_attribute_returns_200_and_leaves_the_others_untouched() {
    let app = jsonapi_tests::shared_scratch();
    let category = create_category(&app, "Tools", None).await;
    let created = app
        .create(
            "products",
            json!({ "sku": "PA-1", "name": "Saw", "price": "20.00", "quantity": 4,
                    "description": "Sharp", "tags": ["wood"] }),
            json!({ "category": to_one("categories", id_of(&category)) }),
        )
        .await;
    let id = id_of(&created);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &patch_doc("products", id, json!({ "name": "Big saw" })),
        )
        .await;
    response.assert_status(200);
    let updated = response.data();
    assert_eq!(updated["id"], id);
    assert_eq!(attr(updated, "name"), "Big saw");
    for field in [
        "sku",
        "price",
        "quantity",
        "description",
        "tags",
        "status",
        "createdAt",
    ] {
        assert_eq!(
            attr(updated, field),
            attr(&created, field),
            "{field} changed"
        );
    }
    assert_eq!(to_one_id(updated, "category"), Some(id_of(&category)));
    let fetched = app.fetch("products", id).await;
    assert_eq!(attr(&fetched, "name"), "Big saw");
    assert_eq!(attr(&fetched, "description"), "Sharp");
}

#[tokio::test]
async fn patching_only_a_relationship_leaves_the_attributes_untouched() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "PR-1").await;
    let category = create_category(&app, "Kitchen", None).await;
    let id = id_of(&product);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &resource_doc(
                "products",
                Some(id),
                json!({}),
                json!({ "category": to_one("categories", id_of(&category)) }),
            ),
        )
        .await;
    response.assert_status(200);
    assert_eq!(
        to_one_id(response.data(), "category"),
        Some(id_of(&category))
    );
    assert_eq!(attr(response.data(), "name"), attr(&product, "name"));
    // The inverse side follows.
    let category = app.fetch("categories", id_of(&category)).await;
    assert_eq!(to_many_ids(&category, "products"), vec![id.to_owned()]);
}

#[tokio::test]
async fn a_nullable_to_one_relationship_can_be_cleared() {
    let app = jsonapi_tests::shared_scratch();
    let category = create_category(&app, "Tools", None).await;
    let product = app
        .create(
            "products",
            crate::fixtures::product_attributes("CL-1"),
            json!({ "category": to_one("categories", id_of(&category)) }),
        )
        .await;
    let id = id_of(&product);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &resource_doc(
                "products",
                Some(id),
                json!({}),
                json!({ "category": { "data": null } }),
            ),
        )
        .await;
    response.assert_status(200);
    assert_eq!(to_one_id(response.data(), "category"), None);
    let category = app.fetch("categories", id_of(&category)).await;
    assert!(to_many_ids(&category, "products").is_empty());
}

#[tokio::test]
async fn a_to_many_relationship_is_replaced_by_a_patch() {
    let app = TestApp::spawn().await;
    for role in ["manager", "editor", "viewer"] {
        app.post(
            "/api/roles",
            &resource_doc("roles", Some(role), json!({ "label": role }), json!({})),
        )
        .await
        .assert_status(201);
    }
    let user = app
        .create(
            "users",
            json!({ "username": "ada", "email": "ada@example.com" }),
            json!({ "roles": to_many("roles", &["manager", "editor"]) }),
        )
        .await;
    let id = id_of(&user);
    let response = app
        .patch(
            &format!("/api/users/{id}"),
            &resource_doc(
                "users",
                Some(id),
                json!({}),
                json!({ "roles": to_many("roles", &["viewer"]) }),
            ),
        )
        .await;
    response.assert_status(200);
    assert_eq!(to_many_ids(response.data(), "roles"), vec!["viewer"]);
}

#[tokio::test]
async fn a_nullable_attribute_can_be_set_to_null() {
    let app = jsonapi_tests::shared_scratch();
    let product = app
        .create(
            "products",
            json!({ "sku": "NUL-1", "name": "N", "price": "1", "description": "gone soon" }),
            json!({}),
        )
        .await;
    let id = id_of(&product);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &patch_doc("products", id, json!({ "description": null })),
        )
        .await;
    response.assert_status(200);
    assert!(
        has_attr(response.data(), "description"),
        "{}",
        response.describe()
    );
    assert_eq!(attr(response.data(), "description"), &Value::Null);
}

#[tokio::test]
async fn an_id_in_the_body_other_than_the_url_id_conflicts() {
    let app = jsonapi_tests::shared_scratch();
    let a = create_product(&app, "ID-1").await;
    let b = create_product(&app, "ID-2").await;
    let response = app
        .patch(
            &format!("/api/products/{}", id_of(&a)),
            &patch_doc("products", id_of(&b), json!({ "name": "Hijack" })),
        )
        .await;
    assert_error(
        &response,
        409,
        "conflict constraint",
        Source::Pointer("/data/id"),
    );
    assert_eq!(
        attr(&app.fetch("products", id_of(&a)).await, "name"),
        attr(&a, "name")
    );
    assert_eq!(
        attr(&app.fetch("products", id_of(&b)).await, "name"),
        attr(&b, "name")
    );
}

#[tokio::test]
async fn a_type_in_the_body_other_than_the_url_type_conflicts() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "TY-1").await;
    let id = id_of(&product);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &patch_doc("categories", id, json!({ "name": "x" })),
        )
        .await;
    assert_error(
        &response,
        409,
        "conflict constraint",
        Source::Pointer("/data/type"),
    );
}

#[tokio::test]
async fn a_patch_without_an_id_in_the_body_is_invalid_request_data() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "NOID-1").await;
    let response = app
        .patch(
            &format!("/api/products/{}", id_of(&product)),
            &resource_doc("products", None, json!({ "name": "x" }), json!({})),
        )
        .await;
    assert_error(
        &response,
        400,
        "request data constraint",
        Source::Pointer("/data/id"),
    );
}

#[tokio::test]
async fn patching_a_missing_resource_is_not_found() {
    let app = TestApp::spawn().await;
    let response = app
        .patch(
            "/api/products/999",
            &patch_doc("products", "999", json!({ "name": "x" })),
        )
        .await;
    assert_error_detail(
        &response,
        404,
        "not found http exception",
        Source::Any,
        "An entity with the requested identifier does not exist.",
    );
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn patching_a_malformed_id_is_a_bad_identifier() {
    let app = jsonapi_tests::shared_scratch();
    let response = app
        .patch(
            "/api/products/abc",
            &patch_doc("products", "abc", json!({ "name": "x" })),
        )
        .await;
    assert_error(&response, 400, "entity identifier constraint", Source::Any);
}

#[tokio::test]
async fn read_only_timestamps_sent_on_update_are_ignored() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "RO-1").await;
    let id = id_of(&product);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &patch_doc(
                "products",
                id,
                json!({ "name": "Renamed", "createdAt": "2001-02-03T04:05:06Z", "updatedAt": "2001-02-03T04:05:06Z" }),
            ),
        )
        .await;
    response.assert_status(200);
    assert_eq!(attr(response.data(), "name"), "Renamed");
    assert_eq!(
        attr(response.data(), "createdAt"),
        attr(&product, "createdAt")
    );
    assert_ne!(attr(response.data(), "updatedAt"), "2001-02-03T04:05:06Z");
}

#[tokio::test]
async fn updated_at_moves_forward_on_update_and_created_at_stays() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "UPD-1").await;
    let id = id_of(&product);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &patch_doc("products", id, json!({ "quantity": 9 })),
        )
        .await;
    response.assert_status(200);
    let parse = |v: &Value| {
        jsonapi_tests::values::parse_api_datetime(v.as_str().unwrap_or_default())
            .expect("a datetime")
    };
    assert_eq!(
        attr(response.data(), "createdAt"),
        attr(&product, "createdAt")
    );
    assert!(parse(attr(response.data(), "updatedAt")) >= parse(attr(&product, "updatedAt")));
}

#[tokio::test]
async fn an_output_only_field_in_a_patch_is_an_extra_field() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let order = create_order(&app, id_of(&customer)).await;
    let response = app
        .patch(
            &format!("/api/orders/{order}"),
            &patch_doc("orders", &order, json!({ "total": "5.00" })),
        )
        .await;
    assert_error(
        &response,
        400,
        "extra fields constraint",
        Source::Pointer("/data/attributes/total"),
    );
}

#[tokio::test]
async fn an_unknown_field_in_a_patch_is_an_extra_field() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "UF-1").await;
    let id = id_of(&product);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &patch_doc("products", id, json!({ "colour": "red" })),
        )
        .await;
    assert_error(
        &response,
        400,
        "extra fields constraint",
        Source::Pointer("/data/attributes/colour"),
    );
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &resource_doc(
                "products",
                Some(id),
                json!({}),
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
async fn a_patch_is_validated_like_a_create() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "VAL-1").await;
    let id = id_of(&product);
    let path = format!("/api/products/{id}");
    let cases = [
        (
            json!({ "price": "-1" }),
            "range constraint",
            "/data/attributes/price",
        ),
        (
            json!({ "name": "" }),
            "not blank constraint",
            "/data/attributes/name",
        ),
        (
            json!({ "status": null }),
            "not null constraint",
            "/data/attributes/status",
        ),
        (
            json!({ "status": "gone" }),
            "choice constraint",
            "/data/attributes/status",
        ),
        (
            json!({ "sku": "S".repeat(65) }),
            "length constraint",
            "/data/attributes/sku",
        ),
    ];
    for (attributes, title, pointer) in cases {
        let response = app
            .patch(&path, &patch_doc("products", id, attributes))
            .await;
        assert_error(&response, 400, title, Source::Pointer(pointer));
    }
    // Nothing of it was stored.
    let unchanged = app.fetch("products", id).await;
    assert_eq!(unchanged["attributes"], product["attributes"]);
}

#[tokio::test]
async fn a_patch_to_another_products_sku_is_a_unique_entity_error() {
    let app = jsonapi_tests::shared_scratch();
    create_product(&app, "TAKEN").await;
    let product = create_product(&app, "MINE").await;
    let id = id_of(&product);
    let path = format!("/api/products/{id}");
    let response = app
        .patch(&path, &patch_doc("products", id, json!({ "sku": "TAKEN" })))
        .await;
    assert_error(
        &response,
        400,
        "unique entity constraint",
        Source::Pointer("/data/attributes/sku"),
    );
    // Keeping its own value is no conflict.
    let response = app
        .patch(
            &path,
            &patch_doc("products", id, json!({ "sku": "MINE", "name": "Same sku" })),
        )
        .await;
    response.assert_status(200);
    // A freed value can be taken.
    let response = app
        .patch(
            &path,
            &patch_doc("products", id, json!({ "sku": "NEW-SKU" })),
        )
        .await;
    response.assert_status(200);
    let other = create_product(&app, "MINE").await;
    assert_eq!(attr(&other, "sku"), "MINE");
}

#[tokio::test]
async fn a_patch_linking_a_missing_resource_is_a_form_error() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "FKU-1").await;
    let id = id_of(&product);
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &resource_doc(
                "products",
                Some(id),
                json!({}),
                json!({ "category": to_one("categories", "404") }),
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
}

#[tokio::test]
async fn a_password_change_is_accepted_but_never_returned() {
    let app = jsonapi_tests::shared_scratch();
    let user = app
        .create(
            "users",
            json!({ "username": "ada", "email": unique_email("ada") }),
            json!({}),
        )
        .await;
    let id = id_of(&user);
    let response = app
        .patch(
            &format!("/api/users/{id}"),
            &patch_doc("users", id, json!({ "password": "n3w-s3cret" })),
        )
        .await;
    response.assert_status(200);
    assert!(
        !has_attr(response.data(), "password"),
        "{}",
        response.describe()
    );
    assert!(!response.raw.windows(10).any(|w| w == b"n3w-s3cret"));
}
