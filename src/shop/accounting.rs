//! Accounting-only endpoints, TigerFans' benchmark phases 3 and 4: the
//! ledger work of a sale without payment sessions or orders.
//!
//! - `POST /bench/reserve` `{event, class}`: a ticket hold and a goodie
//!   hold (phase "reserve");
//! - `POST /bench/commit` `{order_id, event, class, goodie}`: posts both,
//!   linked (phase "commit").
//!
//! They move real inventory, so they exist only when the server is started
//! with `--benchmark-endpoints`; they are off by default.

use serde::Deserialize;

use super::problem::Problem;
use super::Shop;
use crate::http::{Request, Response};
use crate::ids::OrderId;
use crate::ledger::{transfers, HoldMetadata, TransferOutcome};

#[derive(Deserialize)]
struct Reserve {
    event: String,
    class: String,
}

#[derive(Deserialize)]
struct Commit {
    order_id: String,
    event: String,
    class: String,
    goodie: bool,
}

/// How long benchmark holds last: long enough for the commit phase.
const RESERVE_TIMEOUT_S: u32 = 3600;

fn class_of<'a>(
    shop: &'a Shop,
    event: &str,
    class: &str,
) -> Result<(&'a crate::catalog::Event, u16), Problem> {
    let event = shop
        .catalog
        .by_slug(event)
        .ok_or_else(|| Problem::invalid("event", format!("there is no event {event:?}")))?;
    let (index, _) = event
        .class(class)
        .ok_or_else(|| Problem::invalid("class", format!("no ticket class {class:?}")))?;
    Ok((event, index))
}

pub fn reserve(shop: &Shop, request: &Request<'_>) -> Result<Response, Problem> {
    let body: Reserve = serde_json::from_slice(request.body())
        .map_err(|e| Problem::bad_request(format!("the body is not valid: {e}")))?;
    let (event, class) = class_of(shop, &body.event, &body.class)?;
    let order_id = OrderId::generate();
    let metadata = HoldMetadata {
        order_id,
        event: event.ledger(),
        class,
        quantity: 1,
        customer_hash: 0,
    };
    let holds = transfers::order_holds(&metadata, RESERVE_TIMEOUT_S, event.goodies > 0);
    let outcomes = shop.ledger.submit(holds)?;
    if !outcomes[0].is_applied() {
        return Err(Problem::new(409, format!("no hold: {}", outcomes[0])));
    }
    let goodie = outcomes.get(1).is_some_and(|o| o.is_applied());
    Ok(Response::json(
        201,
        &serde_json::json!({ "order_id": order_id.to_string(), "goodie": goodie }),
    ))
}

pub fn commit(shop: &Shop, request: &Request<'_>) -> Result<Response, Problem> {
    let body: Commit = serde_json::from_slice(request.body())
        .map_err(|e| Problem::bad_request(format!("the body is not valid: {e}")))?;
    let (event, class) = class_of(shop, &body.event, &body.class)?;
    let order_id = OrderId::parse(&body.order_id)
        .ok_or_else(|| Problem::invalid("order_id", "not an order id"))?;
    let ledger_id = event.ledger();
    let posts = transfers::order_posts(order_id, ledger_id, class, body.goodie);
    let outcomes = shop.ledger.submit(posts)?;
    match outcomes[0] {
        TransferOutcome::Created | TransferOutcome::AlreadyExists => {
            Ok(Response::json_raw(200, &br#"{"committed":true}"#[..]))
        }
        other => Err(Problem::new(409, format!("not committed: {other}"))),
    }
}
