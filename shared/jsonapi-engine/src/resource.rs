//! A resource as the engine holds it, and how it maps onto the items of the logical table.
//!
//! # Item layout
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | resource | `{type}#{id}` | `#` | `id`, `v` (version), `a` (attributes), `r` (owned linkage) |
//! | listing entry | `list#{type}` | `{id key}` | `id` |
//! | index entry | `idx#{type}#{field}` | `{value key}\u{1}{id key}` | `id` |
//! | composite index entry | `idx#{type}#{first}+{second}` | `{first}\u{1}{second}\u{1}{id key}` | `id` |
//!
//! With `shards: N` (N > 1) a type's listing and index partitions above are each N
//! partitions, `{partition}#s{k}`, `k` from the resource's id (see [`crate::shards`]).
//! | unique value | `uniq#{type}#{field}#{value}` | `#` | `id` |
//! | sequence | `seq#{type}` | `#` | `next` |
//! | membership stamp | `{type}#{id}` | `members` | `s` (see `crate::membership`) |
//!
//! Id keys and value keys order like the values they encode (see [`crate::values`]), so a key
//! range is a value range. Every item but the resource item is *derived*: a write computes the
//! derived items before and after the change and writes only the difference, in the same
//! transaction as the resource item.
//!
//! Keys stay within DynamoDB's limits (1024-byte sort keys, 2048-byte partition keys) for
//! values of any length: a value key longer than 764 bytes in an index entry (379 in a
//! composite entry) is cut, order kept, with `U+10FFFF` at its end
//! ([`values::index_key`]); readers re-check cut values on the items and order them in memory.
//! A unique value longer than 1024 bytes is named by its first 1024 bytes (whole characters),
//! `#` and its SHA-256 (base64url). Items written before this layout are not migrated.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use indexmap::IndexMap;
use jsonapi_config::{DataType, IdStrategy, RelationshipStorage, ResourceType, Schema};
use jsonapi_store::{Attrs, Condition, Item, Key, Write};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::known_type::KnownType;
use crate::shards::entry_pk;
use crate::values::{self, PAIRED_VALUE_KEY_BYTES, SEPARATOR, VALUE_KEY_BYTES, index_key};

/// A resource: attributes in their stored form and the linkage it owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Its type.
    pub ty: KnownType,
    /// Its id.
    pub id: String,
    /// Bumped by every write; guards against lost updates.
    pub version: u64,
    /// Attribute values (stored form), including input-only ones.
    pub attributes: Map<String, Value>,
    /// Owned to-one linkage: related id or `None`.
    pub to_one: IndexMap<String, Option<String>>,
    /// Owned to-many linkage (relationships without an inverse).
    pub to_many: IndexMap<String, Vec<String>>,
}

impl Resource {
    /// An empty resource of a type (no attributes, no linkage, version 0).
    pub fn new(ty: &Arc<ResourceType>, id: &str) -> Self {
        Self {
            ty: KnownType::new(ty),
            id: id.to_owned(),
            version: 0,
            attributes: Map::new(),
            to_one: IndexMap::new(),
            to_many: IndexMap::new(),
        }
    }

    /// The related id of an owned to-one relationship.
    pub fn related(&self, rel: &str) -> Option<&str> {
        self.to_one.get(rel).and_then(Option::as_deref)
    }

