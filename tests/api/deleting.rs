//! Deleting resources (JSON:API checklist L, Oro §1.1; acceptance row 8).

use jsonapi_tests::values::{id_of, to_many_ids, to_one_id};
use jsonapi_tests::{Source, TestApp, assert_error, assert_error_detail, json, to_one};

use crate::fixtures::{
    create_category, create_customer, create_line_item, create_order, create_product, unique_email,
};

#[tokio::test]
async fn deleting_returns_204_without_a_body_and_the_resource_is_gone() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "DEL-1").await;
    let keep = create_product(&app, "DEL-2").await;
    let path = format!("/api/products/{}", id_of(&product));
    let response = app.delete(&path).await;
    response.assert_status(204);
    assert!(response.raw.is_empty(), "{}", response.describe());
    assert_error(
        &app.get(&path).await,
        404,
        "not found http exception",
        Source::Any,
    );
    let remaining = app.list_all("products").await;
    assert_eq!(remaining.len(), 1);
    assert_eq!(id_of(&remaining[0]), id_of(&keep));
}

#[tokio::test]
async fn deleting_again_is_not_found() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "DEL-3").await;
    let path = format!("/api/products/{}", id_of(&product));
    app.delete(&path).await.assert_status(204);
    let again = app.delete(&path).await;
    assert_error_detail(
        &again,
        404,
        "not found http exception",
        Source::Any,
        "An entity with the requested identifier does not exist.",
    );
}

#[tokio::test]
async fn deleting_an_unknown_type_or_a_malformed_id_fails_like_a_fetch() {
    let app = jsonapi_tests::shared_scratch();
    assert_error(
        &app.delete("/api/foo/1").await,
        404,
        "entity type constraint",
        Source::Any,
    );
    assert_error(
        &app.delete("/api/products/abc").await,
        400,
        "entity identifier constraint",
        Source::Any,
    );
}

#[tokio::test]
async fn a_deleted_sku_can_be_used_again() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "REUSE-1").await;
    app.delete(&format!("/api/products/{}", id_of(&product)))
        .await
        .assert_status(204);
    let again = create_product(&app, "REUSE-1").await;
    assert_ne!(
        id_of(&again),
        id_of(&product),
        "a sequence id is never handed out twice"
    );
}

#[tokio::test]
async fn deleting_a_related_resource_never_leaves_a_dangling_linkage() {
    let app = jsonapi_tests::shared_scratch();
    let category = create_category(&app, "Doomed", None).await;
    let product = app
        .create(
            "products",
            crate::fixtures::product_attributes("ORPHAN-1"),
            json!({ "category": to_one("categories", id_of(&category)) }),
        )
        .await;
    let response = app
        .delete(&format!("/api/categories/{}", id_of(&category)))
        .await;
    let product = app.fetch("products", id_of(&product)).await;
    if response.status.is_success() {
        // Deleted: the product no longer links to it.
        assert_eq!(to_one_id(&product, "category"), None);
    } else {
        // Refused: both are still there and still linked.
        app.fetch("categories", id_of(&category)).await;
        assert_eq!(to_one_id(&product, "category"), Some(id_of(&category)));
    }
}

#[tokio::test]
async fn deleting_an_order_deletes_its_line_items() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let product = create_product(&app, "CASC-1").await;
    let order = create_order(&app, id_of(&customer)).await;
    let other_order = create_order(&app, id_of(&customer)).await;
    let a = create_line_item(&app, &order, id_of(&product), 1, "1.00").await;
    let b = create_line_item(&app, &order, id_of(&product), 2, "1.00").await;
    let kept = create_line_item(&app, &other_order, id_of(&product), 3, "1.00").await;
    app.delete(&format!("/api/orders/{order}"))
        .await
        .assert_status(204);
    for item in [&a, &b] {
        assert_error(
            &app.get(&format!("/api/orderlineitems/{item}")).await,
            404,
            "not found http exception",
            Source::Any,
        );
    }
    app.fetch("orderlineitems", &kept).await;
    let customer = app.fetch("customers", id_of(&customer)).await;
    assert_eq!(to_many_ids(&customer, "orders"), vec![other_order]);
}

/// A resource with more related resources than one store transaction can unlink (DynamoDB's
/// 100 actions: each product's item, listing and index entries change) is still deleted, and
/// a to-many replaced past that size still answers 204: the change is written in steps that
/// stay all or nothing (module `intent`), as a synchronous batch is.
#[tokio::test]
async fn a_resource_with_many_related_ones_is_deleted_and_relinked_whole() {
    let app = jsonapi_tests::shared_scratch();
    let category = create_category(&app, "Crowded", None).await;
    let crowded = id_of(&category).to_owned();
    let child = create_category(&app, "Crowded child", Some(&crowded)).await;
    let mut products = Vec::new();
    for n in 0..40 {
        let product = app
            .create(
                "products",
                crate::fixtures::product_attributes(&format!("CROWD-{n}")),
                json!({ "category": to_one("categories", &crowded) }),
            )
            .await;
        products.push(id_of(&product).to_owned());
    }

    // All 40 moved to another category by replacing its to-many at once.
    let other = id_of(&create_category(&app, "Roomy", None).await).to_owned();
    let members: Vec<_> = products
        .iter()
        .map(|id| json!({"type": "products", "id": id}))
        .collect();
    let path = format!("/api/categories/{other}/relationships/products");
    app.patch(&path, &json!({ "data": members }))
        .await
        .assert_status(204);
    let linked = app.fetch("categories", &other).await;
    assert_eq!(to_many_ids(&linked, "products").len(), 40);
    for id in &products {
        let product = app.fetch("products", id).await;
        assert_eq!(to_one_id(&product, "category"), Some(other.as_str()));
    }

    // Deleted with its 40 products and a child: none of them links to it afterwards.
    let path = format!("/api/categories/{other}");
    app.delete(&path).await.assert_status(204);
    for id in &products {
        let product = app.fetch("products", id).await;
        assert_eq!(to_one_id(&product, "category"), None);
    }
    app.delete(&format!("/api/categories/{crowded}"))
        .await
        .assert_status(204);
    let child = app.fetch("categories", id_of(&child)).await;
    assert_eq!(to_one_id(&child, "parent"), None);
}
