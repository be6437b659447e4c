//! The ticket sale over real sockets against the real stack: checkout,
//! payment page, signed webhook, order status.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::app::{catalog, flush_redis, now_s, Options, TestApp, SECRET_KEY, WEBHOOK_SECRET};
use serde_json::{json, Value};

fn checkout_ok(app: &TestApp, slug: &str, quantity: u64) -> Value {
    let (status, answer) = app.checkout(slug, "A", quantity, "buyer@example.com");
    assert_eq!(status, 201, "{answer}");
    answer
}

fn order_id(answer: &Value) -> String {
    answer["order_id"].as_str().unwrap().to_string()
}

fn payment_url(answer: &Value) -> String {
    answer["payment_url"].as_str().unwrap().to_string()
}

#[test]
fn a_buyer_who_pays_gets_tickets_and_a_goodie() {
    let app = TestApp::spawn(&catalog(&[("show", 100, 10)]));
    let answer = checkout_ok(&app, "show", 2);
    assert_eq!(answer["amount"], 13_000);
    assert_eq!(answer["currency"], "EUR");
    let id = order_id(&answer);
    assert_eq!(app.order(&id).1["status"], "HELD");
    assert_eq!(app.inventory("show", 1).held, 2);

    let (status, location) = app.pay(&payment_url(&answer), "succeed");
    assert_eq!(status, 303);
    assert_eq!(location.unwrap(), app.url(&format!("/orders/{id}")));
    let order = app.wait_for_status(&id, "PAID", Duration::from_secs(10));
    assert_eq!(order["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(order["goodie"], true);
    assert_eq!(order["refund_owed"], false);
    let inventory = app.inventory("show", 1);
    assert_eq!(
        (inventory.sold, inventory.held, inventory.available),
        (2, 0, 98)
    );
    assert_eq!(app.goodies("show").sold, 1);
}

#[test]
fn a_failed_payment_releases_the_tickets_and_is_recorded_as_failed() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 10)]));
    let answer = checkout_ok(&app, "show", 3);
    let (status, location) = app.pay(&payment_url(&answer), "fail");
    assert_eq!(status, 303);
    assert!(location.unwrap().contains("/?event=show"));
    let order = app.wait_for_status(&order_id(&answer), "FAILED", Duration::from_secs(10));
    assert_eq!(order["tickets"], json!([]));
    let inventory = app.inventory("show", 1);
    assert_eq!(
        (inventory.sold, inventory.held, inventory.available),
        (0, 0, 10)
    );
    assert_eq!(app.goodies("show").held, 0);
}

#[test]
fn a_cancelled_payment_releases_the_tickets_and_is_recorded_as_canceled() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 0)]));
    let answer = checkout_ok(&app, "show", 1);
    assert_eq!(app.pay(&payment_url(&answer), "cancel").0, 303);
    app.wait_for_status(&order_id(&answer), "CANCELED", Duration::from_secs(10));
    assert_eq!(app.inventory("show", 1).available, 10);
}

