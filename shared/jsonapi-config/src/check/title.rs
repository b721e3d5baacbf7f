//! A type's title: the template that names one of its resources for people.

use indexmap::IndexMap;

use super::problem::{Checked, problem};
use crate::raw::TitleSpec;
use crate::schema::{ResourceType, TitlePart, TitleTemplate};

pub(super) fn check_title(
    name: &str,
    spec: Option<&TitleSpec>,
    types: &IndexMap<String, ResourceType>,
) -> Checked<Vec<TitleTemplate>> {
    let alternatives: Vec<&String> = match spec {
        None => return Ok(vec![TitleTemplate(vec![TitlePart::Field("id".to_owned())])]),
        Some(TitleSpec::One(s)) => vec![s],
        Some(TitleSpec::FirstOf(v)) => v.iter().collect(),
    };
    let ty = &types[name];
    let path = ["types", name, "title"];
    let mut templates = Vec::new();
    for text in alternatives {
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(TitlePart::Literal(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(problem(&path, format!("unclosed \"{{\" in \"{text}\"")));
            };
            let field = &rest[open + 1..open + close];
            parts.push(title_field(ty, types, field).ok_or_else(|| {
                problem(
                    &path,
                    format!("\"{{{field}}}\" is not a field or a to-one relationship's field"),
                )
            })?);
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(TitlePart::Literal(rest.to_owned()));
        }
        templates.push(TitleTemplate(parts));
    }
    Ok(templates)
}

fn title_field(
    ty: &ResourceType,
    types: &IndexMap<String, ResourceType>,
    field: &str,
) -> Option<TitlePart> {
    let scalar = |t: &ResourceType, f: &str| f == "id" || t.attributes.contains_key(f);
    match field.split_once('.') {
        None => scalar(ty, field).then(|| TitlePart::Field(field.to_owned())),
        Some((rel, f)) => {
            let r = ty.relationships.get(rel).filter(|r| !r.many)?;
            scalar(&types[r.target.name()], f)
                .then(|| TitlePart::Related(rel.to_owned(), f.to_owned()))
        }
    }
}
