//! What the server calls for every request.
//!
//! A handler runs on the connection's coroutine and may block that coroutine
//! (wait on a `may::sync::mpsc` channel for a TigerBeetle reply), but must
//! never block the worker thread: no std or crossbeam blocking receive, no
//! blocking socket from another library.

use super::request::Request;
use super::response::Response;
use super::router::Params;

pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &Request<'_>) -> Response;
}

/// Any `fn(&Request) -> Response` is a handler. Closures need the argument
/// type written out, `|request: &Request<'_>| ...`, for Rust to infer the
/// lifetime.
impl<F> Handler for F
where
    F: Fn(&Request<'_>) -> Response + Send + Sync + 'static,
{
    fn handle(&self, request: &Request<'_>) -> Response {
        self(request)
    }
}

/// `{"ok":true}` with nothing allocated: the benchmark endpoint the
/// application routes at `GET /noop`, to measure the HTTP layer alone.
pub fn noop(_request: &Request<'_>, _params: &Params<'_>) -> Response {
    Response::json_raw(200, &br#"{"ok":true}"#[..])
}
