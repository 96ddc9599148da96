package pgstore

import (
	"context"
	"errors"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/jackc/pgx/v5"
)

const subscriptionCols = `client_id, number, state, state_at, started, ref, customer, amount, currency, session, url, expires, email, created`

func scanSubscription(row scanner) (edge.SubscriptionRecord, error) {
	var r edge.SubscriptionRecord
	var stateAt, started, expires, created int64
	err := row.Scan(&r.ClientID, &r.Number, &r.State, &stateAt, &started, &r.Ref, &r.Customer, &r.Amount, &r.Currency,
		&r.Session, &r.URL, &expires, &r.Email, &created)
	r.StateAt, r.Started, r.Expires, r.Created = fromMS(stateAt), fromMS(started), fromMS(expires), fromMS(created)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, edge.Errorf(edge.ENotFound, "No such subscription.")
	}
	return r, err
}

// Customer implements edge.SubscriptionStore.
func (s *Store) Customer(ctx context.Context, clientID string) (id string, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `SELECT customer FROM customers WHERE client_id = $1`, clientID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SetCustomer implements edge.SubscriptionStore: of concurrent callers the
// first to insert wins; the others wait for its row and return it.
func (s *Store) SetCustomer(ctx context.Context, clientID, customer string) (id string, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `INSERT INTO customers (client_id, customer) VALUES ($1, $2)
		ON CONFLICT (client_id) DO UPDATE SET customer = customers.customer RETURNING customer`, clientID, customer).Scan(&id)
	return id, err
}

// StartSubscription implements edge.SubscriptionStore.
func (s *Store) StartSubscription(ctx context.Context, r edge.SubscriptionRecord) (err error) {
	defer check(&err)
	tag, err := s.pool.Exec(ctx, `INSERT INTO subscriptions (`+subscriptionCols+`) VALUES ($1, $2, $3, 0, 0, '', $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (client_id, number) DO UPDATE SET customer = excluded.customer, amount = excluded.amount, currency = excluded.currency,
			session = excluded.session, url = excluded.url, expires = excluded.expires, email = excluded.email, created = excluded.created
		WHERE subscriptions.state = $3`,
		r.ClientID, r.Number, events.BillingPending, r.Customer, r.Amount, r.Currency, r.Session, r.URL, ms(r.Expires), r.Email, ms(r.Created))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return edge.Errorf(edge.EConflict, "Subscription %s is already started.", r.Number)
	}
	return nil
}

// Subscription implements edge.SubscriptionStore.
func (s *Store) Subscription(ctx context.Context, clientID, number string) (_ edge.SubscriptionRecord, err error) {
	defer check(&err)
	return scanSubscription(s.pool.QueryRow(ctx, `SELECT `+subscriptionCols+` FROM subscriptions WHERE client_id = $1 AND number = $2`, clientID, number))
}

// Subscriptions implements edge.StaffStore.
func (s *Store) Subscriptions(ctx context.Context) (_ []edge.SubscriptionRecord, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions ORDER BY client_id, number`)
}

// changeSubscription applies an event's change to a subscription in tx
// (its row locked FOR UPDATE, so Advance compares with the state as it
// is): the Stripe subscription recorded when it was not, the state moved
// by events.Subscription.Advance. It reports whether the state moved
// (and then logs the change as the client's fact).
func changeSubscription(ctx context.Context, tx pgx.Tx, c *edge.SubscriptionChange, at int64) (bool, error) {
	r, err := scanSubscription(tx.QueryRow(ctx, `SELECT `+subscriptionCols+` FROM subscriptions WHERE client_id = $1 AND number = $2 FOR UPDATE`, c.ClientID, c.Number))
	if err != nil {
		return false, err
	}
	moved := r.Advance(c.State, c.At)
	if r.Ref == "" {
		r.Ref = c.Ref
	}
	if _, err := tx.Exec(ctx, `UPDATE subscriptions SET state = $1, state_at = $2, started = $3, ref = $4 WHERE client_id = $5 AND number = $6`,
		r.State, ms(r.StateAt), ms(r.Started), r.Ref, r.ClientID, r.Number); err != nil {
		return false, err
	}
	if !moved {
		return false, nil
	}
	return true, logEvent(ctx, tx, r.ClientID, "subscription", r.Number, at)
}
