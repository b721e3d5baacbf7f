//! The model's inspection commands, on a configuration file and without a server:
//! `check` (is the file usable), `dump` (the types and the actions each enables, like
//! `oro:api:dump`), `config-dump TYPE` (one type's resolved configuration, like
//! `oro:api:config:dump`) and `openapi` (the OpenAPI document). Their output is YAML (JSON
//! for `openapi`), for people and for scripts.

use jsonapi_config::{
    Attribute, Filter, Operation, Relationship, RelationshipStorage, ResourceType, Schema,
    TitlePart,
};
use serde_json::{Map, Value, json};

/// What `dump` lists.
#[derive(Debug, Clone, Default)]
pub struct DumpFilter {
    /// Only types that enable this action.
    pub action: Option<Operation>,
    /// Only types whose writes accept `meta.upsert`.
    pub upsert: bool,
    /// Only types whose writes accept `meta.validate`.
    pub validate: bool,
}

/// `dump`: every type (that passes `filter`) with its actions, and its upsert and validate
/// options.
pub fn dump(schema: &Schema, filter: &DumpFilter) -> String {
    let mut out = Map::new();
    for ty in schema.types() {
        if filter.action.is_some_and(|a| !ty.actions.allows(a))
            || filter.upsert && ty.upsert.is_empty()
            || filter.validate && !ty.validation
        {
            continue;
        }
        let mut entry = Map::new();
        if let Some(d) = &ty.description {
            entry.insert("description".into(), d.clone().into());
        }
        entry.insert("actions".into(), actions(ty));
        if !ty.upsert.is_empty() {
            entry.insert("upsert".into(), json!(ty.upsert));
        }
        entry.insert("validate".into(), ty.validation.into());
        out.insert(ty.name.clone(), Value::Object(entry));
    }
    yaml(&Value::Object(out))
}

/// `config-dump TYPE`: the type as the engine uses it, defaults resolved; `None` for an
/// unknown type.
pub fn config_dump(schema: &Schema, name: &str) -> Option<String> {
    let ty = schema.resource_type(name)?;
    let mut entry = Map::new();
    entry.insert("id".into(), json!(ty.id));
    if let Some(d) = &ty.description {
        entry.insert("description".into(), d.clone().into());
    }
    entry.insert(
        "title".into(),
        ty.title.iter().map(|t| title_text(&t.0)).collect(),
    );
    entry.insert("attributes".into(), each(&ty.attributes, attribute));
    entry.insert(
        "relationships".into(),
        each(&ty.relationships, relationship),
    );
    entry.insert("filters".into(), each(&ty.filters, filter));
    entry.insert("sorters".into(), json!(ty.sorters));
    entry.insert("indexes".into(), json!(ty.indexes));
    entry.insert("actions".into(), actions(ty));
    entry.insert("validation".into(), ty.validation.into());
    entry.insert("requireIfMatch".into(), ty.require_if_match.into());
    entry.insert("upsert".into(), json!(ty.upsert));
    let mut out = Map::new();
    out.insert(ty.name.clone(), Value::Object(entry));
    Some(yaml(&Value::Object(out)))
}

/// A mapping of the same names to what `show` makes of each.
fn each<'a, T: 'a>(
    items: impl IntoIterator<Item = (&'a String, &'a T)>,
    show: fn(&T) -> Value,
) -> Value {
    items
        .into_iter()
        .map(|(name, item)| (name.clone(), show(item)))
        .collect::<Map<_, _>>()
        .into()
}

fn actions(ty: &ResourceType) -> Value {
    Operation::OF_TYPES
        .into_iter()
        .filter(|a| ty.actions.allows(*a))
        .map(|a| Value::from(a.name()))
        .collect()
}

fn title_text(parts: &[TitlePart]) -> Value {
    parts
        .iter()
        .map(|p| match p {
            TitlePart::Literal(s) => s.clone(),
            TitlePart::Field(f) => format!("{{{f}}}"),
            TitlePart::Related(r, f) => format!("{{{r}.{f}}}"),
        })
        .collect::<String>()
        .into()
}

