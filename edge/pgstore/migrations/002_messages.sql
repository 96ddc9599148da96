-- Messages between clients and the business (edge.ThreadStore); n keeps
-- the order they were written in.
CREATE TABLE messages (
	n         BIGSERIAL PRIMARY KEY,
	id        TEXT NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	thread    TEXT NOT NULL,
	email     TEXT NOT NULL,
	staff     TEXT NOT NULL,
	body      TEXT NOT NULL,
	files     TEXT NOT NULL,
	at        BIGINT NOT NULL
);
CREATE INDEX messages_client ON messages (client_id, n);
-- When each contact last read each thread.
CREATE TABLE message_reads (
	client_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	thread    TEXT NOT NULL,
	at        BIGINT NOT NULL,
	PRIMARY KEY (client_id, email, thread)
);
