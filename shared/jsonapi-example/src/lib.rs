//! The example domain (`infra/api/example.yaml`: categories, products, customers, orders and
//! their line items) as the servers serve it, kept out of the engine: the engine knows no
//! domain, and this crate plugs the example's rules in through the engine's public extension
//! API ([`jsonapi_engine::extension`]), as any user of the engine would plug in their own.
//!
//! # Layout
//! - [`load`]: the one loader of `jsonapi-local` (serving, its commands, `check`, `template`):
//!   the configuration file named, or the example domain without one. The Lambda functions
//!   carry theirs built in (crate `jsonapi-lambda`, `packaged`), the example's by default.
//! - [`engine`]: an engine for a configuration with the example's extensions that fit it.
//! - [`OrderTotal`]: `orders.total` kept equal to the sum of its line items.
//! - [`Checkout`]: the storefront's checkout (`checkout`), from a shopping list or an order to
//!   the order its payment places.

mod checkout;
mod order_total;

use std::path::Path;

use jsonapi_config::{ConfigError, Schema};
use jsonapi_engine::Engine;
use jsonapi_engine::extension::Extension;
use jsonapi_store::Store;

pub use checkout::Checkout;
pub use order_total::OrderTotal;

/// The configuration in `path`, checked; the example domain without one.
///
/// # Errors
/// The file cannot be read or is not a valid configuration (the error names file, line and
/// key).
pub fn load(path: Option<&Path>) -> Result<Schema, ConfigError> {
    match path {
        Some(path) => jsonapi_config::load_file(path),
        None => Ok(jsonapi_config::example_domain()),
    }
}

/// The example's extensions that `schema` has the types and fields for: none for a
/// configuration of another domain, so a server may call this whatever it serves (a file may
/// be the example's configuration too, as the Lambda functions' packaged one is).
pub fn extensions(schema: &Schema) -> Vec<Box<dyn Extension>> {
    let mut out: Vec<Box<dyn Extension>> = Vec::new();
    if let Some(e) = OrderTotal::for_example_domain(schema) {
        out.push(Box::new(e));
    }
    if let Some(e) = Checkout::for_example_domain(schema) {
        out.push(Box::new(e));
    }
    out
}

/// An engine serving `schema` from `store`, with the example's [`extensions`] that fit it.
pub fn engine<S: Store>(schema: Schema, store: S) -> Engine<S> {
    let extensions = extensions(&schema);
    Engine::new(schema, store).with_extensions(extensions)
}
