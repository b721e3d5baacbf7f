//! `PATCH /{type}/{id}` (API prefix first): the `update` operation as one Lambda function.

// One invocation at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), jsonapi_lambda::Error> {
    jsonapi_lambda::run(jsonapi_lambda::Operation::Update).await
}
