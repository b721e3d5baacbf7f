//! Extensions shipped with the engine.

mod order_total;
mod password_hashing;

pub use order_total::OrderTotal;
pub use password_hashing::PasswordHashing;
