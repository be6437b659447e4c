//! A response a handler returns, and its serialisation into the connection's
//! output buffer.
//!
//! Headers are owned (`Cow`), so dynamic `Location`, `Set-Cookie` or
//! `Retry-After` values work without leaking, in any number. The common
//! no-allocation case stays cheap: a static body, a static content type and no
//! extra headers allocate nothing.

use std::borrow::Cow;

use serde::Serialize;

use super::date::DATE_BYTES;
use super::status::{forbids_body, reason_phrase};

const CONTENT_TYPE_JSON: &str = "application/json";
const CONTENT_TYPE_TEXT: &str = "text/plain; charset=utf-8";
const CONTENT_TYPE_HTML: &str = "text/html; charset=utf-8";

/// Headers the connection writes itself; a handler setting them would send
/// them twice or lie about the framing. (`Content-Type` goes with the body:
/// `with_body`.)
const RESERVED_HEADERS: [&str; 6] = [
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "date",
    "server",
];

type HeaderText = Cow<'static, str>;

/// A head without extra headers fits in this: status line, Server, Date,
/// Content-Type, Content-Length, Connection.
const HEAD_BYTES_TYPICAL: usize = 192;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    content_type: Option<HeaderText>,
    headers: Vec<(HeaderText, HeaderText)>,
    body: Cow<'static, [u8]>,
}

/// What the connection adds to every response head.
pub(crate) struct Framing<'a> {
    pub(crate) date: &'a [u8; DATE_BYTES],
    /// Write the head but not the body (HEAD requests).
    pub(crate) head_only: bool,
    /// Announce `Connection: close`; the connection closes after this.
    pub(crate) close: bool,
    /// An HTTP/1.0 client that asked for keep-alive must be told it got it.
    pub(crate) keep_alive_1_0: bool,
}

impl Response {
    /// A response with no body and no content type.
    pub fn empty(status: u16) -> Response {
        assert!(
            (100..=999).contains(&status),
            "status {status} is not 3 digits"
        );
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Cow::Borrowed(&[]),
        }
    }

    /// Serialises `value` as the JSON body. A value that cannot be serialised
    /// (a map with non-string keys) is a programmer error answered with 500.
    pub fn json(status: u16, value: &impl Serialize) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response::json_raw(status, body),
            Err(error) => Response::error(500, &format!("cannot serialise response: {error}")),
        }
    }

    /// A body that is JSON already, e.g. a static `br#"{"ok":true}"#`, which
    /// allocates nothing.
    pub fn json_raw(status: u16, body: impl Into<Cow<'static, [u8]>>) -> Response {
        Response::of_known_type(status, CONTENT_TYPE_JSON, body.into())
    }

    /// `{"error":"<message>"}`, the shape of every error this server answers.
    pub fn error(status: u16, message: &str) -> Response {
        let body = serde_json::to_vec(&serde_json::json!({ "error": message }))
            .expect("a JSON object of one string serialises");
        Response::json_raw(status, body)
    }

    pub fn text(status: u16, body: impl Into<Cow<'static, str>>) -> Response {
        Response::of_known_type(status, CONTENT_TYPE_TEXT, cow_str_into_bytes(body.into()))
    }

    pub fn html(status: u16, body: impl Into<Cow<'static, str>>) -> Response {
        Response::of_known_type(status, CONTENT_TYPE_HTML, cow_str_into_bytes(body.into()))
    }

    /// A redirect (301, 302, 303, 307 or 308) to `location`; 303 after a form
    /// post.
    pub fn redirect(status: u16, location: impl Into<Cow<'static, str>>) -> Response {
        assert!(
            matches!(status, 301 | 302 | 303 | 307 | 308),
            "status {status} is not a redirect"
        );
        Response::empty(status).with_header("Location", location)
    }

    /// Sets the body and its content type, replacing any previous body.
    pub fn with_body(
        mut self,
        content_type: impl Into<HeaderText>,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Response {
        let content_type = content_type.into();
        assert_header_value(&content_type);
        self.content_type = Some(content_type);
        self.body = body.into();
        assert_body_allowed(self.status, &self.body);
        self
    }

    /// A response with a body of one of this module's own content types,
    /// built in one go: the unit tests check those types once instead of
    /// every response scanning them again, and no builder step moves the
    /// response (both profiled per request on the no-op path).
    fn of_known_type(
        status: u16,
        content_type: &'static str,
        body: Cow<'static, [u8]>,
    ) -> Response {
        assert_body_allowed(status, &body);
        Response {
            content_type: Some(Cow::Borrowed(content_type)),
            body,
            ..Response::empty(status)
        }
    }

    /// Adds a header; headers with the same name may repeat (`Set-Cookie`).
    /// A name or value with CR, LF or NUL would split the response: that is a
    /// programmer error (validate user input before putting it in a header).
    pub fn with_header(
        mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Response {
        let name = name.into();
        let value = value.into();
        assert_header_name(&name);
        assert_header_value(&value);
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header_name, _)| header_name.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Appends the status line, headers and (unless `head_only`) the body.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>, framing: &Framing<'_>) {
        // One reservation instead of a capacity check that may grow per piece.
        out.reserve(HEAD_BYTES_TYPICAL + self.body.len());
        if self.status == 200 {
            out.extend_from_slice(b"HTTP/1.1 200 OK\r\nServer: boxoffice\r\nDate: ");
        } else {
            write_status_line(out, self.status);
            out.extend_from_slice(b"Server: boxoffice\r\nDate: ");
        }
        out.extend_from_slice(framing.date);
        // Each line's CRLF goes with the next line's start: fewer pieces.
        if let Some(content_type) = &self.content_type {
            out.extend_from_slice(b"\r\nContent-Type: ");
            out.extend_from_slice(content_type.as_bytes());
        }
        if !forbids_body(self.status) {
            out.extend_from_slice(b"\r\nContent-Length: ");
            write_decimal(out, self.body.len());
        }
        if framing.close {
            out.extend_from_slice(b"\r\nConnection: close");
        } else if framing.keep_alive_1_0 {
            out.extend_from_slice(b"\r\nConnection: keep-alive");
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
        }
        out.extend_from_slice(b"\r\n\r\n");
        if !framing.head_only {
            out.extend_from_slice(&self.body);
        }
    }
}