#[test]
fn a_payment_after_the_hold_expired_is_booked_late_while_tickets_remain() {
    let options = Options {
        hold_timeout_s: 1,
        ..Options::default()
    };
    let app = TestApp::spawn_with(&catalog(&[("show", 5, 0)]), options);
    let answer = checkout_ok(&app, "show", 2);
    let id = order_id(&answer);
    app.wait_for_status(&id, "EXPIRED", Duration::from_secs(15));
    wait_until(|| app.inventory("show", 1).held == 0);
    assert_eq!(app.pay(&payment_url(&answer), "succeed").0, 303);
    let order = app.wait_for_status(&id, "PAID", Duration::from_secs(10));
    assert_eq!(order["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(app.inventory("show", 1).sold, 2);
}

#[test]
fn a_late_payment_when_sold_out_meanwhile_is_paid_unfulfilled_with_a_refund_owed() {
    let options = Options {
        hold_timeout_s: 1,
        ..Options::default()
    };
    let app = TestApp::spawn_with(&catalog(&[("show", 1, 0)]), options);
    let late = checkout_ok(&app, "show", 1);
    wait_until(|| app.inventory("show", 1).held == 0);
    // Someone else buys the last ticket in time.
    let punctual = checkout_ok(&app, "show", 1);
    assert_eq!(app.pay(&payment_url(&punctual), "succeed").0, 303);
    app.wait_for_status(&order_id(&punctual), "PAID", Duration::from_secs(10));

    assert_eq!(app.pay(&payment_url(&late), "succeed").0, 303);
    let order = app.wait_for_status(
        &order_id(&late),
        "PAID_UNFULFILLED",
        Duration::from_secs(10),
    );
    assert_eq!(order["refund_owed"], true);
    assert_eq!(order["tickets"], json!([]));
    assert_eq!(app.inventory("show", 1).sold, 1);
}

/// The webhook body the provider sends for `answer`'s order.
fn webhook_body(answer: &Value, event_type: &str, event_id: &str, amount: u64) -> String {
    let payment_url = payment_url(answer);
    let session = payment_url.rsplit('/').next().unwrap();
    json!({
        "id": event_id,
        "type": event_type,
        "session": session,
        "reference": order_id(answer),
        "amount_cents": amount,
        "currency": "EUR",
        "email": "buyer@example.com",
        "created": now_s(),
    })
    .to_string()
}

#[test]
fn a_replayed_webhook_answers_the_same_and_posts_once() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 10)]));
    let answer = checkout_ok(&app, "show", 1);
    let body = webhook_body(&answer, "payment.succeeded", "evt_replayed", 6500);
    let first = app.signed_webhook(&body, WEBHOOK_SECRET, now_s());
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first.1["status"], "PAID");
    let ledger_before = app.shop().ledger.counters();
    let second = app.signed_webhook(&body, WEBHOOK_SECRET, now_s());
    assert_eq!(
        second, first,
        "a replay answers the same, ticket codes included"
    );
    assert!(
        app.shop().ledger.counters().requests > ledger_before.requests,
        "the replay was checked against the ledger"
    );
    assert_eq!(app.inventory("show", 1).sold, 1);
    assert_eq!(app.goodies("show").sold, 1);
    // A different outcome for the same order cannot undo the payment.
    let failure = webhook_body(&answer, "payment.failed", "evt_late_failure", 6500);
    assert_eq!(app.signed_webhook(&failure, WEBHOOK_SECRET, now_s()).0, 409);
    assert_eq!(app.order(&order_id(&answer)).1["status"], "PAID");
}

#[test]
fn forged_and_stale_signatures_are_refused_and_change_nothing() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 0)]));
    let answer = checkout_ok(&app, "show", 1);
    let body = webhook_body(&answer, "payment.succeeded", "evt_forged", 6500);
    let (status, error) = app.signed_webhook(&body, "not-the-webhook-secret-at-all", now_s());
    assert_eq!(status, 401, "{error}");
    assert!(error["error"].as_str().unwrap().contains("signature"));
    assert_eq!(
        app.signed_webhook(&body, WEBHOOK_SECRET, now_s() - 301).0,
        401
    );
    assert_eq!(
        app.signed_webhook(&body, WEBHOOK_SECRET, now_s() + 301).0,
        401
    );
    let unsigned = app.call("POST", "/payments/webhook", Some(&body), &[]);
    assert_eq!(unsigned.0, 401);
    assert_eq!(app.order(&order_id(&answer)).1["status"], "HELD");
    let inventory = app.inventory("show", 1);
    assert_eq!((inventory.sold, inventory.held), (0, 1));
}

#[test]
fn a_webhook_for_the_wrong_amount_is_refused_and_changes_nothing() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 0)]));
    let answer = checkout_ok(&app, "show", 2);
    let body = webhook_body(&answer, "payment.succeeded", "evt_cheap", 100);
    let (status, error) = app.signed_webhook(&body, WEBHOOK_SECRET, now_s());
    assert_eq!(
        (status, error["field"].as_str()),
        (422, Some("amount_cents"))
    );
    assert_eq!(app.inventory("show", 1).sold, 0);
}

