//! Starting a checkout from a shopping list or an order: a new open checkout of the same
//! customer, with one line item per item at the product's current price.

use jsonapi_engine::error::{ApiError, ApiResult};
use jsonapi_engine::extension::{SubresourceAnswer, SubresourceCall};
use jsonapi_engine::resource::Resource;
use serde_json::Value;

use super::{CHECKOUT_LINES, CHECKOUTS, MAX_LINES, kind};

/// `POST /shoppinglists/{id}/checkout`.
pub(super) async fn from_list(call: &mut SubresourceCall<'_>) -> ApiResult<SubresourceAnswer> {
    let id = call.parent.id.clone();
    let items = call
        .flush
        .pointing_at("shoppinglistitems", "shoppingList", &id, MAX_LINES + 1)
        .await?;
    start(call, "USD", &items).await
}

/// `POST /orders/{id}/checkout`: the order's items again (a reorder), in its currency.
pub(super) async fn from_order(call: &mut SubresourceCall<'_>) -> ApiResult<SubresourceAnswer> {
    let id = call.parent.id.clone();
    let items = call
        .flush
        .pointing_at("orderlineitems", "order", &id, MAX_LINES + 1)
        .await?;
    let currency = call
        .parent
        .attributes
        .get("currency")
        .and_then(Value::as_str)
        .unwrap_or("USD")
        .to_owned();
    start(call, &currency, &items).await
}

/// Stages the checkout of the parent's customer with a line per item (`quantity`, `product`).
async fn start(
    call: &mut SubresourceCall<'_>,
    currency: &str,
    items: &[Resource],
) -> ApiResult<SubresourceAnswer> {
    if items.is_empty() {
        return Err(ApiError::new(
            kind::PAYMENT,
            format!("The {} has no items to check out.", call.parent.ty),
        )
        .into());
    }
    if items.len() > MAX_LINES {
        return Err(ApiError::new(
            kind::PAYMENT,
            format!("A checkout holds at most {MAX_LINES} line items."),
        )
        .into());
    }
    let mut checkout = call.flush.empty_resource(CHECKOUTS).await?;
    let checkout_id = checkout.id.clone();
    checkout
        .attributes
        .insert("status".into(), Value::from("open"));
    checkout
        .attributes
        .insert("currency".into(), Value::from(currency));
    for rel in [
        "billingAddress",
        "shippingAddress",
        "shippingMethod",
        "paymentMethod",
        "order",
    ] {
        checkout.to_one.insert(rel.into(), None);
    }
    checkout.to_one.insert(
        "customer".into(),
        call.parent.related("customer").map(str::to_owned),
    );
    call.flush.stage(checkout);
    for item in items {
        let Some(product_id) = item.related("product") else {
            continue;
        };
        let price = match call.flush.load("products", product_id).await? {
            Some(product) => product.attributes.get("price").cloned(),
            None => None,
        };
        let Some(price) = price else { continue };
        let mut line = call.flush.empty_resource(CHECKOUT_LINES).await?;
        line.attributes.insert(
            "quantity".into(),
            item.attributes
                .get("quantity")
                .cloned()
                .unwrap_or(Value::from(1)),
        );
        line.attributes.insert("price".into(), price);
        line.to_one
            .insert("checkout".into(), Some(checkout_id.clone()));
        line.to_one
            .insert("product".into(), Some(product_id.to_owned()));
        call.flush.stage(line);
    }
    Ok(SubresourceAnswer::Created(checkout_id))
}
