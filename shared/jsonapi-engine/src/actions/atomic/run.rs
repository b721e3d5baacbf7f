//! Running checked operations: each staged in order into one change set, seeing what the
//! earlier ones staged, then one commit.

use std::collections::HashMap;
use std::sync::Arc;

use jsonapi_config::{IdStrategy, Operation, Relationship, ResourceType};
use jsonapi_store::Store;

use super::{AtomicOp, Done, Op};
use crate::actions::write::{Locals, local_key};
use crate::commit::CommitError;
use crate::document::{Identifier, ResourceObject};
use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::extension::ChangeSet;
use crate::resource::Resource;

/// What the operations staged so far leave.
#[derive(Default)]
struct Staging<'o> {
    changes: ChangeSet,
    locals: Locals,
    /// Per operation, the resource its result shows.
    shown: Vec<Option<(Arc<ResourceType>, String)>>,
    /// Which operation made each resource, to point at it when the store refuses it.
    made_by: HashMap<(String, String), &'o str>,
}

impl<S: Store> Engine<S> {
    /// One attempt: stages every operation in order, then commits them in one transaction.
    pub(super) async fn run_operations(
        &self,
        ctx: &Ctx,
        ops: &[AtomicOp],
    ) -> Result<Done, CommitError> {
        let mut staging = Staging::default();
        for op in ops {
            self.stage_operation(ctx, op, &mut staging).await?;
        }
        let Staging {
            changes,
            shown,
            made_by,
            ..
        } = staging;
        self.check_required(&changes, &made_by)?;
        let staged = match self.commit(Operation::Create, changes).await {
            Ok(staged) => staged,
            Err(CommitError::Exists { ty, id, .. }) => {
                let at = made_by.get(&(ty, id)).copied().unwrap_or("");
                return Err(ApiErrors::from(ApiError::exists(&format!("{at}/data"))).into());
            }
            Err(CommitError::Unique { ty, id, field, .. }) => {
                let at = made_by.get(&(ty, id)).copied().unwrap_or("");
                let resource = format!("{at}/data");
                return Err(ApiErrors::from(ApiError::value_used(&resource, &field)).into());
            }
            Err(e) => return Err(e),
        };
        Ok(Done { staged, shown })
    }

