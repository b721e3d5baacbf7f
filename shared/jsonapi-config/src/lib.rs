//! The configuration of an API: one YAML file that declares its resource types.
//!
//! # Layout
//! - [`raw`]: the file as written (serde structures; shape errors only).
//! - `check`: meaning checks that turn the file into a [`Schema`], one module per phase
//!   (`api`, `types`, `attributes`, `relationships`, `queries`, `title`, `auth`).
//! - [`schema`]: the checked model every other crate reads. Names are resolved when the file
//!   loads: a relationship's target is a [`TypeRef`], which [`Schema::target`] follows without
//!   a lookup that could fail.
//! - [`storefront`]: the settings of the storefront headers (`X-Localization-ID`,
//!   `X-Currency`, a type's alternate id header).
//! - [`operation`]: the one vocabulary of operations (the model system's names), which the
//!   types' `actions`, routing, permissions and the Lambda functions share.
//! - `locate`: finds the line of a dotted key, so that every error names file, line and key.
//!
//! The example domain ships inside the crate ([`EXAMPLE_DOMAIN`]) and is the default API.

mod check;
mod locate;
pub mod operation;
pub mod raw;
pub mod schema;
pub mod storefront;

use std::fmt;
use std::path::Path;

pub use operation::Operation;
pub use schema::*;

/// The example domain's configuration (`infra/api/example.yaml`), the API served by default.
pub const EXAMPLE_DOMAIN: &str = include_str!("../../../infra/api/example.yaml");

/// The name [`EXAMPLE_DOMAIN`] is reported under in errors.
pub const EXAMPLE_DOMAIN_FILE: &str = "infra/api/example.yaml";

/// The SHA-256 digest (lowercase hex) of a configuration's text: what ties a deployment's
/// template (`JSONAPI_CONFIG_SHA256`) to the configuration its functions were built with.
pub fn digest(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a public base URL (`api.publicUrl`, or a server's flag or variable that stands in
/// for it) and returns it without a trailing slash: `http` or `https`, a host, maybe a port and
/// a path (a custom domain's API mapping), no query, fragment, credentials or white space.
///
/// # Errors
/// The text, when it is not such a URL.
pub fn public_url(text: &str) -> Result<String, InvalidUrl> {
    let problem = || InvalidUrl(text.to_owned());
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(problem)?;
    let host = rest.split('/').next().unwrap_or_default();
    let clean = !text.contains(|c: char| c.is_whitespace() || c.is_control())
        && !text.contains(['?', '#', '@', '\\']);
    if host.is_empty() || host.starts_with(':') || !clean {
        return Err(problem());
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// A text that is not a usable public base URL; it shows as what is wrong, to follow the key or
/// flag that gave it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be an absolute http or https URL such as https://api.example.com or \
     https://example.com/v1 (no query, fragment or credentials), not \"{0}\""
)]
pub struct InvalidUrl(pub String);

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
            .map(|segment| match segment {
                // `externalIssuers.0`, as the meaning checks name list items.
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                other => other.to_string(),
            })
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

/// serde_norway starts some messages with the path (`a.b[0]: `) and appends " at line L column
/// C"; both are reported separately.
fn strip_location(message: &str) -> String {
    let message = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => rest,
        _ => message,
    };
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests;
