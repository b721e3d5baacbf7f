//! Query and header parameters: what each route reads from the query string (the engine's
//! [`Accepts`] table), as parameter components named `{type}.filter.{field}.{op}`,
//! `{type}.sort`, `page.size`, …
//!
//! Filter values follow the field's data type; lists (`a,b`) and ranges (`a..b`) where the
//! filter allows them. Filters through relationships (`filter[category.name]`, any depth) are
//! described in the text of the operations that accept filters, not listed: every related
//! type's filters again would multiply the parameters of a list many times over.

use jsonapi_config::{DataType, Filter, FilterTarget, IdStrategy, Operator, ResourceType, Schema};
use jsonapi_engine::{Accepts, Operation};
use serde_json::{Map, Value, json};

use crate::values::{self, DECIMAL, SEQUENCE_ID};

/// `{"$ref": "#/components/parameters/{name}"}`
fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    let mut p = json!({ "name": name, "in": "query", "description": description });
    p["schema"] = schema;
    p
}

/// A comma-separated list of `items` (`include=a,b.c`): an array serialized without explode;
/// `min_items` 1 where the engine refuses an empty value.
fn comma_list(name: &str, description: &str, items: Vec<String>, min_items: usize) -> Value {
    let mut p = query(
        name,
        description,
        json!({
            "type": "array",
            "items": { "enum": Value::from(items) },
            "uniqueItems": true,
            "minItems": min_items,
        }),
    );
    p["style"] = "form".into();
    p["explode"] = false.into();
    p
}

/// The parameter components: paging, `meta`, `fields[type]` for every type, and per type its
/// filters, `sort` and `include`.
pub(crate) fn components(schema: &Schema) -> Map<String, Value> {
    let api = &schema.api;
    let mut out = Map::new();
    out.insert(
        "page.number".into(),
        query(
            "page[number]",
            "The page to return, from 1; its links lead to the others.",
            json!({ "type": "integer", "minimum": 1, "default": 1 }),
        ),
    );
    let mut size = json!({ "type": "integer", "minimum": -1, "default": api.page_size });
    if let Some(max) = api.max_results {
        size["maximum"] = max.into();
    }
    out.insert(
        "page.size".into(),
        query(
            "page[size]",
            "Resources per page; -1 returns them all, up to the API's maximum.",
            size,
        ),
    );
    out.insert(
        "page.after".into(),
        query(
            "page[after]",
            "Cursor paging: the page after this cursor (from a `next` link); empty starts at the beginning. Costs the same on every page.",
            json!({ "type": "string" }),
        ),
    );
    out.insert(
        "page.before".into(),
        query(
            "page[before]",
            "Cursor paging: the page before this cursor (from a `prev` link).",
            json!({ "type": "string", "minLength": 1 }),
        ),
    );
    out.insert(
        "meta".into(),
        comma_list(
            "meta",
            "`title` adds each resource's title as `meta.title`.",
            vec!["title".to_owned()],
            1,
        ),
    );
    for ty in schema.types() {
        type_components(schema, ty, &mut out);
    }
    out
}

/// A type's own parameter components: `fields[type]`, `sort`, `include` and its filters.
fn type_components(schema: &Schema, ty: &ResourceType, out: &mut Map<String, Value>) {
    let fields: Vec<String> = ty
        .attributes
        .keys()
        .chain(ty.relationships.keys())
        .cloned()
        .collect();
    out.insert(
        format!("fields.{}", ty.name),
        comma_list(
            &format!("fields[{}]", ty.name),
            &format!(
                "Sparse fieldset: only these fields of `{}` resources are returned.",
                ty.name
            ),
            fields,
            0,
        ),
    );
    let sort = ty
        .sorters
        .iter()
        .flat_map(|s| [s.clone(), format!("-{s}")])
        .collect();
    out.insert(
        format!("{}.sort", ty.name),
        comma_list(
            "sort",
            "Sort keys in order, `-` for descending; by id ascending by default.",
            sort,
            1,
        ),
    );
    out.insert(
        format!("{}.include", ty.name),
        comma_list(
            "include",
            "Related resources to add to `included`, as relationship paths (longer paths than these are accepted too).",
            include_paths(schema, ty, 2),
            0,
        ),
    );
    for (name, parameter) in filters(schema, ty) {
        out.insert(name, parameter);
    }
}

