package testcheckout_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/hubhq/hub/edge/testcheckout"
	"github.com/hubhq/hub/generator/events"
)

// fakeEdge stands in for the edge: its webhook route verifies the events
// with Stripe's verifier and moves the one payment's state as the edge does.
type fakeEdge struct {
	mu      sync.Mutex
	p       edge.PaymentRecord
	got     []string // event types received, verified
	later   []func() // bank debits waiting to settle
	secret  string
	checker *stripepay.Webhooks
	cards   chan edge.WebhookEvent // payment_method and payment_intent events, verified
}

func (f *fakeEdge) payment(_ context.Context, id string) (edge.PaymentRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.p.ID {
		return edge.PaymentRecord{}, errors.New("not found")
	}
	return f.p, nil
}

func (f *fakeEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ev, err := f.checker.ParseWebhook(body, r.Header.Get("Stripe-Signature"))
	if err != nil || r.URL.Path != "/stripe/webhook" {
		http.Error(w, "bad", 400)
		return
	}
	if ev.Card != nil || ev.Intent != nil {
		f.cards <- ev
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	so := ev.Session
	if so == nil || so.ID != f.p.ID || so.AmountTotal != f.p.Amount || so.Currency != f.p.Currency || so.Metadata["document"] != f.p.Document {
		http.Error(w, "does not match", 400)
		return
	}
	f.got = append(f.got, ev.Type)
	switch {
	case ev.Type == edge.EventSessionCompleted && so.PaymentStatus == "paid", ev.Type == edge.EventAsyncPaymentSucceded:
		f.p.State = events.PaymentPaid
	case ev.Type == edge.EventSessionCompleted:
		f.p.State = events.PaymentProcessing
	case ev.Type == edge.EventAsyncPaymentFailed:
		f.p.State = events.PaymentFailed
	}
}

func setup(t *testing.T) (*fakeEdge, *testcheckout.Checkout, *httptest.Server) {
	t.Helper()
	secret := testcheckout.NewSecret()
	f := &fakeEdge{secret: secret, checker: stripepay.NewWebhooks(secret), cards: make(chan edge.WebhookEvent, 10)}
	srv := httptest.NewServer(f) // 127.0.0.1
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL)
	co, err := testcheckout.New(testcheckout.Config{
		Base: base, Secret: secret, Parse: f.checker.ParseWebhook, Payment: f.payment, Locale: "en-US",
		AfterFunc: func(d time.Duration, fn func()) { f.mu.Lock(); f.later = append(f.later, fn); f.mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := co.CreateSession(context.Background(), edge.CheckoutRequest{ClientID: "acme", Kind: events.ForInvoice, Document: "INV-1",
		Description: "Invoice INV-1 — Spring cleanup", Amount: 12050, Currency: "USD", IdempotencyKey: "k1",
		SuccessURL: srv.URL + "/c/acme/paid/{CHECKOUT_SESSION_ID}", CancelURL: srv.URL + "/c/acme/invoices/INV-1/"})
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := co.CreateSession(context.Background(), edge.CheckoutRequest{IdempotencyKey: "k1"}); again.ID != s.ID {
		t.Errorf("the same idempotency key gave sessions %s and %s", s.ID, again.ID)
	}
	if !strings.HasPrefix(s.URL, srv.URL+testcheckout.Prefix+"cs_test_local_") {
		t.Fatalf("session URL = %q", s.URL)
	}
	f.p = edge.PaymentRecord{Payment: events.Payment{ID: s.ID, Kind: events.ForInvoice, Document: "INV-1", Amount: 12050, Currency: "USD",
		State: events.PaymentPending, Email: "a@acme.example", Created: time.Now()}, ClientID: "acme", URL: s.URL, Expires: time.Now().Add(time.Hour)}
	return f, co, srv
}

// TestComplete: each outcome sends the events Stripe would, verified by
// Stripe's verifier, and leaves the payment where it should.
func TestComplete(t *testing.T) {
	for _, tc := range []struct {
		outcome, from string
		now, later    []string
		want          string
	}{
		{testcheckout.Paid, events.PaymentPending, []string{edge.EventSessionCompleted}, nil, events.PaymentPaid},
		{testcheckout.Processing, events.PaymentPending, []string{edge.EventSessionCompleted}, nil, events.PaymentProcessing},
		{testcheckout.Failed, events.PaymentPending, []string{edge.EventSessionCompleted, edge.EventAsyncPaymentFailed}, nil, events.PaymentFailed},
		{testcheckout.Paid, events.PaymentProcessing, []string{edge.EventAsyncPaymentSucceded}, nil, events.PaymentPaid},
		{testcheckout.Failed, events.PaymentProcessing, []string{edge.EventAsyncPaymentFailed}, nil, events.PaymentFailed},
		{testcheckout.BankSettles, events.PaymentPending, []string{edge.EventSessionCompleted}, []string{edge.EventAsyncPaymentSucceded}, events.PaymentPaid},
		{testcheckout.BankFails, events.PaymentPending, []string{edge.EventSessionCompleted}, []string{edge.EventAsyncPaymentFailed}, events.PaymentFailed},
	} {
		t.Run(tc.outcome+" from "+tc.from, func(t *testing.T) {
			f, co, _ := setup(t)
			f.p.State = tc.from
			if err := co.Complete(context.Background(), f.p, tc.outcome); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.got, tc.now) {
				t.Errorf("Complete(%q) sent %v; want %v", tc.outcome, f.got, tc.now)
			}
			if len(f.later) != len(tc.later) {
				t.Fatalf("Complete(%q) left %d events to settle; want %d", tc.outcome, len(f.later), len(tc.later))
			}
			for _, fn := range f.later {
				fn() // the bank debit settles
			}
			if want := append(slices.Clone(tc.now), tc.later...); !slices.Equal(f.got, want) {
				t.Errorf("events = %v; want %v", f.got, want)
			}
			if f.p.State != tc.want {
				t.Errorf("Complete(%q) from %s: payment %s; want %s", tc.outcome, tc.from, f.p.State, tc.want)
			}
		})
	}
}

// TestSettleAfterDecided: a bank debit decided meanwhile (hub payments
// simulate) is not settled again by its timer.
func TestSettleAfterDecided(t *testing.T) {
	f, co, _ := setup(t)
	if err := co.Complete(context.Background(), f.p, testcheckout.BankSettles); err != nil {
		t.Fatal(err)
	}
	if err := co.Complete(context.Background(), f.p, testcheckout.Failed); err != nil {
		t.Fatal(err)
	}
	f.later[0]()
	if f.p.State != events.PaymentFailed || len(f.got) != 2 {
		t.Errorf("after the timer: %s with events %v; want failed with two events", f.p.State, f.got)
	}
}

func TestCompleteRefuses(t *testing.T) {
	f, co, _ := setup(t)
	for _, tc := range []struct{ state, outcome string }{
		{events.PaymentPaid, testcheckout.Paid}, {events.PaymentFailed, testcheckout.Paid}, {events.PaymentProcessing, testcheckout.Processing},
		{events.PaymentPending, "free"}, {events.PaymentPending, ""}, {events.PaymentProcessing, testcheckout.BankSettles},
	} {
		f.p.State = tc.state
		if err := co.Complete(context.Background(), f.p, tc.outcome); err == nil {
			t.Errorf("Complete(%q) of a %s payment worked", tc.outcome, tc.state)
		}
	}
	if len(f.got) != 0 {
		t.Errorf("refused outcomes sent %v", f.got)
	}
}

// TestPage: the page shows the amount and the choices; its buttons send
// the browser on; it answers loopback only.
func TestPage(t *testing.T) {
	f, co, srv := setup(t)
	h := co.Handler()
	get := func(path, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	path := testcheckout.Prefix + f.p.ID
	w := get(path, "127.0.0.1:5555")
	body := w.Body.String()
	for _, want := range []string{"$120.50", "Invoice INV-1 — Spring cleanup", `value="paid"`, `value="bank"`, `value="bank-fails"`, `value="cancel"`, "nothing is charged"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Security-Policy"), "style-src 'sha256-") {
		t.Errorf("page = %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
	if w := get(path, "192.0.2.7:5555"); w.Code != http.StatusForbidden {
		t.Errorf("from another machine = %d; want 403", w.Code)
	}
	if w := get(testcheckout.Prefix+"cs_test_local_nope", "[::1]:5555"); w.Code != http.StatusNotFound {
		t.Errorf("unknown session = %d; want 404", w.Code)
	}
	post := func(outcome, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, strings.NewReader(url.Values{"outcome": {outcome}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Accept", accept)
		r.RemoteAddr = "127.0.0.1:5555"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := post(testcheckout.Cancel, "text/html"); w.Code != 303 || w.Header().Get("Location") != srv.URL+"/c/acme/invoices/INV-1/" || len(f.got) != 0 {
		t.Errorf("Cancel = %d %q, events %v", w.Code, w.Header().Get("Location"), f.got)
	}
	if w := post(testcheckout.Paid, "text/html"); w.Code != 303 || w.Header().Get("Location") != srv.URL+"/c/acme/paid/"+f.p.ID {
		t.Errorf("Pay = %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := post(testcheckout.Paid, "text/plain"); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "no longer open") {
		t.Errorf("paying again = %d %q", w.Code, w.Body.String())
	}
	if w := get(path, "127.0.0.1:5555"); !strings.Contains(w.Body.String(), "<strong>paid</strong>") || strings.Contains(w.Body.String(), `value="paid"`) {
		t.Errorf("a paid session's page still offers to pay")
	}
}

func TestNewRefusesPublicOrigins(t *testing.T) {
	for _, u := range []string{"https://hub.example.com", "http://192.0.2.1:8080", "http://0.0.0.0:8080", "https://127.0.0.1:8080"} {
		base, _ := url.Parse(u)
		if _, err := testcheckout.New(testcheckout.Config{Base: base, Secret: "s", Parse: stripepay.NewWebhooks("s").ParseWebhook,
			Payment: func(context.Context, string) (edge.PaymentRecord, error) { return edge.PaymentRecord{}, nil }}); err == nil {
			t.Errorf("New(Base %s) worked; want refused", u)
		}
	}
}

// FuzzHandler: any path and form is answered without a panic, and sends
// no event unless it names the session and an outcome.
func FuzzHandler(f *testing.F) {
	f.Add("cs_test_local_x", "outcome=paid")
	f.Add("", "outcome=bank&outcome=cancel")
	f.Add("../../stripe/webhook", "%zz")
	f.Fuzz(func(t *testing.T, id, form string) {
		fe, co, _ := setup(t)
		r := httptest.NewRequest("POST", "/", strings.NewReader(form))
		r.URL.Path = testcheckout.Prefix + id
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = "127.0.0.1:1"
		w := httptest.NewRecorder()
		co.Handler().ServeHTTP(w, r)
		if len(fe.got) > 0 && id != fe.p.ID {
			t.Errorf("POST %q %q sent events %v", id, form, fe.got)
		}
	})
}
