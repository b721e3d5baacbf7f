//! A failed request as a [`StoreError`]: throttling and transient failures become
//! [`StoreError::Unavailable`] (after the SDK's own retries), a transaction conflict
//! [`StoreError::Conflict`], a failed condition [`StoreError::ConditionFailed`], anything else
//! [`StoreError::Internal`] with the service's code and message for the logs.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason;
use jsonapi_store::StoreError;

/// Seconds a client is told to wait when the table is throttled or unreachable.
const RETRY_AFTER_SECONDS: u64 = 1;

/// Error codes that mean "try again later".
const TRANSIENT_CODES: [&str; 6] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

pub(crate) fn unavailable(detail: String) -> StoreError {
    StoreError::Unavailable {
        detail,
        retry_after: RETRY_AFTER_SECONDS,
    }
}

/// What went wrong, for the logs: the service's code and message, else the whole error chain.
pub(crate) fn describe<E, R>(operation: &str, err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(service) => format!(
            "DynamoDB {operation}: {}: {}",
            service.err().code().unwrap_or("unknown error"),
            service.err().message().unwrap_or("no message")
        ),
        _ => format!("DynamoDB {operation}: {}", DisplayErrorContext(err)),
    }
}

/// A failed request (after the SDK's retries) as a store error.
pub(crate) fn sdk_error<E, R>(operation: &str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = describe(operation, err);
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => unavailable(detail),
        SdkError::DispatchFailure(failure) if !failure.is_user() => unavailable(detail),
        SdkError::ServiceError(service) => match service.err().code() {
            Some("TransactionConflictException") => StoreError::Conflict,
            Some(code) if TRANSIENT_CODES.contains(&code) => unavailable(detail),
            _ => StoreError::Internal(detail),
        },
        _ => StoreError::Internal(detail),
    }
}

/// A cancelled transaction as a store error: the first failed condition, else a conflict.
pub(crate) fn cancelled(reasons: &[CancellationReason], detail: String) -> StoreError {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    if let Some(index) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
        return StoreError::ConditionFailed { index };
    }
    if codes.contains(&"TransactionConflict") {
        return StoreError::Conflict;
    }
    if codes.iter().any(|c| {
        matches!(
            *c,
            "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"
        )
    }) {
        return unavailable(detail);
    }
    StoreError::Internal(format!("{detail} (reasons: {})", codes.join(", ")))
}

pub(crate) fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("cannot build a DynamoDB request: {e}"))
}
