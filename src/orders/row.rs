//! Reading `orders` rows back into [`OrderRecord`]s.
//!
//! Order ids go to PostgreSQL as text (the 32 hex digits of `OrderId`'s
//! `Display`, which uuid input accepts; see `columns`) and come back in
//! binary: 16 big-endian bytes, decoded here without a uuid crate.

use std::error::Error;
use std::time::SystemTime;

use postgres::types::{FromSql, Type};
use postgres::Row;

use super::record::{OrderRecord, OrderStatus};
use crate::ids::OrderId;

/// The columns every query that returns orders selects, in this order.
pub(crate) const ORDER_COLUMNS: &str = "order_id, event_id, class_code, quantity, email, \
     amount_cents, currency, status, goodie, ticket_codes, payment_event_id, created_at";

/// A uuid column read as the 128-bit integer it holds.
struct SqlUuid(u128);

impl<'a> FromSql<'a> for SqlUuid {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<SqlUuid, Box<dyn Error + Sync + Send>> {
        let bytes: [u8; 16] = raw.try_into()?;
        Ok(SqlUuid(u128::from_be_bytes(bytes)))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::UUID
    }
}

/// Decodes a row of [`ORDER_COLUMNS`]. The table's constraints guarantee
/// every conversion, so a failure is a corrupt table or a programmer error.
pub(crate) fn order_from_row(row: &Row) -> OrderRecord {
    let order_id: SqlUuid = row.get("order_id");
    let event_id: i64 = row.get("event_id");
    let quantity: i32 = row.get("quantity");
    let status: &str = row.get("status");
    let recorded_at: SystemTime = row.get("created_at");
    OrderRecord {
        order_id: OrderId::from_u128(order_id.0).expect("orders holds only valid order ids"),
        event_id: u32::try_from(event_id).expect("event_id CHECK"),
        class_code: row.get("class_code"),
        quantity: u16::try_from(quantity).expect("quantity CHECK"),
        email: row.get("email"),
        amount_cents: row.get("amount_cents"),
        currency: row.get("currency"),
        status: OrderStatus::parse(status).expect("status CHECK"),
        goodie: row.get("goodie"),
        ticket_codes: row.get("ticket_codes"),
        payment_event_id: row.get("payment_event_id"),
        recorded_at: Some(recorded_at),
    }
}
