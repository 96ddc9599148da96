package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/jackc/pgx/v5"
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

// CreatePayment implements edge.PaymentStore. The client's lock makes
// MAX(seq)+1 safe: payments made at once are numbered one after another.
func (s *Store) CreatePayment(ctx context.Context, p edge.PaymentRecord) (err error) {
	defer check(&err)
	err = s.tx(ctx, func(tx pgx.Tx) error {
		return insertPayment(ctx, tx, p, "")
	})
	if isUnique(err, "payments_pkey") {
		return edge.Errorf(edge.EConflict, "Stripe returned a Checkout Session id (%s) that is already recorded", p.ID)
	}
	return err
}

// OpenPayment implements edge.PaymentStore.
func (s *Store) OpenPayment(ctx context.Context, clientID, kind, doc string, amount int64, t time.Time) (_ edge.PaymentRecord, _ bool, err error) {
	defer check(&err)
	p, err := scanPayment(s.pool.QueryRow(ctx, `SELECT `+paymentCols+` FROM payments
		WHERE client_id = $1 AND kind = $2 AND doc = $3 AND amount = $4 AND state = $5 AND expires > $6
		ORDER BY created DESC, seq DESC LIMIT 1`, clientID, kind, doc, amount, events.PaymentPending, ms(t)))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

// PaymentCount implements edge.PaymentStore.
func (s *Store) PaymentCount(ctx context.Context, clientID, doc string) (n int, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM payments WHERE client_id = $1 AND doc = $2`, clientID, doc).Scan(&n)
	return n, err
}

// insertPayment records p as pending, numbered after the client's others
// (the client's lock makes MAX(seq)+1 safe); with conflict (" ON CONFLICT
// (id) DO NOTHING") a payment recorded already is left as it is.
func insertPayment(ctx context.Context, tx pgx.Tx, p edge.PaymentRecord, conflict string) error {
	if err := lockClient(ctx, tx, p.ClientID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO payments (`+paymentCols+`)
		SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $15 FROM payments WHERE client_id = $2`+conflict,
		p.ID, p.ClientID, p.Kind, p.Document, p.Amount, p.Currency, events.PaymentPending, p.Method, p.Reference, p.Email, p.URL, ms(p.Created), ms(p.Expires), ms(p.Period), p.Auto)
	return err
}

// Payment implements edge.PaymentStore.
func (s *Store) Payment(ctx context.Context, id string) (_ edge.PaymentRecord, err error) {
	defer check(&err)
	p, err := scanPayment(s.pool.QueryRow(ctx, `SELECT `+paymentCols+` FROM payments WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, edge.Errorf(edge.ENotFound, "No such payment.")
	}
	return p, err
}

// Settling implements edge.PaymentStore.
func (s *Store) Settling(ctx context.Context, clientID, doc string) (n int64, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0)::BIGINT FROM payments WHERE client_id = $1 AND doc = $2 AND state IN ($3, $4)`,
		clientID, doc, events.PaymentProcessing, events.PaymentPaid).Scan(&n)
	return n, err
}

// RecordWebhook implements edge.PaymentStore: the event id (ON CONFLICT
// DO NOTHING: of concurrent deliveries one inserts, the others wait for
// it and insert nothing), the payment's new state (its row locked FOR
// UPDATE, so the rank is compared with the state as it is), the facts'
// version and the emails, in one transaction.
func (s *Store) RecordWebhook(ctx context.Context, w edge.WebhookRecord, mail func(edge.PaymentRecord) ([]edge.Message, error)) (res edge.WebhookResult, err error) {
	defer check(&err)
	err = s.tx(ctx, func(tx pgx.Tx) error {
		res = edge.WebhookResult{}
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_events (id, type, received, payment, new_state, problem) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO NOTHING`, w.EventID, w.Type, ms(w.Received), w.PaymentID, w.To, w.Problem)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			res.Duplicate = true
			return nil
		}
		if w.Sub != nil && w.Problem == "" {
			moved, err := changeSubscription(ctx, tx, w.Sub, ms(w.Received))
			if err != nil {
				return err
			}
			res.Changed = moved
		}
		if w.Card != nil && w.Problem == "" {
			moved, err := changeCard(ctx, tx, w.Card, ms(w.Received))
			if err != nil {
				return err
			}
			res.Changed = res.Changed || moved
		}
		if w.PaymentID == "" {
			return nil
		}
		if w.NewPayment != nil && w.Problem == "" {
			if err := insertPayment(ctx, tx, *w.NewPayment, ` ON CONFLICT (id) DO NOTHING`); err != nil {
				return err
			}
		}
		p, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentCols+` FROM payments WHERE id = $1 FOR UPDATE`, w.PaymentID))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil // not ours (or not recorded): the event is kept with its problem
		case err != nil:
			return err
		}
		res.Payment = p
		if w.Problem != "" || !p.Advance(w.To, w.Method, w.Reference, w.Received) {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET state = $1, method = $2, reference = $3, settled = $4 WHERE id = $5`,
			p.State, p.Method, p.Reference, ms(p.Settled), p.ID); err != nil {
			return err
		}
		if err := logEvent(ctx, tx, p.ClientID, "payment", p.ID, ms(w.Received)); err != nil {
			return err
		}
		res.Changed, res.Payment = true, p
		if mail == nil {
			return nil
		}
		msgs, err := mail(p)
		if err != nil {
			return err
		}
		return queueMail(ctx, tx, w.Received, msgs)
	})
	if err != nil {
		return edge.WebhookResult{}, err
	}
	return res, nil
}

