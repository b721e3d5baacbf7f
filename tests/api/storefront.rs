//! The storefront headers (Oro §2.2, §12.6; acceptance rows 32, 33), as the example domain
//! declares them: `X-Localization-ID` (products' `name` and `description` per localization,
//! `fr_CA` falling back to `fr`, then to the default value), `X-Currency` (products' `price`
//! converted from USD at the configured rates, rounded to the currency's minor unit) and
//! `X-Product-ID: sku` (product item routes addressed by SKU).

use jsonapi_tests::values::{assert_decimal, attr, id_of};
use jsonapi_tests::{
    ApiClient, Method, Source, Value, assert_error, json, shared_scratch, shared_seeded, unique,
};

const L10N: &str = "X-Localization-ID";
const CURRENCY: &str = "X-Currency";
const BY_SKU: (&str, &str) = ("X-Product-ID", "sku");

/// A product of the scratch server, with this name, description and price; (id, sku).
async fn product(api: &ApiClient, name: &str, description: &str, price: &str) -> (String, String) {
    let sku = unique("SF");
    let created = api
        .create(
            "products",
            json!({ "sku": sku, "name": name, "description": description, "price": price }),
            json!({}),
        )
        .await;
    (id_of(&created).to_owned(), sku)
}

fn update(id: &str, attributes: &Value) -> Value {
    json!({ "data": { "type": "products", "id": id, "attributes": attributes } })
}

/// The product's `name` and `description` in a localization (`None`: the default).
async fn texts(api: &ApiClient, id: &str, localization: Option<&str>) -> (Value, Value) {
    let headers: Vec<(&str, &str)> = localization.map(|l| (L10N, l)).into_iter().collect();
    let response = api.get_with(&format!("/api/products/{id}"), &headers).await;
    response.assert_status(200);
    let data = response.data();
    (
        attr(data, "name").clone(),
        attr(data, "description").clone(),
    )
}

#[tokio::test]
async fn a_localization_is_written_and_read_with_its_fallbacks() {
    let api = shared_scratch();
    let (id, sku) = product(&api, "Mug", "A mug", "3.00").await;
    let path = format!("/api/products/{id}");
    let response = api
        .patch_with(
            &path,
            &update(&id, &json!({ "name": "Tasse" })),
            &[(L10N, "fr")],
        )
        .await;
    response.assert_status(200);
    assert_eq!(
        attr(response.data(), "name"),
        "Tasse",
        "{}",
        response.describe()
    );
    // The default value is untouched; a localization without a value of its own falls back
    // along its chain, ending at the default value.
    assert_eq!(texts(&api, &id, None).await, (json!("Mug"), json!("A mug")));
    assert_eq!(
        texts(&api, &id, Some("fr")).await,
        (json!("Tasse"), json!("A mug"))
    );
    assert_eq!(
        texts(&api, &id, Some("fr_CA")).await,
        (json!("Tasse"), json!("A mug"))
    );
    assert_eq!(
        texts(&api, &id, Some("de")).await,
        (json!("Mug"), json!("A mug"))
    );

    // fr_CA's own value wins over its fallback's; null clears it, and it falls back again.
    let fr_ca = |attributes: Value| update(&id, &attributes);
    api.patch_with(
        &path,
        &fr_ca(json!({ "name": "Tasse à café", "description": "Une tasse" })),
        &[(L10N, "fr_CA")],
    )
    .await
    .assert_status(200);
    assert_eq!(
        texts(&api, &id, Some("fr_CA")).await,
        (json!("Tasse à café"), json!("Une tasse"))
    );
    assert_eq!(
        texts(&api, &id, Some("fr")).await,
        (json!("Tasse"), json!("A mug"))
    );
    api.patch_with(
        &path,
        &fr_ca(json!({ "description": null })),
        &[(L10N, "fr_CA")],
    )
    .await
    .assert_status(200);
    assert_eq!(
        texts(&api, &id, Some("fr_CA")).await,
        (json!("Tasse à café"), json!("A mug"))
    );
    // A required attribute cannot be blanked in a localization either.
    let refused = api
        .patch_with(&path, &fr_ca(json!({ "name": null })), &[(L10N, "fr")])
        .await;
    assert_error(
        &refused,
        400,
        "not blank constraint",
        Source::Pointer("/data/attributes/name"),
    );

    // Lists and included resources are shown in the localization too; filters match the
    // default value.
    let list = api
        .get_with(
            &format!("/api/products?filter%5Bsku%5D={sku}&filter%5Bname%5D=Mug"),
            &[(L10N, "fr")],
        )
        .await;
    list.assert_status(200);
    assert_eq!(list.items().len(), 1, "{}", list.describe());
    assert_eq!(attr(&list.items()[0], "name"), "Tasse");
}

