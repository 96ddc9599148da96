package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/jackc/pgx/v5"
)

// claimNonce records a form's nonce in tx; false means it was recorded
// before (the same form sent again). Of concurrent inserts one wins; the
// others wait for its commit and insert nothing.
func claimNonce(ctx context.Context, tx pgx.Tx, nonce, clientID, kind, ref string) (bool, error) {
	if nonce == "" {
		return true, nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO nonces (nonce, client_id, kind, ref) VALUES ($1, $2, $3, $4) ON CONFLICT (nonce) DO NOTHING`, nonce, clientID, kind, ref)
	return tag.RowsAffected() == 1, err
}

// logEvent records that a client's facts changed, and queues the client's
// rebuild, in tx. The client's lock comes first: the client's event seqs
// are then in commit order, so MAX(seq) (its version) moves at every
// commit, and the queue's version only grows.
func logEvent(ctx context.Context, tx pgx.Tx, clientID, kind, ref string, at int64) error {
	if err := lockClient(ctx, tx, clientID); err != nil {
		return err
	}
	var seq int64
	if err := tx.QueryRow(ctx, `INSERT INTO events (client_id, kind, ref, at) VALUES ($1, $2, $3, $4) RETURNING seq`, clientID, kind, ref, at).Scan(&seq); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO rebuilds (client_id, version, since, due) VALUES ($1, $2, $3, $3)
		ON CONFLICT (client_id) DO UPDATE SET version = GREATEST(rebuilds.version, excluded.version), due = LEAST(rebuilds.due, excluded.due)`, clientID, seq, at)
	return err
}

