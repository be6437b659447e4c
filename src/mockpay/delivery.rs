//! Webhook delivery: the provider POSTs each payment result to the shop,
//! signed, and retries with backoff while the shop answers anything but 2xx.
//!
//! A few attempts happen while the buyer waits on the payment page's POST
//! (the usual case: the shop answers at once). If the shop is still failing
//! (for example PostgreSQL is down and it answers 503), delivery moves to a
//! background coroutine that keeps retrying with exponential backoff until
//! the shop accepts, refuses for good (a 4xx other than 408 and 429), or a
//! deadline passes. Each attempt is signed afresh, so a late retry is not
//! refused as stale.
//!
//! Connections to the shop are kept alive and reused (a bounded pool), as a
//! provider's HTTP client would: a new TCP connection per payment would cost
//! more than the webhook itself. A reused connection the shop has closed
//! meanwhile fails before any answer; that attempt is repeated once on a
//! fresh connection (safe: the shop is idempotent by payment event).

use std::io::{Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::signature::{SigningKey, SIGNATURE_HEADER};

/// Responses above this are not a shop we speak to.
const RESPONSE_BYTES_MAX: usize = 1024 * 1024;
const RESPONSE_HEAD_BYTES_MAX: usize = 16 * 1024;
/// Idle keep-alive connections kept for reuse: enough for the deliveries in
/// flight when a thousand buyers pay at once, so that a busy sale does not
/// open and close a connection per payment (measured: 4% of deliveries did
/// at 256, at 1000 buyers).
const IDLE_CONNECTIONS_MAX: usize = 2048;
const HEADERS_MAX: usize = 64;

#[derive(Clone, Debug)]
pub struct DeliveryPolicy {
    /// Attempts made while the buyer waits.
    pub attempts_inline: u32,
    /// Backoff before the second attempt; doubles after each failure.
    pub backoff_first_ms: u64,
    pub backoff_max_ms: u64,
    /// How long background redelivery goes on.
    pub redelivery_deadline_s: u64,
    /// Bound of deliveries retrying in the background at once.
    pub redeliveries_max: usize,
    pub attempt_timeout_ms: u64,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            attempts_inline: 3,
            backoff_first_ms: 50,
            backoff_max_ms: 2_000,
            redelivery_deadline_s: 3_600,
            redeliveries_max: 100_000,
            attempt_timeout_ms: 10_000,
        }
    }
}

/// How a delivery ended, as far as the buyer's request can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// The shop answered 2xx.
    Accepted,
    /// The shop refused for good (4xx other than 408/429): no retry helps.
    Refused(u16),
    /// Still failing; retrying in the background.
    Retrying,
    /// Still failing, and too many deliveries retry already: dropped.
    Dropped,
}

/// Where webhooks go: `http://host:port/path`.
#[derive(Clone, Debug)]
pub struct WebhookTarget {
    address: SocketAddr,
    host: String,
    path: String,
}

