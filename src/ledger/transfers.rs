//! The transfers of the ticket model, built from domain facts.
//!
//! A hold is a pending transfer budget → spent with a timeout: TigerBeetle
//! itself releases it when the buyer does not pay. Paying posts it, failing
//! or cancelling voids it, and paying after expiry books the tickets with an
//! immediate transfer if any are left.
//!
//! Every hold carries its order's metadata in `user_data`, so that the
//! ledger alone can say what a hold belongs to, even when the payment
//! session in Redis is gone:
//! - `user_data_128`: the order id;
//! - `user_data_64`: a hash of the customer (e-mail), never the e-mail;
//! - `user_data_32`: the ticket class code (low 16 bits) and the quantity
//!   (high 16 bits).

use tigerbeetle_unofficial::transfer::Flags;
use tigerbeetle_unofficial::Transfer;

use crate::ids::{account_id, EventId, OrderId, Resource, Role, TransferKind};

/// Transfer codes (TigerBeetle's "why" of a transfer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum TransferCode {
    Funding = 1,
    Hold = 2,
    LateBooking = 3,
}

/// Post a pending transfer's full amount (`AMOUNT_MAX` in 0.16).
const AMOUNT_POST_FULL: u128 = u128::MAX;

/// What a hold belongs to; stored in the hold's `user_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldMetadata {
    pub order_id: OrderId,
    pub event: EventId,
    /// The ticket class (for a goodie hold: the class of the order's
    /// tickets, so that both holds tell the same story).
    pub class: u16,
    pub quantity: u16,
    pub customer_hash: u64,
}

impl HoldMetadata {
    /// Reads the metadata back from a hold found in TigerBeetle.
    /// `None` if the transfer is not one of our holds.
    pub fn from_transfer(transfer: &Transfer) -> Option<HoldMetadata> {
        let order_id = OrderId::from_u128(transfer.user_data_128())?;
        if transfer.code() != TransferCode::Hold as u16 {
            return None;
        }
        let packed = transfer.user_data_32();
        Some(HoldMetadata {
            order_id,
            event: EventId(transfer.ledger()),
            class: (packed & 0xFFFF) as u16,
            quantity: (packed >> 16) as u16,
            customer_hash: transfer.user_data_64(),
        })
    }

    fn user_data_32(&self) -> u32 {
        u32::from(self.class) | (u32::from(self.quantity) << 16)
    }
}

/// A pending transfer holding `amount` units of `resource` for the order.
/// `kind` is the ticket or the goodie hold.
pub fn hold(
    metadata: &HoldMetadata,
    resource: Resource,
    kind: TransferKind,
    amount: u64,
    timeout_s: u32,
) -> Transfer {
    assert!(matches!(
        kind,
        TransferKind::TicketHold | TransferKind::GoodieHold
    ));
    assert!(
        amount > 0 && timeout_s > 0,
        "a hold needs an amount and a timeout"
    );
    Transfer::new(metadata.order_id.transfer_id(kind))
        .with_debit_account_id(account_id(metadata.event, resource, Role::Budget))
        .with_credit_account_id(account_id(metadata.event, resource, Role::Spent))
        .with_amount(u128::from(amount))
        .with_ledger(metadata.event.0)
        .with_code(TransferCode::Hold as u16)
        .with_flags(Flags::PENDING)
        .with_timeout(timeout_s)
        .with_user_data_128(metadata.order_id.as_u128())
        .with_user_data_64(metadata.customer_hash)
        .with_user_data_32(metadata.user_data_32())
}

/// Posts the hold `hold_kind` of `order` in full. Its id is derived from
/// the order, so posting twice answers `exists`.
pub fn post(
    order: OrderId,
    event: EventId,
    resource: Resource,
    hold_kind: TransferKind,
) -> Transfer {
    let post_kind = match hold_kind {
        TransferKind::TicketHold => TransferKind::TicketPost,
        TransferKind::GoodieHold => TransferKind::GoodiePost,
        other => panic!("{other:?} is not a hold"),
    };
    resolve(
        order,
        event,
        resource,
        hold_kind,
        post_kind,
        Flags::POST_PENDING_TRANSFER,
    )
    .with_amount(AMOUNT_POST_FULL)
}

/// Voids the hold `hold_kind` of `order`, releasing its units at once.
pub fn void(
    order: OrderId,
    event: EventId,
    resource: Resource,
    hold_kind: TransferKind,
) -> Transfer {
    let void_kind = match hold_kind {
        TransferKind::TicketHold => TransferKind::TicketVoid,
        TransferKind::GoodieHold => TransferKind::GoodieVoid,
        other => panic!("{other:?} is not a hold"),
    };
    resolve(
        order,
        event,
        resource,
        hold_kind,
        void_kind,
        Flags::VOID_PENDING_TRANSFER,
    )
}

