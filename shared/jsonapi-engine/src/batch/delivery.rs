//! Imports that an event delivers (the cloud's `import` function, one S3 object each): S3
//! delivers an event at least once, so the object is claimed before it is read, with a
//! conditional write keyed by what names that one upload (bucket, key, version or ETag,
//! sequencer). The claim then records the operation the import became, and a second
//! delivery of the same upload finds it and imports nothing.
//!
//! A claim is held for a short lease that the import renews while it runs: an import that
//! died half-way (a timeout, a crash) leaves a claim without an operation, which the next
//! delivery may take over once its lease is over. An import that fails for a reason worth a retry (the
//! store, the object's transfer) gives its claim up, so that the retry imports it.
//!
//! An import refused for what the file holds (a type that takes no batches, malformed JSON,
//! items of another type) is still an operation: [`Engine::record_refused_import`] stores one
//! that failed, with the refusals as its errors, which is where the uploader looks.

use std::time::Duration;

use jsonapi_store::{Condition, Item, Store, StoreError, Write};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::layout;
use super::operation::{Counts, Record, Status, expires_at};
use super::reads::now_ms;
use super::worker::ErrorPlace;
use crate::engine::Engine;
use crate::error::{ApiErrors, ApiResult};
use crate::values;

/// The S3 keys that are imports: `imports/{type}/...` (the template's bucket notifies the
/// `import` function of objects created below it).
pub const IMPORTS_PREFIX: &str = "imports/";

/// What became of a delivery's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// This delivery imports the object.
    Claimed(Claim),
    /// An earlier delivery imported it as this operation.
    Imported(u64),
    /// An earlier delivery is importing it now (its lease is not over).
    Busy,
}

/// A held claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    digest: String,
    /// The epoch second the lease ends, which the claim's later writes are conditioned on.
    until: i64,
}

impl<S: Store> Engine<S> {
    /// Claims the import of the upload `names` identify (bucket, key, version or ETag,
    /// sequencer), for `lease`.
    ///
    /// # Errors
    /// The store failed.
    pub async fn claim_delivery(&self, names: &[&str], lease: Duration) -> ApiResult<Delivery> {
        let mut hash = Sha256::new();
        for name in names {
            // Lengths first: no two lists of names hash the same text.
            hash.update((name.len() as u64).to_be_bytes());
            hash.update(name.as_bytes());
        }
        let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let now = now_ms() / 1000;
        let claim = Claim {
            digest,
            until: now + i64::try_from(lease.as_secs()).unwrap_or(i64::MAX / 2),
        };
        match self.put_claim(&claim, None, Condition::Absent).await {
            Ok(()) => return Ok(Delivery::Claimed(claim)),
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let key = layout::delivery_key(&claim.digest);
        let Some(held) = self.store.get(&key).await? else {
            // Given up meanwhile: this delivery is the retry.
            return self.take_over(claim, Condition::Absent).await;
        };
        if let Some(op) = held.attrs.get("operation").and_then(Value::as_u64) {
            return Ok(Delivery::Imported(op));
        }
        match held.attrs.get("until").and_then(Value::as_i64) {
            Some(until) if until > now => Ok(Delivery::Busy),
            until => {
                let condition = Condition::Equals {
                    name: "until".into(),
                    value: until.map_or(Value::Null, Value::from),
                };
                self.take_over(claim, condition).await
            }
        }
    }

    /// Extends a held claim by `lease` from now, so that a long import keeps it while a dead
    /// one loses it within a lease.
    ///
    /// # Errors
    /// The claim was taken over (its lease lapsed), or the store failed.
    pub async fn renew_delivery(&self, claim: &mut Claim, lease: Duration) -> ApiResult<()> {
        let renewed = Claim {
            digest: claim.digest.clone(),
            until: now_ms() / 1000 + i64::try_from(lease.as_secs()).unwrap_or(i64::MAX / 2),
        };
        self.put_claim(&renewed, None, held_by(claim)).await?;
        *claim = renewed;
        Ok(())
    }

    /// Records that the claimed upload became operation `op`.
    ///
    /// # Errors
    /// The store failed, or the claim was taken over (its lease ended first).
    pub async fn settle_delivery(&self, claim: &Claim, op: u64) -> ApiResult<()> {
        Ok(self.put_claim(claim, Some(op), held_by(claim)).await?)
    }

    /// Gives a claim up, so that the next delivery imports the upload.
    ///
    /// # Errors
    /// The store failed (the claim then lapses with its lease).
    pub async fn release_delivery(&self, claim: &Claim) -> ApiResult<()> {
        let delete = Write::Delete {
            key: layout::delivery_key(&claim.digest),
            condition: Some(held_by(claim)),
        };
        match self.store.transact(vec![delete]).await {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores an import refused before anything was written as an operation of `type_name`
    /// that failed, owned by `owner`, with `errors` as its errors (their pointers point into
    /// the file); its id.
    ///
    /// # Errors
    /// The store failed.
    pub async fn record_refused_import(
        &self,
        type_name: &str,
        owner: Option<String>,
        errors: &ApiErrors,
    ) -> ApiResult<u64> {
        let id = self.store.allocate(&layout::sequence_key(), 1).await?;
        let now = time::OffsetDateTime::now_utc();
        let expires_at = expires_at(&self.schema, now);
        let stamp = values::format_datetime(now);
        // Errors first: the record is what makes the operation visible.
        let place = ErrorPlace {
            op: id,
            chunk: 0,
            unit: 0,
            before: 0,
            expires_at,
        };
        self.store_errors(&place, errors).await?;
        let at = now_ms();
        let record = Record {
            id,
            status: Status::Failed,
            entity_type: type_name.to_owned(),
            owner,
            created_at: stamp.clone(),
            updated_at: stamp,
            started_ms: Some(at),
            finished_ms: Some(at),
            chunks: 0,
            done_chunks: 0,
            given_up: 0,
            counts: Counts {
                error: errors.0.len() as u64,
                ..Counts::default()
            },
            expires_at,
        };
        let put = Write::Put {
            item: record.to_item(),
            condition: Some(Condition::Absent),
        };
        self.store.transact(vec![put]).await?;
        Ok(id)
    }

    async fn take_over(&self, claim: Claim, condition: Condition) -> ApiResult<Delivery> {
        match self.put_claim(&claim, None, condition).await {
            Ok(()) => Ok(Delivery::Claimed(claim)),
            // Another delivery took it over first.
            Err(StoreError::ConditionFailed { .. }) => Ok(Delivery::Busy),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_claim(
        &self,
        claim: &Claim,
        op: Option<u64>,
        condition: Condition,
    ) -> Result<(), StoreError> {
        let mut attrs = Map::new();
        attrs.insert("until".into(), claim.until.into());
        if let Some(op) = op {
            attrs.insert("operation".into(), op.into());
        }
        // Kept as long as the operation it names.
        let expires_at = expires_at(&self.schema, time::OffsetDateTime::now_utc());
        attrs.insert(layout::EXPIRES_AT.into(), expires_at.into());
        let put = Write::Put {
            item: Item {
                key: layout::delivery_key(&claim.digest),
                attrs,
            },
            condition: Some(condition),
        };
        self.store.transact(vec![put]).await
    }
}

/// The condition that the claim is still this delivery's.
fn held_by(claim: &Claim) -> Condition {
    Condition::Equals {
        name: "until".into(),
        value: claim.until.into(),
    }
}