fn attribute(a: &Attribute) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!(a.data_type));
    if let Some(d) = &a.description {
        o.insert("description".into(), d.clone().into());
    }
    o.insert("required".into(), a.required.into());
    o.insert("nullable".into(), a.nullable.into());
    for (key, value) in [
        ("maxLength", a.max_length.map(Value::from)),
        ("minLength", a.min_length.map(Value::from)),
        ("min", a.min.clone().map(Value::from)),
        ("max", a.max.clone().map(Value::from)),
        ("format", a.format.map(|f| json!(f))),
        ("default", a.default.clone()),
        ("timestamp", a.timestamp.map(|t| json!(t))),
    ] {
        if let Some(v) = value {
            o.insert(key.into(), v);
        }
    }
    if !a.values.is_empty() {
        o.insert("values".into(), json!(a.values));
    }
    o.insert("unique".into(), a.unique.into());
    o.insert("direction".into(), json!(a.direction));
    o.insert("readOnly".into(), a.read_only.into());
    o.insert("writable".into(), a.writable().into());
    Value::Object(o)
}

fn relationship(r: &Relationship) -> Value {
    let mut o = Map::new();
    o.insert("target".into(), r.target.name().into());
    if let Some(d) = &r.description {
        o.insert("description".into(), d.clone().into());
    }
    o.insert("many".into(), r.many.into());
    if let Some(inverse) = &r.inverse {
        o.insert("inverse".into(), inverse.clone().into());
    }
    o.insert("required".into(), r.required.into());
    if !r.many {
        o.insert("onDelete".into(), json!(r.on_delete));
    }
    o.insert(
        "linkageKeptBy".into(),
        match &r.storage {
            RelationshipStorage::Owned => "this type".to_owned(),
            RelationshipStorage::InverseOf { field } => format!("{}.{field}", r.target),
        }
        .into(),
    );
    Value::Object(o)
}

fn filter(f: &Filter) -> Value {
    let mut o = Map::new();
    if let Some(d) = &f.description {
        o.insert("description".into(), d.clone().into());
    }
    o.insert(
        "operators".into(),
        f.operators
            .iter()
            .map(|op| Value::from(op.name()))
            .collect(),
    );
    o.insert("allowArray".into(), f.allow_array.into());
    o.insert("allowRange".into(), f.allow_range.into());
    Value::Object(o)
}

fn yaml(value: &Value) -> String {
    serde_norway::to_string(value).expect("JSON values are YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_dump_resolves_the_defaults() {
        let schema = jsonapi_config::example_domain();
        let text = config_dump(&schema, "products").expect("a type");
        let v: Value = serde_norway::from_str(&text).unwrap();
        let p = &v["products"];
        assert_eq!(p["id"], "sequence");
        assert_eq!(p["attributes"]["sku"]["type"], "string");
        assert_eq!(p["attributes"]["sku"]["nullable"], false);
        assert_eq!(p["attributes"]["createdAt"]["writable"], false);
        assert_eq!(
            p["filters"]["price"]["operators"],
            json!([
                "eq",
                "neq",
                "lt",
                "lte",
                "gt",
                "gte",
                "exists",
                "neq_or_null"
            ])
        );
        assert_eq!(p["relationships"]["category"]["onDelete"], "nullify");
        assert_eq!(
            schema_value(&schema, "categories")["relationships"]["products"]["linkageKeptBy"],
            "products.category"
        );
        assert_eq!(p["title"], json!(["{name}"]));
        assert_eq!(
            p["indexes"],
            json!([["category", "price"], ["category", "name"]])
        );
        assert!(config_dump(&schema, "ghosts").is_none());
    }

    fn schema_value(schema: &Schema, ty: &str) -> Value {
        let v: Value = serde_norway::from_str(&config_dump(schema, ty).unwrap()).unwrap();
        v[ty].clone()
    }
}
