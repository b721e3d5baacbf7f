//! Request documents: checking their shape and reading the primary resource object.
//!
//! Every problem is collected with a pointer into the request, so one response reports all of
//! them.

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiErrors, ErrorKind};

/// A resource identifier in a request (`{"type", "id"}`), with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identifier {
    pub(crate) ty: String,
    /// The `id`, or the `lid` when `local`.
    pub(crate) id: String,
    /// Given as a JSON:API 1.1 `lid`: names a resource created by the same request.
    pub(crate) local: bool,
    pub(crate) pointer: String,
}

/// The `data` of one relationship in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Linkage {
    /// A to-one: an identifier or `null`.
    One(Option<Identifier>),
    /// A to-many.
    Many(Vec<Identifier>),
}

impl Linkage {
    /// The identifiers it holds.
    pub(crate) fn identifiers(&self) -> impl Iterator<Item = &Identifier> {
        let (one, many): (Option<&Identifier>, &[Identifier]) = match self {
            Self::One(one) => (one.as_ref(), &[]),
            Self::Many(many) => (None, many),
        };
        one.into_iter().chain(many)
    }
}

/// One resource object of a request.
#[derive(Debug, Clone)]
pub(crate) struct ResourceObject {
    pub(crate) ty: String,
    pub(crate) id: Option<String>,
    /// A JSON:API 1.1 local id, naming a new resource within the request.
    pub(crate) lid: Option<String>,
    pub(crate) attributes: Map<String, Value>,
    pub(crate) relationships: IndexMap<String, Linkage>,
    pub(crate) meta: Map<String, Value>,
    /// Where the object sits in the request (`/data`).
    pub(crate) pointer: String,
}

impl ResourceObject {
    /// Where a member of the object's `meta` is pointed at in an error: `/meta/{option}`
    /// for a request's one primary resource, as the model writes it (its pointers into a
    /// request's `meta` leave `/data` out), else below the object (`/included/0/meta/...`,
    /// `/data/3/meta/...`). `option` empty points at `meta` itself.
    pub(crate) fn meta_pointer(&self, option: &str) -> String {
        let below = if self.pointer == "/data" {
            ""
        } else {
            self.pointer.as_str()
        };
        if option.is_empty() {
            format!("{below}/meta")
        } else {
            format!("{below}/meta/{option}")
        }
    }

    /// The meta options the object turns on (`false` and `null` turn an option off).
    pub(crate) fn meta_options(&self) -> impl Iterator<Item = &String> {
        self.meta
            .iter()
            .filter(|(_, v)| !matches!(v, Value::Bool(false) | Value::Null))
            .map(|(k, _)| k)
    }
}

pub(crate) fn shape(pointer: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::RequestData, detail).at(pointer)
}

/// Parses a request document whose `data` is one resource object and whose `included` (when
/// `with_included`) holds more resource objects to write with it.
///
/// # Errors
/// Malformed JSON (`bad request http exception`), or a document without a primary resource
/// object; pointers into `included` are `/included/N/...`.
pub(crate) fn parse_compound(body: &[u8], with_included: bool) -> Result<Parsed, ApiErrors> {
    let mut doc = parse_json(body)?;
    keep_numbers_as_written(body, &mut doc);
    let mut errors = Vec::new();
    let top = check_top_level(&doc, with_included, &mut errors);
    let included = included_objects(top, &mut errors);
    let data = top.and_then(|t| t.get("data"));
    let object = match data {
        None if top.is_some() => {
            errors.push(shape("/data", "The primary data object should exist"));
            None
        }
        None => None,
        Some(Value::Object(o)) => resource_object(o, "/data", &mut errors),
        Some(_) => {
            errors.push(shape(
                "/data",
                "The primary data object should be an object.",
            ));
            None
        }
    };
    match object {
        Some(o) => Ok(Parsed {
            primary: o,
            included,
            errors,
        }),
        None => Err(ApiErrors(errors)),
    }
}