    pub(crate) fn to_item(&self) -> Item {
        let mut r = Map::new();
        for (name, id) in &self.to_one {
            r.insert(name.clone(), id.clone().map_or(Value::Null, Value::String));
        }
        for (name, ids) in &self.to_many {
            r.insert(name.clone(), Value::from(ids.clone()));
        }
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), self.id.clone().into());
        attrs.insert("v".into(), self.version.into());
        attrs.insert("a".into(), Value::Object(self.attributes.clone()));
        attrs.insert("r".into(), Value::Object(r));
        Item {
            key: resource_key(&self.ty, &self.id),
            attrs,
        }
    }

    /// Reads a resource item, taking its attributes out of it (a page of resources would
    /// otherwise copy every attribute map it has just decoded).
    pub(crate) fn from_item(ty: &Arc<ResourceType>, item: &mut Item) -> Option<Self> {
        let a = &mut item.attrs;
        let attributes = match a.get_mut("a")? {
            Value::Object(attributes) => std::mem::take(attributes),
            _ => return None,
        };
        let id = a.get("id")?.as_str()?.to_owned();
        let version = a.get("v")?.as_u64()?;
        let r = a.get("r")?.as_object()?;
        let mut to_one = IndexMap::new();
        let mut to_many = IndexMap::new();
        for (name, rel) in &ty.relationships {
            match (&rel.storage, rel.many) {
                (RelationshipStorage::Owned, false) => {
                    let id = r.get(name).and_then(Value::as_str).map(str::to_owned);
                    to_one.insert(name.clone(), id);
                }
                (RelationshipStorage::Owned, true) => {
                    let ids = r
                        .get(name)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    to_many.insert(name.clone(), ids);
                }
                (RelationshipStorage::InverseOf { .. }, _) => {}
            }
        }
        Some(Self {
            ty: KnownType::new(ty),
            id,
            version,
            attributes,
            to_one,
            to_many,
        })
    }
}

/// The condition that a resource item is stored at this version.
pub(crate) fn at_version(version: u64) -> Condition {
    Condition::Equals {
        name: "v".into(),
        value: version.into(),
    }
}

/// The key of a resource item.
pub fn resource_key(ty: &str, id: &str) -> Key {
    Key::new(format!("{ty}#{id}"), "#")
}

/// The most bytes of a value kept as it is in the key of a unique item. DynamoDB caps partition
/// keys at 2048 bytes; a longer value is named by its first bytes and its SHA-256, which makes
/// a text longer than this, so it never names a value kept as it is.
const UNIQUE_VALUE_BYTES: usize = 1024;

/// The key of the item that claims a unique value (stored form) of a field.
pub(crate) fn unique_key(ty: &str, field: &str, value: &Value) -> Key {
    let text = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    let text = if text.len() > UNIQUE_VALUE_BYTES {
        let mut end = UNIQUE_VALUE_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()));
        format!("{}#{digest}", &text[..end])
    } else {
        text
    };
    Key::new(format!("uniq#{ty}#{field}#{text}"), "#")
}

/// The key of a type's sequence counter.
pub fn sequence_key(ty: &str) -> Key {
    Key::new(format!("seq#{ty}"), "#")
}

/// The partition of a type's listing entries.
pub fn listing_pk(ty: &str) -> String {
    format!("list#{ty}")
}

/// The partition of a field's index entries.
pub fn index_pk(ty: &str, field: &str) -> String {
    format!("idx#{ty}#{field}")
}

/// The sort key of an id: sequence ids as fixed-width numbers, so they sort numerically.
pub fn id_key(ty: &ResourceType, id: &str) -> String {
    match ty.id {
        IdStrategy::Sequence => id
            .parse::<u64>()
            .map_or_else(|_| values::escape(id), |n| format!("{n:020}")),
        IdStrategy::Ulid | IdStrategy::Client => values::escape(id),
    }
}

/// The sort-key prefix of the index entries of one value of an indexed relationship: all the
/// resources that point at `related_id`.
pub(crate) fn linkage_prefix(target: &ResourceType, related_id: &str) -> String {
    format!("1{}{SEPARATOR}", id_key(target, related_id))
}

/// Which fields of a type have index entries: declared filters and sorters, and every
/// relationship the type owns (inverse reads and delete rules look related resources up there).
pub(crate) fn indexed_fields(ty: &ResourceType) -> Vec<&str> {
    let mut fields: Vec<&str> = Vec::new();
    let candidates = ty
        .filters
        .keys()
        .chain(ty.sorters.iter())
        .map(String::as_str)
        .chain(
            ty.relationships
                .values()
                .filter(|r| r.storage == RelationshipStorage::Owned)
                .map(|r| r.name.as_str()),
        );
    for f in candidates {
        let indexable = f != "id"
            && (ty.relationships.contains_key(f)
                || ty
                    .attributes
                    .get(f)
                    .is_some_and(|a| !matches!(a.data_type, DataType::Json | DataType::Text)));
        if indexable && !fields.contains(&f) {
            fields.push(f);
        }
    }
    fields
}

