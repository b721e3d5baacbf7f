//! `POST /{type}/{id}/{subresource}` (API prefix first): the `add-subresource` operation (a
//! sub-resource action an extension serves) as one Lambda function.

// One invocation at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), jsonapi_lambda::Error> {
    jsonapi_lambda::run(jsonapi_lambda::Operation::AddSubresource).await
}
