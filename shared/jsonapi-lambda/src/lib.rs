//! The Lambda edge of the cloud shape: one function per [`Operation`], behind an API Gateway
//! HTTP API (payload format 2.0). The only crate that knows `lambda_http`.
//!
//! # Layout
//! - `event`: an API Gateway request to an [`jsonapi_engine::ApiRequest`] (stage, raw path and
//!   query, cookies, base64 bodies, the public base URL of links) and the engine's answer back,
//!   through the engine's one HTTP conversion (`ApiRequest::from_http`), the local server's too.
//! - `init`: settings from the environment (the token signing key and lifetime included), the
//!   configuration checked against the template's digest of it, the engine built once per
//!   process, init errors reported to the Runtime API.
//! - `packaged`: the API configuration built into every function (`build.rs`:
//!   `JSONAPI_CONFIG_FILE`, checked at build time).
//! - `telemetry`: JSON logs with the Lambda request id.
//! - `stream`: the `batch-worker` function, fed by the table's DynamoDB Stream (and an hourly
//!   schedule, for releases the stream gave up on).
//! - `import`: the `import` function, fed by S3 event notifications of objects created under
//!   `imports/{type}/`, which it reads through `s3` (GetObject, signed with SigV4).
//!
//! A function's `main` is one line, [`run`] (the `docs` function's, [`run_docs`]: it serves
//! the API's documentation from the configuration and never opens the table). Tests call
//! [`handle`] and [`handle_docs`] with events from `tests/fixtures/apigw/`.
//!
//! Nothing a client sends turns into an `Err` for the runtime (API Gateway would answer a bare
//! 502): every failure, a panic included, is a JSON:API error document.

mod event;
mod import;
mod init;
mod packaged;
mod s3;
mod stream;
mod telemetry;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt as _;
use jsonapi_engine::{ApiError, ApiResponse, Engine};
use jsonapi_openapi::Docs;
use jsonapi_store::Store;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use lambda_http::{LambdaEvent, RequestExt, service_fn};

pub use event::{api_request, lambda_response};
pub use import::{
    Importer, RetryLater, S3Bucket, S3Entity, S3Event, S3Object, S3Record, handle_import,
    import_target,
};
pub use init::InitError;
pub use jsonapi_engine::Operation;
pub use lambda_http::{Body, Error, Request, Response};
pub use s3::{Object, ObjectRef, S3, S3Error};
pub use stream::{
    Change, ItemFailure, ScheduledEvent, StreamEvent, StreamRecord, StreamResponse, WorkerEvent,
    handle_stream, handle_worker_event,
};
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
    let request = api_request(request, public_url(engine.schema()));
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

/// Runs a function: logs, the engine built once from the packaged configuration (or
/// `JSONAPI_CONFIG`; either checked against `JSONAPI_CONFIG_SHA256`) and the environment
/// (`TABLE_NAME`, `AWS_ENDPOINT_URL_DYNAMODB`, `JSONAPI_PUBLIC_URL`, `TOKEN_LIFETIME_SECONDS`,
/// and the token signing key `JWT_PRIVATE_KEY` or `JWT_SECRET`, else the key kept in the
/// table), then the Runtime API loop answering every invocation with [`handle`].
///
/// # Errors
/// The function cannot start ([`InitError`], also reported to the Runtime API's init-error
/// endpoint), or the Runtime API fails.
pub async fn run(operation: Operation) -> Result<(), Error> {
    let engine = start(Some(operation)).await?;
    let engine = &engine;
    serve(move |request| handle(engine, operation, request)).await
}

/// Runs the `batch-worker` function: the engine built as [`run`] builds it (without auth: it
/// answers no client) and `BATCH_STALL_AFTER_SECONDS`, then every DynamoDB Stream event and
/// every scheduled sweep answered by [`handle_worker_event`].
///
/// # Errors
/// The function cannot start ([`InitError`], also reported to the Runtime API), or the
/// Runtime API fails.
pub async fn run_batch_worker() -> Result<(), Error> {
    let engine = start(None).await?;
    let stall_after = match init::stall_after() {
        Ok(after) => after,
        Err(e) => return Err(init_failed(e).await),
    };
    let engine = &engine;
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<WorkerEvent>| async move {
            handle_worker_event(engine, event.payload, stall_after).await
        },
    ))
    .await
}

