package edge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/hubhq/hub/generator/events"
)

// subEvent is a signed-payload body of a Stripe event about obj, created at.
func subEvent(id, typ string, at time.Time, obj map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripepay.APIVersion, "created": at.Unix(),
		"type": typ, "data": map[string]any{"object": obj}})
	return b
}

// invoiceObj is a subscription's invoice for the period starting at start.
func invoiceObj(id, customer, sub string, amount int64, currency string, meta map[string]string, start time.Time) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": customer, "subscription": sub, "amount_paid": amount, "amount_due": amount,
		"currency": currency, "payment_intent": "pi_" + id, "subscription_details": map[string]any{"metadata": meta},
		"lines": map[string]any{"data": []any{map[string]any{"type": "subscription", "period": map[string]any{"start": start.Unix()}}}}}
}

// TestSubscriptionJourney: start (amount and interval from the signed
// directory, the customer made once) → invoice.paid before
// checkout.session.completed → a duplicate → a second period → mismatches
// refused and listed → a failed period (past due, both told) → an older
// update that changes nothing → deleted (cancelled, final); the pages and
// the receipts follow; managing opens the customer portal; delegates are refused.
func TestSubscriptionJourney(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, nil)
	const client, number = "whitfield-dental", "SUB-3001"
	base := "/c/" + client + "/subscriptions/" + number + "/"
	owner, doc, ok := f.srv.Build().Subscription(number)
	if !ok || owner != client || doc.Kind != "subscription" || doc.Total != 78500 || doc.Currency != "USD" || doc.Interval != "month" ||
		doc.Every != 1 || doc.Start != "2026-11-28" || doc.State != "active" || doc.Billing != "" || doc.Path != "subscriptions/SUB-3001/" {
		t.Fatalf("directory entry of %s = %s %+v", number, owner, doc)
	}
	c := f.login(client)
	page := readBody(t, f.do(c, "GET", base, nil))
	if !strings.Contains(page, `action="`+base+`start"`) || strings.Contains(page, "Active since") {
		t.Errorf("a subscription not started has no Start form:\n%.2000s", page)
	}
	if r := f.do(f.delegate(client, "Sam"), "POST", base+"start", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("delegate start = %d; want 403", r.StatusCode)
	}
	for _, action := range []string{"start", "manage"} {
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
			if r := f.do(c, "POST", base+action, url.Values{}, h...); r.StatusCode != http.StatusForbidden {
				t.Errorf("cross-origin POST %s (%s) = %d; want 403", action, h[0], r.StatusCode)
			}
		}
		if r := f.do(c, "GET", base+action, nil); r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s = %d; want 405", action, r.StatusCode)
		}
	}
	if r := f.do(c, "POST", "/c/okafor-residence/subscriptions/SUB-3001/start", url.Values{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("starting another client's subscription = %d; want 404", r.StatusCode)
	}
	if r := f.do(c, "POST", base+"manage", url.Values{}); r.StatusCode != http.StatusConflict {
		t.Errorf("managing a subscription not started = %d; want 409", r.StatusCode)
	}
	if fs.count() != 0 || len(fs.customers) != 0 {
		t.Errorf("refused starts reached Stripe: %d sessions, %d customers", fs.count(), len(fs.customers))
	}
	// A posted amount is ignored; a double click gets the same session.
	r := f.do(c, "POST", base+"start", url.Values{"amount": {"1"}, "line_items[0][price_data][unit_amount]": {"1"}})
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "https://checkout.stripe.com/") {
		t.Fatalf("start = %d %q\n%s", r.StatusCode, loc, readBody(t, r))
	}
	if again := f.do(c, "POST", base+"start", url.Values{}); again.Header.Get("Location") != loc {
		t.Errorf("a double click went to %q; want %q", again.Header.Get("Location"), loc)
	}
	sent := fs.last()
	for k, want := range map[string]string{
		"mode": "subscription", "line_items[0][price_data][unit_amount]": "78500", "line_items[0][price_data][currency]": "usd",
		"line_items[0][price_data][recurring][interval]": "month", "line_items[0][price_data][recurring][interval_count]": "1",
		"customer": "cus_fake_1", "subscription_data[metadata][kind]": "subscription", "subscription_data[metadata][document]": number,
		"subscription_data[metadata][client]": client, "metadata[kind]": "subscription",
	} {
		if got := sent.Get(k); got != want {
			t.Errorf("Checkout Session asked %s = %q; want %q", k, got, want)
		}
	}
	if sent.Get("customer_email") != "" || sent.Get("payment_intent_data[metadata][kind]") != "" {
		t.Errorf("subscription mode with customer_email or payment_intent_data: %v", sent)
	}
	if len(fs.customers) != 1 || fs.customers[0].Get("email") != dana || fs.customers[0].Get("metadata[client]") != client {
		t.Errorf("customers made = %v; want one for %s", fs.customers, client)
	}
	if cu, _ := f.store.Customer(context.Background(), client); cu != "cus_fake_1" {
		t.Errorf("recorded customer = %q", cu)
	}
	rec, err := f.store.Subscription(context.Background(), client, number)
	if err != nil || rec.State != events.BillingPending || rec.Amount != 78500 || !strings.HasSuffix(loc, rec.Session) {
		t.Fatalf("recorded %+v, %v", rec, err)
	}
	if body := readBody(t, f.do(c, "GET", "/c/"+client+"/subscribed/"+number, nil)); !strings.Contains(body, "confirming subscription") {
		t.Errorf("return page before the webhook:\n%.600s", body)
	}

	meta := map[string]string{"client": client, "document": number, "kind": "subscription"}
	t0 := time.Now().Add(-time.Minute)
	p1, p2 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC), time.Date(2026, 12, 28, 8, 0, 0, 0, time.UTC)
	send := func(body []byte) {
		t.Helper()
		if r := f.sendWebhook(body, time.Time{}); r.StatusCode != 200 {
			t.Fatalf("webhook = %d", r.StatusCode)
		}
	}
	state := func() string {
		r, _ := f.store.Subscription(context.Background(), client, number)
		return r.State
	}
	// The first period's invoice.paid comes before checkout.session.completed.
	send(subEvent("evt_inv1", edge.EventInvoicePaid, t0, invoiceObj("in_1", "cus_fake_1", "sub_1", 78500, "usd", meta, p1)))
	send(subEvent("evt_done", edge.EventSessionCompleted, t0, map[string]any{"id": rec.Session, "object": "checkout.session", "mode": "subscription",
		"payment_status": "paid", "amount_total": 78500, "currency": "usd", "customer": "cus_fake_1", "subscription": "sub_1", "metadata": meta}))
	send(subEvent("evt_inv1", edge.EventInvoicePaid, t0, invoiceObj("in_1", "cus_fake_1", "sub_1", 78500, "usd", meta, p1))) // a duplicate
	if s := state(); s != events.BillingActive {
		t.Fatalf("state after the first period = %q; want active", s)
	}
	send(subEvent("evt_inv2", edge.EventInvoicePaid, t0.Add(time.Second), invoiceObj("in_2", "cus_fake_1", "sub_1", 78500, "usd", meta, p2)))
	// Mismatches: recorded with their problem, nothing paid.
	for id, obj := range map[string]map[string]any{
		"evt_amount":   invoiceObj("in_x1", "cus_fake_1", "sub_1", 100, "usd", meta, p2),
		"evt_currency": invoiceObj("in_x2", "cus_fake_1", "sub_1", 78500, "eur", meta, p2),
		"evt_customer": invoiceObj("in_x3", "cus_other", "sub_1", 78500, "usd", meta, p2),
		"evt_sub":      invoiceObj("in_x4", "cus_fake_1", "sub_other", 78500, "usd", meta, p2),
	} {
		send(subEvent(id, edge.EventInvoicePaid, t0.Add(2*time.Second), obj))
	}
	probs, err := f.store.WebhookProblems(context.Background(), 20)
	if err != nil || len(probs) != 4 {
		t.Errorf("problems = %+v, %v; want the 4 mismatches", probs, err)
	}
	for _, p := range probs {
		if _, err := f.store.Payment(context.Background(), p.PaymentID); !strings.HasPrefix(p.PaymentID, "in_x") || err == nil {
			t.Errorf("a mismatched invoice was recorded as a payment, or listed without its id: %+v", p)
		}
	}
	f.waitUntil("the rebuild showing two paid periods", func() bool {
		_, d, _ := f.srv.Build().Subscription(number)
		return d.Billing == events.BillingActive && strings.Contains(readBody(t, f.do(c, "GET", base, nil)), "SUB-3001-S2")
	})
	page = readBody(t, f.do(c, "GET", base, nil))
	for _, want := range []string{"Active since", "/c/" + client + "/receipts/SUB-3001-S1/", "/c/" + client + "/receipts/SUB-3001-S2/", `action="` + base + `manage"`} {
		if !strings.Contains(page, want) {
			t.Errorf("active subscription page lacks %q", want)
		}
	}
	if strings.Contains(page, `action="`+base+`start"`) {
		t.Error("an active subscription still offers Start")
	}
	for _, id := range []string{"SUB-3001-S1", "SUB-3001-S2"} {
		if r := f.do(c, "GET", "/c/"+client+"/receipts/"+id+"/", nil); r.StatusCode != 200 {
			t.Errorf("receipt %s = %d", id, r.StatusCode)
		}
	}
	if receipts := readBody(t, f.do(c, "GET", "/c/"+client+"/receipts/", nil)); !strings.Contains(receipts, "SUB-3001-S2") {
		t.Error("the receipts list lacks the subscription's payments")
	}
	if r := f.do(c, "GET", "/c/"+client+"/subscribed/"+number, nil); r.StatusCode != 303 || r.Header.Get("Location") != base {
		t.Errorf("return page once active = %d %q; want 303 to the subscription", r.StatusCode, r.Header.Get("Location"))
	}
	if r := f.do(c, "POST", base+"start", url.Values{}); r.StatusCode != http.StatusConflict {
		t.Errorf("starting an active subscription = %d; want 409", r.StatusCode)
	}
	f.awaitMail("two receipts", func(m edge.Message) bool { return strings.Contains(m.Text, "/receipts/SUB-3001-S1/") },
		func(m edge.Message) bool { return strings.Contains(m.Text, "/receipts/SUB-3001-S2/") })

	// A failed period: past due, the client and the business told; an
	// update older than the failure changes nothing.
	p3 := time.Date(2027, 1, 28, 8, 0, 0, 0, time.UTC)
	send(subEvent("evt_fail3", edge.EventInvoiceFailed, t0.Add(3*time.Second), invoiceObj("in_3", "cus_fake_1", "sub_1", 78500, "usd", meta, p3)))
	send(subEvent("evt_upd_old", edge.EventSubscriptionUpdated, t0.Add(2*time.Second), map[string]any{"id": "sub_1", "object": "subscription",
		"customer": "cus_fake_1", "status": "active", "metadata": meta}))
	if s := state(); s != events.BillingPastDue {
		t.Errorf("state after a failed period and an older update = %q; want past_due", s)
	}
	f.awaitMail("the failure, to both", func(m edge.Message) bool {
		return m.To[0].Email == dana && strings.Contains(m.Subject, "Payment failed")
	},
		func(m edge.Message) bool { return strings.Contains(m.Subject, "Subscription payment failed") })
	f.waitUntil("the page showing the failure", func() bool {
		return strings.Contains(readBody(t, f.do(c, "GET", base, nil)), "Payment failed")
	})

	// Manage: the customer portal of the client's customer; not for delegates.
	if r := f.do(f.delegate(client, "Sam"), "POST", base+"manage", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("delegate manage = %d; want 403", r.StatusCode)
	}
	r = f.do(c, "POST", base+"manage", url.Values{})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "https://billing.stripe.com/") {
		t.Errorf("manage = %d %q; want 303 to the customer portal", r.StatusCode, r.Header.Get("Location"))
	}
	if len(fs.portals) != 1 || fs.portals[0].Get("customer") != "cus_fake_1" || !strings.HasSuffix(fs.portals[0].Get("return_url"), base) {
		t.Errorf("portal sessions = %v", fs.portals)
	}

	// Deleted: cancelled, and a later update does not revive it.
	send(subEvent("evt_del", edge.EventSubscriptionDeleted, t0.Add(4*time.Second), map[string]any{"id": "sub_1", "object": "subscription",
		"customer": "cus_fake_1", "status": "canceled", "metadata": meta}))
	send(subEvent("evt_upd_late", edge.EventSubscriptionUpdated, t0.Add(5*time.Second), map[string]any{"id": "sub_1", "object": "subscription",
		"customer": "cus_fake_1", "status": "active", "metadata": meta}))
	if s := state(); s != events.BillingCancelled {
		t.Errorf("state after deleted = %q; want cancelled", s)
	}
	f.waitUntil("the page showing it cancelled", func() bool {
		_, d, _ := f.srv.Build().Subscription(number)
		return d.Billing == events.BillingCancelled
	})
}

