//! The engine's view of HTTP: a request and a response, free of any server or Lambda type, and
//! JSON:API content negotiation.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

use crate::error::{ApiError, ApiErrors, ErrorKind};

/// The JSON:API media type.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// `Retry-After` of a 503: the store's throttling and write contention both clear within
/// moments.
const RETRY_AFTER_SECONDS: u64 = 1;

/// One request, as the HTTP adapters hand it over.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The path, still percent-encoded.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The public base URL links are built on (`https://api.example.com` or
    /// `https://abc.execute-api.us-east-1.amazonaws.com/prod`), without a trailing slash.
    pub base_url: String,
}

/// One response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers, `Content-Type` included when there is a body.
    pub headers: HeaderMap,
    /// The body (empty for 204 and HEAD).
    pub body: Bytes,
}

impl ApiResponse {
    /// A JSON:API document.
    pub fn document(status: StatusCode, doc: &Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        Self {
            status,
            headers,
            body: Bytes::from(serde_json::to_vec(doc).expect("documents serialize")),
        }
    }

    /// No body.
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// The response with an `ETag` (a quoted tag, as `crate::precondition` makes them).
    #[must_use]
    pub(crate) fn with_etag(mut self, tag: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(tag) {
            self.headers.insert(http::header::ETAG, v);
        }
        self
    }

    /// An error document with the combined status; a 503 (the store is busy, or too many
    /// requests change one resource at once) tells the client when to retry.
    pub fn errors(errors: &ApiErrors) -> Self {
        let status = errors.status();
        let mut response = Self::document(status, &errors.to_document());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers
                .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        if let Some(challenge) = errors.0.iter().find_map(|e| e.challenge.as_deref())
            && let Ok(value) = HeaderValue::from_str(challenge)
        {
            response.headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// One media range of a header: `type/subtype` and its parameters (names lowercased).
pub(crate) struct MediaRange<'a> {
    pub(crate) essence: String,
    params: Vec<(String, &'a str)>,
}

impl MediaRange<'_> {
    /// Whether the range accepts what it names: its quality is above zero. A `q` that is not a
    /// qvalue (RFC 9110 §12.4.2: `0` to `1`, at most three decimals) makes the range unusable,
    /// as `q=0` does.
    pub(crate) fn accepts(&self) -> bool {
        self.params
            .iter()
            .filter(|(k, _)| k == "q")
            .all(|(_, v)| qvalue(v).is_some_and(|q| q > 0))
    }
}

/// A qvalue in thousandths (`0.5` is 500), or `None` when `text` is not one.
fn qvalue(text: &str) -> Option<u16> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

pub(crate) fn media_ranges(header: &str) -> Vec<MediaRange<'_>> {
    header
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|range| {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let params = parts
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.trim().to_ascii_lowercase(), v.trim().trim_matches('"')))
                })
                .collect();
            MediaRange { essence, params }
        })
        .collect()
}

pub(crate) fn header_str<'a>(
    headers: &'a HeaderMap,
    name: &http::HeaderName,
) -> Result<Option<String>, ApiError> {
    let values: Vec<&'a HeaderValue> = headers.get_all(name).iter().collect();
    if values.is_empty() {
        return Ok(None);
    }
    let mut joined = Vec::new();
    for v in values {
        joined.push(v.to_str().map_err(|_| {
            ApiError::new(
                ErrorKind::BadRequest,
                format!("The \"{name}\" header is not valid text."),
            )
            .header(name.as_str())
        })?);
    }
    Ok(Some(joined.join(",")))
}

/// Whether an `ext` media type parameter names only the extension the route speaks (JSON:API
/// 1.1: its value is a space-separated list of URIs, all of which must be supported).
fn ext_supported(value: &str, ext: Option<&str>) -> bool {
    value.split_whitespace().all(|uri| Some(uri) == ext)
}

