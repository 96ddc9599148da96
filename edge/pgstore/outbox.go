package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/jackc/pgx/v5"
)

// queueMail inserts messages into the outbox in tx. A Message-ID queued
// before is kept as it is (queuing is idempotent).
func queueMail(ctx context.Context, tx pgx.Tx, now time.Time, msgs []edge.Message) error {
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
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (id, recipient, subject, message, secret, status, next_at, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO NOTHING`, m.ID, strings.Join(to, ", "), m.Subject, string(data), m.Secret, edge.MailQueued, ms(later(now, m.NotBefore)), ms(now)); err != nil {
			return fmt.Errorf("queueing email %s: %w", m.ID, err)
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// QueueMail implements edge.MailQueue.
func (s *Store) QueueMail(ctx context.Context, now time.Time, msgs ...edge.Message) (err error) {
	defer check(&err)
	return s.tx(ctx, func(tx pgx.Tx) error { return queueMail(ctx, tx, now, msgs) })
}

// RewriteMail implements edge.MailQueue.
func (s *Store) RewriteMail(ctx context.Context, now time.Time, msgs ...edge.Message) (err error) {
	defer check(&err)
	return s.tx(ctx, func(tx pgx.Tx) error {
		for _, m := range msgs {
			data, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE outbox SET message = $1, subject = $2, secret = $3, next_at = $4 WHERE id = $5 AND status = $6 AND attempts = 0`,
				string(data), m.Subject, m.Secret, ms(later(now, m.NotBefore)), m.ID, edge.MailQueued); err != nil {
				return fmt.Errorf("rewriting email %s: %w", m.ID, err)
			}
		}
		return nil
	})
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

// ClaimMail implements edge.MailQueue: one UPDATE of the due rows it
// could lock (FOR UPDATE SKIP LOCKED), so concurrent claimers take
// different emails; a row another claimer just leased is re-checked
// against next_at and left.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) (_ []edge.QueuedMail, err error) {
	defer check(&err)
	due, err := queryAll(ctx, s.pool, scanMail, `UPDATE outbox SET attempts = attempts + 1, next_at = $1 WHERE id IN
		(SELECT id FROM outbox WHERE status = $2 AND next_at <= $3 ORDER BY next_at, created, id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+mailCols, ms(now.Add(lease)), edge.MailQueued, ms(now), limit)
	slices.SortStableFunc(due, func(a, b edge.QueuedMail) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return due, err
}

// ClaimMailByID implements edge.StaffStore.
func (s *Store) ClaimMailByID(ctx context.Context, id string, now time.Time, lease time.Duration) (_ edge.QueuedMail, _ bool, err error) {
	defer check(&err)
	q, err := scanMail(s.pool.QueryRow(ctx, `UPDATE outbox SET attempts = attempts + 1, next_at = $1 WHERE id = $2 AND status = $3 AND next_at <= $4 RETURNING `+mailCols,
		ms(now.Add(lease)), id, edge.MailQueued, ms(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return q, false, nil
	}
	return q, err == nil, err
}

// NextMailDue implements edge.MailQueue.
func (s *Store) NextMailDue(ctx context.Context) (_ time.Time, _ bool, err error) {
	defer check(&err)
	var next *int64
	if err := s.pool.QueryRow(ctx, `SELECT MIN(next_at) FROM outbox WHERE status = $1`, edge.MailQueued).Scan(&next); err != nil {
		return time.Time{}, false, err
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return fromMS(*next), true, nil
}

// MarkMail implements edge.MailQueue. A secret email (a sign-in link) that
// is done keeps its subject and recipient, not its body.
func (s *Store) MarkMail(ctx context.Context, id string, u edge.MailUpdate) (err error) {
	defer check(&err)
	var done int64
	if u.Status != edge.MailQueued {
		done = ms(u.At)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET status = $1, attempts = $2, next_at = $3, done = $4, error = $5,
		message = CASE WHEN $1 <> 'queued' AND secret THEN '' ELSE message END WHERE id = $6`,
		u.Status, u.Attempts, ms(u.Next), done, u.Error, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return edge.Errorf(edge.ENotFound, "No email %s in the outbox.", id)
	}
	return nil
}

// Mails implements edge.StaffStore.
func (s *Store) Mails(ctx context.Context, status string, limit int) (_ []edge.QueuedMail, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanMail, `SELECT `+mailCols+` FROM outbox WHERE $1 = '' OR status = $1
		ORDER BY created DESC, id LIMIT $2`, status, limit)
}

// MailCounts implements edge.StaffStore.
func (s *Store) MailCounts(ctx context.Context) (_ map[string]int, err error) {
	defer check(&err)
	return queryMap(ctx, s.pool, scanPair[int], `SELECT status, COUNT(*) FROM outbox GROUP BY status`)
}