/// What a write of the transaction is about, to explain a failed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The resource item (a create, or a version check).
    Resource {
        ty: String,
        id: String,
        created: bool,
    },
    /// A unique value claimed by a resource.
    Unique {
        ty: String,
        id: String,
        field: String,
    },
    /// Listing and index entries.
    Derived,
}

struct Derived {
    item: Item,
    unique: Option<String>,
}

/// The sort keys a field contributes to its index: one per value (arrays and to-many
/// relationships hold several; `null` is `"0"`).
fn field_keys(schema: &Schema, ty: &ResourceType, r: &Resource, field: &str) -> Vec<String> {
    if let Some(rel) = ty.relationships.get(field) {
        let target = schema.target(rel);
        if rel.many {
            return r
                .to_many
                .get(field)
                .into_iter()
                .flatten()
                .map(|id| format!("1{}", id_key(target, id)))
                .collect();
        }
        return match r.related(field) {
            Some(id) => vec![format!("1{}", id_key(target, id))],
            None => vec!["0".to_owned()],
        };
    }
    let attr = &ty.attributes[field];
    values::sort_keys(
        attr.data_type,
        r.attributes.get(field).unwrap_or(&Value::Null),
    )
}

/// The partition of a composite index's entries.
pub fn composite_pk(ty: &str, first: &str, second: &str) -> String {
    format!("idx#{ty}#{first}+{second}")
}

fn derived_items(schema: &Schema, r: &Resource) -> Vec<Derived> {
    let ty = r.ty.declaration();
    let idk = id_key(ty, &r.id);
    let id_attrs = || {
        let mut a = Attrs::new();
        a.insert("id".into(), r.id.clone().into());
        a
    };
    let mut out = vec![Derived {
        item: Item {
            key: Key::new(entry_pk(&listing_pk(&r.ty), ty.shards, &r.id), idk.clone()),
            attrs: id_attrs(),
        },
        unique: None,
    }];
    // Only a field of several values (an array, a to-many relationship) can repeat a key.
    let mut several = false;
    for field in indexed_fields(ty) {
        let keys = field_keys(schema, ty, r, field);
        several |= keys.len() > 1;
        for k in keys {
            out.push(Derived {
                item: Item {
                    key: Key::new(
                        entry_pk(&index_pk(&r.ty, field), ty.shards, &r.id),
                        format!("{}{SEPARATOR}{idk}", index_key(&k, VALUE_KEY_BYTES)),
                    ),
                    attrs: id_attrs(),
                },
                unique: None,
            });
        }
    }
    for [first, second] in &ty.indexes {
        let (firsts, seconds) = (
            field_keys(schema, ty, r, first),
            field_keys(schema, ty, r, second),
        );
        several |= firsts.len() > 1 || seconds.len() > 1;
        for ka in &firsts {
            for kb in &seconds {
                let sk = format!(
                    "{}{SEPARATOR}{}{SEPARATOR}{idk}",
                    index_key(ka, PAIRED_VALUE_KEY_BYTES),
                    index_key(kb, PAIRED_VALUE_KEY_BYTES)
                );
                out.push(Derived {
                    item: Item {
                        key: Key::new(
                            entry_pk(&composite_pk(&r.ty, first, second), ty.shards, &r.id),
                            sk,
                        ),
                        attrs: id_attrs(),
                    },
                    unique: None,
                });
            }
        }
    }
    for attr in ty.unique_attributes() {
        let Some(v) = r.attributes.get(&attr.name).filter(|v| !v.is_null()) else {
            continue;
        };
        out.push(Derived {
            item: Item {
                key: unique_key(&r.ty, &attr.name, v),
                attrs: id_attrs(),
            },
            unique: Some(attr.name.clone()),
        });
    }
    // An array that repeats an element (or elements cut to the same key) holds one value to
    // find it by: one entry, written once (a transaction takes one action per item).
    if several {
        let mut seen = std::collections::HashSet::new();
        out.retain(|d| seen.insert(d.item.key.clone()));
    }
    out
}

