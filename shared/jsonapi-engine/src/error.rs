//! The engine's one error type: a list of JSON:API error objects and the status they add up to.
//!
//! Titles follow the model system: validation problems end in "constraint", exceptions in
//! "exception". The detail always says what to change; `source` points at the member, parameter
//! or header at fault. A 5xx never shows its cause to the client; the cause is logged once.

use http::StatusCode;
use jsonapi_store::{StoreError, limits};
use serde_json::{Map, Value, json};

/// Where an error comes from in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A JSON pointer into the request document.
    Pointer(String),
    /// A query parameter.
    Parameter(String),
    /// A request header.
    Header(String),
}

/// One JSON:API error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status of this problem.
    pub status: StatusCode,
    /// The short, stable category (`not blank constraint`, `not found http exception`…).
    pub title: String,
    /// What happened and what to change.
    pub detail: Option<String>,
    /// What in the request is at fault.
    pub source: Option<Source>,
    /// Extra members for the client (the model's checkout errors carry
    /// `meta.data.purchaseRedirectUrl`); boxed, as errors are moved about often and it is rare.
    pub meta: Option<Box<Map<String, Value>>>,
    /// A 401's challenge, sent as `WWW-Authenticate` (RFC 6750 §3).
    pub challenge: Option<String>,
}

/// Every error title of the model system the engine answers with: the one place they are
/// spelled (the OAuth endpoints answer RFC 6749 error codes instead).
pub mod title {
    /// An invalid request document.
    pub const REQUEST_DATA: &str = "request data constraint";
    /// A 409.
    pub const CONFLICT: &str = "conflict constraint";
    /// A bad query parameter.
    pub const FILTER: &str = "filter constraint";
    /// A bad `sort`.
    pub const SORT: &str = "sort constraint";
    /// An unknown or not-writable field.
    pub const EXTRA_FIELDS: &str = "extra fields constraint";
    /// A value that does not fit its field, or linkage to a missing resource.
    pub const FORM: &str = "form constraint";
    /// A malformed or missing id.
    pub const ENTITY_IDENTIFIER: &str = "entity identifier constraint";
    /// An unknown type.
    pub const ENTITY_TYPE: &str = "entity type constraint";
    /// An unknown relationship.
    pub const RELATIONSHIP: &str = "relationship constraint";
    /// A misused meta option.
    pub const VALUE: &str = "value constraint";
    /// A 405: the route does not allow the method.
    pub const METHOD_NOT_ALLOWED: &str = "method not allowed http exception";
    /// A 404.
    pub const NOT_FOUND: &str = "not found http exception";
    /// A 403.
    pub const ACCESS_DENIED: &str = "access denied exception";
    /// A 412: `If-Match` names a version that is not the current one.
    pub const PRECONDITION_FAILED: &str = "precondition failed";
    /// A 428: the type requires `If-Match` on writes.
    pub const PRECONDITION_REQUIRED: &str = "precondition required";
    /// A 503: retry later (the response carries `Retry-After`).
    pub const UNAVAILABLE: &str = "service unavailable http exception";
    /// A request the model refuses before reading its document (a malformed query or header value).
    pub const BAD_REQUEST: &str = "bad request http exception";
    /// A 406: `Accept` admits no format the route answers in.
    pub const NOT_ACCEPTABLE: &str = "not acceptable http exception";
    /// A 415: a body in a media type the route does not read.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported media type http exception";
    /// A header value the route cannot use (`X-Mode`).
    pub const INVALID_HEADER_VALUE: &str = "invalid header value exception";
    /// A 401: no usable bearer token.
    pub const AUTHENTICATION: &str = "authentication exception";
    /// An operation the type does not enable (in a compound document, atomic operations or a batch).
    pub const ACTION_NOT_ALLOWED: &str = "action not allowed exception";
    /// A value a unique field already holds on another resource.
    pub const UNIQUE_ENTITY: &str = "unique entity constraint";
    /// A required value that is missing or empty.
    pub const NOT_BLANK: &str = "not blank constraint";
    /// A null where the field takes none.
    pub const NOT_NULL: &str = "not null constraint";
    /// A string or list too short or too long.
    pub const LENGTH: &str = "length constraint";
    /// A number or date out of its bounds.
    pub const RANGE: &str = "range constraint";
    /// A value not among the field's choices.
    pub const CHOICE: &str = "choice constraint";
    /// A value that is not an e-mail address.
    pub const EMAIL: &str = "email constraint";
    /// A 413: a body larger than the server reads.
    pub const PAYLOAD_TOO_LARGE: &str = "payload too large http exception";
    /// A 414: a URI longer than the server reads.
    pub const URI_TOO_LONG: &str = "uri too long http exception";
    /// A 431: a header section larger than the server reads.
    pub const HEADER_FIELDS_TOO_LARGE: &str = "request header fields too large http exception";
    /// A 500: the cause is logged, never shown.
    pub const RUNTIME: &str = "runtime exception";
    /// An asynchronous operation could not process an item (the model's wording).
    pub const ASYNC_OPERATION: &str = "async operation exception";
}

