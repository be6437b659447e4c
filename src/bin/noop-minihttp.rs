//! The yardstick: may_minihttp 0.1.11's own no-op server, answering the same
//! 11-byte `{"ok":true}` as our `GET /noop`, to benchmark our HTTP layer
//! against.
//!
//! Usage: `noop-minihttp [ADDRESS] [WORKERS]` (default 127.0.0.1:8081, 2).

use std::io;

use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};

#[derive(Clone)]
struct Noop;

impl HttpService for Noop {
    fn call(&mut self, _request: Request, response: &mut Response) -> io::Result<()> {
        response.header("Content-Type: application/json");
        response.body(r#"{"ok":true}"#);
        Ok(())
    }
}

struct NoopFactory;

impl HttpServiceFactory for NoopFactory {
    type Service = Noop;

    fn new_service(&self, _id: usize) -> Noop {
        Noop
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let workers: usize = match args.next().map(|text| text.parse()) {
        None => 2,
        Some(Ok(workers)) => workers,
        Some(Err(error)) => panic!("WORKERS must be a number: {error}"),
    };
    may::config().set_workers(workers);
    let server = NoopFactory.start(&address).expect("bind");
    eprintln!("noop-minihttp on {address} with {workers} workers");
    server.join().expect("server coroutine");
}
