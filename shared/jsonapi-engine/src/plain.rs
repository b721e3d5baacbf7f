//! The plain REST view (the model's `application/json` format): the engine's JSON:API
//! documents converted at the edge, so that every action serves both formats unchanged.
//!
//! - A resource is an object of its fields: `id`, the attributes, each relationship as the
//!   related id (`null` when empty) or an array of ids; `meta` as in JSON:API. A list is an
//!   array of them; a relationship route answers the id or the array of ids. Links, `type`
//!   and the top-level `jsonapi`, `links` and `meta` members are left out.
//! - With `include`, a related resource the include paths reach takes its id's place, as an
//!   object of the same shape (the plain view has no `included`).
//! - Errors are a flat array: `[{"title", "detail", "source"}]`, `source` the pointer (into
//!   the plain body), parameter or header as a string, no `status` (it is the response's).
//! - Writes take the same flat object (relationships as ids), and a relationship route the id
//!   or array of ids; they are turned into the JSON:API document the action reads.

use bytes::Bytes;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use jsonapi_config::ResourceType;
use serde_json::{Map, Value, json};

use crate::format::PLAIN_MEDIA_TYPE;
use crate::request::{ApiResponse, MEDIA_TYPE};
use crate::routing::Route;

/// What a write's plain body describes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Body<'a> {
    /// A resource of the type (`id`: the URL's, on update).
    Resource {
        ty: &'a ResourceType,
        id: Option<&'a str>,
    },
    /// The linkage of a relationship route to resources of `target`.
    Linkage { target: &'a str },
}

/// The JSON:API document a plain write `body` stands for. A body that is not JSON is passed
/// on unchanged, for the action to report as it does any malformed document.
pub(crate) fn request_document(what: Body<'_>, body: &Bytes) -> Bytes {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return body.clone();
    };
    let data = match what {
        Body::Linkage { target } => linkage(target, value),
        Body::Resource { ty, id } => match value {
            Value::Object(fields) => resource(ty, id, fields),
            // Not an object: the action points at `/data`.
            other => other,
        },
    };
    Bytes::from(json!({ "data": data }).to_string())
}

fn resource(ty: &ResourceType, url_id: Option<&str>, fields: Map<String, Value>) -> Value {
    let mut data = Map::new();
    data.insert("type".into(), ty.name.clone().into());
    if let Some(id) = url_id {
        data.insert("id".into(), id.into());
    }
    let mut attributes = Map::new();
    let mut relationships = Map::new();
    for (name, value) in fields {
        if name == "id" {
            data.insert(name, value);
        } else if let Some(rel) = ty.relationships.get(&name) {
            relationships.insert(name, json!({ "data": linkage(&rel.target, value) }));
        } else {
            // Unknown names too: the action refuses them as extra fields.
            attributes.insert(name, value);
        }
    }
    if !attributes.is_empty() {
        data.insert("attributes".into(), Value::Object(attributes));
    }
    if !relationships.is_empty() {
        data.insert("relationships".into(), Value::Object(relationships));
    }
    Value::Object(data)
}

/// Ids as resource identifiers of `target`; anything else is left for the action to refuse.
fn linkage(target: &str, value: Value) -> Value {
    match value {
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| linkage(target, v)).collect())
        }
        id @ Value::String(_) => json!({ "type": target, "id": id }),
        other => other,
    }
}

/// What shapes a plain answer besides its document, read from the request before it runs.
pub(crate) struct View {
    /// A relationship route: its data is linkage, not resources.
    linkage_route: bool,
    /// The include paths.
    include: Vec<Vec<String>>,
}

impl View {
    /// The view of a request for `route` with these query parameters.
    pub(crate) fn of(route: &Route, pairs: &[(String, String)]) -> Self {
        let include = pairs
            .iter()
            .filter(|(k, _)| k == "include")
            .flat_map(|(_, v)| v.split(','))
            .filter(|p| !p.is_empty())
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect();
        Self {
            linkage_route: matches!(route, Route::Relationship { .. }),
            include,
        }
    }

    /// `response` in the plain view: a JSON:API document becomes its plain form, served as
    /// `application/json`; a response without one (no body) is left alone.
    pub(crate) fn response(&self, mut response: ApiResponse) -> ApiResponse {
        let json_api = response
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            == Some(MEDIA_TYPE);
        if !json_api {
            return response;
        }
        let Ok(doc) = serde_json::from_slice::<Value>(&response.body) else {
            return response;
        };
        let plain = match doc.get("errors").and_then(Value::as_array) {
            Some(errors) => Value::Array(errors.iter().map(error).collect()),
            // A document of `meta` only (a computed sub-resource) is its `meta`.
            None if doc.get("data").is_none() => doc.get("meta").cloned().unwrap_or_default(),
            None => document(&doc, self.linkage_route, &self.include),
        };
        response.body = Bytes::from(plain.to_string());
        response
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(PLAIN_MEDIA_TYPE));
        response
    }
}

/// The plain form of a JSON:API document's primary data.
fn document(doc: &Value, linkage_route: bool, include: &[Vec<String>]) -> Value {
    let data = doc.get("data").unwrap_or(&Value::Null);
    if linkage_route {
        return ids(data);
    }
    let included: Vec<&Value> = doc
        .get("included")
        .and_then(Value::as_array)
        .map(|i| i.iter().collect())
        .unwrap_or_default();
    let paths: Vec<&[String]> = include.iter().map(Vec::as_slice).collect();
    let flat = |r: &Value| flatten(r, &included, &paths);
    match data {
        Value::Array(items) => Value::Array(items.iter().map(flat).collect()),
        Value::Null => Value::Null,
        r => flat(r),
    }
}

