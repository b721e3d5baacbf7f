//! One attempt at a compound write, in its phases: find what each resource object updates,
//! check permissions, apply the objects under provisional ids, allocate the real ids, stage
//! every change (inverse linkage included) and commit them as one transaction. A concurrency
//! conflict re-runs the attempt from fresh reads.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use jsonapi_auth::Permission;
use jsonapi_config::{IdStrategy, Operation, ResourceType};
use jsonapi_store::Store;

use super::super::write::{Applied, Locals, local_key};
use super::{MetaOp, Node, UnitRecord, Written, node_of, unlinked};
use crate::auth::access::{Access, access_denied};
use crate::commit::CommitError;
use crate::commit::Steps;
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiErrors, ApiResult};
use crate::extension::ChangeSet;
use crate::resource::Resource;
use crate::values;

/// Fails the attempt with every problem found so far, if any.
fn refuse(errors: &mut Vec<ApiError>) -> Result<(), CommitError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiErrors(std::mem::take(errors)).into())
    }
}

/// A placeholder id for a resource the request creates, until its real id is allocated;
/// no real id can contain a NUL.
fn placeholder(node: usize) -> String {
    format!("\u{0}{node}")
}

/// The change set of the applied nodes under their real ids (the inverse writes' members
/// renamed too, for staging next).
fn renamed_changes(
    applied: &mut [Applied],
    befores: &[Option<Resource>],
    real: &HashMap<String, String>,
) -> ChangeSet {
    let mut changes = ChangeSet::default();
    for (a, before) in applied.iter_mut().zip(befores) {
        rename(&mut a.resource, real);
        for w in &mut a.inverse {
            for id in &mut w.ids {
                if let Some(r) = real.get(id.as_str()) {
                    r.clone_into(id);
                }
            }
        }
        changes.put(before.clone(), a.resource.clone());
    }
    changes
}

fn rename(r: &mut Resource, ids: &HashMap<String, String>) {
    let swap = |id: &mut String| {
        if let Some(real) = ids.get(id.as_str()) {
            real.clone_into(id);
        }
    };
    swap(&mut r.id);
    r.to_one.values_mut().flatten().for_each(swap);
    r.to_many.values_mut().flatten().for_each(swap);
}

impl<S: Store> Engine<S> {
    /// One attempt at writing every node; re-run from fresh reads on a concurrency conflict.
    /// A batch's units come with their `record`; an atomic batch says how it is written in
    /// `steps` when it needs more than one transaction (and may be asked to stop).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_nodes(
        &self,
        ctx: &Ctx,
        nodes: &[Node<'_>],
        url_id: Option<&str>,
        action: Operation,
        validate: bool,
        record: Option<&UnitRecord<'_>>,
        steps: Option<&Steps>,
    ) -> Result<Written, CommitError> {
        // A write asked to stop before it read anything (a rerun after a conflict) stops.
        if let Some(steps) = steps.filter(|s| s.stop.asked()) {
            return Err(CommitError::Rejected(steps.stop.honour()));
        }
        let mut errors = Vec::new();
        // What each node is: an existing resource (update) or a new one (create).
        let (befores, unfound) = self.find_all_existing(nodes, url_id, &mut errors).await?;
        if !errors.is_empty() {
            // Every problem of the request at once, as the model checks each item: the
            // objects whose resource was found (or is new) are still checked.
            errors.extend(self.problems_of_found(ctx, nodes, &befores, &unfound).await);
            return Err(ApiErrors(errors).into());
        }
        // The primary resource of a PATCH is written under the version `If-Match` names.
        if url_id.is_some() {
            ctx.preconditions
                .check_write(&nodes[0].ty, befores[0].as_ref())?;
        }
        errors.extend(denied_nodes(&ctx.access, nodes, &befores));
        refuse(&mut errors)?;
        let (locals, mut ids) = provisional_ids(nodes, &befores);
        let mut applied = self
            .apply_nodes(ctx, nodes, &befores, &ids, &locals, &mut errors)
            .await;
        if nodes.iter().any(|n| !n.primary) {
            errors.extend(unlinked(nodes));
        }
        if !errors.is_empty() {
            // The transaction would report a taken unique value; a request refused for
            // other reasons reports it too, so that every problem comes back at once.
            errors.extend(self.taken_values(nodes, &befores).await?);
            return Err(ApiErrors(errors).into());
        }
        let real = self.allocate_ids(nodes, &mut ids, validate).await?;
        errors.extend(denied_inverse(&ctx.access, nodes, &applied));
        refuse(&mut errors)?;
        let mut changes = renamed_changes(&mut applied, &befores, &real);
        // Also when the PATCH changes nothing: the answer then still says that version holds.
        if url_id.is_some()
            && ctx.preconditions.has_if_match()
            && let Some(before) = &befores[0]
        {
            changes.guard(before);
        }
        for (n, node) in nodes.iter().enumerate() {
            let a = &applied[n];
            let created = befores[n].is_none();
            self.stage_inverse(
                &node.ty,
                &ids[n],
                &a.inverse,
                &mut changes,
                created,
                &a.linked,
            )
            .await?;
        }
        let created: Vec<bool> = befores.iter().map(Option::is_none).collect();
        if let Some(record) = record {
            for write in record(&created) {
                changes.record(write);
            }
        }
        errors.extend(self.missing_required(&changes, nodes, &ids));
        refuse(&mut errors)?;
        let staged = self
            .commit_nodes((action, validate, steps), changes, nodes, (&ids, &befores))
            .await?;
        Ok(Written {
            staged,
            ids,
            created,
        })
    }

