//! `loadgen`: a small, bounded HTTP/1.1 load generator on hyper's client.
//!
//! It opens `--connections` keep-alive connections, each driven by one task
//! sending requests back to back (closed loop), discards the `--warmup`
//! period, measures for `--duration` and prints one JSON line:
//! `{"rps":..,"p50_ms":..,"p99_ms":..,"requests":..,"errors":..,"statuses":{..}}`.
//!
//! `requests` counts responses completed inside the measured window (any
//! status); `rps` is that over the window; `errors` is non-2xx responses plus
//! transport failures (refused connection, reset, ...), which have no status,
//! plus requests left pending through the whole window (a stalled server).
//! It only ever targets loopback addresses and stops by itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use jsonapi_bench::{parse_header, percentile_ms, render_template, resolve_loopback};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, sleep_until};

#[derive(Debug, Parser)]
#[command(about = "Bounded HTTP/1.1 keep-alive load generator (loopback targets only)")]
struct Args {
    /// Target URL, plain http on a loopback address, e.g. http://127.0.0.1:8080/api/products/1
    #[arg(long)]
    url: String,
    /// Request method.
    #[arg(long, value_enum, ignore_case = true, default_value = "GET")]
    method: HttpMethod,
    /// Request body; every `{n}` becomes a per-request unique counter, every `{k}` that
    /// counter modulo `--keys`, plus 1 (as in the URL's path).
    #[arg(long)]
    body_template: Option<String>,
    /// How many ids `{k}` cycles over.
    #[arg(long, default_value_t = 1)]
    keys: u64,
    /// Extra request header as `K:V`; repeatable.
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Concurrent keep-alive connections (one in-flight request each).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Measured seconds (fractions allowed).
    #[arg(long, default_value_t = 5.0, value_parser = positive_secs)]
    duration: f64,
    /// Seconds of load before measuring starts, to warm caches and connections.
    #[arg(long, default_value_t = 1.0, value_parser = non_negative_secs)]
    warmup: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum HttpMethod {
    #[value(name = "GET")]
    Get,
    #[value(name = "POST")]
    Post,
    #[value(name = "PATCH")]
    Patch,
}

fn positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds in (0, 3600]")),
    }
}

fn non_negative_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds in [0, 3600]")),
    }
}

/// Everything a worker needs, shared read-only (plus the body counter).
#[derive(Debug)]
struct Plan {
    addr: SocketAddr,
    method: Method,
    /// Origin-form target (path and query), as HTTP/1.1 sends it to a server; with `{k}` in
    /// it, rendered per request.
    target: String,
    keys: u64,
    /// Host plus the user's headers, cloned into every request.
    headers: HeaderMap,
    body_template: Option<String>,
    /// Global so `{n}` stays unique across all connections.
    counter: AtomicU64,
    measure_start: Instant,
    end: Instant,
}

