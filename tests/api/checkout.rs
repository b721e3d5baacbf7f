//! The storefront's checkout (example domain), served by the example's extension through the
//! engine's sub-resources: starting from a shopping list or an order, the available methods,
//! readiness, payment on terms and by redirect placing one order in one transaction, and the
//! stock and double-payment rules under concurrency.

use jsonapi_tests::values::{assert_decimal, attr, id_of, to_one_id};
use jsonapi_tests::{ApiClient, Source, Value, assert_error, json, resource_doc, to_one, unique};

use crate::fixtures::{create_customer, unique_email};

/// A customer's shopping list of products with these (stock, quantity in the list, price),
/// the methods to choose and an address.
struct Shop {
    api: ApiClient,
    customer: String,
    products: Vec<String>,
    list: String,
    shipping: String,
    term: String,
    card: String,
    disabled_shipping: String,
    address: String,
}

async fn shop(lines: &[(i64, i64, &str)]) -> Shop {
    let api = jsonapi_tests::shared_scratch();
    let customer = create_customer(&api, "Ada", &unique_email("ada")).await;
    let customer = id_of(&customer).to_owned();
    let list = api
        .create(
            "shoppinglists",
            json!({ "name": "Office" }),
            json!({ "customer": to_one("customers", &customer) }),
        )
        .await;
    let list = id_of(&list).to_owned();
    let mut products = Vec::new();
    for (stock, quantity, price) in lines {
        let sku = unique("CHK");
        let product = api
            .create(
                "products",
                json!({ "sku": sku, "name": sku, "price": price, "quantity": stock }),
                json!({}),
            )
            .await;
        let product = id_of(&product).to_owned();
        api.create(
            "shoppinglistitems",
            json!({ "quantity": quantity }),
            json!({ "shoppingList": to_one("shoppinglists", &list),
                    "product": to_one("products", &product) }),
        )
        .await;
        products.push(product);
    }
    let method = |ty: &'static str, attributes: Value| {
        let api = api.clone();
        async move {
            let id = unique(ty);
            api.post(
                &format!("/api/{ty}"),
                &resource_doc(ty, Some(&id), attributes, json!({})),
            )
            .await
            .assert_status(201);
            id
        }
    };
    let shipping = method(
        "shippingmethods",
        json!({ "label": "Flat", "price": "5.00" }),
    )
    .await;
    let disabled_shipping = method(
        "shippingmethods",
        json!({ "label": "Gone", "price": "1.00", "enabled": false }),
    )
    .await;
    let term = method(
        "paymentmethods",
        json!({ "label": "Net 30", "kind": "paymentTerm" }),
    )
    .await;
    let card = method(
        "paymentmethods",
        json!({ "label": "Card", "kind": "redirect" }),
    )
    .await;
    let address = api
        .create(
            "addresses",
            json!({ "street": "1 Main Street", "city": "Springfield", "country": "US" }),
            json!({}),
        )
        .await;
    Shop {
        customer,
        products,
        list,
        shipping,
        term,
        card,
        disabled_shipping,
        address: id_of(&address).to_owned(),
        api,
    }
}

impl Shop {
    /// `POST /shoppinglists/{id}/checkout`: 201, the checkout's id.
    async fn start(&self) -> String {
        let r = self
            .api
            .post(
                &format!("/api/shoppinglists/{}/checkout", self.list),
                &json!({}),
            )
            .await;
        r.assert_status(201);
        id_of(r.data()).to_owned()
    }

    /// Chooses addresses and methods (`payment`: a payment method's id).
    async fn choose(&self, checkout: &str, payment: &str) {
        let relationships = json!({
            "billingAddress": to_one("addresses", &self.address),
            "shippingAddress": to_one("addresses", &self.address),
            "shippingMethod": to_one("shippingmethods", &self.shipping),
            "paymentMethod": to_one("paymentmethods", payment),
        });
        self.api
            .patch(
                &format!("/api/checkouts/{checkout}"),
                &resource_doc("checkouts", Some(checkout), json!({}), relationships),
            )
            .await
            .assert_status(200);
    }

