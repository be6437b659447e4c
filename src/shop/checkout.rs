//! `POST /api/checkout`: hold tickets and open a payment.
//!
//! Body: `{"event": "tigerfans", "class": "A", "quantity": 2, "email": "..."}`.
//! Answers 201 with the order id, the payment URL, the amount and when the
//! hold expires. Every check happens before anything is held, so a bad
//! request changes nothing.
//!
//! With an `Idempotency-Key` header the order id is derived from the key,
//! so a retry (even a concurrent one, even after Redis lost the key) finds
//! the first attempt's hold in TigerBeetle (`exists`) instead of holding
//! twice; the first answer is kept in Redis and replayed to a retry with
//! the same body. The same key with another body is refused.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::problem::Problem;
use super::{customer_hash, Shop};
use crate::catalog::{Event, TicketClass};
use crate::clock::{rfc3339, unix_now_s};
use crate::http::{Request, Response};
use crate::ids::{OrderId, Resource, TransferKind};
use crate::ledger::{transfers, HoldMetadata, TransferOutcome};
use crate::mockpay::CreateSession;
use crate::payment_session::{idempotency_key, session_key, PaymentSession};

/// RFC 5321 bounds on an address.
const EMAIL_BYTES_MAX: usize = 254;
const EMAIL_LOCAL_BYTES_MAX: usize = 64;
const IDEMPOTENCY_KEY_BYTES_MAX: usize = 255;
/// How long an idempotency key's first answer is replayed.
const IDEMPOTENCY_TTL_S: u64 = 24 * 3600;
/// The payment session outlives the hold a little, for late webhooks.
const SESSION_TTL_GRACE_S: u64 = 600;

/// A checkout that passed every check.
pub struct Checkout<'a> {
    pub event: &'a Event,
    pub class_index: u16,
    pub class: &'a TicketClass,
    pub quantity: u16,
    pub email: String,
}

impl Checkout<'_> {
    pub fn amount_cents(&self) -> u64 {
        self.class.price_cents * u64::from(self.quantity)
    }
}

#[derive(Serialize, Deserialize)]
pub struct CheckoutAnswer {
    pub order_id: String,
    pub payment_url: String,
    pub amount: u64,
    pub currency: String,
    pub hold_expires_at: String,
}

/// What Redis keeps per idempotency key.
#[derive(Serialize, Deserialize)]
struct IdempotentAnswer {
    body_sha256: String,
    answer: CheckoutAnswer,
}

pub fn checkout(shop: &Shop, request: &Request<'_>) -> Result<Response, Problem> {
    let key = idempotency_key_of(request)?;
    let body_sha256 = hex::encode(Sha256::digest(request.body()));
    if let Some(key) = key {
        if let Some(answer) = replay(shop, key, &body_sha256)? {
            return Ok(Response::json(201, &answer));
        }
    }
    let checkout = parse(shop, request.body())?;
    let order_id = match key {
        // The body is part of the seed: the same key with another body is a
        // different order, never a conflicting hold under one id.
        Some(key) => OrderId::from_seed(shop.seed("checkout", &format!("{key}\0{body_sha256}"))),
        None => OrderId::generate(),
    };
    let goodie_held = place_holds(shop, &checkout, order_id)?;
    let answer = open_payment(shop, &checkout, order_id, goodie_held)?;
    if let Some(key) = key {
        remember(shop, key, body_sha256, &answer);
    }
    Ok(Response::json(201, &answer))
}

fn idempotency_key_of<'a>(request: &Request<'a>) -> Result<Option<&'a str>, Problem> {
    let Some(key) = request.header("Idempotency-Key") else {
        return Ok(None);
    };
    let valid = !key.is_empty()
        && key.len() <= IDEMPOTENCY_KEY_BYTES_MAX
        && key.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(Problem::bad_request(format!(
            "the Idempotency-Key header must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters"
        )));
    }
    Ok(Some(key))
}

