-- The edge's state, as edge/sqlstore keeps it. Times are BIGINT
-- milliseconds since 1970 UTC (see pgstore.go for why).
CREATE TABLE tokens (
	hash      TEXT PRIMARY KEY,
	purpose   TEXT NOT NULL,
	email     TEXT NOT NULL,
	client_id TEXT NOT NULL,
	staff     TEXT NOT NULL,
	next      TEXT NOT NULL,
	created   BIGINT NOT NULL,
	expires   BIGINT NOT NULL,
	used      BIGINT
);
CREATE INDEX tokens_expires ON tokens (expires);
-- Invitations outlive their tokens: staff see who was invited.
CREATE TABLE invites (
	email     TEXT NOT NULL,
	client_id TEXT NOT NULL,
	at        BIGINT NOT NULL,
	PRIMARY KEY (email, client_id)
);
CREATE TABLE epochs (
	client_id TEXT PRIMARY KEY,
	epoch     BIGINT NOT NULL
);
CREATE TABLE contact_epochs (
	client_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	epoch     BIGINT NOT NULL,
	PRIMARY KEY (client_id, email)
);
-- Sessions signed out on the server, until they would have expired. seq
-- is taken under a transaction-level advisory lock, so it is also the
-- order of commits and a reader following it by seq misses none.
CREATE TABLE revoked_sessions (
	seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id      TEXT NOT NULL UNIQUE,
	expires BIGINT NOT NULL
);
CREATE INDEX revoked_sessions_expires ON revoked_sessions (expires);
CREATE TABLE logins (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email     TEXT NOT NULL,
	client_id TEXT NOT NULL,
	staff     TEXT NOT NULL,
	at        BIGINT NOT NULL,
	ip        TEXT NOT NULL,
	ua        TEXT NOT NULL
);
CREATE INDEX logins_email ON logins (email, client_id);
CREATE INDEX logins_delegations ON logins (at) WHERE staff <> '';
CREATE TABLE session_keys (
	id      TEXT PRIMARY KEY,
	secret  BYTEA NOT NULL,
	created BIGINT NOT NULL
);
-- The log of fact changes: MAX(seq) per client is the version the
-- generator keys bundles by (seq taken under the client's lock).
CREATE TABLE events (
	seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	client_id TEXT NOT NULL,
	kind      TEXT NOT NULL,
	ref       TEXT NOT NULL,
	at        BIGINT NOT NULL
);
CREATE INDEX events_client ON events (client_id, seq);
CREATE TABLE payments (
	id        TEXT PRIMARY KEY,
	seq       BIGINT NOT NULL,
	client_id TEXT NOT NULL,
	kind      TEXT NOT NULL,
	doc       TEXT NOT NULL,
	amount    BIGINT NOT NULL,
	currency  TEXT NOT NULL,
	state     TEXT NOT NULL,
	method    TEXT NOT NULL DEFAULT '',
	reference TEXT NOT NULL DEFAULT '',
	email     TEXT NOT NULL,
	url       TEXT NOT NULL,
	created   BIGINT NOT NULL,
	expires   BIGINT NOT NULL,
	settled   BIGINT NOT NULL DEFAULT 0,
	UNIQUE (client_id, seq)
);
CREATE INDEX payments_doc ON payments (client_id, doc);
CREATE INDEX payments_created ON payments (created);
CREATE TABLE webhook_events (
	id        TEXT PRIMARY KEY,
	type      TEXT NOT NULL,
	received  BIGINT NOT NULL,
	payment   TEXT NOT NULL,
	new_state TEXT NOT NULL,
	problem   TEXT NOT NULL
);
CREATE INDEX webhook_problems ON webhook_events (received) WHERE problem <> '';
CREATE TABLE pending_clients (
	id      TEXT PRIMARY KEY,
	email   TEXT NOT NULL UNIQUE,
	name    TEXT NOT NULL,
	phone   TEXT NOT NULL,
	address TEXT NOT NULL,
	at      BIGINT NOT NULL
);
-- Form nonces: a form sent twice records once.
CREATE TABLE nonces (
	nonce     TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	kind      TEXT NOT NULL,
	ref       TEXT NOT NULL
);
CREATE TABLE approvals (
	client_id TEXT NOT NULL,
	quote     TEXT NOT NULL,
	version   TEXT NOT NULL,
	page_sha  TEXT NOT NULL,
	options   BIGINT[] NOT NULL,
	name      TEXT NOT NULL,
	signature BYTEA,
	terms     BOOLEAN NOT NULL,
	email     TEXT NOT NULL,
	ip        TEXT NOT NULL,
	ua        TEXT NOT NULL,
	at        BIGINT NOT NULL,
	PRIMARY KEY (client_id, quote)
);
CREATE TABLE change_requests (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	client_id TEXT NOT NULL,
	quote     TEXT NOT NULL,
	version   TEXT NOT NULL,
	message   TEXT NOT NULL,
	email     TEXT NOT NULL,
	at        BIGINT NOT NULL
);
CREATE INDEX change_requests_client ON change_requests (client_id, id);
CREATE TABLE requests (
	id        TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	data      TEXT NOT NULL, -- events.Request as JSON
	status    TEXT NOT NULL,
	at        BIGINT NOT NULL
);
CREATE INDEX requests_client ON requests (client_id, at);
CREATE INDEX requests_at ON requests (at);
-- The outbox: an email a row, queued in the transaction of its fact.
CREATE TABLE outbox (
	id        TEXT PRIMARY KEY, -- the Message-ID
	recipient TEXT NOT NULL,
	subject   TEXT NOT NULL,
	message   TEXT NOT NULL,    -- edge.Message as JSON; emptied once a secret one is done
	secret    BOOLEAN NOT NULL,
	status    TEXT NOT NULL,    -- queued, sent, failed
	attempts  INTEGER NOT NULL DEFAULT 0,
	next_at   BIGINT NOT NULL,
	created   BIGINT NOT NULL,
	done      BIGINT NOT NULL DEFAULT 0,
	error     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX outbox_created ON outbox (created);
-- The rebuild queue: a row per client whose facts changed since its
-- bundle was built, upserted in the fact's transaction.
CREATE TABLE rebuilds (
	client_id TEXT PRIMARY KEY,
	version   BIGINT NOT NULL,          -- the newest event's seq
	since     BIGINT NOT NULL,          -- the oldest fact not yet built
	due       BIGINT NOT NULL,
	attempts  INTEGER NOT NULL DEFAULT 0,
	problem   TEXT NOT NULL DEFAULT '',
	owner     TEXT NOT NULL DEFAULT '',
	lease     BIGINT NOT NULL DEFAULT 0 -- when owner's claim lapses
);
CREATE INDEX rebuilds_due ON rebuilds (due);