    async fn pay(&self, checkout: &str, how: &str, meta: Value) -> jsonapi_tests::TestResponse {
        self.api
            .post(
                &format!("/api/checkouts/{checkout}/{how}"),
                &json!({ "meta": meta }),
            )
            .await
    }

    async fn stock(&self, product: usize) -> i64 {
        let p = self.api.fetch("products", &self.products[product]).await;
        attr(&p, "quantity").as_i64().expect("an integer quantity")
    }
}

#[tokio::test]
async fn a_shopping_list_starts_a_checkout_with_its_items_at_current_prices() {
    let shop = shop(&[(10, 2, "12.50"), (10, 1, "3.00")]).await;
    let r = shop
        .api
        .post(
            &format!("/api/shoppinglists/{}/checkout", shop.list),
            &json!({}),
        )
        .await;
    r.assert_status(201);
    let checkout = r.data().clone();
    assert_eq!(checkout["type"], "checkouts");
    assert_eq!(attr(&checkout, "status"), "open");
    assert_eq!(
        to_one_id(&checkout, "customer"),
        Some(shop.customer.as_str())
    );
    let location = r.header("location").expect("Location");
    assert!(location.ends_with(&format!("/api/checkouts/{}", id_of(&checkout))));
    let lines = shop
        .api
        .get(&format!("/api/checkouts/{}/lineItems", id_of(&checkout)))
        .await;
    lines.assert_status(200);
    let mut got: Vec<(i64, String)> = lines
        .items()
        .iter()
        .map(|l| {
            (
                attr(l, "quantity").as_i64().unwrap_or_default(),
                attr(l, "price").as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got.len(), 2, "{}", lines.describe());
    assert_eq!(got[0].0, 1);
    assert_decimal(&Value::from(got[0].1.clone()), "3.00");
    assert_eq!(got[1].0, 2);
    assert_decimal(&Value::from(got[1].1.clone()), "12.50");
}

#[tokio::test]
async fn available_methods_are_the_enabled_ones_and_others_are_refused() {
    let shop = shop(&[(5, 1, "1.00")]).await;
    let checkout = shop.start().await;
    let r = shop
        .api
        .get(&format!(
            "/api/checkouts/{checkout}/availableShippingMethods"
        ))
        .await;
    r.assert_status(200);
    let ids = r.ids();
    assert!(ids.contains(&shop.shipping), "{}", r.describe());
    assert!(!ids.contains(&shop.disabled_shipping), "{}", r.describe());
    let r = shop
        .api
        .get(&format!(
            "/api/checkouts/{checkout}/availablePaymentMethods"
        ))
        .await;
    r.assert_status(200);
    assert!(r.ids().contains(&shop.term) && r.ids().contains(&shop.card));
    let r = shop
        .api
        .patch(
            &format!("/api/checkouts/{checkout}"),
            &resource_doc(
                "checkouts",
                Some(&checkout),
                json!({}),
                json!({ "shippingMethod": to_one("shippingmethods", &shop.disabled_shipping) }),
            ),
        )
        .await;
    assert_error(
        &r,
        400,
        "payment constraint",
        Source::Pointer("/data/relationships/shippingMethod/data"),
    );
}

#[tokio::test]
async fn readiness_is_a_meta_document_listing_what_is_missing() {
    let shop = shop(&[(5, 1, "1.00")]).await;
    let checkout = shop.start().await;
    let r = shop
        .api
        .get(&format!("/api/checkouts/{checkout}/payment"))
        .await;
    r.assert_status(200);
    assert!(r.json().get("data").is_none(), "{}", r.describe());
    let meta = &r.json()["meta"];
    assert_eq!(meta["message"], "The checkout is not ready for payment.");
    assert_eq!(meta["paymentUrl"], Value::Null);
    assert_eq!(meta["errors"].as_array().map(Vec::len), Some(4));
    shop.choose(&checkout, &shop.term).await;
    let r = shop
        .api
        .get(&format!("/api/checkouts/{checkout}/payment"))
        .await;
    let meta = &r.json()["meta"];
    assert_eq!(meta["message"], "The checkout is ready for payment.");
    assert_eq!(meta["errors"], json!([]));
    let url = meta["paymentUrl"].as_str().expect("paymentUrl");
    assert!(url.ends_with(&format!("/api/checkouts/{checkout}/paymentPaymentTerm")));
    // Paying before readiness is refused with the model's title, and writes nothing.
    let early = shop.start().await;
    let r = shop.pay(&early, "paymentPaymentTerm", json!({})).await;
    assert_error(&r, 400, "payment constraint", Source::Absent);
    assert_eq!(shop.stock(0).await, 5);
}

#[tokio::test]
async fn payment_on_terms_places_the_order_and_takes_the_stock_once() {
    let shop = shop(&[(10, 2, "12.50"), (4, 3, "1.00")]).await;
    let checkout = shop.start().await;
    shop.choose(&checkout, &shop.term).await;
    let r = shop.pay(&checkout, "paymentPaymentTerm", json!({})).await;
    r.assert_status(201);
    let order = r.data().clone();
    assert_eq!(order["type"], "orders");
    assert_eq!(to_one_id(&order, "customer"), Some(shop.customer.as_str()));
    assert_decimal(attr(&order, "total"), "28.00");
    assert!(
        r.header("location")
            .is_some_and(|l| l.ends_with(&format!("/api/orders/{}", id_of(&order))))
    );
    assert_eq!(shop.stock(0).await, 8);
    assert_eq!(shop.stock(1).await, 1);
    let paid = shop.api.fetch("checkouts", &checkout).await;
    assert_eq!(attr(&paid, "status"), "completed");
    assert_eq!(to_one_id(&paid, "order"), Some(id_of(&order)));
    // A completed checkout is not paid twice, nor changed.
    let again = shop.pay(&checkout, "paymentPaymentTerm", json!({})).await;
    assert_error(&again, 400, "payment status constraint", Source::Absent);
    assert_eq!(shop.stock(0).await, 8);
    shop.api
        .patch(
            &format!("/api/checkouts/{checkout}"),
            &resource_doc(
                "checkouts",
                Some(&checkout),
                json!({ "currency": "EUR" }),
                json!({}),
            ),
        )
        .await
        .assert_status(400);
}

#[tokio::test]
async fn a_short_stock_refuses_the_payment_and_writes_nothing() {
    let shop = shop(&[(10, 1, "2.00"), (1, 2, "1.00")]).await;
    let checkout = shop.start().await;
    shop.choose(&checkout, &shop.term).await;
    let r = shop.pay(&checkout, "paymentPaymentTerm", json!({})).await;
    assert_error(&r, 400, "payment constraint", Source::Absent);
    assert_eq!(shop.stock(0).await, 10);
    assert_eq!(shop.stock(1).await, 1);
    let open = shop.api.fetch("checkouts", &checkout).await;
    assert_eq!(attr(&open, "status"), "open");
}

#[tokio::test]
async fn concurrent_payments_of_one_checkout_place_one_order() {
    let shop = shop(&[(50, 1, "1.00")]).await;
    let checkout = shop.start().await;
    shop.choose(&checkout, &shop.term).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let api = shop.api.clone();
        let url = format!("/api/checkouts/{checkout}/paymentPaymentTerm");
        tasks.spawn(async move { api.post(&url, &json!({})).await });
    }
    let results: Vec<_> = tasks.join_all().await;
    let created = results.iter().filter(|r| r.status.as_u16() == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status.as_u16() != 201) {
        assert_error(r, 400, "payment status constraint", Source::Absent);
    }
    assert_eq!(shop.stock(0).await, 49);
}

#[tokio::test]
async fn two_checkouts_cannot_oversell_a_product() {
    // Stock 3; each checkout asks for 2: one is paid, the other finds the stock short.
    let shop = shop(&[(3, 2, "1.00")]).await;
    let first = shop.start().await;
    let second = shop.start().await;
    shop.choose(&first, &shop.term).await;
    shop.choose(&second, &shop.term).await;
    let (a, b) = tokio::join!(
        shop.pay(&first, "paymentPaymentTerm", json!({})),
        shop.pay(&second, "paymentPaymentTerm", json!({}))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 400], "{}\n{}", a.describe(), b.describe());
    let refused = if a.status.as_u16() == 400 { &a } else { &b };
    assert_error(refused, 400, "payment constraint", Source::Absent);
    assert_eq!(shop.stock(0).await, 1);
}

