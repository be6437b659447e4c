//! The HTTP server over real sockets: a server on 127.0.0.1:0 per test, plain
//! std `TcpStream` clients writing raw bytes, so that malformed and pipelined
//! requests can be sent exactly.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

use boxoffice::http::{self, Params, Request, Response, Router, Server, ServerConfig};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

static MAY_CONFIG: Once = Once::new();

/// may reads its worker count when its scheduler first starts: set it once
/// per test process, before any server exists.
fn configure_may_once() {
    MAY_CONFIG.call_once(|| {
        http::configure_may(2, http::CONNECTION_STACK_BYTES_DEFAULT);
    });
}

fn router() -> Router {
    Router::new()
        .get("/noop", http::noop)
        .get("/headers", |request: &Request<'_>, _: &Params<'_>| {
            let count = request.headers().len();
            Response::json(200, &serde_json::json!({ "headers": count }))
        })
        .post("/echo", |request: &Request<'_>, _: &Params<'_>| {
            Response::text(200, String::from_utf8_lossy(request.body()).into_owned())
        })
        .get(
            "/api/orders/{id}",
            |request: &Request<'_>, params: &Params<'_>| {
                let id = params.get("id").unwrap_or("");
                let query = request.query().unwrap_or("");
                Response::json(200, &serde_json::json!({ "id": id, "query": query }))
            },
        )
        .post("/api/orders/{id}", |_: &Request<'_>, _: &Params<'_>| {
            Response::empty(204)
        })
        .post("/login", |_: &Request<'_>, _: &Params<'_>| {
            let session = format!("session={}; HttpOnly", 12_345);
            Response::redirect(303, format!("/orders/{}", 7))
                .with_header("Set-Cookie", session)
                .with_header("Set-Cookie", "theme=dark")
                .with_header("Retry-After", 3.to_string())
        })
        .get("/panic", |_: &Request<'_>, _: &Params<'_>| -> Response {
            panic!("a handler bug");
        })
        .get("/big", |_: &Request<'_>, _: &Params<'_>| {
            Response::text(200, big_body())
        })
        .get("/sleep", |_: &Request<'_>, _: &Params<'_>| {
            // Blocks this coroutine only, as a wait for TigerBeetle would.
            may::coroutine::sleep(Duration::from_millis(300));
            Response::text(200, "slept")
        })
}

/// Far more than a socket's send buffer, so that the server must wait for
/// the client to read.
const BIG_BODY_BYTES: usize = 8 * 1024 * 1024;

fn big_body() -> String {
    "0123456789abcdef".repeat(BIG_BODY_BYTES / 16)
}

fn start_with(config: ServerConfig) -> Server {
    configure_may_once();
    let config = ServerConfig {
        listen_address: "127.0.0.1:0".parse().unwrap(),
        ..config
    };
    Server::start(config, router()).expect("server starts")
}

