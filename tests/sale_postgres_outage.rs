//! PostgreSQL stopped while a payment arrives: the webhook answers 503,
//! the provider keeps retrying, and the order is PAID once PostgreSQL is
//! back. In a file of its own so that stopping PostgreSQL cannot disturb
//! the other tests (test files run one after another).

mod common;

use std::process::Command;
use std::time::Duration;

use common::app::{catalog, now_s, TestApp, WEBHOOK_SECRET};
use serde_json::json;

fn stack(action: &str) {
    let stack = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/stack");
    let status = Command::new(stack)
        .args([action, "postgres"])
        .status()
        .unwrap();
    assert!(status.success(), "tools/stack {action} postgres failed");
}

/// Restarts PostgreSQL even when the test fails half-way.
struct RestartOnDrop;

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        stack("start");
    }
}

#[test]
fn a_payment_while_postgres_is_down_gets_503_then_completes_after_the_restart() {
    let app = TestApp::spawn(&catalog(&[("show", 10, 5)]));
    let (status, answer) = app.checkout("show", "A", 1, "buyer@example.com");
    assert_eq!(status, 201, "{answer}");
    let order_id = answer["order_id"].as_str().unwrap().to_string();
    let payment_url = answer["payment_url"].as_str().unwrap().to_string();

    let guard = RestartOnDrop;
    stack("stop");
    // Our own signed webhook sees the 503 the provider sees.
    let session = payment_url.rsplit('/').next().unwrap();
    let body = json!({
        "id": format!("evt_{}_payment.succeeded", &session[3..]), "type": "payment.succeeded",
        "session": session, "reference": order_id, "amount_cents": 6500,
        "currency": "EUR", "email": "buyer@example.com", "created": now_s(),
    })
    .to_string();
    let (status, error) = app.signed_webhook(&body, WEBHOOK_SECRET, now_s());
    assert_eq!(status, 503, "{error}");
    // The buyer pays; the provider's inline attempts fail and it goes on
    // retrying in the background while the buyer is sent to the order page.
    let (status, location) = app.pay(&payment_url, "succeed");
    assert_eq!(status, 303);
    assert!(location.unwrap().ends_with(&order_id));
    assert_eq!(
        app.order(&order_id).0,
        503,
        "order status is unknown while PostgreSQL is down"
    );

    drop(guard);
    let order = app.wait_for_status(&order_id, "PAID", Duration::from_secs(60));
    assert_eq!(order["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(app.inventory("show", 1).sold, 1);
}
