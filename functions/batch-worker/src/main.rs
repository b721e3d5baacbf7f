//! The batch worker: the table's DynamoDB Stream hands it each chunk of an asynchronous batch
//! (or import) as the chunk is released, after its operation's record is stored, and it
//! applies the chunk (jsonapi_lambda's `stream` module says how failures are reported and
//! retried).

// One invocation at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), jsonapi_lambda::Error> {
    jsonapi_lambda::run_batch_worker().await
}
