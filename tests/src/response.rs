//! A response as a test sees it: its status, headers and body, with accessors that fail the test
//! with the whole response shown.

use bytes::Bytes;
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::Value;

use crate::values;

/// One response, its body read and parsed.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The request's method.
    pub method: Method,
    /// The request's absolute URL.
    pub url: String,
    /// The response status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body parsed as JSON; `None` when the body is empty.
    pub body: Option<Value>,
    /// The body as received.
    pub raw: Bytes,
}

impl TestResponse {
    /// The first value of header `name` as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole document.
    ///
    /// # Panics
    /// When the body is empty.
    pub fn json(&self) -> &Value {
        match &self.body {
            Some(body) => body,
            None => panic!("{}\nexpected a body", self.describe()),
        }
    }

    /// The body as text (an HTML page).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The top-level `data` member.
    ///
    /// # Panics
    /// When the document has no `data`.
    pub fn data(&self) -> &Value {
        match self.json().get("data") {
            Some(data) => data,
            None => panic!("{}\nexpected a top-level data member", self.describe()),
        }
    }

    /// The resource objects of a collection document.
    ///
    /// # Panics
    /// When `data` is not an array.
    pub fn items(&self) -> &[Value] {
        match self.data().as_array() {
            Some(items) => items,
            None => panic!("{}\nexpected data to be an array", self.describe()),
        }
    }

    /// The ids of a collection document's resources, in order.
    pub fn ids(&self) -> Vec<String> {
        self.items()
            .iter()
            .map(|r| values::id_of(r).to_owned())
            .collect()
    }

    /// The top-level `errors` member (empty when absent).
    pub fn errors(&self) -> &[Value] {
        self.body
            .as_ref()
            .and_then(|b| b.get("errors"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// Asserts the status code, showing the whole response when it differs.
    ///
    /// # Panics
    /// When the status differs.
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}\nexpected status {status}",
            self.describe()
        );
        self
    }

    /// The methods listed in the `Allow` header, in order.
    ///
    /// # Panics
    /// When there is no `Allow` header.
    pub fn allow(&self) -> Vec<String> {
        let Some(allow) = self.header("allow") else {
            panic!("{}\nexpected an Allow header", self.describe());
        };
        allow
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect()
    }

    /// `METHOD URL -> STATUS`, the headers and the body, for failure messages.
    pub fn describe(&self) -> String {
        let mut out = format!("{} {} -> {}\n", self.method, self.url, self.status);
        for (name, value) in &self.headers {
            out.push_str(&format!(
                "{name}: {}\n",
                value.to_str().unwrap_or("<binary>")
            ));
        }
        match &self.body {
            Some(body) => {
                out.push_str(&serde_json::to_string_pretty(body).unwrap_or_default());
            }
            None if self.raw.is_empty() => out.push_str("<empty body>"),
            None => out.push_str(&String::from_utf8_lossy(&self.raw)),
        }
        out
    }
}
