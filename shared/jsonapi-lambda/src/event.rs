//! API Gateway HTTP API (payload 2.0) requests to engine requests, engine responses to Lambda
//! responses.
//!
//! What API Gateway hands over, and what the engine needs instead:
//! - `rawPath` carries a named stage as its first segment (`/prod/api/products`) and arrives
//!   percent-*decoded*; the engine wants the path below the stage, still percent-encoded.
//! - `rawQueryString` is the query exactly as the client sent it (`filter[a]=1&filter[a]=2`,
//!   `page%5Bsize%5D=2`); the `queryStringParameters` map joins repeated names with commas and
//!   is decoded, so only the raw string is used.
//! - Links must use the URL the client called: the deployment's public URL when it has one
//!   (`JSONAPI_PUBLIC_URL`, `api.publicUrl`), else `https://{domainName}/{stage}` from the
//!   request context, which API Gateway fills in. Never the `Host` or `X-Forwarded-*` headers:
//!   a client chooses those, and links pointing elsewhere would send its next request there.

use bytes::Bytes;
use http::HeaderValue;
use jsonapi_engine::{ApiRequest, ApiResponse};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// The stage API Gateway serves at the root of the API's URL (no path segment).
const DEFAULT_STAGE: &str = "$default";

/// Bytes that cannot stand literally in a URL path: what a decoded `rawPath` may hold that an
/// encoded one never does. `%` is handled apart (kept when it starts an escape).
const NOT_IN_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Whether `http::Uri` refuses a byte in a query (lambda_http would panic building its request
/// and the client get a 502), or cuts the query short at it (`#`).
fn refused_in_query(b: u8) -> bool {
    b.is_ascii_control() || matches!(b, b' ' | b'"' | b'#' | b'<' | b'>')
}

/// The engine's request for a Lambda request: the engine's one HTTP conversion
/// (`ApiRequest::from_http`), with the path below the stage and the base URL of links that
/// API Gateway's event gives.
///
/// `public_url` is the base URL links are built on (`JSONAPI_PUBLIC_URL` or `api.publicUrl`,
/// for a custom domain); without it the base URL is `https://{domainName}` from the request
/// context, plus `/{stage}` for a named stage, and without a domain there (an emulator that
/// gives none) links are relative to the server (`/api/...`).
pub fn api_request(request: Request, public_url: Option<&str>) -> ApiRequest {
    let (stage, domain) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.stage.clone().filter(|s| s != DEFAULT_STAGE),
            ctx.domain_name.clone(),
        ),
        _ => (None, None),
    };
    // The path as API Gateway sent it (lambda_http's URI path may add or normalise segments).
    let raw_path = match request.raw_http_path() {
        "" => request.uri().path().to_owned(),
        raw => raw.to_owned(),
    };
    // Via the execute-api domain, a named stage is the first segment; via a custom domain, the
    // API mapping's path (the public URL's path, `/v1`) is.
    let stage_segment = stage.as_deref().map(|s| format!("/{s}"));
    let mapping = public_url.map(url_path).filter(|p| !p.is_empty());
    let below_stage = strip_base(&raw_path, stage_segment.as_deref());
    let path = encode_path(strip_base(below_stage, mapping));
    let base_url = match (public_url, domain) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        // API Gateway serves HTTPS only.
        (None, Some(domain)) => format!("https://{domain}{}", stage_segment.unwrap_or_default()),
        (None, None) => stage_segment.unwrap_or_default(),
    };
    let (parts, body) = request.into_parts();
    let body = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    // lambda_http has already folded the event's `cookies` into one `Cookie` header.
    ApiRequest {
        path,
        ..ApiRequest::from_http(http::Request::from_parts(parts, body), base_url)
    }
}

/// `path` without `base` (`/prod`, `/v1/shop`) in front, when it has it as whole segments.
fn strip_base<'a>(path: &'a str, base: Option<&str>) -> &'a str {
    let Some(base) = base else { return path };
    match path.strip_prefix(base) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// The path of an absolute URL, without a trailing slash (`""` for none).
fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("", |i| &after_scheme[i..])
        .trim_end_matches('/')
}