// record runs fn in a transaction after taking the client's lock and
// claiming nonce; a nonce seen before makes it a duplicate that changes
// nothing. The emails that report it are queued in the same transaction.
func (s *Store) record(ctx context.Context, nonce, clientID, kind, ref string, at time.Time, mail []edge.Message, fn func(tx pgx.Tx) error) (dup bool, err error) {
	defer check(&err)
	err = s.tx(ctx, func(tx pgx.Tx) error {
		// The client's facts are checked and written one writer at a time
		// (a change request reads the approvals it must not follow).
		if err := lockClient(ctx, tx, clientID); err != nil {
			return err
		}
		fresh, err := claimNonce(ctx, tx, nonce, clientID, kind, ref)
		if err != nil || !fresh {
			dup = !fresh
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return queueMail(ctx, tx, at, mail)
	})
	return dup && err == nil, err
}

// RecordApproval implements edge.ResponseStore.
func (s *Store) RecordApproval(ctx context.Context, clientID, nonce string, a events.Approval, mail []edge.Message) (bool, error) {
	return s.record(ctx, nonce, clientID, "approval", a.Quote, a.At, mail, func(tx pgx.Tx) error {
		opts := make([]int64, len(a.Options))
		for i, o := range a.Options {
			opts[i] = int64(o)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO approvals (client_id, quote, version, page_sha, options, name, signature, terms, email, ip, ua, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (client_id, quote) DO NOTHING`,
			clientID, a.Quote, a.Version, a.PageSHA, opts, a.Name, a.Signature, a.Terms, a.Email, a.IP, a.UA, ms(a.At))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return edge.Errorf(edge.EConflict, "Quote %s was already approved.", a.Quote)
		}
		return logEvent(ctx, tx, clientID, "approval", a.Quote, ms(a.At))
	})
}

// RecordChangeRequest implements edge.ResponseStore.
func (s *Store) RecordChangeRequest(ctx context.Context, clientID, nonce string, c events.ChangeRequest, mail []edge.Message) (bool, error) {
	return s.record(ctx, nonce, clientID, "change", c.Quote, c.At, mail, func(tx pgx.Tx) error {
		var approved bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM approvals WHERE client_id = $1 AND quote = $2)`, clientID, c.Quote).Scan(&approved); err != nil {
			return err
		}
		if approved {
			return edge.Errorf(edge.EConflict, "Quote %s was already approved; call or email us to change it.", c.Quote)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO change_requests (client_id, quote, version, message, email, at) VALUES ($1, $2, $3, $4, $5, $6)`,
			clientID, c.Quote, c.Version, c.Message, c.Email, ms(c.At)); err != nil {
			return err
		}
		return logEvent(ctx, tx, clientID, "change", c.Quote, ms(c.At))
	})
}

// RecordRequest implements edge.ResponseStore.
func (s *Store) RecordRequest(ctx context.Context, clientID, nonce string, r events.Request, mail []edge.Message) (bool, error) {
	return s.record(ctx, nonce, clientID, "request", r.ID, r.At, mail, func(tx pgx.Tx) error {
		data, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO requests (id, client_id, data, status, at) VALUES ($1, $2, $3, $4, $5)`,
			r.ID, clientID, string(data), r.Status, ms(r.At)); err != nil {
			return err
		}
		return logEvent(ctx, tx, clientID, "request", r.ID, ms(r.At))
	})
}

// Requests implements edge.ResponseStore.
func (s *Store) Requests(ctx context.Context, status string, limit int) (_ []edge.RequestRecord, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanRequest, `SELECT client_id, data, status FROM requests
		WHERE $1 = '' OR status = $1 ORDER BY at DESC, id DESC LIMIT $2`, status, limit)
}

func scanRequest(row scanner) (edge.RequestRecord, error) {
	var r edge.RequestRecord
	var data string
	if err := row.Scan(&r.ClientID, &data, &r.Status); err != nil {
		return r, err
	}
	st := r.Status
	if err := json.Unmarshal([]byte(data), &r.Request); err != nil {
		return r, err
	}
	r.Status = st
	return r, nil
}

// Request implements edge.StaffStore.
func (s *Store) Request(ctx context.Context, id string) (_ edge.RequestRecord, err error) {
	defer check(&err)
	r, err := scanRequest(s.pool.QueryRow(ctx, `SELECT client_id, data, status FROM requests WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, edge.Errorf(edge.ENotFound, "No request %s.", id)
	}
	return r, err
}

// SetRequestStatus implements edge.StaffStore.
func (s *Store) SetRequestStatus(ctx context.Context, id, status string) (err error) {
	defer check(&err)
	return s.tx(ctx, func(tx pgx.Tx) error {
		var clientID string
		var at int64
		err := tx.QueryRow(ctx, `UPDATE requests SET status = $1 WHERE id = $2 RETURNING client_id, at`, status, id).Scan(&clientID, &at)
		if errors.Is(err, pgx.ErrNoRows) {
			return edge.Errorf(edge.ENotFound, "No request %s.", id)
		}
		if err != nil {
			return err
		}
		return logEvent(ctx, tx, clientID, "request", id, at)
	})
}

// quoteFacts adds a client's approvals, change requests and work requests.
func quoteFacts(ctx context.Context, q querier, clientID string, f *events.Facts) error {
	var err error
	f.Approvals, err = queryAll(ctx, q, func(r scanner) (events.Approval, error) {
		var a events.Approval
		var opts []int64
		var at int64
		if err := r.Scan(&a.Quote, &a.Version, &a.PageSHA, &opts, &a.Name, &a.Signature, &a.Terms, &a.Email, &a.IP, &a.UA, &at); err != nil {
			return a, err
		}
		for _, o := range opts {
			a.Options = append(a.Options, int(o))
		}
		a.At = fromMS(at)
		return a, nil
	}, `SELECT quote, version, page_sha, options, name, signature, terms, email, ip, ua, at FROM approvals WHERE client_id = $1 ORDER BY at, quote`, clientID)
	if err != nil {
		return err
	}
	f.Changes, err = queryAll(ctx, q, func(r scanner) (events.ChangeRequest, error) {
		var c events.ChangeRequest
		var at int64
		err := r.Scan(&c.Quote, &c.Version, &c.Message, &c.Email, &at)
		c.At = fromMS(at)
		return c, err
	}, `SELECT quote, version, message, email, at FROM change_requests WHERE client_id = $1 ORDER BY id`, clientID)
	if err != nil {
		return err
	}
	f.Requests, err = queryAll(ctx, q, func(r scanner) (events.Request, error) {
		rr, err := scanRequest(r)
		return rr.Request, err
	}, `SELECT client_id, data, status FROM requests WHERE client_id = $1 ORDER BY at, id`, clientID)
	return err
}

const pendingCols = `id, email, name, phone, address, at`

func scanPending(r scanner) (events.PendingClient, error) {
	var pc events.PendingClient
	var at int64
	err := r.Scan(&pc.ID, &pc.Email, &pc.Name, &pc.Phone, &pc.Address, &at)
	pc.At = fromMS(at)
	return pc, err
}

// CreatePending implements edge.ResponseStore: one pending client per
// email (the unique key decides between concurrent callers).
func (s *Store) CreatePending(ctx context.Context, pc events.PendingClient) (_ events.PendingClient, fresh bool, err error) {
	defer check(&err)
	got := pc
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO pending_clients (`+pendingCols+`) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
			pc.ID, pc.Email, pc.Name, pc.Phone, pc.Address, ms(pc.At))
		if err != nil {
			return err
		}
		if fresh = tag.RowsAffected() == 1; fresh {
			return logEvent(ctx, tx, pc.ID, "pending", pc.Email, ms(pc.At))
		}
		got, err = scanPending(tx.QueryRow(ctx, `SELECT `+pendingCols+` FROM pending_clients WHERE email = $1`, pc.Email))
		return err
	})
	if err != nil {
		return pc, false, err
	}
	return got, fresh, nil
}

// Pending implements events.Source.
func (s *Store) Pending(ctx context.Context) (_ []events.PendingClient, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanPending, `SELECT `+pendingCols+` FROM pending_clients ORDER BY id`)
}
