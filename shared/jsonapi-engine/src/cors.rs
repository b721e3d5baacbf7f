//! CORS, as the model's `oro_api.cors`: off until origins are allowed; a preflight (`OPTIONS`
//! with `Access-Control-Request-Method`) is answered from the route's `Allow` list and may be
//! cached by the browser; other answers expose `Location`, `ETag` and the count headers.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ALLOW, CACHE_CONTROL, HeaderValue, ORIGIN, VARY,
};
use http::{HeaderMap, Method};
use jsonapi_config::CorsSettings;

use crate::request::ApiResponse;

/// Request headers a browser may always send.
const ALLOW_HEADERS: [&str; 6] = [
    "Authorization",
    "Content-Type",
    "X-Include",
    "If-Match",
    "If-None-Match",
    "X-Mode",
];
/// Response headers a script may always read.
const EXPOSE_HEADERS: [&str; 5] = [
    "Location",
    "Content-Location",
    "ETag",
    "X-Include-Total-Count",
    "X-Include-Deleted-Count",
];

fn list(always: &[&str], extra: &[String]) -> Option<HeaderValue> {
    let joined = always
        .iter()
        .copied()
        // A configuration may name a header that is always there already.
        .chain(
            extra
                .iter()
                .map(String::as_str)
                .filter(|e| !always.iter().any(|a| a.eq_ignore_ascii_case(e))),
        )
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::from_str(&joined).ok()
}

/// Adds the CORS headers a request from an allowed origin gets; nothing for other requests.
/// (Also for the OpenAPI document, which a browser page on another origin may load.)
pub fn apply(
    settings: &CorsSettings,
    method: &Method,
    request: &HeaderMap,
    response: &mut ApiResponse,
) {
    if settings.allow_origins.is_empty() {
        return;
    }
    let headers = &mut response.headers;
    let preflight = *method == Method::OPTIONS;
    if preflight
        && settings.preflight_max_age > 0
        && let Ok(v) =
            HeaderValue::from_str(&format!("max-age={}, public", settings.preflight_max_age))
    {
        headers.insert(CACHE_CONTROL, v);
    }
    // The answer depends on the origin, so caches must key on it.
    headers.append(VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = request.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
        return;
    };
    let any = settings.allow_origins.iter().any(|o| o == "*");
    if !any
        && !settings
            .allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    {
        return;
    }
    // With credentials a browser refuses `*`: the origin is echoed instead.
    let allowed = if any && !settings.allow_credentials {
        HeaderValue::from_static("*")
    } else {
        match HeaderValue::from_str(origin) {
            Ok(v) => v,
            Err(_) => return,
        }
    };
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    if settings.allow_credentials {
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if preflight && request.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
        if let Some(allow) = headers.get(ALLOW).cloned() {
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, allow);
        }
        if let Some(v) = list(&ALLOW_HEADERS, &settings.allow_headers) {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        headers.insert(
            ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(settings.preflight_max_age),
        );
    } else if let Some(v) = list(&EXPOSE_HEADERS, &settings.expose_headers) {
        headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
}
