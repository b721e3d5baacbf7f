//! The engine's one error type: a list of JSON:API error objects and the status they add up to.
//!
//! Every error is built from an [`ErrorKind`], which knows its status and title (`kind`). The
//! detail always says what to change; `source` points at the member, parameter or header at
//! fault. A 5xx never shows its cause to the client; the cause is logged once.

mod kind;

pub use kind::ErrorKind;

use http::{Method, StatusCode};
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
    /// What went wrong: the status and title of this problem.
    pub kind: ErrorKind,
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

impl ApiError {
    /// An error of `kind` with a detail.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
            source: None,
            meta: None,
            challenge: None,
        }
    }

    /// The HTTP status of this problem.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The short, stable category (`not blank constraint`, `not found http exception`…).
    pub fn title(&self) -> &'static str {
        self.kind.title()
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
            ErrorKind::NotFound,
            "An entity with the requested identifier does not exist.",
        )
    }

    /// The 404 of a URL no route answers.
    pub fn no_route(method: &Method, path: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("No route found for \"{method} {path}\"."),
        )
    }

    /// The 405 of a method the route does not allow; the response names the `allowed` ones in
    /// `Allow` too.
    pub fn method_not_allowed(method: &Method, allowed: &str) -> Self {
        Self::new(
            ErrorKind::MethodNotAllowed,
            format!("The {method} method is not allowed for this URL; allowed methods: {allowed}."),
        )
    }

    /// A 409: the resource object at `resource` (a pointer) creates a resource that exists.
    pub fn exists(resource: &str) -> Self {
        Self::new(ErrorKind::Conflict, "The entity already exists.").at(format!("{resource}/id"))
    }

    /// A 400: another resource holds the value of the unique attribute `field` of the resource
    /// object at `resource` (a pointer).
    pub fn value_used(resource: &str, field: &str) -> Self {
        Self::new(ErrorKind::UniqueEntity, "This value is already used.")
            .at(format!("{resource}/attributes/{field}"))
    }

    /// A 500 whose cause goes to the log, never to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error.message = %cause, "internal error");
        Self::new(
            ErrorKind::Runtime,
            "An unexpected error occurred while processing the request; it has been logged.",
        )
    }

    /// The error object.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("status".into(), self.status().as_u16().to_string().into());
        obj.insert("title".into(), self.title().into());
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
    ApiError::new(ErrorKind::UnknownRelationship, "Unsupported subresource.")
}

/// Every problem of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrors(pub Vec<ApiError>);

impl ApiErrors {
    /// The status of the response, by the model system's rule: the highest class wins; within
    /// it a single distinct code is used as is, a 4xx mix containing 409 is 409, otherwise the
    /// class's base code (400 or 500).
    pub fn status(&self) -> StatusCode {
        let Some(class) = self.0.iter().map(|e| e.status().as_u16() / 100).max() else {
            return StatusCode::INTERNAL_SERVER_ERROR;
        };
        let mut codes: Vec<u16> = self
            .0
            .iter()
            .map(|e| e.status().as_u16())
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
            StoreError::Limit(limit) => ApiError::new(
                ErrorKind::RequestData,
                format!(
                    "The request is too large to be applied at once: {limit}. Split it into smaller requests."
                ),
            ),
            StoreError::Unavailable { ref detail, .. } => {
                tracing::warn!(error.message = %detail, "store unavailable");
                ApiError::new(
                    ErrorKind::Unavailable,
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
        let kind = |code| match code {
            400 => ErrorKind::RequestData,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            500 => ErrorKind::Runtime,
            503 => ErrorKind::Unavailable,
            _ => unreachable!("no kind of status {code} in these cases"),
        };
        ApiErrors(codes.iter().map(|c| ApiError::new(kind(*c), "d")).collect())
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