/// Relationship paths from `ty`, up to `depth` relationships long.
fn include_paths(schema: &Schema, ty: &ResourceType, depth: usize) -> Vec<String> {
    let mut paths = Vec::new();
    for (name, rel) in &ty.relationships {
        paths.push(name.clone());
        if depth > 1
            && let Some(target) = schema.resource_type(&rel.target)
        {
            paths.extend(
                include_paths(schema, target, depth - 1)
                    .into_iter()
                    .map(|rest| format!("{name}.{rest}")),
            );
        }
    }
    paths
}

/// The filter parameters of `ty`: every declared filter, bare (equality) and with each of its
/// operators.
fn filters(schema: &Schema, ty: &ResourceType) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for filter in ty.filters.values() {
        let key = |op: Option<Operator>| {
            let mut k = format!("{}.filter.{}", ty.name, filter.field);
            if let Some(op) = op {
                k.push('.');
                k.push_str(op.name());
            }
            k
        };
        if filter.operators.contains(&Operator::Eq) {
            let name = format!("filter[{}]", filter.field);
            out.push((
                key(None),
                filter_parameter(schema, ty, filter, &name, Operator::Eq),
            ));
        }
        for op in &filter.operators {
            let name = format!("filter[{}][{}]", filter.field, op.name());
            out.push((
                key(Some(*op)),
                filter_parameter(schema, ty, filter, &name, *op),
            ));
        }
    }
    out
}

fn filter_parameter(
    schema: &Schema,
    owner: &ResourceType,
    filter: &Filter,
    name: &str,
    op: Operator,
) -> Value {
    let mut description = operator_text(filter, op);
    if let Some(d) = &filter.description {
        description = format!("{d} {description}");
    }
    if matches!(op, Operator::Exists | Operator::Empty) {
        return query(name, &description, json!({ "type": "boolean" }));
    }
    let one = value_pattern(schema, owner, filter);
    let lists = filter.allow_array && op.takes_list();
    let ranges = filter.allow_range && op.takes_range();
    let schema = match one {
        None => json!({ "type": "string" }),
        Some(v) => {
            let mut forms = vec![if lists {
                format!("{v}(?:,{v})*")
            } else {
                v.clone()
            }];
            if ranges {
                forms.push(format!(r"{v}\.\.{v}"));
            }
            json!({ "type": "string", "pattern": format!("^(?:{})$", forms.join("|")) })
        }
    };
    query(name, &description, schema)
}

/// A regular expression for one value of the filter's field; `None` for free text.
fn value_pattern(schema: &Schema, owner: &ResourceType, filter: &Filter) -> Option<String> {
    let id = |strategy: IdStrategy| match strategy {
        IdStrategy::Sequence => Some(SEQUENCE_ID.trim_matches(['^', '$']).to_owned()),
        // Lists split at commas, so one id has none.
        IdStrategy::Ulid | IdStrategy::Client => Some("[^,]*".to_owned()),
    };
    match filter.target {
        FilterTarget::Id => id(owner.id),
        FilterTarget::Relationship { .. } => owner
            .relationships
            .get(&filter.field)
            .and_then(|r| schema.resource_type(&r.target))
            .and_then(|t| id(t.id)),
        FilterTarget::Attribute(dt) => match dt {
            DataType::Integer | DataType::Bigint => Some("-?[0-9]{1,18}".to_owned()),
            DataType::Decimal => Some(DECIMAL.trim_matches(['^', '$']).to_owned()),
            DataType::Float => Some("-?[0-9]{1,15}(?:\\.[0-9]{1,15})?".to_owned()),
            DataType::Boolean => Some("(?:1|0|true|false|True|False|yes|Yes|no|No)".to_owned()),
            DataType::Date => Some(DATE.to_owned()),
            DataType::Datetime => Some(format!(
                "{DATE}(?:T{TIME}(?:\\.[0-9]+)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
            )),
            DataType::Enum => owner.attributes.get(&filter.field).map(|a| {
                let values: Vec<String> = a.values.iter().map(|v| escape(v)).collect();
                format!("(?:{})", values.join("|"))
            }),
            DataType::String | DataType::Text | DataType::Strings if filter.allow_array => {
                Some("[^,]*".to_owned())
            }
            DataType::String | DataType::Text | DataType::Strings | DataType::Json => None,
        },
    }
}