fn cow_str_into_bytes(text: Cow<'static, str>) -> Cow<'static, [u8]> {
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    }
}

fn write_status_line(out: &mut Vec<u8>, status: u16) {
    assert!((100..=999).contains(&status));
    let digits = [
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ];
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&digits);
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Decimal digits without the formatting machinery: this runs per response.
/// Pushed one by one: a copy of a variable-length slice is a `memmove` call,
/// which profiled as dearer than the two or three pushes of a typical length.
pub(crate) fn write_decimal(out: &mut Vec<u8>, value: usize) {
    let mut digits = [0u8; 20]; // u64::MAX has 20 digits.
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for digit in &digits[start..] {
        out.push(*digit);
    }
}

fn assert_body_allowed(status: u16, body: &[u8]) {
    assert!(
        body.is_empty() || !forbids_body(status),
        "status {status} must not carry a body"
    );
}

fn assert_header_name(name: &str) {
    assert!(!name.is_empty(), "empty header name");
    assert!(
        name.bytes().all(is_token_byte),
        "header name {name:?} is not an HTTP token"
    );
    assert!(
        !RESERVED_HEADERS
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(name)),
        "header {name:?} is written by the connection"
    );
}

fn assert_header_value(value: &str) {
    assert!(
        !value.bytes().any(|byte| matches!(byte, b'\r' | b'\n' | 0)),
        "header value {value:?} contains CR, LF or NUL"
    );
}

/// RFC 9110 `tchar`.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialised(response: &Response, close: bool) -> String {
        let date = *b"Thu, 01 Jan 1970 00:00:00 GMT";
        let framing = Framing {
            date: &date,
            head_only: false,
            close,
            keep_alive_1_0: false,
        };
        let mut out = Vec::new();
        response.write_to(&mut out, &framing);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decimals_are_written_without_formatting() {
        for value in [0, 7, 10, 99, 100, 12_345, usize::MAX] {
            let mut out = Vec::new();
            write_decimal(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes());
        }
    }

    #[test]
    fn a_json_response_serialises_with_length_and_headers() {
        let response = Response::json_raw(201, &br#"{"ok":true}"#[..])
            .with_header("Location", format!("/api/orders/{}", 7))
            .with_header("Retry-After", "3");
        assert_eq!(
            serialised(&response, true),
            "HTTP/1.1 201 Created\r\nServer: boxoffice\r\n\
             Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
             Content-Type: application/json\r\nContent-Length: 11\r\n\
             Connection: close\r\nLocation: /api/orders/7\r\nRetry-After: 3\r\n\r\n\
             {\"ok\":true}"
        );
    }

    #[test]
    fn no_content_has_no_content_length() {
        let text = serialised(&Response::empty(204), false);
        assert!(!text.contains("Content-Length"), "{text}");
    }

    #[test]
    fn errors_are_json_objects_with_escaped_messages() {
        let response = Response::error(400, "bad \"quote\"");
        assert_eq!(response.body(), br#"{"error":"bad \"quote\""}"#);
    }

    #[test]
    fn the_known_content_types_are_valid_header_values() {
        for content_type in [CONTENT_TYPE_JSON, CONTENT_TYPE_TEXT, CONTENT_TYPE_HTML] {
            assert_header_value(content_type);
        }
    }

    #[test]
    #[should_panic(expected = "contains CR, LF or NUL")]
    fn a_header_value_with_a_newline_is_refused() {
        let _ = Response::empty(200).with_header("Set-Cookie", "a=b\r\nX: y");
    }
}
