package pgstore

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/jackc/pgx/v5"
)

// RecordMessage implements edge.ThreadStore. The client's lock (taken by
// record) orders a client's messages: n follows commit order.
func (s *Store) RecordMessage(ctx context.Context, clientID, nonce string, m events.Message, mail []edge.Message) (bool, error) {
	return s.record(ctx, nonce, clientID, "message", m.ID, m.At, mail, func(tx pgx.Tx) error {
		files, err := json.Marshal(m.Files)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO messages (id, client_id, thread, email, staff, body, files, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			m.ID, clientID, m.Thread, strings.ToLower(m.Email), m.Staff, m.Body, string(files), ms(m.At)); err != nil {
			return err
		}
		return logEvent(ctx, tx, clientID, "message", m.ID, ms(m.At))
	})
}

// MarkRead implements edge.ThreadStore.
func (s *Store) MarkRead(ctx context.Context, clientID, email, thread string, at time.Time) (err error) {
	defer check(&err)
	_, err = s.pool.Exec(ctx, `INSERT INTO message_reads (client_id, email, thread, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (client_id, email, thread) DO UPDATE SET at = GREATEST(message_reads.at, excluded.at)`, clientID, strings.ToLower(email), thread, ms(at))
	return err
}

// ReadMarks implements edge.ThreadStore.
func (s *Store) ReadMarks(ctx context.Context, clientID, email string) (_ map[string]time.Time, err error) {
	defer check(&err)
	return queryMap(ctx, s.pool, func(r scanner) (string, time.Time, error) {
		var t string
		var at int64
		err := r.Scan(&t, &at)
		return t, fromMS(at), err
	}, `SELECT thread, at FROM message_reads WHERE client_id = $1 AND email = $2`, clientID, strings.ToLower(email))
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
func (s *Store) Messages(ctx context.Context, clientID string, limit int) (_ []edge.MessageRecord, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanMessage, `SELECT `+messageCols+` FROM messages WHERE $1 = '' OR client_id = $1 ORDER BY n DESC LIMIT $2`, clientID, limit)
}

// Thread implements edge.ThreadStore.
func (s *Store) Thread(ctx context.Context, clientID, thread string, limit int) (_ []events.Message, err error) {
	defer check(&err)
	ms, err := queryAll(ctx, s.pool, func(r scanner) (events.Message, error) {
		m, err := scanMessage(r)
		return m.Message, err
	}, `SELECT `+messageCols+` FROM messages WHERE client_id = $1 AND thread = $2 ORDER BY n DESC LIMIT $3`, clientID, thread, limit)
	slices.Reverse(ms)
	return ms, err
}

// messageFacts adds a client's messages, in the order they were written.
func messageFacts(ctx context.Context, q querier, clientID string, f *events.Facts) error {
	var err error
	f.Messages, err = queryAll(ctx, q, func(r scanner) (events.Message, error) {
		m, err := scanMessage(r)
		return m.Message, err
	}, `SELECT `+messageCols+` FROM messages WHERE client_id = $1 ORDER BY n`, clientID)
	return err
}
