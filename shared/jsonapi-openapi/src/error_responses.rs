//! The error responses every operation refers to (components `responses/{code}`): each status
//! the API answers with, and what it means.

use serde_json::{Map, Value, json};

use crate::headers::allow_header;
use crate::schemas::ERRORS;
use crate::values::reference;
use crate::{MEDIA_TYPE, plain};

/// The error statuses the API answers with, and what each means; components `responses/{code}`.
const ERROR_STATUSES: [(u16, &str); 12] = [
    (
        400,
        "The request is invalid: a query parameter, the document or a value. Each error names what is wrong (`source.parameter`, `source.pointer`).",
    ),
    (
        401,
        "No valid access token: get one from the token endpoint and send it as `Authorization: Bearer …`.",
    ),
    (403, "The roles of the token do not allow this."),
    (
        404,
        "No such resource, or a resource the request names does not exist.",
    ),
    (
        405,
        "A resource in `included` is of a type that does not allow that action.",
    ),
    (
        406,
        "JSON:API: the `Accept` header allows no usable JSON:API media type. Plain view: `Accept` admits no JSON, or `Content-Type` is not `application/json`.",
    ),
    (
        409,
        "A conflict: the type or id does not fit the URL, the resource exists already, other resources still need it, or concurrent changes kept the request from applying (retry it).",
    ),
    (
        412,
        "`If-Match` names a version of the resource that is not the current one (or the resource does not exist): read it again and retry the change on the current version.",
    ),
    (413, "The request body is too large."),
    (
        415,
        "The body is not sent as `Content-Type: application/vnd.api+json` (without parameters but `profile`).",
    ),
    (
        428,
        "The type requires `If-Match` on writes of a known resource: send the `ETag` of the resource as last read.",
    ),
    (503, "The data store is busy; retry the request later."),
];

/// The reusable error responses.
pub(crate) fn components(auth: bool) -> Map<String, Value> {
    ERROR_STATUSES
        .iter()
        .filter(|(code, _)| auth || !matches!(code, 401 | 403))
        .map(|(code, description)| {
            let mut response = json!({
                "description": description,
                "content": {
                    MEDIA_TYPE: { "schema": reference(ERRORS) },
                    plain::MEDIA_TYPE: { "schema": reference(plain::ERRORS) },
                },
            });
            if *code == 401 {
                response["headers"] = json!({
                    "WWW-Authenticate": {
                        "description": "`Bearer realm=\"api\"` without a token; `Bearer error=\"invalid_token\", error_description=…` for a token that is refused.",
                        "required": true,
                        "schema": { "type": "string" },
                    },
                });
            }
            if *code == 405 {
                response["headers"] = allow_header(false);
            }
            (code.to_string(), response)
        })
        .collect()
}
