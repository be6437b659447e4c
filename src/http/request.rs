//! One parsed request, borrowed from the connection's read buffer.
//!
//! Nothing is copied: method, path, headers and body are slices of the bytes
//! the connection read. The request lives for one handler call; a handler that
//! needs a value afterwards copies it.

use std::net::{Ipv4Addr, SocketAddr};

/// A request header as `httparse` gives it: name and raw value bytes.
pub type RequestHeader<'a> = httparse::Header<'a>;

#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    version_minor: u8,
    headers: &'a [RequestHeader<'a>],
    body: &'a [u8],
    remote_address: SocketAddr,
}

impl<'a> Request<'a> {
    /// Builds a request from parts. The server does this after parsing; it is
    /// public so that handlers can be unit-tested without a socket.
    /// `target` is the request target as sent, path and optional `?query`.
    pub fn new(
        method: &'a str,
        target: &'a str,
        headers: &'a [RequestHeader<'a>],
        body: &'a [u8],
    ) -> Request<'a> {
        // A byte scan: `split_once('?')` sets up a char searcher, which
        // profiled as dearer than the scan of a short target.
        let (path, query) = match target.bytes().position(|byte| byte == b'?') {
            Some(index) => (&target[..index], Some(&target[index + 1..])),
            None => (target, None),
        };
        Request {
            method,
            path,
            query,
            version_minor: 1,
            headers,
            body,
            remote_address: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        }
    }

    pub(crate) fn with_version_minor(mut self, version_minor: u8) -> Request<'a> {
        assert!(version_minor <= 1);
        self.version_minor = version_minor;
        self
    }

    pub(crate) fn with_remote_address(mut self, remote_address: SocketAddr) -> Request<'a> {
        self.remote_address = remote_address;
        self
    }

    /// `GET`, `POST`, ... exactly as sent (methods are case-sensitive).
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The path without the query string, not percent-decoded.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The raw query string after `?`, not percent-decoded.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub fn version_minor(&self) -> u8 {
        self.version_minor
    }

    /// The first header with this name (ASCII case-insensitive), if its value
    /// is UTF-8.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        let value = self.header_bytes(name)?;
        std::str::from_utf8(value).ok()
    }

    /// The first header with this name (ASCII case-insensitive), raw bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value)
    }

    /// All headers in the order sent, for names that occur more than once.
    pub fn headers(&self) -> &'a [RequestHeader<'a>] {
        self.headers
    }

    /// The body, exactly `Content-Length` bytes (empty without one).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The peer of the connection (0.0.0.0:0 for requests built by `new`).
    pub fn remote_address(&self) -> SocketAddr {
        self.remote_address
    }
}
