//! Query parameters: parsed once against the schema, checked against what the route supports,
//! with every problem reported as a `filter constraint` (or `sort constraint`) naming the exact
//! parameter.

use std::collections::HashMap;

use jsonapi_config::{ResourceType, Schema};

use crate::error::{ApiError, ApiErrors, ErrorKind};
use crate::filter::{self, Field, PathPredicate};
use jsonapi_config::Operation;

/// How many resources a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageSize {
    /// At most this many.
    Size(usize),
    /// `page[size]=-1`: no paging (still capped by `maxResults`).
    Unpaged,
}

/// `page[number]`/`page[size]`, or a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paging {
    pub(crate) number: usize,
    pub(crate) size: PageSize,
    /// `page[after]`: continue after this cursor.
    pub(crate) after: Option<String>,
    /// `page[before]`: the page before this cursor.
    pub(crate) before: Option<String>,
}

/// What an operation reads from the query string; anything else is refused with a
/// `filter constraint`. One table for the actions and for the API's OpenAPI document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepts {
    /// `page[number]`, `page[size]`, `page[after]`, `page[before]`
    pub paging: bool,
    /// `filter[...]` and `sort`
    pub filters: bool,
    /// `fields[...]`, `include` and `meta`
    pub shaping: bool,
}

impl Accepts {
    /// A collection: everything.
    const COLLECTION: Self = Self {
        paging: true,
        filters: true,
        shaping: true,
    };
    /// One resource (get, create, update, to-one related): shaping only.
    const SINGLE: Self = Self {
        paging: false,
        filters: false,
        shaping: true,
    };
    /// Nothing (delete, relationship writes, to-one linkage).
    const NONE: Self = Self {
        paging: false,
        filters: false,
        shaping: false,
    };

    /// What `operation` accepts; `to_many` tells whether the route's relationship (of
    /// get_subresource and get_relationship) is a to-many one.
    pub fn of(operation: Operation, to_many: bool) -> Self {
        match operation {
            Operation::GetList => Self::COLLECTION,
            Operation::Get | Operation::Create | Operation::Update => Self::SINGLE,
            Operation::GetSubresource if to_many => Self::COLLECTION,
            Operation::GetSubresource => Self::SINGLE,
            // Linkage pages and filters its members, but renders no resources to shape.
            Operation::GetRelationship if to_many => Self {
                shaping: false,
                ..Self::COLLECTION
            },
            // delete_list selects with filters (`sort` is read, and has no effect).
            Operation::DeleteList => Self {
                paging: false,
                filters: true,
                shaping: false,
            },
            Operation::GetRelationship
            | Operation::Delete
            | Operation::UpdateRelationship
            | Operation::AddRelationship
            | Operation::DeleteRelationship
            | Operation::AddSubresource
            | Operation::Options
            | Operation::UpdateList
            | Operation::Token
            | Operation::Authorize
            | Operation::Jwks
            | Operation::Operations
            | Operation::Docs => Self::NONE,
        }
    }
}

/// One sort key: a field and whether it is descending.
pub(crate) type SortKey = (Field, bool);

/// The checked query parameters of one request.
#[derive(Debug, Clone)]
pub(crate) struct QueryParams {
    pub(crate) paging: Paging,
    pub(crate) filters: Vec<PathPredicate>,
    /// Sort keys; empty = by id ascending.
    pub(crate) sort: Vec<SortKey>,
    /// `fields[type]`: the members rendered for that type.
    pub(crate) fields: HashMap<String, Vec<String>>,
    /// `include` paths (relationship names).
    pub(crate) include: Vec<Vec<String>>,
    /// `meta=title`
    pub(crate) meta_title: bool,
    /// Every parameter as sent, for links that keep them.
    pub(crate) pairs: Vec<(String, String)>,
}

fn constraint(name: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Filter, detail).param(name)
}

pub(crate) fn unsupported(name: &str) -> ApiError {
    constraint(name, "The filter is not supported.")
}

