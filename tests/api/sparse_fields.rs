//! Sparse fieldsets, `fields[type]=a,b`, for primary and included resources (Oro §6.5;
//! acceptance row 63; JSON:API checklist E).

use jsonapi_tests::values::{attr, id_of, linkage};
use jsonapi_tests::{Source, Value, assert_error, assert_error_detail};

use crate::query_support::included as included_of;
use crate::query_support::{all_of, get_ok, member_names, names, primary};

/// Asserts a resource carries exactly these attributes and relationships (an absent
/// `relationships` or `attributes` member counts as empty), and keeps its type and id.
fn assert_fields(resource: &Value, attributes: &[&str], relationships: &[&str]) {
    assert!(
        resource.get("type").is_some() && resource.get("id").is_some(),
        "{resource}: a fieldset must not drop type or id"
    );
    assert_eq!(
        member_names(resource, "attributes"),
        names(attributes),
        "the attributes of {resource}"
    );
    assert_eq!(
        member_names(resource, "relationships"),
        names(relationships),
        "the relationships of {resource}"
    );
}

fn find<'a>(items: &'a [Value], id: &str) -> &'a Value {
    items
        .iter()
        .find(|r| id_of(r) == id)
        .unwrap_or_else(|| panic!("no resource {id}"))
}

#[tokio::test]
async fn a_fieldset_keeps_only_the_listed_attributes_and_relationships() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let response = get_ok(&app, "/api/products?fields[products]=sku,price").await;
    assert_eq!(response.items().len(), 10);
    for product in response.items() {
        assert_fields(product, &["sku", "price"], &[]);
        let full = find(&products, id_of(product));
        assert_eq!(attr(product, "sku"), attr(full, "sku"));
        assert_eq!(attr(product, "price"), attr(full, "price"));
    }
    let response = get_ok(&app, "/api/products?fields[products]=name,category,tags").await;
    for product in response.items() {
        assert_fields(product, &["name", "tags"], &["category"]);
        let full = find(&products, id_of(product));
        assert_eq!(linkage(product, "category"), linkage(full, "category"));
        assert_eq!(attr(product, "tags"), attr(full, "tags"));
    }
    let response = get_ok(&app, "/api/products/3?fields[products]=quantity,category").await;
    assert_fields(response.data(), &["quantity"], &["category"]);
    let response = get_ok(&app, "/api/categories?fields[categories]=parent,children").await;
    for category in response.items() {
        assert_fields(category, &[], &["parent", "children"]);
    }
}

#[tokio::test]
async fn an_empty_fieldset_leaves_only_type_and_id() {
    let app = jsonapi_tests::shared_seeded();
    let response = get_ok(&app, "/api/products?fields[products]=").await;
    assert_eq!(response.items().len(), 10);
    for product in response.items() {
        assert_fields(product, &[], &[]);
    }
    let response = get_ok(&app, "/api/orders/1?fields[orders]=").await;
    assert_fields(response.data(), &[], &[]);
}

#[tokio::test]
async fn a_fieldset_applies_to_included_resources_of_its_type() {
    let app = jsonapi_tests::shared_seeded();
    let categories = all_of(&app, "categories").await;
    let response = get_ok(
        &app,
        "/api/products?include=category&fields[categories]=name",
    )
    .await;
    let included = included_of(&response);
    assert!(!included.is_empty(), "{}", response.describe());
    for category in &included {
        assert_fields(category, &["name"], &[]);
        assert_eq!(
            attr(category, "name"),
            attr(find(&categories, id_of(category)), "name")
        );
    }
    // The primary resources keep every field.
    for product in response.items() {
        assert!(member_names(product, "attributes").len() > 2);
        assert!(member_names(product, "relationships").contains("category"));
    }
    let response = get_ok(
        &app,
        "/api/orders?include=customer,lineItems&fields[orders]=poNumber,customer,lineItems&fields[customers]=email&fields[orderlineitems]=quantity",
    )
    .await;
    for order in primary(&response) {
        assert_fields(&order, &["poNumber"], &["customer", "lineItems"]);
    }
    let included = included_of(&response);
    assert!(included.iter().any(|r| r["type"] == "customers"));
    assert!(included.iter().any(|r| r["type"] == "orderlineitems"));
    for resource in &included {
        match resource["type"].as_str() {
            Some("customers") => assert_fields(resource, &["email"], &[]),
            Some("orderlineitems") => assert_fields(resource, &["quantity"], &[]),
            other => panic!("unexpected included type {other:?}"),
        }
    }
    let response = get_ok(&app, "/api/products/1?include=category&fields[categories]=").await;
    let included = included_of(&response);
    assert_eq!(included.len(), 1);
    assert_fields(&included[0], &[], &[]);
}

#[tokio::test]
async fn a_fieldset_applies_on_related_resource_routes() {
    let app = jsonapi_tests::shared_seeded();
    let response = get_ok(&app, "/api/categories/1/products?fields[products]=sku").await;
    assert!(!response.items().is_empty());
    for product in response.items() {
        assert_fields(product, &["sku"], &[]);
    }
    let response = get_ok(
        &app,
        "/api/products/1/category?fields[categories]=name,parent",
    )
    .await;
    assert_fields(response.data(), &["name"], &["parent"]);
}

#[tokio::test]
async fn a_primary_fieldset_without_the_included_relationship_includes_nothing() {
    let app = jsonapi_tests::shared_seeded();
    let response = get_ok(&app, "/api/products?include=category&fields[products]=sku").await;
    for product in response.items() {
        assert_fields(product, &["sku"], &[]);
    }
    assert!(
        included_of(&response).is_empty(),
        "{}\nnothing may be included when the fieldset omits the relationship (Oro §6.6)",
        response.describe()
    );
}

#[tokio::test]
async fn an_unknown_type_or_field_in_a_fieldset_is_rejected() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?fields[nope]=name").await;
    assert_error_detail(
        &response,
        400,
        "filter constraint",
        Source::Parameter("fields[nope]"),
        "An entity type is not known.",
    );
    for (path, parameter) in [
        ("/api/products?fields[products]=nope", "fields[products]"),
        (
            "/api/products?fields[products]=sku,nope",
            "fields[products]",
        ),
        // A field of another type.
        (
            "/api/products?fields[products]=username",
            "fields[products]",
        ),
        (
            "/api/products?include=category&fields[categories]=sku",
            "fields[categories]",
        ),
        // Empty names inside the list.
        ("/api/products?fields[products]=,sku", "fields[products]"),
        ("/api/products?fields[products]=sku,", "fields[products]"),
    ] {
        let response = app.get(path).await;
        response.assert_status(400);
        let named = response.errors().iter().any(|e| {
            e["status"] == "400"
                && e["source"]["parameter"] == parameter
                && e["title"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(" constraint"))
        });
        assert!(
            named,
            "{}\nexpected a 400 constraint error for {parameter}",
            response.describe()
        );
    }
    // A fieldset of a type that is not in the response is still checked.
    let response = app.get("/api/products?fields[nope]=").await;
    assert_error(
        &response,
        400,
        "filter constraint",
        Source::Parameter("fields[nope]"),
    );
}

#[tokio::test]
async fn an_empty_name_inside_a_fieldset_is_rejected() {
    // Oro §6.5: a fieldset is "an array of not empty strings"; an empty name between two
    // commas is as empty as one before the first or after the last.
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?fields[products]=sku,,price").await;
    assert_error(
        &response,
        400,
        "filter constraint",
        Source::Parameter("fields[products]"),
    );
}