fn start() -> Server {
    start_with(ServerConfig::default())
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Reads responses off one connection, keeping bytes past the current one
/// for the next (pipelined answers arrive together).
struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    fn new(address: SocketAddr) -> Client {
        Client {
            stream: connect(address),
            buffer: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    fn request(&mut self, bytes: &[u8]) -> Reply {
        self.send(bytes);
        self.read_reply(false)
    }

    /// One response; `head_only` for answers to HEAD (no body follows).
    fn read_reply(&mut self, head_only: bool) -> Reply {
        let deadline = Instant::now() + CLIENT_TIMEOUT;
        loop {
            if let Some(reply) = self.parse_reply(head_only) {
                return reply;
            }
            assert!(Instant::now() < deadline, "no complete reply in time");
            let mut chunk = [0u8; 4096];
            let count = self.stream.read(&mut chunk).expect("read reply");
            assert!(count > 0, "connection closed before a complete reply");
            self.buffer.extend_from_slice(&chunk[..count]);
        }
    }

    fn parse_reply(&mut self, head_only: bool) -> Option<Reply> {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let head_bytes = match response.parse(&self.buffer).expect("valid reply") {
            httparse::Status::Complete(head_bytes) => head_bytes,
            httparse::Status::Partial => return None,
        };
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|header| {
                let value = String::from_utf8(header.value.to_vec()).unwrap();
                (header.name.to_owned(), value)
            })
            .collect();
        let status = response.code.unwrap();
        let length_header = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"));
        let body_bytes = match length_header {
            Some(_) if head_only => 0,
            Some((_, value)) => value.parse::<usize>().unwrap(),
            None => 0,
        };
        if self.buffer.len() < head_bytes + body_bytes {
            return None;
        }
        let body = self.buffer[head_bytes..head_bytes + body_bytes].to_vec();
        self.buffer.drain(..head_bytes + body_bytes);
        Some(Reply {
            status,
            headers,
            body,
        })
    }

    /// True if the server closed the connection (EOF or reset) with nothing
    /// more to read.
    fn is_closed_by_server(&mut self) -> bool {
        assert!(
            self.buffer.is_empty(),
            "unread reply bytes: {:?}",
            self.buffer
        );
        let mut chunk = [0u8; 64];
        match self.stream.read(&mut chunk) {
            Ok(0) => true,
            Ok(_) => false,
            Err(error) => error.kind() == ErrorKind::ConnectionReset,
        }
    }
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

#[test]
fn the_noop_endpoint_answers_ok_true() {
    let server = start();
    let reply = Client::new(server.local_address()).request(&get("/noop"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, br#"{"ok":true}"#);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("server"), Some("boxoffice"));
    assert_eq!(reply.header("date").map(str::len), Some(29));
    server.shutdown().unwrap();
}

fn request_with_headers(count: usize) -> Vec<u8> {
    let mut request = String::from("GET /headers HTTP/1.1\r\nHost: test\r\n");
    for index in 1..count {
        request.push_str(&format!("X-Header-{index}: value {index}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

#[test]
fn a_request_with_64_headers_is_answered() {
    let server = start();
    let reply = Client::new(server.local_address()).request(&request_with_headers(64));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["headers"], 64);
}

#[test]
fn a_request_with_too_many_headers_gets_431() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let reply = client.request(&request_with_headers(65));
    assert_eq!(reply.status, 431);
    assert_eq!(reply.json()["error"], "too many headers");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed_by_server());
}

#[test]
fn a_request_head_over_the_limit_gets_431() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let cookie = "c".repeat(17 * 1024);
    let request = format!("GET /noop HTTP/1.1\r\nHost: test\r\nCookie: {cookie}\r\n\r\n");
    let reply = client.request(request.as_bytes());
    assert_eq!(reply.status, 431);
    assert_eq!(reply.json()["error"], "request head too large");
    assert!(client.is_closed_by_server());
}

#[test]
fn a_malformed_request_gets_400_not_a_dropped_connection() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let reply = client.request(b"GET /noop HTTP/1.1\r\nBad Header Line\r\n\r\n");
    assert_eq!(reply.status, 400);
    let error = reply.json()["error"].as_str().unwrap().to_owned();
    assert!(error.starts_with("malformed request"), "{error}");
    assert!(client.is_closed_by_server());
}

#[test]
fn an_invalid_content_length_gets_400() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let reply = client.request(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1x\r\n\r\n");
    assert_eq!(reply.status, 400);
    assert!(client.is_closed_by_server());
}

#[test]
fn an_oversized_body_gets_413() {
    let server = start();
    let mut client = Client::new(server.local_address());
    // Only the head is sent: the answer must not wait for the body.
    let reply =
        client.request(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n");
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error"], "request body too large");
    assert!(client.is_closed_by_server());
}

#[test]
fn a_chunked_body_gets_411() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let reply = client.request(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(reply.status, 411);
    let error = reply.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("Content-Length"), "{error}");
    assert!(client.is_closed_by_server());
}

#[test]
fn a_body_sent_in_pieces_reaches_the_handler_whole() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let body = "b".repeat(16 * 1024);
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    client.send(head.as_bytes());
    for piece in body.as_bytes().chunks(5000) {
        thread::sleep(Duration::from_millis(20));
        client.send(piece);
    }
    let reply = client.read_reply(false);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body_text(), body);
}

#[test]
fn expect_100_continue_gets_an_interim_answer_before_the_body() {
    let server = start();
    let mut client = Client::new(server.local_address());
    client.send(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = client.read_reply(false);
    assert_eq!(interim.status, 100);
    client.send(b"hello");
    let reply = client.read_reply(false);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body_text(), "hello");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let mut batch = Vec::new();
    for id in 0..200 {
        batch.extend_from_slice(&get(&format!("/api/orders/{id}?n={id}")));
    }
    batch.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nlast");
    client.send(&batch);
    for id in 0..200 {
        let reply = client.read_reply(false);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["id"], id.to_string());
        assert_eq!(reply.json()["query"], format!("n={id}"));
    }
    assert_eq!(client.read_reply(false).body_text(), "last");
}

