//! Requests as raw bytes, which no HTTP client would send, on a connection of their own.

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, StatusCode};

use super::{ApiClient, REQUEST_TIMEOUT};
use crate::response::TestResponse;
use crate::{conformance, tally};

impl ApiClient {
    /// Sends `request` as it is (bytes no HTTP client would send) on a new connection, half
    /// closes it when `close_write`, and reads the answer until the server closes. Checked like
    /// every response.
    ///
    /// # Panics
    /// When the server cannot be reached, sends no HTTP/1.1 answer within the timeout, or the
    /// answer breaks a conformance rule.
    pub async fn raw(&self, request: Vec<u8>, close_write: bool) -> TestResponse {
        use std::io::{Read as _, Write as _};
        tally::count("request");
        let addr = self
            .base_url
            .strip_prefix("http://")
            .expect("an http base URL")
            .to_owned();
        let received = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(&addr).expect("the server accepts");
            stream.set_read_timeout(Some(REQUEST_TIMEOUT)).ok();
            stream.write_all(&request).expect("the request is sent");
            if close_write {
                stream.shutdown(std::net::Shutdown::Write).ok();
            }
            let mut received = Vec::new();
            stream
                .read_to_end(&mut received)
                .expect("an answer before the timeout");
            received
        })
        .await
        .expect("the raw request ran");
        let end = received
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(&received)));
        let head = String::from_utf8_lossy(&received[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse::<u16>().ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("a header line");
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).expect("a header name"),
                HeaderValue::from_str(value.trim()).expect("a header value"),
            );
        }
        let raw = Bytes::copy_from_slice(&received[end + 4..]);
        let body = (!raw.is_empty()).then(|| {
            serde_json::from_slice(&raw).unwrap_or_else(|e| {
                panic!(
                    "the body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&raw)
                )
            })
        });
        let response = TestResponse {
            method: Method::GET,
            url: self.base_url.clone(),
            status,
            headers,
            body,
            raw,
        };
        let problems = conformance::check(&response, &self.base_url, &self.base_url);
        assert!(
            problems.is_empty(),
            "{}\nthe answer breaks conformance rules:\n  - {}",
            response.describe(),
            problems.join("\n  - ")
        );
        response
    }
}
