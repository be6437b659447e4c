//! `POST /payments/webhook`: the payment provider's signed result.
//!
//! Order of work, and why it is safe to retry at any point:
//! 1. The signature is checked (401 and nothing changed otherwise).
//! 2. The order's context comes from the Redis payment session or, when
//!    that is gone, from the holds in TigerBeetle (their `user_data`).
//! 3. TigerBeetle settles: success posts the ticket and goodie holds as one
//!    linked chain; an expired hold gets a late booking; no inventory left
//!    means PAID_UNFULFILLED (a refund is owed). Failure or cancel voids.
//!    Every transfer id derives from the order, so a retry answers
//!    `exists` and settles nothing twice.
//! 4. The final order is made durable in PostgreSQL (group commit) and
//!    only then is the webhook answered 2xx. The first recorded outcome
//!    wins; a replay gets the recorded answer.
//!
//! There is no "seen" flag set before the work: a crash between any two
//! steps leaves the provider retrying, and the retry completes the work.

use serde::Serialize;

use super::problem::Problem;
use super::{customer_hash, Shop, FINAL_ORDER_CACHE_TTL_S};
use crate::catalog::Event;
use crate::clock::unix_now_s;
use crate::http::{Request, Response};
use crate::ids::{OrderId, Resource, TransferKind};
use crate::ledger::{transfers, HoldMetadata, TransferOutcome};
use crate::mockpay::{Outcome, PaymentEvent};
use crate::orders::{OrderRecord, OrderStatus, OrderStoreError};
use crate::payment_session::{final_order_key, session_key, PaymentSession};
use crate::signature::SIGNATURE_HEADER;
use crate::tickets::ticket_codes;

/// What the shop knows about an order when its payment result arrives.
pub struct OrderContext<'a> {
    pub order_id: OrderId,
    pub event: &'a Event,
    pub class_index: u16,
    pub quantity: u16,
    pub email: String,
    pub amount_cents: u64,
    pub goodie_held: bool,
}

/// How TigerBeetle settled a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub status: OrderStatus,
    pub goodie: bool,
}

/// The answer to the provider (and to `GET /api/orders/{id}`).
#[derive(Serialize)]
pub struct FinalOrder<'a> {
    pub order_id: String,
    pub status: &'static str,
    pub event: &'a str,
    pub class: &'a str,
    pub quantity: u16,
    pub amount_cents: i64,
    pub currency: &'a str,
    pub goodie: bool,
    pub tickets: &'a [String],
    pub refund_owed: bool,
}

impl<'a> FinalOrder<'a> {
    pub fn of(record: &'a OrderRecord, event_slug: &'a str) -> FinalOrder<'a> {
        FinalOrder {
            order_id: record.order_id.to_string(),
            status: record.status.as_str(),
            event: event_slug,
            class: &record.class_code,
            quantity: record.quantity,
            amount_cents: record.amount_cents,
            currency: &record.currency,
            goodie: record.goodie,
            tickets: &record.ticket_codes,
            refund_owed: record.status == OrderStatus::PaidUnfulfilled,
        }
    }
}

pub fn webhook(shop: &Shop, request: &Request<'_>) -> Result<Response, Problem> {
    let body = request.body();
    shop.config
        .webhook_key
        .verify(request.header(SIGNATURE_HEADER), body, unix_now_s())
        .map_err(|e| Problem::new(401, e.to_string()))?;
    let payment: PaymentEvent = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("the payment event is not valid: {e}")))?;
    let outcome = Outcome::from_event_type(&payment.event_type).ok_or_else(|| {
        Problem::invalid(
            "type",
            format!("unknown event type {:?}", payment.event_type),
        )
    })?;
    let order_id = OrderId::parse(&payment.reference)
        .ok_or_else(|| Problem::invalid("reference", "the reference is not an order id of ours"))?;
    let context = order_context(shop, order_id, &payment)?;
    if payment.amount_cents != context.amount_cents || payment.currency != context.event.currency {
        return Err(Problem::invalid(
            "amount_cents",
            format!(
                "the payment of {} {} does not match the order's {} {}",
                payment.amount_cents,
                payment.currency,
                context.amount_cents,
                context.event.currency
            ),
        ));
    }
    let settlement = match outcome {
        Outcome::Succeeded => settle_paid(shop, &context)?,
        Outcome::Failed => settle_unpaid(shop, &context, OrderStatus::Failed)?,
        Outcome::Canceled => settle_unpaid(shop, &context, OrderStatus::Canceled)?,
    };
    let stored = record(shop, &context, settlement, &payment.id)?;
    let answer = serde_json::to_vec(&FinalOrder::of(&stored, &context.event.slug))
        .expect("a final order serialises");
    // Write-behind cache for status polls; PostgreSQL stays the truth.
    let _ = shop.sessions.put_detached(
        &final_order_key(order_id),
        answer.clone(),
        FINAL_ORDER_CACHE_TTL_S,
    );
    Ok(Response::json_raw(200, answer))
}

