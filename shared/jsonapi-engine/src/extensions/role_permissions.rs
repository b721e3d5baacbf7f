//! The roles type's `permissions`: refused at write time unless it reads as permissions
//! (an object of type → `VIEW` / `CREATE` / `EDIT` / `DELETE` / `ALL`), so a typo cannot
//! silently grant nothing.

use jsonapi_auth::RolePermissions;
use jsonapi_config::Schema;
use serde_json::Value;

use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::extension::{BoxFuture, Extension, FlushContext};

/// Checks the permissions of every role a request writes.
#[derive(Debug)]
pub struct RolePermissionsCheck {
    ty: String,
}

impl RolePermissionsCheck {
    /// The check for the schema's roles type (`api.auth.roles`), if it has one.
    pub fn for_roles(schema: &Schema) -> Option<Self> {
        schema.api.auth.roles.as_ref().map(|ty| Self {
            ty: ty.name().to_owned(),
        })
    }
}

impl Extension for RolePermissionsCheck {
    fn pre_flush<'a>(&'a self, ctx: &'a mut FlushContext<'_>) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for change in ctx.changes.changes() {
                let Some(after) = change.after.as_ref().filter(|r| r.ty == self.ty) else {
                    continue;
                };
                let permissions = after.attributes.get("permissions").unwrap_or(&Value::Null);
                if let Err(e) = RolePermissions::parse(permissions) {
                    errors.push(ApiError::new(
                        ErrorKind::Value,
                        format!("The permissions of role \"{}\" are invalid: {e}.", after.id),
                    ));
                }
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(crate::ApiErrors(errors))
            }
        })
    }
}
