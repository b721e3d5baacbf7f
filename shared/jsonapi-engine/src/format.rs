//! Which representation a request speaks, decided once from its headers: JSON:API, or the
//! model's plain REST view (`application/json`, see `plain`), and the checks of each.
//!
//! The model system's algorithm: a request is JSON:API when any `Accept` entry or its
//! `Content-Type` names `application/vnd.api+json` (with any parameters: the JSON:API rules
//! then refuse the wrong ones); every other request, a bare `curl` included, is plain.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, Method};

use crate::error::{ApiError, ErrorKind};
use crate::request::{MEDIA_TYPE, header_str, media_ranges, negotiate};

/// The media type of the plain view.
pub const PLAIN_MEDIA_TYPE: &str = "application/json";

/// The representation of one request and its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON:API 1.1 documents (`application/vnd.api+json`).
    JsonApi,
    /// The plain view: resources as flat objects, lists as arrays, errors as a flat array.
    Plain,
}

impl Format {
    /// The format `headers` designate. Headers that are not text are left to the JSON:API
    /// checks, which answer them with a 400.
    pub fn of(headers: &HeaderMap) -> Self {
        let names_json_api = |name| match header_str(headers, name) {
            Ok(Some(value)) => media_ranges(&value).iter().any(|r| r.essence == MEDIA_TYPE),
            Ok(None) => false,
            Err(_) => true,
        };
        if names_json_api(&ACCEPT) || names_json_api(&CONTENT_TYPE) {
            Self::JsonApi
        } else {
            Self::Plain
        }
    }

    /// Checks `Accept` and `Content-Type` by the rules of the format: JSON:API's
    /// ([`negotiate`]), or the plain view's (the model's `ValidateRequestType`).
    ///
    /// # Errors
    /// The 406 or 415 of the format's rules.
    pub fn negotiate(
        self,
        method: &Method,
        headers: &HeaderMap,
        has_body: bool,
    ) -> Result<(), ApiError> {
        match self {
            Self::JsonApi => negotiate(method, headers, has_body, None),
            Self::Plain => negotiate_plain(headers),
        }
    }

    /// The `Content-Type` of the format's documents.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::JsonApi => MEDIA_TYPE,
            Self::Plain => PLAIN_MEDIA_TYPE,
        }
    }
}

/// The plain view's rules: `Accept`, when sent, must admit JSON (`application/json`,
/// `application/*` or `*/*`); `Content-Type`, when sent, must be `application/json` (its
/// parameters, a charset say, do not matter). Both refusals are 406s, as in the model.
fn negotiate_plain(headers: &HeaderMap) -> Result<(), ApiError> {
    let not_acceptable =
        |detail: &str, header: &str| ApiError::new(ErrorKind::NotAcceptable, detail).header(header);
    if let Some(accept) = header_str(headers, &ACCEPT)?
        && !media_ranges(&accept).iter().any(|r| {
            matches!(
                r.essence.as_str(),
                PLAIN_MEDIA_TYPE | "application/*" | "*/*"
            ) && r.accepts()
        })
    {
        return Err(not_acceptable(
            "Only JSON representation of the requested resource is supported.",
            "Accept",
        ));
    }
    if let Some(content_type) = header_str(headers, &CONTENT_TYPE)?
        && !matches!(media_ranges(&content_type).as_slice(), [r] if r.essence == PLAIN_MEDIA_TYPE)
    {
        return Err(not_acceptable(
            "The \"Content-Type\" request header must be \"application/json\" if specified.",
            "Content-Type",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: Option<&str>, content_type: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(ACCEPT, a.parse().unwrap());
        }
        if let Some(c) = content_type {
            h.insert(CONTENT_TYPE, c.parse().unwrap());
        }
        h
    }

    #[test]
    fn json_api_is_chosen_when_either_header_names_it() {
        for (accept, content_type) in [
            (Some(MEDIA_TYPE), None),
            (
                Some("application/json, application/vnd.api+json;q=0.5"),
                None,
            ),
            (Some("application/vnd.api+json; charset=utf-8"), None),
            (None, Some(MEDIA_TYPE)),
            (Some("application/json"), Some(MEDIA_TYPE)),
            (Some("text/html"), Some("application/vnd.api+json; ext=x")),
        ] {
            assert_eq!(
                Format::of(&headers(accept, content_type)),
                Format::JsonApi,
                "{accept:?} {content_type:?}"
            );
        }
        for (accept, content_type) in [
            (None, None),
            (Some("*/*"), None),
            (Some("application/json"), Some("application/json")),
            (Some("text/html"), Some("text/plain")),
        ] {
            assert_eq!(
                Format::of(&headers(accept, content_type)),
                Format::Plain,
                "{accept:?} {content_type:?}"
            );
        }
    }

    #[test]
    fn the_plain_rules_are_the_models() {
        let check = |accept, content_type| {
            negotiate_plain(&headers(accept, content_type))
                .err()
                .map(|e| (e.status().as_u16(), e.detail.unwrap_or_default()))
        };
        for accepted in [
            None,
            Some("application/json"),
            Some("application/*"),
            Some("*/*"),
            Some("application/xml, application/json;q=0.5"),
        ] {
            assert_eq!(check(accepted, None), None, "{accepted:?}");
        }
        let only_json = Some((
            406,
            "Only JSON representation of the requested resource is supported.".to_owned(),
        ));
        assert_eq!(check(Some("application/xml"), None), only_json);
        assert_eq!(check(Some("application/json;q=0"), None), only_json);
        assert_eq!(check(None, Some("application/json; charset=utf-8")), None);
        assert_eq!(
            check(None, Some("text/plain")),
            Some((
                406,
                "The \"Content-Type\" request header must be \"application/json\" if specified."
                    .to_owned()
            ))
        );
    }
}
