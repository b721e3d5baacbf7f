//! Expired operations deleted with everything they left.

use jsonapi_store::{RangeQuery, Store, Write, limits};
use serde_json::Value;

use crate::batch::layout;
use crate::batch::operation::Record;
use crate::batch::reads::now_ms;
use crate::engine::Engine;
use crate::error::ApiResult;

impl<S: Store> Engine<S> {
    /// Deletes the operations whose lifetime is over, with everything they left (the cloud's
    /// table also expires them by their `expiresAt` attribute).
    pub(super) async fn sweep_expired(&self) -> ApiResult<()> {
        let now = now_ms() / 1000;
        // Ids come from one counter: the sweep walks every id it handed out.
        let next = match self.store.get(&layout::sequence_key()).await? {
            Some(item) => item.attrs.get("next").and_then(Value::as_u64).unwrap_or(0),
            None => return Ok(()),
        };
        for id in 0..next {
            let record = self
                .store
                .get(&layout::record_key(id))
                .await?
                .and_then(|i| Record::from_item(&i));
            if record.is_some_and(|r| r.expired(now)) {
                self.delete_partition(&layout::partition(id)).await?;
            }
        }
        Ok(())
    }

    /// Deletes every item of a partition.
    pub(crate) async fn delete_partition(&self, pk: &str) -> ApiResult<()> {
        loop {
            let page = self
                .store
                .query(&RangeQuery::partition(pk, limits::MAX_TRANSACTION_WRITES))
                .await?;
            if page.items.is_empty() {
                return Ok(());
            }
            let deletes: Vec<Write> = page
                .items
                .into_iter()
                .map(|i| Write::Delete {
                    key: i.key,
                    condition: None,
                })
                .collect();
            self.store.transact(deletes).await?;
        }
    }
}
