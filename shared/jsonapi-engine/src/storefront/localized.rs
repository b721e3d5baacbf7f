//! A localizable attribute's values: the default under its own name, each localization's under
//! `{name}@{localization id}` in the same stored attributes (`@` is in no attribute name, so
//! the two never meet), written in the same item and transaction as the rest of the resource.

use serde_json::{Map, Value};

/// Where a localization's value of an attribute is kept.
fn key(name: &str, localization: &str) -> String {
    format!("{name}@{localization}")
}

/// The value along the chain (the asked localization first), else the default.
pub(super) fn read<'a>(
    name: &str,
    chain: &[String],
    stored: &'a Map<String, Value>,
) -> Option<&'a Value> {
    chain
        .iter()
        .find_map(|l| stored.get(&key(name, l)))
        .or_else(|| stored.get(name))
}

/// Sets a localization's value; `null` removes it, so that it falls back again.
pub(super) fn write(name: &str, localization: &str, stored: &mut Map<String, Value>, value: Value) {
    let key = key(name, localization);
    if value.is_null() {
        stored.remove(&key);
    } else {
        stored.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_falls_back_along_the_chain_then_to_the_default() {
        let mut stored = json!({ "name": "Mug", "name@fr": "Tasse" })
            .as_object()
            .cloned()
            .unwrap();
        let chain = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            read("name", &chain(&["fr_CA", "fr"]), &stored),
            Some(&json!("Tasse"))
        );
        assert_eq!(read("name", &chain(&["de"]), &stored), Some(&json!("Mug")));
        write("name", "fr_CA", &mut stored, json!("Tasse à café"));
        assert_eq!(
            read("name", &chain(&["fr_CA", "fr"]), &stored),
            Some(&json!("Tasse à café"))
        );
        write("name", "fr_CA", &mut stored, Value::Null);
        assert_eq!(
            read("name", &chain(&["fr_CA", "fr"]), &stored),
            Some(&json!("Tasse"))
        );
    }
}