/// The first answer given under `key`, if Redis still has it. A lost key
/// is not an error: the derived order id keeps the retry safe anyway.
fn replay(shop: &Shop, key: &str, body_sha256: &str) -> Result<Option<CheckoutAnswer>, Problem> {
    let Ok(Some(stored)) = shop.sessions.get(&idempotency_key(key)) else {
        return Ok(None);
    };
    let Ok(stored) = serde_json::from_slice::<IdempotentAnswer>(&stored) else {
        return Ok(None);
    };
    if stored.body_sha256 != body_sha256 {
        return Err(Problem::new(
            422,
            "this Idempotency-Key was used with a different body; use a new key for a new checkout",
        ));
    }
    Ok(Some(stored.answer))
}

fn remember(shop: &Shop, key: &str, body_sha256: String, answer: &CheckoutAnswer) {
    let stored = IdempotentAnswer {
        body_sha256,
        answer: CheckoutAnswer {
            order_id: answer.order_id.clone(),
            payment_url: answer.payment_url.clone(),
            amount: answer.amount,
            currency: answer.currency.clone(),
            hold_expires_at: answer.hold_expires_at.clone(),
        },
    };
    let value = serde_json::to_vec(&stored).expect("an answer serialises");
    // The first answer wins; a concurrent retry derived the same order.
    if let Err(error) = shop
        .sessions
        .put_if_absent(&idempotency_key(key), value, IDEMPOTENCY_TTL_S)
    {
        eprintln!("boxoffice: could not keep idempotency key in Redis: {error}");
    }
}

/// Reads and checks the body; nothing is held before this succeeds.
pub fn parse<'a>(shop: &'a Shop, body: &[u8]) -> Result<Checkout<'a>, Problem> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| Problem::bad_request("the body must be a JSON object"))?;
    let event_slug = string_field(object, "event")?;
    let event = shop
        .catalog
        .by_slug(event_slug)
        .ok_or_else(|| Problem::invalid("event", format!("there is no event {event_slug:?}")))?;
    let class_code = string_field(object, "class")?;
    let (class_index, class) = event.class(class_code).ok_or_else(|| {
        Problem::invalid(
            "class",
            format!("event {event_slug:?} has no ticket class {class_code:?}"),
        )
    })?;
    let quantity = quantity_field(object, shop.config.tickets_per_order_max)?;
    let email = string_field(object, "email")?;
    validate_email(email).map_err(|reason| Problem::invalid("email", reason))?;
    Ok(Checkout {
        event,
        class_index,
        class,
        quantity,
        email: email.to_string(),
    })
}

fn string_field<'a>(
    object: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, Problem> {
    match object.get(field) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(Problem::invalid(field, format!("{field} must be a string"))),
        None => Err(Problem::invalid(field, format!("{field} is required"))),
    }
}

fn quantity_field(object: &Map<String, Value>, quantity_max: u16) -> Result<u16, Problem> {
    let message = format!("quantity must be a whole number from 1 to {quantity_max}");
    let quantity = match object.get("quantity") {
        Some(Value::Number(number)) => number.as_u64(),
        Some(_) => None,
        None => return Err(Problem::invalid("quantity", "quantity is required")),
    };
    match quantity {
        Some(quantity) if (1..=u64::from(quantity_max)).contains(&quantity) => {
            Ok(u16::try_from(quantity).expect("bounded by quantity_max"))
        }
        _ => Err(Problem::invalid("quantity", message)),
    }
}

/// A plain check of the address's shape (RFC 5321 lengths, one `@`, a
/// dotted domain, no spaces or control characters). Whether it receives
/// mail is the payment provider's concern.
pub fn validate_email(email: &str) -> Result<(), &'static str> {
    if email.len() > EMAIL_BYTES_MAX {
        return Err("email is longer than 254 characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("email must contain an @");
    };
    let local_ok = !local.is_empty()
        && local.len() <= EMAIL_LOCAL_BYTES_MAX
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.');
    if !local_ok {
        return Err("email has an invalid part before the @");
    }
    let labels_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !labels_ok {
        return Err("email has an invalid domain");
    }
    Ok(())
}

