//! The example domain's `orders.total`: the sum of `quantity × price` over an order's line
//! items, kept current at `pre_flush_data` of every write that touches a line item.
//!
//! The hook adds each change's difference to the order it belongs to (an order a line item
//! leaves loses its amount, the one it joins gains it) instead of re-reading all line items, so
//! a write costs one extra item whatever the order's size. The order item is written with its
//! version condition in the same transaction, so two concurrent writes to one order cannot
//! lose an update: the loser is retried from fresh reads.

use std::str::FromStr;

use indexmap::IndexMap;
use jsonapi_config::{DataType, Schema};
use rust_decimal::Decimal;
use serde_json::Value;

use jsonapi_engine::error::{ApiError, ApiResult, ErrorKind};
use jsonapi_engine::extension::{BoxFuture, Extension, FlushContext};
use jsonapi_engine::resource::Resource;

/// Keeps `{order}.{total}` equal to the sum of `{line}.{quantity} × {line}.{price}`.
#[derive(Debug, Clone)]
pub struct OrderTotal {
    order_type: String,
    total: String,
    line_type: String,
    line_order: String,
    quantity: String,
    price: String,
}

impl OrderTotal {
    /// The extension for the example domain's names, if the schema declares them all
    /// (`orders.total` decimal; `orderlineitems.quantity`, `.price` and to-one `.order`).
    pub fn for_example_domain(schema: &Schema) -> Option<Self> {
        let ext = Self {
            order_type: "orders".into(),
            total: "total".into(),
            line_type: "orderlineitems".into(),
            line_order: "order".into(),
            quantity: "quantity".into(),
            price: "price".into(),
        };
        let orders = schema.resource_type(&ext.order_type)?;
        let lines = schema.resource_type(&ext.line_type)?;
        let fits = orders.attributes.get(&ext.total)?.data_type == DataType::Decimal
            && lines.attributes.contains_key(&ext.quantity)
            && lines.attributes.contains_key(&ext.price)
            && lines
                .relationships
                .get(&ext.line_order)
                .is_some_and(|r| !r.many && r.target == ext.order_type);
        fits.then_some(ext)
    }

    /// `quantity × price`; `None` when it is beyond what a decimal holds.
    fn amount(&self, line: &Resource) -> Option<Decimal> {
        let number = |name: &str| match line.attributes.get(name) {
            Some(Value::String(s)) => Decimal::from_str(s).unwrap_or_default(),
            Some(Value::Number(n)) => Decimal::from_str(&n.to_string()).unwrap_or_default(),
            _ => Decimal::ZERO,
        };
        number(&self.quantity).checked_mul(number(&self.price))
    }

    fn total_of(&self, order: &Resource) -> Decimal {
        order
            .attributes
            .get(&self.total)
            .and_then(Value::as_str)
            .and_then(|s| Decimal::from_str(s).ok())
            .unwrap_or_default()
    }
}

/// A total (or a line's amount) beyond the largest decimal is refused, not wrapped or rounded.
fn too_large() -> ApiError {
    ApiError::new(
        ErrorKind::Range,
        "The order's total would exceed the largest decimal (79228162514264337593543950335).",
    )
}

/// Money keeps at least two decimals (`"37.50"`, `"0.00"`).
fn money(mut d: Decimal) -> String {
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

impl Extension for OrderTotal {
    fn pre_flush<'a>(&'a self, ctx: &'a mut FlushContext<'_>) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(async move {
            let mut deltas: IndexMap<String, Decimal> = IndexMap::new();
            for change in ctx.changes.changes() {
                let is_line =
                    |r: &Option<Resource>| r.as_ref().is_some_and(|r| r.ty == self.line_type);
                if is_line(&change.before) || is_line(&change.after) {
                    if let Some(before) = &change.before
                        && let Some(order) = before.related(&self.line_order)
                    {
                        let delta = deltas.entry(order.to_owned()).or_default();
                        *delta = self
                            .amount(before)
                            .and_then(|a| delta.checked_sub(a))
                            .ok_or_else(too_large)?;
                    }
                    if let Some(after) = &change.after
                        && let Some(order) = after.related(&self.line_order)
                    {
                        let delta = deltas.entry(order.to_owned()).or_default();
                        *delta = self
                            .amount(after)
                            .and_then(|a| delta.checked_add(a))
                            .ok_or_else(too_large)?;
                    }
                } else if let (None, Some(order)) = (&change.before, &change.after) {
                    // A new order starts at zero (plus whatever its new line items add).
                    if order.ty == self.order_type {
                        deltas.entry(order.id.clone()).or_default();
                    }
                }
            }
            for (order_id, delta) in deltas {
                // An order deleted by the same request needs no total.
                let Some(mut order) = ctx.load(&self.order_type, &order_id).await? else {
                    continue;
                };
                let created = order.version == 0;
                if delta.is_zero() && !created {
                    continue;
                }
                let total = money(
                    self.total_of(&order)
                        .checked_add(delta)
                        .ok_or_else(too_large)?,
                );
                order
                    .attributes
                    .insert(self.total.clone(), Value::String(total));
                ctx.stage(order);
            }
            Ok(())
        })
    }
}
