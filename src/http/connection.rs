//! One client connection: read, answer every complete request, write once.
//!
//! The loop per read: append what the socket has to the read buffer, parse
//! and answer every complete request in it in order (pipelining), with all
//! responses appended to one output buffer, then write that buffer in one go.
//! One read and one write per batch is what makes small requests cheap.
//!
//! Reads are non-blocking reads on the raw socket; when there is nothing to
//! read, the coroutine parks in `wait_io` until the socket has an event or the
//! server's `Watchdog` wakes it at the read deadline (see there for why not
//! may's own read timeout). Writes are non-blocking writes on the raw socket
//! too; only when the socket's send buffer is full do they go through may's
//! `write_all`, whose write timeout then arms a timer.
//!
//! One read per request, not two: after an answer, the client's next request
//! has usually not arrived yet, so a read would only say "would block". may
//! registers sockets edge-triggered and records every event in the socket's
//! io flag until `wait_io` returns and clears it, so after a read that
//! drained the socket (it returned less than it could hold) nothing can
//! arrive unseen: the connection waits first and reads after. may's own
//! reads and writes clear that flag before they start, which is why this
//! module uses them only where it then reads before it waits again
//! (`input_may_be_waiting`).
//!
//! Requests that cannot be answered normally get a JSON error and the
//! connection is closed, because after them we no longer know where the next
//! request starts: malformed (400), too many headers or a head too big (431),
//! a body too big (413, not read), a chunked body (411: we only take
//! `Content-Length` bodies), a request that stalls half-sent (408).

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Duration;

use may::io::WaitIo;
use may::net::TcpStream;

use super::config::HEADERS_MAX_LIMIT;
use super::date::DateCache;
use super::read_buffer::ReadBuffer;
use super::request::{Request, RequestHeader};
use super::response::{Framing, Response};
use super::server::Shared;
use super::watchdog::WatchGuard;

/// The output buffer starts with room for a batch of small answers, and keeps
/// at most `OUTPUT_BYTES_RETAINED_MAX` between batches, so that one big page
/// does not pin its size for the connection's lifetime.
const OUTPUT_BYTES_INITIAL: usize = 4 * 1024;
const OUTPUT_BYTES_RETAINED_MAX: usize = 128 * 1024;

/// Before closing, read and discard what the client still sends, at most
/// this long and this much: closing a socket with unread input makes the
/// kernel send a reset, which can destroy our error answer before the client
/// reads it.
const LINGER_MS: u64 = 2_000;
const LINGER_BYTES_MAX: usize = 256 * 1024;

