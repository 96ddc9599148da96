package stripepay_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/stripe/stripe-go/v76/webhook"
)

// TestCardsAgainstStripeMock: a Checkout Session saving the card on the
// customer, subscriptions starting later (a trial's end, a billing anchor),
// an off-session charge of a saved card and detaching it are requests
// Stripe's API accepts.
func TestCardsAgainstStripeMock(t *testing.T) {
	co, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIURL: mock(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	later := time.Now().Add(31 * time.Minute)
	for _, r := range []edge.CheckoutRequest{
		{Kind: "invoice", Document: "INV-1", Amount: 12345, SaveCard: true, Customer: "cus_123"},
		{Kind: "subscription", Document: "SUB-1", Amount: 78500, Recurring: &edge.Recurring{Interval: "month", Count: 1}, Customer: "cus_123", TrialEnd: time.Now().Add(72 * time.Hour)},
		{Kind: "subscription", Document: "SUB-2", Amount: 78500, Recurring: &edge.Recurring{Interval: "month", Count: 1}, Customer: "cus_123", BillingAnchor: time.Now().Add(30 * time.Hour)},
	} {
		r.ClientID, r.Description, r.Currency, r.ExpiresAt = "acme", r.Document+" — Care", "USD", later
		r.SuccessURL, r.CancelURL, r.IdempotencyKey = "http://127.0.0.1/c/acme/paid/{CHECKOUT_SESSION_ID}", "http://127.0.0.1/c/acme/", "hub-test-"+r.Document
		if s, err := co.CreateSession(ctx, r); err != nil || !strings.HasPrefix(s.ID, "cs_") {
			t.Errorf("CreateSession(%s) = %+v, %v", r.Document, s, err)
		}
	}
	res, err := co.Charge(ctx, edge.ChargeRequest{ClientID: "acme", Document: "INV-1", Description: "Invoice INV-1 — Care", Email: "a@example.com",
		Customer: "cus_123", PaymentMethod: "pm_123", Amount: 12345, Currency: "USD", IdempotencyKey: "hub-autopay-test"})
	if err != nil || !strings.HasPrefix(res.ID, "pi_") || res.Status == "" {
		t.Errorf("Charge = %+v, %v", res, err)
	}
	if err := co.DetachCard(ctx, "pm_123"); err != nil {
		t.Errorf("DetachCard: %v", err)
	}
	down, _ := stripepay.New(stripepay.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIURL: "http://127.0.0.1:1"})
	if _, err := down.Charge(ctx, edge.ChargeRequest{Customer: "cus_1", PaymentMethod: "pm_1", Amount: 1, Currency: "USD"}); err == nil {
		t.Error("a charge Stripe never answered is not an error")
	}
}

// signedWith is a signed event with the previous values of what changed.
func signedWith(typ string, obj, prev any) ([]byte, string) {
	b, _ := json.Marshal(map[string]any{"id": "evt_1", "object": "event", "api_version": stripepay.APIVersion, "created": time.Now().Unix(),
		"type": typ, "data": map[string]any{"object": obj, "previous_attributes": prev}})
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: b, Secret: secret})
	return sp.Payload, sp.Header
}

