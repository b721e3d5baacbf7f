//! Writing a change set: extensions at `pre_flush_data`, timestamps and versions, the
//! store's limits, one conditional transaction (or a dry run), conflicts mapped back to what
//! the client did, and bounded retries; sequence ids reserved in blocks.

use http::StatusCode;
use jsonapi_config::Action;
use jsonapi_store::{Store, StoreError, limits};

use crate::engine::Engine;
use crate::error::{ApiError, ApiErrors, ApiResult, title};
use crate::extension::{ChangeSet, FlushContext};
use crate::resource::{self, Origin};
use crate::values;

/// How often a write is re-run from fresh reads when a concurrent write changed a resource it
/// read (an optimistic-concurrency conflict) before the client gets a 409.
const WRITE_ATTEMPTS: u32 = 10;

/// How many sequence ids one store round trip reserves.
const SEQUENCE_BLOCK: u64 = 16;

impl<S: Store> Engine<S> {
    /// The next id of a sequence. Ids are reserved from the store in blocks, so most creates
    /// cost no extra round trip; ids a process reserved but did not use are skipped (gaps, as
    /// database sequences have), never handed out twice.
    pub(crate) async fn next_sequence(&self, ty: &str) -> ApiResult<u64> {
        // Held across the reservation, so concurrent creates share one block instead of each
        // reserving (and wasting) their own.
        let mut seqs = self.sequences.lock().await;
        if let Some(slot) = seqs.get_mut(ty)
            && slot.0 < slot.1
        {
            slot.0 += 1;
            return Ok(slot.0 - 1);
        }
        let first = self
            .store
            .allocate(&resource::sequence_key(ty), SEQUENCE_BLOCK)
            .await?;
        seqs.insert(ty.to_owned(), (first + 1, first + SEQUENCE_BLOCK));
        Ok(first)
    }

    /// How many store writes a change set needs (before extensions add theirs).
    pub(crate) fn count_writes(&self, changes: &ChangeSet) -> usize {
        changes
            .changes()
            .map(|c| resource::writes_for(&self.schema, c.before.as_ref(), c.after.as_ref()).len())
            .sum()
    }

    /// Runs the extensions and writes a change set in one transaction. Timestamps and versions
    /// are set here, so every staged change gets them.
    pub(crate) async fn commit(
        &self,
        action: Action,
        changes: ChangeSet,
    ) -> Result<ChangeSet, CommitError> {
        self.commit_as(action, changes, false).await
    }

    /// As [`Self::commit`]; a `dry_run` (`meta.validate`) checks every condition by reading
    /// instead of writing, so it reports what the write would, and changes nothing.
    pub(crate) async fn commit_as(
        &self,
        action: Action,
        mut changes: ChangeSet,
        dry_run: bool,
    ) -> Result<ChangeSet, CommitError> {
        for ext in &self.extensions {
            let mut ctx = FlushContext::new(action, &mut changes, self);
            ext.pre_flush(&mut ctx)
                .await
                .map_err(CommitError::Rejected)?;
        }
        let now = values::format_datetime(time::OffsetDateTime::now_utc());
        let mut staged = ChangeSet::default();
        let mut writes = Vec::new();
        let mut origins = Vec::new();
        for change in changes.into_changes() {
            let after = change.after.map(|mut a| {
                if change.before.as_ref() != Some(&a) {
                    a.version = change.before.as_ref().map_or(1, |b| b.version + 1);
                    let ty = self.schema.resource_type(&a.ty).expect("known type");
                    for attr in ty.attributes.values() {
                        use jsonapi_config::Timestamp;
                        match attr.timestamp {
                            Some(Timestamp::Updated) => {
                                a.attributes.insert(attr.name.clone(), now.clone().into());
                            }
                            Some(Timestamp::Created) if change.before.is_none() => {
                                a.attributes.insert(attr.name.clone(), now.clone().into());
                            }
                            _ => {}
                        }
                    }
                }
                a
            });
            if change.before.is_some() && change.before == after {
                continue;
            }
            for (w, o) in resource::writes_for(&self.schema, change.before.as_ref(), after.as_ref())
            {
                writes.push(w);
                origins.push(o);
            }
            match after {
                Some(a) => staged.put(change.before, a),
                None => staged.delete(change.before.expect("a deletion has a before")),
            }
        }
        limits::check_transaction(&writes)
            .map_err(|e| CommitError::Rejected(ApiError::from(StoreError::from(e)).into()))?;
        if writes.is_empty() {
            return Ok(staged);
        }
        let outcome = if dry_run {
            self.check_conditions(&writes).await
        } else {
            self.store.transact(writes).await
        };
        match outcome {
            Ok(()) if dry_run => Ok(staged),
            Ok(()) => {
                for ext in &self.extensions {
                    ext.post_save(action, &staged);
                }
                Ok(staged)
            }
            Err(StoreError::ConditionFailed { index }) => Err(match origins.swap_remove(index) {
                Origin::Resource { created: true, .. } => CommitError::Exists,
                Origin::Unique { ty, id, field } => CommitError::Unique { ty, id, field },
                Origin::Resource { .. } | Origin::Derived => CommitError::Stale,
            }),
            Err(StoreError::Conflict) => Err(CommitError::Stale),
            Err(e) => Err(CommitError::Rejected(e.into())),
        }
    }

