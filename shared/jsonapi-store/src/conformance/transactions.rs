//! Transactions: all or nothing whatever write fails, the index of the first failing write,
//! check writes that guard without writing, and the empty transaction.

use serde_json::json;

use super::support::{Suite, attrs, check, delete_if, equals, put, put_if};
use crate::{Attrs, Condition, Key, Store};

impl<S: Store> Suite<'_, S> {
    /// The failing cases in sequence over the same items, then a passing one of every kind.
    pub(super) async fn failed_transactions_write_nothing(&self) {
        let a = self.key("atomic", "a");
        let b = self.key("atomic", "b");
        let c = self.key("atomic", "c");
        let d = self.key("atomic2", "d");
        self.write(
            "setup",
            vec![
                put(&b, json!({"v": "b"})),
                put(&c, json!({"v": "c", "version": 1})),
            ],
        )
        .await;
        self.failing_last_write([&a, &b, &c, &d]).await;
        self.failing_other_writes([&a, &b, &c, &d]).await;
        self.passing_transaction_of_many_kinds([&a, &b, &c, &d])
            .await;
    }

    async fn failing_last_write(&self, [a, b, c, d]: [&Key; 4]) {
        self.must_fail_at(
            "a failing last write",
            vec![
                put(a, json!({"v": "a"})),
                delete_if(b, None),
                put(d, json!({"v": "d"})),
                put_if(c, json!({"v": "c2"}), Condition::Absent),
            ],
            3,
        )
        .await;
        assert_eq!(
            self.get(a).await,
            None,
            "an earlier put of a failed transaction was written"
        );
        assert_eq!(
            self.get(b).await,
            Some(attrs(json!({"v": "b"}))),
            "an earlier delete of a failed transaction was applied"
        );
        assert_eq!(
            self.get(d).await,
            None,
            "a put in another partition of a failed transaction was written"
        );
        assert_eq!(
            self.get(c).await,
            Some(attrs(json!({"v": "c", "version": 1})))
        );
    }

    async fn failing_other_writes(&self, [a, b, c, d]: [&Key; 4]) {
        self.must_fail_at(
            "a failing first write",
            vec![put_if(a, json!({}), Condition::Present), put(d, json!({}))],
            0,
        )
        .await;
        self.must_fail_at(
            "two failing writes",
            vec![
                put(a, json!({})),
                put_if(c, json!({}), equals("version", json!(2))),
                delete_if(b, Some(Condition::Absent)),
            ],
            1,
        )
        .await;
        self.must_fail_at(
            "a failing middle write",
            vec![
                put_if(a, json!({}), Condition::Absent),
                delete_if(d, Some(Condition::Present)),
                put_if(c, json!({"version": 2}), equals("version", json!(1))),
            ],
            1,
        )
        .await;
        assert_eq!(self.get(a).await, None);
        assert_eq!(self.get(d).await, None);
        assert_eq!(
            self.get(c).await,
            Some(attrs(json!({"v": "c", "version": 1})))
        );
    }

    async fn passing_transaction_of_many_kinds(&self, [a, b, c, d]: [&Key; 4]) {
        self.write(
            "a passing transaction of many kinds",
            vec![
                put_if(a, json!({"v": "a"}), Condition::Absent),
                delete_if(b, Some(Condition::Present)),
                put_if(c, json!({"version": 2}), equals("version", json!(1))),
                put(d, json!({"v": "d"})),
            ],
        )
        .await;
        assert_eq!(self.get(a).await, Some(attrs(json!({"v": "a"}))));
        assert_eq!(self.get(b).await, None);
        assert_eq!(self.get(c).await, Some(attrs(json!({"version": 2}))));
        assert_eq!(self.get(d).await, Some(attrs(json!({"v": "d"}))));
    }

    pub(super) async fn check_writes(&self) {
        let guard = self.key("check", "guard");
        let x = self.key("check", "x");
        let y = self.key("check", "y");
        self.write("setup", vec![put(&guard, json!({"version": 5}))])
            .await;

        self.write(
            "passing checks",
            vec![
                check(&guard, Condition::Present),
                check(&y, Condition::Absent),
                check(&self.key("check", "z"), Condition::Absent),
                put(&x, json!({"v": 1})),
            ],
        )
        .await;
        assert_eq!(
            self.get(&x).await,
            Some(attrs(json!({"v": 1}))),
            "a put beside passing checks was not written"
        );
        assert_eq!(
            self.get(&guard).await,
            Some(attrs(json!({"version": 5}))),
            "a check changed its item"
        );
        assert_eq!(self.get(&y).await, None, "a check created its item");

        self.write(
            "equals check",
            vec![
                check(&guard, equals("version", json!(5))),
                put(&y, json!({})),
            ],
        )
        .await;
        assert_eq!(self.get(&y).await, Some(Attrs::new()));

        for (what, condition) in [
            ("check absent on an existing item", Condition::Absent),
            (
                "check equals on a stale version",
                equals("version", json!(4)),
            ),
        ] {
            self.must_fail_at(
                what,
                vec![put(&x, json!({"v": 2})), check(&guard, condition)],
                1,
            )
            .await;
        }
        self.must_fail_at(
            "check present on an absent item",
            vec![
                check(&self.key("check", "z"), Condition::Present),
                delete_if(&x, None),
            ],
            0,
        )
        .await;
        assert_eq!(
            self.get(&x).await,
            Some(attrs(json!({"v": 1}))),
            "a failed check let a write through"
        );
        assert_eq!(self.get(&guard).await, Some(attrs(json!({"version": 5}))));
    }

    pub(super) async fn empty_transaction(&self) {
        self.write("an empty transaction", Vec::new()).await;
    }
}
