//! Paying for a checkout. Readiness (`GET .../payment`) lists what is missing; a payment
//! sub-resource places the order: the order and its line items from the checkout's, each
//! product's quantity taken (refused when the stock is short), the checkout completed and
//! linked to the order, all staged into the one transaction the engine writes. Every resource
//! read is written under its version's condition, so of two checkouts taking the last items
//! of a product, or two payments of one checkout, one commits and the other is re-run from
//! fresh reads, where it finds the stock short or the checkout completed.

use jsonapi_engine::error::{ApiError, ApiResult};
use jsonapi_engine::extension::{SubresourceAnswer, SubresourceCall};
use jsonapi_engine::resource::Resource;
use serde_json::{Map, Value, json};

use super::choices::completed;
use super::{CHECKOUT_LINES, MAX_LINES, PAYMENT_METHODS, kind};

/// The payment sub-resource of each payment method kind.
fn payment_path(kind: &str) -> &'static str {
    match kind {
        "redirect" => "paymentRedirect",
        _ => "paymentPaymentTerm",
    }
}

/// What keeps the checkout from being paid, one sentence each.
async fn missing(call: &mut SubresourceCall<'_>) -> ApiResult<Vec<String>> {
    let checkout = call.parent.clone();
    let mut out = Vec::new();
    if completed(&checkout) {
        out.push("The checkout is completed already.".to_owned());
    }
    for (rel, what) in [
        ("billingAddress", "a billing address"),
        ("shippingAddress", "a shipping address"),
        ("shippingMethod", "a shipping method"),
        ("paymentMethod", "a payment method"),
    ] {
        if checkout.related(rel).is_none() {
            out.push(format!("The checkout needs {what} ({rel})."));
        }
    }
    let lines = lines(call).await?;
    if lines.is_empty() {
        out.push("The checkout has no line items.".to_owned());
    }
    Ok(out)
}

/// The checkout's line items.
async fn lines(call: &mut SubresourceCall<'_>) -> ApiResult<Vec<Resource>> {
    let id = call.parent.id.clone();
    call.flush
        .pointing_at(CHECKOUT_LINES, "checkout", &id, MAX_LINES)
        .await
}

/// The payment method's kind (`paymentTerm`, `redirect`), if one is chosen and exists.
async fn method_kind(call: &mut SubresourceCall<'_>) -> ApiResult<Option<String>> {
    let Some(id) = call.parent.related("paymentMethod").map(str::to_owned) else {
        return Ok(None);
    };
    Ok(call.flush.load(PAYMENT_METHODS, &id).await?.and_then(|m| {
        m.attributes
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }))
}

/// `GET /checkouts/{id}/payment`: `meta` with `message`, `paymentUrl` (the sub-resource that
/// pays with the chosen method, when one is chosen) and `errors` (empty when ready).
pub(super) async fn readiness(call: &mut SubresourceCall<'_>) -> ApiResult<SubresourceAnswer> {
    let errors = missing(call).await?;
    let payment_url = method_kind(call)
        .await?
        .map(|kind| format!("{}/{}", call.parent_url, payment_path(&kind)));
    let message = if errors.is_empty() {
        "The checkout is ready for payment."
    } else {
        "The checkout is not ready for payment."
    };
    let mut meta = Map::new();
    meta.insert("message".into(), message.into());
    meta.insert(
        "paymentUrl".into(),
        payment_url.map_or(Value::Null, Value::from),
    );
    meta.insert("errors".into(), json!(errors));
    Ok(SubresourceAnswer::Meta(meta))
}

/// Refuses a payment the checkout is not ready for, or one by the other kind of method.
async fn check_ready(call: &mut SubresourceCall<'_>, kind: &str) -> ApiResult<()> {
    if completed(&call.parent) {
        return Err(ApiError::new(
            kind::PAYMENT_STATUS,
            "The checkout is paid already: its order is placed.",
        )
        .into());
    }
    let errors = missing(call).await?;
    if !errors.is_empty() {
        return Err(jsonapi_engine::error::ApiErrors(
            errors
                .into_iter()
                .map(|e| ApiError::new(kind::PAYMENT, e))
                .collect(),
        ));
    }
    if method_kind(call).await?.as_deref() != Some(kind) {
        return Err(ApiError::new(
            kind::PAYMENT,
            format!(
                "The checkout's payment method is not paid here; use {}.",
                payment_path(if kind == "redirect" {
                    "paymentTerm"
                } else {
                    "redirect"
                })
            ),
        )
        .into());
    }
    Ok(())
}

/// `POST /checkouts/{id}/paymentPaymentTerm`: the order is placed at once (paid later, on
/// the customer's terms).
pub(super) async fn pay_on_terms(call: &mut SubresourceCall<'_>) -> ApiResult<SubresourceAnswer> {
    check_ready(call, "paymentTerm").await?;
    place_order(call, "open").await
}

