package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

const subscriptionSchema = `
CREATE TABLE IF NOT EXISTS customers (
	client_id TEXT PRIMARY KEY,
	customer  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
	client_id TEXT NOT NULL,
	number    TEXT NOT NULL,
	state     TEXT NOT NULL,
	state_at  INTEGER NOT NULL DEFAULT 0,
	started   INTEGER NOT NULL DEFAULT 0,
	ref       TEXT NOT NULL DEFAULT '',
	customer  TEXT NOT NULL,
	amount    INTEGER NOT NULL,
	currency  TEXT NOT NULL,
	session   TEXT NOT NULL,
	url       TEXT NOT NULL,
	expires   INTEGER NOT NULL,
	email     TEXT NOT NULL,
	created   INTEGER NOT NULL,
	PRIMARY KEY (client_id, number)
);
`

// addColumn adds a column to a table of a state file made before it existed.
func addColumn(db *sql.DB, table, column, def string) error {
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := db.Exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + column + ` ` + def)
	return err
}

const subscriptionCols = `client_id, number, state, state_at, started, ref, customer, amount, currency, session, url, expires, email, created`

func scanSubscription(row scanner) (edge.SubscriptionRecord, error) {
	var r edge.SubscriptionRecord
	var stateAt, started, expires, created int64
	err := row.Scan(&r.ClientID, &r.Number, &r.State, &stateAt, &started, &r.Ref, &r.Customer, &r.Amount, &r.Currency,
		&r.Session, &r.URL, &expires, &r.Email, &created)
	r.StateAt, r.Started, r.Expires, r.Created = fromMS(stateAt), fromMS(started), fromMS(expires), fromMS(created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, edge.Errorf(edge.ENotFound, "No such subscription.")
	}
	return r, err
}

// Customer implements edge.SubscriptionStore.
func (s *Store) Customer(ctx context.Context, clientID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT customer FROM customers WHERE client_id = ?`, clientID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SetCustomer implements edge.SubscriptionStore.
func (s *Store) SetCustomer(ctx context.Context, clientID, customer string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `INSERT INTO customers (client_id, customer) VALUES (?, ?)
		ON CONFLICT(client_id) DO UPDATE SET customer = customers.customer RETURNING customer`, clientID, customer).Scan(&id)
	return id, err
}

// StartSubscription implements edge.SubscriptionStore.
func (s *Store) StartSubscription(ctx context.Context, r edge.SubscriptionRecord) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO subscriptions (`+subscriptionCols+`) VALUES (?, ?, ?, 0, 0, '', ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(client_id, number) DO UPDATE SET customer = excluded.customer, amount = excluded.amount, currency = excluded.currency,
			session = excluded.session, url = excluded.url, expires = excluded.expires, email = excluded.email, created = excluded.created
		WHERE subscriptions.state = ?`,
		r.ClientID, r.Number, events.BillingPending, r.Customer, r.Amount, r.Currency, r.Session, r.URL, ms(r.Expires), r.Email, ms(r.Created), events.BillingPending)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return edge.Errorf(edge.EConflict, "Subscription %s is already started.", r.Number)
	}
	return nil
}

// Subscription implements edge.SubscriptionStore.
func (s *Store) Subscription(ctx context.Context, clientID, number string) (edge.SubscriptionRecord, error) {
	return scanSubscription(s.db.QueryRowContext(ctx, `SELECT `+subscriptionCols+` FROM subscriptions WHERE client_id = ? AND number = ?`, clientID, number))
}

// Subscriptions implements edge.StaffStore.
func (s *Store) Subscriptions(ctx context.Context) ([]edge.SubscriptionRecord, error) {
	return queryAll(ctx, s.db, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions ORDER BY client_id, number`)
}

// changeSubscription applies an event's change to a subscription in tx:
// the Stripe subscription and customer recorded when they were not, the
// state moved by events.Subscription.Advance. It reports whether the
// state moved (and then logs the change as the client's fact).
func changeSubscription(ctx context.Context, tx *sql.Tx, c *edge.SubscriptionChange, at int64) (bool, error) {
	r, err := scanSubscription(tx.QueryRowContext(ctx, `SELECT `+subscriptionCols+` FROM subscriptions WHERE client_id = ? AND number = ?`, c.ClientID, c.Number))
	if err != nil {
		return false, err
	}
	moved := r.Advance(c.State, c.At)
	if r.Ref == "" {
		r.Ref = c.Ref
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET state = ?, state_at = ?, started = ?, ref = ? WHERE client_id = ? AND number = ?`,
		r.State, ms(r.StateAt), ms(r.Started), r.Ref, r.ClientID, r.Number); err != nil {
		return false, err
	}
	if !moved {
		return false, nil
	}
	return true, logEvent(ctx, tx, r.ClientID, "subscription", r.Number, at)
}

func (s *Store) subscriptionFacts(ctx context.Context, clientID string, f *events.Facts) error {
	rs, err := queryAll(ctx, s.db, scanSubscription, `SELECT `+subscriptionCols+` FROM subscriptions WHERE client_id = ? AND state != ? ORDER BY number`, clientID, events.BillingPending)
	for _, r := range rs {
		f.Subscriptions = append(f.Subscriptions, r.Subscription)
	}
	return err
}
