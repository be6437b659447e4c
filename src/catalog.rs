//! The catalogue: events and their ticket classes, read from a TOML file.
//!
//! Each event has a TigerBeetle ledger of its own (its `id`), so several
//! events can be on sale at once without any transfer crossing between
//! them. A class is addressed by its 1-based position in the event, which
//! is the [`Resource::Class`] index of its accounts: reordering classes in
//! the file would point them at other accounts, so the file is the
//! contract and positions must stay stable once an event is on sale.
//!
//! ```toml
//! [[events]]
//! id = 1
//! slug = "tigerfans"
//! name = "TigerFans live"
//! currency = "EUR"
//! goodies = 100
//!
//! [[events.classes]]
//! code = "A"
//! name = "Premium"
//! price_cents = 6500
//! capacity = 1000000
//! ```

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::ids::{EventId, Resource};

/// Capacities are funded in TigerBeetle with 48-bit ids per target.
const CAPACITY_MAX: u64 = (1 << 48) - 1;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("could not read the events file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the events file is not valid TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("events file: {0}")]
    Invalid(String),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The event's TigerBeetle ledger; never 0, never reused.
    pub id: u32,
    /// The name buyers and the API use for the event.
    pub slug: String,
    pub name: String,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// Goodies for the first paid orders (one per order).
    #[serde(default)]
    pub goodies: u64,
    pub classes: Vec<TicketClass>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketClass {
    pub code: String,
    pub name: String,
    pub price_cents: u64,
    pub capacity: u64,
}

impl Event {
    pub fn ledger(&self) -> EventId {
        EventId(self.id)
    }

    /// The class with `code` and its 1-based index.
    pub fn class(&self, code: &str) -> Option<(u16, &TicketClass)> {
        self.classes
            .iter()
            .position(|class| class.code == code)
            .map(|position| (class_index(position), &self.classes[position]))
    }

    /// The class at a 1-based index (as stored in TigerBeetle).
    pub fn class_at(&self, index: u16) -> Option<&TicketClass> {
        self.classes.get(usize::from(index).checked_sub(1)?)
    }

    /// Every resource of the event with its capacity, for opening it in the
    /// ledger. The goodies pool is included only when there are goodies.
    pub fn capacities(&self) -> Vec<(Resource, u64)> {
        let mut capacities: Vec<(Resource, u64)> = self
            .classes
            .iter()
            .enumerate()
            .map(|(position, class)| (Resource::Class(class_index(position)), class.capacity))
            .collect();
        if self.goodies > 0 {
            capacities.push((Resource::Goodies, self.goodies));
        }
        capacities
    }
}

fn class_index(position: usize) -> u16 {
    u16::try_from(position + 1).expect("class count is validated")
}

/// All events on sale, validated.
#[derive(Clone, Debug)]
pub struct Catalog {
    events: Vec<Event>,
    by_slug: HashMap<String, usize>,
    by_id: HashMap<u32, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    events: Vec<Event>,
}

impl Catalog {
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Catalog::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text)?;
        Catalog::new(file.events)
    }

    pub fn new(events: Vec<Event>) -> Result<Catalog, CatalogError> {
        if events.is_empty() {
            return Err(CatalogError::Invalid("no events".into()));
        }
        let mut by_slug = HashMap::new();
        let mut by_id = HashMap::new();
        for (position, event) in events.iter().enumerate() {
            validate_event(event)?;
            if by_slug.insert(event.slug.clone(), position).is_some() {
                return Err(invalid(format!(
                    "two events have the slug {:?}",
                    event.slug
                )));
            }
            if by_id.insert(event.id, position).is_some() {
                return Err(invalid(format!("two events have the id {}", event.id)));
            }
        }
        Ok(Catalog {
            events,
            by_slug,
            by_id,
        })
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn by_slug(&self, slug: &str) -> Option<&Event> {
        self.by_slug
            .get(slug)
            .map(|&position| &self.events[position])
    }

    pub fn by_id(&self, id: u32) -> Option<&Event> {
        self.by_id.get(&id).map(|&position| &self.events[position])
    }
}