#[tokio::test]
async fn the_redirect_payment_answers_the_providers_url_then_places_the_order() {
    let shop = shop(&[(5, 1, "9.99")]).await;
    let checkout = shop.start().await;
    shop.choose(&checkout, &shop.card).await;
    let urls =
        json!({ "successUrl": "https://shop.example/ok", "failureUrl": "https://shop.example/ko" });
    let missing = shop.pay(&checkout, "paymentRedirect", json!({})).await;
    assert_error(
        &missing,
        400,
        "payment constraint",
        Source::Pointer("/meta/successUrl"),
    );
    // The term method is not the redirect's.
    let wrong = shop.pay(&checkout, "paymentPaymentTerm", json!({})).await;
    assert_error(&wrong, 400, "payment constraint", Source::Absent);
    let first = shop.pay(&checkout, "paymentRedirect", urls.clone()).await;
    let error = assert_error(&first, 400, "payment action constraint", Source::Absent);
    let redirect = error["meta"]["data"]["purchaseRedirectUrl"]
        .as_str()
        .expect("purchaseRedirectUrl");
    assert!(
        redirect.contains("successUrl=https%3A%2F%2Fshop.example%2Fok"),
        "{redirect}"
    );
    assert_eq!(
        shop.stock(0).await,
        5,
        "nothing is written before the provider's answer"
    );
    let token = redirect
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("token="))
        .expect("a token");
    let mut back = urls.clone();
    back["paymentToken"] = json!("PAY-forged");
    let forged = shop.pay(&checkout, "paymentRedirect", back.clone()).await;
    assert_error(
        &forged,
        400,
        "payment constraint",
        Source::Pointer("/meta/paymentToken"),
    );
    back["paymentToken"] = json!(token);
    let placed = shop.pay(&checkout, "paymentRedirect", back).await;
    placed.assert_status(201);
    assert_eq!(attr(placed.data(), "status"), "paid");
    assert_eq!(shop.stock(0).await, 4);
}