// Payments implements edge.StaffStore.
func (s *Store) Payments(ctx context.Context, limit int) (_ []edge.PaymentRecord, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanPayment, `SELECT `+paymentCols+` FROM payments ORDER BY created DESC, id LIMIT $1`, limit)
}

// WebhookProblems implements edge.StaffStore.
func (s *Store) WebhookProblems(ctx context.Context, limit int) (_ []edge.WebhookRecord, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, func(r scanner) (edge.WebhookRecord, error) {
		var w edge.WebhookRecord
		var at int64
		err := r.Scan(&w.EventID, &w.Type, &at, &w.PaymentID, &w.To, &w.Problem)
		w.Received = fromMS(at)
		return w, err
	}, `SELECT id, type, received, payment, new_state, problem FROM webhook_events WHERE problem <> '' ORDER BY received DESC, id LIMIT $1`, limit)
}

// Versions implements events.Source.
func (s *Store) Versions(ctx context.Context) (_ map[string]int64, err error) {
	defer check(&err)
	return queryMap(ctx, s.pool, scanPair[int64], `SELECT client_id, MAX(seq) FROM events GROUP BY client_id`)
}

// Facts implements events.Source.
func (s *Store) Facts(ctx context.Context, clientID string) (_ *events.Facts, err error) {
	defer check(&err)
	f := &events.Facts{}
	// One snapshot for all of a client's facts.
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		ps, err := queryAll(ctx, tx, func(r scanner) (events.Payment, error) {
			p, err := scanPayment(r)
			return p.Payment, err
		}, `SELECT `+paymentCols+` FROM payments WHERE client_id = $1 AND state NOT IN ($2, $3) ORDER BY seq`, clientID, events.PaymentPending, events.PaymentExpired)
		if err != nil {
			return err
		}
		f.Payments = ps
		rs, err := queryAll(ctx, tx, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions WHERE client_id = $1 AND state <> $2 ORDER BY number`, clientID, events.BillingPending)
		if err != nil {
			return err
		}
		for _, r := range rs {
			f.Subscriptions = append(f.Subscriptions, r.Subscription)
		}
		b, err := billingOf(ctx, tx, clientID, "")
		if err != nil {
			return err
		}
		f.Card, f.Autopay, f.AutopaySince = b.SavedCard(), b.Autopay, b.AutopaySince
		if err := quoteFacts(ctx, tx, clientID, f); err != nil {
			return err
		}
		if err := messageFacts(ctx, tx, clientID, f); err != nil {
			return err
		}
		if err := historyFacts(ctx, tx, clientID, f); err != nil {
			return err
		}
		return uploadFacts(ctx, tx, clientID, f)
	})
	return f, err
}