/// A request document: the resource objects as far as they could be read, and every shape
/// problem found (to be reported together with the problems later checks find).
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) primary: ResourceObject,
    pub(crate) included: Vec<ResourceObject>,
    pub(crate) errors: Vec<ApiError>,
}

/// The refusal of an item of `data` or `included` (at `pointer`) that is no object.
pub(crate) fn not_an_object(pointer: &str) -> ApiError {
    let detail = if pointer.starts_with("/included") {
        "An included item should be a resource object."
    } else {
        "The primary resource object should be an object."
    };
    shape(pointer, detail)
}

/// The resource objects of a document's `included` array.
fn included_objects(
    top: Option<&Map<String, Value>>,
    errors: &mut Vec<ApiError>,
) -> Vec<ResourceObject> {
    let mut included = Vec::new();
    match top.and_then(|t| t.get("included")) {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("/included/{i}");
                match item {
                    Value::Object(o) => included.extend(resource_object(o, &at, errors)),
                    _ => errors.push(not_an_object(&at)),
                }
            }
        }
        Some(_) => errors.push(shape(
            "/included",
            "The 'included' property should be an array.",
        )),
    }
    included
}

/// Parses a batch document (`PATCH /{type}`): `data` an array of resource objects, and
/// optionally `included`. Pointers are `/data/N/...` and `/included/N/...`.
///
/// # Errors
/// Malformed JSON, or a document whose `data` is missing, empty or not an array.
pub(crate) fn parse_batch(body: &[u8]) -> Result<Batch, ApiErrors> {
    parse_items(body, true)
}

/// Parses a stored chunk of a batch: as [`parse_batch`], but its `data` may be empty (a chunk
/// of an import's included items linked to no `data` item, which the worker reports).
///
/// # Errors
/// As [`parse_batch`].
pub(crate) fn parse_chunk(body: &[u8]) -> Result<Batch, ApiErrors> {
    parse_items(body, false)
}

fn parse_items(body: &[u8], data_required: bool) -> Result<Batch, ApiErrors> {
    let mut doc = parse_json(body)?;
    // `{}` and `[]` hold no batch, as an empty body does (the model reads all three as an
    // empty array: acceptance row 86).
    if doc.as_object().is_some_and(Map::is_empty) || doc.as_array().is_some_and(Vec::is_empty) {
        return Err(empty_request().into());
    }
    keep_numbers_as_written(body, &mut doc);
    let mut errors = Vec::new();
    let top = check_top_level(&doc, true, &mut errors);
    let included = included_objects(top, &mut errors);
    let mut primary = Vec::new();
    match top.and_then(|t| t.get("data")) {
        None if top.is_some() => errors.push(shape(
            "/data",
            "The primary data object collection should exist.",
        )),
        None => {}
        Some(v) if data_required && (v.is_null() || v.as_array().is_some_and(Vec::is_empty)) => {
            errors.push(shape(
                "/data",
                "The primary data object collection should not be empty.",
            ))
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("/data/{i}");
                match item {
                    Value::Object(o) => primary.extend(resource_object(o, &at, &mut errors)),
                    _ => errors.push(not_an_object(&at)),
                }
            }
        }
        Some(_) => errors.push(shape(
            "/data",
            "The primary data object collection should be an array.",
        )),
    }
    if primary.is_empty() && !errors.is_empty() {
        return Err(ApiErrors(errors));
    }
    Ok(Batch {
        primary,
        included,
        errors,
    })
}

/// A batch document: its resource objects as far as they could be read, and every shape
/// problem found.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) primary: Vec<ResourceObject>,
    pub(crate) included: Vec<ResourceObject>,
    pub(crate) errors: Vec<ApiError>,
}

/// Parses the body of a relationship endpoint: `{"data": null | identifier | [identifiers]}`.
///
/// # Errors
/// Malformed JSON or a wrong shape, with pointers.
pub(crate) fn parse_linkage(body: &[u8]) -> Result<Linkage, ApiErrors> {
    let doc = parse_json(body)?;
    let mut errors = Vec::new();
    let top = check_top_level(&doc, false, &mut errors);
    let linkage = match top {
        Some(t) if t.contains_key("data") => relationship(&doc, "", &mut errors),
        Some(_) => {
            errors.push(shape("/data", "The 'data' property is required"));
            None
        }
        None => None,
    };
    match linkage {
        Some(l) if errors.is_empty() => Ok(l),
        _ => Err(ApiErrors(errors)),
    }
}