/// A resource object as a flat object; a relationship the include `paths` continue through
/// holds the included resources themselves.
fn flatten(r: &Value, included: &[&Value], paths: &[&[String]]) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), r["id"].clone());
    if let Some(attributes) = r.get("attributes").and_then(Value::as_object) {
        out.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for (name, rel) in r
        .get("relationships")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        // A relationship rendered with links only (not read for an included resource).
        let Some(data) = rel.get("data") else {
            continue;
        };
        let further: Vec<&[String]> = paths
            .iter()
            .filter_map(|p| p.split_first())
            .filter(|(first, _)| *first == name)
            .map(|(_, rest)| rest)
            .collect();
        let value = if further.is_empty() {
            ids(data)
        } else {
            let resolve = |ident: &Value| {
                included
                    .iter()
                    .find(|i| i["type"] == ident["type"] && i["id"] == ident["id"])
                    .map_or_else(|| ident["id"].clone(), |i| flatten(i, included, &further))
            };
            match data {
                Value::Array(items) => Value::Array(items.iter().map(resolve).collect()),
                Value::Null => Value::Null,
                ident => resolve(ident),
            }
        };
        out.insert(name.clone(), value);
    }
    if let Some(meta) = r.get("meta") {
        out.insert("meta".into(), meta.clone());
    }
    Value::Object(out)
}

/// Resource linkage as ids.
fn ids(data: &Value) -> Value {
    match data {
        Value::Array(items) => Value::Array(items.iter().map(|i| i["id"].clone()).collect()),
        Value::Null => Value::Null,
        ident => ident["id"].clone(),
    }
}

/// A JSON:API error object in the model's plain form.
fn error(e: &Value) -> Value {
    let mut out = Map::new();
    for member in ["code", "title", "detail", "meta"] {
        if let Some(v) = e.get(member) {
            out.insert(member.into(), v.clone());
        }
    }
    let source = e.get("source").and_then(|s| {
        s.get("pointer")
            .and_then(Value::as_str)
            .map(plain_pointer)
            .or_else(|| {
                s.get("parameter")
                    .or_else(|| s.get("header"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
    });
    // The whole body is the model's source-less error.
    if let Some(source) = source.filter(|s| !s.is_empty()) {
        out.insert("source".into(), source.into());
    }
    Value::Object(out)
}

/// A pointer into the JSON:API document made of a plain body, as a pointer into that body:
/// `/data/attributes/name` is `/name`, `/data/relationships/tags/data/1/id` is `/tags/1`,
/// `/data` (or `/data/0/id` of a relationship route's array) is the body (or its element).
fn plain_pointer(pointer: &str) -> String {
    let Some(rest) = pointer.strip_prefix("/data") else {
        return pointer.to_owned();
    };
    if let Some(attribute) = rest.strip_prefix("/attributes") {
        return attribute.to_owned();
    }
    let rest = match rest.strip_prefix("/relationships/") {
        Some(relationship) => {
            let (name, tail) = relationship.split_once('/').unwrap_or((relationship, ""));
            format!("/{name}{}", tail.strip_prefix("data").unwrap_or(tail))
        }
        None if rest == "/id" => return rest.to_owned(),
        None => rest.to_owned(),
    };
    // The members of a resource identifier are the plain id itself.
    rest.strip_suffix("/id")
        .or_else(|| rest.strip_suffix("/type"))
        .unwrap_or(&rest)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_follow_the_plain_body() {
        for (jsonapi, plain) in [
            ("/data", ""),
            ("/data/attributes/name", "/name"),
            ("/data/attributes/tags/0", "/tags/0"),
            ("/data/relationships/category/data", "/category"),
            ("/data/relationships/category/data/id", "/category"),
            ("/data/relationships/tags/data/1/id", "/tags/1"),
            ("/data/relationships/tags", "/tags"),
            ("/data/id", "/id"),
            ("/data/type", ""),
            ("/data/0/id", "/0"),
            ("/data/2", "/2"),
            ("/meta", "/meta"),
        ] {
            assert_eq!(plain_pointer(jsonapi), plain, "{jsonapi}");
        }
    }

    #[test]
    fn nested_includes_replace_ids_along_their_paths_only() {
        let doc = json!({
            "data": [{
                "type": "products", "id": "1",
                "attributes": { "name": "Tea" },
                "relationships": {
                    "category": { "data": { "type": "categories", "id": "3" } },
                    "tags": { "data": [{ "type": "tags", "id": "7" }] },
                },
            }],
            "included": [{
                "type": "categories", "id": "3",
                "attributes": { "name": "Drinks" },
                "relationships": {
                    "parent": { "data": { "type": "categories", "id": "1" } },
                    "products": { "links": { "related": "x" } },
                },
            }],
        });
        let include = vec![vec!["category".to_owned()]];
        assert_eq!(
            document(&doc, false, &include),
            json!([{
                "id": "1", "name": "Tea",
                "category": { "id": "3", "name": "Drinks", "parent": "1" },
                "tags": ["7"],
            }])
        );
    }
}