/// Parses `key=value` pairs of a query string.
pub(crate) fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Parses the query parameters of a request on `ty`.
///
/// # Errors
/// Every parameter the route does not accept and every malformed value, each with
/// `source.parameter`.
pub(crate) fn parse(
    schema: &Schema,
    ty: &ResourceType,
    pairs: Vec<(String, String)>,
    accepts: Accepts,
) -> Result<QueryParams, ApiErrors> {
    let settings = &schema.api;
    let mut errors = Vec::new();
    let mut q = QueryParams {
        paging: Paging {
            number: 1,
            size: PageSize::Size(settings.page_size),
            after: None,
            before: None,
        },
        filters: Vec::new(),
        sort: Vec::new(),
        fields: HashMap::new(),
        include: Vec::new(),
        meta_title: false,
        pairs: Vec::new(),
    };
    let mut number_given = false;
    for (name, value) in &pairs {
        let result = match name.as_str() {
            "page[number]" if accepts.paging => parse_page_number(value).map(|n| {
                q.paging.number = n;
                number_given = true;
            }),
            "page[size]" if accepts.paging => {
                parse_page_size(value, settings.max_results).map(|s| q.paging.size = s)
            }
            // An empty `page[after]` starts cursor paging at the beginning.
            "page[after]" if accepts.paging => {
                q.paging.after = Some(value.clone());
                Ok(())
            }
            "page[before]" if accepts.paging => {
                cursor_value(value).map(|c| q.paging.before = Some(c))
            }
            "sort" if accepts.filters => parse_sort(ty, value).map(|s| q.sort = s),
            "include" if accepts.shaping => parse_include(schema, ty, value).map(|i| q.include = i),
            "meta" if accepts.shaping => parse_meta(value).map(|t| q.meta_title = t),
            n if accepts.filters && n.starts_with("filter[") => {
                filter::parse(schema, ty, n, value).map(|f| q.filters.push(f))
            }
            n if accepts.shaping && n.starts_with("fields[") && n.ends_with(']') => {
                parse_fields(schema, &n[7..n.len() - 1], value).map(|(t, f)| {
                    q.fields.insert(t, f);
                })
            }
            _ => Err(unsupported(name)),
        };
        if let Err(e) = result {
            errors.push(e.param(name));
        }
    }
    let cursors = usize::from(q.paging.after.is_some()) + usize::from(q.paging.before.is_some());
    if cursors > 1 || (cursors == 1 && number_given) {
        errors.push(constraint(
            "page[after]",
            "Use one of page[number], page[after] and page[before].",
        ));
    }
    if cursors == 1 && q.paging.size == PageSize::Unpaged {
        errors.push(constraint(
            "page[size]",
            "Cursor paging needs a page size; page[size]=-1 cannot be combined with a cursor.",
        ));
    }
    q.pairs = pairs;
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(ApiErrors(errors))
    }
}

fn parse_page_number(value: &str) -> Result<usize, ApiError> {
    let n: usize = value.parse().map_err(|_| {
        ApiError::new(
            ErrorKind::Filter,
            format!("Expected unsigned integer value. Given \"{value}\"."),
        )
    })?;
    if n == 0 {
        return Err(ApiError::new(
            ErrorKind::Filter,
            "The value should be greater than or equals to 1.",
        ));
    }
    Ok(n)
}

fn parse_page_size(value: &str, max_results: Option<usize>) -> Result<PageSize, ApiError> {
    let n: i64 = value.parse().map_err(|_| {
        ApiError::new(
            ErrorKind::Filter,
            format!("Expected integer value. Given \"{value}\"."),
        )
    })?;
    match n {
        -1 => Ok(PageSize::Unpaged),
        n if n < -1 => Err(ApiError::new(
            ErrorKind::Filter,
            "The value should be greater than or equals to -1.",
        )),
        n => {
            let n = n as usize;
            match max_results {
                Some(max) if n > max => Err(ApiError::new(
                    ErrorKind::Filter,
                    format!("The value should be less than or equals to {max}."),
                )),
                _ => Ok(PageSize::Size(n)),
            }
        }
    }
}

fn cursor_value(value: &str) -> Result<String, ApiError> {
    if value.is_empty() {
        return Err(ApiError::new(
            ErrorKind::Filter,
            "The cursor is empty; use the value of a next or prev link.",
        ));
    }
    Ok(value.to_owned())
}

fn parse_sort(ty: &ResourceType, value: &str) -> Result<Vec<SortKey>, ApiError> {
    let mut keys = Vec::new();
    for part in value.split(',') {
        let (name, desc) = match part.strip_prefix('-') {
            Some(n) => (n, true),
            None => (part, false),
        };
        if !ty.sorters.iter().any(|s| s == name) {
            return Err(ApiError::new(
                ErrorKind::Sort,
                format!("Sorting by \"{name}\" field is not supported."),
            ));
        }
        let field = if name == "id" {
            Field::Id
        } else if let Some(a) = ty.attributes.get(name) {
            Field::Attribute(name.to_owned(), a.data_type)
        } else {
            Field::Relationship(name.to_owned(), false)
        };
        if keys.iter().any(|(f, _)| *f == field) {
            return Err(ApiError::new(
                ErrorKind::Sort,
                format!("The field \"{name}\" appears twice in sort."),
            ));
        }
        keys.push((field, desc));
    }
    Ok(keys)
}