    /// The first condition of a transaction that does not hold now, as the store would report
    /// it (one read per condition).
    async fn check_conditions(&self, writes: &[jsonapi_store::Write]) -> Result<(), StoreError> {
        for (index, write) in writes.iter().enumerate() {
            if let Some(condition) = write.condition() {
                let current = self.store.get(write.key()).await?;
                if !condition.holds(current.as_ref().map(|i| &i.attrs)) {
                    return Err(StoreError::ConditionFailed { index });
                }
            }
        }
        Ok(())
    }

    /// The id the next `n`-th new resource of a sequence would get, without reserving it.
    pub(crate) async fn peek_sequence(&self, ty: &str) -> ApiResult<u64> {
        if let Some((next, end)) = self.sequences.lock().await.get(ty)
            && next < end
        {
            return Ok(*next);
        }
        let item = self.store.get(&resource::sequence_key(ty)).await?;
        Ok(item
            .and_then(|i| i.attrs.get("next").and_then(serde_json::Value::as_u64))
            .unwrap_or(1))
    }

    /// Runs a write until it commits without a concurrency conflict (bounded).
    pub(crate) async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> ApiResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CommitError>>,
    {
        for n in 0..WRITE_ATTEMPTS {
            match attempt().await {
                Err(CommitError::Stale) => {
                    // Writers that collided back off for a random while, growing with each
                    // attempt, so they do not collide again in lockstep.
                    let ceiling = 1_u64 << n.min(6);
                    let jitter = u64::from(ulid::Ulid::new().random() as u16) % (ceiling * 1000);
                    tokio::time::sleep(std::time::Duration::from_micros(jitter)).await;
                }
                Err(CommitError::Rejected(e)) => return Err(e),
                Err(CommitError::Exists) => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        title::CONFLICT,
                        "The entity already exists.",
                    )
                    .at("/data/id")
                    .into());
                }
                Err(CommitError::Unique { field, .. }) => {
                    return Err(ApiError::bad_request(
                        "unique entity constraint",
                        "This value is already used.",
                    )
                    .at(format!("/data/attributes/{field}"))
                    .into());
                }
                Ok(v) => return Ok(v),
            }
        }
        Err(ApiError::new(
            StatusCode::CONFLICT,
            title::CONFLICT,
            "The resource was changed by other requests while this one was applied; retry the request.",
        )
        .into())
    }
}

/// Why a change set was not written.
#[derive(Debug)]
pub(crate) enum CommitError {
    /// A resource read by the request changed meanwhile; re-run it.
    Stale,
    /// A resource to be created exists already.
    Exists,
    /// A unique value is taken.
    Unique {
        ty: String,
        id: String,
        field: String,
    },
    /// Refused (by an extension, a limit or the store).
    Rejected(ApiErrors),
}

impl From<ApiErrors> for CommitError {
    fn from(e: ApiErrors) -> Self {
        Self::Rejected(e)
    }
}

impl CommitError {
    /// The errors of a refusal made before anything was written (staging, not committing).
    pub(crate) fn into_errors(self) -> ApiErrors {
        match self {
            Self::Rejected(e) => e,
            Self::Stale | Self::Exists | Self::Unique { .. } => {
                ApiError::internal(&"a staging step reported a commit conflict").into()
            }
        }
    }
}

impl From<ApiError> for CommitError {
    fn from(e: ApiError) -> Self {
        Self::Rejected(e.into())
    }
}
