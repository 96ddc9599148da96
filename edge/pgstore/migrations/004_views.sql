-- Document views (edge.ViewLog): per client, contact and document, the
-- first and last view and how many, written in batches by each edge.
CREATE TABLE views (
	client_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	doc       TEXT NOT NULL,
	first     BIGINT NOT NULL,
	last      BIGINT NOT NULL,
	count     BIGINT NOT NULL,
	PRIMARY KEY (client_id, email, doc)
);
