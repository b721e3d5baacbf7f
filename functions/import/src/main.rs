//! The import function: S3 notifies it of each object created under `imports/{type}/` in the
//! stack's bucket, and it streams the object into an asynchronous batch operation
//! (jsonapi_lambda's `import` module says how owners, repeats and refusals are handled).

// One invocation at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), jsonapi_lambda::Error> {
    jsonapi_lambda::run_import().await
}
