//! Request documents built for tests: a resource document and relationship objects.

use serde_json::{Value, json};

/// `{"data": {"type", "id"?, "attributes", "relationships"?}}`; empty objects are left out.
pub fn resource_doc(ty: &str, id: Option<&str>, attributes: Value, relationships: Value) -> Value {
    let mut data = serde_json::Map::new();
    data.insert("type".to_owned(), json!(ty));
    if let Some(id) = id {
        data.insert("id".to_owned(), json!(id));
    }
    if !is_empty_object(&attributes) {
        data.insert("attributes".to_owned(), attributes);
    }
    if !is_empty_object(&relationships) {
        data.insert("relationships".to_owned(), relationships);
    }
    json!({ "data": data })
}

fn is_empty_object(value: &Value) -> bool {
    value.is_null() || value.as_object().is_some_and(serde_json::Map::is_empty)
}

/// A to-one relationship object: `{"data": {"type", "id"}}`.
pub fn to_one(ty: &str, id: &str) -> Value {
    json!({ "data": { "type": ty, "id": id } })
}

/// A to-many relationship object: `{"data": [{"type", "id"}, …]}`.
pub fn to_many(ty: &str, ids: &[&str]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "type": ty, "id": id }))
        .collect();
    json!({ "data": data })
}
