-- Files clients added to portals (edge.PortalUploadStore); n keeps the
-- order they were added in.
CREATE TABLE portal_uploads (
	n         BIGSERIAL PRIMARY KEY,
	id        TEXT NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	portal    TEXT NOT NULL,
	email     TEXT NOT NULL,
	name      TEXT NOT NULL,
	type      TEXT NOT NULL,
	size      BIGINT NOT NULL,
	sha       TEXT NOT NULL,
	path      TEXT NOT NULL,
	at        BIGINT NOT NULL
);
CREATE INDEX portal_uploads_client ON portal_uploads (client_id, n);
