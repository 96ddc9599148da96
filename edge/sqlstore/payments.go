package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

const paymentCols = `id, seq, client_id, kind, doc, amount, currency, state, method, reference, email, url, created, expires, settled, period, auto`

func scanPayment(row scanner) (edge.PaymentRecord, error) {
	var p edge.PaymentRecord
	var created, expires, settled, period int64
	err := row.Scan(&p.ID, &p.Seq, &p.ClientID, &p.Kind, &p.Document, &p.Amount, &p.Currency, &p.State,
		&p.Method, &p.Reference, &p.Email, &p.URL, &created, &expires, &settled, &period, &p.Auto)
	p.Created, p.Expires, p.Settled, p.Period = fromMS(created), fromMS(expires), fromMS(settled), fromMS(period)
	return p, err
}

// CreatePayment implements edge.PaymentStore.
func (s *Store) CreatePayment(ctx context.Context, p edge.PaymentRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertPayment(ctx, tx, p, ""); err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return edge.Errorf(edge.EConflict, "Stripe returned a Checkout Session id (%s) that is already recorded", p.ID)
		}
		return err
	}
	return tx.Commit()
}

// insertPayment records p as pending, numbered after the client's others;
// with conflict (" ON CONFLICT(id) DO NOTHING") a payment recorded already is left as it is.
func insertPayment(ctx context.Context, tx *sql.Tx, p edge.PaymentRecord, conflict string) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM payments WHERE client_id = ?`, p.ClientID).Scan(&seq); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO payments (`+paymentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`+conflict,
		p.ID, seq, p.ClientID, p.Kind, p.Document, p.Amount, p.Currency, events.PaymentPending, p.Method, p.Reference, p.Email, p.URL, ms(p.Created), ms(p.Expires), ms(p.Period), p.Auto)
	return err
}

// OpenPayment implements edge.PaymentStore.
func (s *Store) OpenPayment(ctx context.Context, clientID, kind, doc string, amount int64, t time.Time) (edge.PaymentRecord, bool, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payments
		WHERE client_id = ? AND kind = ? AND doc = ? AND amount = ? AND state = ? AND expires > ?
		ORDER BY created DESC LIMIT 1`, clientID, kind, doc, amount, events.PaymentPending, ms(t))
	p, err := scanPayment(row)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

// PaymentCount implements edge.PaymentStore.
func (s *Store) PaymentCount(ctx context.Context, clientID, doc string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments WHERE client_id = ? AND doc = ?`, clientID, doc).Scan(&n)
	return n, err
}

// Payment implements edge.PaymentStore.
func (s *Store) Payment(ctx context.Context, id string) (edge.PaymentRecord, error) {
	p, err := scanPayment(s.db.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, edge.Errorf(edge.ENotFound, "No such payment.")
	}
	return p, err
}

// Settling implements edge.PaymentStore.
func (s *Store) Settling(ctx context.Context, clientID, doc string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM payments WHERE client_id = ? AND doc = ? AND state IN (?, ?)`,
		clientID, doc, events.PaymentProcessing, events.PaymentPaid).Scan(&n)
	return n, err
}

