//! What the checks share: the suite's handle on the store, builders of writes and conditions,
//! and the reads and transactions that check their own outcome.

use serde_json::{Value, json};

use crate::{Attrs, Condition, Item, Key, Store, StoreError, StoreResult, Write};

pub(super) struct Suite<'a, S> {
    pub(super) store: &'a S,
    pub(super) prefix: &'a str,
}

pub(super) fn attrs(value: Value) -> Attrs {
    match value {
        Value::Object(map) => map,
        other => panic!("test attributes must be an object, not {other}"),
    }
}

pub(super) fn put(key: &Key, value: Value) -> Write {
    Write::Put {
        item: Item {
            key: key.clone(),
            attrs: attrs(value),
        },
        condition: None,
    }
}

pub(super) fn put_if(key: &Key, value: Value, condition: Condition) -> Write {
    Write::Put {
        item: Item {
            key: key.clone(),
            attrs: attrs(value),
        },
        condition: Some(condition),
    }
}

pub(super) fn delete_if(key: &Key, condition: Option<Condition>) -> Write {
    Write::Delete {
        key: key.clone(),
        condition,
    }
}

pub(super) fn check(key: &Key, condition: Condition) -> Write {
    Write::Check {
        key: key.clone(),
        condition,
    }
}

pub(super) fn equals(name: &str, value: Value) -> Condition {
    Condition::Equals {
        name: name.to_owned(),
        value,
    }
}

pub(super) fn ok<T>(what: &str, result: StoreResult<T>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected error {e:?}"))
}

pub(super) fn sorted_keys(items: &[Item]) -> Vec<Key> {
    let mut keys: Vec<Key> = items.iter().map(|i| i.key.clone()).collect();
    keys.sort();
    keys
}

impl<S: Store> Suite<'_, S> {
    pub(super) fn key(&self, partition: &str, sk: &str) -> Key {
        Key::new(format!("{}/{partition}", self.prefix), sk)
    }

    pub(super) fn pk(&self, partition: &str) -> String {
        format!("{}/{partition}", self.prefix)
    }

    pub(super) async fn get(&self, key: &Key) -> Option<Attrs> {
        let found = ok(&format!("get {key:?}"), self.store.get(key).await);
        if let Some(item) = &found {
            assert_eq!(&item.key, key, "get returned another item's key");
        }
        found.map(|i| i.attrs)
    }

    pub(super) async fn write(&self, what: &str, writes: Vec<Write>) {
        ok(what, self.store.transact(writes).await);
    }

    /// Writes one key-only item for each sort key of `sks` in partition `pk`, in one transaction.
    pub(super) async fn put_key_only(&self, what: &str, pk: &str, sks: &[&str]) {
        let writes: Vec<Write> = sks
            .iter()
            .map(|sk| put(&Key::new(pk.to_owned(), *sk), json!({})))
            .collect();
        self.write(what, writes).await;
    }

    pub(super) async fn must_fail_at(&self, what: &str, writes: Vec<Write>, index: usize) {
        match self.store.transact(writes).await {
            Err(StoreError::ConditionFailed { index: i }) => {
                assert_eq!(
                    i, index,
                    "{what}: the failure names write {i}, not the first failing write {index}"
                );
            }
            other => panic!("{what}: expected ConditionFailed {{ index: {index} }}, got {other:?}"),
        }
    }
}