/// The ticket hold and (while goodies remain) a goodie hold, in one
/// request. They are not linked: running out of goodies must not stop a
/// ticket sale. If the tickets are sold out, a goodie hold just placed is
/// voided at once. Returns whether a goodie is held.
pub fn place_holds(
    shop: &Shop,
    checkout: &Checkout<'_>,
    order_id: OrderId,
) -> Result<bool, Problem> {
    let metadata = HoldMetadata {
        order_id,
        event: checkout.event.ledger(),
        class: checkout.class_index,
        quantity: checkout.quantity,
        customer_hash: customer_hash(&checkout.email),
    };
    let holds = transfers::order_holds(
        &metadata,
        shop.config.hold_timeout_s,
        checkout.event.goodies > 0,
    );
    let outcomes = shop.ledger.submit(holds)?;
    let goodie_held = outcomes.get(1).is_some_and(|o| o.is_applied());
    match outcomes[0] {
        TransferOutcome::Created | TransferOutcome::AlreadyExists => Ok(goodie_held),
        TransferOutcome::SoldOut | TransferOutcome::IdAlreadyFailed => {
            if goodie_held {
                let void = transfers::void(
                    order_id,
                    metadata.event,
                    Resource::Goodies,
                    TransferKind::GoodieHold,
                );
                let _ = shop.ledger.submit_one(void);
            }
            Err(sold_out(shop, checkout))
        }
        TransferOutcome::ExistsWithDifferentFields(_) => Err(Problem::new(
            422,
            "this Idempotency-Key belongs to another order; use a new key for a new checkout",
        )),
        other => Err(Problem::internal(format!(
            "the ledger refused the hold: {other}"
        ))),
    }
}

fn sold_out(shop: &Shop, checkout: &Checkout<'_>) -> Problem {
    let mut problem = Problem::new(
        409,
        format!(
            "not enough {} tickets left for {} (asked for {})",
            checkout.class.code, checkout.event.slug, checkout.quantity
        ),
    )
    .with_hint(format!(
        "tickets held by other buyers are released if not paid within {} s; try again later",
        shop.config.hold_timeout_s
    ));
    problem.field = Some("quantity");
    problem.retry_after_s = Some(30);
    problem
}

/// Opens the payment at the provider and keeps the payment session.
fn open_payment(
    shop: &Shop,
    checkout: &Checkout<'_>,
    order_id: OrderId,
    goodie_held: bool,
) -> Result<CheckoutAnswer, Problem> {
    let timeout_s = u64::from(shop.config.hold_timeout_s);
    let hold_expires_at_s = unix_now_s() + timeout_s;
    let created = shop
        .provider
        .create_session(CreateSession {
            reference: order_id.to_string(),
            amount_cents: checkout.amount_cents(),
            currency: checkout.event.currency.clone(),
            email: checkout.email.clone(),
            success_url: format!("{}/orders/{order_id}", shop.config.public_url),
            cancel_url: format!("{}/?event={}", shop.config.public_url, checkout.event.slug),
            expires_in_s: timeout_s + SESSION_TTL_GRACE_S,
        })
        .map_err(|e| Problem::unavailable(e.to_string(), 5))?;
    let session = PaymentSession {
        order_id: order_id.to_string(),
        event_id: checkout.event.id,
        class_code: checkout.class.code.clone(),
        class_index: checkout.class_index,
        quantity: checkout.quantity,
        email: checkout.email.clone(),
        amount_cents: checkout.amount_cents(),
        currency: checkout.event.currency.clone(),
        goodie_held,
        payment_url: created.payment_url.clone(),
        hold_expires_at_s,
    };
    let value = serde_json::to_vec(&session).expect("a session serialises");
    // Ephemeral by design: without it the webhook reads the hold back from
    // TigerBeetle, so a Redis failure does not fail the checkout.
    if let Err(error) = shop.sessions.put(
        &session_key(order_id),
        value,
        timeout_s + SESSION_TTL_GRACE_S,
    ) {
        eprintln!("boxoffice: payment session of {order_id} not stored in Redis: {error}");
    }
    Ok(CheckoutAnswer {
        order_id: order_id.to_string(),
        payment_url: created.payment_url,
        amount: checkout.amount_cents(),
        currency: checkout.event.currency.clone(),
        hold_expires_at: rfc3339(hold_expires_at_s),
    })
}

#[cfg(test)]
mod tests {
    use super::validate_email;

    #[test]
    fn plausible_addresses_pass_and_malformed_ones_are_named() {
        for good in [
            "a@example.com",
            "first.last+tag@mail.example.org",
            "x_y@a-b.co",
        ] {
            assert_eq!(validate_email(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@ex..com",
            ".a@example.com",
            "a@-x.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
