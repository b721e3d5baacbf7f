//! The engine's own extensions, enabled by the configuration's `api.auth` (the users type's
//! password hashing, the roles type's permission check) and registered by [`crate::Engine::new`]
//! through the same [`crate::extension`] API any other extension uses. A domain's own rules
//! (the example's order totals: crate `jsonapi-example`) live with the domain.

mod password_hashing;
mod role_permissions;

pub use password_hashing::PasswordHashing;
pub use role_permissions::RolePermissionsCheck;
