//! Deletions: one resource (`DELETE /api/{type}/{id}`), a filtered list in batches
//! (`DELETE /api/{type}`), and the delete rules of the relationships that point at a deleted
//! resource (restrict, nullify, cascade).

use std::sync::Arc;

use http::StatusCode;
use http::header::HeaderValue;
use jsonapi_config::{OnDelete, Operation, RelationshipStorage, ResourceType};
use jsonapi_store::{RangeQuery, Store};

use crate::commit::CommitError;
use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::extension::ChangeSet;
use crate::query::{self, Accepts};
use crate::request::ApiResponse;
use crate::resource::{self, Resource};

/// Writes per delete_list transaction, below the store's limit to leave room for what
/// extensions add at `pre_flush_data`.
const BATCH_WRITES: usize = 80;

impl<S: Store> Engine<S> {
    pub(crate) async fn delete(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        id: &str,
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        let accepts = Accepts::of(Operation::Delete, false);
        query::parse(&self.schema, ty, ctx.query.clone(), accepts)?;
        self.with_retries(Some(resource::resource_key(&ty.name, id)), async || {
            let before = self.load(ty, id).await?.ok_or_else(ApiError::not_found)?;
            // The deletion is conditioned on the version checked here.
            ctx.preconditions.check_write(ty, Some(&before))?;
            let mut changes = ChangeSet::default();
            self.stage_delete(before, &mut changes).await?;
            ctx.access.check_delete_rules(&changes)?;
            self.commit(Operation::Delete, changes).await?;
            Ok(())
        })
        .await?;
        Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
    }

    /// `DELETE /api/{type}`: deletes what the filters select, at most `maxDelete` per call, in
    /// one transaction per batch (as many deletions as the store's transaction limit holds).
    pub(crate) async fn delete_list(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
    ) -> ApiResult<ApiResponse> {
        let accepts = Accepts::of(Operation::DeleteList, false);
        let q = query::parse(&self.schema, ty, ctx.query.clone(), accepts)?;
        ctx.access.check_filter_paths(&q.filters)?;
        let (selected, total) = self
            .select_for_delete(ty, &q, self.schema.api.max_delete, ctx.total_count)
            .await?;
        let mut batches: Vec<Vec<String>> = Vec::new();
        let mut staged = ChangeSet::default();
        for r in selected {
            let id = r.id.clone();
            let mut candidate = staged.clone();
            self.stage_delete(r, &mut candidate)
                .await
                .map_err(|e| e.into_errors())?;
            let fits = self.count_writes(&candidate) <= BATCH_WRITES;
            match batches.last_mut() {
                Some(batch) if fits => {
                    batch.push(id);
                    staged = candidate;
                }
                _ => {
                    batches.push(vec![id.clone()]);
                    staged = ChangeSet::default();
                    let r = self.load(ty, &id).await?.ok_or_else(ApiError::not_found)?;
                    self.stage_delete(r, &mut staged)
                        .await
                        .map_err(|e| e.into_errors())?;
                }
            }
        }
        let mut deleted = 0;
        for batch in batches {
            deleted += self
                .with_retries(None, async || {
                    let mut changes = ChangeSet::default();
                    let mut n = 0;
                    for r in self.load_many(ty, &batch).await? {
                        self.stage_delete(r, &mut changes).await?;
                        n += 1;
                    }
                    ctx.access.check_delete_rules(&changes)?;
                    self.commit(Operation::DeleteList, changes).await?;
                    Ok(n)
                })
                .await?;
        }
        let mut response = ApiResponse::empty(StatusCode::NO_CONTENT);
        if ctx.deleted_count {
            response
                .headers
                .insert("x-include-deleted-count", HeaderValue::from(deleted));
        }
        if let Some(total) = total {
            response
                .headers
                .insert("x-include-total-count", HeaderValue::from(total));
        }
        Ok(response)
    }

    /// Stages the deletion of a resource and what its relationships' delete rules require of
    /// the resources that point at it: refuse (restrict), clear the link (nullify), or delete
    /// them too (cascade, followed transitively).
    pub(crate) async fn stage_delete(
        &self,
        root: Resource,
        changes: &mut ChangeSet,
    ) -> Result<(), CommitError> {
        let mut pending = vec![root];
        while let Some(doomed) = pending.pop() {
            if matches!(changes.staged(&doomed.ty, &doomed.id), Some(None)) {
                continue;
            }
            let doomed_ty = doomed.ty.clone();
            // Who points at it is read from index ranges: the stamp first, so that the
            // transaction fails if anyone joins after these reads.
            self.read_members(&doomed.ty, &doomed.id, changes).await?;
            changes.delete(doomed.clone());
            for referrer in self.schema.types() {
                for rel in referrer.relationships.values() {
                    if rel.target != *doomed.ty || rel.storage != RelationshipStorage::Owned {
                        continue;
                    }
                    let referring = self
                        .referring(
                            referrer,
                            &rel.name,
                            doomed_ty.declaration(),
                            &doomed.id,
                            changes,
                        )
                        .await?;
                    if referring.is_empty() {
                        continue;
                    }
                    if rel.many {
                        for r in referring {
                            changes.edit(r, |r| {
                                if let Some(ids) = r.to_many.get_mut(&rel.name) {
                                    ids.retain(|i| *i != doomed.id);
                                }
                            });
                        }
                        continue;
                    }
                    match rel.on_delete {
                        OnDelete::Restrict => {
                            return Err(ApiErrors::from(restricted(
                                referrer, &rel.name, &referring,
                            ))
                            .into());
                        }
                        OnDelete::Nullify => {
                            for r in referring {
                                changes.edit(r, |r| {
                                    r.to_one.insert(rel.name.clone(), None);
                                });
                            }
                        }
                        OnDelete::Cascade => pending.extend(referring),
                    }
                }
            }
        }
        Ok(())
    }

    /// The resources of `referrer` whose relationship `rel` links to the doomed resource, as
    /// the change set leaves them, read from the relationship's index range.
    async fn referring(
        &self,
        referrer: &ResourceType,
        rel: &str,
        doomed_ty: &ResourceType,
        doomed_id: &str,
        changes: &ChangeSet,
    ) -> ApiResult<Vec<Resource>> {
        let query = RangeQuery::prefix(
            resource::index_pk(&referrer.name, rel),
            &resource::linkage_prefix(doomed_ty, doomed_id),
            1,
        );
        let max = self.schema.api.max_delete;
        let (ids, _) = self.range_ids(query, referrer.shards, 0, max).await?;
        let found = self.staged_or_loaded(referrer, &ids, changes, &[]).await?;
        Ok(found
            .into_iter()
            .filter(|r| {
                r.related(rel) == Some(doomed_id)
                    || r.to_many
                        .get(rel)
                        .is_some_and(|ids| ids.iter().any(|i| i == doomed_id))
            })
            .collect())
    }
}

/// The refusal of a deletion that resources still refer to through a restricting relationship.
fn restricted(referrer: &ResourceType, rel: &str, referring: &[Resource]) -> ApiError {
    let ids: Vec<&str> = referring.iter().map(|r| r.id.as_str()).collect();
    ApiError::new(
        ErrorKind::Conflict,
        format!(
            "The entity cannot be deleted: \"{}\" {} refer to it through the required relationship \"{rel}\"; delete or move them first.",
            referrer.name,
            ids.join(", "),
        ),
    )
}