const CONTINUE_RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Runs one connection to its end. Never returns an error: every failure ends
/// this connection and nothing else.
pub(crate) fn serve(stream: TcpStream, remote_address: SocketAddr, shared: &Shared) {
    let Ok(mut connection) = Connection::new(stream, remote_address, shared) else {
        return;
    };
    if let Ok(Ending::WeClose) = connection.run() {
        // After a refusal the client may still be sending (the body we did
        // not read); after a clean `Connection: close` it normally is not,
        // and a plain close (FIN) saves a wait and a few syscalls.
        if connection.refused || !connection.input.is_empty() {
            connection.close_gracefully();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    KeepOpen,
    /// We answered and want to close.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The client closed, went idle past the read timeout, or the server is
    /// stopping and the connection was idle: just drop it.
    Quiet,
    /// We answered and decided to close.
    WeClose,
}

/// What waiting for input gave.
enum Received {
    Bytes,
    Closed,
    TimedOut,
}

/// What answering the request at the front of the read buffer did.
enum Step {
    Answered {
        consumed: usize,
        close: bool,
    },
    /// Not all of the request is here; `bytes_needed` in total, if known.
    Incomplete {
        bytes_needed: usize,
    },
    /// An error was answered; the connection must close.
    Refused,
}

struct Connection<'s> {
    stream: TcpStream,
    remote_address: SocketAddr,
    shared: &'s Shared,
    input: ReadBuffer,
    output: Vec<u8>,
    date: DateCache,
    /// Skip re-parsing a request whose head we parsed until this many bytes
    /// are pending (its body is still arriving).
    bytes_needed: usize,
    /// When (watchdog milliseconds) the unanswered bytes at the front started
    /// to wait for the rest of their request; `None` when nothing partial is
    /// pending.
    partial_since_ms: Option<u64>,
    /// `100 Continue` was sent for the request now arriving.
    continue_sent: bool,
    /// The socket may hold input that no io event will announce: at the
    /// start, after a read that filled the buffer, and after a write through
    /// may (which clears the io flag). Then read before waiting.
    input_may_be_waiting: bool,
    /// An error was answered: the connection closes after the flush.
    refused: bool,
    /// Our deadline, published to the watchdog while we wait for input.
    watch: WatchGuard<'s>,
}

impl<'s> Connection<'s> {
    fn new(
        stream: TcpStream,
        remote_address: SocketAddr,
        shared: &'s Shared,
    ) -> io::Result<Connection<'s>> {
        let config = &shared.config;
        // Answers go out in one write per batch; Nagle would hold a second
        // small write back for an ACK the client delays.
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(Duration::from_millis(config.write_timeout_ms)))?;
        let watch = shared.watchdog.register(stream.waker());
        Ok(Connection {
            stream,
            remote_address,
            shared,
            input: ReadBuffer::new(config.request_bytes_max()),
            output: Vec::with_capacity(OUTPUT_BYTES_INITIAL),
            date: DateCache::new(shared.watchdog.unix_seconds()),
            bytes_needed: 0,
            partial_since_ms: None,
            continue_sent: false,
            input_may_be_waiting: true,
            refused: false,
            watch,
        })
    }

    /// Runs until the client goes, we close, or a socket error (`Err`). The
    /// loop runs once per read; the read deadline bounds each wait and
    /// `partial_request_expired` bounds a request that trickles in.
    fn run(&mut self) -> io::Result<Ending> {
        loop {
            match self.receive()? {
                Received::Bytes => {}
                Received::Closed => return Ok(Ending::Quiet),
                Received::TimedOut if self.input.is_empty() => return Ok(Ending::Quiet),
                Received::TimedOut => {
                    self.refuse_timeout()?;
                    return Ok(Ending::WeClose);
                }
            }
            self.date.refresh(self.shared.watchdog.unix_seconds());
            let outcome = self.answer_pending()?;
            self.flush()?;
            if outcome == Outcome::Close {
                return Ok(Ending::WeClose);
            }
            if self.partial_request_expired() {
                self.refuse_timeout()?;
                return Ok(Ending::WeClose);
            }
        }
    }

    /// Waits for input until the read deadline: the read timeout from now
    /// when idle, from the first byte of a partial request otherwise.
    fn receive(&mut self) -> io::Result<Received> {
        let stopping = self.shared.stopping.load(Ordering::Acquire);
        if stopping && self.input.is_empty() {
            return Ok(Received::Closed);
        }
        let watchdog = &self.shared.watchdog;
        let since_ms = self.partial_since_ms.unwrap_or_else(|| watchdog.now_ms());
        let deadline_ms = watchdog.deadline_ms(since_ms, self.shared.config.read_timeout_ms);
        self.receive_until(deadline_ms)
    }

    /// Reads what the socket has, or parks until it has something or the
    /// watchdog passes `deadline_ms`. Each pass reads once or waits once; the
    /// deadline bounds the number of passes in time.
    fn receive_until(&mut self, deadline_ms: u64) -> io::Result<Received> {
        loop {
            if self.input_may_be_waiting {
                if let Some(received) = self.read_once()? {
                    return Ok(received);
                }
            }
            self.watch.arm(deadline_ms);
            self.stream.wait_io();
            let stopping = self.shared.stopping.load(Ordering::Acquire);
            let timed_out = self.watch.disarm(deadline_ms, stopping);
            // Whatever woke us, the socket is worth one read now.
            self.input_may_be_waiting = true;
            if timed_out {
                // A last read, so that input which arrived with the deadline
                // is answered rather than dropped.
                return Ok(self.read_once()?.unwrap_or(Received::TimedOut));
            }
        }
    }

    /// One non-blocking read into the buffer; `None` if it would block.
    fn read_once(&mut self) -> io::Result<Option<Received>> {
        loop {
            let spare = self.input.spare_mut();
            assert!(!spare.is_empty(), "a pending partial request always fits");
            let spare_bytes = spare.len();
            match self.stream.inner_mut().read(spare) {
                Ok(0) => return Ok(Some(Received::Closed)),
                Ok(count) => {
                    self.input.commit(count);
                    self.input_may_be_waiting = count == spare_bytes;
                    return Ok(Some(Received::Bytes));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.input_may_be_waiting = false;
                    return Ok(None);
                }
                // Bounded: a signal interrupts a read at most once per signal.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Answers every complete request in the read buffer, in order.
    fn answer_pending(&mut self) -> io::Result<Outcome> {
        // Every answered request consumes at least one byte ("A / HTTP/1.1\n\n"
        // is 14), so this bounds the batch without guessing the minimum.
        let requests_max = self.input.pending().len() + 1;
        for _ in 0..requests_max {
            match self.answer_one() {
                Step::Answered { consumed, close } => {
                    self.input.consume(consumed);
                    self.bytes_needed = 0;
                    self.continue_sent = false;
                    self.partial_since_ms = None;
                    if close {
                        return Ok(Outcome::Close);
                    }
                    if self.output.len() >= self.shared.config.output_flush_bytes {
                        self.flush()?;
                    }
                }
                Step::Incomplete { bytes_needed } => {
                    self.bytes_needed = bytes_needed;
                    if !self.input.is_empty() && self.partial_since_ms.is_none() {
                        self.partial_since_ms = Some(self.shared.watchdog.now_ms());
                    }
                    return Ok(Outcome::KeepOpen);
                }
                Step::Refused => return Ok(Outcome::Close),
            }
        }
        unreachable!("each answered request consumes at least one byte");
    }

    /// Parses the request at the front of the read buffer and, if it is all
    /// there, answers it into the output buffer.
    fn answer_one(&mut self) -> Step {
        let pending = self.input.pending();
        if pending.is_empty() || pending.len() < self.bytes_needed {
            return Step::Incomplete {
                bytes_needed: self.bytes_needed,
            };
        }
        let config = &self.shared.config;
        let mut slots = [MaybeUninit::<RequestHeader<'_>>::uninit(); HEADERS_MAX_LIMIT];
        let mut parsed = httparse::Request::new(&mut []);
        let head_bytes = match parsed
            .parse_with_uninit_headers(pending, &mut slots[..config.headers_max])
        {
            Ok(httparse::Status::Complete(head_bytes)) => head_bytes,
            Ok(httparse::Status::Partial) if pending.len() < config.head_bytes_max => {
                return Step::Incomplete { bytes_needed: 0 };
            }
            Ok(httparse::Status::Partial) => return self.refuse(431, "request head too large"),
            Err(httparse::Error::TooManyHeaders) => return self.refuse(431, "too many headers"),
            Err(error) => return self.refuse(400, &format!("malformed request: {error}")),
        };
        if head_bytes > config.head_bytes_max {
            return self.refuse(431, "request head too large");
        }
        let version_minor = parsed.version.expect("complete request has a version");
        let head = match Head::scan(parsed.headers, version_minor) {
            Ok(head) => head,
            Err((status, message)) => return self.refuse(status, message),
        };
        if head.body_bytes > config.body_bytes_max {
            return self.refuse(413, "request body too large");
        }
        let request_bytes = head_bytes + head.body_bytes;
        if pending.len() < request_bytes {
            if head.expects_continue && !self.continue_sent {
                self.continue_sent = true;
                self.output.extend_from_slice(CONTINUE_RESPONSE);
            }
            return Step::Incomplete {
                bytes_needed: request_bytes,
            };
        }

        let method = parsed.method.expect("complete request has a method");
        let target = parsed.path.expect("complete request has a path");
        let request = Request::new(
            method,
            target,
            parsed.headers,
            &pending[head_bytes..request_bytes],
        )
        .with_version_minor(version_minor)
        .with_remote_address(self.remote_address);
        let (response, handler_failed) = call_handler(self.shared, &request);
        let close = head.close || handler_failed || self.shared.stopping.load(Ordering::Relaxed);
        let framing = Framing {
            date: self.date.bytes(),
            head_only: method == "HEAD",
            close,
            keep_alive_1_0: head.keep_alive_1_0,
        };
        response.write_to(&mut self.output, &framing);
        Step::Answered {
            consumed: request_bytes,
            close,
        }
    }

    fn refuse(&mut self, status: u16, message: &str) -> Step {
        self.refused = true;
        write_refusal(&mut self.output, &self.date, status, message);
        Step::Refused
    }

    fn refuse_timeout(&mut self) -> io::Result<()> {
        self.refused = true;
        self.date.refresh(self.shared.watchdog.unix_seconds());
        write_refusal(
            &mut self.output,
            &self.date,
            408,
            "request not received in time",
        );
        self.flush()
    }

    /// A partial request must arrive in full within the read timeout of its
    /// first byte, even if it trickles in a byte at a time.
    fn partial_request_expired(&self) -> bool {
        let watchdog = &self.shared.watchdog;
        let timeout_ms = self.shared.config.read_timeout_ms;
        self.partial_since_ms
            .is_some_and(|since_ms| watchdog.now_ms() >= watchdog.deadline_ms(since_ms, timeout_ms))
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        let written = self.write_nonblocking()?;
        if written < self.output.len() {
            // The send buffer is full: let may wait for room, under the write
            // timeout. It clears the io flag, so read before the next wait.
            self.input_may_be_waiting = true;
            self.stream.write_all(&self.output[written..])?;
        }
        self.output.clear();
        if self.output.capacity() > OUTPUT_BYTES_RETAINED_MAX {
            self.output = Vec::with_capacity(OUTPUT_BYTES_INITIAL);
        }
        Ok(())
    }

    /// Writes as much of the output as the socket takes without waiting;
    /// returns how much that was. Bounded: every pass writes at least one
    /// byte, or ends.
    fn write_nonblocking(&mut self) -> io::Result<usize> {
        let mut written = 0;
        while written < self.output.len() {
            match self.stream.inner_mut().write(&self.output[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(count) => written += count,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(written)
    }

    /// Half-closes, then drains the client's input for a bounded time so that
    /// our last answer is read before the socket goes away.
    fn close_gracefully(&mut self) {
        if self.stream.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let watchdog = &self.shared.watchdog;
        let deadline_ms = watchdog.deadline_ms(watchdog.now_ms(), LINGER_MS);
        let mut drained_bytes = 0;
        while drained_bytes < LINGER_BYTES_MAX {
            self.input.consume(self.input.pending().len());
            match self.receive_until(deadline_ms) {
                Ok(Received::Bytes) => drained_bytes += self.input.pending().len(),
                Ok(Received::Closed | Received::TimedOut) | Err(_) => return,
            }
        }
    }
}

/// Calls the application. A handler that panics with a message gets a 500
/// and the connection closes; other panic payloads (may's coroutine cancel)
/// keep unwinding.
fn call_handler(shared: &Shared, request: &Request<'_>) -> (Response, bool) {
    match panic::catch_unwind(AssertUnwindSafe(|| shared.handler.handle(request))) {
        Ok(response) => (response, false),
        Err(payload) if payload.is::<&str>() || payload.is::<String>() => {
            (Response::error(500, "internal error"), true)
        }
        Err(payload) => panic::resume_unwind(payload),
    }
}

fn write_refusal(output: &mut Vec<u8>, date: &DateCache, status: u16, message: &str) {
    let framing = Framing {
        date: date.bytes(),
        head_only: false,
        close: true,
        keep_alive_1_0: false,
    };
    Response::error(status, message).write_to(output, &framing);
}

/// What the headers say about framing and the connection's future.
struct Head {
    body_bytes: usize,
    close: bool,
    keep_alive_1_0: bool,
    expects_continue: bool,
}

impl Head {
    fn scan(headers: &[RequestHeader<'_>], version_minor: u8) -> Result<Head, (u16, &'static str)> {
        let mut body_bytes = None;
        let mut asks_close = false;
        let mut asks_keep_alive = false;
        let mut expects_continue = false;
        for header in headers {
            let name = header.name;
            if name.eq_ignore_ascii_case("content-length") {
                let length = parse_content_length(header.value)
                    .ok_or((400, "malformed request: invalid Content-Length"))?;
                if body_bytes.is_some_and(|earlier| earlier != length) {
                    return Err((400, "malformed request: conflicting Content-Length"));
                }
                body_bytes = Some(length);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err((
                    411,
                    "chunked request bodies are not supported: send Content-Length",
                ));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in header.value.split(|byte| *byte == b',') {
                    let token = token.trim_ascii();
                    asks_close |= token.eq_ignore_ascii_case(b"close");
                    asks_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case("expect") {
                expects_continue = header
                    .value
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"100-continue");
            }
        }
        // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0
        // closes unless told to keep it.
        let close = asks_close || (version_minor == 0 && !asks_keep_alive);
        Ok(Head {
            body_bytes: body_bytes.unwrap_or(0),
            close,
            keep_alive_1_0: version_minor == 0 && !close,
            expects_continue,
        })
    }
}

/// Digits only; a value too big for `usize` saturates (and gets 413).
fn parse_content_length(value: &[u8]) -> Option<usize> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut length: usize = 0;
    for digit in digits {
        length = length
            .saturating_mul(10)
            .saturating_add(usize::from(digit - b'0'));
    }
    Some(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_digits_only_and_saturates() {
        assert_eq!(parse_content_length(b"0"), Some(0));
        assert_eq!(parse_content_length(b" 42 "), Some(42));
        assert_eq!(parse_content_length(b""), None);
        assert_eq!(parse_content_length(b"-1"), None);
        assert_eq!(parse_content_length(b"1e3"), None);
        assert_eq!(
            parse_content_length(b"99999999999999999999999"),
            Some(usize::MAX)
        );
    }

    fn head(headers: &[(&'static str, &'static [u8])], version_minor: u8) -> Head {
        let headers: Vec<RequestHeader<'_>> = headers
            .iter()
            .map(|(name, value)| RequestHeader { name, value })
            .collect();
        Head::scan(&headers, version_minor).unwrap_or_else(|_| panic!("refused"))
    }

    #[test]
    fn keep_alive_defaults_follow_the_http_version() {
        assert!(!head(&[], 1).close);
        assert!(head(&[("Connection", b"Close")], 1).close);
        assert!(head(&[], 0).close);
        let kept = head(&[("connection", b"Keep-Alive")], 0);
        assert!(!kept.close && kept.keep_alive_1_0);
        assert!(head(&[("Connection", b"keep-alive, close")], 1).close);
    }
}
