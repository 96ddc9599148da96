package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

var subscriptionTests = []test{
	{"Customers", testCustomers},
	{"CustomerConcurrent", testCustomerConcurrent},
	{"StartSubscription", testStartSubscription},
	{"SubscriptionWebhooks", testSubscriptionWebhooks},
	{"SubscriptionPeriodDedupConcurrent", testPeriodDedup},
}

// started is a pending subscription of acme's, started at T0.
func started(session string) edge.SubscriptionRecord {
	return edge.SubscriptionRecord{
		Subscription: events.Subscription{Number: "SUB-1", State: events.BillingPending, Customer: "cus_1", Amount: 925, Currency: "USD"},
		ClientID:     "acme", Session: session, URL: "https://checkout.example/" + session, Expires: T0.Add(time.Hour), Email: "ada@acme.example", Created: T0,
	}
}

func testCustomers(t *testing.T, s Store) {
	ctx := context.Background()
	if id, err := s.Customer(ctx, "acme"); err != nil || id != "" {
		t.Fatalf("Customer on a new store = %q, %v; want \"\"", id, err)
	}
	if id, err := s.SetCustomer(ctx, "acme", "cus_1"); err != nil || id != "cus_1" {
		t.Fatalf("SetCustomer = %q, %v; want cus_1", id, err)
	}
	if id, err := s.SetCustomer(ctx, "acme", "cus_2"); err != nil || id != "cus_1" {
		t.Errorf("SetCustomer again = %q, %v; want the first, cus_1", id, err)
	}
	if id, err := s.Customer(ctx, "acme"); err != nil || id != "cus_1" {
		t.Errorf("Customer = %q, %v; want cus_1", id, err)
	}
	if id, _ := s.Customer(ctx, "globex"); id != "" {
		t.Errorf("globex's customer = %q; want none", id)
	}
}

// testCustomerConcurrent: of edges setting a customer at once, all get the first.
func testCustomerConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	got := Parallel(t, 10, func(i int) (string, error) { return s.SetCustomer(ctx, "acme", fmt.Sprintf("cus_%d", i)) })
	for _, id := range got {
		if id != got[0] {
			t.Fatalf("SetCustomer at once returned %v; want one customer for all", got)
		}
	}
	if id, _ := s.Customer(ctx, "acme"); id != got[0] {
		t.Errorf("Customer = %q; want %q", id, got[0])
	}
}

func testStartSubscription(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.Subscription(ctx, "acme", "SUB-1")
	WantCode(t, "Subscription(unknown)", err, edge.ENotFound)
	must(t, s.StartSubscription(ctx, started("cs_1")))
	got, err := s.Subscription(ctx, "acme", "SUB-1")
	must(t, err)
	if want := started("cs_1"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Subscription = %+v\nwant %+v", got, want)
	}
	// Started again while pending: the new session replaces the old.
	again := started("cs_2")
	again.Amount = 1000
	must(t, s.StartSubscription(ctx, again))
	if got, _ := s.Subscription(ctx, "acme", "SUB-1"); got.Session != "cs_2" || got.Amount != 1000 {
		t.Errorf("after a second start: session %q amount %d; want cs_2, 1000", got.Session, got.Amount)
	}
	// Once active, starting is a conflict; the facts show it, not pending ones.
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	if len(f.Subscriptions) != 0 {
		t.Errorf("Facts list a pending subscription: %+v", f.Subscriptions)
	}
	res, err := s.RecordWebhook(ctx, edge.WebhookRecord{EventID: "evt_1", Type: edge.EventSessionCompleted, Received: T0,
		Sub: &edge.SubscriptionChange{ClientID: "acme", Number: "SUB-1", State: events.BillingActive, At: T0, Ref: "sub_1", Customer: "cus_1"}}, nil)
	must(t, err)
	if !res.Changed {
		t.Errorf("activating: Changed = false")
	}
	WantCode(t, "StartSubscription of an active one", s.StartSubscription(ctx, started("cs_3")), edge.EConflict)
	f, err = s.Facts(ctx, "acme")
	must(t, err)
	if len(f.Subscriptions) != 1 || f.Subscriptions[0].State != events.BillingActive || f.Subscriptions[0].Ref != "sub_1" || !f.Subscriptions[0].Started.Equal(T0) {
		t.Errorf("Facts.Subscriptions = %+v; want SUB-1 active since T0 as sub_1", f.Subscriptions)
	}
	all, err := s.Subscriptions(ctx)
	must(t, err)
	if len(all) != 1 || all[0].Session != "cs_2" || all[0].Ref != "sub_1" {
		t.Errorf("Subscriptions = %+v", all)
	}
}