/// Checks `Accept` and `Content-Type` the way JSON:API 1.1 asks (the model system's rules, with
/// JSON:API's treatment of `ext` and `profile`). `ext` is the extension the route speaks (the
/// atomic extension at `{prefix}/operations`), if any: its body must declare it.
///
/// # Errors
/// 406 when `Accept` admits no usable JSON:API media type; 415 when the body's `Content-Type` is
/// not the JSON:API media type without parameters (but `profile`, and `ext` naming the route's
/// extension, which it then must). The detail says what to send instead.
pub fn negotiate(
    method: &Method,
    headers: &HeaderMap,
    has_body: bool,
    ext: Option<&str>,
) -> Result<(), ApiError> {
    check_accept(headers, ext)?;
    let sends_body = has_body || *method == Method::POST || *method == Method::PATCH;
    if !sends_body {
        return Ok(());
    }
    check_content_type(headers, ext)
}

/// `Accept` must admit a usable JSON:API media type (406 otherwise); no header admits all.
fn check_accept(headers: &HeaderMap, ext: Option<&str>) -> Result<(), ApiError> {
    let Some(accept) = header_str(headers, &ACCEPT)? else {
        return Ok(());
    };
    let ranges = media_ranges(&accept);
    let jsonapi: Vec<_> = ranges.iter().filter(|r| r.essence == MEDIA_TYPE).collect();
    // A JSON:API range is usable when its only parameters are `q`, `profile` (profiles
    // MUST be ignored when unknown) and an `ext` naming only the route's extension; on a
    // route that answers with an extension, it must name it (the answer applies it).
    let usable = jsonapi.iter().any(|r| {
        r.accepts()
            && r.params
                .iter()
                .all(|(k, v)| k == "q" || k == "profile" || k == "ext" && ext_supported(v, ext))
            && (ext.is_none() || r.params.iter().any(|(k, _)| k == "ext"))
    });
    // The JSON:API type named only with `q=0` is refused outright: a wildcard next to it
    // does not bring it back (RFC 9110 §12.5.1: the more specific range decides).
    let refused = !jsonapi.is_empty() && jsonapi.iter().all(|r| !r.accepts());
    let wildcard = ranges.iter().any(|r| {
        matches!(
            r.essence.as_str(),
            "*/*" | "application/*" | "application/json"
        ) && r.accepts()
    });
    if !usable && (refused || !wildcard) {
        let detail = match ext {
            _ if jsonapi.is_empty() || refused => {
                "The \"Accept\" header must allow \"application/vnd.api+json\" (or \"*/*\").".to_owned()
            }
            Some(e) => format!(
                "The answer applies an extension: the \"Accept\" header must allow \"application/vnd.api+json; ext=\\\"{e}\\\"\" (or \"*/*\")."
            ),
            None => "The \"Accept\" header must contain at least one \"application/vnd.api+json\" media type without parameters other than \"q\" and \"profile\".".to_owned(),
        };
        return Err(ApiError::new(ErrorKind::NotAcceptable, detail).header("Accept"));
    }
    Ok(())
}