#[tokio::test]
async fn an_order_starts_a_checkout_of_its_items() {
    let shop = shop(&[(5, 1, "2.00")]).await;
    let checkout = shop.start().await;
    shop.choose(&checkout, &shop.term).await;
    let r = shop.pay(&checkout, "paymentPaymentTerm", json!({})).await;
    r.assert_status(201);
    let order = id_of(r.data()).to_owned();
    let again = shop
        .api
        .post(&format!("/api/orders/{order}/checkout"), &json!({}))
        .await;
    again.assert_status(201);
    let lines = shop
        .api
        .get(&format!("/api/checkouts/{}/lineItems", id_of(again.data())))
        .await;
    assert_eq!(lines.items().len(), 1, "{}", lines.describe());
}

#[tokio::test]
async fn subresource_routes_answer_their_methods_and_refuse_the_rest() {
    let shop = shop(&[(5, 1, "2.00")]).await;
    let checkout = shop.start().await;
    let r = shop
        .api
        .options(&format!("/api/checkouts/{checkout}/paymentPaymentTerm"))
        .await;
    r.assert_status(200);
    assert_eq!(r.allow(), ["OPTIONS", "POST"]);
    let r = shop
        .api
        .get(&format!("/api/checkouts/{checkout}/paymentPaymentTerm"))
        .await;
    r.assert_status(405);
    let r = shop
        .api
        .post(&format!("/api/checkouts/{checkout}/payment"), &json!({}))
        .await;
    r.assert_status(405);
    let r = shop
        .api
        .get(&format!("/api/checkouts/{checkout}/payment?include=order"))
        .await;
    assert_error(&r, 400, "filter constraint", Source::Parameter("include"));
    let r = shop
        .api
        .post(
            &format!("/api/checkouts/{checkout}/paymentPaymentTerm"),
            &json!({ "data": {} }),
        )
        .await;
    assert_error(&r, 400, "request data constraint", Source::Pointer("/data"));
    let r = shop.api.get("/api/checkouts/999999999/payment").await;
    r.assert_status(404);
}
