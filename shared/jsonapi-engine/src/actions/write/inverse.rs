//! Inverse relationships: a to-many relationship kept as the related type's to-one, written
//! by rewriting that to-one on the members that join or leave, in the same transaction.

use jsonapi_config::ResourceType;
use jsonapi_store::Store;

use super::{InverseWrite, MemberOp};
use crate::commit::CommitError;
use crate::engine::Engine;
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::extension::ChangeSet;
use crate::resource::Resource;

impl<S: Store> Engine<S> {
    /// Rewrites the to-one side of inverse relationships of `id`: the members named join or
    /// leave, or (replace) become exactly its members. Only the members that change are
    /// written, each under its own version; a replace reads the current members, after the
    /// membership stamp that makes the transaction fail if one joins meanwhile. `known` are
    /// resources this attempt has read already (they are not read again).
    pub(crate) async fn stage_inverse(
        &self,
        ty: &ResourceType,
        id: &str,
        writes: &[InverseWrite],
        changes: &mut ChangeSet,
        creating: bool,
        known: &[Resource],
    ) -> Result<(), CommitError> {
        for w in writes {
            let target = &w.target;
            let (joining, leaving) = match w.op {
                MemberOp::Add => (w.ids.clone(), Vec::new()),
                MemberOp::Remove => (Vec::new(), w.ids.clone()),
                // A resource this request creates has no members yet: nothing can point at a
                // resource before it exists.
                MemberOp::Replace if creating => (w.ids.clone(), Vec::new()),
                MemberOp::Replace => {
                    self.read_members(&ty.name, id, changes).await?;
                    let current = self
                        .inverse_ids(ty, id, target, &w.field, 0, self.schema.api.max_related)
                        .await?
                        .0;
                    let leaving = current.iter().filter(|c| !w.ids.contains(c)).cloned();
                    (w.ids.clone(), leaving.collect())
                }
            };
            let leaving: Vec<Resource> = self
                .staged_or_loaded(target, &leaving, changes, known)
                .await?
                .into_iter()
                .filter(|r| r.related(&w.field) == Some(id))
                .collect();
            let required = target
                .relationships
                .get(&w.field)
                .is_some_and(|r| r.required);
            if required && !leaving.is_empty() {
                return Err(ApiErrors(cannot_leave(w, &leaving)).into());
            }
            for r in leaving {
                changes.edit(r, |r| {
                    r.to_one.insert(w.field.clone(), None);
                });
            }
            for r in self
                .staged_or_loaded(target, &joining, changes, known)
                .await?
            {
                if r.related(&w.field) != Some(id) {
                    changes.edit(r, |r| {
                        r.to_one.insert(w.field.clone(), Some(id.to_owned()));
                    });
                }
            }
        }
        Ok(())
    }

    /// Resources as the change set will leave them: staged ones from the set, others from
    /// `known` (read by this attempt already) or loaded.
    pub(crate) async fn staged_or_loaded(
        &self,
        ty: &ResourceType,
        ids: &[String],
        changes: &ChangeSet,
        known: &[Resource],
    ) -> ApiResult<Vec<Resource>> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for id in ids {
            match changes.staged(&ty.name, id) {
                Some(Some(r)) => out.push(r.clone()),
                Some(None) => {}
                None => match known.iter().find(|r| r.ty == ty.name && r.id == *id) {
                    Some(r) => out.push(r.clone()),
                    None => missing.push(id.clone()),
                },
            }
        }
        out.extend(self.load_many(ty, &missing).await?);
        Ok(out)
    }
}

/// The refusal of members that cannot leave: their to-one is required. A removal points at
/// each identifier named; a replacement at the linkage, which left them out.
fn cannot_leave(w: &InverseWrite, leaving: &[Resource]) -> Vec<ApiError> {
    let refuse = |ids: &str, pointer: &str| {
        ApiError::new(
            ErrorKind::Form,
            format!(
                "\"{}\" {ids} cannot leave this relationship because its \"{}\" is required; move it to another resource or delete it instead.",
                w.target.name, w.field
            ),
        )
        .at(pointer)
    };
    if w.op == MemberOp::Remove {
        return leaving
            .iter()
            .map(|r| {
                let at = w.ids.iter().position(|i| *i == r.id);
                refuse(&r.id, at.map_or(&w.pointer, |n| &w.pointers[n]))
            })
            .collect();
    }
    let ids: Vec<&str> = leaving.iter().map(|r| r.id.as_str()).collect();
    vec![refuse(&ids.join(", "), &w.pointer)]
}
