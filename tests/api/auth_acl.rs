//! Role permissions (Oro §12.4, §3; acceptance rows 16, 40, 41, 95): VIEW to read, CREATE +
//! VIEW to create, EDIT + VIEW to update or change relationships, DELETE to delete, on the
//! type and on every type a request reads or writes through relationships, included
//! resources and filter paths; 403 `access denied exception` otherwise, and nothing changed.
//! A role's permissions are read from the roles type and cached for `CACHE_TTL`.

use jsonapi_auth::GrantType;
use jsonapi_engine::auth::CACHE_TTL;
use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{
    ApiClient, Credentials, Source, TestApp, TestResponse, Value, assert_error,
    assert_error_detail, json, resource_doc, shared_seeded, to_one,
};

use crate::fixtures::product_attributes;
use crate::query_support::included;

/// A client holding `roles` on the app's server, with a token.
pub(crate) async fn as_roles(app: &TestApp, roles: &[&str]) -> ApiClient {
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    let client = app
        .server()
        .create_client("acl test", &roles, &[GrantType::ClientCredentials])
        .await
        .expect("a client is created");
    let token = app
        .client_token(&Credentials {
            id: client.id,
            secret: client.secret.expose().to_owned(),
        })
        .await;
    app.with_token(Some(&token))
}

/// Creates a role (as the admin) with these permissions.
pub(crate) async fn role(app: &TestApp, id: &str, permissions: Value) {
    app.post(
        "/api/roles",
        &resource_doc(
            "roles",
            Some(id),
            json!({ "label": id, "permissions": permissions }),
            json!({}),
        ),
    )
    .await
    .assert_status(201);
}

/// A client whose role may view categories and view and create products, and how many
/// categories and products there are.
async fn cataloguer(app: &TestApp) -> (ApiClient, usize, usize) {
    role(
        app,
        "cataloguer",
        json!({ "products": ["VIEW", "CREATE"], "categories": ["VIEW"] }),
    )
    .await;
    let client = as_roles(app, &["cataloguer"]).await;
    let categories = app.list_all("categories").await.len();
    let products = app.list_all("products").await.len();
    (client, categories, products)
}

fn assert_denied(response: &TestResponse) {
    assert_error_detail(
        response,
        403,
        "access denied exception",
        Source::Absent,
        "No access to this type of entities.",
    );
    assert!(
        response.header("www-authenticate").is_none(),
        "{}",
        response.describe()
    );
}

#[tokio::test]
async fn a_viewer_reads_the_catalog_and_changes_nothing() {
    let app = TestApp::spawn_seeded().await;
    let viewer = as_roles(&app, &["viewer"]).await;
    let product = app.fetch("products", "1").await;
    let products = app.list_all("products").await.len();

    let list = viewer.get("/api/products").await;
    list.assert_status(200);
    assert_eq!(list.items().len(), 10);
    assert_eq!(viewer.fetch("products", "1").await, product);
    viewer
        .get("/api/products/1/category")
        .await
        .assert_status(200);
    viewer
        .get("/api/categories?include=products")
        .await
        .assert_status(200);
    // A list read through POST with the method override is a read.
    let response = viewer
        .post_with(
            "/api/products",
            &json!({ "filter": { "sku": "SKU-0001" } }),
            &[("X-HTTP-Method-Override", "GET")],
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.ids(), ["1"]);

    // Every write is refused, and nothing changes.
    let patch =
        json!({ "data": { "type": "products", "id": "1", "attributes": { "name": "Mine now" } } });
    assert_denied(&viewer.patch("/api/products/1", &patch).await);
    let post = resource_doc("products", None, product_attributes("VIEWER-1"), json!({}));
    assert_denied(&viewer.post("/api/products", &post).await);
    assert_denied(&viewer.delete("/api/products/1").await);
    assert_denied(&viewer.delete("/api/products?filter[id]=1").await);
    let linkage = json!({ "data": { "type": "categories", "id": "2" } });
    assert_denied(
        &viewer
            .patch("/api/products/1/relationships/category", &linkage)
            .await,
    );
    let members = json!({ "data": [{ "type": "products", "id": "1" }] });
    assert_denied(
        &viewer
            .post("/api/categories/2/relationships/products", &members)
            .await,
    );
    assert_eq!(app.fetch("products", "1").await, product);
    assert_eq!(app.list_all("products").await.len(), products);

    // Types the role does not name are closed.
    for path in [
        "/api/customers",
        "/api/customers/1",
        "/api/orders?include=customer",
        "/api/users",
        "/api/roles",
    ] {
        assert_denied(&viewer.get(path).await);
    }
}

