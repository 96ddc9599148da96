-- Saved cards and autopay (edge.BillingStore): the card on a client's
-- Stripe customer, as its payment_method events told it, and whether the
-- client pays invoices with it on their due dates; and which payments the
-- edge charged on a saved card (events.Payment.Auto).
ALTER TABLE customers
	ADD COLUMN card_id        TEXT NOT NULL DEFAULT '',
	ADD COLUMN card_brand     TEXT NOT NULL DEFAULT '',
	ADD COLUMN card_last4     TEXT NOT NULL DEFAULT '',
	ADD COLUMN card_exp_month INTEGER NOT NULL DEFAULT 0,
	ADD COLUMN card_exp_year  INTEGER NOT NULL DEFAULT 0,
	ADD COLUMN card_at        BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN card_removed   BOOLEAN NOT NULL DEFAULT FALSE,
	ADD COLUMN autopay        BOOLEAN NOT NULL DEFAULT FALSE,
	ADD COLUMN autopay_since  BIGINT NOT NULL DEFAULT 0;
CREATE INDEX customers_customer ON customers (customer);
ALTER TABLE payments ADD COLUMN auto BOOLEAN NOT NULL DEFAULT FALSE;
