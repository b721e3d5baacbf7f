//! What a function does once per process, before its first invocation: read its settings from
//! the environment, load the configuration, connect the store. A failure here is reported to
//! the Runtime API's init-error endpoint, so that Lambda (and CloudWatch) show why the function
//! cannot start instead of a bare "Runtime exited".

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use jsonapi_auth::SigningKey;
use jsonapi_config::Schema;
use jsonapi_engine::{Engine, Operation};
use jsonapi_store_dynamodb::{Config, ConnectError, DynamoStore, Unchecked};
use lambda_http::lambda_runtime::Diagnostic;

use crate::packaged;

/// The settings of a function, all from its environment (`template.yaml` sets them). The key
/// that signs access tokens is read apart, in [`Settings::engine`]
/// (`jsonapi_engine::auth::signing_key_from_env`: `JWT_PRIVATE_KEY`, else `JWT_SECRET`, else the
/// key kept in the table), so that it is never part of a value that could be printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// `JSONAPI_CONFIG`: an API configuration file for local runs; the packaged one when unset.
    pub(crate) config: Option<PathBuf>,
    /// `TABLE_NAME`: the DynamoDB table.
    pub(crate) table: String,
    /// `AWS_ENDPOINT_URL_DYNAMODB`: a local DynamoDB (tests, `cargo lambda watch`).
    pub(crate) endpoint: Option<String>,
    /// `TOKEN_LIFETIME_SECONDS`: replaces the configuration's `api.auth.accessTokenLifetime`
    /// (the template's `TokenLifetimeSeconds`: a deployment changes it without a new build
    /// file to change it in).
    pub(crate) token_lifetime: Option<u64>,
}

/// The bounds `api.auth.accessTokenLifetime` has in the configuration (jsonapi-config).
const TOKEN_LIFETIME: std::ops::RangeInclusive<u64> = 60..=86_400;

/// `TOKEN_LIFETIME_SECONDS`, checked: whole seconds within [`TOKEN_LIFETIME`].
fn token_lifetime(value: Option<&str>) -> Result<Option<u64>, InitError> {
    let Some(value) = value else { return Ok(None) };
    match value.trim().parse::<u64>() {
        Ok(seconds) if TOKEN_LIFETIME.contains(&seconds) => Ok(Some(seconds)),
        _ => Err(InitError {
            kind: "InvalidTokenLifetime",
            message: format!(
                "TOKEN_LIFETIME_SECONDS must be whole seconds from {} to {}, not \"{value}\"",
                TOKEN_LIFETIME.start(),
                TOKEN_LIFETIME.end()
            ),
        }),
    }
}

/// `BATCH_STALL_AFTER_SECONDS` (the `batch-worker` function's): how long an unfinished
/// operation may go without a chunk ending before its scheduled sweep releases its pending
/// chunks again; [`jsonapi_engine::BATCH_STALL_AFTER`] when unset.
pub(crate) fn stall_after() -> Result<Duration, InitError> {
    let Some(value) = var("BATCH_STALL_AFTER_SECONDS") else {
        return Ok(jsonapi_engine::BATCH_STALL_AFTER);
    };
    value
        .trim()
        .parse()
        .map(Duration::from_secs)
        .map_err(|_| InitError {
            kind: "InvalidStallAfter",
            message: format!("BATCH_STALL_AFTER_SECONDS must be whole seconds, not \"{value}\""),
        })
}

/// Where the signing key comes from, for the init log line (never the key itself).
fn signing_key_source() -> &'static str {
    if var("JWT_PRIVATE_KEY").is_some() {
        "JWT_PRIVATE_KEY"
    } else if var("JWT_SECRET").is_some() {
        "JWT_SECRET"
    } else {
        "table"
    }
}

/// Why a function cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    /// A short category: the Runtime API's `errorType`.
    pub kind: &'static str,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for InitError {}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `JSONAPI_PUBLIC_URL`, read and checked once: the base URL of links when a custom domain
/// fronts the API (it wins over the configuration's `api.publicUrl`). `Err` says why it is
/// unusable; [`Settings::from_env`] refuses to start then.
pub(crate) fn public_url() -> Result<Option<&'static str>, &'static InitError> {
    static URL: OnceLock<Result<Option<String>, InitError>> = OnceLock::new();
    let checked = URL.get_or_init(|| {
        var("JSONAPI_PUBLIC_URL")
            .map(|u| jsonapi_config::public_url(&u))
            .transpose()
            .map_err(|e| InitError {
                kind: "InvalidPublicUrl",
                message: format!("JSONAPI_PUBLIC_URL {e}"),
            })
    });
    checked.as_ref().map(Option::as_deref)
}

