//! Exact answers for edge inputs: decimals are kept digit for digit or refused with the limit
//! (never rounded), ids are read as the model system reads them (Oro §1.1: a well-formed
//! unknown id is 404, one that is not of the id's type 400), JSON numbers are numbers however
//! written (RFC 8259), and partial dates and datetimes in filters name periods (Oro §6.1).

use jsonapi_tests::values::{assert_decimal, attr, id_of};
use jsonapi_tests::{
    ApiClient, MT, Method, Source, TestApp, TestResponse, assert_error, assert_error_detail, json,
    resource_doc, shared_seeded, to_many, to_one,
};

use crate::fixtures::{
    create_customer, create_line_item, create_order, create_product, line_item_doc,
};

const DECIMAL_LIMIT: &str = "A decimal keeps at most 28 significant digits (28 of them at most after the point); this value has more, and is not rounded.";

/// `POST /api/products` of a document written by hand, so that its numbers reach the server
/// exactly as written (a `Value` would have read them as doubles first).
async fn post_product(api: &ApiClient, attributes: &str) -> TestResponse {
    let body = format!(r#"{{"data":{{"type":"products","attributes":{attributes}}}}}"#);
    api.request(
        Method::POST,
        "/api/products",
        &[("Content-Type", MT), ("Accept", MT)],
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn decimals_keep_every_digit_sent_or_are_refused_with_the_limit() {
    let app = TestApp::spawn().await;
    // As many digits as a decimal keeps: stored and returned as sent.
    for (n, price) in [
        "1234567890123456789012345678",
        "0.1234567890123456789012345678",
        "7922816251426433759354395033.5",
    ]
    .into_iter()
    .enumerate()
    {
        let created = post_product(
            &app,
            &format!(r#"{{"sku":"EXACT-{n}","name":"Exact","price":"{price}"}}"#),
        )
        .await;
        created.assert_status(201);
        assert_eq!(
            attr(created.data(), "price"),
            price,
            "{}",
            created.describe()
        );
        let id = id_of(created.data()).to_owned();
        assert_eq!(attr(&app.fetch("products", &id).await, "price"), price);
    }
    // More digits: refused at the attribute, whether sent as a string or as a number.
    for price in [
        r#""1234567890.123456789012345678901234567890""#,
        r#""1234567890123456789012345678901234567890""#,
        "1234567890123456789012345678901234567890",
        "0.12345678901234567890123456789012345",
    ] {
        let response = post_product(
            &app,
            &format!(r#"{{"sku":"TOO-MANY","name":"Exact","price":{price}}}"#),
        )
        .await;
        assert_error_detail(
            &response,
            400,
            "form constraint",
            Source::Pointer("/data/attributes/price"),
            DECIMAL_LIMIT,
        );
    }
    assert!(
        app.list_all("products").await.len() == 3,
        "nothing else was created"
    );
}

#[tokio::test]
async fn a_decimal_sent_as_a_json_number_keeps_the_digits_a_double_would_lose() {
    let app = jsonapi_tests::shared_scratch();
    let created = post_product(
        &app,
        r#"{"sku":"NUMBER-1","name":"Exact","price":0.12345678901234567891}"#,
    )
    .await;
    created.assert_status(201);
    assert_eq!(attr(created.data(), "price"), "0.12345678901234567891");
    // Within a double's digits a number is what it always was.
    let created = post_product(&app, r#"{"sku":"NUMBER-2","name":"Exact","price":1.5e3}"#).await;
    created.assert_status(201);
    assert_decimal(attr(created.data(), "price"), "1500");
}

#[tokio::test]
async fn a_decimal_filter_value_with_more_digits_than_a_decimal_keeps_is_refused() {
    let api = shared_seeded();
    let response = api
        .get("/api/products?filter[price]=0.12345678901234567890123456789012")
        .await;
    assert_error_detail(
        &response,
        400,
        "filter constraint",
        Source::Parameter("filter[price]"),
        DECIMAL_LIMIT,
    );
    api.get("/api/products?filter[price][gt]=0.1234567890123456789012345678")
        .await
        .assert_status(200);
}

#[tokio::test]
async fn an_order_total_beyond_the_largest_decimal_is_refused_not_a_crash() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Big", "big@example.com").await;
    let order = create_order(&app, id_of(&customer)).await;
    let product = create_product(&app, "BIG-1").await;
    create_line_item(&app, &order, id_of(&product), 1, "1.00").await;
    let response = app
        .post(
            "/api/orderlineitems",
            &line_item_doc(&order, id_of(&product), 2, "79228162514264337593543950335"),
        )
        .await;
    assert_error(&response, 400, "range constraint", Source::Absent);
    assert_decimal(attr(&app.fetch("orders", &order).await, "total"), "1.00");
}

#[tokio::test]
async fn a_well_formed_unknown_id_is_404_and_one_not_of_the_ids_type_400() {
    let api = shared_seeded();
    // Integers the model system reads (its own printed form): unknown ones are not found.
    for id in ["0", "-1", "999999", "9223372036854775807"] {
        for path in [
            format!("/api/products/{id}"),
            format!("/api/products/{id}/category"),
            format!("/api/products/{id}/relationships/category"),
        ] {
            assert_error(
                &api.get(&path).await,
                404,
                "not found http exception",
                Source::Absent,
            );
        }
    }
    // Other strings are not integers: leading zeros, a sign, exponents, beyond 64 bits.
    for id in [
        "007",
        "%2B1",
        "-0",
        "1e2",
        "1.0",
        "99999999999999999999",
        "abc",
    ] {
        let shown = id.replace("%2B", "+");
        assert_error_detail(
            &api.get(&format!("/api/products/{id}")).await,
            400,
            "entity identifier constraint",
            Source::Absent,
            &format!("Expected integer value. Given \"{shown}\"."),
        );
    }
    // ULIDs: the 26 upper-case characters the API writes; within 128 bits.
    let customers = api.get("/api/customers?page[size]=1").await;
    let known = id_of(&customers.data()[0]).to_owned();
    api.get(&format!("/api/customers/{known}"))
        .await
        .assert_status(200);
    assert_error(
        &api.get("/api/customers/01ARZ3NDEKTSV4RRFFQ69G5FAV").await,
        404,
        "not found http exception",
        Source::Absent,
    );
    for id in [
        known.to_ascii_lowercase(),
        "8ZZZZZZZZZZZZZZZZZZZZZZZZZ".to_owned(),
        "01ARZ3NDEKTSV4RRFFQ69G5FA".to_owned(),
        "01ARZ3NDEKTSV4RRFFQ69G5FAI".to_owned(),
    ] {
        assert_error(
            &api.get(&format!("/api/customers/{id}")).await,
            400,
            "entity identifier constraint",
            Source::Absent,
        );
    }
    // The same rule for id filters: a well-formed id matches nothing, another is refused.
    let none = api.get("/api/products?filter[id]=0").await;
    none.assert_status(200);
    assert_eq!(none.data(), &json!([]));
    api.get("/api/products?filter[id][gt]=-1&page[size]=1")
        .await
        .assert_status(200);
    assert_error(
        &api.get("/api/products?filter[id]=007").await,
        400,
        "filter constraint",
        Source::Parameter("filter[id]"),
    );
}

#[tokio::test]
async fn unknown_well_formed_ids_are_404_for_writes_and_unknown_linkage_in_documents() {
    let app = jsonapi_tests::shared_scratch();
    assert_error(
        &app.delete("/api/products/0").await,
        404,
        "not found http exception",
        Source::Absent,
    );
    let patch = resource_doc("products", Some("0"), json!({ "name": "Zero" }), json!({}));
    assert_error(
        &app.patch("/api/products/0", &patch).await,
        404,
        "not found http exception",
        Source::Absent,
    );
    // A linkage naming id 0: a well-formed id of no stored resource.
    let created = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                None,
                json!({ "sku": "ZERO-1", "name": "Zero", "price": "1" }),
                json!({ "category": to_one("categories", "0") }),
            ),
        )
        .await;
    assert_error_detail(
        &created,
        400,
        "form constraint",
        Source::Pointer("/data/relationships/category/data"),
        "The entity does not exist.",
    );
}

#[tokio::test]
async fn json_numbers_are_numbers_however_they_are_written() {
    let app = TestApp::spawn().await;
    // An integer attribute takes any JSON number that is a whole number.
    for (n, (written, stored)) in [
        ("-0", 0),
        ("1e2", 100),
        ("3.0", 3),
        ("2.50e1", 25),
        ("7", 7),
    ]
    .into_iter()
    .enumerate()
    {
        let created = post_product(
            &app,
            &format!(r#"{{"sku":"INT-{n}","name":"Int","price":"1","quantity":{written}}}"#),
        )
        .await;
        created.assert_status(201);
        assert_eq!(
            attr(created.data(), "quantity"),
            &json!(stored),
            "{written}"
        );
    }
    // Not a whole number (even by a digit a double would drop), or not a number.
    for written in ["2.5", "1.00000000000000000001", r#""5""#, "true"] {
        let response = post_product(
            &app,
            &format!(r#"{{"sku":"INT-X","name":"Int","price":"1","quantity":{written}}}"#),
        )
        .await;
        assert_error_detail(
            &response,
            400,
            "form constraint",
            Source::Pointer("/data/attributes/quantity"),
            "This value should be of type integer.",
        );
    }
    // Beyond what any JSON parser reads as a number.
    let response = post_product(
        &app,
        r#"{"sku":"INT-Y","name":"Int","price":"1","quantity":1e400}"#,
    )
    .await;
    assert_error(&response, 400, "bad request http exception", Source::Absent);
    // Filters read integers in their printed form, as URLs carry ids.
    let found = app.get("/api/products?filter[quantity]=100").await;
    assert_eq!(found.data().as_array().map(Vec::len), Some(1));
    for value in ["1e2", "100.0", "+100", "0100"] {
        assert_error(
            &app.get(&format!("/api/products?filter[quantity]={value}"))
                .await,
            400,
            "filter constraint",
            Source::Parameter("filter[quantity]"),
        );
    }
}

#[tokio::test]
async fn a_refused_removal_at_a_relationship_endpoint_points_into_its_request() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Pointer", "pointer@example.com").await;
    let order = create_order(&app, id_of(&customer)).await;
    let product = create_product(&app, "POINTER-1").await;
    let line = create_line_item(&app, &order, id_of(&product), 1, "1.00").await;
    let path = format!("/api/orders/{order}/relationships/lineItems");
    // A line item's order is required: it cannot just leave its order.
    let removal = app
        .request(
            Method::DELETE,
            &path,
            &[("Content-Type", MT), ("Accept", MT)],
            Some(&to_many("orderlineitems", &[&line]).to_string()),
        )
        .await;
    // Removing names its members: the refusal points at the member's identifier.
    assert_error(&removal, 400, "form constraint", Source::Pointer("/data/0"));
    let replacement = app.patch(&path, &json!({ "data": [] })).await;
    assert_error(
        &replacement,
        400,
        "form constraint",
        Source::Pointer("/data"),
    );
    // In a resource document the linkage is where it always was.
    let update = resource_doc(
        "orders",
        Some(&order),
        json!({}),
        json!({ "lineItems": { "data": [] } }),
    );
    assert_error(
        &app.patch(&format!("/api/orders/{order}"), &update).await,
        400,
        "form constraint",
        Source::Pointer("/data/relationships/lineItems/data"),
    );
}

/// A type with a writable datetime and date, to filter by periods.
const EVENTS: &str = "types:\n  events:\n    id: sequence\n    attributes:\n      at: { type: datetime }\n      day: { type: date }\n    filters:\n      at:\n      day:\n    sorters: [id, at]\n";

/// The ids of the events a filter query selects, in id order.
async fn selected(api: &ApiClient, query: &str) -> Vec<usize> {
    let response = api
        .get(&format!("/api/events?{query}&page[size]=-1&sort=id"))
        .await;
    response.assert_status(200);
    response
        .data()
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| id_of(e).parse().expect("a sequence id"))
        .collect()
}

#[tokio::test]
async fn a_partial_datetime_in_a_filter_names_its_whole_period() {
    let app = TestApp::spawn_with_config(EVENTS, false).await;
    // Ids 1..=8, in time order.
    let times = [
        "2019-12-31T23:59:59Z",
        "2020-01-01T00:00:00Z",
        "2020-01-01T10:00:00Z",
        "2020-01-01T10:30:59Z",
        "2020-01-01T10:31:00Z",
        "2020-06-15T12:00:00Z",
        "2020-12-31T23:59:59Z",
        "2021-01-01T00:00:00Z",
    ];
    for at in times {
        app.post(
            "/api/events",
            &resource_doc(
                "events",
                None,
                json!({ "at": at, "day": &at[..10] }),
                json!({}),
            ),
        )
        .await
        .assert_status(201);
    }
    let cases: &[(&str, &[usize])] = &[
        // eq: within the period; neq: outside it.
        ("filter[at]=2020", &[2, 3, 4, 5, 6, 7]),
        ("filter[at]=2020-01", &[2, 3, 4, 5]),
        ("filter[at]=2020-01-01", &[2, 3, 4, 5]),
        ("filter[at]=2020-01-01T10", &[3, 4, 5]),
        ("filter[at]=2020-01-01T10:30", &[4]),
        ("filter[at]=2020-01-01T10:30:59Z", &[4]),
        ("filter[at][neq]=2020", &[1, 8]),
        // lt: before the period; lte: up to its end; gt: after its end; gte: from its start.
        ("filter[at][lt]=2020", &[1]),
        ("filter[at][lte]=2020", &[1, 2, 3, 4, 5, 6, 7]),
        ("filter[at][gt]=2020", &[8]),
        ("filter[at][gte]=2020", &[2, 3, 4, 5, 6, 7, 8]),
        ("filter[at][gt]=2020-01-01T10", &[6, 7, 8]),
        ("filter[at][lte]=2020-01-01T10:30", &[1, 2, 3, 4]),
        // A range runs from the start of its first value to the end of its last.
        ("filter[at]=2020-01..2020-06", &[2, 3, 4, 5, 6]),
        ("filter[at]=2019..2020-01-01", &[1, 2, 3, 4, 5]),
        // An offset, spelled out or with a `+` left unencoded (a space once decoded).
        ("filter[at]=2020-01-01T12%2B02:00", &[3, 4, 5]),
        ("filter[at]=2020-01-01T12+02:00", &[3, 4, 5]),
        ("filter[at]=2020-01-01T05-05", &[3, 4, 5]),
        // Dates: the same periods, in days.
        ("filter[day]=2020", &[2, 3, 4, 5, 6, 7]),
        ("filter[day]=2020-06", &[6]),
        ("filter[day][gt]=2020-01", &[6, 7, 8]),
        ("filter[day][lt]=2020-01-02", &[1, 2, 3, 4, 5]),
    ];
    for (query, expected) in cases {
        assert_eq!(&selected(&app, query).await, expected, "{query}");
    }
    for (query, parameter) in [
        ("filter[at]=2020-13", "filter[at]"),
        ("filter[at]=2020-01-01T25", "filter[at]"),
        ("filter[at]=2020-01T10", "filter[at]"),
        ("filter[day]=2020-01-01T10", "filter[day]"),
        // A list takes whole values (a list of periods is several ranges).
        ("filter[at]=2020,2021", "filter[at]"),
    ] {
        assert_error(
            &app.get(&format!("/api/events?{query}")).await,
            400,
            "filter constraint",
            Source::Parameter(parameter),
        );
    }
    assert_eq!(
        selected(&app, "filter[at]=2020-01-01T10:00:00Z,2021-01-01T00:00:00Z").await,
        [3, 8]
    );
}

#[tokio::test]
async fn an_accept_header_that_rates_json_api_zero_is_406() {
    let api = shared_seeded();
    for accept in [
        "application/vnd.api+json;q=0",
        "application/vnd.api+json; q=0.000",
        "application/vnd.api+json;q=0, */*",
        "application/vnd.api+json;q=0, application/json",
        "application/vnd.api+json;q=1.5",
    ] {
        let response = api.get_with("/api/products/1", &[("Accept", accept)]).await;
        assert_error_detail(
            &response,
            406,
            "not acceptable http exception",
            Source::Header("Accept"),
            "The \"Accept\" header must allow \"application/vnd.api+json\" (or \"*/*\").",
        );
    }
    for accept in [
        "application/vnd.api+json;q=0.5",
        "text/html;q=1, application/vnd.api+json;q=0.001",
        "text/html, */*;q=0.1",
    ] {
        api.get_with("/api/products/1", &[("Accept", accept)])
            .await
            .assert_status(200);
    }
}
