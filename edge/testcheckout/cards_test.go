package testcheckout_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/testcheckout"
	"github.com/hubhq/hub/generator/events"
)

// TestSaveCardAndCharge: a session that saves the card offers the test
// cards; paying by card sends payment_method.attached (on the session's
// customer, with the card chosen) before the session's completion; charges
// of that card then go as its digits say, each followed by its
// PaymentIntent event; removing it sends payment_method.detached naming
// the customer it was on.
func TestSaveCardAndCharge(t *testing.T) {
	f, co, srv := setup(t)
	ctx := context.Background()
	s, err := co.CreateSession(ctx, edge.CheckoutRequest{ClientID: "acme", Kind: events.ForInvoice, Document: "INV-1", Description: "Invoice INV-1",
		Amount: 12050, Currency: "USD", IdempotencyKey: "k-save", Customer: "cus_1", SaveCard: true,
		SuccessURL: srv.URL + "/c/acme/paid/{CHECKOUT_SESSION_ID}", CancelURL: srv.URL + "/c/acme/invoices/INV-1/"})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.p.ID, f.p.URL = s.ID, s.URL
	f.mu.Unlock()
	h := co.Handler()
	get := httptest.NewRequest("GET", testcheckout.Prefix+s.ID, nil)
	get.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, get)
	if !strings.Contains(w.Body.String(), "Card to save for future invoices") || !strings.Contains(w.Body.String(), `value="0341"`) {
		t.Fatalf("the page of a session saving the card:\n%s", w.Body)
	}
	post := httptest.NewRequest("POST", testcheckout.Prefix+s.ID, strings.NewReader(url.Values{"outcome": {"paid"}, "card": {testcheckout.CardDeclined}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.RemoteAddr = "127.0.0.1:1"
	w = httptest.NewRecorder()
	h.ServeHTTP(w, post)
	if w.Code != http.StatusOK {
		t.Fatalf("paying = %d %s", w.Code, w.Body)
	}
	ev := <-f.cards
	pm := ev.Card
	if ev.Type != edge.EventCardAttached || pm.Customer != "cus_1" || pm.Last4 != testcheckout.CardDeclined || pm.Brand != "visa" || pm.ExpYear < time.Now().Year() {
		t.Fatalf("first event = %s %+v; want the card attached to cus_1", ev.Type, pm)
	}
	if f.p.State != events.PaymentPaid {
		t.Errorf("payment = %s; want paid", f.p.State)
	}
	for _, tc := range []struct {
		pm, status, event string
	}{
		{pm.ID, edge.ChargeDeclined, edge.EventIntentFailed},
		{"pm_from_an_earlier_run", edge.ChargeSucceeded, edge.EventIntentSucceeded},
	} {
		res, err := co.Charge(ctx, edge.ChargeRequest{ClientID: "acme", Document: "INV-1", Customer: "cus_1", PaymentMethod: tc.pm, Amount: 500, Currency: "USD", IdempotencyKey: "ik-" + tc.pm})
		if err != nil || res.Status != tc.status || !strings.HasPrefix(res.ID, "pi_test_local_") {
			t.Errorf("Charge(%s) = %+v, %v; want %s", tc.pm, res, err, tc.status)
		}
		ev := <-f.cards
		if ev.Type != tc.event || ev.Intent.ID != res.ID || ev.Intent.Amount != 500 || ev.Intent.Metadata[edge.MetaAuto] != "true" || ev.Intent.Metadata["document"] != "INV-1" {
			t.Errorf("Charge(%s)'s event = %s %+v; want %s", tc.pm, ev.Type, ev.Intent, tc.event)
		}
	}
	if again, _ := co.Charge(ctx, edge.ChargeRequest{PaymentMethod: pm.ID, Amount: 500, Currency: "USD", IdempotencyKey: "ik-" + pm.ID}); again.ID == "" {
		t.Error("a repeated charge has no PaymentIntent")
	} else {
		<-f.cards
	}
	if err := co.DetachCard(ctx, pm.ID); err != nil {
		t.Fatal(err)
	}
	if ev := <-f.cards; ev.Type != edge.EventCardDetached || ev.Card.ID != pm.ID || ev.Card.Customer != "cus_1" {
		t.Errorf("detached event = %s %+v", ev.Type, ev.Card)
	}
}
