//! Assertions on the errors a response lists: their status, title, source and detail.

use serde_json::Value;

use crate::response::TestResponse;

/// What an error's `source` member must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// `source.pointer` equal to this.
    Pointer(&'a str),
    /// `source.parameter` equal to this.
    Parameter(&'a str),
    /// `source.header` equal to this.
    Header(&'a str),
    /// No `source` member.
    Absent,
    /// Anything (the source is not part of the contract for this error).
    Any,
}

impl Source<'_> {
    fn matches(self, error: &Value) -> bool {
        let source = error.get("source");
        let member = |name: &str, expected: &str| {
            source.and_then(|s| s.get(name)).and_then(Value::as_str) == Some(expected)
        };
        match self {
            Source::Pointer(p) => member("pointer", p),
            Source::Parameter(p) => member("parameter", p),
            Source::Header(h) => member("header", h),
            Source::Absent => source.is_none(),
            Source::Any => true,
        }
    }
}

/// The error of `response` with this status, title and source, if any.
pub fn find_error<'r>(
    response: &'r TestResponse,
    status: u16,
    title: &str,
    source: Source<'_>,
) -> Option<&'r Value> {
    let status = status.to_string();
    response.errors().iter().find(|e| {
        e.get("status").and_then(Value::as_str) == Some(status.as_str())
            && e.get("title").and_then(Value::as_str) == Some(title)
            && source.matches(e)
    })
}

/// Asserts that `response` lists an error with this status, title and source (whatever the HTTP
/// status); returns it.
///
/// # Panics
/// When no such error is listed.
pub fn assert_has_error<'r>(
    response: &'r TestResponse,
    status: u16,
    title: &str,
    source: Source<'_>,
) -> &'r Value {
    match find_error(response, status, title, source) {
        Some(error) => error,
        None => panic!(
            "{}\nexpected an error {{status: \"{status}\", title: \"{title}\", source: {source:?}}}",
            response.describe()
        ),
    }
}

/// Asserts the HTTP status and that an error with this status, title and source is listed;
/// returns that error.
///
/// # Panics
/// When the status differs or no such error is listed.
pub fn assert_error<'r>(
    response: &'r TestResponse,
    status: u16,
    title: &str,
    source: Source<'_>,
) -> &'r Value {
    response.assert_status(status);
    assert_has_error(response, status, title, source)
}

/// Asserts [`assert_error`] and that the error's `detail` is exactly `detail`.
///
/// # Panics
/// As [`assert_error`], or when the detail differs.
pub fn assert_error_detail<'r>(
    response: &'r TestResponse,
    status: u16,
    title: &str,
    source: Source<'_>,
    detail: &str,
) -> &'r Value {
    let error = assert_error(response, status, title, source);
    assert_eq!(
        error.get("detail").and_then(Value::as_str),
        Some(detail),
        "{}\nexpected the detail {detail:?}",
        response.describe()
    );
    error
}
