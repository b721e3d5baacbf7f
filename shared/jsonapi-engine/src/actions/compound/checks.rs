//! Checks over the whole set of resource objects of a compound write: included items that
//! repeat one another, items linked to no primary resource, required relationships a created
//! resource leaves empty.

use std::collections::{HashMap, VecDeque};

use jsonapi_store::Store;

use super::super::write::local_key;
use super::{Node, node_of};
use crate::document::{Linkage, ResourceObject};
use crate::engine::Engine;
use crate::error::{ApiError, ErrorKind};
use crate::extension::ChangeSet;
use crate::values;

impl<S: Store> Engine<S> {
    /// Required to-one relationships left empty on created resources, once every inverse
    /// write of the request has been staged.
    pub(super) fn missing_required(
        &self,
        changes: &ChangeSet,
        nodes: &[Node<'_>],
        ids: &[String],
    ) -> Vec<ApiError> {
        let mut errors = Vec::new();
        for change in changes.changes().filter(|c| c.before.is_none()) {
            let Some(r) = &change.after else { continue };
            let ty = r.ty.declaration();
            let pointer = node_of(nodes, ids, &r.ty, &r.id).map_or("/data", |n| &n.object.pointer);
            for rel in ty
                .relationships
                .values()
                .filter(|rel| rel.required && r.related(&rel.name).is_none())
            {
                errors.push(
                    values::not_blank().at(format!("{pointer}/relationships/{}/data", rel.name)),
                );
            }
        }
        errors
    }
}

/// Included items that repeat an earlier one (same type and id or lid).
pub(crate) fn duplicates(nodes: &[Node<'_>]) -> Vec<ApiError> {
    repeated(nodes.iter().filter(|n| !n.primary).map(|n| n.object))
}

/// Resource objects that repeat an earlier one of `objects` (same type and id or lid), each
/// naming the first by its index in the request's section (`/included/3`: 3).
pub(crate) fn repeated<'a>(objects: impl IntoIterator<Item = &'a ResourceObject>) -> Vec<ApiError> {
    let mut seen: HashMap<(String, String), &str> = HashMap::new();
    let mut errors = Vec::new();
    for object in objects {
        let Some(key) = own_key(object) else { continue };
        match seen.get(&key) {
            Some(first) => errors.push(duplicate_of(object, first)),
            None => {
                let index = object.pointer.rsplit('/').next().unwrap_or_default();
                seen.insert(key, index);
            }
        }
    }
    errors
}

/// The identifier a resource object carries for the request (its `id`, else its `lid`), by
/// its value alone: an item under `lid: "a"` and another under `id: "a"` would be answered
/// with the same `meta.dataId` (or `includeId`), so they repeat one another too.
pub(crate) fn own_key(object: &ResourceObject) -> Option<(String, String)> {
    let value = object.id.as_ref().or(object.lid.as_ref())?;
    Some(local_key(&object.ty, value, false))
}

/// The refusal of `object`, which repeats the item at index `first` of its section.
pub(crate) fn duplicate_of(object: &ResourceObject, first: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorKind::RequestData,
        format!("The item duplicates the item with the index {first}"),
    )
    .at(object.pointer.clone())
}

/// Included items not linked to a primary resource, directly or through other included
/// items, in either direction.
pub(super) fn unlinked(nodes: &[Node<'_>]) -> Vec<ApiError> {
    // A batch's primary items sit at `/data/N`: the model's message for batches says "at least
    // one primary entity".
    let detail = if !nodes
        .iter()
        .any(|n| n.primary && n.object.pointer == "/data")
    {
        "The entity should have a relationship with at least one primary entity and this should be explicitly specified in the request"
    } else {
        "The entity should have a relationship with the primary entity and this should be explicitly specified in the request"
    };
    let names = |node: &Node<'_>| -> Vec<(String, String)> {
        let mut keys = Vec::new();
        if let Some(id) = &node.object.id {
            keys.push(local_key(&node.ty.name, id, false));
        }
        if let Some(lid) = &node.object.lid {
            keys.push(local_key(&node.ty.name, lid, true));
        }
        keys
    };
    let node_of: HashMap<(String, String), usize> = nodes
        .iter()
        .enumerate()
        .flat_map(|(n, node)| names(node).into_iter().map(move |k| (k, n)))
        .collect();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (n, node) in nodes.iter().enumerate() {
        for linkage in node.object.relationships.values() {
            let idents = match linkage {
                Linkage::One(Some(i)) => vec![i],
                Linkage::Many(is) => is.iter().collect(),
                Linkage::One(None) => Vec::new(),
            };
            for ident in idents {
                if let Some(&m) = node_of.get(&local_key(&ident.ty, &ident.id, ident.local)) {
                    edges[n].push(m);
                    edges[m].push(n);
                }
            }
        }
    }
    let mut reached: Vec<bool> = nodes.iter().map(|n| n.primary).collect();
    let mut queue: VecDeque<usize> = (0..nodes.len()).filter(|&n| reached[n]).collect();
    while let Some(n) = queue.pop_front() {
        for &m in &edges[n] {
            if !reached[m] {
                reached[m] = true;
                queue.push_back(m);
            }
        }
    }
    nodes
        .iter()
        .zip(reached)
        .filter(|(_, r)| !r)
        .map(|(node, _)| {
            ApiError::new(ErrorKind::RequestData, detail).at(node.object.pointer.clone())
        })
        .collect()
}
