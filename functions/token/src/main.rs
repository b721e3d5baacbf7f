//! `POST /oauth2-token` and `GET /.well-known/jwks.json` (outside the API prefix): the `token`
//! operation as one Lambda function.

// One invocation at a time per Lambda instance: a single-threaded runtime starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), jsonapi_lambda::Error> {
    jsonapi_lambda::run(jsonapi_lambda::Operation::Token).await
}
