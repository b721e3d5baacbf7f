//! Single items: put, get and delete, every kind of attribute value, and batch reads.

use serde_json::{Value, json};

use super::support::{Suite, attrs, delete_if, ok, put, sorted_keys};
use crate::{Attrs, Key, Store, Write};

impl<S: Store> Suite<'_, S> {
    pub(super) async fn put_get_delete(&self) {
        let a = self.key("crud", "#");
        let b = self.key("crud", "b");
        assert_eq!(self.get(&a).await, None, "a fresh store holds the item");
        self.write(
            "put",
            vec![
                put(&a, json!({"name": "one", "version": 1})),
                put(&b, json!({})),
            ],
        )
        .await;
        assert_eq!(
            self.get(&a).await,
            Some(attrs(json!({"name": "one", "version": 1})))
        );
        assert_eq!(
            self.get(&b).await,
            Some(Attrs::new()),
            "a key-only item reads back empty"
        );
        assert_eq!(
            self.get(&self.key("crud", "#x")).await,
            None,
            "a neighbouring key is found"
        );
        assert_eq!(
            self.get(&self.key("crud2", "#")).await,
            None,
            "a neighbouring partition is found"
        );

        self.write("replace", vec![put(&a, json!({"other": true}))])
            .await;
        assert_eq!(
            self.get(&a).await,
            Some(attrs(json!({"other": true}))),
            "a put replaces every attribute"
        );

        self.write("delete", vec![delete_if(&a, None)]).await;
        assert_eq!(self.get(&a).await, None, "a deleted item is still there");
        self.write("delete of an absent item", vec![delete_if(&a, None)])
            .await;
        assert_eq!(
            self.get(&b).await,
            Some(Attrs::new()),
            "delete removed another item"
        );
    }

    pub(super) async fn values_round_trip(&self) {
        let key = self.key("values", "#");
        let value = json!({
            "string": "héllo wörld ✓ 日本語 😀",
            "empty": "",
            "zero": 0,
            "int": 42,
            "negative": -7,
            "big": u64::MAX,
            "small": i64::MIN,
            "float": 2.5,
            "tiny": 1.5e-7,
            "integral float": 1.0,
            "negative float": -3.0,
            "huge float": 1e300,
            "smallest float": 5e-324,
            "true": true,
            "false": false,
            "null": null,
            "list": [1, "two", 3.5, 4.0, null, false, [], {}],
            "empty list": [],
            "object": {"a": {"b": {"c": [1, {"d": "e"}]}}, "pk": "nested", "": 1, "~": 2},
            "empty object": {},
            "pk": "an attribute named like the partition key",
            "sk": 7,
            "next": 3,
            "~tilde": "x",
            "": "an empty name",
            "with space": 1,
            "quote\"d": 1,
            "unicode ключ": 1,
        });
        self.write("put every kind of value", vec![put(&key, value.clone())])
            .await;
        let back = self
            .get(&key)
            .await
            .unwrap_or_else(|| panic!("the item of every value kind is missing"));
        for (name, expected) in attrs(value.clone()) {
            let got = back.get(&name);
            assert_eq!(
                got,
                Some(&expected),
                "attribute {name:?} does not read back as written"
            );
            if let (Some(Value::Number(got)), Value::Number(expected)) = (got, &expected) {
                assert_eq!(
                    (got.is_u64(), got.is_i64(), got.is_f64()),
                    (expected.is_u64(), expected.is_i64(), expected.is_f64()),
                    "attribute {name:?}: the number {expected} comes back as another kind of number ({got})"
                );
            }
        }
        assert_eq!(back, attrs(value), "the attributes differ");
        let items = ok(
            "batch_get values",
            self.store.batch_get(std::slice::from_ref(&key)).await,
        );
        assert_eq!(items.len(), 1);
        assert_eq!(
            Some(&items[0].attrs),
            Some(&back),
            "batch_get reads other values than get"
        );
    }

    pub(super) async fn batch_get(&self) {
        let present: Vec<Key> = (0..60)
            .map(|i| self.key(&format!("batch{}", i % 3), &format!("{i:03}")))
            .collect();
        let absent: Vec<Key> = (0..40)
            .map(|i| self.key(&format!("batch{}", i % 4), &format!("absent{i}")))
            .collect();
        let writes: Vec<Write> = present
            .iter()
            .map(|k| put(k, json!({"sk": k.sk})))
            .collect();
        self.write("batch setup", writes).await;

        let mut keys: Vec<Key> = present.iter().chain(&absent).cloned().collect();
        keys.reverse();
        assert_eq!(keys.len(), crate::limits::MAX_BATCH_GET);
        let items = ok("batch_get of 100 keys", self.store.batch_get(&keys).await);
        assert_eq!(
            sorted_keys(&items),
            {
                let mut p = present.clone();
                p.sort();
                p
            },
            "batch_get must return exactly the present keys"
        );
        for item in &items {
            assert_eq!(
                item.attrs,
                attrs(json!({"sk": item.key.sk})),
                "batch_get mixed up attributes"
            );
        }

        let few = vec![absent[0].clone(), present[5].clone(), absent[1].clone()];
        let items = ok("batch_get of 3 keys", self.store.batch_get(&few).await);
        assert_eq!(sorted_keys(&items), vec![present[5].clone()]);
        assert!(ok("batch_get of no key", self.store.batch_get(&[]).await).is_empty());
        assert!(
            ok(
                "batch_get of absent keys",
                self.store.batch_get(&absent[..3]).await
            )
            .is_empty()
        );
    }
}
