//! `GET /api/orders/{id}`: where an order stands.
//!
//! Final orders (PAID, PAID_UNFULFILLED, FAILED, CANCELED) are answered from
//! the Redis cache the webhook fills, else from PostgreSQL, the truth.
//! Orders not final yet are HELD while their hold lasts and EXPIRED after;
//! that comes from the Redis payment session or, when it is gone, from the
//! hold in TigerBeetle. Unknown ids get 404.

use serde::Serialize;

use super::problem::Problem;
use super::webhook::{order_store_problem, FinalOrder};
use super::{Shop, FINAL_ORDER_CACHE_TTL_S};
use crate::clock::{rfc3339, unix_now_s};
use crate::http::Response;
use crate::ids::{OrderId, TransferKind};
use crate::ledger::HoldMetadata;
use crate::payment_session::{final_order_key, session_key, PaymentSession};

#[derive(Serialize)]
struct PendingOrder<'a> {
    order_id: String,
    status: &'static str,
    event: &'a str,
    class: &'a str,
    quantity: u16,
    amount_cents: u64,
    currency: &'a str,
    hold_expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_url: Option<&'a str>,
}

pub fn order_status(shop: &Shop, id: &str) -> Result<Response, Problem> {
    let unknown = || Problem::not_found(format!("there is no order {id:?}"));
    let order_id = OrderId::parse(id).ok_or_else(unknown)?;
    if let Ok(Some(cached)) = shop.sessions.get(&final_order_key(order_id)) {
        return Ok(Response::json_raw(200, cached));
    }
    if let Some(record) = shop.orders.find(order_id).map_err(order_store_problem)? {
        let slug = shop
            .catalog
            .by_id(record.event_id)
            .map_or("", |e| e.slug.as_str());
        let answer = serde_json::to_vec(&FinalOrder::of(&record, slug)).expect("serialises");
        let _ = shop.sessions.put_detached(
            &final_order_key(order_id),
            answer.clone(),
            FINAL_ORDER_CACHE_TTL_S,
        );
        return Ok(Response::json_raw(200, answer));
    }
    if let Ok(Some(bytes)) = shop.sessions.get(&session_key(order_id)) {
        if let Ok(session) = serde_json::from_slice::<PaymentSession>(&bytes) {
            return Ok(pending_from_session(shop, &session));
        }
    }
    pending_from_ledger(shop, order_id)?.ok_or_else(unknown)
}

fn held_or_expired(hold_expires_at_s: u64) -> &'static str {
    if unix_now_s() < hold_expires_at_s {
        "HELD"
    } else {
        "EXPIRED"
    }
}

fn pending_from_session(shop: &Shop, session: &PaymentSession) -> Response {
    let slug = shop
        .catalog
        .by_id(session.event_id)
        .map_or("", |e| e.slug.as_str());
    Response::json(
        200,
        &PendingOrder {
            order_id: session.order_id.clone(),
            status: held_or_expired(session.hold_expires_at_s),
            event: slug,
            class: &session.class_code,
            quantity: session.quantity,
            amount_cents: session.amount_cents,
            currency: &session.currency,
            hold_expires_at: rfc3339(session.hold_expires_at_s),
            payment_url: Some(&session.payment_url),
        },
    )
}

fn pending_from_ledger(shop: &Shop, order_id: OrderId) -> Result<Option<Response>, Problem> {
    let hold_id = order_id.transfer_id(TransferKind::TicketHold);
    let Some(hold) = shop.ledger.lookup_transfers(vec![hold_id])?[0] else {
        return Ok(None);
    };
    let Some(metadata) = HoldMetadata::from_transfer(&hold) else {
        return Ok(None);
    };
    let Some(event) = shop.catalog.by_id(metadata.event.0) else {
        return Ok(None);
    };
    let Some(class) = event.class_at(metadata.class) else {
        return Ok(None);
    };
    let created_s = hold
        .timestamp()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let hold_expires_at_s = created_s + u64::from(hold.timeout());
    Ok(Some(Response::json(
        200,
        &PendingOrder {
            order_id: order_id.to_string(),
            status: held_or_expired(hold_expires_at_s),
            event: &event.slug,
            class: &class.code,
            quantity: metadata.quantity,
            amount_cents: class.price_cents * u64::from(metadata.quantity),
            currency: &event.currency,
            hold_expires_at: rfc3339(hold_expires_at_s),
            payment_url: None,
        },
    )))
}