#[tokio::test]
async fn a_create_in_a_localization_sets_the_default_and_that_localization() {
    let api = shared_scratch();
    let sku = unique("SF");
    let body = json!({ "data": { "type": "products",
        "attributes": { "sku": sku, "name": "Becher", "price": "2.00" } } });
    let created = api.post_with("/api/products", &body, &[(L10N, "de")]).await;
    created.assert_status(201);
    let id = id_of(created.data()).to_owned();
    api.patch(
        &format!("/api/products/{id}"),
        &update(&id, &json!({ "name": "Cup" })),
    )
    .await
    .assert_status(200);
    assert_eq!(texts(&api, &id, None).await.0, "Cup");
    assert_eq!(texts(&api, &id, Some("de")).await.0, "Becher");
    assert_eq!(texts(&api, &id, Some("fr")).await.0, "Cup");
}

#[tokio::test]
async fn the_seed_has_localized_names() {
    let api = shared_seeded();
    let path = "/api/products?filter%5Bsku%5D=SKU-0001";
    for (localization, name) in [
        ("de", "Kabellose Maus 1"),
        ("fr", "Souris sans fil 1"),
        ("fr_CA", "Souris sans fil 1"),
    ] {
        let response = api.get_with(path, &[(L10N, localization)]).await;
        response.assert_status(200);
        assert_eq!(attr(&response.items()[0], "name"), name, "{localization}");
    }
    let response = api.get(path).await;
    assert_eq!(attr(&response.items()[0], "name"), "Wireless Mouse 1");
}

#[tokio::test]
async fn an_unknown_localization_or_currency_is_a_bad_request() {
    let api = shared_seeded();
    for path in [
        "/api/products",
        "/api/products/1",
        "/api/categories/1/products",
    ] {
        for (header, value) in [(L10N, "xx"), (CURRENCY, "XYZ"), (CURRENCY, "usd")] {
            let response = api.get_with(path, &[(header, value)]).await;
            assert_error(
                &response,
                400,
                "invalid header value exception",
                Source::Header(header),
            );
        }
    }
    let body = update("1", &json!({ "quantity": 1 }));
    let response = api
        .patch_with("/api/products/1", &body, &[(L10N, "klingon")])
        .await;
    assert_error(
        &response,
        400,
        "invalid header value exception",
        Source::Header(L10N),
    );
}

#[tokio::test]
async fn prices_are_shown_in_the_asked_currency() {
    let api = shared_scratch();
    let (id, sku) = product(&api, "Lamp", "A lamp", "10.00").await;
    let path = format!("/api/products/{id}");
    for (currency, price) in [
        ("USD", "10.00"),
        ("EUR", "9.20"),
        ("GBP", "7.90"),
        ("JPY", "1514"),
    ] {
        let response = api.get_with(&path, &[(CURRENCY, currency)]).await;
        response.assert_status(200);
        assert_eq!(attr(response.data(), "price"), price, "{currency}");
        // One URL, several answers: caches must tell them apart.
        let vary: Vec<&str> = response
            .headers
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(", "))
            .collect();
        assert!(vary.contains(&"X-Currency"), "{vary:?}");
    }
    // Half a cent rounds away from zero: 0.65 x 0.79 = 0.5135 GBP.
    let (cheap, _) = product(&api, "Pin", "A pin", "0.65").await;
    let response = api
        .get_with(&format!("/api/products/{cheap}"), &[(CURRENCY, "GBP")])
        .await;
    assert_eq!(attr(response.data(), "price"), "0.51");
    // Lists too; filters compare stored (USD) amounts.
    let list = api
        .get_with(
            &format!("/api/products?filter%5Bsku%5D={sku}&filter%5Bprice%5D=10"),
            &[(CURRENCY, "EUR")],
        )
        .await;
    assert_eq!(list.items().len(), 1, "{}", list.describe());
    assert_eq!(attr(&list.items()[0], "price"), "9.20");
}

