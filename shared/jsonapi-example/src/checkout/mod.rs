//! The storefront's checkout on the example domain, built only from the engine's public
//! extension API: the types are configuration (`infra/api/example.yaml`: shoppinglists,
//! checkouts, their line items, addresses, shipping and payment methods), and this extension
//! serves the sub-resources declared there and keeps the flow's rules.
//!
//! - [`start`]: `POST /shoppinglists/{id}/checkout` and `POST /orders/{id}/checkout` create a
//!   checkout with the list's (or order's) items at the products' current prices.
//! - [`choices`]: the methods a checkout may choose (`availableShippingMethods`,
//!   `availablePaymentMethods`), and the rule that a checkout's chosen methods are among them.
//! - [`payment`]: readiness (`GET .../payment`, `meta` only), and the payment sub-resources
//!   that place the order in one transaction: `paymentPaymentTerm`, and the redirect-style
//!   `paymentRedirect`.

mod choices;
mod payment;
mod start;

use jsonapi_config::Schema;
use jsonapi_engine::error::ApiResult;
use jsonapi_engine::extension::{
    BoxFuture, Extension, FlushContext, SubresourceAnswer, SubresourceCall,
};

/// The model's error kinds of the checkout API, constraints this extension defines.
pub(crate) mod kind {
    use jsonapi_engine::error::ErrorKind;

    /// The checkout cannot be paid as it is (missing data, an unavailable method, stock).
    pub(crate) const PAYMENT: ErrorKind = ErrorKind::Constraint("payment constraint");
    /// The checkout's payment is done already.
    pub(crate) const PAYMENT_STATUS: ErrorKind = ErrorKind::Constraint("payment status constraint");
    /// The client must act before the payment completes (follow `purchaseRedirectUrl`).
    pub(crate) const PAYMENT_ACTION: ErrorKind = ErrorKind::Constraint("payment action constraint");
}

const CHECKOUTS: &str = "checkouts";
const CHECKOUT_LINES: &str = "checkoutlineitems";
const SHIPPING_METHODS: &str = "shippingmethods";
const PAYMENT_METHODS: &str = "paymentmethods";

/// Most line items a checkout carries into an order (one store transaction holds them all).
const MAX_LINES: usize = 25;

/// The checkout flow's extension.
#[derive(Debug, Clone, Copy)]
pub struct Checkout;

impl Checkout {
    /// The extension, if the schema declares the example's checkout types and sub-resources.
    pub fn for_example_domain(schema: &Schema) -> Option<Self> {
        let checkouts = schema.resource_type(CHECKOUTS)?;
        let fits = [
            "orders",
            "orderlineitems",
            "products",
            "shoppinglists",
            "shoppinglistitems",
            CHECKOUT_LINES,
            SHIPPING_METHODS,
            PAYMENT_METHODS,
        ]
        .iter()
        .all(|t| schema.resource_type(t).is_some())
            && checkouts.subresources.contains_key("paymentPaymentTerm");
        fits.then_some(Self)
    }
}

impl Extension for Checkout {
    fn pre_flush<'a>(&'a self, ctx: &'a mut FlushContext<'_>) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(choices::check_changes(ctx))
    }

    fn serves(&self, ty: &str, name: &str) -> bool {
        matches!(
            (ty, name),
            ("shoppinglists" | "orders", "checkout")
                | (
                    CHECKOUTS,
                    "availableShippingMethods"
                        | "availablePaymentMethods"
                        | "payment"
                        | "paymentPaymentTerm"
                        | "paymentRedirect"
                )
        )
    }

    fn subresource<'a>(
        &'a self,
        call: &'a mut SubresourceCall<'_>,
    ) -> BoxFuture<'a, ApiResult<SubresourceAnswer>> {
        Box::pin(async move {
            match (call.parent.ty.name(), call.name.as_str()) {
                ("shoppinglists", _) => start::from_list(call).await,
                ("orders", _) => start::from_order(call).await,
                (_, "availableShippingMethods") => choices::available(call, SHIPPING_METHODS).await,
                (_, "availablePaymentMethods") => choices::available(call, PAYMENT_METHODS).await,
                (_, "payment") => payment::readiness(call).await,
                (_, "paymentPaymentTerm") => payment::pay_on_terms(call).await,
                _ => payment::pay_by_redirect(call).await,
            }
        })
    }
}