/// The order's context from its payment session, or from TigerBeetle when
/// the session is gone (Redis flushed, restarted or expired).
fn order_context<'a>(
    shop: &'a Shop,
    order_id: OrderId,
    payment: &PaymentEvent,
) -> Result<OrderContext<'a>, Problem> {
    if let Ok(Some(bytes)) = shop.sessions.get(&session_key(order_id)) {
        if let Ok(session) = serde_json::from_slice::<PaymentSession>(&bytes) {
            if let Some(context) = context_from_session(shop, order_id, session) {
                return Ok(context);
            }
        }
    }
    context_from_ledger(shop, order_id, payment)
}

fn context_from_session(
    shop: &Shop,
    order_id: OrderId,
    session: PaymentSession,
) -> Option<OrderContext<'_>> {
    let event = shop.catalog.by_id(session.event_id)?;
    event.class_at(session.class_index)?;
    Some(OrderContext {
        order_id,
        event,
        class_index: session.class_index,
        quantity: session.quantity,
        email: session.email,
        amount_cents: session.amount_cents,
        goodie_held: session.goodie_held,
    })
}

fn context_from_ledger<'a>(
    shop: &'a Shop,
    order_id: OrderId,
    payment: &PaymentEvent,
) -> Result<OrderContext<'a>, Problem> {
    let ids = vec![
        order_id.transfer_id(TransferKind::TicketHold),
        order_id.transfer_id(TransferKind::GoodieHold),
    ];
    let holds = shop.ledger.lookup_transfers(ids)?;
    let metadata = holds[0]
        .as_ref()
        .and_then(HoldMetadata::from_transfer)
        .ok_or_else(|| Problem::not_found(format!("there is no order {order_id}")))?;
    let unknown = || {
        Problem::internal(format!(
            "order {order_id} belongs to an event or class no longer on sale"
        ))
    };
    let event = shop.catalog.by_id(metadata.event.0).ok_or_else(unknown)?;
    let class = event.class_at(metadata.class).ok_or_else(unknown)?;
    if customer_hash(&payment.email) != metadata.customer_hash {
        return Err(Problem::invalid(
            "email",
            "the payment's e-mail is not the order's",
        ));
    }
    Ok(OrderContext {
        order_id,
        event,
        class_index: metadata.class,
        quantity: metadata.quantity,
        email: payment.email.clone(),
        amount_cents: class.price_cents * u64::from(metadata.quantity),
        goodie_held: holds[1].is_some(),
    })
}

/// Posts the holds (linked), falling back to the ticket alone when only the
/// goodie failed, and to a late booking when the ticket hold is gone.
fn settle_paid(shop: &Shop, context: &OrderContext<'_>) -> Result<Settlement, Problem> {
    let (event, order) = (context.event.ledger(), context.order_id);
    let ticket = Resource::Class(context.class_index);
    let posts = transfers::order_posts(order, event, context.class_index, context.goodie_held);
    let outcomes = shop.ledger.submit(posts)?;
    let paid = |goodie| {
        Ok(Settlement {
            status: OrderStatus::Paid,
            goodie,
        })
    };
    let ticket_outcome = match outcomes[0] {
        TransferOutcome::Created
        | TransferOutcome::AlreadyExists
        | TransferOutcome::AlreadyPosted => {
            return paid(outcomes.get(1).is_some_and(|o| o.is_applied()));
        }
        // Only the goodie failed (its hold expired or is gone): the tickets
        // are still held, so post them alone.
        TransferOutcome::LinkedEventFailed => shop.ledger.submit_one(transfers::post(
            order,
            event,
            ticket,
            TransferKind::TicketHold,
        ))?,
        other => other,
    };
    match ticket_outcome {
        TransferOutcome::Created
        | TransferOutcome::AlreadyExists
        | TransferOutcome::AlreadyPosted => paid(false),
        TransferOutcome::Expired
        | TransferOutcome::AlreadyVoided
        | TransferOutcome::HoldNotFound => book_late(shop, context),
        other => Err(Problem::internal(format!(
            "the ledger refused the payment of {order}: {other}"
        ))),
    }
}