// TestParseCardEvents reads payment methods (a detached one's customer
// from the previous attributes) and PaymentIntents (ids as strings or
// expanded objects, the last error's message).
func TestParseCardEvents(t *testing.T) {
	co := stripepay.NewWebhooks(secret)
	card := map[string]any{"brand": "visa", "last4": "4242", "exp_month": 4, "exp_year": 2029}
	body, sig := signed(t, edge.EventCardAttached, map[string]any{"id": "pm_1", "object": "payment_method", "type": "card", "customer": "cus_1", "card": card})
	ev, err := co.ParseWebhook(body, sig)
	if err != nil || ev.Card == nil || *ev.Card != (edge.CardObject{ID: "pm_1", Customer: "cus_1", Type: "card", Brand: "visa", Last4: "4242", ExpMonth: 4, ExpYear: 2029}) {
		t.Errorf("attached = %+v, %v", ev.Card, err)
	}
	body, sig = signedWith(edge.EventCardDetached, map[string]any{"id": "pm_1", "object": "payment_method", "type": "card", "customer": nil, "card": card}, map[string]any{"customer": "cus_1"})
	if ev, err := co.ParseWebhook(body, sig); err != nil || ev.Card == nil || ev.Card.Customer != "cus_1" || ev.Card.ID != "pm_1" {
		t.Errorf("detached = %+v, %v; want pm_1 of cus_1", ev.Card, err)
	}
	body, sig = signed(t, edge.EventIntentFailed, map[string]any{"id": "pi_1", "object": "payment_intent", "amount": 500, "currency": "usd", "status": "requires_payment_method",
		"customer": map[string]any{"id": "cus_1"}, "payment_method": "pm_1", "metadata": map[string]string{"auto": "true", "client": "acme"},
		"last_payment_error": map[string]any{"message": "Your card was declined."}})
	ev, err = co.ParseWebhook(body, sig)
	if err != nil || ev.Intent == nil || ev.Intent.ID != "pi_1" || ev.Intent.Amount != 500 || ev.Intent.Currency != "USD" || ev.Intent.Customer != "cus_1" ||
		ev.Intent.Method != "pm_1" || ev.Intent.Metadata[edge.MetaAuto] != "true" || ev.Intent.Reason != "Your card was declined." {
		t.Errorf("payment_intent.payment_failed = %+v, %v", ev.Intent, err)
	}
}

func FuzzParseCardObjects(f *testing.F) {
	co := stripepay.NewWebhooks(secret)
	f.Add("payment_method.attached", []byte(`{"id":"pm_1","type":"card","customer":"cus_1","card":{"brand":"visa","last4":"4242","exp_month":4,"exp_year":2029}}`))
	f.Add("payment_method.detached", []byte(`{"id":"pm_1","type":"card","customer":null,"card":null}`))
	f.Add("payment_intent.succeeded", []byte(`{"id":"pi_1","amount":5,"customer":{"id":"cus_1"},"payment_method":{"id":"pm_1"},"metadata":{"auto":"true"}}`))
	f.Add("payment_intent.payment_failed", []byte(`{"last_payment_error":7}`))
	f.Fuzz(func(t *testing.T, typ string, obj []byte) {
		if !json.Valid(obj) {
			return
		}
		body, sig := signed(t, typ, json.RawMessage(obj))
		ev, err := co.ParseWebhook(body, sig)
		if err != nil {
			return
		}
		switch {
		case strings.HasPrefix(typ, "payment_method.") && ev.Card == nil:
			t.Errorf("accepted %s without its payment method: %s", typ, obj)
		case strings.HasPrefix(typ, "payment_intent.") && ev.Intent == nil:
			t.Errorf("accepted %s without its PaymentIntent: %s", typ, obj)
		}
	})
}

// TestDetachCardDetachedAlready: a card Stripe no longer has on the
// customer (removed in the customer portal) is removed, not an error; a
// Stripe that fails is.
func TestDetachCardDetachedAlready(t *testing.T) {
	for _, tc := range []struct {
		status  int
		body    string
		wantErr bool
	}{
		{400, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such PaymentMethod: 'pm_1'"}}`, false},
		{400, `{"error":{"type":"invalid_request_error","message":"The payment method you provided is not attached to a customer so detachment is impossible."}}`, false},
		{400, `{"error":{"type":"invalid_request_error","code":"parameter_invalid","message":"Invalid request"}}`, true},
		{500, `{"error":{"type":"api_error","message":"down"}}`, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			w.Write([]byte(tc.body))
		}))
		co, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		if err := co.DetachCard(context.Background(), "pm_1"); (err != nil) != tc.wantErr {
			t.Errorf("DetachCard after %d %s = %v; want error %v", tc.status, tc.body, err, tc.wantErr)
		}
		srv.Close()
	}
}
