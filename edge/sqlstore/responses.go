package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

// claimNonce records a form's nonce in tx; false means it was recorded
// before (the same form sent again).
func claimNonce(ctx context.Context, tx *sql.Tx, nonce, clientID, kind, ref string) (bool, error) {
	if nonce == "" {
		return true, nil
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO nonces (nonce, client_id, kind, ref) VALUES (?, ?, ?, ?) ON CONFLICT(nonce) DO NOTHING`, nonce, clientID, kind, ref)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// logEvent records that a client's facts changed, and queues the client's
// rebuild, in tx.
func logEvent(ctx context.Context, tx *sql.Tx, clientID, kind, ref string, at int64) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO events (client_id, kind, ref, at) VALUES (?, ?, ?, ?) RETURNING seq`, clientID, kind, ref, at).Scan(&seq); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO rebuilds (client_id, version, since, due) VALUES (?, ?, ?, ?)
		ON CONFLICT(client_id) DO UPDATE SET version = excluded.version, due = MIN(due, excluded.due)`, clientID, seq, at, at)
	return err
}

// record runs fn in a transaction after claiming nonce; a nonce seen
// before makes it a duplicate that changes nothing.
// The emails that report it are queued in the same transaction.
func (s *Store) record(ctx context.Context, nonce, clientID, kind, ref string, at time.Time, mail []edge.Message, fn func(tx *sql.Tx) error) (dup bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	fresh, err := claimNonce(ctx, tx, nonce, clientID, kind, ref)
	if err != nil {
		return false, err
	}
	if !fresh {
		return true, nil
	}
	if err := fn(tx); err != nil {
		return false, err
	}
	if err := queueMail(ctx, tx, at, mail); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// RecordApproval implements edge.Store.
func (s *Store) RecordApproval(ctx context.Context, clientID, nonce string, a events.Approval, mail []edge.Message) (bool, error) {
	return s.record(ctx, nonce, clientID, "approval", a.Quote, a.At, mail, func(tx *sql.Tx) error {
		opts := make([]string, len(a.Options))
		for i, o := range a.Options {
			opts[i] = strconv.Itoa(o)
		}
		terms := 0
		if a.Terms {
			terms = 1
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO approvals (client_id, quote, version, page_sha, options, name, signature, terms, email, ip, ua, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, clientID, a.Quote, a.Version, a.PageSHA, strings.Join(opts, ","), a.Name, a.Signature, terms, a.Email, a.IP, a.UA, ms(a.At))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return edge.Errorf(edge.EConflict, "Quote %s was already approved.", a.Quote)
			}
			return err
		}
		return logEvent(ctx, tx, clientID, "approval", a.Quote, ms(a.At))
	})
}

// RecordChangeRequest implements edge.Store.
func (s *Store) RecordChangeRequest(ctx context.Context, clientID, nonce string, c events.ChangeRequest, mail []edge.Message) (bool, error) {
	return s.record(ctx, nonce, clientID, "change", c.Quote, c.At, mail, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM approvals WHERE client_id = ? AND quote = ?`, clientID, c.Quote).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return edge.Errorf(edge.EConflict, "Quote %s was already approved; call or email us to change it.", c.Quote)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO change_requests (client_id, quote, version, message, email, at) VALUES (?, ?, ?, ?, ?, ?)`,
			clientID, c.Quote, c.Version, c.Message, c.Email, ms(c.At)); err != nil {
			return err
		}
		return logEvent(ctx, tx, clientID, "change", c.Quote, ms(c.At))
	})
}

// RecordRequest implements edge.Store.
func (s *Store) RecordRequest(ctx context.Context, clientID, nonce string, r events.Request, mail []edge.Message) (bool, error) {
	return s.record(ctx, nonce, clientID, "request", r.ID, r.At, mail, func(tx *sql.Tx) error {
		data, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO requests (id, client_id, data, status, at) VALUES (?, ?, ?, ?, ?)`,
			r.ID, clientID, data, r.Status, ms(r.At)); err != nil {
			return err
		}
		return logEvent(ctx, tx, clientID, "request", r.ID, ms(r.At))
	})
}

