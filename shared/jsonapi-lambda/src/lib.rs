//! The Lambda edge of the cloud shape: one function per [`Operation`], behind an API Gateway
//! HTTP API (payload format 2.0). The only crate that knows `lambda_http`.
//!
//! # Layout
//! - `event`: an API Gateway request to an [`jsonapi_engine::ApiRequest`] (stage, raw path and
//!   query, cookies, base64 bodies, the public base URL of links) and the engine's answer back.
//! - `init`: settings from the environment (the token signing key and lifetime included), the
//!   engine built once per process, init errors reported to the Runtime API.
//! - `telemetry`: JSON logs with the Lambda request id.
//!
//! A function's `main` is one line, [`run`]. Tests call [`handle`] with events from
//! `tests/fixtures/apigw/`.
//!
//! Nothing a client sends turns into an `Err` for the runtime (API Gateway would answer a bare
//! 502): every failure, a panic included, is a JSON:API error document.

mod event;
mod init;
mod telemetry;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt as _;
use jsonapi_engine::{ApiError, ApiResponse, Engine};
use jsonapi_store::Store;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use lambda_http::{LambdaEvent, RequestExt, service_fn};

pub use event::{api_request, lambda_response};
pub use init::InitError;
pub use jsonapi_engine::Operation;
pub use lambda_http::{Body, Error, Request, Response};
pub use telemetry::init_tracing;

/// Answers one request on behalf of `operation`. Never fails: the response is the engine's
/// answer, or a 500 error document if the engine panicked.
pub async fn handle<S: Store>(
    engine: &Engine<S>,
    operation: Operation,
    request: Request,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    // Init refused an unusable JSONAPI_PUBLIC_URL; the configuration's URL comes next.
    let public_url = init::public_url().ok().flatten().or(engine
        .schema()
        .api
        .public_url
        .as_deref());
    let request = api_request(request, public_url);
    let (method, path) = (request.method.clone(), request.path.clone());
    let response = AssertUnwindSafe(engine.handle_as(operation, request))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            ApiResponse::errors(
                &ApiError::internal(&"the engine panicked (see the log above)").into(),
            )
        });
    // The query string is left out on purpose: filter values can be personal data.
    tracing::info!(
        request_id,
        method = %method,
        path,
        status = response.status.as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    lambda_response(response)
}

/// Runs a function: logs, the engine built once from the environment (`JSONAPI_CONFIG`,
/// `TABLE_NAME`, `AWS_ENDPOINT_URL_DYNAMODB`, `JSONAPI_PUBLIC_URL`, `TOKEN_LIFETIME_SECONDS`,
/// and the token signing key `JWT_PRIVATE_KEY` or `JWT_SECRET`, else the key kept in the
/// table), then the Runtime API loop answering every invocation with [`handle`].
///
/// # Errors
/// The function cannot start ([`InitError`], also reported to the Runtime API's init-error
/// endpoint), or the Runtime API fails.
pub async fn run(operation: Operation) -> Result<(), Error> {
    init_tracing();
    let built = match init::Settings::from_env() {
        Ok(settings) => settings.engine(operation).await,
        Err(e) => Err(e),
    };
    let engine = match built {
        Ok(engine) => engine,
        Err(e) => {
            tracing::error!(error.kind = e.kind, error.message = %e.message, "init failed");
            init::report(&e).await;
            return Err(e.into());
        }
    };
    let engine = &engine;
    // The event is taken as API Gateway's type, not lambda_http's, so that a query string
    // `http::Uri` refuses is repaired before lambda_http builds its request (it would panic).
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let LambdaEvent { payload, context } = event;
            let request = Request::from(LambdaRequest::ApiGatewayV2(event::sanitize(payload)))
                .with_lambda_context(context);
            let response = handle(engine, operation, request).await;
            Ok::<_, Error>(event::apigw_response(response))
        },
    ))
    .await
}
