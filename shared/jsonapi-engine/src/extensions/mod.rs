//! Extensions shipped with the engine.

mod order_total;
mod password_hashing;
mod role_permissions;

pub use order_total::OrderTotal;
pub use password_hashing::PasswordHashing;
pub use role_permissions::RolePermissionsCheck;
