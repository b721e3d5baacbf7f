//! The batch API's cloud half, when some type enables `update_list`: the `batch-worker`
//! function, the event source mapping that feeds it the chunks the `update-list` and `import`
//! functions release (from the table's stream), and the queue that keeps what it could not apply.
//!
//! The mapping is a plain `AWS::Lambda::EventSourceMapping` rather than a SAM `DynamoDB`
//! event: SAM would attach the managed `AWSLambdaDynamoDBExecutionRole`, which reads every
//! stream of the account; the function's own statements name this table's stream alone.

use jsonapi_config::{Operation, Schema};
use jsonapi_engine::{BATCH_PARTITION, BATCH_RELEASE_PREFIX};

use crate::policy;
use crate::yaml::quote;

/// Whether the configuration has batches to work on.
pub(crate) fn deploys(schema: &Schema) -> bool {
    schema
        .types()
        .any(|t| t.actions.allows(Operation::UpdateList))
}

/// The stream records the worker is given: INSERTs of chunks' releases, which are written after
/// their operation's record (the chunks themselves, stored before it, and the operation's
/// other items have other sort keys; a release written again is a MODIFY).
fn filter_pattern() -> String {
    format!(
        r#"{{"eventName":["INSERT"],"dynamodb":{{"Keys":{{"pk":{{"S":[{{"prefix":"{BATCH_PARTITION}"}}]}},"sk":{{"S":[{{"prefix":"{BATCH_RELEASE_PREFIX}"}}]}}}}}}}}"#
    )
}

/// How often the schedule invokes the worker's sweep: as often as an operation may go without
/// a chunk ending before the sweep releases its pending chunks again.
fn sweep_rate() -> String {
    let minutes = jsonapi_engine::BATCH_STALL_AFTER.as_secs() / 60;
    format!("rate({minutes} minutes)")
}

/// The worker's resources, at two spaces under `Resources`.
pub(crate) fn write(out: &mut String) {
    out.push_str(&FUNCTION.replace("@SWEEP@", &sweep_rate()));
    policy::batch_worker(out);
    out.push_str(
        &MAPPING
            .replace("@PATTERN@", &quote(&filter_pattern()))
            .replace(
                "@RETRIES@",
                &(2 * jsonapi_engine::BATCH_CHUNK_ATTEMPTS).to_string(),
            ),
    );
    out.push_str(QUEUE);
}

const FUNCTION: &str = r#"
  # The asynchronous batch API (docs/batch.md): the update-list and import functions store
  # each operation as chunks of up to 100 items in the table, then its record with one release
  # item per chunk; the table's stream hands every release to this function, and it applies
  # the chunk as jsonapi-local's worker does. A chunk delivered twice is applied once, a chunk
  # cut short (timeout, crash) is completed when delivered again. It answers batchItemFailures
  # with the first chunk it could not apply. Every hour, it releases again the pending
  # chunks of the operations in which no chunk has ended for BATCH_STALL_AFTER_SECONDS (an
  # hour when unset): releases the stream gave up on (see BatchFailures).
  BatchWorkerFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: fn-batch-worker
    Properties:
      Description: !Sub "${AWS::StackName} batch-worker: applies the chunks of asynchronous batches, delivered by the table's stream"
      # A chunk is up to 100 items, one transaction per group of linked items.
      Timeout: 300
      Events:
        StalledChunks:
          Type: Schedule
          Properties:
            Schedule: @SWEEP@
            Description: Releases again the pending chunks of stalled batch operations
"#;

const MAPPING: &str = r#"
  BatchWorkerChunks:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref BatchWorkerFunction
      EventSourceArn: !GetAtt Table.StreamArn
      StartingPosition: TRIM_HORIZON
      # Each record is a whole chunk: a few per invocation keep it well within its timeout.
      BatchSize: 10
      MaximumBatchingWindowInSeconds: 1
      # The answer names the first record not applied; Lambda retries from there.
      FunctionResponseTypes: [ReportBatchItemFailures]
      # A failed invocation (timeout, crash) is split in halves until the bad record is alone.
      BisectBatchOnFunctionError: true
      # Twice the worker's budget (jsonapi_engine::BATCH_CHUNK_ATTEMPTS): a chunk still failing
      # at the worker's last run is ended with its items reported as errors, never left
      # pending, even when failures before a run is counted (throttling) spent deliveries.
      MaximumRetryAttempts: @RETRIES@
      MaximumRecordAgeInSeconds: 86400
      DestinationConfig:
        OnFailure:
          Destination: !GetAtt BatchFailures.Arn
      # Only the releases of operations' chunks (jsonapi_engine::BATCH_PARTITION,
      # BATCH_RELEASE_PREFIX), written after their operation's record: every other change of
      # the table, the chunks themselves included, never invokes the worker.
      FilterCriteria:
        Filters:
          - Pattern: @PATTERN@
"#;

const QUEUE: &str = r#"
  # Where Lambda records the stream batches it gave up on. The worker ends a chunk at its last
  # retry (its items reported as errors), so a message here means a record never reached the
  # worker in time (older than a day) or the table failed through every retry; the worker's
  # scheduled sweep releases its chunk again. Kept 14 days.
  BatchFailures:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600
      SqsManagedSseEnabled: true
"#;

#[cfg(test)]
mod tests {
    use super::filter_pattern;

    #[test]
    fn the_filter_is_json_matching_release_inserts() {
        let pattern: serde_json::Value =
            serde_json::from_str(&filter_pattern()).expect("the pattern is JSON");
        assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]));
        assert_eq!(
            pattern["dynamodb"]["Keys"]["sk"]["S"][0]["prefix"],
            jsonapi_engine::BATCH_RELEASE_PREFIX
        );
    }
}