/// Runs the `import` function: the engine built as [`run_batch_worker`] builds it, an S3
/// client from the environment, then every S3 event answered by [`handle_import`] (an
/// invocation fails when some of its records should be delivered again).
///
/// # Errors
/// The function cannot start ([`InitError`], also reported to the Runtime API), or the
/// Runtime API fails.
pub async fn run_import() -> Result<(), Error> {
    let engine = start(None).await?;
    let importer = match Importer::from_env() {
        Ok(importer) => importer,
        Err(e) => {
            let e = InitError {
                kind: "S3Unavailable",
                message: e.to_string(),
            };
            return Err(init_failed(e).await);
        }
    };
    let (engine, importer) = (&engine, &importer);
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        handle_import(engine, importer, event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}

/// Logs set up, then the engine from the environment, or the reason it cannot be built
/// reported to the Runtime API.
async fn start(
    operation: Option<Operation>,
) -> Result<Engine<jsonapi_store_dynamodb::DynamoStore>, Error> {
    init_tracing();
    let built = match init::Settings::from_env() {
        Ok(settings) => settings.engine(operation).await,
        Err(e) => Err(e),
    };
    match built {
        Ok(engine) => Ok(engine),
        Err(e) => Err(init_failed(e).await),
    }
}

/// Logs why the function cannot start and reports it to the Runtime API; the error to end
/// the process with.
async fn init_failed(e: InitError) -> Error {
    tracing::error!(error.kind = e.kind, error.message = %e.message, "init failed");
    init::report(&e).await;
    e.into()
}

/// Runs the `docs` function: the configuration read once (as [`run`] reads it), then every
/// invocation answered by the API's documentation ([`handle_docs`]). It never connects to
/// the table, so it needs no permission on it.
///
/// # Errors
/// The configuration is unusable ([`InitError`], also reported to the Runtime API), or the
/// Runtime API fails.
pub async fn run_docs() -> Result<(), Error> {
    init_tracing();
    let docs = match init::docs_schema_from_env() {
        Ok(schema) => Docs::new(&schema),
        Err(e) => return Err(init_failed(e).await),
    };
    let docs = &docs;
    serve(move |request| std::future::ready(handle_docs(docs, request))).await
}

/// The base URL of links: `JSONAPI_PUBLIC_URL` (init refused an unusable one), else the
/// configuration's `api.publicUrl`, else none (the request's own domain and stage then).
fn public_url(schema: &jsonapi_config::Schema) -> Option<&str> {
    init::public_url()
        .ok()
        .flatten()
        .or(schema.api.public_url.as_deref())
}

/// Answers a request for the API's documentation (`{prefix}/doc`, `{prefix}/doc/{file}`);
/// anything else, or everything when the API is off, is a 404 error document.
pub fn handle_docs(docs: &Docs, request: Request) -> Response<Body> {
    let request = api_request(request, public_url(docs.schema()));
    let response = docs.answer(&request).unwrap_or_else(|| {
        ApiResponse::errors(&ApiError::no_route(&request.method, &request.path).into())
    });
    tracing::info!(
        method = %request.method,
        path = request.path,
        status = response.status.as_u16(),
        "request"
    );
    lambda_response(response)
}

/// The Runtime API loop, answering every invocation with `answer`. The event is taken as API
/// Gateway's type, not lambda_http's, so that a query string `http::Uri` refuses is repaired
/// before lambda_http builds its request (it would panic).
async fn serve<F, R>(answer: F) -> Result<(), Error>
where
    F: Fn(Request) -> R,
    R: Future<Output = Response<Body>>,
{
    let answer = &answer;
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let LambdaEvent { payload, context } = event;
            let request = Request::from(LambdaRequest::ApiGatewayV2(event::sanitize(payload)))
                .with_lambda_context(context);
            Ok::<_, Error>(event::apigw_response(answer(request).await))
        },
    ))
    .await
}
