//! Shared helpers for the benchmark binaries (`ceiling`, `loadgen`, `planner`, `dataset`).
//!
//! Kept in a library so the small pure pieces (template rendering, header
//! parsing, percentiles, the loopback guard) can be unit-tested.

use std::net::SocketAddr;

use http::{HeaderMap, Method, header};
use hyper::header::{HeaderName, HeaderValue, InvalidHeaderName, InvalidHeaderValue};
use jsonapi_engine::{ApiRequest, MEDIA_TYPE};

/// The fixed JSON:API document the `ceiling` server answers with. Small and
/// constant so the ceiling measures only HTTP/runtime overhead.
pub const CEILING_BODY: &str = r#"{"jsonapi":{"version":"1.1"},"data":{"type":"products","id":"1","attributes":{"name":"x"}}}"#;

/// The JSON:API media type, used by the ceiling's responses.
pub const JSONAPI_MEDIA_TYPE: &str = "application/vnd.api+json";

/// Replaces every `{n}` in `template` with `n`, so each request can carry a
/// unique value (e.g. a SKU that has a uniqueness constraint), and every `{k}`
/// with `n % keys + 1`, so that requests cycle over existing ids `1..=keys`
/// (updates spread over many resources rather than all racing for one).
pub fn render_template(template: &str, n: u64, keys: u64) -> String {
    template
        .replace("{n}", &n.to_string())
        .replace("{k}", &(n % keys.max(1) + 1).to_string())
}

/// Why a command-line header or a load target is refused.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    /// A header without a `:`.
    #[error("header {0:?} is not of the form K:V")]
    HeaderForm(String),
    /// A header whose name is not a header name.
    #[error("bad header name in {raw:?}: {source}")]
    HeaderName {
        raw: String,
        source: InvalidHeaderName,
    },
    /// A header whose value cannot be sent.
    #[error("bad header value in {raw:?}: {source}")]
    HeaderValue {
        raw: String,
        source: InvalidHeaderValue,
    },
    /// A target named by neither a loopback IP literal nor `localhost`.
    #[error("refusing {0}: use a loopback IP literal or localhost")]
    NotLoopbackName(String),
    /// A target that could not be resolved.
    #[error("cannot resolve {target}: {source}")]
    Unresolved {
        target: String,
        source: std::io::Error,
    },
    /// A target that resolved to nothing.
    #[error("{0} resolved to no address")]
    NoAddress(String),
    /// A target one of whose addresses is off this machine.
    #[error(
        "refusing {target}: it resolves to a non-loopback address ({addrs:?}); loadgen only targets this machine"
    )]
    NotLoopback {
        target: String,
        addrs: Vec<SocketAddr>,
    },
}

/// Parses a `K:V` command-line header. Only the first `:` splits, so values
/// may contain colons; surrounding whitespace is trimmed on both sides.
///
/// # Errors
/// A header without `:`, or with a name or value HTTP does not allow.
pub fn parse_header(raw: &str) -> Result<(HeaderName, HeaderValue), ArgError> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| ArgError::HeaderForm(raw.to_owned()))?;
    let name =
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|source| ArgError::HeaderName {
            raw: raw.to_owned(),
            source,
        })?;
    let value = HeaderValue::from_str(value.trim()).map_err(|source| ArgError::HeaderValue {
        raw: raw.to_owned(),
        source,
    })?;
    Ok((name, value))
}

/// Nearest-rank percentile (`p` in 0..=100) of latencies given in
/// microseconds, returned in milliseconds. `sorted_us` must be sorted
/// ascending; an empty slice yields 0 so the output line stays valid JSON.
pub fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    // Nearest rank: the smallest value with at least p% of samples <= it.
    let rank = (p / 100.0 * sorted_us.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted_us.len()) - 1;
    sorted_us[idx] as f64 / 1000.0
}

