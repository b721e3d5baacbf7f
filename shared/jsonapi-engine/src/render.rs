//! Response documents: resource objects with their attributes, linkage and HATEOAS links,
//! shaped by `fields`, `include` and `meta=title`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use jsonapi_config::{Operation, RelationshipStorage, ResourceType, TitlePart};
use jsonapi_store::Store;
use serde_json::{Map, Value, json};

use crate::engine::{Ctx, Engine};
use crate::error::ApiResult;
use crate::query::QueryParams;
use crate::resource::Resource;
use crate::routing::encode_segment;

/// The linkage of one relationship as rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Linkage {
    /// A to-one.
    One(Option<String>),
    /// A to-many (capped at `maxRelated`; `more` when the cap cut it).
    Many { ids: Vec<String>, more: bool },
    /// Not read: rendered with links only.
    Unread,
}

impl Linkage {
    fn ids(&self) -> Vec<String> {
        match self {
            Self::One(id) => id.iter().cloned().collect(),
            Self::Many { ids, .. } => ids.clone(),
            Self::Unread => Vec::new(),
        }
    }
}

/// How resources are shaped: `fields[type]`, `include`, `meta=title`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape<'a> {
    pub(crate) fields: Option<&'a HashMap<String, Vec<String>>>,
    pub(crate) include: &'a [Vec<String>],
    pub(crate) meta_title: bool,
}

impl<'a> Shape<'a> {
    /// Everything, nothing included.
    pub(crate) const FULL: Shape<'static> = Shape {
        fields: None,
        include: &[],
        meta_title: false,
    };

    /// The shape a request's query asks for.
    pub(crate) fn of(q: &'a QueryParams) -> Self {
        Self {
            fields: Some(&q.fields),
            include: &q.include,
            meta_title: q.meta_title,
        }
    }

    fn shows(&self, ty: &str, field: &str) -> bool {
        self.fields
            .and_then(|f| f.get(ty))
            .is_none_or(|names| names.iter().any(|n| n == field))
    }
}

/// Rendered primary data and the `included` section (present when `include` was asked).
pub(crate) struct Rendered {
    pub(crate) data: Vec<Value>,
    pub(crate) included: Option<Vec<Value>>,
}

/// A resource of the answer with its type and the linkage shown.
type Linked = (Arc<ResourceType>, Resource, IndexMap<String, Linkage>);

impl<S: Store> Engine<S> {
    /// The linkage of a resource's relationships (those the shape shows); inverse to-many
    /// relationships are read from the related type's index.
    pub(crate) async fn linkage(
        &self,
        ty: &ResourceType,
        r: &Resource,
        shape: Shape<'_>,
    ) -> ApiResult<IndexMap<String, Linkage>> {
        self.linkage_of(ty, r, shape, None).await
    }

