-- 0001: orders and the audit log of payment events.
--
-- A row of `orders` is an order's final outcome. It is written once, by
-- the payment webhook, and never updated: the first final outcome wins
-- (INSERT ... ON CONFLICT DO NOTHING), so a replayed or contradicting
-- webhook cannot change what was recorded. The CHECKs are mirrored by
-- `OrderRecord::check` in Rust, which refuses a bad order before it joins
-- a group commit: a violation here would fail every order of the batch.

CREATE TABLE orders (
    -- 128-bit id; uuid is fixed 16 bytes, and its text input accepts the
    -- 32 hex digits of the order id as they appear in URLs.
    order_id         uuid        PRIMARY KEY,
    event_id         bigint      NOT NULL CHECK (event_id BETWEEN 1 AND 4294967295),
    class_code       text        NOT NULL,
    quantity         integer     NOT NULL CHECK (quantity BETWEEN 1 AND 65535),
    email            text        NOT NULL,
    amount_cents     bigint      NOT NULL CHECK (amount_cents >= 0),
    currency         text        NOT NULL CHECK (char_length(currency) = 3),
    status           text        NOT NULL
        CHECK (status IN ('PAID', 'PAID_UNFULFILLED', 'FAILED', 'CANCELED')),
    goodie           boolean     NOT NULL DEFAULT false,
    ticket_codes     text[]      NOT NULL DEFAULT '{}',
    -- The payment event that settled the order (the first one).
    payment_event_id text        NOT NULL,
    -- Paid, but no ticket was left: the customer is owed a refund.
    refund_owed      boolean     NOT NULL
        GENERATED ALWAYS AS (status = 'PAID_UNFULFILLED') STORED,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- counts_by_status: an index-only scan per event.
CREATE INDEX orders_event_id_status ON orders (event_id, status) INCLUDE (quantity);
-- The admin page's newest orders.
CREATE INDEX orders_created_at ON orders (created_at DESC, order_id DESC);
-- The refunds still owed: a small partial index, not a scan of all orders.
CREATE INDEX orders_refund_owed ON orders (created_at) WHERE refund_owed;

-- Every distinct payment event received, including the ones that lost to
-- an earlier outcome of the same order: the audit trail of the webhook.
CREATE TABLE payment_events (
    payment_event_id text        PRIMARY KEY,
    order_id         uuid        NOT NULL REFERENCES orders (order_id),
    status           text        NOT NULL
        CHECK (status IN ('PAID', 'PAID_UNFULFILLED', 'FAILED', 'CANCELED')),
    received_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payment_events_order_id ON payment_events (order_id);