// Requests implements edge.Store.
func (s *Store) Requests(ctx context.Context, status string, limit int) ([]edge.RequestRecord, error) {
	q := `SELECT client_id, data, status FROM requests`
	args := []any{}
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY at DESC LIMIT ?`
	args = append(args, limit)
	return queryAll(ctx, s.db, scanRequest, q, args...)
}

func scanRequest(row scanner) (edge.RequestRecord, error) {
	var r edge.RequestRecord
	var data []byte
	if err := row.Scan(&r.ClientID, &data, &r.Status); err != nil {
		return r, err
	}
	st := r.Status
	if err := json.Unmarshal(data, &r.Request); err != nil {
		return r, err
	}
	r.Status = st
	return r, nil
}

// Request implements edge.Store.
func (s *Store) Request(ctx context.Context, id string) (edge.RequestRecord, error) {
	r, err := scanRequest(s.db.QueryRowContext(ctx, `SELECT client_id, data, status FROM requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, edge.Errorf(edge.ENotFound, "No request %s.", id)
	}
	return r, err
}

// SetRequestStatus implements edge.Store.
func (s *Store) SetRequestStatus(ctx context.Context, id, status string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var clientID string
	var at int64
	if err := tx.QueryRowContext(ctx, `UPDATE requests SET status = ? WHERE id = ? RETURNING client_id, at`, status, id).Scan(&clientID, &at); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return edge.Errorf(edge.ENotFound, "No request %s.", id)
		}
		return err
	}
	if err := logEvent(ctx, tx, clientID, "request", id, at); err != nil {
		return err
	}
	return tx.Commit()
}

// quoteFacts adds a client's approvals, change requests and work requests.
func (s *Store) quoteFacts(ctx context.Context, clientID string, f *events.Facts) error {
	var err error
	f.Approvals, err = queryAll(ctx, s.db, func(r scanner) (events.Approval, error) {
		var a events.Approval
		var opts string
		var terms int
		var at int64
		if err := r.Scan(&a.Quote, &a.Version, &a.PageSHA, &opts, &a.Name, &a.Signature, &terms, &a.Email, &a.IP, &a.UA, &at); err != nil {
			return a, err
		}
		for o := range strings.SplitSeq(opts, ",") {
			if n, err := strconv.Atoi(o); err == nil {
				a.Options = append(a.Options, n)
			}
		}
		a.Terms, a.At = terms == 1, fromMS(at)
		return a, nil
	}, `SELECT quote, version, page_sha, options, name, signature, terms, email, ip, ua, at FROM approvals WHERE client_id = ? ORDER BY at`, clientID)
	if err != nil {
		return err
	}
	f.Changes, err = queryAll(ctx, s.db, func(r scanner) (events.ChangeRequest, error) {
		var c events.ChangeRequest
		var at int64
		err := r.Scan(&c.Quote, &c.Version, &c.Message, &c.Email, &at)
		c.At = fromMS(at)
		return c, err
	}, `SELECT quote, version, message, email, at FROM change_requests WHERE client_id = ? ORDER BY id`, clientID)
	if err != nil {
		return err
	}
	f.Requests, err = queryAll(ctx, s.db, func(r scanner) (events.Request, error) {
		rr, err := scanRequest(r)
		return rr.Request, err
	}, `SELECT client_id, data, status FROM requests WHERE client_id = ? ORDER BY at`, clientID)
	return err
}

// CreatePending implements edge.Store: one pending client per email.
func (s *Store) CreatePending(ctx context.Context, pc events.PendingClient) (events.PendingClient, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return pc, false, err
	}
	defer tx.Rollback()
	var got events.PendingClient
	var at int64
	err = tx.QueryRowContext(ctx, `SELECT id, email, name, phone, address, at FROM pending_clients WHERE email = ?`, pc.Email).
		Scan(&got.ID, &got.Email, &got.Name, &got.Phone, &got.Address, &at)
	if err == nil {
		got.At = fromMS(at)
		return got, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return pc, false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pending_clients (id, email, name, phone, address, at) VALUES (?, ?, ?, ?, ?, ?)`,
		pc.ID, pc.Email, pc.Name, pc.Phone, pc.Address, ms(pc.At)); err != nil {
		return pc, false, err
	}
	if err := logEvent(ctx, tx, pc.ID, "pending", pc.Email, ms(pc.At)); err != nil {
		return pc, false, err
	}
	return pc, true, tx.Commit()
}

// Pending implements events.Source.
func (s *Store) Pending(ctx context.Context) ([]events.PendingClient, error) {
	return queryAll(ctx, s.db, func(r scanner) (events.PendingClient, error) {
		var pc events.PendingClient
		var at int64
		err := r.Scan(&pc.ID, &pc.Email, &pc.Name, &pc.Phone, &pc.Address, &at)
		pc.At = fromMS(at)
		return pc, err
	}, `SELECT id, email, name, phone, address, at FROM pending_clients ORDER BY id`)
}
