//! Secrets the engine keeps in its own store (the cursor key, the token signing key): one item
//! each, created by the first process that needs it, so every process of one API (every Lambda
//! instance) shares it.

use jsonapi_store::{Condition, Item, Key, Store, StoreError, Write};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

fn read(item: Option<Item>) -> Option<String> {
    item.and_then(|i| {
        i.attrs
            .get("secret")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// The secret kept at `key`. When there is none yet, `fresh` makes one and it is stored (if
/// `create`; otherwise `None`). Two processes racing to create it end up with the same one:
/// the loser of the absence condition reads the winner's.
pub(crate) async fn get_or_create<S: Store>(
    store: &S,
    key: Key,
    create: bool,
    fresh: impl FnOnce() -> Result<String, ApiError>,
) -> ApiResult<Option<String>> {
    if let Some(secret) = read(store.get(&key).await?) {
        return Ok(Some(secret));
    }
    if !create {
        return Ok(None);
    }
    let secret = fresh()?;
    let mut attrs = serde_json::Map::new();
    attrs.insert("secret".into(), secret.clone().into());
    let put = Write::Put {
        item: Item {
            key: key.clone(),
            attrs,
        },
        condition: Some(Condition::Absent),
    };
    match store.transact(vec![put]).await {
        Ok(()) => Ok(Some(secret)),
        Err(StoreError::ConditionFailed { .. }) => {
            Ok(Some(read(store.get(&key).await?).ok_or_else(|| {
                ApiError::internal(&format!("the secret {} is unreadable", key.pk))
            })?))
        }
        Err(e) => Err(e.into()),
    }
}