    /// Stages one operation on top of the earlier ones.
    async fn stage_operation<'o>(
        &self,
        ctx: &Ctx,
        op: &'o AtomicOp,
        staging: &mut Staging<'o>,
    ) -> Result<(), CommitError> {
        let ty = &op.ty;
        let id = match (&op.id, op.op, &op.relationship) {
            (Some(ident), Op::Add, None) if !ident.local => None,
            (Some(ident), _, _) => Some(resolve_local(ident, &staging.locals)?),
            (None, _, _) => None,
        };
        match (op.op, &op.relationship, id) {
            (Op::Add, None, _) => {
                let object = op
                    .object
                    .as_ref()
                    .expect("an add carries a resource object");
                let new_id = self.new_id(ty, object, &op.pointer).await?;
                if let Some(lid) = &object.lid {
                    let key = local_key(&ty.name, lid, true);
                    staging.locals.insert(key, new_id.clone());
                }
                let base = self.new_resource(ty, &new_id);
                self.stage_object(ctx, op, base, (&new_id, true), staging)
                    .await?;
                staging
                    .made_by
                    .insert((ty.name.clone(), new_id.clone()), &op.pointer);
                staging.shown.push(Some((Arc::clone(ty), new_id)));
            }
            (Op::Update, None, Some(id)) => {
                let current = self.current(ty, &id, op, &staging.changes).await?;
                let creating = matches!(staging.changes.original(&ty.name, &id), Some(None));
                self.stage_object(ctx, op, current, (&id, creating), staging)
                    .await?;
                staging
                    .made_by
                    .entry((ty.name.clone(), id.clone()))
                    .or_insert(&op.pointer);
                staging.shown.push(Some((Arc::clone(ty), id)));
            }
            (Op::Remove, None, Some(id)) => {
                let current = self.current(ty, &id, op, &staging.changes).await?;
                let mut after = staging.changes.clone();
                self.stage_delete(current, &mut after).await?;
                // What the delete rules change beyond the resource removed (cascade,
                // nullify) needs permissions of its own.
                ctx.access
                    .check_delete_rules(&effects(&staging.changes, &after, ty, &id))?;
                staging.changes = after;
                staging.shown.push(None);
            }
            (_, Some((rel, idents)), Some(id)) => {
                let current = self.current(ty, &id, op, &staging.changes).await?;
                self.stage_linkage(op, current, (rel, idents), staging)
                    .await?;
                staging.shown.push(None);
            }
            (_, _, None) => unreachable!(
                "the parse gives every update, remove and relationship operation its resource"
            ),
        }
        Ok(())
    }

    /// Stages a relationship operation on `current`, its lids resolved.
    async fn stage_linkage(
        &self,
        op: &AtomicOp,
        current: Resource,
        (rel, idents): (&Relationship, &[Identifier]),
        staging: &mut Staging<'_>,
    ) -> Result<(), CommitError> {
        let idents = idents
            .iter()
            .map(|i| {
                Ok(Identifier {
                    id: resolve_local(i, &staging.locals)?,
                    local: false,
                    ..i.clone()
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let pointer = format!("{}/data", op.pointer);
        self.stage_relationship(
            current,
            (&op.ty, rel),
            op.action(),
            &idents,
            &pointer,
            &mut staging.changes,
        )
        .await
    }

    /// Applies an add's or update's resource object to `base` and stages it with the inverse
    /// linkage it changes (`creating`: the resource is new in this request).
    async fn stage_object(
        &self,
        ctx: &Ctx,
        op: &AtomicOp,
        base: Resource,
        (id, creating): (&str, bool),
        staging: &mut Staging<'_>,
    ) -> Result<(), CommitError> {
        let object = op
            .object
            .as_ref()
            .expect("an add or update carries a resource object");
        let before = (op.op == Op::Update).then(|| base.clone());
        let applied = self
            .apply(ctx, &op.ty, base, object, op.op == Op::Add, &staging.locals)
            .await?;
        staging.changes.put(before, applied.resource);
        self.stage_inverse(
            &op.ty,
            id,
            &applied.inverse,
            &mut staging.changes,
            creating,
            &applied.linked,
        )
        .await
    }

    /// Every resource the request creates has its required relationships.
    fn check_required(
        &self,
        changes: &ChangeSet,
        made_by: &HashMap<(String, String), &str>,
    ) -> ApiResult<()> {
        let mut errors = Vec::new();
        for change in changes.changes().filter(|c| c.before.is_none()) {
            let Some(r) = &change.after else { continue };
            let ty = r.ty.declaration();
            let at = made_by
                .get(&(r.ty.to_string(), r.id.clone()))
                .copied()
                .unwrap_or("");
            for rel in ty
                .relationships
                .values()
                .filter(|rel| rel.required && r.related(&rel.name).is_none())
            {
                errors.push(
                    crate::values::not_blank()
                        .at(format!("{at}/data/relationships/{}/data", rel.name)),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiErrors(errors))
        }
    }

    /// The resource an operation changes, as the earlier operations left it.
    async fn current(
        &self,
        ty: &Arc<ResourceType>,
        id: &str,
        op: &AtomicOp,
        changes: &ChangeSet,
    ) -> ApiResult<Resource> {
        let at = op
            .id
            .as_ref()
            .map_or(op.pointer.clone(), |i| i.pointer.clone());
        match changes.staged(&ty.name, id) {
            Some(Some(r)) => Ok(r.clone()),
            Some(None) => Err(ApiError::not_found().at(at).into()),
            None => {
                check_id(ty, id).map_err(|e| e.at(format!("{at}/id")))?;
                Ok(self
                    .load(ty, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found().at(at))?)
            }
        }
    }

    /// The id of a resource an `add` creates: the client's (types with client ids), else the
    /// server's (a sequence id is taken now; one unused when the request fails is a gap).
    async fn new_id(
        &self,
        ty: &ResourceType,
        object: &ResourceObject,
        pointer: &str,
    ) -> ApiResult<String> {
        let id_at = format!("{pointer}/data/id");
        match (ty.id, &object.id) {
            (IdStrategy::Client, Some(id)) => {
                check_id(ty, id).map_err(|e| e.at(id_at))?;
                Ok(id.clone())
            }
            (IdStrategy::Client, None) => Err(ApiError::new(
                ErrorKind::EntityIdentifier,
                "The identifier is mandatory.",
            )
            .at(id_at)
            .into()),
            (_, Some(_)) => Err(ApiError::new(
                ErrorKind::AccessDenied,
                format!("The server generates the ids of \"{}\"; remove \"id\" from the operation (a \"lid\" can name it).", ty.name),
            )
            .at(id_at)
            .into()),
            (IdStrategy::Sequence, None) => Ok(self.next_sequence(&ty.name).await?.to_string()),
            (IdStrategy::Ulid, None) => Ok(ulid::Ulid::new().to_string()),
        }
    }
}

/// The changes `after` stages beyond `before`, but that of the resource `(ty, id)` itself.
fn effects(before: &ChangeSet, after: &ChangeSet, ty: &ResourceType, id: &str) -> ChangeSet {
    let mut out = ChangeSet::default();
    for change in after.changes() {
        let Some(r) = change.after.as_ref().or(change.before.as_ref()) else {
            continue;
        };
        if (r.ty == ty.name && r.id == id)
            || before.staged(&r.ty, &r.id) == Some(change.after.as_ref())
        {
            continue;
        }
        match (&change.before, &change.after) {
            (_, Some(a)) => out.put(change.before.clone(), a.clone()),
            (Some(b), None) => out.delete(b.clone()),
            (None, None) => {}
        }
    }
    out
}

/// The id an identifier names: its own, or the one an earlier operation gave its lid.
fn resolve_local(ident: &Identifier, locals: &Locals) -> Result<String, ApiError> {
    if !ident.local {
        return Ok(ident.id.clone());
    }
    locals
        .get(&local_key(&ident.ty, &ident.id, true))
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::RequestData,
                format!(
                    "The lid \"{}\" does not name a resource an earlier operation adds.",
                    ident.id
                ),
            )
            .at(format!("{}/lid", ident.pointer))
        })
}