// TestSubscriptionEndsAfterItsPeriods: Stripe charges until cancelled, so
// when the last of a subscription's periods is paid the edge tells Stripe
// to end it at the period's end; not before, and once.
func TestSubscriptionEndsAfterItsPeriods(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, func(content string) {
		p := filepath.Join(content, "clients", "whitfield-dental", "subscriptions", "SUB-3001-grounds-care.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), "periods: 12", "periods: 2", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if _, d, _ := f.srv.Build().Subscription("SUB-3001"); d.Periods != 2 {
		t.Fatalf("directory periods = %d; want 2", d.Periods)
	}
	c := f.login("whitfield-dental")
	r := f.do(c, "POST", "/c/whitfield-dental/subscriptions/SUB-3001/start", url.Values{})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("start = %d", r.StatusCode)
	}
	meta := map[string]string{"client": "whitfield-dental", "document": "SUB-3001", "kind": "subscription"}
	at := time.Now()
	for i, id := range []string{"in_1", "in_2", "in_2"} { // the last one twice (Stripe retried it)
		body := subEvent("evt_"+id, edge.EventInvoicePaid, at, invoiceObj(id, "cus_fake_1", "sub_1", 78500, "usd", meta, at.AddDate(0, i, 0)))
		if r := f.sendWebhook(body, time.Time{}); r.StatusCode != 200 {
			t.Fatalf("webhook = %d", r.StatusCode)
		}
	}
	f.waitUntil("Stripe told to end it", func() bool { fs.mu.Lock(); defer fs.mu.Unlock(); return len(fs.ended) > 0 })
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.ended) != 1 || fs.ended[0] != "/v1/subscriptions/sub_1?cancel_at_period_end=true" {
		t.Errorf("subscriptions ended = %v; want sub_1 at its period's end, once", fs.ended)
	}
}

