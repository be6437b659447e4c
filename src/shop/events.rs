//! `GET /api/events`: every event on sale with its classes and live
//! inventory, read from TigerBeetle in one request.

use serde::Serialize;

use super::problem::Problem;
use super::Shop;
use crate::http::Response;
use crate::ledger::Inventory;

#[derive(Serialize)]
struct EventView<'a> {
    slug: &'a str,
    id: u32,
    name: &'a str,
    currency: &'a str,
    classes: Vec<ClassView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    goodies: Option<Inventory>,
}

#[derive(Serialize)]
struct ClassView<'a> {
    code: &'a str,
    name: &'a str,
    price_cents: u64,
    #[serde(flatten)]
    inventory: Inventory,
}

pub fn events(shop: &Shop) -> Result<Response, Problem> {
    let resources: Vec<_> = shop
        .catalog
        .events()
        .iter()
        .flat_map(|event| {
            event
                .capacities()
                .into_iter()
                .map(|(resource, _)| (event.ledger(), resource))
        })
        .collect();
    let mut inventories = shop.ledger.inventories(&resources)?.into_iter();
    let views: Vec<EventView<'_>> = shop
        .catalog
        .events()
        .iter()
        .map(|event| {
            let classes = event
                .classes
                .iter()
                .map(|class| ClassView {
                    code: &class.code,
                    name: &class.name,
                    price_cents: class.price_cents,
                    inventory: inventories.next().expect("one inventory per class"),
                })
                .collect();
            let goodies =
                (event.goodies > 0).then(|| inventories.next().expect("goodies inventory"));
            EventView {
                slug: &event.slug,
                id: event.id,
                name: &event.name,
                currency: &event.currency,
                classes,
                goodies,
            }
        })
        .collect();
    debug_assert!(inventories.next().is_none());
    Ok(Response::json(200, &serde_json::json!({ "events": views })))
}

/// Opens every event of the catalogue in the ledger (idempotent).
pub fn open_all(shop: &Shop) -> Result<(), crate::ledger::LedgerError> {
    for event in shop.catalog.events() {
        shop.ledger
            .open_event(event.ledger(), &event.capacities())?;
    }
    Ok(())
}