fn invalid(message: String) -> CatalogError {
    CatalogError::Invalid(message)
}

fn validate_event(event: &Event) -> Result<(), CatalogError> {
    let name = &event.slug;
    if event.id == 0 {
        return Err(invalid(format!(
            "event {name:?}: id 0 is reserved by TigerBeetle"
        )));
    }
    let slug_ok = !event.slug.is_empty()
        && event.slug.len() <= 64
        && event
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok {
        return Err(invalid(format!(
            "event slug {name:?} must be 1 to 64 of a-z, 0-9 and -"
        )));
    }
    let currency_ok =
        event.currency.len() == 3 && event.currency.bytes().all(|b| b.is_ascii_uppercase());
    if !currency_ok {
        return Err(invalid(format!(
            "event {name:?}: currency {:?} is not an ISO 4217 code",
            event.currency
        )));
    }
    if event.goodies > CAPACITY_MAX {
        return Err(invalid(format!("event {name:?}: too many goodies")));
    }
    if event.classes.is_empty() || event.classes.len() >= usize::from(u16::MAX) {
        return Err(invalid(format!(
            "event {name:?} needs 1 to 65534 ticket classes"
        )));
    }
    let mut codes = HashSet::new();
    for class in &event.classes {
        validate_class(name, class)?;
        if !codes.insert(class.code.as_str()) {
            return Err(invalid(format!(
                "event {name:?}: two classes have the code {:?}",
                class.code
            )));
        }
    }
    Ok(())
}

fn validate_class(event: &str, class: &TicketClass) -> Result<(), CatalogError> {
    let code_ok = !class.code.is_empty()
        && class.code.len() <= 16
        && class
            .code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !code_ok {
        return Err(invalid(format!(
            "event {event:?}: class code {:?} must be 1 to 16 of A-Z, a-z, 0-9, - and _",
            class.code
        )));
    }
    if class.price_cents == 0 || class.price_cents > i64::MAX as u64 / 100_000 {
        return Err(invalid(format!(
            "event {event:?} class {}: price out of range",
            class.code
        )));
    }
    if class.capacity == 0 || class.capacity > CAPACITY_MAX {
        return Err(invalid(format!(
            "event {event:?} class {}: capacity must be 1 to {CAPACITY_MAX}",
            class.code
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = r#"
        [[events]]
        id = 1
        slug = "tigerfans"
        name = "TigerFans live"
        currency = "EUR"
        goodies = 100
        [[events.classes]]
        code = "A"
        name = "Premium"
        price_cents = 6500
        capacity = 1000
        [[events.classes]]
        code = "B"
        name = "Standard"
        price_cents = 3500
        capacity = 2000
    "#;

    #[test]
    fn the_demo_catalogue_parses_with_classes_in_file_order() {
        let catalog = Catalog::parse(DEMO).unwrap();
        let event = catalog.by_slug("tigerfans").unwrap();
        assert_eq!(event.class("B").unwrap().0, 2);
        assert_eq!(event.class_at(1).unwrap().code, "A");
        assert!(event.class_at(0).is_none() && event.class_at(3).is_none());
        assert_eq!(
            event.capacities(),
            vec![
                (Resource::Class(1), 1000),
                (Resource::Class(2), 2000),
                (Resource::Goodies, 100)
            ]
        );
        assert_eq!(catalog.by_id(1).unwrap().slug, "tigerfans");
    }

    #[test]
    fn a_catalogue_with_duplicate_classes_or_a_bad_currency_is_refused() {
        let duplicate = DEMO.replace("code = \"B\"", "code = \"A\"");
        assert!(matches!(
            Catalog::parse(&duplicate),
            Err(CatalogError::Invalid(_))
        ));
        let currency = DEMO.replace("EUR", "euro");
        assert!(matches!(
            Catalog::parse(&currency),
            Err(CatalogError::Invalid(_))
        ));
        let unknown_field = DEMO.replace("goodies = 100", "goodies = 100\ncolour = 1");
        assert!(matches!(
            Catalog::parse(&unknown_field),
            Err(CatalogError::Parse(_))
        ));
    }
}
