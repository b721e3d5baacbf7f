//! The `import` function: an object created under `imports/{type}/` in the stack's bucket
//! (S3 notifies the function of each) is read as a stream and fed to
//! [`Engine::import`], which stores it as an asynchronous operation in chunks, as
//! `PATCH {prefix}/{type}` does; the batch worker then applies them from the table's stream.
//!
//! - The type is the key's segment after `imports/`; a key ending in `.ndjson` or `.jsonl`
//!   is NDJSON (one resource object a line), any other a JSON:API document.
//! - The operation's owner (who may read it besides admins) is the API client named by the
//!   object's user metadata `client` (`x-amz-meta-client`), else `JSONAPI_IMPORT_CLIENT`
//!   (the template's `ImportClient`), else nobody: admins only. A client named that does not
//!   exist or is revoked refuses the import.
//! - S3 delivers an event at least once: each upload (bucket, key, version or ETag,
//!   sequencer) is claimed before it is read ([`Engine::claim_delivery`]), so that a second
//!   delivery imports nothing; the claim is a short lease renewed while the import runs, and
//!   a delivery that finds it held waits for that import to end or die. The object is read
//!   at the ETag the event names: an upload that
//!   replaced it meanwhile is left to its own event.
//! - A file refused (a type that takes no batches, malformed JSON, items of another type, an
//!   object the function may not read, an unknown client) leaves an operation that failed,
//!   with the reasons as its errors, and a log line naming it. A failure worth a retry (S3 or
//!   the table unavailable, a transfer broken off) gives the claim up and fails the
//!   invocation, so that Lambda delivers the event again; the records of the event that were
//!   imported are not imported again then.
//!
//! The event types are a few serde structs, as in `stream`: `aws_lambda_events`' S3 feature
//! would bring `chrono` for the fields the function does not read.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jsonapi_engine::error::ErrorKind;
use jsonapi_engine::{ApiError, ApiErrors, Delivery, Engine, IMPORTS_PREFIX, ImportFormat};
use jsonapi_store::Store;
use serde::Deserialize;

use crate::s3::{ObjectRef, S3, S3Error};

/// How long a delivery holds its claim without renewing it: an import renews it every
/// [`RENEW_EVERY`] while it runs, so that one that died (a crash, out of memory, the
/// function's timeout) loses it within a minute, before Lambda's first retry of the event
/// (a minute after the failure) comes.
const LEASE: Duration = Duration::from_secs(45);
/// How often a running import renews its claim.
const RENEW_EVERY: Duration = Duration::from_secs(15);
/// How long a delivery waits for an earlier one that holds the claim (a duplicate delivery
/// while the first imports, or a retry just after the first died) before it fails, for
/// Lambda to deliver it again.
const BUSY_WAIT: Duration = Duration::from_secs(120);
/// How often a waiting delivery looks at the claim again.
const BUSY_POLL: Duration = Duration::from_secs(5);

/// An S3 event notification, as Lambda delivers it (only what the function reads).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct S3Event {
    /// The records, one per object event.
    #[serde(rename = "Records", default)]
    pub records: Vec<S3Record>,
}

/// One object event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Record {
    /// `ObjectCreated:Put`, `ObjectCreated:CompleteMultipartUpload`...
    #[serde(default)]
    pub event_name: String,
    /// The bucket and the object.
    pub s3: S3Entity,
}

/// The bucket and object of an event.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Entity {
    /// The bucket.
    pub bucket: S3Bucket,
    /// The object.
    pub object: S3Object,
}

/// A bucket.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Bucket {
    /// Its name.
    pub name: String,
}

/// An object as an event names it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Object {
    /// The key, URL-encoded as in a form (`+` for a space).
    pub key: String,
    /// The ETag of the upload.
    #[serde(default)]
    pub e_tag: Option<String>,
    /// The version, in a bucket that keeps versions.
    #[serde(default)]
    pub version_id: Option<String>,
    /// Orders the events of one key: tells two uploads of the same content apart.
    #[serde(default)]
    pub sequencer: Option<String>,
}

impl S3Object {
    /// The key, decoded.
    pub fn decoded_key(&self) -> String {
        let spaced = self.key.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned()
    }
}

/// The type and format of an import's key (`None`: not an import's key).
pub fn import_target(key: &str) -> Option<(&str, ImportFormat)> {
    let (ty, name) = key.strip_prefix(IMPORTS_PREFIX)?.split_once('/')?;
    if ty.is_empty() || name.is_empty() {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let format = if lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
        ImportFormat::Ndjson
    } else {
        ImportFormat::Document
    };
    Some((ty, format))
}

/// What the function needs besides the engine.
#[derive(Debug, Clone)]
pub struct Importer {
    /// The S3 client.
    pub s3: S3,
    /// The owner of imports whose object names no client (`JSONAPI_IMPORT_CLIENT`).
    pub default_client: Option<String>,
}

