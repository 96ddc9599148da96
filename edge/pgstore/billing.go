package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/jackc/pgx/v5"
)

const billingCols = `client_id, customer, card_id, card_brand, card_last4, card_exp_month, card_exp_year, card_at, card_removed, autopay, autopay_since`

func scanBilling(row scanner) (edge.BillingRecord, error) {
	var b edge.BillingRecord
	var at, since int64
	err := row.Scan(&b.ClientID, &b.Customer, &b.Card.ID, &b.Card.Brand, &b.Card.Last4, &b.Card.ExpMonth, &b.Card.ExpYear, &at, &b.Removed, &b.Autopay, &since)
	b.Card.At, b.AutopaySince = fromMS(at), fromMS(since)
	return b, err
}

// billingOf reads a client's billing row (lock " FOR UPDATE" in a writing
// transaction); a client without one has a zero record.
func billingOf(ctx context.Context, q querier, clientID, lock string) (edge.BillingRecord, error) {
	b, err := scanBilling(q.QueryRow(ctx, `SELECT `+billingCols+` FROM customers WHERE client_id = $1`+lock, clientID))
	if errors.Is(err, pgx.ErrNoRows) {
		return edge.BillingRecord{ClientID: clientID}, nil
	}
	return b, err
}

// Billing implements edge.BillingStore.
func (s *Store) Billing(ctx context.Context, clientID string) (_ edge.BillingRecord, err error) {
	defer check(&err)
	return billingOf(ctx, s.pool, clientID, "")
}

// SetAutopay implements edge.BillingStore.
func (s *Store) SetAutopay(ctx context.Context, clientID string, on bool, at time.Time) (changed bool, err error) {
	defer check(&err)
	err = s.tx(ctx, func(tx pgx.Tx) error {
		changed = false
		b, err := billingOf(ctx, tx, clientID, " FOR UPDATE")
		switch {
		case err != nil:
			return err
		case b.Customer == "":
			return edge.Errorf(edge.ENotFound, "Client %s has no Stripe customer: save a card first.", clientID)
		case b.Autopay == on:
			return nil
		}
		since := int64(0)
		if on {
			since = ms(at)
		}
		if _, err := tx.Exec(ctx, `UPDATE customers SET autopay = $1, autopay_since = $2 WHERE client_id = $3`, on, since, clientID); err != nil {
			return err
		}
		changed = true
		return logEvent(ctx, tx, clientID, "autopay", clientID, ms(at))
	})
	return changed, err
}

// CustomerClient implements edge.BillingStore.
func (s *Store) CustomerClient(ctx context.Context, customer string) (id string, err error) {
	defer check(&err)
	err = s.pool.QueryRow(ctx, `SELECT client_id FROM customers WHERE customer = $1 ORDER BY client_id LIMIT 1`, customer).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// AutopayClients implements edge.BillingStore.
func (s *Store) AutopayClients(ctx context.Context) (_ []edge.BillingRecord, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanBilling, `SELECT `+billingCols+` FROM customers WHERE autopay ORDER BY client_id`)
}

// AutoPayments implements edge.BillingStore.
func (s *Store) AutoPayments(ctx context.Context, clientID, doc string) (_ []edge.PaymentRecord, err error) {
	defer check(&err)
	return queryAll(ctx, s.pool, scanPayment, `SELECT `+paymentCols+` FROM payments WHERE client_id = $1 AND doc = $2 AND auto ORDER BY seq`, clientID, doc)
}

// changeCard applies a card change in tx (edge.BillingRecord.Apply), the
// row locked so concurrent events compare with the card as it is.
func changeCard(ctx context.Context, tx pgx.Tx, c *edge.CardChange, at int64) (bool, error) {
	b, err := billingOf(ctx, tx, c.ClientID, " FOR UPDATE")
	if err != nil || b.Customer == "" {
		return false, err
	}
	moved := b.Apply(*c)
	if _, err := tx.Exec(ctx, `UPDATE customers SET card_id = $1, card_brand = $2, card_last4 = $3, card_exp_month = $4, card_exp_year = $5, card_at = $6, card_removed = $7 WHERE client_id = $8`,
		b.Card.ID, b.Card.Brand, b.Card.Last4, b.Card.ExpMonth, b.Card.ExpYear, ms(b.Card.At), b.Removed, c.ClientID); err != nil {
		return false, err
	}
	if !moved {
		return false, nil
	}
	return true, logEvent(ctx, tx, c.ClientID, "card", c.Card.ID, at)
}
