//! Criterion benchmarks of the per-request work outside TigerBeetle, each
//! reported per operation: request parsing and routing, checkout JSON
//! decoding and encoding, the webhook signature check, and id generation.

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use boxoffice::http::{Params, Request, Response, Router};
use boxoffice::ids::OrderId;
use boxoffice::shop::checkout::{validate_email, CheckoutAnswer};
use boxoffice::signature::SigningKey;

const CHECKOUT_REQUEST: &[u8] = b"POST /api/checkout HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\
User-Agent: wrk\r\nContent-Type: application/json\r\nContent-Length: 76\r\n\r\n\
{\"event\":\"tigerfans\",\"class\":\"A\",\"quantity\":2,\"email\":\"buyer@example.com\"}";

fn router() -> Router {
    let ok = |_: &Request<'_>, _: &Params<'_>| Response::empty(204);
    Router::new()
        .get("/noop", ok)
        .get("/", ok)
        .get("/orders/{id}", ok)
        .get("/api/events", ok)
        .post("/api/checkout", ok)
        .get("/api/orders/{id}", ok)
        .post("/payments/webhook", ok)
        .get("/mockpay/{session}", ok)
        .post("/mockpay/{session}/{outcome}", ok)
        .get("/metrics", ok)
}

fn parsing_and_routing(c: &mut Criterion) {
    let router = router();
    c.bench_function("http/parse a checkout request", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut request = httparse::Request::new(&mut headers);
            let status = request.parse(black_box(CHECKOUT_REQUEST)).unwrap();
            black_box(status.is_complete())
        })
    });
    c.bench_function("http/route POST /mockpay/{session}/{outcome}", |b| {
        b.iter(|| {
            let found = router.find(
                "POST",
                black_box("/mockpay/cs_0123456789abcdef0123456789abcdef/succeed"),
            );
            black_box(matches!(found, boxoffice::http::RouteMatch::Found { .. }))
        })
    });
}

fn checkout_json(c: &mut Criterion) {
    let body = &CHECKOUT_REQUEST[CHECKOUT_REQUEST.len() - 76..];
    c.bench_function("checkout/decode and check the body", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_slice(black_box(body)).unwrap();
            let email = value["email"].as_str().unwrap();
            black_box(validate_email(email).is_ok())
        })
    });
    let answer = CheckoutAnswer {
        order_id: OrderId::generate().to_string(),
        payment_url: "http://127.0.0.1:8080/mockpay/cs_0123456789abcdef0123456789abcdef".into(),
        amount: 13_000,
        currency: "EUR".into(),
        hold_expires_at: "2026-12-03T12:00:00Z".into(),
    };
    c.bench_function("checkout/encode the answer", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&answer)).unwrap()))
    });
}

fn webhook_signature(c: &mut Criterion) {
    let key = SigningKey::new(b"bench-webhook-secret-0123456789".to_vec());
    let body = br#"{"id":"evt_0123456789abcdef0123456789abcdef_payment.succeeded","type":"payment.succeeded","session":"cs_0123456789abcdef0123456789abcdef","reference":"0123456789abcdef0123456789abcdef0","amount_cents":3500,"currency":"EUR","email":"bench@example.com","created":1796298545}"#;
    let header = key.sign(1_796_298_545, body);
    c.bench_function("webhook/verify the signature", |b| {
        b.iter(|| black_box(key.verify(Some(black_box(&header)), body, 1_796_298_545)).unwrap())
    });
}

fn ids(c: &mut Criterion) {
    c.bench_function("ids/generate an order id", |b| {
        b.iter(|| black_box(OrderId::generate()))
    });
    let order = OrderId::generate();
    c.bench_function("ids/format and parse an order id", |b| {
        b.iter(|| black_box(OrderId::parse(&black_box(order).to_string())))
    });
}

criterion_group!(
    benches,
    parsing_and_routing,
    checkout_json,
    webhook_signature,
    ids
);
criterion_main!(benches);
