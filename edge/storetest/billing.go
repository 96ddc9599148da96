package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

var billingTests = []test{
	{"SavedCards", testSavedCards},
	{"SavedCardsOutOfOrder", testCardsOutOfOrder},
	{"SavedCardConcurrent", testCardConcurrent},
	{"Autopay", testAutopay},
	{"AutoPayments", testAutoPayments},
}

// card is acme's card pm, told by an event at T0+sec.
func card(pm, last4 string, sec int, detached bool) edge.WebhookRecord {
	return edge.WebhookRecord{EventID: fmt.Sprintf("evt_%s_%d_%t", pm, sec, detached), Type: "payment_method", Received: T0.Add(time.Minute),
		Card: &edge.CardChange{ClientID: "acme", Detached: detached,
			Card: events.Card{ID: pm, Brand: "visa", Last4: last4, ExpMonth: 4, ExpYear: 2029, At: T0.Add(time.Duration(sec) * time.Second)}}}
}

func savedCard(t *testing.T, s Store) *events.Card {
	t.Helper()
	b, err := s.Billing(context.Background(), "acme")
	must(t, err)
	return b.SavedCard()
}

func testSavedCards(t *testing.T, s Store) {
	ctx := context.Background()
	if b, err := s.Billing(ctx, "acme"); err != nil || b.Customer != "" || b.SavedCard() != nil || b.Autopay {
		t.Fatalf("Billing on a new store = %+v, %v; want nothing", b, err)
	}
	// A card for a client without a customer changes nothing.
	if res, err := s.RecordWebhook(ctx, card("pm_0", "0000", 1, false), nil); err != nil || res.Changed {
		t.Fatalf("a card without a customer = %+v, %v", res, err)
	}
	_, err := s.SetCustomer(ctx, "acme", "cus_1")
	must(t, err)
	if c, err := s.CustomerClient(ctx, "cus_1"); err != nil || c != "acme" {
		t.Errorf("CustomerClient(cus_1) = %q, %v; want acme", c, err)
	}
	if c, err := s.CustomerClient(ctx, "cus_9"); err != nil || c != "" {
		t.Errorf("CustomerClient(cus_9) = %q, %v; want none", c, err)
	}
	v0, _ := s.Versions(ctx)
	res, err := s.RecordWebhook(ctx, card("pm_1", "4242", 1, false), nil)
	if err != nil || !res.Changed {
		t.Fatalf("attach = %+v, %v; want changed", res, err)
	}
	if res, _ := s.RecordWebhook(ctx, card("pm_1", "4242", 1, false), nil); !res.Duplicate {
		t.Error("the same event again is not a duplicate")
	}
	want := card("pm_1", "4242", 1, false).Card.Card
	if got := savedCard(t, s); got == nil || fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Errorf("saved card = %+v; want %+v", got, want)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	if f.Card == nil || f.Card.Last4 != "4242" {
		t.Errorf("facts' card = %+v", f.Card)
	}
	if v, _ := s.Versions(ctx); v["acme"] <= v0["acme"] {
		t.Error("a saved card did not change the client's facts version")
	}
	// Another card detached: the one shown stays. This one detached: none.
	s.RecordWebhook(ctx, card("pm_9", "9999", 2, true), nil)
	if got := savedCard(t, s); got == nil || got.ID != "pm_1" {
		t.Errorf("after another card's detachment: %+v; want pm_1", got)
	}
	s.RecordWebhook(ctx, card("pm_1", "4242", 3, true), nil)
	if got := savedCard(t, s); got != nil {
		t.Errorf("after detaching it: %+v; want none", got)
	}
	if f, _ := s.Facts(ctx, "acme"); f.Card != nil {
		t.Errorf("facts still show the detached card %+v", f.Card)
	}
	// A newer card.
	s.RecordWebhook(ctx, card("pm_2", "5555", 4, false), nil)
	if got := savedCard(t, s); got == nil || got.ID != "pm_2" {
		t.Errorf("after a new card: %+v; want pm_2", got)
	}
}

