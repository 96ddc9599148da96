package edge_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

// cardObj is a payment method as Stripe's payment_method events carry it.
func cardObj(id, customer, last4 string) map[string]any {
	var cu any = customer
	if customer == "" {
		cu = nil
	}
	return map[string]any{"id": id, "object": "payment_method", "type": "card", "customer": cu,
		"card": map[string]any{"brand": "visa", "last4": last4, "exp_month": 4, "exp_year": 2029}}
}

// intentObj is a PaymentIntent of a charge the edge made (metadata auto).
func intentObj(id, customer, client, doc string, amount int64) map[string]any {
	return map[string]any{"id": id, "object": "payment_intent", "amount": amount, "currency": "usd", "status": "succeeded", "customer": customer,
		"payment_method": "pm_1", "metadata": map[string]string{"client": client, "kind": "invoice", "document": doc, edge.MetaAuto: "true"}}
}

// saveCard pays $100 of INV-2001 with "Save this card" ticked and sends
// the payment_method.attached that follows; it returns the signed-in client.
func saveCard(t *testing.T, f *fixture, fs *fakeStripe) *http.Client {
	t.Helper()
	c := f.login("whitfield-dental")
	p := f.startPayment(c, "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"part"}, "part": {"100.00"}, "save": {"1"}})
	sent := fs.last()
	if sent.Get("customer") != "cus_fake_1" || sent.Get("payment_intent_data[setup_future_usage]") != "off_session" || sent.Get("customer_email") != "" {
		t.Fatalf("Checkout Session asked to save the card = %v", sent)
	}
	if len(fs.customers) != 1 {
		t.Fatalf("customers made = %d; want 1", len(fs.customers))
	}
	send := func(body []byte) {
		t.Helper()
		if r := f.sendWebhook(body, time.Time{}); r.StatusCode != 200 {
			t.Fatalf("webhook = %d", r.StatusCode)
		}
	}
	at := time.Now().Add(-time.Minute)
	send(subEvent("evt_pm1", edge.EventCardAttached, at, cardObj("pm_1", "cus_fake_1", "4242")))
	send(subEvent("evt_pm1", edge.EventCardAttached, at, cardObj("pm_1", "cus_fake_1", "4242"))) // a duplicate
	send(subEvent("evt_other", edge.EventCardAttached, at, cardObj("pm_x", "cus_not_ours", "1111")))
	send(event{ID: "evt_paid", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p).payload())
	f.waitUntil("the account page showing the card", func() bool {
		return strings.Contains(readBody(t, f.do(c, "GET", "/c/whitfield-dental/account/", nil)), "Visa •••• 4242")
	})
	return c
}

// TestSaveCardAndRemove: the card saved while paying is shown on the
// account page (brand, last 4, expiry), from the verified webhook only;
// Remove detaches it in Stripe, refuses delegates and cross-site posts,
// and turns autopay off.
func TestSaveCardAndRemove(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, nil)
	const account = "/c/whitfield-dental/account/"
	c := f.login("whitfield-dental")
	if page := readBody(t, f.do(c, "GET", "/c/whitfield-dental/invoices/INV-2001/", nil)); !strings.Contains(page, `name="save" value="1"`) {
		t.Fatalf("the pay form has no Save this card box:\n%.3000s", page)
	}
	if page := readBody(t, f.do(c, "GET", account, nil)); !strings.Contains(page, "No card is saved") {
		t.Errorf("account page before saving:\n%.3000s", page)
	}
	c = saveCard(t, f, fs)
	page := readBody(t, f.do(c, "GET", account, nil))
	for _, want := range []string{"Visa •••• 4242", `datetime="2029-04"`, "04/29", `action="/c/whitfield-dental/billing/card/remove"`, `name="autopay" value="on"`} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if strings.Contains(page, "1111") {
		t.Error("another customer's card is shown")
	}
	for _, path := range []string{"/c/whitfield-dental/billing/card/remove", "/c/whitfield-dental/billing/autopay"} {
		if r := f.do(f.delegate("whitfield-dental", "Sam"), "POST", path, url.Values{"autopay": {"on"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("delegate POST %s = %d; want 403", path, r.StatusCode)
		}
		if r := f.do(c, "POST", path, url.Values{"autopay": {"on"}}, "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s = %d; want 403", path, r.StatusCode)
		}
		if r := f.do(c, "GET", path, nil); r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s = %d; want 405", path, r.StatusCode)
		}
	}
	if r := f.do(c, "POST", "/c/okafor-residence/billing/card/remove", url.Values{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("removing another client's card = %d; want 404", r.StatusCode)
	}
	if len(fs.detached) != 0 {
		t.Fatalf("refused posts detached %v", fs.detached)
	}
	if r := f.do(c, "POST", "/c/whitfield-dental/billing/autopay", url.Values{"autopay": {"on"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != account {
		t.Fatalf("autopay on = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := f.do(c, "POST", "/c/whitfield-dental/billing/card/remove", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove = %d", r.StatusCode)
	}
	if len(fs.detached) != 1 || fs.detached[0] != "pm_1" {
		t.Errorf("detached %v; want pm_1", fs.detached)
	}
	b, err := f.store.Billing(context.Background(), "whitfield-dental")
	if err != nil || b.SavedCard() != nil || b.Autopay {
		t.Errorf("after Remove: %+v, %v; want no card, autopay off", b, err)
	}
	// Stripe's own detached event, and the attachment arriving late, change nothing.
	old := time.Now().Add(-time.Hour)
	for _, body := range [][]byte{subEvent("evt_det", edge.EventCardDetached, time.Now(), cardObj("pm_1", "", "4242")), subEvent("evt_late", edge.EventCardAttached, old, cardObj("pm_1", "cus_fake_1", "4242"))} {
		if r := f.sendWebhook(body, time.Time{}); r.StatusCode != 200 {
			t.Fatalf("webhook = %d", r.StatusCode)
		}
	}
	if b, _ := f.store.Billing(context.Background(), "whitfield-dental"); b.SavedCard() != nil {
		t.Errorf("a late attachment brought the removed card back: %+v", b)
	}
	if page := readBody(t, f.do(c, "GET", account, nil)); !strings.Contains(page, "No card is saved") {
		t.Errorf("account page after Remove:\n%.3000s", page)
	}
	if r := f.do(c, "POST", "/c/whitfield-dental/billing/autopay", url.Values{"autopay": {"on"}}); r.StatusCode != http.StatusConflict {
		t.Errorf("autopay on without a card = %d; want 409", r.StatusCode)
	}
}

// TestAutopay: opted in with a saved card, the invoice is charged
// off-session on its due date (not before), once whatever the runs, for
// the amount of the signed directory; each outcome is recorded honestly
// and told by email; hub charge refuses what was charged and tries a
// failed charge again.
func TestAutopay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		charge, state string
		mail          []string // subjects the outcome sends
		why           string   // what the client's failure email says
	}{
		{"", events.PaymentPaid, []string{"Receipt:", "Payment received:"}, ""},
		{"processing", events.PaymentProcessing, []string{"Payment processing:"}, ""},
		{"requires_action", events.PaymentFailed, []string{"Action needed:", "Autopay failed:"}, "asks you to confirm"},
		{"declined", events.PaymentFailed, []string{"Action needed:", "Autopay failed:"}, "your card was declined"},
	} {
		t.Run(tt.state+"/"+tt.charge, func(t *testing.T) {
			t.Parallel()
			f, fs := newPayFixture(t, nil)
			fs.charge = tt.charge
			due := f.doc("INV-2001") - 10000 // less the $100 paid while saving the card
			c := saveCard(t, f, fs)
			ctx := context.Background()
			if r := f.do(f.delegate("whitfield-dental", "Sam"), "POST", "/c/whitfield-dental/billing/autopay", url.Values{"autopay": {"on"}}); r.StatusCode != http.StatusForbidden {
				t.Errorf("delegate autopay on = %d; want 403", r.StatusCode)
			}
			if _, err := f.srv.ChargeInvoice(ctx, "INV-2001"); edge.ErrorCode(err) != edge.EForbidden {
				t.Errorf("hub charge before opting in = %v; want forbidden", err)
			}
			if r := f.do(c, "POST", "/c/whitfield-dental/billing/autopay", url.Values{"autopay": {"on"}}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("autopay on = %d", r.StatusCode)
			}
			if page := readBody(t, f.do(c, "GET", "/c/whitfield-dental/account/", nil)); !strings.Contains(page, "Stop paying automatically") {
				t.Errorf("account page with autopay on:\n%.3000s", page)
			}
			inv := "/c/whitfield-dental/invoices/INV-2001/"
			if page := readBody(t, f.do(c, "GET", inv, nil)); !strings.Contains(page, "Autopay is on: what is left to pay will be charged to your Visa •••• 4242 on Dec 14, 2026.") {
				t.Errorf("the invoice page does not say when autopay charges it:\n%.4000s", page)
			}
			f.srv.Autopay(ctx) // Nov 23: INV-2001 is due Dec 14
			if len(fs.intents) != 0 {
				t.Fatalf("charged before the due date: %v", fs.intents)
			}
			f.clock.Add(21 * 24 * time.Hour) // Dec 14, 9:00 in Portland
			f.srv.Autopay(ctx)
			f.srv.Autopay(ctx) // a second run (another edge, the next day) charges nothing more
			if len(fs.intents) != 1 {
				t.Fatalf("charges asked = %d; want 1", len(fs.intents))
			}
			asked := fs.intents[0]
			for k, want := range map[string]string{"amount": strconv.FormatInt(due, 10), "currency": "usd", "customer": "cus_fake_1", "payment_method": "pm_1",
				"off_session": "true", "confirm": "true", "metadata[document]": "INV-2001", "metadata[client]": "whitfield-dental", "metadata[auto]": "true"} {
				if got := asked.Get(k); got != want {
					t.Errorf("charge asked %s = %q; want %q", k, got, want)
				}
			}
			ps, err := f.store.AutoPayments(ctx, "whitfield-dental", "INV-2001")
			if err != nil || len(ps) != 1 || ps[0].State != tt.state || ps[0].Amount != due || !ps[0].Auto || ps[0].ID != "pi_fake_1" {
				t.Fatalf("automatic payments = %+v, %v; want one %s of %d", ps, err, tt.state, due)
			}
			var want []func(edge.Message) bool
			for _, subj := range tt.mail {
				want = append(want, func(m edge.Message) bool { return strings.HasPrefix(m.Subject, subj) })
			}
			msgs := f.awaitMail(tt.state, want...)
			for _, m := range msgs {
				if strings.HasPrefix(m.Subject, "Action needed:") && (m.To[0].Email != dana || !strings.Contains(m.Text, "/c/whitfield-dental/invoices/INV-2001/") || !strings.Contains(m.Text, tt.why)) {
					t.Errorf("the client's failure email does not link to the invoice: %+v", m)
				}
			}
			if tt.state == events.PaymentFailed {
				f.waitUntil("the invoice page saying the charge failed", func() bool {
					page := readBody(t, f.do(c, "GET", inv, nil))
					return strings.Contains(page, "did not go through") && !strings.Contains(page, "Autopay is on")
				})
			}
			// Stripe's event about the charge: the same outcome, nothing more.
			typ := edge.EventIntentSucceeded
			if tt.state == events.PaymentFailed {
				typ = edge.EventIntentFailed
			}
			if r := f.sendWebhook(subEvent("evt_pi1", typ, time.Now(), intentObj("pi_fake_1", "cus_fake_1", "whitfield-dental", "INV-2001", due)), time.Time{}); r.StatusCode != 200 {
				t.Fatalf("webhook = %d", r.StatusCode)
			}
			if ps, _ := f.store.AutoPayments(ctx, "whitfield-dental", "INV-2001"); len(ps) != 1 || ps[0].State != tt.state && !(tt.state == events.PaymentProcessing && ps[0].State == events.PaymentPaid) {
				t.Errorf("after Stripe's event: %+v", ps)
			}
			// hub charge: a paid or processing charge is a conflict; a failed one is tried again, with another key.
			_, err = f.srv.ChargeInvoice(ctx, "INV-2001")
			switch tt.state {
			case events.PaymentFailed:
				if err != nil || len(fs.intents) != 2 {
					t.Errorf("hub charge after a failure = %v, %d charges asked; want a second", err, len(fs.intents))
				}
			default:
				if edge.ErrorCode(err) != edge.EConflict || len(fs.intents) != 1 {
					t.Errorf("hub charge after a %s charge = %v, %d charges asked; want a conflict", tt.state, err, len(fs.intents))
				}
			}
		})
	}
}

// TestAutopayChargeFromItsEvent: a charge the edge made but did not record
// (it stopped in between) is recorded from Stripe's event, when it is the
// client's customer, one of its invoices and no more than is due; other
// events of the kind are refused and listed.
func TestAutopayChargeFromItsEvent(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, nil)
	due := f.doc("INV-2001") - 10000
	saveCard(t, f, fs)
	ctx := context.Background()
	for id, obj := range map[string]map[string]any{
		"evt_bad_customer": intentObj("pi_a", "cus_other", "whitfield-dental", "INV-2001", due),
		"evt_bad_invoice":  intentObj("pi_b", "cus_fake_1", "whitfield-dental", "INV-2002", due),
		"evt_too_much":     intentObj("pi_c", "cus_fake_1", "whitfield-dental", "INV-2001", f.doc("INV-2001")+1),
		"evt_ok":           intentObj("pi_d", "cus_fake_1", "whitfield-dental", "INV-2001", due),
	} {
		if r := f.sendWebhook(subEvent(id, edge.EventIntentSucceeded, time.Now(), obj), time.Time{}); r.StatusCode != 200 {
			t.Fatalf("webhook %s = %d", id, r.StatusCode)
		}
	}
	ps, err := f.store.AutoPayments(ctx, "whitfield-dental", "INV-2001")
	if err != nil || len(ps) != 1 || ps[0].ID != "pi_d" || ps[0].State != events.PaymentPaid || ps[0].Amount != due {
		t.Errorf("automatic payments = %+v, %v; want pi_d paid", ps, err)
	}
	probs, _ := f.store.WebhookProblems(ctx, 10)
	if len(probs) != 3 {
		t.Errorf("problems = %+v; want the 3 refused", probs)
	}
	// A Checkout Session's own PaymentIntent (no auto) is left to its session's events.
	obj := intentObj("pi_e", "cus_fake_1", "whitfield-dental", "INV-2001", due)
	delete(obj["metadata"].(map[string]string), edge.MetaAuto)
	f.sendWebhook(subEvent("evt_session_pi", edge.EventIntentSucceeded, time.Now(), obj), time.Time{})
	if _, err := f.store.Payment(ctx, "pi_e"); err == nil {
		t.Error("a Checkout Session's PaymentIntent was recorded as a payment")
	}
}

// TestBillingSwitchesOff: with save_cards off in site.yaml, the pay form
// has no Save this card box, the account page no payment method, and the
// edge refuses to save a card or turn autopay on (whatever is posted).
func TestBillingSwitchesOff(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, func(content string) {
		p := filepath.Join(content, "site.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), "  save_cards: true ", "  save_cards: false", 1))
		b = []byte(strings.Replace(string(b), "  autopay: true ", "  autopay: false", 1))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if site := f.srv.Build().Directory.Site; site.SaveCards || site.Autopay || !site.Subscriptions {
		t.Fatalf("directory switches = %+v; want cards and autopay off", site)
	}
	c := f.login("whitfield-dental")
	if page := readBody(t, f.do(c, "GET", "/c/whitfield-dental/invoices/INV-2001/", nil)); strings.Contains(page, `name="save"`) {
		t.Error("the pay form offers to save the card while saving cards is off")
	}
	if page := readBody(t, f.do(c, "GET", "/c/whitfield-dental/account/", nil)); strings.Contains(page, "Payment method") {
		t.Error("the account page shows a payment method while saving cards is off")
	}
	if r := f.do(c, "POST", "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"full"}, "save": {"1"}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("pay with save while off = %d; want 503", r.StatusCode)
	}
	if r := f.do(c, "POST", "/c/whitfield-dental/billing/autopay", url.Values{"autopay": {"on"}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("autopay on while off = %d; want 503", r.StatusCode)
	}
	if fs.count() != 0 || len(fs.customers) != 0 {
		t.Errorf("refused requests reached Stripe: %d sessions, %d customers", fs.count(), len(fs.customers))
	}
	if _, err := f.srv.ChargeInvoice(context.Background(), "INV-2001"); edge.ErrorCode(err) != edge.EUnavailable {
		t.Errorf("hub charge while autopay is off = %v; want unavailable", err)
	}
}