impl WebhookTarget {
    pub fn parse(url: &str) -> Result<WebhookTarget, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("webhook URL {url:?} must start with http://"))?;
        let (host, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let address = host
            .to_socket_addrs()
            .map_err(|e| format!("webhook host {host:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("webhook host {host:?} has no address"))?;
        Ok(WebhookTarget {
            address,
            host: host.to_string(),
            path: path.to_string(),
        })
    }
}

/// Delivers webhooks to one shop.
pub struct Courier {
    target: WebhookTarget,
    key: SigningKey,
    policy: DeliveryPolicy,
    redeliveries: AtomicUsize,
    idle: parking_lot::Mutex<Vec<may::net::TcpStream>>,
}

impl Courier {
    pub fn new(target: WebhookTarget, key: SigningKey, policy: DeliveryPolicy) -> Courier {
        assert!(policy.attempts_inline >= 1 && policy.backoff_first_ms >= 1);
        Courier {
            target,
            key,
            policy,
            redeliveries: AtomicUsize::new(0),
            idle: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// Delivers `body`; `on_accepted` runs once the shop has accepted it
    /// (inline or later in the background).
    pub fn deliver(
        self: &Arc<Self>,
        body: Vec<u8>,
        on_accepted: impl FnOnce() + Send + 'static,
    ) -> Delivered {
        let mut backoff_ms = self.policy.backoff_first_ms;
        for attempt in 0..self.policy.attempts_inline {
            if attempt > 0 {
                may::coroutine::sleep(Duration::from_millis(backoff_ms));
                backoff_ms = (backoff_ms * 2).min(self.policy.backoff_max_ms);
            }
            match self.attempt(&body) {
                Ok(status) if (200..300).contains(&status) => {
                    on_accepted();
                    return Delivered::Accepted;
                }
                Ok(status) if is_permanent(status) => return Delivered::Refused(status),
                _ => {}
            }
        }
        self.redeliver(body, backoff_ms, on_accepted)
    }

    fn redeliver(
        self: &Arc<Self>,
        body: Vec<u8>,
        backoff_ms: u64,
        on_accepted: impl FnOnce() + Send + 'static,
    ) -> Delivered {
        if self.redeliveries.fetch_add(1, Ordering::Relaxed) >= self.policy.redeliveries_max {
            self.redeliveries.fetch_sub(1, Ordering::Relaxed);
            eprintln!("mockpay: too many webhooks retrying; dropping one");
            return Delivered::Dropped;
        }
        let courier = self.clone();
        may::go!(move || {
            courier.retry_until_deadline(&body, backoff_ms, on_accepted);
            courier.redeliveries.fetch_sub(1, Ordering::Relaxed);
        });
        Delivered::Retrying
    }

    fn retry_until_deadline(&self, body: &[u8], mut backoff_ms: u64, on_accepted: impl FnOnce()) {
        let deadline = Instant::now() + Duration::from_secs(self.policy.redelivery_deadline_s);
        // Bounded by the deadline: every iteration sleeps at least 1 ms.
        while Instant::now() < deadline {
            may::coroutine::sleep(Duration::from_millis(backoff_ms));
            backoff_ms = (backoff_ms * 2).min(self.policy.backoff_max_ms);
            match self.attempt(body) {
                Ok(status) if (200..300).contains(&status) => return on_accepted(),
                Ok(status) if is_permanent(status) => {
                    eprintln!("mockpay: the shop refused a webhook with {status}; giving up");
                    return;
                }
                _ => {}
            }
        }
        eprintln!("mockpay: webhook not accepted before the redelivery deadline; giving up");
    }

    /// One signed POST; the shop's status code.
    fn attempt(&self, body: &[u8]) -> std::io::Result<u16> {
        let request = self.request_bytes(body);
        let reused = self.idle.lock().pop();
        if let Some(stream) = reused {
            if let Ok(status) = self.exchange(stream, &request) {
                return Ok(status);
            }
        }
        let timeout = Duration::from_millis(self.policy.attempt_timeout_ms);
        let stream = may::net::TcpStream::connect_timeout(&self.target.address, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        self.exchange(stream, &request)
    }

    fn request_bytes(&self, body: &[u8]) -> Vec<u8> {
        let signature = self.key.sign(crate::clock::unix_now_s(), body);
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n{SIGNATURE_HEADER}: {signature}\r\n\r\n",
            self.target.path,
            self.target.host,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        request
    }

    /// Sends one request, reads its whole response, and keeps the
    /// connection for the next delivery unless the shop closes it.
    fn exchange(&self, mut stream: may::net::TcpStream, request: &[u8]) -> std::io::Result<u16> {
        stream.write_all(request)?;
        let response = read_response(&mut stream)?;
        if response.keep_alive {
            let mut idle = self.idle.lock();
            if idle.len() < IDLE_CONNECTIONS_MAX {
                idle.push(stream);
            }
        }
        Ok(response.status)
    }
}

struct ResponseHead {
    status: u16,
    keep_alive: bool,
}

/// Reads one whole response (head and `Content-Length` body).
fn read_response(stream: &mut impl Read) -> std::io::Result<ResponseHead> {
    let mut buffer = vec![0u8; RESPONSE_HEAD_BYTES_MAX];
    let mut filled = 0;
    // Bounded: each read adds at least one byte to a fixed-size buffer.
    let (head_bytes, head, body_bytes) = loop {
        if filled == buffer.len() {
            return Err(invalid("the shop's response head is too long"));
        }
        let read = stream.read(&mut buffer[filled..])?;
        if read == 0 {
            return Err(invalid(
                "the shop closed the connection before a full response",
            ));
        }
        filled += read;
        let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buffer[..filled]) {
            Ok(httparse::Status::Complete(head_bytes)) => {
                let status = response.code.ok_or_else(|| invalid("no status code"))?;
                let header = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
                };
                let body_bytes: usize = match header("content-length") {
                    Some(length) => length
                        .trim()
                        .parse()
                        .map_err(|_| invalid("bad Content-Length"))?,
                    None => 0,
                };
                let keep_alive = header("connection").is_none_or(|value| !value.contains("close"));
                break (head_bytes, ResponseHead { status, keep_alive }, body_bytes);
            }
            Ok(httparse::Status::Partial) => continue,
            Err(e) => return Err(invalid(&e.to_string())),
        }
    };
    if body_bytes > RESPONSE_BYTES_MAX {
        return Err(invalid("the shop's response body is too long"));
    }
    let mut remaining = (head_bytes + body_bytes).saturating_sub(filled);
    let mut sink = [0u8; 4096];
    // Bounded by the body's length, checked above.
    while remaining > 0 {
        let chunk = remaining.min(sink.len());
        let read = stream.read(&mut sink[..chunk])?;
        if read == 0 {
            return Err(invalid(
                "the shop closed the connection inside a response body",
            ));
        }
        remaining -= read;
    }
    Ok(head)
}

fn is_permanent(status: u16) -> bool {
    (400..500).contains(&status) && status != 408 && status != 429
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_parse_into_address_host_and_path() {
        let target = WebhookTarget::parse("http://127.0.0.1:8080/payments/webhook").unwrap();
        assert_eq!(target.address, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(target.path, "/payments/webhook");
        assert!(WebhookTarget::parse("https://example.com/").is_err());
    }

    #[test]
    fn only_4xx_other_than_408_and_429_stop_retries() {
        assert!(is_permanent(401) && is_permanent(404) && is_permanent(422));
        assert!(!is_permanent(408) && !is_permanent(429) && !is_permanent(503));
    }

    #[test]
    fn a_whole_response_is_read_when_it_arrives_in_pieces() {
        struct Trickle(Vec<u8>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0.remove(0);
                Ok(1)
            }
        }
        let mut stream = Trickle(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}"
                .to_vec(),
        );
        let head = read_response(&mut stream).unwrap();
        assert_eq!((head.status, head.keep_alive), (503, true));
        assert!(stream.0.is_empty(), "the body was read");
        let mut closing =
            Trickle(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".to_vec());
        assert!(!read_response(&mut closing).unwrap().keep_alive);
    }
}