#[tokio::test]
async fn amounts_are_written_in_the_default_currency_only() {
    let api = shared_scratch();
    let (id, _) = product(&api, "Vase", "A vase", "20.00").await;
    let path = format!("/api/products/{id}");
    let refused = api
        .patch_with(
            &path,
            &update(&id, &json!({ "price": "18.40" })),
            &[(CURRENCY, "EUR")],
        )
        .await;
    assert_error(
        &refused,
        400,
        "value constraint",
        Source::Pointer("/data/attributes/price"),
    );
    assert_decimal(attr(api.get(&path).await.data(), "price"), "20.00");
    // Other attributes are written, and the answer is in the asked currency.
    let response = api
        .patch_with(
            &path,
            &update(&id, &json!({ "quantity": 4 })),
            &[(CURRENCY, "EUR")],
        )
        .await;
    response.assert_status(200);
    assert_eq!(attr(response.data(), "price"), "18.40");
    // The default currency named in the header writes as without it.
    api.patch_with(
        &path,
        &update(&id, &json!({ "price": "21.00" })),
        &[(CURRENCY, "USD")],
    )
    .await
    .assert_status(200);
    assert_decimal(attr(api.get(&path).await.data(), "price"), "21.00");
}

#[tokio::test]
async fn products_are_addressed_by_sku_with_the_header() {
    let api = shared_scratch();
    let category = api
        .create("categories", json!({ "name": unique("Shelf") }), json!({}))
        .await;
    let category = id_of(&category).to_owned();
    let sku = unique("SKU");
    let created = api
        .create(
            "products",
            json!({ "sku": sku, "name": "Hook", "price": "1.00" }),
            json!({ "category": { "data": { "type": "categories", "id": category } } }),
        )
        .await;
    let id = id_of(&created).to_owned();
    let path = format!("/api/products/{sku}");

    let response = api.get_with(&path, &[BY_SKU]).await;
    response.assert_status(200);
    assert_eq!(id_of(response.data()), id);
    let linkage = api
        .get_with(&format!("{path}/relationships/category"), &[BY_SKU])
        .await;
    linkage.assert_status(200);
    assert_eq!(linkage.data()["id"], category.as_str());
    let related = api.get_with(&format!("{path}/category"), &[BY_SKU]).await;
    related.assert_status(200);
    assert_eq!(id_of(related.data()), category);

    // The document names the product by its SKU or by its id.
    for (body_id, quantity) in [(sku.as_str(), 5), (id.as_str(), 6)] {
        let response = api
            .patch_with(
                &path,
                &update(body_id, &json!({ "quantity": quantity })),
                &[BY_SKU],
            )
            .await;
        response.assert_status(200);
        assert_eq!(attr(response.data(), "quantity"), quantity);
    }
    let other = api
        .patch_with(
            &path,
            &update("999999", &json!({ "quantity": 1 })),
            &[BY_SKU],
        )
        .await;
    assert_error(
        &other,
        409,
        "conflict constraint",
        Source::Pointer("/data/id"),
    );

    // The headers combine.
    let response = api
        .get_with(&path, &[BY_SKU, (CURRENCY, "EUR"), (L10N, "de")])
        .await;
    assert_eq!(attr(response.data(), "price"), "0.92");

    let unknown = api.get_with("/api/products/NO-SUCH-SKU", &[BY_SKU]).await;
    assert_error(&unknown, 404, "not found http exception", Source::Any);
    let wrong = api.get_with(&path, &[("X-Product-ID", "ean")]).await;
    assert_error(
        &wrong,
        400,
        "invalid header value exception",
        Source::Header("X-Product-ID"),
    );
    // Without the header the path's value is an id.
    api.get(&format!("/api/products/{id}"))
        .await
        .assert_status(200);

    let deleted = api
        .request(
            Method::DELETE,
            &path,
            &[("Accept", "application/vnd.api+json"), BY_SKU],
            None,
        )
        .await;
    deleted.assert_status(204);
    api.get_with(&path, &[BY_SKU]).await.assert_status(404);
}