// RecordWebhook implements edge.PaymentStore: the event id, the payment's
// new state and the facts' version move in one transaction.
// The emails that report the change are queued in the same transaction.
func (s *Store) RecordWebhook(ctx context.Context, w edge.WebhookRecord, mail func(edge.PaymentRecord) ([]edge.Message, error)) (edge.WebhookResult, error) {
	var res edge.WebhookResult
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (id, type, received, payment, new_state, problem) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO NOTHING`, w.EventID, w.Type, ms(w.Received), w.PaymentID, w.To, w.Problem)
	if err != nil {
		return res, err
	}
	if n, err := r.RowsAffected(); err != nil {
		return res, err
	} else if n == 0 {
		res.Duplicate = true
		return res, nil
	}
	if w.NewPayment != nil && w.Problem == "" {
		if err := insertPayment(ctx, tx, *w.NewPayment, ` ON CONFLICT(id) DO NOTHING`); err != nil {
			return res, err
		}
	}
	if w.PaymentID != "" {
		p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payments WHERE id = ?`, w.PaymentID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// Not ours (or not recorded): the event is kept with its problem.
		case err != nil:
			return res, err
		default:
			if w.Problem == "" && p.Advance(w.To, w.Method, w.Reference, w.Received) {
				if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = ?, method = ?, reference = ?, settled = ? WHERE id = ?`,
					p.State, p.Method, p.Reference, ms(p.Settled), p.ID); err != nil {
					return res, err
				}
				if err := logEvent(ctx, tx, p.ClientID, "payment", p.ID, ms(w.Received)); err != nil {
					return res, err
				}
				res.Changed = true
				if mail != nil {
					msgs, err := mail(p)
					if err != nil {
						return res, err
					}
					if err := queueMail(ctx, tx, w.Received, msgs); err != nil {
						return res, err
					}
				}
			}
			res.Payment = p
		}
	}
	if w.Sub != nil && w.Problem == "" {
		moved, err := changeSubscription(ctx, tx, w.Sub, ms(w.Received))
		if err != nil {
			return res, err
		}
		res.Changed = res.Changed || moved
	}
	if w.Card != nil && w.Problem == "" {
		moved, err := changeCard(ctx, tx, w.Card, ms(w.Received))
		if err != nil {
			return res, err
		}
		res.Changed = res.Changed || moved
	}
	return res, tx.Commit()
}

// Payments implements edge.PaymentStore.
func (s *Store) Payments(ctx context.Context, limit int) ([]edge.PaymentRecord, error) {
	return queryAll(ctx, s.db, scanPayment, `SELECT `+paymentCols+` FROM payments ORDER BY created DESC LIMIT ?`, limit)
}

// WebhookProblems implements edge.PaymentStore.
func (s *Store) WebhookProblems(ctx context.Context, limit int) ([]edge.WebhookRecord, error) {
	return queryAll(ctx, s.db, func(r scanner) (edge.WebhookRecord, error) {
		var w edge.WebhookRecord
		var at int64
		err := r.Scan(&w.EventID, &w.Type, &at, &w.PaymentID, &w.To, &w.Problem)
		w.Received = fromMS(at)
		return w, err
	}, `SELECT id, type, received, payment, new_state, problem FROM webhook_events WHERE problem != '' ORDER BY received DESC LIMIT ?`, limit)
}

// Versions implements events.Source.
func (s *Store) Versions(ctx context.Context) (map[string]int64, error) {
	return queryMap[int64](ctx, s.db, `SELECT client_id, MAX(seq) FROM events GROUP BY client_id`)
}

// Facts implements events.Source.
func (s *Store) Facts(ctx context.Context, clientID string) (*events.Facts, error) {
	f := &events.Facts{}
	ps, err := queryAll(ctx, s.db, func(r scanner) (events.Payment, error) {
		p, err := scanPayment(r)
		return p.Payment, err
	}, `SELECT `+paymentCols+` FROM payments WHERE client_id = ? AND state NOT IN (?, ?) ORDER BY seq`, clientID, events.PaymentPending, events.PaymentExpired)
	if err != nil {
		return nil, err
	}
	f.Payments = ps
	if err := s.subscriptionFacts(ctx, clientID, f); err != nil {
		return nil, err
	}
	if err := s.billingFacts(ctx, clientID, f); err != nil {
		return nil, err
	}
	if err := s.quoteFacts(ctx, clientID, f); err != nil {
		return nil, err
	}
	if err := s.messageFacts(ctx, clientID, f); err != nil {
		return nil, err
	}
	if err := s.historyFacts(ctx, clientID, f); err != nil {
		return nil, err
	}
	return f, s.uploadFacts(ctx, clientID, f)
}

// EventCount counts the recorded changes of facts (for tests and reports).
func (s *Store) EventCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n)
	return n, err
}

// WebhookEventCount counts the Stripe events recorded.
func (s *Store) WebhookEventCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_events`).Scan(&n)
	return n, err
}
