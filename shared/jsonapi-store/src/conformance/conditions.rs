//! Conditional writes: absent, present and equals (on each kind of value), on puts and
//! deletes, including attributes named like the key attributes.

use serde_json::{Value, json};

use super::support::{Suite, attrs, delete_if, equals, put, put_if};
use crate::{Condition, Store};

/// The attributes of the item the conditions are checked on, one of each kind of value.
fn base() -> Value {
    json!({
        "version": 3, "name": "x", "flag": true, "nothing": null,
        "obj": {"a": [1, 2], "b": "c"}, "list": ["p", 1], "f": 1.5, "whole": 2.0
    })
}

/// Equals conditions that must fail on `base()`: the attribute, the value and what it is.
fn failing_equals() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("version", json!(4), "another number"),
        ("version", json!(3.0), "the same number as a float"),
        ("version", json!("3"), "the number as a string"),
        ("name", json!("y"), "another string"),
        ("flag", json!(false), "another bool"),
        ("flag", json!(null), "null for a bool"),
        ("nothing", json!(false), "false for null"),
        ("obj", json!({"a": [1, 2]}), "an object missing a member"),
        (
            "obj",
            json!({"a": [2, 1], "b": "c"}),
            "an object with a list in another order",
        ),
        ("list", json!([1, "p"]), "a list in another order"),
        ("f", json!(1.25), "another float"),
        ("whole", json!(2), "the integer for an integral float"),
        ("missing", json!(null), "null for a missing attribute"),
        ("missing", json!(1), "a value for a missing attribute"),
    ]
}

impl<S: Store> Suite<'_, S> {
    /// The conditions in sequence: each sub-case starts from the state the one before left.
    pub(super) async fn conditions(&self) {
        self.absent_and_present().await;
        self.equals_each_kind().await;
        self.conditional_deletes().await;
        self.conditions_on_key_named_attributes().await;
    }

    async fn absent_and_present(&self) {
        let item = self.key("cond", "#");
        let never = self.key("cond", "never");
        let base = base();
        // Absent.
        self.write(
            "put if absent on a new item",
            vec![put_if(&item, base.clone(), Condition::Absent)],
        )
        .await;
        self.must_fail_at(
            "put if absent on an existing item",
            vec![put_if(&item, json!({"v": 0}), Condition::Absent)],
            0,
        )
        .await;
        assert_eq!(
            self.get(&item).await,
            Some(attrs(base.clone())),
            "a failed put if absent wrote"
        );

        // Present.
        self.must_fail_at(
            "put if present on an absent item",
            vec![put_if(&never, json!({}), Condition::Present)],
            0,
        )
        .await;
        assert_eq!(
            self.get(&never).await,
            None,
            "a failed put if present wrote"
        );
        self.write(
            "put if present on an existing item",
            vec![put_if(&item, base.clone(), Condition::Present)],
        )
        .await;
    }

    async fn equals_each_kind(&self) {
        let item = self.key("cond", "#");
        let never = self.key("cond", "never");
        let base = base();
        // Equals, passing, for each kind of value.
        for (name, value) in attrs(base.clone()) {
            self.write(
                &format!("put if {name} equals its value"),
                vec![put_if(&item, base.clone(), equals(&name, value))],
            )
            .await;
        }
        // Equals, failing.
        for (name, value, what) in failing_equals() {
            self.must_fail_at(
                &format!("put if {name} equals {what}"),
                vec![put_if(&item, json!({"changed": true}), equals(name, value))],
                0,
            )
            .await;
        }
        assert_eq!(
            self.get(&item).await,
            Some(attrs(base.clone())),
            "a failed put if equals wrote"
        );
        self.must_fail_at(
            "equals on an absent item",
            vec![put_if(&never, json!({}), equals("version", json!(3)))],
            0,
        )
        .await;
        self.must_fail_at(
            "equals null on an absent item",
            vec![put_if(&never, json!({}), equals("a", json!(null)))],
            0,
        )
        .await;
        assert_eq!(self.get(&never).await, None);
    }

    async fn conditional_deletes(&self) {
        let item = self.key("cond", "#");
        let other = self.key("cond", "other");
        let never = self.key("cond", "never");
        let base = base();
        // Conditional deletes.
        self.write(
            "delete if absent on an absent item",
            vec![delete_if(&never, Some(Condition::Absent))],
        )
        .await;
        self.must_fail_at(
            "delete if present on an absent item",
            vec![delete_if(&never, Some(Condition::Present))],
            0,
        )
        .await;
        self.must_fail_at(
            "delete if absent on an existing item",
            vec![delete_if(&item, Some(Condition::Absent))],
            0,
        )
        .await;
        self.must_fail_at(
            "delete if version differs",
            vec![delete_if(&item, Some(equals("version", json!(2))))],
            0,
        )
        .await;
        assert_eq!(
            self.get(&item).await,
            Some(attrs(base.clone())),
            "a failed conditional delete deleted"
        );
        self.write("put other", vec![put(&other, json!({"version": 1}))])
            .await;
        self.write(
            "delete if present",
            vec![delete_if(&other, Some(Condition::Present))],
        )
        .await;
        assert_eq!(
            self.get(&other).await,
            None,
            "delete if present did not delete"
        );
        self.write(
            "delete if version matches",
            vec![delete_if(&item, Some(equals("version", json!(3))))],
        )
        .await;
        assert_eq!(
            self.get(&item).await,
            None,
            "delete if version matches did not delete"
        );
    }

    async fn conditions_on_key_named_attributes(&self) {
        let item = self.key("cond", "#");
        // Conditions on attributes named like the key attributes.
        self.write(
            "put pk attribute",
            vec![put(&item, json!({"pk": "mine", "sk": 1}))],
        )
        .await;
        self.write(
            "equals on pk attribute",
            vec![put_if(
                &item,
                json!({"pk": "mine", "sk": 2}),
                equals("pk", json!("mine")),
            )],
        )
        .await;
        self.must_fail_at(
            "equals on sk attribute",
            vec![put_if(&item, json!({}), equals("sk", json!(1)))],
            0,
        )
        .await;
        assert_eq!(
            self.get(&item).await,
            Some(attrs(json!({"pk": "mine", "sk": 2})))
        );
    }
}