    /// Each node applied to what it updates, or to a new resource with the type's defaults;
    /// the problems of all of them go to `errors`.
    async fn apply_nodes(
        &self,
        ctx: &Ctx,
        nodes: &[Node<'_>],
        befores: &[Option<Resource>],
        ids: &[String],
        locals: &Locals,
        errors: &mut Vec<ApiError>,
    ) -> Vec<Applied> {
        let mut applied = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let base = match &befores[n] {
                Some(b) => b.clone(),
                None => self.new_resource(&node.ty, &ids[n]),
            };
            let created = befores[n].is_none();
            match self
                .apply(ctx, &node.ty, base, node.object, created, locals)
                .await
            {
                Ok(a) => applied.push(a),
                Err(e) => errors.extend(e.0),
            }
        }
        applied
    }

    /// The problems of the nodes not marked `unfound`, as the write would find them, when
    /// others could not be looked up (nothing is written then): none when the caller may
    /// not write them (that refusal would come first).
    async fn problems_of_found(
        &self,
        ctx: &Ctx,
        nodes: &[Node<'_>],
        befores: &[Option<Resource>],
        unfound: &[bool],
    ) -> Vec<ApiError> {
        let (found, befores): (Vec<Node<'_>>, Vec<Option<Resource>>) = nodes
            .iter()
            .zip(befores)
            .zip(unfound)
            .filter(|(_, unfound)| !**unfound)
            .map(|((node, before), _)| (node.clone(), before.clone()))
            .unzip();
        if !denied_nodes(&ctx.access, &found, &befores).is_empty() {
            return Vec::new();
        }
        let (locals, ids) = provisional_ids(&found, &befores);
        let mut errors = Vec::new();
        self.apply_nodes(ctx, &found, &befores, &ids, &locals, &mut errors)
            .await;
        errors
    }

    /// A new resource of a type, with its defaults.
    pub(crate) fn new_resource(&self, ty: &Arc<ResourceType>, id: &str) -> Resource {
        let mut r = Resource::new(ty, id);
        for attr in ty.attributes.values() {
            if let Some(default) = &attr.default
                && let Ok(v) = values::accept(attr, default)
            {
                r.attributes.insert(attr.name.clone(), v);
            }
        }
        r
    }

    /// Real ids for the nodes still under a placeholder, written into `ids`; the answer maps
    /// each placeholder to its real id. A dry run only peeks at what the ids would be.
    async fn allocate_ids(
        &self,
        nodes: &[Node<'_>],
        ids: &mut [String],
        validate: bool,
    ) -> ApiResult<HashMap<String, String>> {
        let mut real: HashMap<String, String> = HashMap::new();
        let mut peeked: HashMap<String, u64> = HashMap::new();
        let mut reserved = self.reserve_sequences(nodes, ids, validate).await?;
        for (n, node) in nodes.iter().enumerate() {
            if ids[n] != placeholder(n) {
                continue;
            }
            let id = match node.ty.id {
                IdStrategy::Sequence if validate => {
                    let offset = peeked.entry(node.ty.name.clone()).or_default();
                    *offset += 1;
                    (self.peek_sequence(&node.ty.name).await? + *offset - 1).to_string()
                }
                IdStrategy::Sequence => reserved
                    .get_mut(node.ty.name.as_str())
                    .and_then(Iterator::next)
                    .ok_or_else(|| ApiError::internal(&"a sequence id was not reserved"))?
                    .to_string(),
                IdStrategy::Ulid | IdStrategy::Client => ulid::Ulid::new().to_string(),
            };
            real.insert(ids[n].clone(), id.clone());
            ids[n] = id;
        }
        Ok(real)
    }

    /// The sequence ids the nodes still under a placeholder need, reserved by type in one
    /// round trip each (none for a dry run, which only peeks).
    async fn reserve_sequences<'n>(
        &self,
        nodes: &'n [Node<'_>],
        ids: &[String],
        validate: bool,
    ) -> ApiResult<HashMap<&'n str, Range<u64>>> {
        let mut wanted: HashMap<&str, u64> = HashMap::new();
        for (n, node) in nodes.iter().enumerate() {
            if !validate && node.ty.id == IdStrategy::Sequence && ids[n] == placeholder(n) {
                *wanted.entry(node.ty.name.as_str()).or_default() += 1;
            }
        }
        let mut reserved = HashMap::new();
        for (ty, n) in wanted {
            reserved.insert(ty, self.next_sequences(ty, n).await?);
        }
        Ok(reserved)
    }

