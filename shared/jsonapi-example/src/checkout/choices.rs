//! The shipping and payment methods a checkout may choose (the enabled ones), and the rules on
//! every write of a checkout: its chosen methods are available ones, and a completed checkout
//! does not change any more.

use jsonapi_config::Operation;
use jsonapi_engine::error::{ApiError, ApiResult};
use jsonapi_engine::extension::{FlushContext, SubresourceAnswer, SubresourceCall};
use jsonapi_engine::resource::Resource;
use serde_json::Value;

use super::{CHECKOUTS, PAYMENT_METHODS, SHIPPING_METHODS, kind};

/// Most methods of one kind a storefront offers.
const MAX_METHODS: usize = 100;

/// A method is available while it is enabled.
fn enabled(method: &Resource) -> bool {
    method.attributes.get("enabled") != Some(&Value::Bool(false))
}

/// `availableShippingMethods` / `availablePaymentMethods`: the enabled methods of `ty`.
pub(super) async fn available(
    call: &mut SubresourceCall<'_>,
    ty: &str,
) -> ApiResult<SubresourceAnswer> {
    let methods = call.flush.list(ty, MAX_METHODS).await?;
    Ok(SubresourceAnswer::Resources(
        methods.into_iter().filter(enabled).collect(),
    ))
}

/// Whether a checkout is completed (paid).
pub(super) fn completed(checkout: &Resource) -> bool {
    checkout.attributes.get("status").and_then(Value::as_str) == Some("completed")
}

/// `pre_flush_data`: every checkout a request changes keeps the rules.
pub(super) async fn check_changes(ctx: &mut FlushContext<'_>) -> ApiResult<()> {
    let changed: Vec<(Option<Resource>, Resource)> = ctx
        .changes
        .changes()
        .filter_map(|c| Some((c.before.clone(), c.after.clone()?)))
        .filter(|(_, after)| after.ty == CHECKOUTS)
        .collect();
    for (before, after) in changed {
        // The payment itself completes the checkout; nothing else changes it afterwards.
        if before.as_ref().is_some_and(completed) && ctx.action != Operation::AddSubresource {
            return Err(ApiError::new(
                kind::PAYMENT_STATUS,
                "The checkout is completed: its order is placed, and it cannot change any more.",
            )
            .into());
        }
        for (rel, ty) in [
            ("shippingMethod", SHIPPING_METHODS),
            ("paymentMethod", PAYMENT_METHODS),
        ] {
            let chosen = after.related(rel);
            if chosen == before.as_ref().and_then(|b| b.related(rel)) {
                continue;
            }
            let Some(id) = chosen else { continue };
            let method = ctx.load(ty, id).await?;
            if !method.as_ref().is_some_and(enabled) {
                return Err(ApiError::new(
                    kind::PAYMENT,
                    format!("The {ty} \"{id}\" is not available for this checkout; choose one of its available {ty}."),
                )
                .at(format!("/data/relationships/{rel}/data"))
                .into());
            }
        }
    }
    Ok(())
}