/// The hold expired before the payment arrived: book the tickets at once if
/// any are left (and a goodie if any is left), else a refund is owed.
fn book_late(shop: &Shop, context: &OrderContext<'_>) -> Result<Settlement, Problem> {
    let metadata = HoldMetadata {
        order_id: context.order_id,
        event: context.event.ledger(),
        class: context.class_index,
        quantity: context.quantity,
        customer_hash: customer_hash(&context.email),
    };
    match shop.ledger.book_tickets_late(&metadata)? {
        TransferOutcome::Created | TransferOutcome::AlreadyExists => {}
        TransferOutcome::SoldOut | TransferOutcome::IdAlreadyFailed => {
            return Ok(Settlement {
                status: OrderStatus::PaidUnfulfilled,
                goodie: false,
            });
        }
        other => {
            return Err(Problem::internal(format!(
                "the ledger refused the late booking of {}: {other}",
                context.order_id
            )))
        }
    }
    let goodie = context.event.goodies > 0
        && shop
            .ledger
            .submit_one(transfers::late_booking(&metadata, Resource::Goodies, 1))?
            .is_applied();
    Ok(Settlement {
        status: OrderStatus::Paid,
        goodie,
    })
}

/// Voids the holds. A hold that is already voided or expired is fine; one
/// already posted means the order was paid, which a failure cannot undo.
fn settle_unpaid(
    shop: &Shop,
    context: &OrderContext<'_>,
    status: OrderStatus,
) -> Result<Settlement, Problem> {
    let (event, order) = (context.event.ledger(), context.order_id);
    let voids = transfers::order_voids(order, event, context.class_index, context.goodie_held);
    let outcomes = shop.ledger.submit(voids)?;
    match outcomes[0] {
        TransferOutcome::Created
        | TransferOutcome::AlreadyExists
        | TransferOutcome::AlreadyVoided
        | TransferOutcome::Expired
        | TransferOutcome::HoldNotFound => Ok(Settlement {
            status,
            goodie: false,
        }),
        TransferOutcome::AlreadyPosted => {
            Err(Problem::new(409, format!("order {order} is already paid")))
        }
        other => Err(Problem::internal(format!(
            "the ledger refused to release {order}: {other}"
        ))),
    }
}

/// Makes the final order durable; answers with the record stored first.
fn record(
    shop: &Shop,
    context: &OrderContext<'_>,
    settlement: Settlement,
    payment_event_id: &str,
) -> Result<OrderRecord, Problem> {
    let class = context
        .event
        .class_at(context.class_index)
        .expect("checked in the context");
    let tickets = match settlement.status {
        OrderStatus::Paid => ticket_codes(context.quantity),
        _ => Vec::new(),
    };
    let order = OrderRecord {
        order_id: context.order_id,
        event_id: context.event.id,
        class_code: class.code.clone(),
        quantity: context.quantity,
        email: context.email.clone(),
        amount_cents: i64::try_from(context.amount_cents).expect("prices are bounded"),
        currency: context.event.currency.clone(),
        status: settlement.status,
        goodie: settlement.goodie,
        ticket_codes: tickets,
        payment_event_id: payment_event_id.to_string(),
        recorded_at: None,
    };
    shop.orders.record(order).map_err(order_store_problem)
}

pub fn order_store_problem(error: OrderStoreError) -> Problem {
    match error {
        OrderStoreError::Overloaded { .. } => Problem::unavailable(error.to_string(), 1),
        // The order broke a rule of the table: retrying cannot help.
        OrderStoreError::Invalid { .. } => Problem::internal(error.to_string()),
        other => Problem::unavailable(format!("orders cannot be recorded right now: {other}"), 5),
    }
}