// testCardsOutOfOrder: whatever order the events arrive in, the card is
// the one the latest said; a detachment that came before its attachment wins.
func testCardsOutOfOrder(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.SetCustomer(ctx, "acme", "cus_1")
	must(t, err)
	for _, r := range []edge.WebhookRecord{card("pm_1", "4242", 3, true), card("pm_1", "4242", 1, false)} {
		if _, err := s.RecordWebhook(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := savedCard(t, s); got != nil {
		t.Errorf("detached (t3) then attached (t1): %+v; want none", got)
	}
	for _, r := range []edge.WebhookRecord{card("pm_3", "3333", 6, false), card("pm_2", "2222", 5, false)} {
		s.RecordWebhook(ctx, r, nil)
	}
	if got := savedCard(t, s); got == nil || got.ID != "pm_3" {
		t.Errorf("pm_3 (t6) then pm_2 (t5): %+v; want pm_3", got)
	}
	// At equal times, removing wins.
	s.RecordWebhook(ctx, card("pm_3", "3333", 6, true), nil)
	if got := savedCard(t, s); got != nil {
		t.Errorf("detached at the time it was attached: %+v; want none", got)
	}
}

// testCardConcurrent: events about cards recorded at once by several edges
// end as the latest says.
func testCardConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.SetCustomer(ctx, "acme", "cus_1")
	must(t, err)
	Parallel(t, 10, func(i int) (edge.WebhookResult, error) {
		return s.RecordWebhook(ctx, card(fmt.Sprintf("pm_%d", i), fmt.Sprintf("%04d", i), i, false), nil)
	})
	if got := savedCard(t, s); got == nil || got.ID != "pm_9" {
		t.Errorf("after 10 at once: %+v; want pm_9, the latest", got)
	}
}

func testAutopay(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.SetAutopay(ctx, "acme", true, T0)
	WantCode(t, "SetAutopay without a customer", err, edge.ENotFound)
	_, err = s.SetCustomer(ctx, "acme", "cus_1")
	must(t, err)
	_, err = s.SetCustomer(ctx, "globex", "cus_2")
	must(t, err)
	v0, _ := s.Versions(ctx)
	if ch, err := s.SetAutopay(ctx, "acme", true, T0); err != nil || !ch {
		t.Fatalf("SetAutopay on = %v, %v; want changed", ch, err)
	}
	if ch, err := s.SetAutopay(ctx, "acme", true, T0.Add(time.Hour)); err != nil || ch {
		t.Errorf("SetAutopay on again = %v, %v; want unchanged", ch, err)
	}
	if v, _ := s.Versions(ctx); v["acme"] <= v0["acme"] {
		t.Error("autopay did not change the client's facts version")
	}
	b, err := s.Billing(ctx, "acme")
	if err != nil || !b.Autopay || !b.AutopaySince.Equal(T0) {
		t.Errorf("Billing = %+v, %v; want autopay on since T0", b, err)
	}
	if f, _ := s.Facts(ctx, "acme"); !f.Autopay || !f.AutopaySince.Equal(T0) {
		t.Errorf("facts: autopay %v since %v", f.Autopay, f.AutopaySince)
	}
	bs, err := s.AutopayClients(ctx)
	if err != nil || len(bs) != 1 || bs[0].ClientID != "acme" || bs[0].Customer != "cus_1" {
		t.Errorf("AutopayClients = %+v, %v; want acme", bs, err)
	}
	if ch, err := s.SetAutopay(ctx, "acme", false, T0.Add(2*time.Hour)); err != nil || !ch {
		t.Errorf("SetAutopay off = %v, %v", ch, err)
	}
	if bs, _ := s.AutopayClients(ctx); len(bs) != 0 {
		t.Errorf("AutopayClients after off = %+v", bs)
	}
	if b, _ := s.Billing(ctx, "acme"); b.Autopay || !b.AutopaySince.IsZero() {
		t.Errorf("after off: %+v", b)
	}
}

// testAutoPayments: charges made on the saved card are recorded through
// RecordWebhook (a new payment moved to its state) and listed apart from
// Checkout's payments; the same charge recorded twice is one.
func testAutoPayments(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.CreatePayment(ctx, payment("cs_1", "acme", "INV-1", 5000)))
	charge := func(event, to string) edge.WebhookResult {
		t.Helper()
		p := edge.PaymentRecord{ClientID: "acme", Payment: events.Payment{ID: "pi_1", Kind: events.ForInvoice, Document: "INV-1",
			Amount: 7000, Currency: "USD", Email: "ada@acme.example", Created: T0, Auto: true}}
		res, err := s.RecordWebhook(ctx, edge.WebhookRecord{EventID: event, Type: "autopay.charge", Received: T0.Add(time.Minute), PaymentID: "pi_1",
			To: to, Method: "card", Reference: "pi_1", NewPayment: &p}, nil)
		must(t, err)
		return res
	}
	if res := charge("charge:pi_1:processing", events.PaymentProcessing); !res.Changed || res.Payment.State != events.PaymentProcessing || !res.Payment.Auto {
		t.Errorf("the charge recorded = %+v", res)
	}
	charge("evt_pi_1_succeeded", events.PaymentPaid)
	charge("evt_pi_1_succeeded", events.PaymentPaid)
	ps, err := s.AutoPayments(ctx, "acme", "INV-1")
	if err != nil || len(ps) != 1 || ps[0].ID != "pi_1" || ps[0].State != events.PaymentPaid || !ps[0].Auto || ps[0].Amount != 7000 {
		t.Fatalf("AutoPayments = %+v, %v; want pi_1 paid", ps, err)
	}
	if p, _ := s.Payment(ctx, "cs_1"); p.Auto {
		t.Error("a Checkout payment is marked auto")
	}
	if f, _ := s.Facts(ctx, "acme"); len(f.Payments) != 1 || !f.Payments[0].Auto {
		t.Errorf("facts' payments = %+v; want the paid charge, auto", f.Payments)
	}
	if n, _ := s.Settling(ctx, "acme", "INV-1"); n != 7000 {
		t.Errorf("Settling = %d; want the charge's 7000", n)
	}
}
