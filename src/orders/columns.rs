//! A batch of orders as one array per column: the parameters of the
//! group commit's `INSERT ... SELECT FROM unnest(...)`.
//!
//! Why UNNEST: the statement has a fixed 11 parameters whatever the batch
//! size, so it is prepared once per connection and each batch costs one
//! round trip with binary arrays and no planning. A multi-row VALUES has
//! 11 parameters per row (a new statement, parsed and planned, for every
//! batch size); COPY into a temporary table is the fastest for very large
//! loads but costs extra round trips (COPY, then INSERT ... SELECT) that
//! dominate at the batch sizes of a webhook, tens to a thousand orders.

use postgres::types::ToSql;

use super::record::OrderRecord;

/// The `orders` columns of a batch. Order ids are text (the 32 hex digits,
/// cast to uuid in SQL) so that no uuid crate is needed.
pub(crate) struct OrderColumns<'a> {
    pub(crate) order_ids: Vec<String>,
    event_ids: Vec<i64>,
    class_codes: Vec<&'a str>,
    quantities: Vec<i32>,
    emails: Vec<&'a str>,
    amounts_cents: Vec<i64>,
    currencies: Vec<&'a str>,
    statuses: Vec<&'static str>,
    goodies: Vec<bool>,
    /// Array literals (`{"A","B"}`), cast per row: SQL arrays must be
    /// rectangular, so a ragged list of lists cannot be one parameter.
    ticket_codes: Vec<String>,
    payment_event_ids: Vec<&'a str>,
}

impl<'a> OrderColumns<'a> {
    pub(crate) fn new(orders: &[&'a OrderRecord]) -> OrderColumns<'a> {
        OrderColumns {
            order_ids: orders.iter().map(|o| o.order_id.to_string()).collect(),
            event_ids: orders.iter().map(|o| i64::from(o.event_id)).collect(),
            class_codes: orders.iter().map(|o| o.class_code.as_str()).collect(),
            quantities: orders.iter().map(|o| i32::from(o.quantity)).collect(),
            emails: orders.iter().map(|o| o.email.as_str()).collect(),
            amounts_cents: orders.iter().map(|o| o.amount_cents).collect(),
            currencies: orders.iter().map(|o| o.currency.as_str()).collect(),
            statuses: orders.iter().map(|o| o.status.as_str()).collect(),
            goodies: orders.iter().map(|o| o.goodie).collect(),
            ticket_codes: orders
                .iter()
                .map(|o| array_literal(&o.ticket_codes))
                .collect(),
            payment_event_ids: orders.iter().map(|o| o.payment_event_id.as_str()).collect(),
        }
    }

    /// The parameters of [`INSERT_ORDERS`], in order.
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 11] {
        [
            &self.order_ids,
            &self.event_ids,
            &self.class_codes,
            &self.quantities,
            &self.emails,
            &self.amounts_cents,
            &self.currencies,
            &self.statuses,
            &self.goodies,
            &self.ticket_codes,
            &self.payment_event_ids,
        ]
    }
}

pub(crate) const INSERT_ORDERS: &str = "\
    INSERT INTO orders (order_id, event_id, class_code, quantity, email, amount_cents, \
        currency, status, goodie, ticket_codes, payment_event_id) \
    SELECT o.order_id::uuid, o.event_id, o.class_code, o.quantity, o.email, o.amount_cents, \
        o.currency, o.status, o.goodie, o.ticket_codes::text[], o.payment_event_id \
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::integer[], $5::text[], \
        $6::bigint[], $7::text[], $8::text[], $9::boolean[], $10::text[], $11::text[]) \
        AS o(order_id, event_id, class_code, quantity, email, amount_cents, currency, \
            status, goodie, ticket_codes, payment_event_id) \
    ON CONFLICT (order_id) DO NOTHING";

/// The `payment_events` columns of a batch: one row per distinct payment
/// event, whichever order outcome won.
pub(crate) struct PaymentEventColumns<'a> {
    payment_event_ids: Vec<&'a str>,
    order_ids: Vec<String>,
    statuses: Vec<&'static str>,
}

impl<'a> PaymentEventColumns<'a> {
    pub(crate) fn new(orders: &[&'a OrderRecord]) -> PaymentEventColumns<'a> {
        PaymentEventColumns {
            payment_event_ids: orders.iter().map(|o| o.payment_event_id.as_str()).collect(),
            order_ids: orders.iter().map(|o| o.order_id.to_string()).collect(),
            statuses: orders.iter().map(|o| o.status.as_str()).collect(),
        }
    }

    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 3] {
        [&self.payment_event_ids, &self.order_ids, &self.statuses]
    }
}

pub(crate) const INSERT_PAYMENT_EVENTS: &str = "\
    INSERT INTO payment_events (payment_event_id, order_id, status) \
    SELECT e.payment_event_id, e.order_id::uuid, e.status \
    FROM unnest($1::text[], $2::text[], $3::text[]) AS e(payment_event_id, order_id, status) \
    ON CONFLICT (payment_event_id) DO NOTHING";

/// A PostgreSQL array literal of `texts`, every element quoted so that
/// commas, braces, quotes, backslashes, spaces and `NULL` stay text.
pub(crate) fn array_literal(texts: &[String]) -> String {
    let mut literal = String::with_capacity(2 + texts.iter().map(|t| t.len() + 3).sum::<usize>());
    literal.push('{');
    for (i, text) in texts.iter().enumerate() {
        if i > 0 {
            literal.push(',');
        }
        literal.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                literal.push('\\');
            }
            literal.push(c);
        }
        literal.push('"');
    }
    literal.push('}');
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_every_element() {
        assert_eq!(array_literal(&[]), "{}");
        let texts = [
            "A1".to_string(),
            "a,b".into(),
            "NULL".into(),
            r#"q"\"#.into(),
        ];
        assert_eq!(array_literal(&texts), r#"{"A1","a,b","NULL","q\"\\"}"#);
    }
}
