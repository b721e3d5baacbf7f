//! The hyper adapter: an HTTP request becomes an [`ApiRequest`], the answer of the API's
//! documentation or of the engine becomes an HTTP response. Links are built on the `Host` the
//! client used.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use jsonapi_engine::{ApiError, ApiRequest, ApiResponse};

use jsonapi_engine::Engine;
use jsonapi_openapi::Docs;
use jsonapi_store::Store;

/// The largest request body accepted.
const MAX_BODY: usize = 8 * 1024 * 1024;

pub(crate) async fn answer<S: Store>(
    engine: &Engine<S>,
    docs: &Docs,
    addr: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let response = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => {
            let host = parts
                .headers
                .get(hyper::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map_or_else(|| addr.to_string(), str::to_owned);
            let request = ApiRequest {
                method: parts.method,
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().map(str::to_owned),
                headers: parts.headers,
                body: collected.to_bytes(),
                base_url: format!("http://{host}"),
            };
            match docs.answer(&request) {
                Some(documentation) => documentation,
                None => engine.handle(request).await,
            }
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
