//! A loopback fake of the Lambda Runtime API (the part a function talks to), to run a real
//! function binary as Lambda would, without Lambda or Docker:
//! - `GET  /2018-06-01/runtime/invocation/next` hands out the queued events one by one (and
//!   holds the request while none is queued, as Lambda does between invocations);
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error` are recorded;
//! - `POST /2018-06-01/runtime/init/error` is recorded.
//!
//! Also used by `examples/cold_start.rs` (the benchmark of `infra/bench/lambda.sh`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

/// What a function sent to the fake.
#[derive(Debug, Clone)]
pub enum Record {
    /// The answer to an invocation: the API Gateway response JSON.
    Response {
        request_id: String,
        body: Value,
        at: Instant,
    },
    /// An invocation the function failed (API Gateway would answer 502).
    Error {
        request_id: String,
        body: Value,
        at: Instant,
    },
    /// The function could not start: its `errorType`/`errorMessage` and error-type header.
    InitError {
        body: Value,
        error_type: String,
        at: Instant,
    },
}

/// The fake, serving on an ephemeral loopback port until dropped.
#[derive(Debug)]
pub struct RuntimeApi {
    addr: SocketAddr,
    events: mpsc::UnboundedSender<(String, Value)>,
    records: mpsc::UnboundedReceiver<Record>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    events: Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    records: mpsc::UnboundedSender<Record>,
    /// When the function first asked for an invocation: the end of its init.
    first_poll: std::sync::Mutex<Option<Instant>>,
}

impl RuntimeApi {
    /// Starts the fake.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (records_tx, records_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            records: records_tx,
            first_poll: std::sync::Mutex::default(),
        });
        let serving = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, hyper::Error>(answer(&shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            events: events_tx,
            records: records_rx,
            shared,
            server,
        }
    }

    /// When the function first asked for an invocation (it had finished its init), if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().unwrap()
    }

    /// `AWS_LAMBDA_RUNTIME_API`: `host:port`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an invocation.
    pub fn invoke(&self, request_id: &str, event: Value) {
        self.events
            .send((request_id.to_owned(), event))
            .expect("the fake is running");
    }

    /// The next thing the function sent, if it comes within `wait`.
    pub async fn record(&mut self, wait: Duration) -> Option<Record> {
        tokio::time::timeout(wait, self.records.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

async fn answer(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let at = Instant::now();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let record = match (&parts.method, segments.as_slice()) {
        (&Method::GET, ["2018-06-01", "runtime", "invocation", "next"]) => {
            shared.first_poll.lock().unwrap().get_or_insert(at);
            // Held until an event is queued, as Lambda holds it between invocations.
            let Some((request_id, event)) = shared.events.lock().await.recv().await else {
                return reply(StatusCode::GONE, "");
            };
            let deadline =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
            return Response::builder()
                .header("content-type", "application/json")
                .header("lambda-runtime-aws-request-id", request_id)
                .header(
                    "lambda-runtime-deadline-ms",
                    deadline.as_millis().to_string(),
                )
                .header(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:fake",
                )
                .header(
                    "lambda-runtime-trace-id",
                    "Root=1-6745a3b1-1c2d3e4f5a6b7c8d9e0f1a2b;Sampled=0",
                )
                .body(Full::new(Bytes::from(event.to_string())))
                .expect("a valid response");
        }
        (&Method::POST, ["2018-06-01", "runtime", "invocation", id, "response"]) => {
            Record::Response {
                request_id: (*id).to_owned(),
                body: json,
                at,
            }
        }
        (&Method::POST, ["2018-06-01", "runtime", "invocation", id, "error"]) => Record::Error {
            request_id: (*id).to_owned(),
            body: json,
            at,
        },
        (&Method::POST, ["2018-06-01", "runtime", "init", "error"]) => Record::InitError {
            error_type: parts
                .headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body: json,
            at,
        },
        _ => return reply(StatusCode::NOT_FOUND, "not a Runtime API path"),
    };
    let _ = shared.records.send(record);
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}