fn parse_include(
    schema: &Schema,
    ty: &ResourceType,
    value: &str,
) -> Result<Vec<Vec<String>>, ApiError> {
    let mut paths = Vec::new();
    for path in value.split(',').filter(|p| !p.is_empty()) {
        let mut current = ty;
        let mut segments = Vec::new();
        for segment in path.split('.') {
            let rel = current.relationships.get(segment).ok_or_else(|| {
                ApiError::new(
                    ErrorKind::Filter,
                    format!(
                        "\"{}\" has no relationship \"{segment}\" (in include \"{path}\").",
                        current.name
                    ),
                )
            })?;
            segments.push(segment.to_owned());
            current = schema.target(rel);
        }
        paths.push(segments);
    }
    Ok(paths)
}

fn parse_meta(value: &str) -> Result<bool, ApiError> {
    let mut title = false;
    for name in value.split(',') {
        match name {
            "title" => title = true,
            other => {
                return Err(ApiError::new(
                    ErrorKind::Filter,
                    format!("The \"{other}\" is not known meta property. Known properties: title."),
                ));
            }
        }
    }
    Ok(title)
}

fn parse_fields(schema: &Schema, ty: &str, value: &str) -> Result<(String, Vec<String>), ApiError> {
    let target = schema
        .resource_type(ty)
        .ok_or_else(|| ApiError::new(ErrorKind::Filter, "An entity type is not known."))?;
    let names: Vec<String> = value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if value.starts_with(',') || value.ends_with(',') || value.contains(",,") {
        return Err(ApiError::new(
            ErrorKind::Filter,
            format!("Expected an array of not empty strings. Given \"{value}\"."),
        ));
    }
    if let Some(unknown) = names.iter().find(|n| !target.has_field(n)) {
        return Err(ApiError::new(
            ErrorKind::Filter,
            format!("\"{ty}\" has no field \"{unknown}\"."),
        ));
    }
    Ok((ty.to_owned(), names))
}

/// Re-encodes parameters for a link: the paging parameters are replaced by `paging`.
pub(crate) fn link_query(pairs: &[(String, String)], paging: &[(&str, String)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "page[number]" | "page[after]" | "page[before]"))
    {
        out.append_pair(k, v);
    }
    for (k, v) in paging {
        out.append_pair(k, v);
    }
    out.finish()
}

/// The query parameters of a request whose body may carry more of them (method override,
/// delete_list): the body's, nested (`{"filter": {"price": {"gt": "5"}}}`) or flat
/// (`{"filter[price][gt]": "5"}`), then the query string's, which win.
///
/// # Errors
/// A body that is not a JSON object of parameters.
pub(crate) fn merge_body_pairs(
    query: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>, ApiErrors> {
    let from_query = pairs(query);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(from_query);
    }
    let invalid = || {
        ApiErrors::from(ApiError::new(
            ErrorKind::RequestData,
            "The request body should be a JSON object of query parameters, like {\"filter\": {\"price\": {\"gt\": \"5\"}}}.",
        ))
    };
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|_| invalid())?;
    let serde_json::Value::Object(top) = doc else {
        return Err(invalid());
    };
    let mut out = Vec::new();
    for (key, value) in top {
        flatten(key, &value, &mut out).map_err(|()| invalid())?;
    }
    out.retain(|(k, _)| !from_query.iter().any(|(q, _)| q == k));
    out.extend(from_query);
    Ok(out)
}

fn flatten(
    key: String,
    value: &serde_json::Value,
    out: &mut Vec<(String, String)>,
) -> Result<(), ()> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(format!("{key}[{k}]"), v, out)?;
            }
        }
        Value::String(s) => out.push((key, s.clone())),
        Value::Number(n) => out.push((key, n.to_string())),
        Value::Bool(b) => out.push((key, b.to_string())),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect();
            out.push((key, parts.ok_or(())?.join(",")));
        }
        Value::Null => return Err(()),
    }
    Ok(())
}