// period is the webhook record of a period's invoice event.
func period(event, invoice, to string, at time.Time, k int) edge.WebhookRecord {
	state := events.BillingActive
	if to == events.PaymentFailed {
		state = events.BillingPastDue
	}
	return edge.WebhookRecord{EventID: event, Type: edge.EventInvoicePaid, Received: at, PaymentID: invoice, To: to, Method: "card", Reference: "pi_" + invoice,
		NewPayment: &edge.PaymentRecord{ClientID: "acme", Payment: events.Payment{ID: invoice, Kind: events.ForSubscription, Document: "SUB-1",
			Amount: 925, Currency: "USD", Email: "ada@acme.example", Created: at, Period: T0.AddDate(0, k, 0)}},
		Sub: &edge.SubscriptionChange{ClientID: "acme", Number: "SUB-1", State: state, At: at, Ref: "sub_1", Customer: "cus_1"}}
}

// testSubscriptionWebhooks: periods become payments (numbered with the
// client's others, their period kept), states move forward by the
// events' times whatever order they come in, cancelled is final.
func testSubscriptionWebhooks(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.StartSubscription(ctx, started("cs_1")))
	must(t, s.CreatePayment(ctx, payment("cs_inv", "acme", "INV-1", 100)))
	mails := 0
	mail := func(p edge.PaymentRecord) ([]edge.Message, error) {
		mails++
		return []edge.Message{{ID: fmt.Sprintf("m%d-%s@hub.example", mails, p.ID), Subject: p.State}}, nil
	}
	// The first period's invoice.paid before checkout.session.completed.
	res, err := s.RecordWebhook(ctx, period("evt_p1", "in_1", events.PaymentPaid, T0.Add(time.Second), 0), mail)
	must(t, err)
	if !res.Changed || res.Payment.State != events.PaymentPaid || res.Payment.Seq != 2 || !res.Payment.Period.Equal(T0) {
		t.Errorf("first period: %+v; want paid, seq 2, period T0", res)
	}
	res, err = s.RecordWebhook(ctx, edge.WebhookRecord{EventID: "evt_done", Type: edge.EventSessionCompleted, Received: T0.Add(2 * time.Second),
		Sub: &edge.SubscriptionChange{ClientID: "acme", Number: "SUB-1", State: events.BillingActive, At: T0, Ref: "sub_1", Customer: "cus_1"}}, mail)
	must(t, err)
	if res.Changed {
		t.Errorf("checkout.session.completed after the period's payment changed something: %+v", res)
	}
	// Second period fails, then is paid on a retry; a late failure changes nothing.
	must2 := func(w edge.WebhookRecord) edge.WebhookResult {
		t.Helper()
		r, err := s.RecordWebhook(ctx, w, mail)
		must(t, err)
		return r
	}
	if r := must2(period("evt_f2", "in_2", events.PaymentFailed, T0.Add(time.Hour), 1)); !r.Changed || r.Payment.State != events.PaymentFailed {
		t.Errorf("second period failing: %+v", r)
	}
	if r, _ := s.Subscription(ctx, "acme", "SUB-1"); r.State != events.BillingPastDue {
		t.Errorf("after a failed period: state %q; want past_due", r.State)
	}
	if r := must2(period("evt_p2", "in_2", events.PaymentPaid, T0.Add(2*time.Hour), 1)); !r.Changed || r.Payment.State != events.PaymentPaid {
		t.Errorf("second period paid on retry: %+v", r)
	}
	if r := must2(period("evt_f2_late", "in_2", events.PaymentFailed, T0.Add(90*time.Minute), 1)); r.Changed {
		t.Errorf("a late failure of a paid period changed it: %+v", r)
	}
	if r, _ := s.Subscription(ctx, "acme", "SUB-1"); r.State != events.BillingActive || !r.Started.Equal(T0.Add(time.Second)) {
		t.Errorf("after the retry: %+v; want active, started at the first period's event", r)
	}
	// Cancelled, then an older update: still cancelled.
	cancel := edge.WebhookRecord{EventID: "evt_del", Type: edge.EventSubscriptionDeleted, Received: T0.Add(3 * time.Hour),
		Sub: &edge.SubscriptionChange{ClientID: "acme", Number: "SUB-1", State: events.BillingCancelled, At: T0.Add(3 * time.Hour), Ref: "sub_1", Customer: "cus_1"}}
	if r := must2(cancel); !r.Changed {
		t.Errorf("cancelling: Changed = false")
	}
	if r := must2(edge.WebhookRecord{EventID: "evt_upd", Type: edge.EventSubscriptionUpdated, Received: T0.Add(4 * time.Hour),
		Sub: &edge.SubscriptionChange{ClientID: "acme", Number: "SUB-1", State: events.BillingActive, At: T0.Add(4 * time.Hour), Ref: "sub_1", Customer: "cus_1"}}); r.Changed {
		t.Errorf("an update after cancelling changed it: %+v", r)
	}
	// A record with a problem changes nothing, and is listed.
	bad := period("evt_bad", "in_3", events.PaymentPaid, T0.Add(5*time.Hour), 2)
	bad.Problem = "amount 1 does not match the 925 recorded"
	if r := must2(bad); r.Changed {
		t.Errorf("a record with a problem changed something: %+v", r)
	}
	if _, err := s.Payment(ctx, "in_3"); edge.ErrorCode(err) != edge.ENotFound {
		t.Errorf("a refused period's payment was recorded: %v", err)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	var periods []string
	for _, p := range f.Payments {
		if p.Kind == events.ForSubscription {
			periods = append(periods, fmt.Sprintf("%s %s %d %s", p.ID, p.State, p.Seq, p.Period.Format(time.DateOnly)))
		}
	}
	if want := "[in_1 paid 2 2026-03-02 in_2 paid 3 2026-04-02]"; fmt.Sprint(periods) != want {
		t.Errorf("Facts' periods = %v; want %s", periods, want)
	}
	if len(f.Subscriptions) != 1 || f.Subscriptions[0].State != events.BillingCancelled {
		t.Errorf("Facts.Subscriptions = %+v; want cancelled", f.Subscriptions)
	}
	if mails != 3 { // paid, failed, paid
		t.Errorf("mail called %d times; want 3 (each period's state change)", mails)
	}
	probs, err := s.WebhookProblems(ctx, 10)
	must(t, err)
	if len(probs) != 1 || probs[0].EventID != "evt_bad" {
		t.Errorf("WebhookProblems = %+v; want evt_bad", probs)
	}
}

