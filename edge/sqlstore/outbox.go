package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
)

// The outbox: every email is a row, queued in the same transaction as the
// fact it reports, and marked sent (or failed) by the edge's mail worker.

const outboxSchema = `
CREATE TABLE IF NOT EXISTS outbox (
	id        TEXT PRIMARY KEY, -- the Message-ID
	recipient TEXT NOT NULL,
	subject   TEXT NOT NULL,
	message   TEXT NOT NULL,    -- edge.Message as JSON; emptied once a secret one is done
	status    TEXT NOT NULL,    -- queued, sent, failed
	attempts  INTEGER NOT NULL DEFAULT 0,
	next_at   INTEGER NOT NULL,
	created   INTEGER NOT NULL,
	done      INTEGER NOT NULL DEFAULT 0,
	error     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_at);
`

// queueMail inserts messages into the outbox in tx. A Message-ID queued
// before is kept as it is (queuing is idempotent).
func queueMail(ctx context.Context, tx *sql.Tx, now time.Time, msgs []edge.Message) error {
	for _, m := range msgs {
		if m.ID == "" {
			return errors.New("queueing an email without a Message-ID")
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		to := make([]string, len(m.To))
		for i, a := range m.To {
			to[i] = a.Email
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, recipient, subject, message, status, next_at, created) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO NOTHING`, m.ID, strings.Join(to, ", "), m.Subject, data, edge.MailQueued, ms(later(now, m.NotBefore)), ms(now)); err != nil {
			return fmt.Errorf("queueing email %s: %w", m.ID, err)
		}
	}
	return nil
}

// QueueMail implements edge.MailQueue: messages that report no fact of
// their own (login links) are queued in their own write.
func (s *Store) QueueMail(ctx context.Context, now time.Time, msgs ...edge.Message) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := queueMail(ctx, tx, now, msgs); err != nil {
		return err
	}
	return tx.Commit()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// RewriteMail implements edge.MailQueue.
func (s *Store) RewriteMail(ctx context.Context, now time.Time, msgs ...edge.Message) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, m := range msgs {
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET message = ?, subject = ?, next_at = ? WHERE id = ? AND status = ? AND attempts = 0`,
			data, m.Subject, ms(later(now, m.NotBefore)), m.ID, edge.MailQueued); err != nil {
			return fmt.Errorf("rewriting email %s: %w", m.ID, err)
		}
	}
	return tx.Commit()
}

const mailCols = `id, message, recipient, subject, status, attempts, next_at, created, done, error`

func scanMail(r scanner) (edge.QueuedMail, error) {
	var q edge.QueuedMail
	var data string
	var next, created, done int64
	if err := r.Scan(&q.ID, &data, &q.Recipients, &q.Subject, &q.Status, &q.Attempts, &next, &created, &done, &q.Error); err != nil {
		return q, err
	}
	if data != "" {
		if err := json.Unmarshal([]byte(data), &q.Message); err != nil {
			return q, fmt.Errorf("email %s: %w", q.ID, err)
		}
	}
	q.Message.ID, q.Next, q.Created, q.Done = q.ID, fromMS(next), fromMS(created), fromMS(done)
	return q, nil
}

// ClaimMail implements edge.MailQueue: one UPDATE, so concurrent callers
// (SQLite runs one writer at a time) never share an email.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]edge.QueuedMail, error) {
	due, err := queryAll(ctx, s.db, scanMail, `UPDATE outbox SET attempts = attempts + 1, next_at = ? WHERE id IN
		(SELECT id FROM outbox WHERE status = ? AND next_at <= ? ORDER BY next_at, created LIMIT ?) RETURNING `+mailCols,
		ms(now.Add(lease)), edge.MailQueued, ms(now), limit)
	slices.SortStableFunc(due, func(a, b edge.QueuedMail) int { return a.Created.Compare(b.Created) })
	return due, err
}

// ClaimMailByID implements edge.StaffStore.
func (s *Store) ClaimMailByID(ctx context.Context, id string, now time.Time, lease time.Duration) (edge.QueuedMail, bool, error) {
	q, err := scanMail(s.db.QueryRowContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_at = ? WHERE id = ? AND status = ? AND next_at <= ? RETURNING `+mailCols,
		ms(now.Add(lease)), id, edge.MailQueued, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return q, false, nil
	}
	return q, err == nil, err
}

// NextMailDue implements edge.MailQueue.
func (s *Store) NextMailDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(next_at) FROM outbox WHERE status = ?`, edge.MailQueued).Scan(&next); err != nil {
		return time.Time{}, false, err
	}
	return fromMS(next.Int64), next.Valid, nil
}

// MarkMail implements edge.MailQueue. A secret email (a sign-in link) that
// is done keeps its subject and recipient, not its body.
func (s *Store) MarkMail(ctx context.Context, id string, u edge.MailUpdate) error {
	var done int64
	if u.Status != edge.MailQueued {
		done = ms(u.At)
	}
	r, err := s.db.ExecContext(ctx, `UPDATE outbox SET status = ?, attempts = ?, next_at = ?, done = ?, error = ?,
		message = CASE WHEN ? = 'queued' OR message = '' THEN message WHEN json_extract(message, '$.Secret') THEN '' ELSE message END WHERE id = ?`,
		u.Status, u.Attempts, ms(u.Next), done, u.Error, u.Status, id)
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return edge.Errorf(edge.ENotFound, "No email %s in the outbox.", id)
	}
	return nil
}

// Mails lists the outbox, newest first; status "" lists all.
func (s *Store) Mails(ctx context.Context, status string, limit int) ([]edge.QueuedMail, error) {
	q := `SELECT ` + mailCols + ` FROM outbox`
	args := []any{}
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY created DESC, id LIMIT ?`
	return queryAll(ctx, s.db, scanMail, q, append(args, limit)...)
}

// MailCounts counts the outbox's emails by status.
func (s *Store) MailCounts(ctx context.Context) (map[string]int, error) {
	return queryMap[int](ctx, s.db, `SELECT status, COUNT(*) FROM outbox GROUP BY status`)
}