impl Importer {
    /// The importer of the environment.
    ///
    /// # Errors
    /// No S3 client can be made.
    pub fn from_env() -> Result<Self, S3Error> {
        Ok(Self {
            s3: S3::from_env()?,
            default_client: std::env::var("JSONAPI_IMPORT_CLIENT")
                .ok()
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
        })
    }
}

/// Records of an event to deliver again: the invocation fails with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryLater(pub Vec<String>);

impl fmt::Display for RetryLater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "imports to retry: {}", self.0.join("; "))
    }
}

impl std::error::Error for RetryLater {}

/// Why an object should be delivered again.
#[derive(Debug)]
enum Redeliver {
    /// The engine or its store failed: claiming or releasing the delivery, or importing.
    Engine(ApiErrors),
    /// The import was stored as this operation, but not the claim that says so.
    Unsettled { operation: u64, errors: ApiErrors },
    /// The object cannot be read for now, or its transfer broke off.
    Transient(String),
}

impl fmt::Display for Redeliver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine(errors) => write!(f, "{errors:?}"),
            Self::Unsettled { operation, errors } => {
                write!(
                    f,
                    "operation {operation} stored, but not its claim: {errors:?}"
                )
            }
            Self::Transient(why) => f.write_str(why),
        }
    }
}

/// What became of one record.
enum Outcome {
    /// Stored as this operation (which may have failed, refused).
    Stored(u64),
    /// Nothing to import (the object is gone or was replaced).
    Skipped(String),
    /// To be tried again.
    Retry(String),
}

/// Imports every object an event names.
///
/// # Errors
/// Some records should be delivered again ([`RetryLater`]); the others were imported.
pub async fn handle_import<S: Store>(
    engine: &Engine<S>,
    importer: &Importer,
    event: S3Event,
) -> Result<(), RetryLater> {
    let mut retry = Vec::new();
    for record in event.records {
        let key = record.s3.object.decoded_key();
        let bucket = record.s3.bucket.name.clone();
        if let Err(why) = import_record(engine, importer, &record, &key).await {
            tracing::warn!(
                bucket,
                key,
                error = %why,
                "import left to be delivered again"
            );
            retry.push(format!("s3://{bucket}/{key}: {why}"));
        }
    }
    if retry.is_empty() {
        Ok(())
    } else {
        Err(RetryLater(retry))
    }
}

/// Imports one object once; `Err` says why it should be delivered again.
async fn import_record<S: Store>(
    engine: &Engine<S>,
    importer: &Importer,
    record: &S3Record,
    key: &str,
) -> Result<(), Redeliver> {
    let bucket = record.s3.bucket.name.as_str();
    let object = &record.s3.object;
    let Some((ty, format)) =
        import_target(key).filter(|_| record.event_name.starts_with("ObjectCreated"))
    else {
        tracing::warn!(
            bucket,
            key,
            event = record.event_name,
            "not an import (imports/{{type}}/...): ignored"
        );
        return Ok(());
    };
    let upload = object.version_id.as_deref().or(object.e_tag.as_deref());
    let names = [
        bucket,
        key,
        upload.unwrap_or_default(),
        object.sequencer.as_deref().unwrap_or_default(),
    ];
    // An earlier delivery importing the object now either ends (it imported it: nothing to
    // do) or dies (its lease lapses: this one takes over); it is waited for. Answering
    // success at once would end a retry of an import that died with nothing imported.
    let waiting = tokio::time::Instant::now() + BUSY_WAIT;
    let mut claim = loop {
        match engine.claim_delivery(&names, LEASE).await {
            Ok(Delivery::Claimed(claim)) => break claim,
            Ok(Delivery::Imported(operation)) => {
                tracing::info!(
                    bucket,
                    key,
                    operation,
                    "already imported (a repeated delivery)"
                );
                return Ok(());
            }
            Ok(Delivery::Busy) if tokio::time::Instant::now() < waiting => {
                tokio::time::sleep(BUSY_POLL).await;
            }
            Ok(Delivery::Busy) => {
                return Err(Redeliver::Transient(
                    "an earlier delivery is still importing it".into(),
                ));
            }
            Err(e) => return Err(Redeliver::Engine(e)),
        }
    };
    let target = ObjectRef {
        bucket,
        key,
        version: object.version_id.as_deref(),
        etag: object.e_tag.as_deref(),
    };
    let importing = read_and_import(engine, importer, target, ty, format);
    tokio::pin!(importing);
    let first_renewal = tokio::time::Instant::now() + RENEW_EVERY;
    let mut renew = tokio::time::interval_at(first_renewal, RENEW_EVERY);
    let imported = loop {
        tokio::select! {
            imported = &mut importing => break imported,
            _ = renew.tick() => {
                if let Err(e) = engine.renew_delivery(&mut claim, LEASE).await {
                    // Settling fails then too, and the event is delivered again.
                    tracing::warn!(bucket, key, error = ?e, "the import's claim was not renewed");
                }
            }
        }
    };
    let why = match imported {
        Ok(Outcome::Stored(operation)) => {
            return engine
                .settle_delivery(&claim, operation)
                .await
                .map_err(|errors| Redeliver::Unsettled { operation, errors });
        }
        Ok(Outcome::Skipped(why)) => {
            tracing::warn!(bucket, key, reason = why, "nothing imported");
            return engine
                .release_delivery(&claim)
                .await
                .map_err(Redeliver::Engine);
        }
        Ok(Outcome::Retry(why)) => Redeliver::Transient(why),
        Err(errors) => Redeliver::Engine(errors),
    };
    // Given up so that the next delivery imports it; if that fails, the lease lapses.
    let _ = engine.release_delivery(&claim).await;
    Err(why)
}

