-- Subscriptions started online (Stripe Checkout in subscription mode), each
-- client's Stripe customer, and the period a subscription's payment pays.
ALTER TABLE payments ADD COLUMN period BIGINT NOT NULL DEFAULT 0;
CREATE TABLE customers (
	client_id TEXT PRIMARY KEY,
	customer  TEXT NOT NULL
);
CREATE TABLE subscriptions (
	client_id TEXT NOT NULL,
	number    TEXT NOT NULL,
	state     TEXT NOT NULL,
	state_at  BIGINT NOT NULL DEFAULT 0,
	started   BIGINT NOT NULL DEFAULT 0,
	ref       TEXT NOT NULL DEFAULT '',
	customer  TEXT NOT NULL,
	amount    BIGINT NOT NULL,
	currency  TEXT NOT NULL,
	session   TEXT NOT NULL,
	url       TEXT NOT NULL,
	expires   BIGINT NOT NULL,
	email     TEXT NOT NULL,
	created   BIGINT NOT NULL,
	PRIMARY KEY (client_id, number)
);