    /// As [`Self::linkage`]; with `inverse`, inverse relationships outside that set are not
    /// read and render with links only (included resources read only what a longer include
    /// path needs: each would otherwise cost a range read).
    async fn linkage_of(
        &self,
        ty: &ResourceType,
        r: &Resource,
        shape: Shape<'_>,
        inverse: Option<&HashSet<&str>>,
    ) -> ApiResult<IndexMap<String, Linkage>> {
        let mut out = IndexMap::new();
        for (name, rel) in &ty.relationships {
            if !shape.shows(&ty.name, name) {
                continue;
            }
            if let (RelationshipStorage::InverseOf { .. }, Some(wanted)) = (&rel.storage, inverse)
                && !wanted.contains(name.as_str())
            {
                out.insert(name.clone(), Linkage::Unread);
                continue;
            }
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
                    let target = self.schema.target(rel);
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

    /// Renders resources of one type as primary data, with what the shape includes.
    pub(crate) async fn render(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        resources: Vec<Resource>,
        shape: Shape<'_>,
    ) -> ApiResult<Rendered> {
        self.render_reading(ctx, ty, resources, shape, None).await
    }

    /// Renders a list page as [`Self::render`] does, except that an inverse relationship
    /// (whose linkage costs a range read of the related type's index per resource) is read
    /// only when the request names it, in `include` or in `fields[type]`; otherwise it has
    /// links only, so a page costs the same store reads whatever its resources link to.
    pub(crate) async fn render_list(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        resources: Vec<Resource>,
        shape: Shape<'_>,
    ) -> ApiResult<Rendered> {
        let named: HashSet<&str> = shape
            .include
            .iter()
            .filter_map(|path| path.first())
            .chain(
                shape
                    .fields
                    .and_then(|f| f.get(&ty.name))
                    .into_iter()
                    .flatten(),
            )
            .map(String::as_str)
            .collect();
        self.render_reading(ctx, ty, resources, shape, Some(&named))
            .await
    }

    /// As [`Self::render`]; with `inverse`, the primary resources' inverse relationships
    /// outside that set are not read (see [`Self::linkage_of`]).
    async fn render_reading(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        resources: Vec<Resource>,
        shape: Shape<'_>,
        inverse: Option<&HashSet<&str>>,
    ) -> ApiResult<Rendered> {
        let mut seen: HashSet<(String, String)> = resources
            .iter()
            .map(|r| (ty.name.clone(), r.id.clone()))
            .collect();
        let mut frontier = Vec::new();
        for r in resources {
            let linkage = self.linkage_of(ty, &r, shape, inverse).await?;
            frontier.push((Arc::clone(ty), r, linkage));
        }
        let data = self.objects(ctx, &frontier, shape).await?;
        if shape.include.is_empty() {
            return Ok(Rendered {
                data,
                included: None,
            });
        }
        let mut included = Vec::new();
        // One level of every include path at a time: one batch read for all related types.
        let mut paths: Vec<&[String]> = shape.include.iter().map(Vec::as_slice).collect();
        let mut level = frontier;
        while !paths.is_empty() && !level.is_empty() {
            let wanted = self.next_included(ctx, &level, &paths, &mut seen);
            paths = paths
                .iter()
                .filter_map(|p| p.get(1..).filter(|rest| !rest.is_empty()))
                .collect();
            let continuing: HashSet<&str> = paths
                .iter()
                .filter_map(|p| p.first().map(String::as_str))
                .collect();
            let keys: Vec<(&str, &str)> = wanted
                .iter()
                .map(|(t, id)| (t.name.as_str(), id.as_str()))
                .collect();
            let mut next = Vec::new();
            let loaded = self.load_keys(&keys).await?;
            for ((target, _), r) in wanted.iter().zip(loaded) {
                let Some(r) = r else { continue };
                let target = Arc::clone(target);
                let linkage = self
                    .linkage_of(&target, &r, shape, Some(&continuing))
                    .await?;
                next.push((target, r, linkage));
            }
            included.extend(self.objects(ctx, &next, shape).await?);
            level = next;
        }
        Ok(Rendered {
            data,
            included: Some(included),
        })
    }

    /// The resources the next step of the include paths reaches from `level`, each once over
    /// the whole answer (`seen`); what the caller may not read stays linkage only.
    fn next_included(
        &self,
        ctx: &Ctx,
        level: &[Linked],
        paths: &[&[String]],
        seen: &mut HashSet<(String, String)>,
    ) -> Vec<(&Arc<ResourceType>, String)> {
        let mut wanted = Vec::new();
        for (lty, _, linkage) in level {
            for path in paths {
                let Some((rel, _)) = path.split_first() else {
                    continue;
                };
                let (Some(link), Some(rel)) = (linkage.get(rel), lty.relationships.get(rel)) else {
                    continue;
                };
                if !ctx.access.can_view(&rel.target) {
                    continue;
                }
                let target = self.schema.target(rel);
                for id in link.ids() {
                    if seen.insert((target.name.clone(), id.clone())) {
                        wanted.push((target, id));
                    }
                }
            }
        }
        wanted
    }

    async fn objects(
        &self,
        ctx: &Ctx,
        items: &[Linked],
        shape: Shape<'_>,
    ) -> ApiResult<Vec<Value>> {
        let titles = if shape.meta_title {
            Some(self.titles(ctx, items).await?)
        } else {
            None
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, (ty, r, linkage))| {
                let mut obj = self.resource_object(ctx, ty, r, linkage, shape);
                if let Some(titles) = &titles {
                    obj["meta"] = json!({ "title": titles[i] });
                }
                obj
            })
            .collect())
    }