#[test]
fn many_tiny_pipelined_requests_with_bare_newlines_are_all_answered() {
    let server = start();
    let mut client = Client::new(server.local_address());
    client.send(&b"GET /noop HTTP/1.1\n\n".repeat(500));
    for _ in 0..500 {
        assert_eq!(client.read_reply(false).status, 200);
    }
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = start();
    let mut client = Client::new(server.local_address());
    for _ in 0..1000 {
        let reply = client.request(&get("/noop"));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), None);
    }
    assert_eq!(server.connections_count(), 1);
}

#[test]
fn a_request_sent_while_a_big_answer_waits_for_the_reader_is_answered_next() {
    let server = start();
    let mut client = Client::new(server.local_address());
    client.send(&get("/big"));
    // The server fills the socket and waits for room; the next request
    // arrives while it waits.
    thread::sleep(Duration::from_millis(200));
    client.send(&get("/noop"));
    thread::sleep(Duration::from_millis(100));
    let reply = client.read_reply(false);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), BIG_BODY_BYTES);
    assert!(reply.body == big_body().as_bytes());
    assert_eq!(client.read_reply(false).body_text(), r#"{"ok":true}"#);
    for _ in 0..100 {
        assert_eq!(client.request(&get("/noop")).status, 200);
    }
}

#[test]
fn a_request_sent_in_two_pieces_a_moment_apart_is_answered() {
    let server = start();
    let mut client = Client::new(server.local_address());
    for _ in 0..20 {
        client.send(b"GET /noop HTTP/1.1\r\nHost: te");
        thread::sleep(Duration::from_millis(5));
        client.send(b"st\r\n\r\n");
        assert_eq!(client.read_reply(false).status, 200);
    }
}

#[test]
fn connection_close_is_honoured() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let reply = client.request(b"GET /noop HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed_by_server());
}

#[test]
fn http_1_0_closes_unless_keep_alive_is_asked() {
    let server = start();
    let mut kept = Client::new(server.local_address());
    for _ in 0..3 {
        let reply = kept.request(b"GET /noop HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), Some("keep-alive"));
    }
    let mut closed = Client::new(server.local_address());
    let reply = closed.request(b"GET /noop HTTP/1.0\r\n\r\n");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(closed.is_closed_by_server());
}

#[test]
fn dynamic_response_headers_are_sent() {
    let server = start();
    let reply = Client::new(server.local_address())
        .request(b"POST /login HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/orders/7"));
    assert_eq!(
        reply.headers_named("set-cookie"),
        ["session=12345; HttpOnly", "theme=dark"]
    );
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(reply.header("content-length"), Some("0"));
}

#[test]
fn a_no_content_answer_has_no_content_length() {
    let server = start();
    let reply = Client::new(server.local_address())
        .request(b"POST /api/orders/9 HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("content-length"), None);
}

#[test]
fn unknown_path_gets_404_json() {
    let server = start();
    let reply = Client::new(server.local_address()).request(&get("/nowhere"));
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"], "not found");
}

#[test]
fn wrong_method_gets_405_with_allow() {
    let server = start();
    let reply = Client::new(server.local_address())
        .request(b"DELETE /api/orders/7 HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, POST"));
    assert_eq!(reply.json()["error"], "method not allowed");
}

