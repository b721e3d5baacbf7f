//! Who points at a resource: the membership stamp that lets a write condition on a set of
//! members it read from an index range.
//!
//! The resources pointing at X (through any owned relationship: a to-one such as a product's
//! `category`, or an owned to-many such as a user's `roles`) are found in index ranges, and no
//! item condition covers a range: a member joining between the read and the commit would be
//! missed. Two kinds of write read such a set: a to-many *replace* through an inverse
//! relationship (which members to drop) and a deletion (which resources its delete rules
//! restrict, nullify or cascade to). So X has a *membership stamp* item beside its resource
//! item, and:
//!
//! - every write that makes a resource point at X (a join) puts a fresh random stamp, without a
//!   condition (joins do not conflict with each other on the embedded store), and checks that X
//!   still exists, unless X is written by the same transaction (so no linkage is ever created to
//!   a resource deleted meanwhile);
//! - a write that reads X's members reads the stamp first, then the range, and its transaction
//!   requires the stamp to be unchanged (a condition-only check, or the condition of its own
//!   stamp write): a member that joined since makes it fail and re-run from fresh reads.
//!
//! Leaving needs no stamp: a member that leaves is rewritten under its own version, which any
//! write that acts on it conditions on, and a write that leaves it alone is ordered before the
//! move. The stamp is a separate item rather than an attribute of X so that joins neither
//! rewrite X's item nor conflict with updates of X's attributes, and X's version (its `ETag`
//! some day) changes only with X itself.

use indexmap::IndexSet;
use jsonapi_config::{RelationshipStorage, Schema};
use jsonapi_store::{Attrs, Condition, Item, Key, Store, Write};

use crate::engine::Engine;
use crate::error::ApiResult;
use crate::extension::{Change, ChangeSet};
use crate::resource::{Origin, Resource, resource_key};

/// The stamp's attribute.
const STAMP: &str = "s";

/// The key of a resource's membership stamp: in the resource item's partition.
pub(crate) fn stamp_key(ty: &str, id: &str) -> Key {
    let mut key = resource_key(ty, id);
    "members".clone_into(&mut key.sk);
    key
}

impl<S: Store> Engine<S> {
    /// Reads a resource's membership stamp into the change set, once per request: call it
    /// before reading who points at the resource, so that the write is refused if anyone joins
    /// in between. Types no relationship points at have no members and no stamp.
    pub(crate) async fn read_members(
        &self,
        ty: &str,
        id: &str,
        changes: &mut ChangeSet,
    ) -> ApiResult<()> {
        let key = (ty.to_owned(), id.to_owned());
        if !is_target(&self.schema, ty) || changes.members_read().contains_key(&key) {
            return Ok(());
        }
        let stamp = self
            .store
            .get(&stamp_key(ty, id))
            .await?
            .and_then(|item| item.attrs.get(STAMP).cloned());
        changes.record_members(key, stamp);
        Ok(())
    }
}

/// Whether any owned relationship points at resources of `ty`.
fn is_target(schema: &Schema, ty: &str) -> bool {
    schema.types().any(|t| {
        t.relationships
            .values()
            .any(|r| r.target == ty && r.storage == RelationshipStorage::Owned)
    })
}

/// The resources a change makes the changed resource point at (through owned relationships),
/// that it did not point at before.
pub(crate) fn joined(change: &Change) -> Vec<(String, String)> {
    let Some(after) = &change.after else {
        return Vec::new();
    };
    let ty = after.ty.declaration();
    let links = |r: &Resource, name: &str| -> Vec<String> {
        match r.related(name) {
            Some(id) => vec![id.to_owned()],
            None => r.to_many.get(name).cloned().unwrap_or_default(),
        }
    };
    let mut out = Vec::new();
    for rel in ty
        .relationships
        .values()
        .filter(|r| r.storage == RelationshipStorage::Owned)
    {
        let before = change
            .before
            .as_ref()
            .map(|b| links(b, &rel.name))
            .unwrap_or_default();
        for id in links(after, &rel.name) {
            if !before.contains(&id) {
                out.push((rel.target.to_string(), id));
            }
        }
    }
    out
}

/// The writes that keep membership stamps honest for a change set: a fresh stamp for every
/// resource joined (and a check that it exists, unless the transaction writes it), a condition
/// on every stamp read, and the stamp of every deleted resource removed.
pub(crate) fn stamp_writes(schema: &Schema, changes: &ChangeSet) -> Vec<(Write, Origin)> {
    let mut joins: IndexSet<(String, String)> = IndexSet::new();
    for change in changes.changes() {
        joins.extend(joined(change));
    }
    let read = changes.members_read();
    let deleted: IndexSet<(String, String)> = changes
        .changes()
        .filter(|c| c.after.is_none())
        .filter_map(|c| c.before.as_ref())
        .filter(|b| is_target(schema, &b.ty))
        .map(|b| (b.ty.to_string(), b.id.clone()))
        .collect();
    let mut touched = joins.clone();
    touched.extend(read.keys().cloned());
    touched.extend(deleted.iter().cloned());
    let mut writes = Vec::new();
    for pair in &touched {
        let (ty, id) = pair;
        let key = stamp_key(ty, id);
        let condition = read.get(pair).map(|stamp| match stamp {
            Some(value) => Condition::Equals {
                name: STAMP.to_owned(),
                value: value.clone(),
            },
            None => Condition::Absent,
        });
        let write = if deleted.contains(pair) {
            Write::Delete { key, condition }
        } else if joins.contains(pair) {
            Write::Put {
                item: fresh_stamp(key),
                condition,
            }
        } else {
            Write::Check {
                key,
                condition: condition.expect("a stamp read has a condition"),
            }
        };
        writes.push((write, Origin::Derived));
        // A resource the transaction writes is held by its own condition (its version, or
        // its absence when created); a change that leaves it as it was is not written.
        let written = changes
            .staged(ty, id)
            .is_some_and(|after| Some(after) != changes.original(ty, id));
        if joins.contains(pair) && !written {
            writes.push((
                Write::Check {
                    key: resource_key(ty, id),
                    condition: Condition::Present,
                },
                Origin::Derived,
            ));
        }
    }
    writes
}

fn fresh_stamp(key: Key) -> Item {
    let mut attrs = Attrs::new();
    attrs.insert(STAMP.to_owned(), ulid::Ulid::new().to_string().into());
    Item { key, attrs }
}
