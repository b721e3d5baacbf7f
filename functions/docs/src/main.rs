//! `GET {prefix}/doc` and `GET {prefix}/doc/{file}` (the sandbox page, its assets and the
//! OpenAPI document): the `docs` operation as one Lambda function. It is built from the
//! configuration alone and never opens the table.

// One invocation at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), jsonapi_lambda::Error> {
    jsonapi_lambda::run_docs().await
}
