//! Sequence counters: blocks handed out in order, per key, and without overlap under
//! concurrent callers.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use serde_json::json;

use super::support::{Suite, ok};
use crate::Store;

/// Polls every future to completion concurrently (a small `join_all`).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

impl<S: Store> Suite<'_, S> {
    pub(super) async fn allocate(&self) {
        let key = self.key("seq", "#");
        assert_eq!(
            ok("allocate", self.store.allocate(&key, 1).await),
            1,
            "a counter starts at 1"
        );
        assert_eq!(ok("allocate", self.store.allocate(&key, 5).await), 2);
        assert_eq!(ok("allocate", self.store.allocate(&key, 1).await), 7);
        assert_eq!(ok("allocate", self.store.allocate(&key, 100).await), 8);
        assert_eq!(
            self.get(&key).await.and_then(|a| a.get("next").cloned()),
            Some(json!(108)),
            "the counter item holds `next`, the next value to hand out"
        );
        let fresh = self.key("seq", "block");
        assert_eq!(
            ok(
                "allocate a block first",
                self.store.allocate(&fresh, 10).await
            ),
            1
        );
        assert_eq!(ok("allocate", self.store.allocate(&fresh, 1).await), 11);
        assert_eq!(
            ok(
                "allocate",
                self.store.allocate(&self.key("seq2", "#"), 3).await
            ),
            1,
            "counters are per key"
        );
    }

    pub(super) async fn concurrent_allocate(&self) {
        let key = self.key("seq-concurrent", "#");
        let sizes: Vec<u64> = (0..20).map(|i| i % 4 + 1).collect();
        let firsts = join_all(
            sizes
                .iter()
                .map(|n| self.store.allocate(&key, *n))
                .collect(),
        )
        .await;
        let mut blocks: Vec<(u64, u64)> = firsts
            .into_iter()
            .zip(&sizes)
            .map(|(first, n)| (ok("concurrent allocate", first), *n))
            .collect();
        blocks.sort_unstable();
        let mut expected_first = 1;
        for (first, n) in &blocks {
            assert_eq!(
                *first, expected_first,
                "concurrent blocks overlap or leave gaps: {blocks:?}"
            );
            expected_first += n;
        }
        assert_eq!(
            ok("allocate after", self.store.allocate(&key, 1).await),
            expected_first
        );
    }
}
