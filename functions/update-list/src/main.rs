//! `PATCH /{type}` (API prefix first): the `update-list` operation (the batch API) as one
//! Lambda function. In the asynchronous mode it stores the operation's chunks, then its
//! record with their releases, and answers 202; the table's stream hands the releases to the
//! `batch-worker` function.

// One invocation at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), jsonapi_lambda::Error> {
    jsonapi_lambda::run(jsonapi_lambda::Operation::UpdateList).await
}
