-- A document's history (events.Send, events.FirstView): the documents
-- emailed to contacts, and each contact's first view of each document.
CREATE TABLE first_views (
	client_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	doc       TEXT NOT NULL,
	at        BIGINT NOT NULL,
	PRIMARY KEY (client_id, email, doc)
);
CREATE TABLE sends (
	n         BIGSERIAL PRIMARY KEY,
	client_id TEXT NOT NULL,
	doc       TEXT NOT NULL,
	email     TEXT NOT NULL,
	at        BIGINT NOT NULL
);
CREATE INDEX sends_client ON sends (client_id, n);