fn resolve(
    order: OrderId,
    event: EventId,
    resource: Resource,
    hold_kind: TransferKind,
    kind: TransferKind,
    flags: Flags,
) -> Transfer {
    // Debit and credit accounts, ledger and code must match the pending
    // transfer's (or be zero); giving them makes a mismatch an error.
    Transfer::new(order.transfer_id(kind))
        .with_pending_id(order.transfer_id(hold_kind))
        .with_debit_account_id(account_id(event, resource, Role::Budget))
        .with_credit_account_id(account_id(event, resource, Role::Spent))
        .with_ledger(event.0)
        .with_code(TransferCode::Hold as u16)
        .with_flags(flags)
        .with_user_data_128(order.as_u128())
}

/// An immediate booking for an order whose hold expired before payment:
/// it succeeds only if units are still available.
pub fn late_booking(metadata: &HoldMetadata, resource: Resource, amount: u64) -> Transfer {
    let kind = match resource {
        Resource::Class(_) => TransferKind::TicketLateBooking,
        Resource::Goodies => TransferKind::GoodieLateBooking,
    };
    Transfer::new(metadata.order_id.transfer_id(kind))
        .with_debit_account_id(account_id(metadata.event, resource, Role::Budget))
        .with_credit_account_id(account_id(metadata.event, resource, Role::Spent))
        .with_amount(u128::from(amount))
        .with_ledger(metadata.event.0)
        .with_code(TransferCode::LateBooking as u16)
        .with_user_data_128(metadata.order_id.as_u128())
        .with_user_data_64(metadata.customer_hash)
        .with_user_data_32(metadata.user_data_32())
}

/// An order's holds: its tickets and, when `with_goodie`, one goodie. Not
/// linked: running out of goodies must not stop a ticket sale.
pub fn order_holds(metadata: &HoldMetadata, timeout_s: u32, with_goodie: bool) -> Vec<Transfer> {
    let tickets = Resource::Class(metadata.class);
    let mut holds = vec![hold(
        metadata,
        tickets,
        TransferKind::TicketHold,
        u64::from(metadata.quantity),
        timeout_s,
    )];
    if with_goodie {
        holds.push(hold(
            metadata,
            Resource::Goodies,
            TransferKind::GoodieHold,
            1,
            timeout_s,
        ));
    }
    holds
}

/// The posts that sell an order: its ticket hold and, if one is held, its
/// goodie hold, linked so that both apply or neither does.
pub fn order_posts(order: OrderId, event: EventId, class: u16, goodie_held: bool) -> Vec<Transfer> {
    linked(resolve_order_holds(order, event, class, goodie_held, post))
}

/// The voids that release an order's holds; not linked, so each releases
/// what it can.
pub fn order_voids(order: OrderId, event: EventId, class: u16, goodie_held: bool) -> Vec<Transfer> {
    resolve_order_holds(order, event, class, goodie_held, void)
}

/// `resolve_hold` ([`post`] or [`void`]) applied to each hold of an order: the
/// ticket hold, then the goodie hold if one is held.
fn resolve_order_holds(
    order: OrderId,
    event: EventId,
    class: u16,
    goodie_held: bool,
    resolve_hold: fn(OrderId, EventId, Resource, TransferKind) -> Transfer,
) -> Vec<Transfer> {
    let mut transfers = vec![resolve_hold(
        order,
        event,
        Resource::Class(class),
        TransferKind::TicketHold,
    )];
    if goodie_held {
        transfers.push(resolve_hold(
            order,
            event,
            Resource::Goodies,
            TransferKind::GoodieHold,
        ));
    }
    transfers
}

/// Chains `transfers` so that they apply all together or not at all.
pub fn linked(mut transfers: Vec<Transfer>) -> Vec<Transfer> {
    let last = transfers.len().saturating_sub(1);
    for transfer in &mut transfers[..last] {
        transfer.set_flags(transfer.flags() | Flags::LINKED);
    }
    transfers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_carries_its_order_metadata() {
        let metadata = HoldMetadata {
            order_id: OrderId::generate(),
            event: EventId(42),
            class: 2,
            quantity: 3,
            customer_hash: 0xDEAD_BEEF,
        };
        let transfer = hold(
            &metadata,
            Resource::Class(2),
            TransferKind::TicketHold,
            3,
            300,
        );
        assert_eq!(HoldMetadata::from_transfer(&transfer), Some(metadata));
        assert!(transfer.flags().contains(Flags::PENDING));
        assert_eq!(transfer.timeout(), 300);
    }

    #[test]
    fn linking_leaves_the_chain_closed() {
        let order = OrderId::generate();
        let event = EventId(1);
        let chain = linked(vec![
            post(order, event, Resource::Class(1), TransferKind::TicketHold),
            post(order, event, Resource::Goodies, TransferKind::GoodieHold),
        ]);
        assert!(chain[0].flags().contains(Flags::LINKED));
        assert!(!chain[1].flags().contains(Flags::LINKED));
    }
}
