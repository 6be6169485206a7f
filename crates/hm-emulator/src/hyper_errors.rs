//! Gives the errors hyper answers on its own the API's error shape.
//!
//! A request head hyper cannot parse (too many or too large headers: 431, a URI over 64 KiB: 414,
//! a malformed line: 400) is answered by hyper before the router runs, with an empty body and no
//! `Content-Type`, and hyper offers no hook to change that. This wrapper around the connection
//! recognises such an answer as it is written and writes a JSON error body in its place.
//!
//! Recognising it is unambiguous: every 4xx the router sends is JSON (see `routes::api_shape`), so
//! a 400, 414 or 431 head without `Content-Type` can only be hyper's, and hyper closes the
//! connection right after it, so nothing written later needs re-framing.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::routes::errors::{self, Api};

/// How much of each request's first bytes is kept to pick the error shape from its path.
const REQUEST_START: usize = 512;

/// A connection whose hyper-made error responses are rewritten in the API's error shape.
pub struct ShapedErrors<T> {
    inner: T,
    /// The first bytes of the request being read (its request line, for the path).
    request_start: Vec<u8>,
    /// A rewritten response still to be written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> ShapedErrors<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            request_start: Vec::new(),
            pending: None,
        }
    }

    /// The API whose request is being read, by the path in its request line.
    fn api(&self) -> Api {
        let line = self
            .request_start
            .split(|b| *b == b'\r' || *b == b'\n')
            .next()
            .unwrap_or_default();
        let path = line
            .split(|b| *b == b' ')
            .nth(1)
            .and_then(|target| std::str::from_utf8(target).ok())
            .unwrap_or("/");
        Api::for_path(path.split('?').next().unwrap_or("/"))
    }
}

/// The status of `head` if it is a bodiless 400, 414 or 431 of hyper's making.
fn hyper_error(head: &[u8]) -> Option<StatusCode> {
    let status = head.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
    let status = match status {
        b"400" => StatusCode::BAD_REQUEST,
        b"414" => StatusCode::URI_TOO_LONG,
        b"431" => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => return None,
    };
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    (!text.contains("\r\ncontent-type:")).then_some(status)
}

/// The rewritten response: `status` with a JSON body in `api`'s shape; the connection closes.
fn shaped_response(api: Api, status: StatusCode) -> Vec<u8> {
    let (title, detail) = match status {
        StatusCode::URI_TOO_LONG => (
            "URI too long",
            "the request target is longer than the emulator accepts (64 KiB); send the data in the body",
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "Request header fields too large",
            "the request has more than 100 header fields or its head is larger than the emulator accepts",
        ),
        _ => (
            "Bad request",
            "the request head is not valid HTTP/1.1 (request line or a header field is malformed)",
        ),
    };
    let body = errors::body(api, status, title, detail, None).to_string();
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut bytes = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        status.as_u16(),
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

impl<T: AsyncWrite + Unpin> ShapedErrors<T> {
    /// Writes what is left of a rewritten response.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ShapedErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let room = REQUEST_START.saturating_sub(self.request_start.len());
        let new = &buf.filled()[before..];
        let keep = &new[..new.len().min(room)];
        self.request_start.extend_from_slice(keep);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ShapedErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if buf.starts_with(b"HTTP/1.1 ") {
            let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
            if let Some(status) = head_end.and_then(|end| hyper_error(&buf[..end + 2])) {
                let api = self.api();
                self.pending = Some((shaped_response(api, status), 0));
                // hyper's head (and nothing else: it has no body) counts as written.
                let _ = self.poll_pending(cx)?;
                return Poll::Ready(Ok(buf.len()));
            }
            // A final response: the next request's bytes start after it.
            if !buf.starts_with(b"HTTP/1.1 1") {
                self.request_start.clear();
            }
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_heads_of_the_three_statuses_are_hyper_errors() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n";
        assert_eq!(
            hyper_error(hyper),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n";
        assert_eq!(hyper_error(ours), None);
        let other = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n";
        assert_eq!(hyper_error(other), None);
    }

    #[test]
    fn the_shape_follows_the_path_of_the_request_line() {
        let mut io = ShapedErrors::new(());
        io.request_start = b"POST /v1/access_tokens?aaaa HTTP/1.1\r\nHost: x".to_vec();
        assert_eq!(io.api(), Api::OAuth);
        io.request_start = b"GET /v1/vehicle-data/autoapi-13/X HTTP/1.1\r\n".to_vec();
        assert_eq!(io.api(), Api::Data);
        io.request_start = b"\x16\x03\x01".to_vec();
        assert_eq!(io.api(), Api::Fleet);
    }
}