/// `JSONAPI_PUBLIC_URL`, when set, is a usable base URL.
fn check_public_url() -> Result<(), InitError> {
    public_url().map(drop).map_err(InitError::clone)
}

/// The API configuration: the one packaged into the function when it was built
/// ([`packaged`]), or, for local runs (`cargo lambda watch`, tests), the file `JSONAPI_CONFIG`
/// names. When the template says which configuration it was generated from
/// (`JSONAPI_CONFIG_SHA256`), the one in use must be that one: a function built from another
/// file would serve routes the template does not have, and lack the ones it has.
fn load_schema(config: Option<&Path>) -> Result<Schema, InitError> {
    let invalid = |message: String| InitError {
        kind: "InvalidConfiguration",
        message: format!("the API configuration is not usable: {message}"),
    };
    let (name, text) = match config {
        Some(path) => {
            let name = format!("{} (JSONAPI_CONFIG)", path.display());
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid(format!("{name}: cannot read the file: {e}")))?;
            (name, text)
        }
        None => (packaged::NAME.to_owned(), packaged::TEXT.to_owned()),
    };
    if let Some(expected) = var("JSONAPI_CONFIG_SHA256") {
        let carried = jsonapi_config::digest(&text);
        if !carried.eq_ignore_ascii_case(expected.trim()) {
            return Err(InitError {
                kind: "ConfigurationMismatch",
                message: format!(
                    "this function carries the API configuration {name} (SHA-256 {carried}), \
                     but the template was generated from another one (JSONAPI_CONFIG_SHA256 \
                     {expected}): build the functions with JSONAPI_CONFIG_FILE naming the file \
                     the template was generated from (infra/sam/README.md)"
                ),
            });
        }
    }
    jsonapi_config::parse(&name, &text).map_err(|e| invalid(e.to_string()))
}

/// What the `docs` function needs: the configuration alone (it never opens the table).
pub(crate) fn docs_schema_from_env() -> Result<Schema, InitError> {
    check_public_url()?;
    load_schema(var("JSONAPI_CONFIG").map(PathBuf::from).as_deref())
}

impl Settings {
    /// Reads and checks the environment.
    pub(crate) fn from_env() -> Result<Self, InitError> {
        let table = var("TABLE_NAME").ok_or_else(|| InitError {
            kind: "MissingTableName",
            message: "the environment variable TABLE_NAME is not set; it must name the DynamoDB \
                      table of the API (template.yaml sets it to the stack's table)"
                .to_owned(),
        })?;
        check_public_url()?;
        Ok(Self {
            config: var("JSONAPI_CONFIG").map(PathBuf::from),
            table,
            endpoint: var("AWS_ENDPOINT_URL_DYNAMODB"),
            token_lifetime: token_lifetime(var("TOKEN_LIFETIME_SECONDS").as_deref())?,
        })
    }

    /// The engine: the configuration checked, the store connected (its first connection is
    /// opened here, during init, not in the first request) and its table checked beside the
    /// first read of the token keys.
    /// `operation` is the one the function serves (`None`: the batch worker, which serves no
    /// request and needs no auth).
    pub(crate) async fn engine(
        &self,
        operation: Option<Operation>,
    ) -> Result<Engine<DynamoStore>, InitError> {
        let started = Instant::now();
        let schema = self.schema()?;
        let key = signing_key()?;
        let config_ms = started.elapsed().as_secs_f64() * 1000.0;
        let unchecked = self.open().await?;
        let engine = jsonapi_example::engine(schema, unchecked.store.clone());
        let engine = match key {
            Some(key) => engine.with_signing_key(key),
            None => engine,
        };
        // The table's check and the keys' reads at once: one round trip of init, not two.
        let (checked, ()) = tokio::join!(unchecked.check(), async {
            // OPTIONS never needs a token: its function has no key to read. Only the token
            // function signs, so only it reads the private key.
            if operation.is_some_and(|o| o != Operation::Options) {
                engine.prepare_auth().await;
            }
            if operation == Some(Operation::Token) {
                engine.prepare_signing().await;
            }
        });
        checked.map_err(|e| connect_error(&e))?;
        // Once per cold start: where the init time goes (Lambda's REPORT line has the total).
        tracing::info!(
            config_ms,
            store_and_keys_ms = started.elapsed().as_secs_f64() * 1000.0 - config_ms,
            signing_key = signing_key_source(),
            "initialised"
        );
        Ok(engine)
    }

