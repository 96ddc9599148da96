package stripepay_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/stripe/stripe-go/v76/webhook"
)

// TestSubscriptionAgainstStripeMock: the customer, the Checkout Session in
// subscription mode (recurring price data, the customer, metadata on the
// subscription) and the customer portal session are requests Stripe's API
// accepts.
func TestSubscriptionAgainstStripeMock(t *testing.T) {
	co, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIURL: mock(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cu, err := co.CreateCustomer(ctx, edge.CustomerRequest{ClientID: "acme", Name: "Acme", Email: "a@example.com", IdempotencyKey: "hub-customer-acme"})
	if err != nil || !strings.HasPrefix(cu, "cus_") {
		t.Fatalf("CreateCustomer = %q, %v", cu, err)
	}
	s, err := co.CreateSession(ctx, edge.CheckoutRequest{
		ClientID: "acme", Kind: "subscription", Document: "SUB-1", Description: "Subscription SUB-1 — Care", Email: "a@example.com",
		Amount: 78500, Currency: "USD", Recurring: &edge.Recurring{Interval: "month", Count: 3}, Customer: cu,
		SuccessURL: "http://127.0.0.1/c/acme/subscribed/SUB-1", CancelURL: "http://127.0.0.1/c/acme/subscriptions/SUB-1/",
		IdempotencyKey: "hub-test-sub-1", ExpiresAt: time.Now().Add(31 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.ID, "cs_") || s.URL == "" {
		t.Errorf("session = %+v", s)
	}
	if err := co.EndSubscription(ctx, "sub_123"); err != nil {
		t.Errorf("EndSubscription: %v", err)
	}
	u, err := co.PortalSession(ctx, cu, "http://127.0.0.1/c/acme/subscriptions/SUB-1/")
	if err != nil || u == "" {
		t.Errorf("PortalSession = %q, %v", u, err)
	}
}

func signed(t testing.TB, typ string, obj any) ([]byte, string) {
	b, _ := json.Marshal(map[string]any{"id": "evt_1", "object": "event", "api_version": stripepay.APIVersion, "created": time.Now().Unix(),
		"type": typ, "data": map[string]any{"object": obj}})
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: b, Secret: secret})
	return sp.Payload, sp.Header
}

// TestParseSubscriptionEvents reads the fields the edge checks from each
// event type, ids given as strings or as expanded objects.
func TestParseSubscriptionEvents(t *testing.T) {
	co := stripepay.NewWebhooks(secret)
	meta := map[string]string{"client": "acme", "document": "SUB-1", "kind": "subscription"}
	body, sig := signed(t, "invoice.paid", map[string]any{"id": "in_1", "object": "invoice", "customer": map[string]any{"id": "cus_1", "object": "customer"},
		"subscription": "sub_1", "amount_paid": 785, "amount_due": 785, "currency": "usd", "payment_intent": "pi_1", "period_start": 100,
		"subscription_details": map[string]any{"metadata": meta},
		"lines":                map[string]any{"data": []any{map[string]any{"type": "invoiceitem"}, map[string]any{"type": "subscription", "period": map[string]any{"start": 1800000000}}}}})
	ev, err := co.ParseWebhook(body, sig)
	if err != nil {
		t.Fatal(err)
	}
	want := edge.InvoiceObject{ID: "in_1", Subscription: "sub_1", Customer: "cus_1", AmountPaid: 785, AmountDue: 785, Currency: "USD", Metadata: meta,
		PeriodStart: time.Unix(1800000000, 0).UTC(), PaymentIntent: "pi_1"}
	if ev.Invoice == nil || ev.Invoice.ID != want.ID || ev.Invoice.Customer != want.Customer || ev.Invoice.Subscription != want.Subscription ||
		ev.Invoice.AmountPaid != 785 || ev.Invoice.Currency != "USD" || ev.Invoice.Metadata["document"] != "SUB-1" || !ev.Invoice.PeriodStart.Equal(want.PeriodStart) ||
		ev.Invoice.PaymentIntent != "pi_1" {
		t.Errorf("invoice = %+v; want %+v", ev.Invoice, want)
	}
	body, sig = signed(t, "customer.subscription.deleted", map[string]any{"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "canceled", "metadata": meta})
	if ev, err := co.ParseWebhook(body, sig); err != nil || ev.Subscription == nil || ev.Subscription.ID != "sub_1" || ev.Subscription.Customer != "cus_1" ||
		ev.Subscription.Status != "canceled" || ev.Subscription.Metadata["client"] != "acme" {
		t.Errorf("subscription = %+v, %v", ev.Subscription, err)
	}
	body, sig = signed(t, "checkout.session.completed", map[string]any{"id": "cs_1", "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
		"amount_total": 785, "currency": "usd", "customer": "cus_1", "subscription": "sub_1", "metadata": meta})
	if ev, err := co.ParseWebhook(body, sig); err != nil || ev.Session == nil || ev.Session.Mode != "subscription" || ev.Session.Customer != "cus_1" || ev.Session.Subscription != "sub_1" {
		t.Errorf("session = %+v, %v", ev.Session, err)
	}
	body, sig = signed(t, "invoice.paid", "not an invoice")
	if _, err := co.ParseWebhook(body, sig); err == nil {
		t.Error("an invoice event whose object is not an invoice was accepted")
	}
}

// FuzzParseSubscriptionObjects: whatever object a correctly signed invoice
// or subscription event carries, ParseWebhook does not panic, and when it
// accepts the event it gives the object.
func FuzzParseSubscriptionObjects(f *testing.F) {
	co := stripepay.NewWebhooks(secret)
	f.Add("invoice.paid", []byte(`{"id":"in_1","customer":"cus_1","subscription":{"id":"sub_1"},"amount_paid":5,"lines":{"data":[{"type":"subscription","period":{"start":1}}]}}`))
	f.Add("customer.subscription.updated", []byte(`{"id":"sub_1","customer":{"id":"cus_1"},"status":"past_due","metadata":{"kind":"subscription"}}`))
	f.Add("invoice.payment_failed", []byte(`{"lines":null,"subscription_details":null,"customer":7}`))
	f.Add("invoice.paid", []byte(`[]`))
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
		case strings.HasPrefix(typ, "invoice.") && ev.Invoice == nil:
			t.Errorf("accepted %s without its invoice: %s", typ, obj)
		case strings.HasPrefix(typ, "customer.subscription.") && ev.Subscription == nil:
			t.Errorf("accepted %s without its subscription: %s", typ, obj)
		}
	})
}