    /// `meta.title` of each resource: the first alternative whose placeholders are all
    /// non-empty (related values come from one batch read per relationship).
    async fn titles(&self, ctx: &Ctx, items: &[Linked]) -> ApiResult<Vec<String>> {
        let mut related: HashMap<(String, String), Resource> = HashMap::new();
        let mut wanted: IndexMap<&str, (&ResourceType, Vec<String>)> = IndexMap::new();
        for (ty, r, _) in items {
            for part in ty.title.iter().flat_map(|t| &t.0) {
                // A title shows nothing of a type the caller may not read.
                if let TitlePart::Related(rel, _) = part
                    && let Some(id) = r.related(rel)
                    && let Some(rel) = ty.relationships.get(rel)
                    && ctx.access.can_view(&rel.target)
                {
                    let target = self.schema.target(rel);
                    wanted
                        .entry(&target.name)
                        .or_insert_with(|| (target, Vec::new()))
                        .1
                        .push(id.to_owned());
                }
            }
        }
        for (target, mut ids) in wanted.into_values() {
            ids.sort();
            ids.dedup();
            for r in self.load_many(target, &ids).await? {
                related.insert((target.name.clone(), r.id.clone()), r);
            }
        }
        let text = |r: &Resource, field: &str| -> String {
            if field == "id" {
                return r.id.clone();
            }
            match r.attributes.get(field) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            }
        };
        Ok(items
            .iter()
            .map(|(ty, r, _)| {
                ty.title
                    .iter()
                    .find_map(|template| {
                        let mut out = String::new();
                        for part in &template.0 {
                            let piece = match part {
                                TitlePart::Literal(s) => {
                                    out.push_str(s);
                                    continue;
                                }
                                TitlePart::Field(f) => text(r, f),
                                TitlePart::Related(rel, f) => r
                                    .related(rel)
                                    .zip(ty.relationships.get(rel))
                                    .and_then(|(id, rel)| {
                                        related.get(&(rel.target.to_string(), id.to_owned()))
                                    })
                                    .map(|t| text(t, f))
                                    .unwrap_or_default(),
                            };
                            if piece.is_empty() {
                                return None;
                            }
                            out.push_str(&piece);
                        }
                        Some(out)
                    })
                    .unwrap_or_default()
            })
            .collect())
    }

    /// A resource object.
    pub(crate) fn resource_object(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        r: &Resource,
        linkage: &IndexMap<String, Linkage>,
        shape: Shape<'_>,
    ) -> Value {
        let mut obj = Map::new();
        obj.insert("type".into(), ty.name.clone().into());
        obj.insert("id".into(), r.id.clone().into());
        let self_url = resource_url(ctx, &ty.name, &r.id);
        if ctx.hateoas && ty.actions.allows(Operation::Get) {
            obj.insert("links".into(), json!({ "self": self_url }));
        }
        let attributes: Map<String, Value> = ty
            .attributes
            .values()
            .filter(|a| a.readable() && shape.shows(&ty.name, &a.name))
            .map(|a| (a.name.clone(), ctx.storefront.shown(a, &r.attributes)))
            .collect();
        if !attributes.is_empty() {
            obj.insert("attributes".into(), Value::Object(attributes));
        }
        if !linkage.is_empty() {
            let mut rels = Map::new();
            for (name, link) in linkage {
                // The linkage is keyed by the type's relationships: each is found.
                let Some(rel) = ty.relationships.get(name) else {
                    continue;
                };
                let mut o = Map::new();
                if ctx.hateoas {
                    let mut links = Map::new();
                    let rel_url = format!("{self_url}/relationships/{name}");
                    if ty.actions.allows(Operation::GetRelationship) {
                        links.insert("self".into(), rel_url.clone().into());
                    }
                    if ty.actions.allows(Operation::GetSubresource) {
                        links.insert("related".into(), format!("{self_url}/{name}").into());
                    }
                    if let Linkage::Many { more: true, .. } = link {
                        let next = format!(
                            "{rel_url}?page%5Bsize%5D={}&page%5Bnumber%5D=2",
                            self.schema.api.max_related
                        );
                        links.insert("next".into(), next.into());
                    }
                    if !links.is_empty() {
                        o.insert("links".into(), Value::Object(links));
                    }
                }
                if *link != Linkage::Unread {
                    o.insert("data".into(), linkage_data(&rel.target, link));
                }
                // A relationship object needs links or data.
                if !o.is_empty() {
                    rels.insert(name.clone(), Value::Object(o));
                }
            }
            obj.insert("relationships".into(), Value::Object(rels));
        }
        Value::Object(obj)
    }
}

/// The identifiers of a linkage.
pub(crate) fn linkage_data(target: &str, link: &Linkage) -> Value {
    let ident = |id: &String| json!({ "type": target, "id": id });
    match link {
        Linkage::One(None) => Value::Null,
        Linkage::One(Some(id)) => ident(id),
        Linkage::Many { ids, .. } => Value::Array(ids.iter().map(ident).collect()),
        Linkage::Unread => Value::Null,
    }
}

/// `{api}/{type}/{id}`
pub(crate) fn resource_url(ctx: &Ctx, ty: &str, id: &str) -> String {
    format!("{}/{ty}/{}", ctx.api_url, encode_segment(id))
}

/// A top-level document around `data`, with `included` when asked for.
pub(crate) fn document(
    data: Value,
    included: Option<Vec<Value>>,
    links: Option<Map<String, Value>>,
) -> Value {
    let mut doc = Map::new();
    doc.insert("jsonapi".into(), json!({ "version": "1.1" }));
    if let Some(links) = links.filter(|l| !l.is_empty()) {
        doc.insert("links".into(), Value::Object(links));
    }
    doc.insert("data".into(), data);
    if let Some(included) = included {
        doc.insert("included".into(), Value::Array(included));
    }
    Value::Object(doc)
}

/// A document with one resource (or `null`) as primary data.
pub(crate) fn single(
    rendered: Rendered,
    links: Option<Map<String, Value>>,
    status: http::StatusCode,
) -> crate::request::ApiResponse {
    let data = rendered.data.into_iter().next().unwrap_or(Value::Null);
    crate::request::ApiResponse::document(status, &document(data, rendered.included, links))
}