pub(crate) fn parse_json(body: &[u8]) -> Result<Value, ApiErrors> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(empty_request().into());
    }
    serde_json::from_slice(body).map_err(|e| {
        // The model's words; where the parser stopped goes to the log (a request body is
        // short; an import's file names its line and column, `batch::stream`).
        tracing::debug!(reason = %e, "a request body is not JSON");
        ApiError::new(ErrorKind::BadRequest, "Invalid json message received.").into()
    })
}

fn empty_request() -> ApiError {
    shape("", "The request data should not be empty.")
}

/// Attribute values written as JSON numbers whose digits a double cannot hold (serde_json reads
/// `0.1000000000000000001` as `0.1`) are put back as written, as strings, so that a decimal gets
/// every digit sent (or is refused for having too many) and an integer is not rounded into
/// being one. Only documents holding a fractional or huge number are read a second time.
fn keep_numbers_as_written(body: &[u8], doc: &mut Value) {
    let read_as_double = |o: &Map<String, Value>| {
        o.values()
            .any(|v| matches!(v, Value::Number(n) if n.is_f64()))
    };
    // The attributes of each resource object: `data` (index `None`, or the item's index when
    // `data` is an array, as in a batch) and each `included` item.
    let mut objects: Vec<(&str, Option<usize>, &mut Map<String, Value>)> = Vec::new();
    for (key, value) in doc.as_object_mut().into_iter().flatten() {
        match (key.as_str(), value) {
            ("data" | "included", Value::Array(items)) => {
                let section = if key == "data" { "data" } else { "included" };
                objects.extend(
                    items.iter_mut().enumerate().filter_map(|(i, item)| {
                        attributes_mut(item).map(|a| (section, Some(i), a))
                    }),
                );
            }
            ("data", data) => objects.extend(attributes_mut(data).map(|a| ("data", None, a))),
            _ => {}
        }
    }
    objects.retain(|(_, _, attrs)| read_as_double(attrs));
    if objects.is_empty() {
        return;
    }
    let Ok(raw) = serde_json::from_slice::<RawObject<'_>>(body) else {
        return;
    };
    let raw_items = |section: &str| {
        raw.get(section)
            .and_then(|i| serde_json::from_str::<Vec<&RawValue>>(i.get()).ok())
    };
    let (raw_data, raw_included) = (raw_items("data"), raw_items("included"));
    for (section, index, attrs) in objects {
        let written = match (section, index) {
            ("data", None) => raw_attributes(raw.get("data").copied()),
            ("data", Some(i)) => raw_attributes(raw_data.as_ref().and_then(|r| r.get(i).copied())),
            (_, i) => raw_attributes(
                raw_included
                    .as_ref()
                    .and_then(|r| r.get(i.unwrap_or_default()).copied()),
            ),
        };
        let Some(written) = written else { continue };
        for (name, value) in attrs.iter_mut() {
            if let (Value::Number(n), Some(literal)) = (&*value, written.get(name))
                && !crate::numbers::survives(literal.get(), n)
            {
                *value = Value::String(literal.get().to_owned());
            }
        }
    }
}

/// An object with its members as written.
type RawObject<'a> = std::collections::HashMap<String, &'a RawValue>;

/// The `attributes` of a resource object, as written.
fn raw_attributes(object: Option<&RawValue>) -> Option<RawObject<'_>> {
    let object = serde_json::from_str::<RawObject<'_>>(object?.get()).ok()?;
    serde_json::from_str(object.get("attributes")?.get()).ok()
}

/// The `attributes` object of a resource object, if it has one.
fn attributes_mut(resource: &mut Value) -> Option<&mut Map<String, Value>> {
    resource.get_mut("attributes")?.as_object_mut()
}

