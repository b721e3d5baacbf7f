//! What the servers under test are started with: the configuration (the example domain's, or a
//! test's own text, sharded under `JSONAPI_TEST_SHARDS`) and the store (`JSONAPI_TEST_BACKEND`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jsonapi_auth::SigningKey;
use jsonapi_local::DynamoOptions;
use tempfile::TempDir;

/// How the servers of one [`crate::TestApp`] are started (the same at every restart).
#[derive(Clone, Default)]
pub(crate) struct Setup {
    /// The configuration file; `None` = the example domain. Its folder lives as long as the app.
    pub(crate) config: Option<(Arc<TempDir>, PathBuf)>,
    /// A signing key given to the server instead of the one it keeps in its store.
    pub(crate) key: Option<SigningKey>,
    /// How long the server trusts client, user and role states (`None`: its default).
    pub(crate) auth_cache_ttl: Option<Duration>,
    /// `Options::public_url`.
    pub(crate) public_url: Option<String>,
}

/// The setup of a server for this configuration file text (written to a temporary file that
/// lives as long as the app).
pub(crate) fn config_setup(yaml: &str) -> Setup {
    let dir = tempfile::Builder::new()
        .prefix("jsonapi-tests-config-")
        .tempdir()
        .expect("a temporary configuration folder");
    let path = dir.path().join("api.yaml");
    let yaml = test_shards().map_or_else(|| yaml.to_owned(), |n| with_shards(yaml, n));
    std::fs::write(&path, yaml).expect("the configuration file is written");
    Setup {
        config: Some((Arc::new(dir), path)),
        ..Setup::default()
    }
}

/// `JSONAPI_TEST_SHARDS=N`: every test server's types are spread over N shards (`shards: N`
/// on each type that sets none), so that the suite checks sharded listings and indexes.
pub(crate) fn test_shards() -> Option<u64> {
    let n = std::env::var("JSONAPI_TEST_SHARDS").ok()?;
    Some(
        n.parse()
            .unwrap_or_else(|_| panic!("JSONAPI_TEST_SHARDS={n:?}: expected a number")),
    )
}

/// A configuration with `shards: n` on every type that sets none. A text that is not a
/// configuration (a startup-error test's) is left as it is.
fn with_shards(yaml: &str, n: u64) -> String {
    use serde_norway::Value as Yaml;
    let Ok(mut doc) = serde_norway::from_str::<Yaml>(yaml) else {
        return yaml.to_owned();
    };
    let Some(types) = doc.get_mut("types").and_then(Yaml::as_mapping_mut) else {
        return yaml.to_owned();
    };
    for (_, ty) in types.iter_mut() {
        if let Some(ty) = ty.as_mapping_mut()
            && !ty.contains_key("shards")
        {
            ty.insert("shards".into(), n.into());
        }
    }
    serde_norway::to_string(&doc).expect("a parsed configuration serialises")
}

/// The example domain's configuration (`infra/api/example.yaml`).
pub const EXAMPLE_CONFIG: &str = include_str!("../../infra/api/example.yaml");

/// The example domain's configuration with `settings` (YAML lines at the indentation of the
/// keys under `api:`, e.g. `"  auth:\n    anonymous: [products]\n"`) added to its `api:`
/// section.
///
/// # Panics
/// When the example configuration has no `api:` section.
pub fn example_config_with(settings: &str) -> String {
    let at = EXAMPLE_CONFIG
        .find("\napi:\n")
        .expect("the example configuration has an api section")
        + "\napi:\n".len();
    format!(
        "{}{settings}{}",
        &EXAMPLE_CONFIG[..at],
        &EXAMPLE_CONFIG[at..]
    )
}

/// The store the servers under test use, from the environment:
/// `JSONAPI_TEST_BACKEND` unset or `embedded` → the embedded store in the data folder;
/// `dynamodb` → DynamoDB at `JSONAPI_DYNAMODB_ENDPOINT` (e.g. DynamoDB Local on loopback), one
/// table per test app, named after its data folder (so a restart finds the same table).
pub(crate) fn dynamodb_backend(data: &Path) -> Option<DynamoOptions> {
    match std::env::var("JSONAPI_TEST_BACKEND").as_deref() {
        Err(_) | Ok("" | "embedded") => None,
        Ok("dynamodb") => {
            let endpoint = std::env::var("JSONAPI_DYNAMODB_ENDPOINT")
                .expect("JSONAPI_DYNAMODB_ENDPOINT names the DynamoDB endpoint");
            let folder = data
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a data folder name");
            let table: String = folder
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            Some(DynamoOptions {
                endpoint: Some(endpoint),
                table,
                create_table: true,
            })
        }
        Ok(other) => panic!("JSONAPI_TEST_BACKEND={other:?}: expected embedded or dynamodb"),
    }
}