#[test]
fn every_bad_checkout_gets_a_json_error_naming_the_field_and_holds_nothing() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 5)]));
    let post = |body: &str| app.call("POST", "/api/checkout", Some(body), &[]);
    let valid = json!({"event": "show", "class": "A", "quantity": 1, "email": "a@example.com"});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body.to_string()
    };
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        ("{not json".into(), 400, None),
        ("[1, 2]".into(), 400, None),
        (with("event", json!("nope")), 422, Some("event")),
        (with("event", json!(7)), 422, Some("event")),
        (with("class", json!("Z")), 422, Some("class")),
        (with("quantity", json!(0)), 422, Some("quantity")),
        (with("quantity", json!(11)), 422, Some("quantity")),
        (with("quantity", json!(1.5)), 422, Some("quantity")),
        (with("quantity", json!(-1)), 422, Some("quantity")),
        (with("quantity", json!("2")), 422, Some("quantity")),
        (with("email", json!("not-an-email")), 422, Some("email")),
        (with("email", json!("a b@example.com")), 422, Some("email")),
        (
            json!({"event": "show", "class": "A", "quantity": 1}).to_string(),
            422,
            Some("email"),
        ),
    ];
    for (body, status, field) in cases {
        let (got, error) = post(&body);
        assert_eq!(got, status, "{body} -> {error}");
        assert!(error["error"].is_string(), "{body} -> {error}");
        assert_eq!(error["field"].as_str(), field, "{body} -> {error}");
    }
    let huge = with(
        "email",
        json!(format!("{}@example.com", "a".repeat(17 * 1024))),
    );
    let (status, error) = post(&huge);
    assert_eq!(status, 413, "{error}");
    let bad_key = app.call(
        "POST",
        "/api/checkout",
        Some(&valid.to_string()),
        &[("Idempotency-Key", "")],
    );
    assert_eq!(bad_key.0, 400);

    let inventory = app.inventory("show", 1);
    assert_eq!(
        (inventory.held, inventory.sold, inventory.available),
        (0, 0, 10)
    );
    assert_eq!(app.goodies("show").held, 0);
}

#[test]
fn a_sold_out_class_answers_409_with_a_hint_that_holds_may_be_released() {
    let app = TestApp::spawn(&catalog(&[("show", 2, 0)]));
    checkout_ok(&app, "show", 2);
    let (status, error) = app.checkout("show", "A", 1, "late@example.com");
    assert_eq!(status, 409, "{error}");
    assert!(
        error["hint"].as_str().unwrap().contains("released"),
        "{error}"
    );
    // The other class is unaffected.
    assert_eq!(app.checkout("show", "B", 1, "b@example.com").0, 201);
}

#[test]
fn an_idempotency_key_replays_the_first_answer_and_holds_once() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 0)]));
    let body =
        json!({"event": "show", "class": "A", "quantity": 3, "email": "a@example.com"}).to_string();
    // Unique per run: the TigerBeetle data file outlives test runs.
    let key_text = format!("checkout-{}", common::unique_event().0);
    let key = [("Idempotency-Key", key_text.as_str())];
    let first = app.call("POST", "/api/checkout", Some(&body), &key);
    assert_eq!(first.0, 201);
    let second = app.call("POST", "/api/checkout", Some(&body), &key);
    assert_eq!(second, first);
    assert_eq!(app.inventory("show", 1).held, 3);
    // Even with the key forgotten by Redis, the derived order id holds once.
    flush_redis(&app.redis_url);
    let third = app.call("POST", "/api/checkout", Some(&body), &key);
    assert_eq!((third.0, &third.1["order_id"]), (201, &first.1["order_id"]));
    assert_eq!(app.inventory("show", 1).held, 3);
    let other =
        json!({"event": "show", "class": "A", "quantity": 1, "email": "a@example.com"}).to_string();
    assert_eq!(app.call("POST", "/api/checkout", Some(&other), &key).0, 422);
}