/// Percent-encodes what a decoded path holds that an encoded one cannot, leaving existing
/// escapes alone, so decoded paths (HTTP APIs) and encoded ones (`cargo lambda watch`, REST
/// APIs) both reach the engine encoded, and none is encoded twice.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(i) = rest.find('%') {
        out.extend(utf8_percent_encode(&rest[..i], NOT_IN_PATH));
        let escape = rest
            .as_bytes()
            .get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        out.push_str(if escape { "%" } else { "%25" });
        rest = &rest[i + 1..];
    }
    out.extend(utf8_percent_encode(rest, NOT_IN_PATH));
    out
}

/// Makes an event's raw query string safe to put in a URI (see [`refused_in_query`]); a query
/// already valid is left exactly as it is.
pub(crate) fn sanitize(mut event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpRequest {
    if let Some(query) = &event.raw_query_string
        && query.bytes().any(refused_in_query)
    {
        let mut fixed = String::with_capacity(query.len() + 16);
        for c in query.chars() {
            match u8::try_from(c) {
                Ok(b) if refused_in_query(b) => fixed.push_str(&format!("%{b:02X}")),
                _ => fixed.push(c),
            }
        }
        event.raw_query_string = Some(fixed);
    }
    event
}

/// The Lambda response for an engine response: JSON documents as text, anything else that is
/// not UTF-8 as binary (lambda_http base64-encodes it for API Gateway).
pub fn lambda_response(response: ApiResponse) -> Response<Body> {
    http::Response::<Bytes>::from(response).map(|body| {
        if body.is_empty() {
            return Body::Empty;
        }
        match String::from_utf8(body.into()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    })
}

/// The payload 2.0 response API Gateway expects: `Set-Cookie` headers go to `cookies`.
pub(crate) fn apigw_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (mut parts, body) = response.into_parts();
    let cookies = parts
        .headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok().map(str::to_owned))
        .collect();
    parts.headers.remove(http::header::SET_COOKIE);
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.is_base64_encoded = matches!(body, Body::Binary(_));
    out.body = (!matches!(body, Body::Empty)).then_some(body);
    out.headers = parts.headers;
    out.cookies = cookies;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_are_stripped_only_as_whole_first_segments() {
        let prod = Some("/prod");
        assert_eq!(strip_base("/prod/api/products", prod), "/api/products");
        assert_eq!(strip_base("/prod", prod), "/");
        assert_eq!(strip_base("/production/api", prod), "/production/api");
        assert_eq!(strip_base("/api/products", prod), "/api/products");
        assert_eq!(strip_base("/api/products", None), "/api/products");
        assert_eq!(strip_base("/v1/shop/api/x", Some("/v1/shop")), "/api/x");
    }

    #[test]
    fn the_path_of_a_public_url_is_found() {
        assert_eq!(url_path("https://api.example.com"), "");
        assert_eq!(url_path("https://api.example.com/"), "");
        assert_eq!(url_path("https://api.example.com/v1/"), "/v1");
        assert_eq!(
            url_path("http://127.0.0.1:9000/lambda-url/fn-get"),
            "/lambda-url/fn-get"
        );
    }

    #[test]
    fn decoded_paths_are_encoded_and_encoded_ones_kept() {
        assert_eq!(encode_path("/api/products/1"), "/api/products/1");
        assert_eq!(encode_path("/api/roles/a b"), "/api/roles/a%20b");
        assert_eq!(encode_path("/api/roles/a%20b"), "/api/roles/a%20b");
        assert_eq!(encode_path("/api/roles/100%"), "/api/roles/100%25");
        assert_eq!(encode_path("/api/roles/%zz%4"), "/api/roles/%25zz%254");
        assert_eq!(encode_path("/api/roles/ä?#"), "/api/roles/%C3%A4%3F%23");
    }

    #[test]
    fn queries_http_refuses_are_encoded_and_others_kept() {
        let mut event = ApiGatewayV2httpRequest::default();
        event.raw_query_string = Some("filter[name]=a b&x=\"<>\"#".to_owned());
        let event = sanitize(event);
        assert_eq!(
            event.raw_query_string.as_deref(),
            Some("filter[name]=a%20b&x=%22%3C%3E%22%23")
        );
        let mut event = ApiGatewayV2httpRequest::default();
        let raw = "filter[a]=1&filter[a]=2&page%5Bsize%5D=2&q={|}+ü";
        event.raw_query_string = Some(raw.to_owned());
        assert_eq!(sanitize(event).raw_query_string.as_deref(), Some(raw));
    }
}
