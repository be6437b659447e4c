//! HTTP/1.1 server on `may` coroutines.
//!
//! Why our own layer instead of `may_minihttp` (see
//! `shared/reference/may_minihttp.md`): the released crate drops requests with
//! more than 16 headers (browsers send 13 to 20), only takes `&'static str`
//! response headers (so a dynamic `Location` or `Set-Cookie` would have to
//! leak), and drops the connection on a parse error instead of answering 400.
//! We keep its shape, which is what makes it fast: one coroutine per
//! connection, read what is there, answer every complete request in the buffer
//! (pipelining), write all answers at once.
//!
//! What clients get besides the handler's answers (JSON `{"error":"..."}`;
//! each of these closes the connection, except 404 and 405):
//! - 400 for a malformed request or `Content-Length`;
//! - 431 for more than `headers_max` headers or a head over `head_bytes_max`;
//! - 413 for a `Content-Length` over `body_bytes_max` (the body is not read);
//! - 411 for `Transfer-Encoding` (chunked bodies are not supported: clients
//!   must send `Content-Length`; browsers and curl do for forms and JSON);
//! - 408 for a request not complete within `read_timeout_ms` of its first
//!   byte; idle keep-alive connections are closed silently after it;
//! - 404 / 405 (with `Allow`) from the `Router`; 500 if a handler panics;
//! - 503 when `connections_max` connections are open already.
//!
//! HTTP/1.1 keeps connections alive unless `Connection: close`; HTTP/1.0
//! closes unless `Connection: keep-alive`. `HEAD` gets the `GET` answer's
//! head. `Expect: 100-continue` gets `100 Continue`.
//!
//! How the application uses it:
//!
//! ```no_run
//! use boxoffice::http::{self, Params, Request, Response, Router, Server, ServerConfig};
//!
//! fn order(_request: &Request<'_>, params: &Params<'_>) -> Response {
//!     Response::json(200, &serde_json::json!({ "id": params.get("id") }))
//! }
//!
//! // First thing in main: 2 workers, stacks pooled at the server's size.
//! http::configure_may(2, http::CONNECTION_STACK_BYTES_DEFAULT);
//! let router = Router::new()
//!     .get("/noop", http::noop)
//!     .get("/api/orders/{id}", order);
//! let config = ServerConfig {
//!     listen_address: "127.0.0.1:8080".parse().unwrap(),
//!     ..ServerConfig::default()
//! };
//! let server = Server::start(config, router).unwrap();
//! println!("listening on {}", server.local_address());
//! // Dropping `server` shuts it down: keep it for as long as it serves.
//! // ... later:
//! server.shutdown().unwrap();
//! ```

mod config;
mod connection;
mod date;
mod error;
mod handler;
mod read_buffer;
mod request;
mod response;
mod router;
mod runtime;
mod server;
mod status;
mod watchdog;

pub use config::{ServerConfig, CONNECTION_STACK_BYTES_DEFAULT, HEADERS_MAX_LIMIT};
pub use error::ServerError;
pub use handler::{noop, Handler};
pub use request::{Request, RequestHeader};
pub use response::Response;
pub use router::{Params, RouteHandler, RouteMatch, Router, PARAMS_MAX, SEGMENTS_MAX};
pub use runtime::configure_may;
pub use server::Server;
pub use status::reason_phrase;