/// A body's `Content-Type` must be the JSON:API media type, with no parameters but `profile`
/// and an `ext` naming the route's extension (which it then must): 415 otherwise.
fn check_content_type(headers: &HeaderMap, ext: Option<&str>) -> Result<(), ApiError> {
    let unsupported = |detail: &str| {
        ApiError::new(ErrorKind::UnsupportedMediaType, detail).header("Content-Type")
    };
    let Some(content_type) = header_str(headers, &CONTENT_TYPE)? else {
        return Err(unsupported(
            "The request has a body but no \"Content-Type\" header; send \"Content-Type: application/vnd.api+json\".",
        ));
    };
    let ranges = media_ranges(&content_type);
    match ranges.as_slice() {
        [r] if r.essence == MEDIA_TYPE => {
            if let Some((k, _)) = r
                .params
                .iter()
                .find(|(k, v)| k != "profile" && !(k == "ext" && ext_supported(v, ext)))
            {
                return Err(unsupported(&format!(
                    "The \"Content-Type\" header must be \"application/vnd.api+json\" without parameters{}; remove \"{k}\".",
                    ext.map(|e| format!(" but ext=\"{e}\"")).unwrap_or_default()
                )));
            }
            if let Some(e) = ext
                && !r
                    .params
                    .iter()
                    .any(|(k, v)| k == "ext" && v.split_whitespace().any(|u| u == e))
            {
                return Err(unsupported(&format!(
                    "This endpoint takes the extension's documents: send \"Content-Type: application/vnd.api+json; ext=\\\"{e}\\\"\"."
                )));
            }
            Ok(())
        }
        _ => Err(unsupported(&format!(
            "The \"Content-Type\" header must be \"application/vnd.api+json\", not \"{}\".",
            content_type.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(accept: Option<&str>, content_type: Option<&str>) -> Option<u16> {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(ACCEPT, a.parse().unwrap());
        }
        if let Some(c) = content_type {
            h.insert(CONTENT_TYPE, c.parse().unwrap());
        }
        negotiate(&Method::POST, &h, true, None)
            .err()
            .map(|e| e.status().as_u16())
    }

    #[test]
    fn negotiation_follows_json_api() {
        assert_eq!(check(None, Some(MEDIA_TYPE)), None);
        assert_eq!(check(Some("*/*"), Some(MEDIA_TYPE)), None);
        assert_eq!(
            check(
                Some("application/vnd.api+json; charset=utf-8"),
                Some(MEDIA_TYPE)
            ),
            Some(406)
        );
        assert_eq!(
            check(
                Some("application/vnd.api+json; charset=utf-8, application/vnd.api+json"),
                Some(MEDIA_TYPE)
            ),
            None
        );
        assert_eq!(
            check(
                Some("application/vnd.api+json; profile=\"https://x\""),
                Some(MEDIA_TYPE)
            ),
            None
        );
        assert_eq!(check(Some("text/html"), Some(MEDIA_TYPE)), Some(406));
        // Quality values (RFC 9110 §12.4.2): zero refuses, and a refused JSON:API type stays
        // refused beside a wildcard.
        for refused in [
            "application/vnd.api+json;q=0",
            "application/vnd.api+json; q=0.000",
            "application/vnd.api+json;Q=0",
            "application/vnd.api+json;q=0, */*",
            "application/vnd.api+json;q=0, application/json;q=0.5",
            "*/*;q=0",
            "application/*;q=0",
            "application/vnd.api+json;q=2",
            "application/vnd.api+json;q=0.0001",
            "application/vnd.api+json;q=-1",
            "application/vnd.api+json;q=high",
        ] {
            assert_eq!(
                check(Some(refused), Some(MEDIA_TYPE)),
                Some(406),
                "{refused}"
            );
        }
        for accepted in [
            "application/vnd.api+json;q=0.001",
            "application/vnd.api+json;q=1",
            "application/vnd.api+json;q=1.000",
            "application/vnd.api+json;q=0.5",
            "application/vnd.api+json;q=0, application/vnd.api+json;profile=\"https://x\";q=0.2",
            "text/html, */*;q=0.1",
        ] {
            assert_eq!(check(Some(accepted), Some(MEDIA_TYPE)), None, "{accepted}");
        }
        assert_eq!(
            check(None, Some("application/vnd.api+json; charset=utf-8")),
            Some(415)
        );
        assert_eq!(
            check(
                None,
                Some("application/vnd.api+json; ext=\"https://example.com/x\"")
            ),
            Some(415)
        );
        assert_eq!(
            check(
                None,
                Some("application/vnd.api+json; profile=\"https://example.com/p\"")
            ),
            None
        );
        assert_eq!(check(None, Some("Application/VND.API+JSON")), None);
        assert_eq!(check(None, Some("application/json")), Some(415));
        assert_eq!(check(None, None), Some(415));
    }
}