#[tokio::test]
async fn reading_through_a_relationship_needs_view_on_its_type() {
    let app = TestApp::spawn_seeded().await;
    role(&app, "productreader", json!({ "products": ["VIEW"] })).await;
    let reader = as_roles(&app, &["productreader"]).await;
    let category = to_one_id(&app.fetch("products", "1").await, "category")
        .expect("a seeded product has a category")
        .to_owned();

    // The related resource itself is closed; the linkage (its identifier) is not.
    assert_denied(&reader.get("/api/products/1/category").await);
    assert_denied(&reader.get("/api/categories/1/products").await);
    let linkage = reader.get("/api/products/1/relationships/category").await;
    linkage.assert_status(200);
    assert_eq!(linkage.data()["id"], category.as_str());

    // Included resources of that type are left out; the linkage stays.
    let response = reader.get("/api/products/1?include=category").await;
    response.assert_status(200);
    assert!(included(&response).is_empty(), "{}", response.describe());
    assert_eq!(
        to_one_id(response.data(), "category"),
        Some(category.as_str())
    );
    let response = reader
        .get("/api/products?include=category&page[size]=5")
        .await;
    response.assert_status(200);
    assert!(included(&response).is_empty(), "{}", response.describe());
    assert!(
        response
            .items()
            .iter()
            .all(|p| to_one_id(p, "category").is_some())
    );

    // A filter through the relationship would probe values of that type.
    let response = reader
        .get("/api/products?filter[category.name]=Books")
        .await;
    assert_error(
        &response,
        403,
        "access denied exception",
        Source::Parameter("filter[category.name]"),
    );
    // Filtering by the linkage itself reads nothing of the related type.
    let response = reader
        .get(&format!("/api/products?filter[category]={category}"))
        .await;
    response.assert_status(200);
    assert!(!response.items().is_empty());

    // The admin sees it all.
    let response = app.get("/api/products/1?include=category").await;
    assert_eq!(included(&response).len(), 1, "{}", response.describe());
    app.get("/api/products?filter[category.name]=Books")
        .await
        .assert_status(200);
}