/// The writes that take a resource from `before` to `after` (`None` = absent), with the origin
/// of each write. The resource item is guarded by its version (or by its absence on create);
/// claimed unique values by their absence.
pub(crate) fn writes_for(
    schema: &Schema,
    before: Option<&Resource>,
    after: Option<&Resource>,
) -> Vec<(Write, Origin)> {
    let mut writes = Vec::new();
    let Some(any) = after.or(before) else {
        return writes;
    };
    let origin = Origin::Resource {
        ty: any.ty.to_string(),
        id: any.id.clone(),
        created: before.is_none(),
    };
    let guard = before.map_or(Condition::Absent, |b| at_version(b.version));
    match after {
        Some(a) => writes.push((
            Write::Put {
                item: a.to_item(),
                condition: Some(guard),
            },
            origin,
        )),
        None => writes.push((
            Write::Delete {
                key: resource_key(&any.ty, &any.id),
                condition: Some(guard),
            },
            origin,
        )),
    }
    let old = before.map(|b| derived_items(schema, b)).unwrap_or_default();
    let new = after.map(|a| derived_items(schema, a)).unwrap_or_default();
    for d in &old {
        if !new.iter().any(|n| n.item.key == d.item.key) {
            writes.push((
                Write::Delete {
                    key: d.item.key.clone(),
                    condition: None,
                },
                Origin::Derived,
            ));
        }
    }
    for d in new {
        if old.iter().any(|o| o.item == d.item) {
            continue;
        }
        let (condition, origin) = match d.unique {
            Some(field) => (
                Some(Condition::Absent),
                Origin::Unique {
                    ty: any.ty.to_string(),
                    id: any.id.clone(),
                    field,
                },
            ),
            None => (None, Origin::Derived),
        };
        writes.push((
            Write::Put {
                item: d.item,
                condition,
            },
            origin,
        ));
    }
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of any length, under the longest id, give keys every store takes: index entries
    /// alone and paired, and unique items.
    #[test]
    fn keys_of_long_values_stay_within_the_store_limits() {
        let schema = jsonapi_config::parse(
            "test.yaml",
            "types:\n  notes:\n    id: client\n    attributes:\n      a: { type: string, unique: true }\n      b: { type: string }\n    filters:\n      a:\n      b:\n    indexes: [[a, b]]\n",
        )
        .expect("a valid configuration");
        for length in [0, 100, 379, 380, 764, 765, 1024, 1025, 5000] {
            for unit in ["x", "é", "€", "\u{1D11E}"] {
                let value = unit.repeat(length / unit.len());
                let notes = schema.resource_type("notes").expect("declared");
                let mut r = Resource::new(notes, &"i".repeat(values::MAX_ID_KEY_BYTES));
                r.attributes.insert("a".into(), value.clone().into());
                r.attributes.insert("b".into(), value.into());
                let writes: Vec<Write> = writes_for(&schema, None, Some(&r))
                    .into_iter()
                    .map(|(w, _)| w)
                    .collect();
                assert_eq!(
                    writes.len(),
                    6,
                    "resource, listing, two entries, pair, unique"
                );
                jsonapi_store::limits::check_transaction(&writes)
                    .unwrap_or_else(|e| panic!("{length} bytes of {unit:?}: {e}"));
            }
        }
        // A value longer than a unique key keeps is named by its digest: values that differ
        // only past the kept bytes have different keys, and no kept value has a digest's key.
        let long = |tail: &str| Value::from(format!("{}{tail}", "x".repeat(2000)));
        assert_ne!(
            unique_key("notes", "a", &long("1")),
            unique_key("notes", "a", &long("2"))
        );
        assert_eq!(
            unique_key("notes", "a", &long("1")),
            unique_key("notes", "a", &long("1"))
        );
        let kept = Value::from("x".repeat(UNIQUE_VALUE_BYTES));
        assert!(
            unique_key("notes", "a", &kept).pk.len() < unique_key("notes", "a", &long("")).pk.len()
        );
    }
}
