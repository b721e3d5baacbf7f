//! Extensions shipped with the engine.

mod order_total;

pub use order_total::OrderTotal;