/// `POST /checkouts/{id}/paymentRedirect` with `meta.successUrl` and `meta.failureUrl`: the
/// first call answers `payment action constraint` with `meta.data.purchaseRedirectUrl` (the
/// provider's page, here simulated); the provider sends the customer back to `successUrl` with
/// a `paymentToken`, and the call repeated with `meta.paymentToken` places the paid order.
/// The token is bound to the checkout's current version: a checkout changed in between needs
/// a new redirect.
pub(super) async fn pay_by_redirect(
    call: &mut SubresourceCall<'_>,
) -> ApiResult<SubresourceAnswer> {
    check_ready(call, "redirect").await?;
    let url = |name: &str| {
        match call.meta.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(ApiError::new(
            kind::PAYMENT,
            format!("The redirect payment needs meta.{name}, the URL the provider sends the customer back to."),
        )
        .at(format!("/meta/{name}"))),
    }
    };
    let success = url("successUrl")?;
    let failure = url("failureUrl")?;
    let token = format!("PAY-{}-{}", call.parent.id, call.parent.version);
    match call.meta.get("paymentToken") {
        None => {
            let redirect = format!(
                "https://payments.example/checkout?token={token}&successUrl={}&failureUrl={}",
                encode(&success),
                encode(&failure)
            );
            let mut data = Map::new();
            data.insert("purchaseRedirectUrl".into(), redirect.into());
            let mut meta = Map::new();
            meta.insert("data".into(), Value::Object(data));
            Err(ApiError::new(
                kind::PAYMENT_ACTION,
                "The payment is completed at the provider: send the customer to data.purchaseRedirectUrl, then repeat this request with meta.paymentToken.",
            )
            .with_meta(meta)
            .into())
        }
        Some(Value::String(given)) if *given == token => place_order(call, "paid").await,
        Some(_) => Err(ApiError::new(
            kind::PAYMENT,
            "meta.paymentToken is not the token of this checkout's payment (a changed checkout needs a new redirect).",
        )
        .at("/meta/paymentToken")
        .into()),
    }
}

/// Percent-encodes a URL given as a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Stages the order (`status`), its line items, the stock taken and the checkout completed.
async fn place_order(call: &mut SubresourceCall<'_>, status: &str) -> ApiResult<SubresourceAnswer> {
    let lines = lines(call).await?;
    let mut order = call.flush.empty_resource("orders").await?;
    let order_id = order.id.clone();
    order.attributes.insert("status".into(), status.into());
    let currency = call.parent.attributes.get("currency").cloned();
    order
        .attributes
        .insert("currency".into(), currency.unwrap_or_else(|| "USD".into()));
    order.to_one.insert(
        "customer".into(),
        call.parent.related("customer").map(str::to_owned),
    );
    call.flush.stage(order);
    for line in &lines {
        let Some(product_id) = line.related("product") else {
            continue;
        };
        let quantity = line
            .attributes
            .get("quantity")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        take_stock(call, product_id, quantity).await?;
        let mut item = call.flush.empty_resource("orderlineitems").await?;
        item.attributes.insert("quantity".into(), quantity.into());
        let price = line.attributes.get("price").cloned().unwrap_or(Value::Null);
        item.attributes.insert("price".into(), price);
        item.to_one.insert("order".into(), Some(order_id.clone()));
        item.to_one
            .insert("product".into(), Some(product_id.to_owned()));
        call.flush.stage(item);
    }
    let mut checkout = call.parent.clone();
    checkout
        .attributes
        .insert("status".into(), "completed".into());
    checkout
        .to_one
        .insert("order".into(), Some(order_id.clone()));
    call.flush.stage(checkout);
    Ok(SubresourceAnswer::Created(order_id))
}

/// Takes `quantity` of a product's stock (as staged by earlier lines of the same checkout).
async fn take_stock(
    call: &mut SubresourceCall<'_>,
    product_id: &str,
    quantity: i64,
) -> ApiResult<()> {
    let Some(mut product) = call.flush.load("products", product_id).await? else {
        return Err(ApiError::new(
            kind::PAYMENT,
            format!("The product \"{product_id}\" of a line item does not exist any more."),
        )
        .into());
    };
    let stock = product
        .attributes
        .get("quantity")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if stock < quantity {
        let sku = product
            .attributes
            .get("sku")
            .and_then(Value::as_str)
            .unwrap_or(product_id);
        return Err(ApiError::new(
            kind::PAYMENT,
            format!("Only {stock} of the product \"{sku}\" are in stock; the checkout asks for {quantity}."),
        )
        .into());
    }
    product
        .attributes
        .insert("quantity".into(), (stock - quantity).into());
    call.flush.stage(product);
    Ok(())
}
