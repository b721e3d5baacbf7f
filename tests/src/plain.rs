//! The plain view (`application/json`, Oro §2.1 rules 5–6, "Plain REST differences"): the rules
//! its responses must follow, and the harness's own reading of how a JSON:API document looks
//! in it, so that one case can run in both formats and the answers be compared.
//!
//! The reading here is written from the model's description, not from the engine's code: a
//! resource is an object of its fields with `id`, relationships as ids (arrays for to-many),
//! a list an array, a relationship route's linkage the id or ids; errors an array of
//! `{code?, title, detail, source}` with `source` a string and no `status`.

use serde_json::{Map, Value};

/// The plain view's media type.
pub const MEDIA_TYPE: &str = "application/json";

/// The format a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `application/vnd.api+json` in `Accept` and `Content-Type`.
    #[default]
    JsonApi,
    /// `application/json` in both.
    Plain,
}

impl Format {
    /// Both, JSON:API first.
    pub const BOTH: [Format; 2] = [Format::JsonApi, Format::Plain];

    /// The media type this format sends and expects.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::JsonApi => crate::MT,
            Self::Plain => MEDIA_TYPE,
        }
    }
}

/// Whether request headers name JSON:API (any `Accept` entry or the `Content-Type`), which is
/// what makes the server answer in JSON:API rather than in the plain view.
pub fn designates_json_api(headers: &[(&str, &str)]) -> bool {
    headers.iter().any(|(name, value)| {
        (name.eq_ignore_ascii_case("accept") || name.eq_ignore_ascii_case("content-type"))
            && value.split(',').any(|range| {
                range
                    .split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case(crate::MT))
            })
    })
}

/// Every rule of the plain view `document` (answered with `status`) breaks, one line each.
pub fn problems(document: &Value, status: u16) -> Vec<String> {
    let mut problems = Vec::new();
    if status >= 400 {
        let Some(errors) = document.as_array().filter(|e| !e.is_empty()) else {
            return vec![format!("plain: status {status} without an error array")];
        };
        for (i, error) in errors.iter().enumerate() {
            let Some(members) = error.as_object() else {
                problems.push(format!("plain: error {i} is not an object"));
                continue;
            };
            for (name, value) in members {
                let known = ["code", "title", "detail", "source"].contains(&name.as_str());
                if !known || !value.is_string() {
                    problems.push(format!("plain: error {i} has {name}: {value}"));
                }
            }
            if !members.contains_key("title") {
                problems.push(format!("plain: error {i} has no title"));
            }
            problems.extend(
                crate::conformance::leaks(error)
                    .into_iter()
                    .map(|text| format!("plain: error {i} shows internals: {text:?}")),
            );
        }
        return problems;
    }
    let resources: Vec<&Value> = match document {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    for r in resources {
        match r {
            // A relationship route's ids, or an empty to-one.
            Value::String(_) | Value::Null => {}
            Value::Object(fields) => {
                if !fields.get("id").is_some_and(Value::is_string) {
                    problems.push(format!("plain: a resource without a string id: {r}"));
                }
                for member in ["type", "attributes", "relationships", "links", "jsonapi"] {
                    if fields.contains_key(member) {
                        problems.push(format!("plain: a resource with JSON:API's {member}"));
                    }
                }
            }
            other => problems.push(format!("plain: neither a resource nor an id: {other}")),
        }
    }
    problems
}

/// How the JSON:API document `doc` reads in the plain view, `include` paths (`a.b`) nesting
/// the included resources in place of their ids.
pub fn from_json_api(doc: &Value, linkage_route: bool, include: &[&str]) -> Value {
    if let Some(errors) = doc.get("errors").and_then(Value::as_array) {
        return Value::Array(errors.iter().map(error).collect());
    }
    let data = &doc["data"];
    if linkage_route {
        return ids(data);
    }
    let included = doc["included"].as_array().cloned().unwrap_or_default();
    let paths: Vec<Vec<&str>> = include.iter().map(|p| p.split('.').collect()).collect();
    let resource = |r: &Value| resource(r, &included, &paths);
    match data {
        Value::Array(items) => items.iter().map(resource).collect(),
        Value::Null => Value::Null,
        r => resource(r),
    }
}

fn resource(r: &Value, included: &[Value], paths: &[Vec<&str>]) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), r["id"].clone());
    for (name, value) in r["attributes"].as_object().into_iter().flatten() {
        out.insert(name.clone(), value.clone());
    }
    for (name, rel) in r["relationships"].as_object().into_iter().flatten() {
        let Some(data) = rel.get("data") else {
            continue;
        };
        let deeper: Vec<Vec<&str>> = paths
            .iter()
            .filter(|p| p.first() == Some(&name.as_str()))
            .map(|p| p[1..].to_vec())
            .collect();
        let one = |ident: &Value| {
            let found = included
                .iter()
                .find(|i| i["type"] == ident["type"] && i["id"] == ident["id"]);
            match found {
                Some(i) if !deeper.is_empty() => resource(i, included, &deeper),
                _ => ident["id"].clone(),
            }
        };
        let value = match data {
            Value::Array(items) => items.iter().map(one).collect(),
            Value::Null => Value::Null,
            ident => one(ident),
        };
        out.insert(name.clone(), value);
    }
    if let Some(meta) = r.get("meta") {
        out.insert("meta".into(), meta.clone());
    }
    Value::Object(out)
}

