//! An order's final outcome, as the payment webhook records it.

use std::fmt;
use std::time::SystemTime;

use crate::ids::OrderId;

/// Longest email accepted (RFC 5321's path limit), in bytes.
pub const EMAIL_BYTES_MAX: usize = 320;
/// Longest class code, currency, payment event id or ticket code, in bytes.
pub const CODE_BYTES_MAX: usize = 256;

/// How an order ended. Stored as text (`as_str`) under a CHECK constraint,
/// so that the table reads well in psql and a new status is one migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderStatus {
    /// Paid, and the tickets (and goodie, if any) are the customer's.
    Paid,
    /// Paid, but no ticket was left when the payment arrived: a refund is
    /// owed (the `refund_owed` column).
    PaidUnfulfilled,
    /// The payment failed; the hold was voided.
    Failed,
    /// The customer or the operator canceled before paying.
    Canceled,
}

impl OrderStatus {
    /// Every status, in the order `counts_by_status` answers them.
    pub const ALL: [OrderStatus; 4] = [
        OrderStatus::Paid,
        OrderStatus::PaidUnfulfilled,
        OrderStatus::Failed,
        OrderStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "PAID",
            OrderStatus::PaidUnfulfilled => "PAID_UNFULFILLED",
            OrderStatus::Failed => "FAILED",
            OrderStatus::Canceled => "CANCELED",
        }
    }

    /// The inverse of [`OrderStatus::as_str`].
    pub fn parse(text: &str) -> Option<OrderStatus> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// True when the customer paid and got nothing.
    pub fn refund_owed(self) -> bool {
        self == OrderStatus::PaidUnfulfilled
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One order's final outcome: a row of the `orders` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: OrderId,
    pub event_id: u32,
    pub class_code: String,
    /// Tickets ordered (1 or more).
    pub quantity: u16,
    pub email: String,
    pub amount_cents: i64,
    /// Three-letter ISO 4217 code, as the payment provider sends it.
    pub currency: String,
    pub status: OrderStatus,
    /// True when the order won one of the event's goodies.
    pub goodie: bool,
    /// One code per ticket issued; empty unless the order is paid.
    pub ticket_codes: Vec<String>,
    /// The payment provider's event that settled the order.
    pub payment_event_id: String,
    /// When PostgreSQL stored the row: `None` on the way in (ignored if
    /// set), always `Some` on the way out.
    pub recorded_at: Option<SystemTime>,
}

impl OrderRecord {
    /// Why this order cannot be stored, if it cannot. Checked before the
    /// order joins a batch: a row PostgreSQL refuses would fail the whole
    /// transaction, and with it every other caller of the batch. Mirrors
    /// the CHECK constraints of the `orders` table, plus size limits.
    pub fn check(&self) -> Result<(), String> {
        if self.event_id == 0 {
            return Err("event 0 does not exist (TigerBeetle reserves ledger 0)".into());
        }
        if self.quantity == 0 {
            return Err("quantity must be at least 1".into());
        }
        if self.amount_cents < 0 {
            return Err(format!("amount {} cents is negative", self.amount_cents));
        }
        if self.currency.chars().count() != 3 {
            return Err(format!("currency {:?} is not 3 letters", self.currency));
        }
        if self.payment_event_id.is_empty() {
            return Err("the payment event id is empty".into());
        }
        if self.ticket_codes.len() > usize::from(self.quantity) {
            return Err(format!(
                "{} ticket codes for {} tickets",
                self.ticket_codes.len(),
                self.quantity
            ));
        }
        self.check_texts()
    }

    /// PostgreSQL text cannot hold NUL, and every text has a bound.
    fn check_texts(&self) -> Result<(), String> {
        let codes = [
            ("class code", &self.class_code),
            ("currency", &self.currency),
            ("payment event id", &self.payment_event_id),
        ];
        let tickets = self.ticket_codes.iter().map(|code| ("ticket code", code));
        let email = ("email", &self.email);
        for (name, text) in codes.into_iter().chain(tickets).chain([email]) {
            let bytes_max = if name == "email" {
                EMAIL_BYTES_MAX
            } else {
                CODE_BYTES_MAX
            };
            if text.len() > bytes_max {
                return Err(format!("the {name} is longer than {bytes_max} bytes"));
            }
            if text.contains('\0') {
                return Err(format!("the {name} contains a NUL character"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> OrderRecord {
        OrderRecord {
            order_id: OrderId::from_u128(0x10).expect("valid id"),
            event_id: 7,
            class_code: "GA".into(),
            quantity: 2,
            email: "ada@example.com".into(),
            amount_cents: 9_000,
            currency: "EUR".into(),
            status: OrderStatus::Paid,
            goodie: false,
            ticket_codes: vec!["T1".into(), "T2".into()],
            payment_event_id: "evt_1".into(),
            recorded_at: None,
        }
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::PaidUnfulfilled.as_str(), "PAID_UNFULFILLED");
        assert_eq!(OrderStatus::parse("paid"), None);
    }

    #[test]
    fn a_valid_order_passes_and_bad_fields_are_named() {
        assert_eq!(order().check(), Ok(()));
        type Spoil = fn(&mut OrderRecord);
        let cases: [(Spoil, &str); 6] = [
            (|o| o.quantity = 0, "quantity"),
            (|o| o.event_id = 0, "event 0"),
            (|o| o.currency = "EURO".into(), "currency"),
            (|o| o.email.push('\0'), "email contains a NUL"),
            (|o| o.ticket_codes.push("T3".into()), "3 ticket codes"),
            (|o| o.payment_event_id.clear(), "payment event id"),
        ];
        for (spoil, expected) in cases {
            let mut bad = order();
            spoil(&mut bad);
            let reason = bad.check().expect_err("refused");
            assert!(reason.contains(expected), "{reason:?} lacks {expected:?}");
        }
    }
}