// TestSubscriptionStartingLater: a start date to come is passed to Stripe
// so that the first period is charged on it (a trial until then, or, less
// than 48 hours ahead, the billing cycle anchored there); a start today or
// past is charged at once. The trial's empty invoice pays no period.
func TestSubscriptionStartingLater(t *testing.T) {
	t.Parallel()
	la, _ := time.LoadLocation("America/Los_Angeles")
	for _, tt := range []struct {
		start, trial, anchor string
	}{
		{"2026-11-28", "2026-11-28", ""}, // buildNow is Nov 23, 9:00 in Portland
		{"2026-11-25", "", "2026-11-25"},
		{"2026-11-23", "", ""},
		{"2026-11-01", "", ""},
	} {
		t.Run(tt.start, func(t *testing.T) {
			t.Parallel()
			f, fs := newPayFixture(t, func(content string) {
				p := filepath.Join(content, "clients", "whitfield-dental", "subscriptions", "SUB-3001-grounds-care.yaml")
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(strings.Replace(string(b), "start: 2026-11-28", "start: "+tt.start, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
			})
			c := f.login("whitfield-dental")
			if r := f.do(c, "POST", "/c/whitfield-dental/subscriptions/SUB-3001/start", url.Values{}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("start = %d", r.StatusCode)
			}
			unix := func(day string) string {
				if day == "" {
					return ""
				}
				d, _ := time.ParseInLocation(time.DateOnly, day, la)
				return strconv.FormatInt(d.Unix(), 10)
			}
			sent := fs.last()
			if got := sent.Get("subscription_data[trial_end]"); got != unix(tt.trial) {
				t.Errorf("trial_end = %q; want %q (%s)", got, unix(tt.trial), tt.trial)
			}
			if got := sent.Get("subscription_data[billing_cycle_anchor]"); got != unix(tt.anchor) {
				t.Errorf("billing_cycle_anchor = %q; want %q (%s)", got, unix(tt.anchor), tt.anchor)
			}
			if tt.anchor != "" && sent.Get("subscription_data[proration_behavior]") != "none" {
				t.Errorf("an anchored start prorates: %v", sent)
			}
			if tt.trial == "" {
				return
			}
			// The trial's invoice (nothing charged) is no period and no problem.
			rec, _ := f.store.Subscription(context.Background(), "whitfield-dental", "SUB-3001")
			meta := map[string]string{"client": "whitfield-dental", "document": "SUB-3001", "kind": "subscription"}
			now := f.clock.Now() // Stripe's clock is the edge's
			f.sendWebhook(subEvent("evt_done", edge.EventSessionCompleted, now, map[string]any{"id": rec.Session, "object": "checkout.session", "mode": "subscription",
				"payment_status": "no_payment_required", "amount_total": 78500, "currency": "usd", "customer": "cus_fake_1", "subscription": "sub_1", "metadata": meta}), time.Time{})
			f.sendWebhook(subEvent("evt_trial", edge.EventInvoicePaid, now, invoiceObj("in_0", "cus_fake_1", "sub_1", 0, "usd", meta, now)), time.Time{})
			if n, _ := f.store.PaymentCount(context.Background(), "whitfield-dental", "SUB-3001"); n != 0 {
				t.Errorf("the trial's invoice made %d payments; want none", n)
			}
			if probs, _ := f.store.WebhookProblems(context.Background(), 10); len(probs) != 0 {
				t.Errorf("problems = %+v", probs)
			}
			f.waitUntil("active, its first charge on its start date", func() bool {
				_, d, _ := f.srv.Build().Subscription("SUB-3001")
				return d.Billing == events.BillingActive && d.Start == tt.start
			})
		})
	}
}
