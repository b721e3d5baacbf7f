//! What a list request may ask of a type (filters, sorters) and the indexes that serve it.

use indexmap::IndexMap;

use super::names::check_description;
use super::problem::{Checked, problem};
use crate::raw::RawFilter;
use crate::schema::{
    DataType, Filter, FilterTarget, IdStrategy, Operator, RelationshipStorage, ResourceType,
};

fn default_operators(target: FilterTarget, id: IdStrategy) -> Vec<Operator> {
    use Operator::*;
    match target {
        FilterTarget::Id if id == IdStrategy::Sequence => vec![Eq, Neq, Lt, Lte, Gt, Gte],
        FilterTarget::Id => vec![Eq, Neq],
        FilterTarget::Relationship { .. } => vec![Eq, Neq, Exists, NeqOrNull],
        FilterTarget::Attribute(dt) => match dt {
            DataType::String | DataType::Boolean | DataType::Enum => {
                vec![Eq, Neq, Exists, NeqOrNull]
            }
            DataType::Text | DataType::Json | DataType::Strings => vec![Exists],
            DataType::Integer
            | DataType::Bigint
            | DataType::Decimal
            | DataType::Float
            | DataType::Date
            | DataType::Datetime => vec![Eq, Neq, Lt, Lte, Gt, Gte, Exists, NeqOrNull],
        },
    }
}

pub(super) fn check_filters(
    ty: &ResourceType,
    raw: &IndexMap<String, Option<RawFilter>>,
) -> Checked<IndexMap<String, Filter>> {
    let mut filters = IndexMap::new();
    let mut all: Vec<(&String, Option<&RawFilter>)> =
        raw.iter().map(|(k, v)| (k, v.as_ref())).collect();
    let id = "id".to_owned();
    if !raw.contains_key("id") {
        // The model system always offers `filter[id]`.
        all.insert(0, (&id, None));
    }
    for (field, spec) in all {
        let path = ["types", ty.name.as_str(), "filters", field.as_str()];
        let target = if field == "id" {
            FilterTarget::Id
        } else if let Some(a) = ty.attributes.get(field) {
            if !a.readable() {
                return Err(problem(&path, "an input-only attribute cannot be filtered"));
            }
            FilterTarget::Attribute(a.data_type)
        } else if let Some(r) = ty.relationships.get(field) {
            FilterTarget::Relationship { many: r.many }
        } else {
            return Err(problem(
                &path,
                "not an attribute or relationship of this type",
            ));
        };
        let mut operators = default_operators(target, ty.id);
        let no_options = RawFilter::default();
        let spec = spec.unwrap_or(&no_options);
        for op in &spec.operators {
            let Some(op) = Operator::parse(op) else {
                let mut p = path.to_vec();
                p.push("operators");
                let known: Vec<_> = Operator::ALL.iter().map(|o| o.name()).collect();
                return Err(problem(
                    &p,
                    format!("unknown operator \"{op}\"; known: {}", known.join(", ")),
                ));
            };
            if !operators.contains(&op) {
                operators.push(op);
            }
        }
        let (array_default, range_default) = match target {
            FilterTarget::Attribute(DataType::String | DataType::Text | DataType::Boolean) => {
                (false, false)
            }
            FilterTarget::Attribute(DataType::Enum) => (true, false),
            FilterTarget::Attribute(DataType::Strings | DataType::Json) => (true, false),
            FilterTarget::Relationship { .. } => (true, false),
            FilterTarget::Id if ty.id != IdStrategy::Sequence => (true, false),
            _ => (true, true),
        };
        filters.insert(
            field.clone(),
            Filter {
                field: field.clone(),
                target,
                operators,
                allow_array: spec.allow_array.unwrap_or(array_default),
                allow_range: spec.allow_range.unwrap_or(range_default),
                description: check_description(&path, spec.description.as_ref())?,
            },
        );
    }
    Ok(filters)
}

pub(super) fn check_sorters(ty: &ResourceType, raw: &[String]) -> Checked<Vec<String>> {
    let mut sorters = vec!["id".to_owned()];
    for (i, field) in raw.iter().enumerate() {
        let index = i.to_string();
        let path = ["types", ty.name.as_str(), "sorters", index.as_str()];
        let ok = field == "id"
            || ty.attributes.get(field).is_some_and(|a| {
                a.readable() && !matches!(a.data_type, DataType::Json | DataType::Strings)
            })
            || ty.relationships.get(field).is_some_and(|r| !r.many);
        if !ok {
            return Err(problem(
                &path,
                format!(
                    "\"{field}\" is not a sortable field: use id, a scalar attribute or a to-one relationship"
                ),
            ));
        }
        if !sorters.contains(field) {
            sorters.push(field.clone());
        }
    }
    Ok(sorters)
}

pub(super) fn check_indexes(ty: &ResourceType, raw: &[Vec<String>]) -> Checked<Vec<[String; 2]>> {
    let mut indexes = Vec::new();
    for (i, fields) in raw.iter().enumerate() {
        let index = i.to_string();
        let path = ["types", ty.name.as_str(), "indexes", index.as_str()];
        let [first, second] = fields.as_slice() else {
            return Err(problem(
                &path,
                "a composite index names two fields: [equality field, sort field]",
            ));
        };
        for f in [first, second] {
            let ok = ty.attributes.get(f).is_some_and(|a| {
                a.readable()
                    && !matches!(
                        a.data_type,
                        DataType::Json | DataType::Strings | DataType::Text
                    )
            }) || ty
                .relationships
                .get(f)
                .is_some_and(|r| !r.many && r.storage == RelationshipStorage::Owned);
            if !ok {
                return Err(problem(
                    &path,
                    format!(
                        "\"{f}\" cannot be indexed: use a scalar attribute or a to-one relationship"
                    ),
                ));
            }
        }
        if !ty.filters.contains_key(first) {
            return Err(problem(
                &path,
                format!("\"{first}\" must be a declared filter to lead a composite index"),
            ));
        }
        indexes.push([first.clone(), second.clone()]);
    }
    Ok(indexes)
}