const DATE: &str = "[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])";
const TIME: &str = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]";

/// `s` as a literal in a regular expression.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What an operator selects, for the parameter's description.
fn operator_text(filter: &Filter, op: Operator) -> String {
    let multi = matches!(
        filter.target,
        FilterTarget::Relationship { many: true } | FilterTarget::Attribute(DataType::Strings)
    );
    let field = &filter.field;
    let mut text = match op {
        Operator::Exists => {
            return format!(
                "true: resources whose `{field}` has a value; false: those where it has none."
            );
        }
        Operator::Empty => {
            return format!(
                "true: resources whose `{field}` is empty or has no value; false: the others."
            );
        }
        Operator::Eq if multi => format!("`{field}` holds the value"),
        Operator::Eq => format!("`{field}` equals the value"),
        Operator::Neq if multi => format!("`{field}` holds none of the values"),
        Operator::Neq => format!("`{field}` has a value other than this"),
        Operator::Lt => format!("`{field}` is less than the value"),
        Operator::Lte => format!("`{field}` is at most the value"),
        Operator::Gt => format!("`{field}` is greater than the value"),
        Operator::Gte => format!("`{field}` is at least the value"),
        Operator::NeqOrNull => format!("`{field}` is not the value, or has none"),
        Operator::Contains if multi => format!("`{field}` holds all the values"),
        Operator::Contains => format!("`{field}` contains the text"),
        Operator::NotContains if multi => format!("`{field}` does not hold all the values"),
        Operator::NotContains => format!("`{field}` does not contain the text"),
        Operator::StartsWith => format!("`{field}` starts with the text"),
        Operator::NotStartsWith => format!("`{field}` does not start with the text"),
        Operator::EndsWith => format!("`{field}` ends with the text"),
        Operator::NotEndsWith => format!("`{field}` does not end with the text"),
    };
    text.insert_str(0, "Resources whose ");
    // On many values, `contains` already speaks of all the listed values.
    let all = multi && matches!(op, Operator::Contains | Operator::NotContains);
    if filter.allow_array && op.takes_list() && !all {
        text.push_str("; a list `a,b` means any of them");
    }
    if filter.allow_range && op.takes_range() {
        text.push_str("; a range `a..b` means between them, inclusive");
    }
    text.push('.');
    text
}

/// The query parameters a route of `ty` (whose resources are of type `target`: `ty` itself,
/// or the related type of a relationship route) accepts, as references.
pub(crate) fn for_route(schema: &Schema, target: &ResourceType, accepts: Accepts) -> Vec<Value> {
    let mut out = Vec::new();
    if accepts.filters {
        out.extend(
            filters(schema, target)
                .into_iter()
                .map(|(name, _)| reference(&name)),
        );
        out.push(reference(&format!("{}.sort", target.name)));
    }
    if accepts.paging {
        for p in ["page.number", "page.size", "page.after", "page.before"] {
            out.push(reference(p));
        }
    }
    if accepts.shaping {
        out.push(reference(&format!("{}.include", target.name)));
        out.push(reference(&format!("fields.{}", target.name)));
        out.extend(
            schema
                .types()
                .filter(|t| t.name != target.name)
                .map(|t| reference(&format!("fields.{}", t.name))),
        );
        out.push(reference("meta"));
    }
    out
}

/// `X-Include`: the response options a route offers (`;`-separated).
pub(crate) fn x_include(options: &[&str]) -> Value {
    let mut values: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
    if options.len() > 1 {
        values.push(options.join(";"));
    }
    json!({
        "name": "X-Include",
        "in": "header",
        "description": "Response options, `;`-separated: `noHateoas` leaves links out, `totalCount` adds `X-Include-Total-Count` (every match, not only the page), `deletedCount` adds `X-Include-Deleted-Count`.",
        "schema": { "type": "string", "enum": values },
    })
}

