//! Identifiers: how every account and transfer id is derived.
//!
//! TigerBeetle ids are the idempotency keys of the ledger, so every id here
//! is a pure function of domain facts. A restarted process derives the same
//! account ids for the same event, and a retried post or void derives the
//! same transfer id as the first attempt, which TigerBeetle answers with
//! `exists` instead of doing the work twice.
//!
//! Layout of an order id: 124 bits (see [`OrderId::generate`]) over 4 zero
//! bits. Each transfer that belongs to the
//! order sets those 4 bits to its [`TransferKind`], so the ticket hold, the
//! goodie hold, their posts, voids and late bookings are all found from the
//! order id alone.

use std::fmt;

/// Top 16 bits of every account id of ours, so that a foreign account on the
/// same cluster is never mistaken for one of ours.
const ACCOUNT_ID_TAG: u128 = 0xB0C5;
/// Top 16 bits of every funding transfer id.
const FUNDING_ID_TAG: u128 = 0xF0DE;
/// Bits of an order id reserved for the [`TransferKind`].
const KIND_MASK: u128 = 0xF;

/// A TigerBeetle ledger number: one per event, so that no transfer can ever
/// move tickets between two events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub u32);

/// What an account counts: the tickets of one class, or the goodies pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Ticket class by its 1-based position in the event's catalogue.
    Class(u16),
    /// The event's goodies, granted to the first paid orders.
    Goodies,
}

impl Resource {
    const GOODIES_CODE: u16 = u16::MAX;

    /// The 16-bit code stored in ids and in `user_data_32`.
    pub fn code(self) -> u16 {
        match self {
            Resource::Class(index) => {
                assert!(
                    (1..Self::GOODIES_CODE).contains(&index),
                    "class index {index}"
                );
                index
            }
            Resource::Goodies => Self::GOODIES_CODE,
        }
    }

    /// The inverse of [`Resource::code`]; `None` for code 0.
    pub fn from_code(code: u16) -> Option<Resource> {
        match code {
            0 => None,
            Self::GOODIES_CODE => Some(Resource::Goodies),
            index => Some(Resource::Class(index)),
        }
    }
}

/// The three accounts of a resource, as in double-entry ticketing: the
/// operator issues the capacity into the budget; holds and sales move units
/// from the budget to spent. The budget may never go below zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Role {
    Operator = 1,
    Budget = 2,
    Spent = 3,
}

/// Deterministic account id of (event, resource, role).
pub fn account_id(event: EventId, resource: Resource, role: Role) -> u128 {
    (ACCOUNT_ID_TAG << 112)
        | (u128::from(event.0) << 64)
        | (u128::from(resource.code()) << 16)
        | u128::from(role as u16)
}

/// Deterministic id of the transfer that raises a resource's funded capacity
/// to `capacity_total`. Re-running start-up with the same configuration
/// derives the same id, and TigerBeetle answers `exists`: never funded twice.
pub fn funding_transfer_id(event: EventId, resource: Resource, capacity_total: u64) -> u128 {
    assert!(
        capacity_total < (1 << 48),
        "capacity {capacity_total} too large"
    );
    (FUNDING_ID_TAG << 112)
        | (u128::from(event.0) << 64)
        | (u128::from(resource.code()) << 48)
        | u128::from(capacity_total)
}

/// The transfers one order may cause; the low 4 bits of their ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TransferKind {
    TicketHold = 1,
    GoodieHold = 2,
    TicketPost = 3,
    GoodiePost = 4,
    TicketVoid = 5,
    GoodieVoid = 6,
    TicketLateBooking = 7,
    GoodieLateBooking = 8,
}

/// An order's id: also the root of every transfer id of that order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(u128);

impl OrderId {
    /// A fresh order id: 48 bits of milliseconds (so ids are roughly time
    /// ordered, which TigerBeetle's LSM tree likes) over 76 bits from a
    /// cryptographic generator (so an order id cannot be guessed from
    /// another: it is what a buyer uses to see their tickets).
    pub fn generate() -> OrderId {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis();
        let random = rand::random::<u128>() & ((1 << 76) - 1);
        let id = ((now_ms & ((1 << 48) - 1)) << 76) | random;
        OrderId((id << 4).max(1 << 4))
    }

    /// The order id for a checkout retried under an idempotency key: the
    /// same `seed` (a keyed hash of the key) always gives the same order, so
    /// a retry finds the hold of the first attempt.
    pub fn from_seed(seed: [u8; 16]) -> OrderId {
        let id = u128::from_be_bytes(seed) >> 4;
        OrderId((id << 4).max(1 << 4))
    }

    /// Rebuilds an order id read back from TigerBeetle or from a client.
    /// `None` if the value cannot be one of ours.
    pub fn from_u128(value: u128) -> Option<OrderId> {
        (value & KIND_MASK == 0 && value != 0).then_some(OrderId(value))
    }

    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// The id of this order's transfer of `kind`.
    pub fn transfer_id(self, kind: TransferKind) -> u128 {
        self.0 | u128::from(kind as u8)
    }

    /// The order a transfer id belongs to (for any of our order transfers).
    pub fn of_transfer(transfer_id: u128) -> OrderId {
        OrderId(transfer_id & !KIND_MASK)
    }

    /// Parses the 32-digit lowercase hex form used in URLs and JSON.
    pub fn parse(text: &str) -> Option<OrderId> {
        if text.len() != 32 {
            return None;
        }
        u128::from_str_radix(text, 16)
            .ok()
            .and_then(OrderId::from_u128)
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrderId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_differ_by_event_resource_and_role() {
        let event = EventId(7);
        let a = account_id(event, Resource::Class(1), Role::Budget);
        assert_ne!(a, account_id(EventId(8), Resource::Class(1), Role::Budget));
        assert_ne!(a, account_id(event, Resource::Class(2), Role::Budget));
        assert_ne!(a, account_id(event, Resource::Goodies, Role::Budget));
        assert_ne!(a, account_id(event, Resource::Class(1), Role::Spent));
        assert_eq!(a, account_id(event, Resource::Class(1), Role::Budget));
    }

    #[test]
    fn transfer_ids_lead_back_to_their_order() {
        let order = OrderId::generate();
        let hold = order.transfer_id(TransferKind::TicketHold);
        let post = order.transfer_id(TransferKind::TicketPost);
        assert_ne!(hold, post);
        assert_eq!(OrderId::of_transfer(hold), order);
        assert_eq!(OrderId::of_transfer(post), order);
    }

    #[test]
    fn order_ids_round_trip_through_text() {
        let order = OrderId::generate();
        assert_eq!(OrderId::parse(&order.to_string()), Some(order));
        assert_eq!(OrderId::parse("not an id"), None);
        assert_eq!(
            OrderId::parse(&format!("{:032x}", order.as_u128() | 1)),
            None
        );
    }

    #[test]
    fn resource_codes_round_trip() {
        for resource in [Resource::Class(1), Resource::Class(300), Resource::Goodies] {
            assert_eq!(Resource::from_code(resource.code()), Some(resource));
        }
        assert_eq!(Resource::from_code(0), None);
    }
}