#[test]
fn head_gets_the_get_headers_without_a_body() {
    let server = start();
    let mut client = Client::new(server.local_address());
    client.send(b"HEAD /noop HTTP/1.1\r\nHost: test\r\n\r\n");
    let reply = client.read_reply(true);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-length"), Some("11"));
    // The connection stays usable: the next answer starts right after.
    assert_eq!(client.request(&get("/noop")).body, br#"{"ok":true}"#);
}

#[test]
fn a_panicking_handler_gets_500_and_the_server_goes_on() {
    let server = start();
    let mut client = Client::new(server.local_address());
    let reply = client.request(&get("/panic"));
    assert_eq!(reply.status, 500);
    assert_eq!(reply.json()["error"], "internal error");
    assert!(client.is_closed_by_server());
    let reply = Client::new(server.local_address()).request(&get("/noop"));
    assert_eq!(reply.status, 200);
}

#[test]
fn a_stalled_partial_request_is_closed_after_the_read_timeout() {
    let server = start_with(ServerConfig {
        read_timeout_ms: 300,
        ..ServerConfig::default()
    });
    let mut client = Client::new(server.local_address());
    let started = Instant::now();
    client.send(b"GET /noop HTTP/1.1\r\nHost: te");
    let reply = client.read_reply(false);
    assert_eq!(reply.status, 408);
    assert!(client.is_closed_by_server());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[test]
fn a_request_trickling_in_slower_than_the_read_timeout_is_closed() {
    let server = start_with(ServerConfig {
        read_timeout_ms: 300,
        ..ServerConfig::default()
    });
    let mut client = Client::new(server.local_address());
    let started = Instant::now();
    // One byte every 50 ms never trips the per-read timeout; the whole
    // request must still arrive within it.
    for byte in b"GET /noop HTTP/1.1\r\nHost: test\r\n".iter().take(12) {
        client.send(&[*byte]);
        thread::sleep(Duration::from_millis(50));
    }
    let reply = client.read_reply(false);
    assert_eq!(reply.status, 408);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_read_timeout() {
    let server = start_with(ServerConfig {
        read_timeout_ms: 200,
        ..ServerConfig::default()
    });
    let mut client = Client::new(server.local_address());
    assert_eq!(client.request(&get("/noop")).status, 200);
    let started = Instant::now();
    assert!(client.is_closed_by_server());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_blocking_handler_blocks_only_its_own_connection() {
    let server = start();
    let address = server.local_address();
    let started = Instant::now();
    let sleepers: Vec<_> = (0..8)
        .map(|_| thread::spawn(move || Client::new(address).request(&get("/sleep")).status))
        .collect();
    // Meanwhile other connections are served at once.
    thread::sleep(Duration::from_millis(50));
    let quick = Instant::now();
    assert_eq!(Client::new(address).request(&get("/noop")).status, 200);
    assert!(quick.elapsed() < Duration::from_millis(200));
    for sleeper in sleepers {
        assert_eq!(sleeper.join().unwrap(), 200);
    }
    // 8 sleeps of 300 ms on 2 workers ran concurrently.
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[test]
fn closed_connections_are_released() {
    let server = start();
    let clients: Vec<Client> = (0..20)
        .map(|_| {
            let mut client = Client::new(server.local_address());
            assert_eq!(client.request(&get("/noop")).status, 200);
            client
        })
        .collect();
    assert_eq!(server.connections_count(), 20);
    drop(clients);
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    while server.connections_count() > 0 {
        assert!(Instant::now() < deadline, "connections not released");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn shutdown_stops_accepting_promptly() {
    let server = start_with(ServerConfig {
        acceptors_count: 2,
        ..ServerConfig::default()
    });
    let address = server.local_address();
    assert_eq!(Client::new(address).request(&get("/noop")).status, 200);
    let started = Instant::now();
    server.shutdown().unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    let refused = TcpStream::connect(address).map(|mut stream| {
        // A connect racing the close may land in a dying backlog: then it
        // gets no answer.
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let _ = stream.write_all(&get("/noop"));
        let mut byte = [0u8; 1];
        stream.read(&mut byte).unwrap_or(0)
    });
    assert!(matches!(refused, Err(_) | Ok(0)), "{refused:?}");
}

#[test]
fn shutdown_closes_idle_keep_alive_connections_and_waits_for_them() {
    let server = start();
    let mut idle = Client::new(server.local_address());
    assert_eq!(idle.request(&get("/noop")).status, 200);
    assert_eq!(server.connections_count(), 1);
    let started = Instant::now();
    server.shutdown().expect("all connections closed");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(idle.is_closed_by_server());
}

#[test]
fn shutdown_lets_a_busy_handler_finish_its_answer() {
    let server = start();
    let address = server.local_address();
    let sleeper = thread::spawn(move || {
        let mut client = Client::new(address);
        let reply = client.request(&get("/sleep"));
        (reply.status, reply.header("connection").map(str::to_owned))
    });
    thread::sleep(Duration::from_millis(100));
    server.shutdown().expect("the sleeper finished in time");
    let (status, connection) = sleeper.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(connection.as_deref(), Some("close"));
}

#[test]
fn connections_over_the_max_get_503() {
    let server = start_with(ServerConfig {
        connections_max: 2,
        ..ServerConfig::default()
    });
    let mut first = Client::new(server.local_address());
    let mut second = Client::new(server.local_address());
    assert_eq!(first.request(&get("/noop")).status, 200);
    assert_eq!(second.request(&get("/noop")).status, 200);
    let mut third = Client::new(server.local_address());
    let reply = third.read_reply(false);
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error"], "too many connections");
    assert!(third.is_closed_by_server());
    drop(first);
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    while server.connections_count() > 1 {
        assert!(Instant::now() < deadline, "connection not released");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        Client::new(server.local_address())
            .request(&get("/noop"))
            .status,
        200
    );
}

#[test]
fn an_invalid_config_is_refused() {
    configure_may_once();
    let config = ServerConfig {
        headers_max: 1000,
        ..ServerConfig::default()
    };
    let result = Server::start(config, router());
    assert!(result.is_err());
}
