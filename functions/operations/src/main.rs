//! `POST /operations` (API prefix first): the JSON:API atomic extension as one Lambda function,
//! when the configuration enables it (`api.operations`).

// One invocation at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), jsonapi_lambda::Error> {
    jsonapi_lambda::run(jsonapi_lambda::Operation::Operations).await
}
