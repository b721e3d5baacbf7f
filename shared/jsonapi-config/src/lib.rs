//! The configuration of an API: one YAML file that declares its resource types.
//!
//! # Layout
//! - [`raw`]: the file as written (serde structures; shape errors only).
//! - `check`: meaning checks that turn the file into a [`Schema`].
//! - [`schema`]: the checked model every other crate reads.
//! - `locate`: finds the line of a dotted key, so that every error names file, line and key.
//!
//! The example domain ships inside the crate ([`EXAMPLE_DOMAIN`]) and is the default API.

mod check;
mod locate;
pub mod raw;
pub mod schema;

use std::fmt;
use std::path::Path;

pub use schema::*;

/// The example domain's configuration (`infra/api/example.yaml`), the API served by default.
pub const EXAMPLE_DOMAIN: &str = include_str!("../../../infra/api/example.yaml");

/// The name [`EXAMPLE_DOMAIN`] is reported under in errors.
pub const EXAMPLE_DOMAIN_FILE: &str = "infra/api/example.yaml";

/// A configuration file that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as given.
    pub file: String,
    /// The 1-based line of the offending key, when it can be found.
    pub line: Option<usize>,
    /// The dotted key (`types.products.attributes.sku.maxLength`), empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Reads and checks a configuration file.
///
/// # Errors
/// The file cannot be read, is not valid YAML, has an unknown or mistyped key, or declares
/// something inconsistent; the error names the file, the line and the key.
pub fn load_file(path: &Path) -> Result<Schema, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        key: String::new(),
        message: format!("cannot read the file: {e}"),
    })?;
    parse(&file, &text)
}

/// The example domain, checked.
///
/// # Panics
/// Never in a released build: the tests check that the shipped file is valid.
pub fn example_domain() -> Schema {
    parse(EXAMPLE_DOMAIN_FILE, EXAMPLE_DOMAIN).expect("the shipped example domain is valid")
}

/// Checks configuration text; `file` names it in errors.
///
/// # Errors
/// As [`load_file`].
pub fn parse(file: &str, text: &str) -> Result<Schema, ConfigError> {
    let de = serde_norway::Deserializer::from_str(text);
    let raw: raw::RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e
            .path()
            .iter()
            .map(ToString::to_string)
            .filter(|s| s != "?")
            .collect::<Vec<_>>();
        let inner = e.into_inner();
        let line = inner
            .location()
            .map(|l| l.line())
            .or_else(|| locate::line_of(text, &key));
        ConfigError {
            file: file.to_owned(),
            line,
            key: key.join("."),
            message: strip_location(&inner.to_string()),
        }
    })?;
    check::check(&raw).map_err(|p| ConfigError {
        file: file.to_owned(),
        line: locate::line_of(text, &p.key),
        key: p.key.join("."),
        message: p.message,
    })
}

/// serde_norway appends " at line L column C" to its messages; the line is reported separately.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_domain_is_valid() {
        let schema = example_domain();
        assert!(schema.resource_type("products").is_some());
    }

    fn error(text: &str) -> ConfigError {
        parse("api.yaml", text).expect_err("the file is invalid")
    }

    #[test]
    fn an_unknown_key_names_its_line_and_path() {
        let e = error(
            "types:\n  products:\n    id: sequence\n    attributes:\n      sku:\n        type: string\n        maxLenght: 64\n",
        );
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.to_string().starts_with("api.yaml:7: "), "{e}");
        assert!(e.message.contains("maxLenght"), "{e}");
    }

    #[test]
    fn a_wrong_value_names_its_key() {
        let e = error("types:\n  products:\n    id: counter\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(e.key, "types.products.id", "{e}");
    }

    #[test]
    fn a_meaning_error_names_line_and_key() {
        let e = error(
            "types:\n  products:\n    id: sequence\n    relationships:\n      category: { target: categories }\n",
        );
        assert_eq!(e.key, "types.products.relationships.category.target");
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("categories"), "{e}");
    }

    #[test]
    fn inverse_pairs_must_agree() {
        let e = error(
            "types:\n  a:\n    id: sequence\n    relationships:\n      b: { target: b, inverse: a }\n  b:\n    id: sequence\n    relationships:\n      a: { target: a, many: true }\n",
        );
        assert_eq!(e.key, "types.a.relationships.b.inverse", "{e}");
    }

    #[test]
    fn invalid_yaml_is_reported_with_its_line() {
        let e = error("types:\n  products: [\n");
        assert!(e.line.is_some(), "{e}");
    }
}
