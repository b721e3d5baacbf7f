//! Response documents: resource objects with their attributes, linkage and HATEOAS links.

use indexmap::IndexMap;
use jsonapi_config::{Action, RelationshipStorage, ResourceType};
use jsonapi_store::Store;
use serde_json::{Map, Value, json};

use crate::engine::{Ctx, Engine};
use crate::error::ApiResult;
use crate::resource::Resource;
use crate::routing::encode_segment;

/// The linkage of one relationship as rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Linkage {
    /// A to-one.
    One(Option<String>),
    /// A to-many (capped at `maxRelated`; `more` when the cap cut it).
    Many { ids: Vec<String>, more: bool },
}

impl<S: Store> Engine<S> {
    /// The linkage of every relationship of a resource; inverse to-many relationships are read
    /// from the related type's index.
    pub(crate) async fn linkage(
        &self,
        ty: &ResourceType,
        r: &Resource,
    ) -> ApiResult<IndexMap<String, Linkage>> {
        let mut out = IndexMap::new();
        for (name, rel) in &ty.relationships {
            let linkage = match (&rel.storage, rel.many) {
                (RelationshipStorage::Owned, false) => {
                    Linkage::One(r.related(name).map(str::to_owned))
                }
                (RelationshipStorage::Owned, true) => {
                    let ids = r.to_many.get(name).cloned().unwrap_or_default();
                    let max = self.schema.api.max_related;
                    let more = ids.len() > max;
                    Linkage::Many {
                        ids: ids.into_iter().take(max).collect(),
                        more,
                    }
                }
                (RelationshipStorage::InverseOf { field }, _) => {
                    let target = self.target_of(ty, name);
                    let (ids, more) = self
                        .inverse_ids(ty, &r.id, target, field, 0, self.schema.api.max_related)
                        .await?;
                    if rel.many {
                        Linkage::Many { ids, more }
                    } else {
                        Linkage::One(ids.into_iter().next())
                    }
                }
            };
            out.insert(name.clone(), linkage);
        }
        Ok(out)
    }

    /// A resource object.
    pub(crate) fn resource_object(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        r: &Resource,
        linkage: &IndexMap<String, Linkage>,
    ) -> Value {
        let mut obj = Map::new();
        obj.insert("type".into(), ty.name.clone().into());
        obj.insert("id".into(), r.id.clone().into());
        let self_url = resource_url(ctx, &ty.name, &r.id);
        if ctx.hateoas && ty.actions.allows(Action::Get) {
            obj.insert("links".into(), json!({ "self": self_url }));
        }
        let attributes: Map<String, Value> = ty
            .attributes
            .values()
            .filter(|a| a.readable())
            .map(|a| {
                (
                    a.name.clone(),
                    r.attributes.get(&a.name).cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        if !attributes.is_empty() {
            obj.insert("attributes".into(), Value::Object(attributes));
        }
        if !linkage.is_empty() {
            let mut rels = Map::new();
            for (name, link) in linkage {
                let rel = &ty.relationships[name];
                let mut o = Map::new();
                if ctx.hateoas {
                    let mut links = Map::new();
                    let rel_url = format!("{self_url}/relationships/{name}");
                    if ty.actions.allows(Action::GetRelationship) {
                        links.insert("self".into(), rel_url.clone().into());
                    }
                    if ty.actions.allows(Action::GetSubresource) {
                        links.insert("related".into(), format!("{self_url}/{name}").into());
                    }
                    if let Linkage::Many { more: true, .. } = link {
                        links.insert(
                            "next".into(),
                            format!(
                                "{rel_url}?page%5Bsize%5D={}&page%5Bnumber%5D=2",
                                self.schema.api.max_related
                            )
                            .into(),
                        );
                    }
                    if !links.is_empty() {
                        o.insert("links".into(), Value::Object(links));
                    }
                }
                o.insert("data".into(), linkage_data(&rel.target, link));
                rels.insert(name.clone(), Value::Object(o));
            }
            obj.insert("relationships".into(), Value::Object(rels));
        }
        Value::Object(obj)
    }

    /// Resource objects for several resources of one type.
    pub(crate) async fn resource_objects(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        resources: &[Resource],
    ) -> ApiResult<Vec<Value>> {
        let mut out = Vec::with_capacity(resources.len());
        for r in resources {
            let linkage = self.linkage(ty, r).await?;
            out.push(self.resource_object(ctx, ty, r, &linkage));
        }
        Ok(out)
    }
}

/// The identifiers of a linkage.
pub(crate) fn linkage_data(target: &str, link: &Linkage) -> Value {
    let ident = |id: &String| json!({ "type": target, "id": id });
    match link {
        Linkage::One(None) => Value::Null,
        Linkage::One(Some(id)) => ident(id),
        Linkage::Many { ids, .. } => Value::Array(ids.iter().map(ident).collect()),
    }
}

/// `{api}/{type}/{id}`
pub(crate) fn resource_url(ctx: &Ctx, ty: &str, id: &str) -> String {
    format!("{}/{ty}/{}", ctx.api_url, encode_segment(id))
}

/// A top-level document around `data`.
pub(crate) fn document(data: Value, links: Option<Map<String, Value>>) -> Value {
    let mut doc = Map::new();
    doc.insert("jsonapi".into(), json!({ "version": "1.1" }));
    if let Some(links) = links.filter(|l| !l.is_empty()) {
        doc.insert("links".into(), Value::Object(links));
    }
    doc.insert("data".into(), data);
    Value::Object(doc)
}