/// The operations `If-Match` guards: the writes of a known resource, and `GET` (where a stale
/// tag is a 412 too, before `If-None-Match` is looked at).
pub(crate) fn takes_if_match(operation: Operation) -> bool {
    matches!(
        operation,
        Operation::Get
            | Operation::Update
            | Operation::Delete
            | Operation::UpdateRelationship
            | Operation::AddRelationship
            | Operation::DeleteRelationship
    )
}

/// The precondition headers an operation reads.
pub(crate) fn preconditions(operation: Operation) -> Vec<Value> {
    let header = |name: &str, description: &str| {
        json!({
            "name": name,
            "in": "header",
            "description": description,
            "schema": { "type": "string" },
        })
    };
    let mut out = Vec::new();
    if takes_if_match(operation) {
        out.push(header(
            "If-Match",
            "`*` or entity tags (`\"…\"`, as `ETag` gives them): the request applies only while the resource is at one of these versions, else 412. Checked by the write's own transaction, so of concurrent writers holding one tag exactly one succeeds.",
        ));
    }
    if operation == Operation::Get {
        out.push(header(
            "If-None-Match",
            "`*` or entity tags: 304 without a body while the resource is at one of these versions.",
        ));
    }
    out
}

/// The `{id}` of a path below `ty`: its id, or with its alternate id header the value of that
/// attribute (so any non-empty text).
pub(crate) fn path_id(ty: &ResourceType) -> Value {
    let mut schema = values::id(ty.id);
    let description = match &ty.alternate_id {
        None => format!("The id of the `{}` resource.", ty.name),
        Some(a) => {
            if let Some(s) = schema.as_object_mut() {
                s.remove("pattern");
                s.insert("minLength".into(), 1.into());
            }
            format!(
                "The id of the `{}` resource; with `{}: {}`, its `{}`.",
                ty.name, a.header, a.value, a.attribute
            )
        }
    };
    json!({ "name": "id", "in": "path", "required": true, "description": description, "schema": schema })
}

/// The storefront headers an operation reads: `X-Localization-ID` and `X-Currency` where the
/// answer's resources (`target`) have localizable or money attributes, and on an item path
/// (`item`) of `ty` its alternate id header. An undeclared value is a 400.
pub(crate) fn storefront(
    schema: &Schema,
    ty: &ResourceType,
    target: Option<&ResourceType>,
    item: bool,
) -> Vec<Value> {
    let header = |name: &str, description: String, values: Vec<&str>| {
        json!({
            "name": name,
            "in": "header",
            "description": description,
            "schema": { "type": "string", "enum": values },
        })
    };
    let api = &schema.api;
    let shows = |pick: fn(&jsonapi_config::Attribute) -> bool| {
        target.is_some_and(|t| t.attributes.values().any(|a| a.readable() && pick(a)))
    };
    let mut out = Vec::new();
    if !api.localizations.is_empty() && shows(|a| a.localizable) {
        out.push(header(
            "X-Localization-ID",
            "The localization of localizable attributes (written in it, and shown in it or the first of its fallbacks that has a value, else the default value); filters and sorts use the default values.".to_owned(),
            api.localizations.ids().collect(),
        ));
    }
    if let Some(currencies) = api.currencies.as_ref().filter(|_| shows(|a| a.money)) {
        out.push(header(
            "X-Currency",
            format!(
                "The currency money attributes are shown in, converted from {} at the configured rates and rounded half away from zero to its minor unit; amounts are written in {} only.",
                currencies.default, currencies.default
            ),
            currencies.by_code.keys().map(String::as_str).collect(),
        ));
    }
    if let Some(a) = ty.alternate_id.as_ref().filter(|_| item) {
        out.push(header(
            &a.header,
            format!(
                "`{}`: the path's id is the resource's `{}`.",
                a.value, a.attribute
            ),
            vec![a.value.as_str()],
        ));
    }
    out
}
