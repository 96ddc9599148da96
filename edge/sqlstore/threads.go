package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

const threadSchema = `
-- Messages between clients and the business; n keeps the order they were written in.
CREATE TABLE IF NOT EXISTS messages (
	n         INTEGER PRIMARY KEY AUTOINCREMENT,
	id        TEXT NOT NULL UNIQUE,
	client_id TEXT NOT NULL,
	thread    TEXT NOT NULL,
	email     TEXT NOT NULL,
	staff     TEXT NOT NULL,
	body      TEXT NOT NULL,
	files     TEXT NOT NULL,
	at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_client ON messages(client_id, n);
CREATE TABLE IF NOT EXISTS message_reads (
	client_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	thread    TEXT NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (client_id, email, thread)
);
`

// RecordMessage implements edge.ThreadStore.
func (s *Store) RecordMessage(ctx context.Context, clientID, nonce string, m events.Message, mail []edge.Message) (bool, error) {
	return s.record(ctx, nonce, clientID, "message", m.ID, m.At, mail, func(tx *sql.Tx) error {
		files, err := json.Marshal(m.Files)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, client_id, thread, email, staff, body, files, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, clientID, m.Thread, strings.ToLower(m.Email), m.Staff, m.Body, files, ms(m.At)); err != nil {
			return err
		}
		return logEvent(ctx, tx, clientID, "message", m.ID, ms(m.At))
	})
}

// MarkRead implements edge.ThreadStore.
func (s *Store) MarkRead(ctx context.Context, clientID, email, thread string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO message_reads (client_id, email, thread, at) VALUES (?, ?, ?, ?)
		ON CONFLICT(client_id, email, thread) DO UPDATE SET at = MAX(at, excluded.at)`, clientID, strings.ToLower(email), thread, ms(at))
	return err
}

// ReadMarks implements edge.ThreadStore.
func (s *Store) ReadMarks(ctx context.Context, clientID, email string) (map[string]time.Time, error) {
	at, err := queryMap[int64](ctx, s.db, `SELECT thread, at FROM message_reads WHERE client_id = ? AND email = ?`, clientID, strings.ToLower(email))
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(at))
	for t, v := range at {
		out[t] = fromMS(v)
	}
	return out, nil
}

const messageCols = `client_id, id, thread, email, staff, body, files, at`

func scanMessage(r scanner) (edge.MessageRecord, error) {
	var m edge.MessageRecord
	var files string
	var at int64
	if err := r.Scan(&m.ClientID, &m.ID, &m.Thread, &m.Email, &m.Staff, &m.Body, &files, &at); err != nil {
		return m, err
	}
	m.At = fromMS(at)
	return m, json.Unmarshal([]byte(files), &m.Files)
}

// Messages implements edge.ThreadStore.
func (s *Store) Messages(ctx context.Context, clientID string, limit int) ([]edge.MessageRecord, error) {
	return queryAll(ctx, s.db, scanMessage, `SELECT `+messageCols+` FROM messages WHERE ? = '' OR client_id = ? ORDER BY n DESC LIMIT ?`, clientID, clientID, limit)
}

// Thread implements edge.ThreadStore.
func (s *Store) Thread(ctx context.Context, clientID, thread string, limit int) ([]events.Message, error) {
	ms, err := queryAll(ctx, s.db, func(r scanner) (events.Message, error) {
		m, err := scanMessage(r)
		return m.Message, err
	}, `SELECT `+messageCols+` FROM messages WHERE client_id = ? AND thread = ? ORDER BY n DESC LIMIT ?`, clientID, thread, limit)
	slices.Reverse(ms)
	return ms, err
}

// messageFacts adds a client's messages, in the order they were written.
func (s *Store) messageFacts(ctx context.Context, clientID string, f *events.Facts) error {
	var err error
	f.Messages, err = queryAll(ctx, s.db, func(r scanner) (events.Message, error) {
		m, err := scanMessage(r)
		return m.Message, err
	}, `SELECT `+messageCols+` FROM messages WHERE client_id = ? ORDER BY n`, clientID)
	return err
}
