//! A minimal lambda_http function answering every request with a fixed text: what a Rust
//! Lambda costs before any of our code runs, to compare the operation functions against.

use lambda_http::{Body, Error, Request, Response, service_fn};

// The same runtime flavour as the functions in `functions/`, so the comparison is fair.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
