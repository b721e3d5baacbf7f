//! The response headers the operations document: `Allow`, `ETag`, `Location` and
//! `X-Include-Total-Count`.

use serde_json::{Value, json};

/// `Allow`: the methods a URL allows (required on the answer to `OPTIONS`).
pub(crate) fn allow_header(required: bool) -> Value {
    json!({
        "Allow": {
            "description": "The methods this URL allows.",
            "required": required,
            "schema": { "type": "string" },
        },
    })
}

/// `X-Include-Total-Count`, with `X-Include: totalCount`.
pub(crate) fn total_count() -> Value {
    json!({
        "X-Include-Total-Count": {
            "description": "With `X-Include: totalCount`: how many resources match, on every page.",
            "schema": { "type": "integer", "minimum": 0 },
        },
    })
}

/// `Location` of a created resource.
pub(crate) fn location() -> Value {
    json!({
        "Location": {
            "description": "The new resource's URL (not on a dry run).",
            "schema": { "type": "string" },
        },
    })
}

/// The version of the resource written or read, for `If-Match` / `If-None-Match`.
pub(crate) fn etag(required: bool) -> Value {
    json!({
        "ETag": {
            "description": "The strong entity tag of the resource's stored version: send it as `If-Match` to change that version only, or as `If-None-Match` to be answered 304 while it holds.",
            "required": required,
            "schema": { "type": "string" },
        },
    })
}

/// `headers` and an optional `ETag`.
pub(crate) fn with_etag(mut headers: Value) -> Value {
    headers["ETag"] = etag(false)["ETag"].clone();
    headers
}