fn check_top_level<'a>(
    doc: &'a Value,
    with_included: bool,
    errors: &mut Vec<ApiError>,
) -> Option<&'a Map<String, Value>> {
    let Value::Object(top) = doc else {
        errors.push(shape("", "The request data should be a JSON object."));
        return None;
    };
    for (key, value) in top {
        match key.as_str() {
            "data" => {}
            "jsonapi" | "meta" | "links" => {
                if !value.is_object() {
                    errors.push(shape(
                        &format!("/{key}"),
                        format!("The '{key}' property should be an object."),
                    ));
                }
            }
            "included" if with_included => {}
            "included" => errors.push(shape(
                "/included",
                "The 'included' section is not supported by this endpoint.",
            )),
            _ => errors.push(shape(
                &format!("/{}", escape_pointer(key)),
                format!(
                    "The '{key}' property is not allowed at the top level of a request document."
                ),
            )),
        }
    }
    Some(top)
}

/// Linkage of the wrong kind for its relationship (an array for a to-one, or not an array for
/// a to-many), at `pointer`.
pub(crate) fn wrong_shape(many: bool, pointer: &str) -> ApiError {
    let detail = if many {
        "The 'data' property of a to-many relationship should be an array."
    } else {
        "The 'data' property of a to-one relationship should be a resource identifier or null."
    };
    shape(pointer, detail)
}

/// Escapes a member name for a JSON pointer (RFC 6901).
pub(crate) fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn string_member(
    obj: &Map<String, Value>,
    key: &str,
    pointer: &str,
    errors: &mut Vec<ApiError>,
) -> Option<String> {
    // The model's messages: a null or blank member (`type`, `id`, `lid`) names nothing.
    let problem = |what: &str| {
        shape(
            &format!("{pointer}/{key}"),
            format!("The '{key}' property should not be {what}"),
        )
    };
    match obj.get(key) {
        None => None,
        Some(Value::Null) => {
            errors.push(problem("null"));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.push(problem("blank"));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(shape(
                &format!("{pointer}/{key}"),
                format!("The '{key}' property should be a string."),
            ));
            None
        }
    }
}

pub(crate) fn resource_object(
    obj: &Map<String, Value>,
    pointer: &str,
    errors: &mut Vec<ApiError>,
) -> Option<ResourceObject> {
    let ty = string_member(obj, "type", pointer, errors);
    if !obj.contains_key("type") {
        errors.push(shape(
            &format!("{pointer}/type"),
            "The 'type' property is required",
        ));
    }
    let id = string_member(obj, "id", pointer, errors);
    let lid = string_member(obj, "lid", pointer, errors);
    let mut attributes = Map::new();
    let mut relationships = IndexMap::new();
    let mut meta = Map::new();
    for (key, value) in obj {
        let here = format!("{pointer}/{}", escape_pointer(key));
        match key.as_str() {
            "type" | "id" | "lid" | "links" => {}
            "attributes" => match value {
                Value::Object(a) => attributes = a.clone(),
                _ => errors.push(shape(
                    &here,
                    "The 'attributes' property should be an object.",
                )),
            },
            "meta" => match value {
                Value::Object(m) => meta = m.clone(),
                _ => errors.push(shape(&here, "The 'meta' property should be an object.")),
            },
            "relationships" => match value {
                Value::Object(rels) => {
                    for (name, rel) in rels {
                        let at = format!("{here}/{}", escape_pointer(name));
                        if let Some(linkage) = relationship(rel, &at, errors) {
                            relationships.insert(name.clone(), linkage);
                        }
                    }
                }
                _ => errors.push(shape(
                    &here,
                    "The 'relationships' property should be an object.",
                )),
            },
            _ => errors.push(shape(
                &here,
                format!("The '{key}' property is not allowed in a resource object."),
            )),
        }
    }
    // The object is returned with the members that could be read, so that later checks
    // (type, id, fields) can add their problems to the same response.
    Some(ResourceObject {
        ty: ty.unwrap_or_default(),
        id,
        lid,
        attributes,
        relationships,
        meta,
        pointer: pointer.to_owned(),
    })
}

