//! The hyper adapter: an HTTP request becomes an [`ApiRequest`], the engine's answer becomes an
//! HTTP response. Links are built on the server's public URL, never on the request's `Host`
//! (which the client chooses: links pointing elsewhere would send the next request there).

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use jsonapi_engine::{ApiError, ApiRequest, ApiResponse};

use jsonapi_engine::Engine;
use jsonapi_store::Store;

/// The largest request body accepted.
const MAX_BODY: usize = 8 * 1024 * 1024;

pub(crate) async fn answer<S: Store>(
    engine: &Engine<S>,
    public_url: &str,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let response = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => {
            let request = ApiRequest {
                method: parts.method,
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().map(str::to_owned),
                headers: parts.headers,
                body: collected.to_bytes(),
                base_url: public_url.to_owned(),
            };
            engine.handle(request).await
        }
        Err(_) => ApiResponse::errors(
            &ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload too large http exception",
                format!("The request body is larger than {MAX_BODY} bytes, or could not be read."),
            )
            .into(),
        ),
    };
    tracing::debug!(
        method = %method,
        path = %path,
        status = response.status.as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    let mut out = Response::new(Full::new(response.body));
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}
