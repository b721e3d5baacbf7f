//! Marker items: what is done once per data folder (or table), such as loading the seed data
//! or making the development client, is recorded by an item of its own.

use jsonapi_store::{Condition, Item, Key, Store, Write};
use serde_json::{Map, Value};

use crate::Error;
use crate::backend::Backend;

/// The marker item at `key`, if it was written.
pub(crate) async fn read(store: &Backend, key: &Key) -> Result<Option<Item>, Error> {
    Ok(store.get(key).await?)
}

/// Records that something was done, unless a racing process recorded it first.
pub(crate) async fn write(
    store: &Backend,
    key: Key,
    attrs: Map<String, Value>,
) -> Result<(), Error> {
    let put = Write::Put {
        item: Item { key, attrs },
        condition: Some(Condition::Absent),
    };
    Ok(store.transact(vec![put]).await?)
}