#[tokio::test]
async fn each_action_needs_its_default_permissions() {
    let app = TestApp::spawn_seeded().await;
    for (id, permissions) in [
        ("c", json!(["CREATE"])),
        ("cv", json!(["CREATE", "VIEW"])),
        ("e", json!(["EDIT"])),
        ("ev", json!(["EDIT", "VIEW"])),
        ("d", json!(["DELETE"])),
    ] {
        role(&app, id, json!({ "products": permissions })).await;
    }
    let new = |sku: &str| resource_doc("products", None, product_attributes(sku), json!({}));
    let patch = |id: &str, name: &str| json!({ "data": { "type": "products", "id": id, "attributes": { "name": name } } });

    // create: CREATE + VIEW.
    assert_denied(
        &as_roles(&app, &["c"])
            .await
            .post("/api/products", &new("C-1"))
            .await,
    );
    let created = as_roles(&app, &["cv"])
        .await
        .post("/api/products", &new("CV-1"))
        .await;
    created.assert_status(201);
    let id = id_of(created.data()).to_owned();

    // update: EDIT + VIEW.
    let path = format!("/api/products/{id}");
    assert_denied(
        &as_roles(&app, &["e"])
            .await
            .patch(&path, &patch(&id, "E"))
            .await,
    );
    let response = as_roles(&app, &["ev"])
        .await
        .patch(&path, &patch(&id, "EV"))
        .await;
    response.assert_status(200);
    assert_eq!(attr(response.data(), "name"), "EV");

    // delete: DELETE alone (and it does not open reading).
    let deleter = as_roles(&app, &["d"]).await;
    assert_denied(&deleter.get(&path).await);
    deleter.delete(&path).await.assert_status(204);
    app.get(&path).await.assert_status(404);

    // Roles add up.
    let both = as_roles(&app, &["c", "ev"]).await;
    both.post("/api/products", &new("BOTH-1"))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_wildcard_grants_every_type_and_no_role_grants_nothing() {
    let app = TestApp::spawn_seeded().await;
    role(&app, "auditor", json!({ "*": ["VIEW"] })).await;
    let auditor = as_roles(&app, &["auditor"]).await;
    for path in [
        "/api/customers",
        "/api/orders/1",
        "/api/users",
        "/api/roles",
    ] {
        auditor.get(path).await.assert_status(200);
    }
    let body = resource_doc(
        "customers",
        None,
        json!({ "name": "N", "email": "n@example.com" }),
        json!({}),
    );
    assert_denied(&auditor.post("/api/customers", &body).await);

    // A token without roles, or naming a role that does not exist, is authenticated and
    // allowed nothing.
    for roles in [&[][..], &["ghost"][..]] {
        let nobody = as_roles(&app, roles).await;
        assert_denied(&nobody.get("/api/products").await);
    }
}

#[tokio::test]
async fn included_resources_need_their_own_permissions() {
    let app = TestApp::spawn_seeded().await;
    let (cataloguer, categories, products) = cataloguer(&app).await;
    let body = json!({
        "data": {
            "type": "products",
            "attributes": product_attributes("INC-ACL-1"),
            "relationships": { "category": { "data": { "type": "categories", "lid": "new" } } }
        },
        "included": [
            { "type": "categories", "lid": "new", "attributes": { "name": "Smuggled" } }
        ]
    });
    let response = cataloguer.post("/api/products", &body).await;
    assert_error(
        &response,
        403,
        "access denied exception",
        Source::Pointer("/included/0"),
    );
    assert_eq!(app.list_all("categories").await.len(), categories);
    assert_eq!(app.list_all("products").await.len(), products);

    // With CREATE on categories the same document goes through.
    role(
        &app,
        "categorymaker",
        json!({ "categories": ["VIEW", "CREATE"] }),
    )
    .await;
    let both = as_roles(&app, &["cataloguer", "categorymaker"]).await;
    both.post("/api/products", &body).await.assert_status(201);

    // Linkage kept on the other side changes those resources: a category created with
    // products needs EDIT on products.
    let body = resource_doc(
        "categories",
        None,
        json!({ "name": "Takes products" }),
        json!({ "products": { "data": [{ "type": "products", "id": "2" }] } }),
    );
    let before = app.fetch("products", "2").await;
    let response = as_roles(&app, &["categorymaker"])
        .await
        .post("/api/categories", &body)
        .await;
    assert_error(
        &response,
        403,
        "access denied exception",
        Source::Pointer("/data/relationships/products"),
    );
    assert_eq!(app.fetch("products", "2").await, before);
}

#[tokio::test]
async fn a_changed_role_takes_effect_within_the_cache_ttl() {
    let app = TestApp::spawn_seeded().await;
    role(&app, "shifting", json!({ "products": ["VIEW"] })).await;
    let client = as_roles(&app, &["shifting"]).await;
    client.get("/api/products").await.assert_status(200);
    assert_denied(&client.get("/api/categories").await);

    let patch = json!({ "data": { "type": "roles", "id": "shifting",
                                  "attributes": { "permissions": { "categories": ["VIEW"] } } } });
    app.patch("/api/roles/shifting", &patch)
        .await
        .assert_status(200);
    tokio::time::sleep(CACHE_TTL + std::time::Duration::from_secs(1)).await;
    // The same token, the role's new permissions.
    assert_denied(&client.get("/api/products").await);
    client.get("/api/categories").await.assert_status(200);

    // Deleting the role takes everything away.
    app.delete("/api/roles/shifting").await.assert_status(204);
    tokio::time::sleep(CACHE_TTL + std::time::Duration::from_secs(1)).await;
    assert_denied(&client.get("/api/categories").await);
}

#[tokio::test]
async fn options_needs_no_token() {
    let api = shared_seeded().anonymous();
    for path in [
        "/api/products",
        "/api/products/1",
        "/api/products/1/category",
        "/api/products/1/relationships/category",
    ] {
        let response = api.options(path).await;
        response.assert_status(200);
        assert_eq!(
            response.allow().first().map(String::as_str),
            Some("OPTIONS")
        );
        assert!(response.raw.is_empty());
        assert!(response.header("www-authenticate").is_none());
    }
}

#[tokio::test]
async fn without_a_token_unknown_types_are_401_not_404() {
    let api = shared_seeded();
    for path in ["/api/nothing", "/api/nothing/1", "/api/products/1/nothing"] {
        let response = api.anonymous().get(path).await;
        assert_error(&response, 401, "authentication exception", Source::Absent);
        let response = api.get(path).await;
        response.assert_status(404);
    }
    // A bad token is refused before the type is looked at, too.
    let response = api
        .with_token(Some("not-a-token"))
        .get("/api/nothing")
        .await;
    response.assert_status(401);
}

#[tokio::test]
async fn a_forbidden_write_is_refused_before_its_body_is_read() {
    let app = TestApp::spawn_seeded().await;
    let viewer = as_roles(&app, &["viewer"]).await;
    let response = viewer
        .request(
            jsonapi_tests::Method::POST,
            "/api/products",
            &[("Content-Type", jsonapi_tests::MT)],
            Some("{ not json"),
        )
        .await;
    assert_denied(&response);
    let response = viewer
        .patch(
            "/api/products/1",
            &json!({ "data": { "type": "categories", "id": "9" } }),
        )
        .await;
    assert_denied(&response);
    // An editor gets to the body, and its errors.
    let editor = as_roles(&app, &["editor"]).await;
    let response = editor
        .patch(
            "/api/products/1",
            &json!({ "data": { "type": "products", "id": "1", "relationships": { "category": to_one("categories", "999") } } }),
        )
        .await;
    assert_ne!(response.status.as_u16(), 403, "{}", response.describe());
    assert!(response.status.is_client_error(), "{}", response.describe());
}

#[tokio::test]
async fn delete_rules_need_permission_on_the_types_they_change() {
    let app = TestApp::spawn_seeded().await;
    // Deleting an order cascades to its line items; deleting a category clears the category
    // of its products (and the parent of its children).
    role(
        &app,
        "pruner",
        json!({ "orders": ["VIEW", "DELETE"], "categories": ["VIEW", "DELETE"] }),
    )
    .await;
    role(
        &app,
        "cleaner",
        json!({ "orders": ["VIEW", "DELETE"], "orderlineitems": ["DELETE"],
                "categories": ["VIEW", "DELETE"], "products": ["EDIT"] }),
    )
    .await;
    let pruner = as_roles(&app, &["pruner"]).await;
    let order = app.fetch("orders", "1").await;
    let response = pruner.delete("/api/orders/1").await;
    assert_error(&response, 403, "access denied exception", Source::Absent);
    assert!(
        response.errors()[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("\"orderlineitems\"") && d.contains("DELETE")),
        "{}",
        response.describe()
    );
    assert_eq!(app.fetch("orders", "1").await, order);
    let response = pruner.delete("/api/categories?filter[id]=2").await;
    assert_error(&response, 403, "access denied exception", Source::Absent);
    app.get("/api/categories/2").await.assert_status(200);

    let cleaner = as_roles(&app, &["cleaner"]).await;
    cleaner.delete("/api/orders/1").await.assert_status(204);
    cleaner
        .delete("/api/categories?filter[id]=2")
        .await
        .assert_status(204);
    app.get("/api/categories/2").await.assert_status(404);
}

/// Atomic operations: each operation needs what its own action would; one refused operation
/// refuses the request before anything is written.
#[tokio::test]
async fn each_atomic_operation_needs_its_own_permissions() {
    let app = TestApp::spawn_seeded().await;
    let (cataloguer, categories, products) = cataloguer(&app).await;
    let operations = json!({ "atomic:operations": [
        { "op": "add", "data": { "type": "products", "attributes": product_attributes("ATOM-ACL-1"),
          "relationships": { "category": { "data": { "type": "categories", "id": "1" } } } } },
        { "op": "add", "data": { "type": "categories", "attributes": { "name": "Smuggled" } } },
        { "op": "remove", "ref": { "type": "products", "id": "1" } },
    ] });
    let atomic = jsonapi_tests::conformance::ATOMIC_MT;
    let headers = [("Content-Type", atomic), ("Accept", atomic)];
    let response = cataloguer
        .post_with("/api/operations", &operations, &headers)
        .await;
    assert_error(
        &response,
        403,
        "access denied exception",
        Source::Pointer("/atomic:operations/1"),
    );
    assert_eq!(response.errors().len(), 2, "{}", response.describe());
    assert_eq!(
        response.errors()[1]["source"]["pointer"],
        "/atomic:operations/2"
    );
    assert_eq!(app.list_all("categories").await.len(), categories);
    assert_eq!(app.list_all("products").await.len(), products);
    // What the role allows alone goes through.
    let first = operations["atomic:operations"][0].clone();
    let allowed = json!({ "atomic:operations": [first] });
    cataloguer
        .post_with("/api/operations", &allowed, &headers)
        .await
        .assert_status(200);
    assert_eq!(app.list_all("products").await.len(), products + 1);
}