#[test]
fn a_webhook_completes_even_when_redis_lost_the_payment_session() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 10)]));
    let answer = checkout_ok(&app, "show", 2);
    flush_redis(&app.redis_url);
    assert_eq!(app.pay(&payment_url(&answer), "succeed").0, 303);
    let order = app.wait_for_status(&order_id(&answer), "PAID", Duration::from_secs(10));
    assert_eq!(order["quantity"], 2);
    assert_eq!(order["goodie"], true);
    assert_eq!(app.inventory("show", 1).sold, 2);
}

#[test]
fn two_hundred_concurrent_buyers_for_fifty_tickets_end_with_exactly_fifty_paid() {
    let app = Arc::new(TestApp::spawn(&catalog(&[("show", 50, 10)])));
    let paid = Arc::new(AtomicU64::new(0));
    let buyers: Vec<_> = (0..200u64)
        .map(|buyer| {
            let (app, paid) = (app.clone(), paid.clone());
            std::thread::spawn(move || buy_until_done(&app, buyer, &paid))
        })
        .collect();
    let outcomes: Vec<String> = buyers.into_iter().map(|b| b.join().unwrap()).collect();
    let count = |status: &str| outcomes.iter().filter(|o| *o == status).count();
    assert_eq!(count("PAID"), 50, "{outcomes:?}");
    assert_eq!(
        count("PAID") + count("FAILED") + count("CANCELED") + count("SOLD_OUT"),
        200
    );
    let inventory = app.inventory("show", 1);
    assert_eq!(
        (inventory.sold, inventory.held, inventory.available),
        (50, 0, 0)
    );
    assert_eq!(app.goodies("show").sold, 10);
}

/// One buyer: a quarter fail their payment, a quarter cancel, half pay.
/// A sold-out buyer retries while unpaid holds may still be released.
fn buy_until_done(app: &TestApp, buyer: u64, paid: &AtomicU64) -> String {
    let email = format!("buyer{buyer}@example.com");
    for _attempt in 0..400 {
        let (status, answer) = app.checkout("show", "A", 1, &email);
        if status == 409 {
            if app.inventory("show", 1).sold == 50 {
                return "SOLD_OUT".into();
            }
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        assert_eq!(status, 201, "{answer}");
        let choice = ["fail", "cancel", "succeed", "succeed"][(buyer % 4) as usize];
        assert_eq!(app.pay(&payment_url(&answer), choice).0, 303);
        let expected = match choice {
            "fail" => "FAILED",
            "cancel" => "CANCELED",
            _ => "PAID",
        };
        app.wait_for_status(&order_id(&answer), expected, Duration::from_secs(30));
        if expected == "PAID" {
            paid.fetch_add(1, Ordering::Relaxed);
        }
        return expected.into();
    }
    panic!("buyer {buyer} never finished");
}

#[test]
fn events_list_their_classes_with_live_inventory_and_several_events_sell_at_once() {
    let app = TestApp::spawn(&catalog(&[("first", 10, 3), ("second", 20, 0)]));
    checkout_ok(&app, "first", 4);
    checkout_ok(&app, "second", 1);
    let (status, listing) = app.call("GET", "/api/events", None, &[]);
    assert_eq!(status, 200);
    let events = listing["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["slug"], "first");
    let a = &events[0]["classes"][0];
    assert_eq!(
        (
            a["capacity"].as_u64(),
            a["held"].as_u64(),
            a["available"].as_u64()
        ),
        (Some(10), Some(4), Some(6))
    );
    assert_eq!(events[0]["goodies"]["held"], 1);
    assert_eq!(events[1]["classes"][0]["available"], 19);
    assert!(events[1]["goodies"].is_null());
}

#[test]
fn unknown_and_malformed_order_ids_get_404() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 0)]));
    let unknown = format!("{:032x}", 0x1234_5670u128);
    assert_eq!(app.order(&unknown).0, 404);
    let (status, error) = app.order("not-an-order");
    assert_eq!(status, 404);
    assert!(error["error"].is_string());
}