/// Reads the object and imports it; a refused import is stored as a failed operation.
async fn read_and_import<S: Store>(
    engine: &Engine<S>,
    importer: &Importer,
    target: ObjectRef<'_>,
    ty: &str,
    format: ImportFormat,
) -> Result<Outcome, ApiErrors> {
    let (bucket, key) = (target.bucket, target.key);
    let object = match importer.s3.get(target).await {
        Ok(object) => object,
        Err(e) if e.is_transient() => return Ok(Outcome::Retry(e.to_string())),
        Err(
            e @ S3Error::Refused {
                status: 404 | 412, ..
            },
        ) => {
            return Ok(Outcome::Skipped(e.to_string()));
        }
        Err(e) => {
            let refused = ApiError::new(
                ErrorKind::BadRequest,
                format!("The object s3://{bucket}/{key} cannot be read: {e}."),
            );
            let owner = importer.default_client.clone();
            return refused_import(engine, bucket, key, ty, owner, refused.into()).await;
        }
    };
    let owner = object
        .client
        .clone()
        .or_else(|| importer.default_client.clone());
    if let Some(client) = &owner
        && !client_active(engine, client).await?
    {
        let refused = ApiError::new(
            ErrorKind::AccessDenied,
            format!(
                "The client \"{client}\" that owns the import (the object's metadata \"client\", \
                 or the stack's ImportClient) is not an active API client."
            ),
        );
        let owner = importer.default_client.clone();
        return refused_import(engine, bucket, key, ty, owner, refused.into()).await;
    }
    let broken = std::sync::Arc::clone(&object.broken);
    match engine
        .import(ty, owner.clone(), format, object, &|_| {})
        .await
    {
        Ok(imported) => {
            tracing::info!(
                bucket,
                key,
                operation = imported.operation,
                data = imported.data,
                included = imported.included,
                "import stored"
            );
            Ok(Outcome::Stored(imported.operation))
        }
        Err(errors) if broken.load(Ordering::SeqCst) => Ok(Outcome::Retry(format!(
            "the transfer broke off: {errors:?}"
        ))),
        Err(errors) if errors.0.iter().any(|e| e.status().is_server_error()) => Err(errors),
        Err(errors) => refused_import(engine, bucket, key, ty, owner, errors).await,
    }
}

/// Stores a refused import as a failed operation, and says so in the log.
async fn refused_import<S: Store>(
    engine: &Engine<S>,
    bucket: &str,
    key: &str,
    ty: &str,
    owner: Option<String>,
    errors: ApiErrors,
) -> Result<Outcome, ApiErrors> {
    let operation = engine.record_refused_import(ty, owner, &errors).await?;
    let first = errors
        .0
        .first()
        .map(|e| e.detail.clone())
        .unwrap_or_default();
    tracing::warn!(
        bucket,
        key,
        operation,
        errors = errors.0.len(),
        first,
        "import refused: its operation failed"
    );
    Ok(Outcome::Stored(operation))
}

/// Whether `id` is an API client that is not revoked.
async fn client_active<S: Store>(engine: &Engine<S>, id: &str) -> Result<bool, ApiErrors> {
    let clients = engine.clients().await?;
    match clients.get(id).await {
        Ok(info) => Ok(info.is_some_and(|c| !c.revoked)),
        Err(e) => Err(ApiError::internal(&e).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_and_format_come_from_the_key() {
        assert!(matches!(
            import_target("imports/products/2026/12/batch.ndjson"),
            Some(("products", ImportFormat::Ndjson))
        ));
        assert!(matches!(
            import_target("imports/orders/a.JSONL"),
            Some(("orders", ImportFormat::Ndjson))
        ));
        assert!(matches!(
            import_target("imports/products/all.json"),
            Some(("products", ImportFormat::Document))
        ));
        for not_one in [
            "imports/products",
            "imports//a.json",
            "imports/products/",
            "other/a.json",
        ] {
            assert!(import_target(not_one).is_none(), "{not_one}");
        }
    }

    #[test]
    fn an_event_key_is_decoded_as_a_form_value() {
        let object = S3Object {
            key: "imports/products/my+file%2B1%C3%A9.json".into(),
            e_tag: None,
            version_id: None,
            sequencer: None,
        };
        assert_eq!(object.decoded_key(), "imports/products/my file+1é.json");
    }
}
