//! The hyper adapter: an HTTP request's body is read (bounded), then the request becomes an
//! [`ApiRequest`] and the answer of the API's documentation or of the engine an HTTP response,
//! through the engine's one conversion (`ApiRequest::from_http`, shared with the Lambda edge).
//! Links are built on the server's public URL, never on the request's `Host` (which the client
//! chooses: links pointing elsewhere would send the next request there).

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use jsonapi_engine::error::ErrorKind;
use jsonapi_engine::{ApiError, ApiRequest, ApiResponse, Engine};
use jsonapi_openapi::Docs;

use crate::backend::Backend;

/// The largest request body accepted.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Why a body could not be read: too large (413), or it ended before its `Content-Length`
/// (or broke its chunked framing) and so is not the request the client meant (400).
fn unreadable_body(e: &(dyn std::error::Error + 'static)) -> ApiError {
    if e.downcast_ref::<LengthLimitError>().is_some() {
        return too_large();
    }
    ApiError::new(
        ErrorKind::BadRequest,
        "The request body ended before the length its Content-Length header gives (or broke its chunked framing).",
    )
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorKind::PayloadTooLarge,
        format!("The request body is larger than {MAX_BODY} bytes."),
    )
}

pub(crate) async fn answer(
    engine: &Engine<Backend>,
    docs: &Docs,
    public_url: &str,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let (method, path) = (parts.method.clone(), parts.uri.path().to_owned());
    // A body declared larger than the limit is refused before it is read.
    let declared =
        usize::try_from(hyper::body::Body::size_hint(&body).lower()).unwrap_or(usize::MAX);
    let read = if declared > MAX_BODY {
        Err(too_large())
    } else {
        Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| unreadable_body(&*e))
    };
    let response = match read {
        Ok(collected) => {
            let request =
                ApiRequest::from_http(Request::from_parts(parts, collected.to_bytes()), public_url);
            match docs.answer(&request) {
                Some(documentation) => documentation,
                None => engine.handle(request).await,
            }
        }
        Err(e) => ApiResponse::errors(&e.into()),
    };
    tracing::debug!(
        method = %method,
        path = %path,
        status = response.status.as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    Response::<Bytes>::from(response).map(Full::new)
}