impl Plan {
    fn request(&self) -> Request<Full<Bytes>> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let body = match &self.body_template {
            Some(t) => Bytes::from(render_template(t, n, self.keys)),
            None => Bytes::new(),
        };
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = self.method.clone();
        // Checked in `plan`: the rendered target is a valid origin-form URI.
        *req.uri_mut() = render_template(&self.target, n, self.keys)
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// One worker's tallies, merged at the end (no shared locks on the hot path).
#[derive(Debug, Default)]
struct Stats {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
}

impl Stats {
    fn merge(&mut self, other: Self) {
        self.latencies_us.extend(other.latencies_us);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.transport_errors += other.transport_errors;
    }
}

/// How many transport errors have been reported on stderr: enough to
/// diagnose, few enough not to flood the terminal when a server is down.
static ERRORS_LOGGED: AtomicUsize = AtomicUsize::new(0);
const MAX_ERRORS_LOGGED: usize = 5;

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    // Small request/response pairs: don't let Nagle delay them.
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake {addr}: {e}"))?;
    // The connection future does the actual I/O; it ends when the sender is
    // dropped or the server closes the connection.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request on the worker's connection (opening one if needed) and
/// reads the whole response. Returns its status and latency.
async fn one_request(
    plan: &Plan,
    conn: &mut Option<SendRequest<Full<Bytes>>>,
) -> Result<(u16, Duration), String> {
    // Reconnect if we have no connection or the server closed it (e.g. it
    // does not keep connections alive); that alone is not an error.
    let sender = match conn.take() {
        Some(s) if !s.is_closed() => conn.insert(s),
        _ => conn.insert(connect(plan.addr).await?),
    };
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let req = plan.request();
    let started = Instant::now();
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = res.status().as_u16();
    // Read the body fully: that is part of the response time, and hyper only
    // reuses the connection once the previous body is consumed.
    res.into_body()
        .collect()
        .await
        .map_err(|e| format!("response body: {e}"))?;
    Ok((status, started.elapsed()))
}

/// Closed loop on one connection until the plan's end.
async fn worker(plan: Arc<Plan>) -> Stats {
    let mut stats = Stats::default();
    let mut conn = None;
    loop {
        // Racing against the deadline bounds the run even if the server
        // hangs mid-request. A request cut off there is not counted, unless it
        // was already pending before measuring began: a server stalled for the
        // whole window must show up as errors, not as a clean zero.
        let sent = Instant::now();
        let outcome = tokio::select! {
            outcome = one_request(&plan, &mut conn) => outcome,
            () = sleep_until(plan.end) => {
                if sent < plan.measure_start {
                    stats.transport_errors += 1;
                }
                break;
            }
        };
        let now = Instant::now();
        let measuring = now >= plan.measure_start && now < plan.end;
        match outcome {
            Ok((status, latency)) => {
                if measuring {
                    stats.latencies_us.push(latency.as_micros() as u64);
                    *stats.statuses.entry(status).or_default() += 1;
                }
            }
            Err(e) => {
                if measuring {
                    stats.transport_errors += 1;
                }
                if ERRORS_LOGGED.fetch_add(1, Ordering::Relaxed) < MAX_ERRORS_LOGGED {
                    eprintln!("loadgen: {e}");
                }
                // Start over on a fresh connection; pause briefly so a dead
                // server produces a trickle of errors, not a busy loop.
                conn = None;
                sleep(Duration::from_millis(10)).await;
            }
        }
        if now >= plan.end {
            break;
        }
    }
    stats
}

/// Validates the URL (plain http, loopback only) and builds the plan.
async fn plan(args: Args) -> Result<Plan, String> {
    // `{k}` is not valid in a URI: checked with an id in its place.
    let uri: Uri = render_template(&args.url, 0, 1)
        .parse()
        .map_err(|e| format!("bad --url {:?}: {e}", args.url))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("--url {:?} must be plain http://", args.url));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("--url {:?} has no host", args.url))?;
    let addr = resolve_loopback(authority.host(), authority.port_u16().unwrap_or(80))
        .await
        .map_err(|e| e.to_string())?;

    let mut headers = HeaderMap::new();
    headers.insert(
        HOST,
        HeaderValue::from_str(authority.as_str()).map_err(|e| format!("bad host: {e}"))?,
    );
    for (name, value) in args.headers {
        headers.append(name, value);
    }
    // The path and query as given (with any `{k}`): what follows the authority.
    let authority_and_rest = args.url.split_once("://").map_or("", |(_, rest)| rest);
    let target = authority_and_rest
        .find('/')
        .map_or_else(|| "/".to_owned(), |at| authority_and_rest[at..].to_owned());

    let measure_start = Instant::now() + Duration::from_secs_f64(args.warmup);
    Ok(Plan {
        addr,
        method: match args.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
            HttpMethod::Patch => Method::PATCH,
        },
        target,
        keys: args.keys,
        headers,
        body_template: args.body_template,
        counter: AtomicU64::new(0),
        measure_start,
        end: measure_start + Duration::from_secs_f64(args.duration),
    })
}

/// Rounds for display; full f64 precision is noise in a benchmark report.
fn round_to(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

fn report(mut stats: Stats, measured_secs: f64) -> serde_json::Value {
    stats.latencies_us.sort_unstable();
    let requests: u64 = stats.statuses.values().sum();
    let non_2xx: u64 = stats
        .statuses
        .iter()
        .filter(|(status, _)| !(200..300).contains(*status))
        .map(|(_, n)| n)
        .sum();
    let statuses: serde_json::Map<String, serde_json::Value> = stats
        .statuses
        .iter()
        .map(|(status, n)| (status.to_string(), (*n).into()))
        .collect();
    serde_json::json!({
        "rps": round_to(requests as f64 / measured_secs, 1),
        "p50_ms": round_to(percentile_ms(&stats.latencies_us, 50.0), 3),
        "p99_ms": round_to(percentile_ms(&stats.latencies_us, 99.0), 3),
        "requests": requests,
        "errors": non_2xx + stats.transport_errors,
        "statuses": statuses,
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let connections = args.connections;
    let measured_secs = args.duration;
    let plan = match plan(args).await {
        Ok(plan) => Arc::new(plan),
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };

    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(worker(Arc::clone(&plan))))
        .collect();
    let mut total = Stats::default();
    for w in workers {
        match w.await {
            Ok(stats) => total.merge(stats),
            Err(e) => eprintln!("loadgen: worker failed: {e}"),
        }
    }
    println!("{}", report(total, measured_secs));
    ExitCode::SUCCESS
}
