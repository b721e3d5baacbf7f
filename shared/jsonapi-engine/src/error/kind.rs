//! The model system's error kinds: each knows its HTTP status and its title, here and only here.
//!
//! Titles follow the model: validation problems end in "constraint", exceptions in "exception",
//! a bare HTTP exception is its status text and "http exception". Where the model answers one
//! title with two statuses, the two uses are two kinds (`EntityType` and `UnknownEntityType`,
//! `Relationship` and `UnknownRelationship`, `RequestData` and `TooManyOperations`), so that no
//! call site picks a status of its own.

use http::StatusCode;

/// What went wrong, in the model system's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An invalid request document (400).
    RequestData,
    /// More atomic operations than one store transaction holds (413): the request document is
    /// fine but too large to apply at once, so it keeps the request data title.
    TooManyOperations,
    /// A 409: a type or id that contradicts the URL, or a resource that exists already.
    Conflict,
    /// A bad filter or other query parameter (400).
    Filter,
    /// A bad `sort` (400).
    Sort,
    /// An unknown or not-writable field (400).
    ExtraFields,
    /// A value that does not fit its field, or linkage to a missing resource (400).
    Form,
    /// A malformed or missing id (400).
    EntityIdentifier,
    /// A type in the request document that the operation does not take (400).
    EntityType,
    /// A URL naming a type the API does not have (404: there is no such route).
    UnknownEntityType,
    /// A relationship in the request document that the type does not have (400).
    Relationship,
    /// A URL naming a sub-resource the type does not have (404: there is no such route).
    UnknownRelationship,
    /// A misused meta option or an unusable value (400).
    Value,
    /// A 405: the route does not allow the method.
    MethodNotAllowed,
    /// A 404: no resource with that id, or no route at that URL.
    NotFound,
    /// A 403.
    AccessDenied,
    /// A 412: `If-Match` names a version that is not the current one.
    PreconditionFailed,
    /// A 428: the type requires `If-Match` on writes.
    PreconditionRequired,
    /// A 503: retry later (the response carries `Retry-After`).
    Unavailable,
    /// A request the model refuses before reading its document (400: a malformed query,
    /// header value or body).
    BadRequest,
    /// A 406: `Accept` admits no format the route answers in.
    NotAcceptable,
    /// A 415: a body in a media type the route does not read.
    UnsupportedMediaType,
    /// A header value the route cannot use (400: `X-Mode`, the storefront headers).
    InvalidHeaderValue,
    /// A 401: no usable bearer token.
    Authentication,
    /// A 405 inside a compound document, atomic operations or a batch: an operation the type
    /// does not enable.
    ActionNotAllowed,
    /// A value a unique field already holds on another resource (400).
    UniqueEntity,
    /// A required value that is missing or empty (400).
    NotBlank,
    /// A null where the field takes none (400).
    NotNull,
    /// A string or list too short or too long (400).
    Length,
    /// A number or date out of its bounds (400).
    Range,
    /// A value not among the field's choices (400).
    Choice,
    /// A value that is not an e-mail address (400).
    Email,
    /// A 413: a body larger than the server reads.
    PayloadTooLarge,
    /// A 414: a URI longer than the server reads.
    UriTooLong,
    /// A 431: a header section larger than the server reads.
    HeaderFieldsTooLarge,
    /// A 500: the cause is logged, never shown.
    Runtime,
    /// A 500 of an asynchronous operation that could not process an item (the model's wording).
    AsyncOperation,
    /// A validation rule an extension defines, by its title (`payment constraint`); like every
    /// validation error of the model, a 400.
    Constraint(&'static str),
}

impl ErrorKind {
    /// The HTTP status of an error of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Conflict => StatusCode::CONFLICT,
            Self::UnknownEntityType | Self::UnknownRelationship | Self::NotFound => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed | Self::ActionNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::AccessDenied => StatusCode::FORBIDDEN,
            Self::Authentication => StatusCode::UNAUTHORIZED,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyOperations | Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeaderFieldsTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Runtime | Self::AsyncOperation => StatusCode::INTERNAL_SERVER_ERROR,
            Self::RequestData
            | Self::Filter
            | Self::Sort
            | Self::ExtraFields
            | Self::Form
            | Self::EntityIdentifier
            | Self::EntityType
            | Self::Relationship
            | Self::Value
            | Self::BadRequest
            | Self::InvalidHeaderValue
            | Self::UniqueEntity
            | Self::NotBlank
            | Self::NotNull
            | Self::Length
            | Self::Range
            | Self::Choice
            | Self::Email
            | Self::Constraint(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The title of an error of this kind: the short, stable category clients match on.
    pub fn title(self) -> &'static str {
        match self {
            Self::RequestData | Self::TooManyOperations => "request data constraint",
            Self::Conflict => "conflict constraint",
            Self::Filter => "filter constraint",
            Self::Sort => "sort constraint",
            Self::ExtraFields => "extra fields constraint",
            Self::Form => "form constraint",
            Self::EntityIdentifier => "entity identifier constraint",
            Self::EntityType | Self::UnknownEntityType => "entity type constraint",
            Self::Relationship | Self::UnknownRelationship => "relationship constraint",
            Self::Value => "value constraint",
            Self::MethodNotAllowed => "method not allowed http exception",
            Self::NotFound => "not found http exception",
            Self::AccessDenied => "access denied exception",
            Self::PreconditionFailed => "precondition failed",
            Self::PreconditionRequired => "precondition required",
            Self::Unavailable => "service unavailable http exception",
            Self::BadRequest => "bad request http exception",
            Self::NotAcceptable => "not acceptable http exception",
            Self::UnsupportedMediaType => "unsupported media type http exception",
            Self::InvalidHeaderValue => "invalid header value exception",
            Self::Authentication => "authentication exception",
            Self::ActionNotAllowed => "action not allowed exception",
            Self::UniqueEntity => "unique entity constraint",
            Self::NotBlank => "not blank constraint",
            Self::NotNull => "not null constraint",
            Self::Length => "length constraint",
            Self::Range => "range constraint",
            Self::Choice => "choice constraint",
            Self::Email => "email constraint",
            Self::PayloadTooLarge => "payload too large http exception",
            Self::UriTooLong => "uri too long http exception",
            Self::HeaderFieldsTooLarge => "request header fields too large http exception",
            Self::Runtime => "runtime exception",
            Self::AsyncOperation => "async operation exception",
            Self::Constraint(title) => title,
        }
    }
}
