//! Logs: one JSON object per line on stdout, which CloudWatch Logs indexes as is. Each request
//! logs one line (request id, method, path, status, latency); bodies, query strings and headers
//! are never logged, as they may hold personal data, tokens or secrets.

use tracing_subscriber::EnvFilter;

/// The filter: `RUST_LOG` when set (any `tracing` directive), else the level Lambda's logging
/// configuration passes in `AWS_LAMBDA_LOG_LEVEL` (`TRACE`…`FATAL`), else `info`.
fn filter() -> EnvFilter {
    let directive = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|level| {
                match level.to_ascii_lowercase().as_str() {
                    "fatal" => "error".to_owned(),
                    other => other.to_owned(),
                }
            })
        })
        .unwrap_or_else(|| "info".to_owned());
    EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the JSON subscriber (once; later calls do nothing). The span of lambda_runtime's
/// invocation carries the Lambda request id into every line logged while a request runs.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter())
        .try_init();
}
