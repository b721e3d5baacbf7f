//! hyper answers a request whose head it cannot read by itself, before any service sees it:
//! `400` for a malformed request line or header field, `414` for a URI over 65,534 bytes, `431`
//! for more than [`MAX_HEADERS`] header fields or a head over [`MAX_HEAD_BYTES`]. Those answers
//! have no body; this wraps a connection's socket so that each goes out as a JSON:API error
//! document instead, like every other answer of the API.
//!
//! They are recognised by what only they are: hyper writes them alone (it reads a request head
//! only once the previous response is flushed) and they carry no `Content-Type`, while every
//! error response of the engine is a document with one.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::StatusCode;
use jsonapi_engine::error::ErrorKind;
use jsonapi_engine::{ApiError, ApiResponse};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The largest request head (request line and header fields) read: hyper's `max_buf_size`.
pub(crate) const MAX_HEAD_BYTES: usize = 128 * 1024;

/// The most header fields a request may have (hyper's default `max_headers`).
pub(crate) const MAX_HEADERS: usize = 100;

/// A socket whose bare automatic error answers are replaced by error documents.
#[derive(Debug)]
pub(crate) struct Documented<T> {
    inner: T,
    /// The answer being written instead of hyper's, how much of it is written, and how many
    /// of hyper's bytes it stands for.
    replacing: Option<Replacement>,
}

#[derive(Debug)]
struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    stands_for: usize,
}

impl<T> Documented<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            replacing: None,
        }
    }
}

/// The document that replaces hyper's answer starting `buf`, and the length of that answer;
/// `None` when `buf` starts anything else.
fn replacement(buf: &[u8]) -> Option<Replacement> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let status = StatusCode::from_bytes(rest.get(..3)?).ok()?;
    let kind = match status.as_u16() {
        400 => ErrorKind::BadRequest,
        414 => ErrorKind::UriTooLong,
        431 => ErrorKind::HeaderFieldsTooLarge,
        _ => return None,
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let lines: Vec<&str> = head.split("\r\n").filter(|l| !l.is_empty()).collect();
    let has = |name: &str| {
        lines.iter().skip(1).any(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
    };
    if has("content-type") {
        return None;
    }
    let detail = match kind {
        ErrorKind::UriTooLong => "The request URI is longer than the 65534 bytes the server reads; send long filter lists in the body of a POST with \"X-HTTP-Method-Override: GET\".".to_owned(),
        ErrorKind::HeaderFieldsTooLarge => format!(
            "The request's header section is larger than the server reads: at most {MAX_HEADERS} header fields and {MAX_HEAD_BYTES} bytes with the request line."
        ),
        _ => "The request could not be read as HTTP/1.1: its request line or a header field is malformed.".to_owned(),
    };
    let document = ApiResponse::errors(&ApiError::new(kind, detail).into());
    let mut bytes = format!("{}\r\n", lines[0]).into_bytes();
    // hyper's own lines (`date`) stay; the length is the document's; the connection closes,
    // as hyper closes it after such an answer.
    for line in lines.iter().skip(1).filter(|l| {
        !l.split_once(':').is_some_and(|(n, _)| {
            let n = n.trim();
            n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("connection")
        })
    }) {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    for (name, value) in &document.headers {
        bytes.extend_from_slice(name.as_str().as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            document.body.len()
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(&document.body);
    Some(Replacement {
        bytes,
        written: 0,
        stands_for: end,
    })
}

impl<T: AsyncWrite + Unpin> Documented<T> {
    /// Writes the replacement on; `Ready` with the length of hyper's answer once all of it is
    /// out.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(r) = &mut self.replacing else {
            return Poll::Ready(Ok(0));
        };
        while r.written < r.bytes.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &r.bytes[r.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => r.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let stands_for = r.stands_for;
        self.replacing = None;
        Poll::Ready(Ok(stands_for))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Documented<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Documented<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() {
            self.replacing = replacement(buf);
        }
        if self.replacing.is_some() {
            return self.poll_replacement(cx);
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none()
            && let Some(first) = bufs.iter().find(|b| !b.is_empty())
        {
            self.replacing = replacement(first);
        }
        if self.replacing.is_some() {
            return self.poll_replacement(cx);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_answers_are_replaced() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Tue, 01 Jul 2025 10:00:00 GMT\r\n\r\n";
        let r = replacement(bare).expect("hyper's answer");
        assert_eq!(r.stands_for, bare.len());
        let text = String::from_utf8(r.bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("date: Tue, 01 Jul 2025 10:00:00 GMT"));
        assert!(head.contains("content-type: application/vnd.api+json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(!head.contains("content-length: 0"));
        let doc: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(doc["errors"][0]["status"], "431");
        // The engine's own error responses, and other statuses, go out as they are.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/vnd.api+json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(replacement(ours).is_none());
        let ok = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert!(replacement(ok).is_none());
        assert!(replacement(b"{\"errors\":[]}").is_none());
    }
}
