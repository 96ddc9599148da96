package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

// A client's saved card and autopay choice live beside its Stripe
// customer, in customers.
var billingColumns = [][2]string{
	{"card_id", "TEXT NOT NULL DEFAULT ''"},
	{"card_brand", "TEXT NOT NULL DEFAULT ''"},
	{"card_last4", "TEXT NOT NULL DEFAULT ''"},
	{"card_exp_month", "INTEGER NOT NULL DEFAULT 0"},
	{"card_exp_year", "INTEGER NOT NULL DEFAULT 0"},
	{"card_at", "INTEGER NOT NULL DEFAULT 0"},
	{"card_removed", "INTEGER NOT NULL DEFAULT 0"},
	{"autopay", "INTEGER NOT NULL DEFAULT 0"},
	{"autopay_since", "INTEGER NOT NULL DEFAULT 0"},
}

func addBillingColumns(db *sql.DB) error {
	for _, c := range billingColumns {
		if err := addColumn(db, "customers", c[0], c[1]); err != nil {
			return err
		}
	}
	return nil
}

const billingCols = `client_id, customer, card_id, card_brand, card_last4, card_exp_month, card_exp_year, card_at, card_removed, autopay, autopay_since`

func scanBilling(row scanner) (edge.BillingRecord, error) {
	var b edge.BillingRecord
	var at, since int64
	err := row.Scan(&b.ClientID, &b.Customer, &b.Card.ID, &b.Card.Brand, &b.Card.Last4, &b.Card.ExpMonth, &b.Card.ExpYear, &at, &b.Removed, &b.Autopay, &since)
	b.Card.At, b.AutopaySince = fromMS(at), fromMS(since)
	return b, err
}

func billingOf(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, clientID string) (edge.BillingRecord, error) {
	b, err := scanBilling(q.QueryRowContext(ctx, `SELECT `+billingCols+` FROM customers WHERE client_id = ?`, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return edge.BillingRecord{ClientID: clientID}, nil
	}
	return b, err
}

// Billing implements edge.BillingStore.
func (s *Store) Billing(ctx context.Context, clientID string) (edge.BillingRecord, error) {
	return billingOf(ctx, s.db, clientID)
}

// SetAutopay implements edge.BillingStore.
func (s *Store) SetAutopay(ctx context.Context, clientID string, on bool, at time.Time) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	b, err := billingOf(ctx, tx, clientID)
	if err != nil {
		return false, err
	}
	if b.Customer == "" {
		return false, edge.Errorf(edge.ENotFound, "Client %s has no Stripe customer: save a card first.", clientID)
	}
	if b.Autopay == on {
		return false, nil
	}
	since := int64(0)
	if on {
		since = ms(at)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE customers SET autopay = ?, autopay_since = ? WHERE client_id = ?`, on, since, clientID); err != nil {
		return false, err
	}
	if err := logEvent(ctx, tx, clientID, "autopay", clientID, ms(at)); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// CustomerClient implements edge.BillingStore.
func (s *Store) CustomerClient(ctx context.Context, customer string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT client_id FROM customers WHERE customer = ? ORDER BY client_id LIMIT 1`, customer).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// AutopayClients implements edge.BillingStore.
func (s *Store) AutopayClients(ctx context.Context) ([]edge.BillingRecord, error) {
	return queryAll(ctx, s.db, scanBilling, `SELECT `+billingCols+` FROM customers WHERE autopay != 0 ORDER BY client_id`)
}

// AutoPayments implements edge.BillingStore.
func (s *Store) AutoPayments(ctx context.Context, clientID, doc string) ([]edge.PaymentRecord, error) {
	return queryAll(ctx, s.db, scanPayment, `SELECT `+paymentCols+` FROM payments WHERE client_id = ? AND doc = ? AND auto != 0 ORDER BY seq`, clientID, doc)
}

// changeCard applies a card change in tx (edge.BillingRecord.Apply); a
// change of the card the client may pay with is one of its facts.
func changeCard(ctx context.Context, tx *sql.Tx, c *edge.CardChange, at int64) (bool, error) {
	b, err := billingOf(ctx, tx, c.ClientID)
	if err != nil || b.Customer == "" {
		return false, err
	}
	moved := b.Apply(*c)
	if _, err := tx.ExecContext(ctx, `UPDATE customers SET card_id = ?, card_brand = ?, card_last4 = ?, card_exp_month = ?, card_exp_year = ?, card_at = ?, card_removed = ? WHERE client_id = ?`,
		b.Card.ID, b.Card.Brand, b.Card.Last4, b.Card.ExpMonth, b.Card.ExpYear, ms(b.Card.At), b.Removed, c.ClientID); err != nil {
		return false, err
	}
	if !moved {
		return false, nil
	}
	return true, logEvent(ctx, tx, c.ClientID, "card", c.Card.ID, at)
}

func (s *Store) billingFacts(ctx context.Context, clientID string, f *events.Facts) error {
	b, err := billingOf(ctx, s.db, clientID)
	if err != nil {
		return err
	}
	f.Card, f.Autopay, f.AutopaySince = b.SavedCard(), b.Autopay, b.AutopaySince
	return nil
}
