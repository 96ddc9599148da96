package testcheckout

import (
	"context"
	"strings"

	"github.com/hubhq/hub/edge"
)

// Saved cards: a payment whose session asked to save the card, paid by
// card, first sends payment_method.attached for the card chosen on the
// page (on the session's customer), as Stripe does. Charge (autopay, hub
// charge) answers by that card's last four digits, like Stripe's test
// cards: 4242 succeeds, 3155 needs authentication, 0341 is declined; and
// sends the PaymentIntent's event. DetachCard sends payment_method.detached.

// Test cards, by their last four digits.
const (
	CardSucceeds      = "4242"
	CardAuthenticates = "3155"
	CardDeclined      = "0341"
)

// saveCard sends payment_method.attached for the card (last 4 digits) a
// session saves on customer.
func (c *Checkout) saveCard(ctx context.Context, session, customer, last4 string) error {
	if last4 != CardAuthenticates && last4 != CardDeclined {
		last4 = CardSucceeds
	}
	pm := c.localID("pm_test_local_", session)
	c.mu.Lock()
	c.cards[pm] = [2]string{last4, customer}
	c.mu.Unlock()
	return c.post(ctx, pm, edge.EventCardAttached, c.event(edge.EventCardAttached, c.cardObject(pm, customer, last4)))
}

func (c *Checkout) cardObject(pm string, customer any, last4 string) map[string]any {
	return map[string]any{"id": pm, "object": "payment_method", "type": "card", "customer": customer, "livemode": false,
		"card": map[string]any{"brand": "visa", "last4": last4, "exp_month": 12, "exp_year": c.cfg.Now().Year() + 3, "funding": "credit"}}
}

// Charge implements edge.Checkout: the outcome the saved card's digits
// give; the PaymentIntent's event follows.
func (c *Checkout) Charge(ctx context.Context, r edge.ChargeRequest) (edge.ChargeResult, error) {
	c.mu.Lock()
	card, ok := c.cards[r.PaymentMethod]
	c.mu.Unlock()
	last4 := card[0]
	if !ok {
		last4 = CardSucceeds // saved in an earlier run
	}
	id := c.localID("pi_test_local_", r.IdempotencyKey)
	res := edge.ChargeResult{ID: id, Status: edge.ChargeSucceeded}
	typ, status := edge.EventIntentSucceeded, "succeeded"
	switch last4 {
	case CardAuthenticates:
		res.Status, res.Reason = edge.ChargeRequiresAction, "This payment requires authentication."
		typ, status = "payment_intent.requires_action", "requires_action"
	case CardDeclined:
		res.Status, res.Reason = edge.ChargeDeclined, "Your card was declined."
		typ, status = edge.EventIntentFailed, "requires_payment_method"
	}
	obj := map[string]any{"id": id, "object": "payment_intent", "amount": r.Amount, "currency": strings.ToLower(r.Currency), "status": status,
		"customer": r.Customer, "payment_method": r.PaymentMethod, "off_session": true,
		"metadata": map[string]string{"client": r.ClientID, "kind": "invoice", "document": r.Document, edge.MetaAuto: "true"}}
	if res.Reason != "" {
		obj["last_payment_error"] = map[string]any{"message": res.Reason}
	}
	payload := c.event(typ, obj)
	// Stripe's event comes after its answer: sent once the edge has it.
	go func() {
		if err := c.post(context.WithoutCancel(ctx), id, typ, payload); err != nil {
			c.cfg.Log.Error("test checkout: sending a charge's event", "payment_intent", id, "err", err)
		}
	}()
	return res, nil
}

// DetachCard implements edge.Checkout.
func (c *Checkout) DetachCard(ctx context.Context, pm string) error {
	c.mu.Lock()
	card, ok := c.cards[pm]
	delete(c.cards, pm)
	c.mu.Unlock()
	if !ok {
		return nil // saved in an earlier run: the edge records the removal itself
	}
	// The detached method's customer is null; the event says whose it was.
	last4, customer := card[0], card[1]
	return c.post(ctx, pm, edge.EventCardDetached, c.eventWith(edge.EventCardDetached, c.cardObject(pm, nil, last4), map[string]any{"customer": customer}))
}