    /// Commits the change set; a unique value or an id taken meanwhile is reported at the node
    /// that sends it, or retried when it was a racing upsert by that value.
    async fn commit_nodes(
        &self,
        (action, validate, steps): (Operation, bool, Option<&Steps>),
        changes: ChangeSet,
        nodes: &[Node<'_>],
        (ids, befores): (&[String], &[Option<Resource>]),
    ) -> Result<ChangeSet, CommitError> {
        match self.commit_as(action, changes, validate, steps).await {
            Ok(staged) => Ok(staged),
            Err(CommitError::Exists { ty, id, key }) => {
                let node = node_of(nodes, ids, &ty, &id);
                // Two upserts by one id raced and the other created it: update it instead.
                if node.is_some_and(|n| n.meta == MetaOp::Upsert(None)) {
                    return Err(CommitError::Stale(Some(key)));
                }
                let pointer = node.map_or("/data", |n| n.object.pointer.as_str());
                Err(ApiErrors::from(ApiError::exists(pointer)).into())
            }
            Err(CommitError::Unique { ty, id, field, key }) => {
                let node = node_of(nodes, ids, &ty, &id);
                // Two upserts by this value raced and the other took it: update that one.
                if node.is_some_and(
                    |n| matches!(&n.meta, MetaOp::Upsert(Some(fields)) if fields.contains(&field)),
                ) {
                    return Err(CommitError::Stale(Some(key)));
                }
                let pointer = node.map_or("/data", |n| n.object.pointer.as_str());
                // Every value the request sends that is taken (a batch of a hundred items
                // sent twice hears of all hundred), and this one, which may be taken by
                // another item of the request itself.
                let clash = ApiError::value_used(pointer, &field);
                let mut errors = self.taken_values(nodes, befores).await?;
                if !errors.iter().any(|e| e.source == clash.source) {
                    errors.push(clash);
                }
                Err(ApiErrors(errors).into())
            }
            Err(e) => Err(e),
        }
    }
}

/// Each node needs what its own action would: included resources too, and an upsert needs
/// EDIT when it finds one and CREATE when it makes one.
fn denied_nodes(
    access: &Access,
    nodes: &[Node<'_>],
    befores: &[Option<Resource>],
) -> Vec<ApiError> {
    let mut errors = Vec::new();
    for (node, before) in nodes.iter().zip(befores) {
        let action = if before.is_some() {
            Operation::Update
        } else {
            Operation::Create
        };
        let needed = jsonapi_auth::permissions::required(action);
        if !needed.iter().all(|p| access.allows(&node.ty.name, *p)) {
            errors.push(access_denied().at(node.object.pointer.clone()));
        }
    }
    errors
}

/// Linkage kept on the other side changes resources of the related type: EDIT on it.
fn denied_inverse(access: &Access, nodes: &[Node<'_>], applied: &[Applied]) -> Vec<ApiError> {
    let mut errors = Vec::new();
    for (node, a) in nodes.iter().zip(applied) {
        for w in &a.inverse {
            if !access.allows(&w.target.name, Permission::Edit) {
                errors.push(
                    access_denied().at(format!("{}/relationships/{}", node.object.pointer, w.rel)),
                );
            }
        }
    }
    errors
}

/// Each node's id while the request is checked: a found resource's, a client's own, or a
/// placeholder; and the `id`s and `lid`s of the request mapped to them.
fn provisional_ids(nodes: &[Node<'_>], befores: &[Option<Resource>]) -> (Locals, Vec<String>) {
    let mut locals = Locals::new();
    let mut ids = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        let id = match (&befores[n], node.ty.id, &node.object.id) {
            (Some(b), _, _) => b.id.clone(),
            (None, IdStrategy::Client, Some(id)) => id.clone(),
            (None, _, _) => placeholder(n),
        };
        if let Some(id_given) = &node.object.id {
            locals.insert(local_key(&node.ty.name, id_given, false), id.clone());
        }
        if let Some(lid) = &node.object.lid {
            locals.insert(local_key(&node.ty.name, lid, true), id.clone());
        }
        ids.push(id);
    }
    (locals, ids)
}