impl ApiError {
    /// An error with a status, title and detail.
    pub fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title: title.to_owned(),
            detail: Some(detail.into()),
            source: None,
            meta: None,
            challenge: None,
        }
    }

    /// A 400 with a title and detail.
    pub fn bad_request(title: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, title, detail)
    }

    /// Adds a pointer into the request document.
    #[must_use]
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.source = Some(Source::Pointer(pointer.into()));
        self
    }

    /// Adds the query parameter at fault.
    #[must_use]
    pub fn param(mut self, name: impl Into<String>) -> Self {
        self.source = Some(Source::Parameter(name.into()));
        self
    }

    /// Adds the header at fault.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>) -> Self {
        self.source = Some(Source::Header(name.into()));
        self
    }

    /// Adds `meta` to the error object.
    #[must_use]
    pub fn with_meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(Box::new(meta));
        self
    }

    /// The canonical 404 for a missing resource.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            title::NOT_FOUND,
            "An entity with the requested identifier does not exist.",
        )
    }

    /// A 409: the resource object at `resource` (a pointer) creates a resource that exists.
    pub fn exists(resource: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            title::CONFLICT,
            "The entity already exists.",
        )
        .at(format!("{resource}/id"))
    }

    /// A 400: another resource holds the value of the unique attribute `field` of the resource
    /// object at `resource` (a pointer).
    pub fn value_used(resource: &str, field: &str) -> Self {
        Self::bad_request(title::UNIQUE_ENTITY, "This value is already used.")
            .at(format!("{resource}/attributes/{field}"))
    }

    /// A 500 whose cause goes to the log, never to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error.message = %cause, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: title::RUNTIME.to_owned(),
            detail: Some(
                "An unexpected error occurred while processing the request; it has been logged."
                    .to_owned(),
            ),
            source: None,
            meta: None,
            challenge: None,
        }
    }

    /// The error object.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("status".into(), self.status.as_u16().to_string().into());
        obj.insert("title".into(), self.title.clone().into());
        if let Some(detail) = &self.detail {
            obj.insert("detail".into(), detail.clone().into());
        }
        if let Some(source) = &self.source {
            let source = match source {
                Source::Pointer(p) => json!({ "pointer": p }),
                Source::Parameter(p) => json!({ "parameter": p }),
                Source::Header(h) => json!({ "header": h }),
            };
            obj.insert("source".into(), source);
        }
        if let Some(meta) = &self.meta {
            obj.insert("meta".into(), Value::Object((**meta).clone()));
        }
        Value::Object(obj)
    }
}

/// The 404 of a sub-resource path that neither a relationship nor a served sub-resource has.
pub fn unsupported_subresource() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        title::RELATIONSHIP,
        "Unsupported subresource.",
    )
}

/// Every problem of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrors(pub Vec<ApiError>);

impl ApiErrors {
    /// The status of the response, by the model system's rule: the highest class wins; within
    /// it a single distinct code is used as is, a 4xx mix containing 409 is 409, otherwise the
    /// class's base code (400 or 500).
    pub fn status(&self) -> StatusCode {
        let Some(class) = self.0.iter().map(|e| e.status.as_u16() / 100).max() else {
            return StatusCode::INTERNAL_SERVER_ERROR;
        };
        let mut codes: Vec<u16> = self
            .0
            .iter()
            .map(|e| e.status.as_u16())
            .filter(|c| c / 100 == class)
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let code = match codes.as_slice() {
            [single] => *single,
            many if class == 4 && many.contains(&409) => 409,
            _ => class * 100,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The error document.
    pub fn to_document(&self) -> Value {
        json!({
            "jsonapi": { "version": "1.1" },
            "errors": self.0.iter().map(ApiError::to_json).collect::<Vec<_>>(),
        })
    }
}

impl From<ApiError> for ApiErrors {
    fn from(e: ApiError) -> Self {
        Self(vec![e])
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // The engine never sends one item twice in a transaction; if it did, that is a bug,
            // and the item's key stays in the log.
            StoreError::Limit(limits::LimitError::DuplicateKey(_)) => ApiError::internal(&e),
            StoreError::Limit(limit) => ApiError::bad_request(
                title::REQUEST_DATA,
                format!(
                    "The request is too large to be applied at once: {limit}. Split it into smaller requests."
                ),
            ),
            StoreError::Unavailable { ref detail, .. } => {
                tracing::warn!(error.message = %detail, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    title::UNAVAILABLE,
                    "The data store is busy; retry the request later.",
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<StoreError> for ApiErrors {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

/// A result whose error is a list of JSON:API errors.
pub type ApiResult<T> = Result<T, ApiErrors>;

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(codes: &[u16]) -> ApiErrors {
        ApiErrors(
            codes
                .iter()
                .map(|c| ApiError::new(StatusCode::from_u16(*c).unwrap(), "t", "d"))
                .collect(),
        )
    }

    #[test]
    fn combined_status_follows_the_model_rule() {
        assert_eq!(errors(&[400, 400]).status(), 400);
        assert_eq!(errors(&[404]).status(), 404);
        assert_eq!(errors(&[400, 404]).status(), 400);
        assert_eq!(errors(&[400, 409, 404]).status(), 409);
        assert_eq!(errors(&[400, 500]).status(), 500);
        assert_eq!(errors(&[500, 503]).status(), 500);
    }
}
