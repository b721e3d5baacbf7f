//! Query parameters: parsed once, checked against what the action supports, with every problem
//! reported as a `filter constraint` naming the parameter.

use jsonapi_config::ApiSettings;

use crate::error::{ApiError, ApiErrors, title};

/// How many resources a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageSize {
    /// At most this many.
    Size(usize),
    /// `page[size]=-1`: no paging (still capped by `maxResults`).
    Unpaged,
}

/// `page[number]` and `page[size]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub(crate) number: usize,
    pub(crate) size: PageSize,
}

/// What a route accepts in its query string.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Accepts {
    pub(crate) paging: bool,
}

/// The checked query parameters of one request.
#[derive(Debug, Clone)]
pub(crate) struct QueryParams {
    pub(crate) paging: Paging,
    /// Every parameter as sent, for links that keep them.
    pub(crate) pairs: Vec<(String, String)>,
}

fn unsupported(name: &str) -> ApiError {
    ApiError::bad_request(title::FILTER, "The filter is not supported.").param(name)
}

/// Parses the query string of a request.
///
/// # Errors
/// Every parameter the route does not accept, and every malformed value, each with
/// `source.parameter`.
pub(crate) fn parse(
    query: Option<&str>,
    accepts: Accepts,
    settings: &ApiSettings,
) -> Result<QueryParams, ApiErrors> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut errors = Vec::new();
    let mut paging = Paging {
        number: 1,
        size: PageSize::Size(settings.page_size),
    };
    for (name, value) in &pairs {
        match name.as_str() {
            "page[number]" if accepts.paging => match parse_page_number(value) {
                Ok(n) => paging.number = n,
                Err(e) => errors.push(e.param(name)),
            },
            "page[size]" if accepts.paging => match parse_page_size(value, settings) {
                Ok(s) => paging.size = s,
                Err(e) => errors.push(e.param(name)),
            },
            _ => errors.push(unsupported(name)),
        }
    }
    if errors.is_empty() {
        Ok(QueryParams { paging, pairs })
    } else {
        Err(ApiErrors(errors))
    }
}

fn parse_page_number(value: &str) -> Result<usize, ApiError> {
    let n: usize = value.parse().map_err(|_| {
        ApiError::bad_request(
            title::FILTER,
            format!("Expected unsigned integer value. Given \"{value}\"."),
        )
    })?;
    if n == 0 {
        return Err(ApiError::bad_request(
            title::FILTER,
            "The value should be greater than or equals to 1.",
        ));
    }
    Ok(n)
}

fn parse_page_size(value: &str, settings: &ApiSettings) -> Result<PageSize, ApiError> {
    let n: i64 = value.parse().map_err(|_| {
        ApiError::bad_request(
            title::FILTER,
            format!("Expected integer value. Given \"{value}\"."),
        )
    })?;
    match n {
        -1 => Ok(PageSize::Unpaged),
        n if n < -1 => Err(ApiError::bad_request(
            title::FILTER,
            "The value should be greater than or equals to -1.",
        )),
        n => {
            let n = n as usize;
            match settings.max_results {
                Some(max) if n > max => Err(ApiError::bad_request(
                    title::FILTER,
                    format!("The value should be less than or equals to {max}."),
                )),
                _ => Ok(PageSize::Size(n)),
            }
        }
    }
}

/// Re-encodes parameters for a link, replacing or removing `page[number]`.
pub(crate) fn link_query(pairs: &[(String, String)], page_number: Option<usize>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != "page[number]") {
        out.append_pair(k, v);
    }
    if let Some(n) = page_number.filter(|n| *n > 1) {
        out.append_pair("page[number]", &n.to_string());
    }
    out.finish()
}