// testPeriodDedup: one period's event delivered 10 times at once records
// one payment, moves once and queues its mail once.
func testPeriodDedup(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.StartSubscription(ctx, started("cs_1")))
	res := Parallel(t, 10, func(int) (edge.WebhookResult, error) {
		return s.RecordWebhook(ctx, period("evt_1", "in_1", events.PaymentPaid, T0, 0), func(p edge.PaymentRecord) ([]edge.Message, error) {
			return []edge.Message{{ID: "receipt-" + p.ID + "@hub.example", Subject: "Receipt"}}, nil
		})
	})
	changed := 0
	for _, r := range res {
		if r.Changed {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("one period's event recorded 10 times at once changed %d times; want 1", changed)
	}
	if c, err := s.MailCounts(ctx); err != nil || c[edge.MailQueued] != 1 {
		t.Errorf("MailCounts = %v, %v; want 1 queued", c, err)
	}
	// The same period told by another event id (Stripe's invoice.paid and a
	// retry's) is the same payment: nothing more.
	r, err := s.RecordWebhook(ctx, period("evt_2", "in_1", events.PaymentPaid, T0, 0), nil)
	must(t, err)
	if r.Changed || r.Payment.Seq != 1 {
		t.Errorf("the period again under another event: %+v", r)
	}
}
