//! The users type as the user directory of the password grant: found by their unique
//! `username` (one read of the unique-value item, one of the resource).

use std::sync::Arc;

use jsonapi_auth::{PasswordHash, User, UserDirectory};
use jsonapi_config::Schema;
use jsonapi_store::{Store, StoreError};
use serde_json::Value;

use crate::resource::{Resource, resource_key, unique_key};

/// The users of one API.
pub(crate) struct Users<S> {
    schema: Arc<Schema>,
    store: Arc<S>,
}

impl<S> Users<S> {
    pub(crate) fn new(schema: Arc<Schema>, store: Arc<S>) -> Self {
        Self { schema, store }
    }
}

impl<S: Store> UserDirectory for Users<S> {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let Some(ty) = &self.schema.api.auth.users else {
            return Ok(None);
        };
        let owner = self
            .store
            .get(&unique_key(
                ty,
                "username",
                &Value::String(username.to_owned()),
            ))
            .await?
            .and_then(|i| i.attrs.get("id").and_then(Value::as_str).map(str::to_owned));
        match owner {
            Some(id) => self.find_by_id(&id).await,
            None => Ok(None),
        }
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let Some(users) = &self.schema.api.auth.users else {
            return Ok(None);
        };
        let ty = self.schema.referenced(users);
        let Some(mut item) = self.store.get(&resource_key(&ty.name, id)).await? else {
            return Ok(None);
        };
        let Some(r) = Resource::from_item(ty, &mut item) else {
            return Ok(None);
        };
        let text = |name: &str| r.attributes.get(name).and_then(Value::as_str);
        Ok(Some(User {
            id: r.id.clone(),
            // A user without a password cannot sign in: an empty hash matches nothing.
            password_hash: PasswordHash::new(text("password").unwrap_or_default()),
            roles: r.to_many.get("roles").cloned().unwrap_or_default(),
            enabled: r.attributes.get("enabled") != Some(&Value::Bool(false)),
        }))
    }
}
