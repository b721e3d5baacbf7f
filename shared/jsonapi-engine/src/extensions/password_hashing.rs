//! The users type's `password` (the type named by `api.auth.users`, `users` by default):
//! accepted in requests, never returned, and stored only as an argon2id hash (a PHC string),
//! computed at `pre_flush_data` whenever a request sets a new value.

use jsonapi_auth::Passwords;
use jsonapi_config::{DataType, Direction, Schema};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extension::{BoxFuture, Extension, FlushContext};

/// Replaces a new plain password with its argon2id hash before it is stored.
#[derive(Debug)]
pub struct PasswordHashing {
    ty: String,
    field: String,
    passwords: Passwords,
}

impl PasswordHashing {
    /// The extension for the users type's `password`, if the schema declares it as an
    /// input-only string.
    pub fn for_users(schema: &Schema, passwords: Passwords) -> Option<Self> {
        let ty = schema.api.auth.users.as_ref()?;
        let attr = schema.referenced(ty).attributes.get("password")?;
        (attr.data_type == DataType::String && attr.direction == Direction::InputOnly).then(|| {
            Self {
                ty: ty.name().to_owned(),
                field: "password".to_owned(),
                passwords,
            }
        })
    }
}

impl Extension for PasswordHashing {
    fn pre_flush<'a>(&'a self, ctx: &'a mut FlushContext<'_>) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(async move {
            let mut fresh = Vec::new();
            for change in ctx.changes.changes() {
                let Some(after) = change.after.as_ref().filter(|r| r.ty == self.ty) else {
                    continue;
                };
                let new = after.attributes.get(&self.field).and_then(Value::as_str);
                let old = change
                    .before
                    .as_ref()
                    .and_then(|b| b.attributes.get(&self.field))
                    .and_then(Value::as_str);
                if let Some(plain) = new.filter(|n| Some(*n) != old) {
                    fresh.push((after.clone(), plain.to_owned()));
                }
            }
            for (mut user, plain) in fresh {
                // Hashing is deliberately slow: off the request threads.
                let hash = self
                    .passwords
                    .hash_blocking(&plain)
                    .await
                    .map_err(|e| ApiError::internal(&e))?;
                user.attributes
                    .insert(self.field.clone(), Value::String(hash.as_str().to_owned()));
                let before = ctx
                    .changes
                    .original(&user.ty, &user.id)
                    .and_then(|b| b.cloned());
                ctx.changes.put(before, user);
            }
            Ok(())
        })
    }
}