fn ids(data: &Value) -> Value {
    match data {
        Value::Array(items) => items.iter().map(|i| i["id"].clone()).collect(),
        Value::Null => Value::Null,
        ident => ident["id"].clone(),
    }
}

/// A JSON:API error as the plain view reports it. Only parameter and header sources are
/// read here: a pointer into a plain body is the test's to state.
fn error(e: &Value) -> Value {
    let mut out = Map::new();
    for member in ["code", "title", "detail"] {
        if let Some(v) = e.get(member) {
            out.insert(member.into(), v.clone());
        }
    }
    let source = &e["source"];
    assert!(
        source.get("pointer").is_none(),
        "a pointer's plain form is for the test to state: {e}"
    );
    if let Some(s) = source.get("parameter").or_else(|| source.get("header")) {
        out.insert("source".into(), s.clone());
    }
    Value::Object(out)
}

/// The plain body of a JSON:API request document: a resource's fields with relationships as
/// ids, or (`linkage_route`) the linkage's ids.
pub fn body_from_json_api(doc: &Value, linkage_route: bool) -> Value {
    let data = &doc["data"];
    if linkage_route {
        return ids(data);
    }
    let mut out = Map::new();
    if let Some(id) = data.get("id") {
        out.insert("id".into(), id.clone());
    }
    for (name, value) in data["attributes"].as_object().into_iter().flatten() {
        out.insert(name.clone(), value.clone());
    }
    for (name, rel) in data["relationships"].as_object().into_iter().flatten() {
        out.insert(name.clone(), ids(&rel["data"]));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rules_catch_json_api_shapes_and_status_members() {
        assert!(problems(&json!([{ "id": "1", "name": "x" }]), 200).is_empty());
        assert!(!problems(&json!({ "data": [] }), 200).is_empty());
        assert!(!problems(&json!([{ "title": "t", "status": "400" }]), 400).is_empty());
        assert!(
            !problems(
                &json!([{ "title": "t", "source": { "pointer": "/x" } }]),
                400
            )
            .is_empty()
        );
        assert!(
            problems(
                &json!([{ "title": "t", "detail": "d", "source": "/x" }]),
                400
            )
            .is_empty()
        );
    }

    #[test]
    fn json_api_names_the_format_in_either_header() {
        assert!(designates_json_api(&[(
            "Accept",
            "text/html, application/vnd.api+json;q=0.1"
        )]));
        assert!(designates_json_api(&[("content-type", crate::MT)]));
        assert!(!designates_json_api(&[
            ("Accept", "*/*"),
            ("Content-Type", MEDIA_TYPE)
        ]));
    }
}
