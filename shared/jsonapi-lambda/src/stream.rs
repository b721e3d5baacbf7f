//! The `batch-worker` function: the table's DynamoDB Stream hands it the releases of the
//! chunks of asynchronous batches, written after their operation's record (the event source
//! mapping's filter lets only the INSERTs of release keys through), and it applies each
//! released chunk with the engine's one chunk path ([`Engine::run_released_chunk`], the
//! in-process worker's too). An hourly schedule invokes it too: it then releases again the
//! pending chunks of operations that have stalled, their releases given up by the stream
//! ([`Engine::release_stalled`]).
//!
//! Records are applied in stream order. The first that fails ends the invocation with its
//! sequence number in `batchItemFailures` (`ReportBatchItemFailures`): Lambda checkpoints
//! before it and delivers it and every later record again, so nothing after a failure is lost
//! and nothing before it is redone. A chunk delivered again is applied once (its units carry
//! records of their own), and one interrupted half-way is completed.
//!
//! The event types are a few serde structs rather than `aws_lambda_events`' DynamoDB feature,
//! which would bring `chrono` and `serde_dynamo` into a function that reads two key strings.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;
use jsonapi_engine::Engine;
use jsonapi_store::{Key, Store};
use jsonapi_store_dynamodb::table::{PARTITION_KEY, SORT_KEY};
use serde::{Deserialize, Serialize};

/// What invokes the `batch-worker` function.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WorkerEvent {
    /// The schedule's: the sweep of stalled operations.
    Scheduled(ScheduledEvent),
    /// The stream's records.
    Stream(StreamEvent),
}

/// An EventBridge scheduled event (only what tells it apart: a stream event has no
/// `detail-type`).
#[derive(Debug, Clone, Deserialize)]
pub struct ScheduledEvent {
    /// `Scheduled Event`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
}

/// A DynamoDB Stream event, as Lambda delivers it (only what the worker reads).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamEvent {
    /// The records, in stream order.
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

/// One change of the table.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    /// The change itself.
    pub dynamodb: Change,
}

/// The keys and place in the stream of a change.
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    /// The item's key attributes, in DynamoDB's typed JSON (`{"pk": {"S": "..."}}`).
    #[serde(rename = "Keys", default)]
    pub keys: HashMap<String, StringValue>,
    /// The record's place in its shard: what a partial failure names.
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: Option<String>,
}

/// A typed attribute value of which only the string form is read (the table's keys are
/// strings).
#[derive(Debug, Clone, Deserialize)]
pub struct StringValue {
    /// The `S` member.
    #[serde(rename = "S")]
    pub s: Option<String>,
}

/// The answer to a stream event under `ReportBatchItemFailures`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamResponse {
    /// The records to deliver again (only the first failed one is named: Lambda retries from
    /// the lowest sequence number named).
    pub batch_item_failures: Vec<ItemFailure>,
}

/// A record to deliver again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    /// The record's sequence number (empty when the record had none: Lambda then retries
    /// the whole batch).
    pub item_identifier: String,
}

impl StreamRecord {
    /// The key of the item an INSERT stored.
    fn inserted_key(&self) -> Option<Key> {
        if self.event_name != "INSERT" {
            return None;
        }
        let part = |name: &str| self.dynamodb.keys.get(name)?.s.clone();
        Some(Key::new(part(PARTITION_KEY)?, part(SORT_KEY)?))
    }
}

/// Answers one invocation of the `batch-worker` function: a stream event with
/// [`handle_stream`]; a scheduled one by releasing again the pending chunks of the operations
/// idle for `stall_after`, which fails the invocation when the store fails (Lambda retries an
/// event it invoked asynchronously; the next hour's sweep finishes the work in any case).
///
/// # Errors
/// The sweep could not read or write the table.
pub async fn handle_worker_event<S: Store>(
    engine: &Engine<S>,
    event: WorkerEvent,
    stall_after: Duration,
) -> Result<StreamResponse, lambda_http::Error> {
    match event {
        WorkerEvent::Stream(event) => Ok(handle_stream(engine, event).await),
        WorkerEvent::Scheduled(event) => match engine.release_stalled(stall_after).await {
            Ok(released) => {
                tracing::info!(
                    detail_type = event.detail_type,
                    released,
                    "stalled batch chunks released again"
                );
                Ok(StreamResponse::default())
            }
            Err(errors) => {
                tracing::warn!(error = ?errors, "the sweep of stalled batch operations failed");
                Err(format!("the sweep of stalled batch operations failed: {errors:?}").into())
            }
        },
    }
}

/// Applies the chunks an event's records released, in order, until one fails; never fails
/// itself (a panic is a failed record).
pub async fn handle_stream<S: Store>(engine: &Engine<S>, event: StreamEvent) -> StreamResponse {
    for record in event.records {
        // Anything else got past the filter (a hand-made event): nothing to do with it.
        let Some(key) = record.inserted_key() else {
            continue;
        };
        let outcome = AssertUnwindSafe(engine.run_released_chunk(&key))
            .catch_unwind()
            .await;
        let sequence = record.dynamodb.sequence_number.unwrap_or_default();
        match outcome {
            Ok(Ok(())) => tracing::info!(sequence, "batch chunk applied"),
            failed => {
                let why = match failed {
                    Ok(Err(errors)) => format!("{errors:?}"),
                    _ => "the engine panicked (see the log above)".to_owned(),
                };
                tracing::warn!(
                    sequence,
                    error = why,
                    "batch chunk left to be delivered again"
                );
                return StreamResponse {
                    batch_item_failures: vec![ItemFailure {
                        item_identifier: sequence,
                    }],
                };
            }
        }
    }
    StreamResponse::default()
}