#[test]
fn only_the_buyer_holding_the_payment_link_can_pay() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 0)]));
    let answer = checkout_ok(&app, "show", 1);
    let guessed = format!("{}/mockpay/cs_{}", app.base_url, "0".repeat(32));
    assert_eq!(app.pay(&guessed, "succeed").0, 404);
    let page = ureq::get(&payment_url(&answer))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        page.contains("65.00 EUR") && page.contains("/succeed"),
        "{page}"
    );
    assert_eq!(app.order(&order_id(&answer)).1["status"], "HELD");
}

#[test]
fn accounting_endpoints_exist_only_with_the_benchmark_flag() {
    let body = json!({"event": "show", "class": "A"}).to_string();
    let plain = TestApp::spawn(&catalog(&[("show", 10, 5)]));
    assert_eq!(
        plain.call("POST", "/bench/reserve", Some(&body), &[]).0,
        404
    );
    let options = Options {
        benchmark_endpoints: true,
        ..Options::default()
    };
    let bench = TestApp::spawn_with(&catalog(&[("show", 10, 5)]), options);
    let (status, reserved) = bench.call("POST", "/bench/reserve", Some(&body), &[]);
    assert_eq!(status, 201, "{reserved}");
    assert_eq!(bench.inventory("show", 1).held, 1);
    let commit = json!({"order_id": reserved["order_id"], "event": "show", "class": "A", "goodie": reserved["goodie"]});
    assert_eq!(
        bench
            .call("POST", "/bench/commit", Some(&commit.to_string()), &[])
            .0,
        200
    );
    assert_eq!(bench.inventory("show", 1).sold, 1);
    assert_eq!(bench.goodies("show").sold, 1);
}

#[test]
fn the_server_refuses_to_start_when_tigerbeetle_does_not_answer_and_says_where() {
    let events = common::app::TempFile(
        std::env::temp_dir().join(format!("boxoffice-dead-tb-{}.toml", std::process::id())),
    );
    std::fs::write(&events.0, catalog(&[("show", 10, 0)])).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args([
            "--tb-address",
            "127.0.0.1:9",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--ledger-request-timeout-ms", "300"])
        .args(["--tb-startup-timeout-s", "2"])
        .arg("--events")
        .arg(&events.0)
        .args([
            "--pg-url",
            &common::app::pg_base_url(),
            "--redis-url",
            &common::app::redis_base_url(),
        ])
        .args([
            "--webhook-secret",
            WEBHOOK_SECRET,
            "--secret-key",
            SECRET_KEY,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("127.0.0.1:9") && stderr.contains("tools/stack start"),
        "{stderr}"
    );
}

#[test]
fn the_metrics_endpoint_reports_batch_pipeline_and_group_commit_sizes() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 0)]));
    let answer = checkout_ok(&app, "show", 1);
    app.pay(&payment_url(&answer), "succeed");
    app.wait_for_status(&order_id(&answer), "PAID", Duration::from_secs(10));
    let text = ureq::get(&app.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    for name in [
        "boxoffice_tigerbeetle_requests_total",
        "boxoffice_tigerbeetle_batch_events_max",
        "boxoffice_tigerbeetle_request_seconds_bucket",
        "boxoffice_redis_round_trips_total",
        "boxoffice_postgres_transactions_total",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    assert!(text.contains("boxoffice_postgres_orders_total 1"), "{text}");
}

#[test]
fn the_server_refuses_to_start_without_its_secrets() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["serve", "--events", "/nonexistent.toml"])
        .env_remove("BOXOFFICE_WEBHOOK_SECRET")
        .env_remove("BOXOFFICE_SECRET_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("webhook-secret"), "{stderr}");
    let short = std::process::Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args([
            "serve",
            "--events",
            "/nonexistent.toml",
            "--webhook-secret",
            "short",
            "--secret-key",
            SECRET_KEY,
        ])
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 16 bytes"));
}

fn wait_until(mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met in time"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