pub(crate) fn relationship(
    rel: &Value,
    pointer: &str,
    errors: &mut Vec<ApiError>,
) -> Option<Linkage> {
    let Value::Object(rel) = rel else {
        errors.push(shape(
            pointer,
            "A relationship should be an object with a 'data' property.",
        ));
        return None;
    };
    let Some(data) = rel.get("data") else {
        errors.push(shape(pointer, "The 'data' property is required"));
        return None;
    };
    let at = format!("{pointer}/data");
    match data {
        Value::Null => Some(Linkage::One(None)),
        Value::Object(o) => identifier(o, &at, errors).map(|i| Linkage::One(Some(i))),
        Value::Array(items) => {
            let before = errors.len();
            let ids: Vec<Identifier> = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let at = format!("{at}/{i}");
                    match item {
                        Value::Object(o) => identifier(o, &at, errors),
                        _ => {
                            errors.push(shape(
                                &at,
                                "A resource identifier should be an object with 'type' and 'id'.",
                            ));
                            None
                        }
                    }
                })
                .collect();
            (errors.len() == before).then_some(Linkage::Many(ids))
        }
        _ => {
            errors.push(shape(
                &at,
                "The 'data' property should be null, a resource identifier or an array of them.",
            ));
            None
        }
    }
}

fn identifier(
    obj: &Map<String, Value>,
    pointer: &str,
    errors: &mut Vec<ApiError>,
) -> Option<Identifier> {
    let before = errors.len();
    let ty = string_member(obj, "type", pointer, errors);
    let id = string_member(obj, "id", pointer, errors);
    let lid = string_member(obj, "lid", pointer, errors);
    if !obj.contains_key("type") {
        errors.push(shape(
            &format!("{pointer}/type"),
            "The 'type' property is required",
        ));
    }
    if !obj.contains_key("id") && !obj.contains_key("lid") {
        errors.push(shape(
            &format!("{pointer}/id"),
            "The 'id' property is required",
        ));
    }
    if let Some(key) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "id" | "lid" | "meta"))
    {
        errors.push(shape(
            &format!("{pointer}/{}", escape_pointer(key)),
            format!("The '{key}' property is not allowed in a resource identifier."),
        ));
    }
    let local = id.is_none();
    (errors.len() == before).then(|| Identifier {
        ty: ty.unwrap_or_default(),
        id: id.or(lid).unwrap_or_default(),
        local,
        pointer: pointer.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointers(body: &str) -> Vec<String> {
        let errors = match parse_compound(body.as_bytes(), false) {
            Ok(parsed) => parsed.errors,
            Err(e) => e.0,
        };
        errors
            .into_iter()
            .map(|e| match e.source {
                Some(crate::error::Source::Pointer(p)) => p,
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn reads_a_resource_object() {
        let o = parse_compound(
            br#"{"data":{"type":"products","attributes":{"name":"x"},"relationships":{"category":{"data":{"type":"categories","id":"1"}},"tags":{"data":[]}}}}"#,
            false,
        )
        .unwrap()
        .primary;
        assert_eq!(o.ty, "products");
        assert_eq!(o.attributes["name"], "x");
        assert_eq!(o.relationships["tags"], Linkage::Many(vec![]));
    }

    #[test]
    fn reports_every_shape_problem_with_a_pointer() {
        assert_eq!(
            pointers(r#"{"data":{"id":5,"attributes":[]}}"#),
            ["/data/type", "/data/id", "/data/attributes"]
        );
        assert_eq!(pointers(r#"{"data":[]}"#), ["/data"]);
        assert_eq!(pointers(r#"{}"#), ["/data"]);
        assert_eq!(
            pointers(r#"{"data":{"type":"a","relationships":{"c":{"data":[{"type":"x"}]}}}}"#),
            ["/data/relationships/c/data/0/id"]
        );
        assert_eq!(pointers(""), [""]);
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let e = parse_compound(b"{", false).unwrap_err();
        assert_eq!(e.0[0].kind, ErrorKind::BadRequest);
    }
}