/// Resolves `host:port` (an IP literal or `localhost`) and returns an address
/// only if *every* resolved address is loopback. The load generator must never
/// send traffic off this machine, so anything else is refused outright.
///
/// # Errors
/// A name other than `localhost`, or one that resolves to nothing or off this machine.
pub async fn resolve_loopback(host: &str, port: u16) -> Result<SocketAddr, ArgError> {
    // `Uri::host()` keeps IPv6 brackets ("[::1]"), which is exactly the form
    // `lookup_host` needs in front of ":port".
    let target = format!("{host}:{port}");
    // Other names are refused before any DNS lookup: a benchmark target is an
    // IP literal or `localhost`, and nothing else should even be resolved.
    let is_ip_literal = host
        .trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .is_ok();
    if !is_ip_literal && !host.eq_ignore_ascii_case("localhost") {
        return Err(ArgError::NotLoopbackName(target));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&target)
        .await
        .map_err(|source| ArgError::Unresolved {
            target: target.clone(),
            source,
        })?
        .collect();
    check_loopback(&target, &addrs)
}

/// The pure part of [`resolve_loopback`]: picks the first address if all are
/// loopback.
fn check_loopback(target: &str, addrs: &[SocketAddr]) -> Result<SocketAddr, ArgError> {
    match addrs.first() {
        None => Err(ArgError::NoAddress(target.to_owned())),
        Some(_) if addrs.iter().any(|a| !a.ip().is_loopback()) => Err(ArgError::NotLoopback {
            target: target.to_owned(),
            addrs: addrs.to_vec(),
        }),
        Some(first) => Ok(*first),
    }
}

/// An in-process JSON:API request (`uri` is a path with its query), for the benchmarks that
/// drive the engine without HTTP.
///
/// # Panics
/// Never: the media type is a valid header value.
pub fn request(method: Method, uri: &str, body: Option<String>) -> ApiRequest {
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (uri.to_owned(), None),
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, MEDIA_TYPE.parse().expect("valid"));
    ApiRequest {
        method,
        path,
        query,
        headers,
        body: body.unwrap_or_default().into(),
        base_url: "http://bench".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_replaces_every_placeholder() {
        assert_eq!(render_template("a-{n}-b-{n}", 42, 1), "a-42-b-42");
        assert_eq!(render_template("none", 1, 1), "none");
        assert_eq!(render_template("/p/{k}?{n}", 42, 10), "/p/3?42");
    }

    #[test]
    fn header_splits_on_first_colon_and_trims() {
        let (k, v) = parse_header("Content-Type: application/vnd.api+json").unwrap();
        assert_eq!(k, "content-type");
        assert_eq!(v, "application/vnd.api+json");
        let (_, v) = parse_header("X-Url:http://x:1").unwrap();
        assert_eq!(v, "http://x:1");
        assert!(parse_header("no-colon").is_err());
        assert!(parse_header("bad name: v").is_err());
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let us: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&us, 50.0), 50.0);
        assert_eq!(percentile_ms(&us, 99.0), 99.0);
        assert_eq!(percentile_ms(&us, 100.0), 100.0);
        assert_eq!(percentile_ms(&[1500], 99.0), 1.5);
        assert_eq!(percentile_ms(&[], 50.0), 0.0);
    }

    #[test]
    fn only_loopback_addresses_pass() {
        let lo4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let lo6: SocketAddr = "[::1]:80".parse().unwrap();
        let other: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(check_loopback("t", &[lo4, lo6]).ok(), Some(lo4));
        assert!(check_loopback("t", &[lo4, other]).is_err());
        assert!(check_loopback("t", &[]).is_err());
    }

    #[tokio::test]
    async fn resolver_refuses_non_loopback_literals() {
        assert!(resolve_loopback("127.0.0.1", 1).await.is_ok());
        assert!(resolve_loopback("[::1]", 1).await.is_ok());
        assert!(resolve_loopback("192.168.1.1", 1).await.is_err());
        assert!(resolve_loopback("8.8.8.8", 1).await.is_err());
        assert!(resolve_loopback("example.com", 1).await.is_err());
        assert!(resolve_loopback("localhost", 1).await.is_ok());
    }
}