    /// The configuration, with `TOKEN_LIFETIME_SECONDS` in place of its access-token lifetime.
    fn schema(&self) -> Result<Schema, InitError> {
        let mut schema = load_schema(self.config.as_deref())?;
        if let Some(seconds) = self.token_lifetime {
            let auth = &mut schema.api.auth;
            if seconds > auth.refresh_token_lifetime {
                return Err(InitError {
                    kind: "InvalidTokenLifetime",
                    message: format!(
                        "TOKEN_LIFETIME_SECONDS ({seconds}) must not be longer than the refresh \
                         tokens' lifetime (api.auth.refreshTokenLifetime: {})",
                        auth.refresh_token_lifetime
                    ),
                });
            }
            auth.access_token_lifetime = seconds;
        }
        Ok(schema)
    }

    /// The table's client, the table not checked yet.
    async fn open(&self) -> Result<Unchecked, InitError> {
        DynamoStore::open(Config {
            endpoint: self.endpoint.clone(),
            table: self.table.clone(),
            region: None,
        })
        .await
        .map_err(|e| connect_error(&e))
    }
}

/// Why the table cannot be used, as an init error.
fn connect_error(e: &ConnectError) -> InitError {
    InitError {
        kind: match e {
            ConnectError::NoTable { .. } | ConnectError::NoTableName => "TableNotFound",
            ConnectError::NoRegion | ConnectError::NoCredentials(_) => "NoAwsConfiguration",
            ConnectError::Refused { .. } => "StoreRefused",
            ConnectError::Unreachable { .. } | ConnectError::Create(_) => "StoreUnavailable",
        },
        message: e.to_string(),
    }
}

/// The environment's token signing key, if it gives one. The error names the variable, never
/// its value.
fn signing_key() -> Result<Option<SigningKey>, InitError> {
    jsonapi_engine::auth::signing_key_from_env().map_err(|e| InitError {
        kind: "InvalidSigningKey",
        message: format!(
            "{} is not a usable token signing key: {e}. JWT_SECRET takes an HS256 secret of \
             32 or more bytes, JWT_PRIVATE_KEY an ES256 or RS256 private key in PEM; leave \
             both empty to use the key kept in the table",
            signing_key_source()
        ),
    })
}

/// Tells the Runtime API why init failed (`POST /runtime/init/error`). lambda_runtime only does
/// this for its own SnapStart hooks, and a `main` that returns an error before the runtime loop
/// never talks to the Runtime API at all.
pub(crate) async fn report(error: &InitError) {
    use lambda_runtime_api_client::{PooledClient, body::Body, build_request};
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return; // not on Lambda: the error printed by `main` is all there is
    }
    let diagnostic = Diagnostic {
        error_type: error.kind.to_owned(),
        error_message: error.message.clone(),
    };
    let request = build_request()
        .method(http::Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .body(Body::from(
            serde_json::to_vec(&diagnostic).expect("a diagnostic serializes"),
        ));
    let sent = match request {
        Ok(request) => PooledClient::builder().build().call(request).await.err(),
        Err(e) => Some(e.into()),
    };
    if let Some(e) = sent {
        tracing::error!(error = %e, "could not report the init error to the Runtime API");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_lifetime_is_whole_seconds_within_the_configurations_bounds() {
        assert_eq!(token_lifetime(None), Ok(None));
        assert_eq!(token_lifetime(Some("3600")), Ok(Some(3600)));
        assert_eq!(token_lifetime(Some(" 60 ")), Ok(Some(60)));
        assert_eq!(token_lifetime(Some("86400")), Ok(Some(86_400)));
        for bad in ["59", "86401", "-1", "1h", "3600.5", ""] {
            let e = token_lifetime(Some(bad)).unwrap_err();
            assert_eq!(e.kind, "InvalidTokenLifetime", "{bad}");
            assert!(
                e.message.contains("TOKEN_LIFETIME_SECONDS"),
                "{}",
                e.message
            );
        }
    }
}
