package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/stripe/stripe-go/v76/webhook"
)

const whsec = "whsec_test_secret"

// fakeStripe is Stripe's API as far as Checkout Sessions go, on
// 127.0.0.1: it remembers idempotency keys like Stripe does.
type fakeStripe struct {
	mu                 sync.Mutex
	created            []url.Values
	byKey              map[string]string // idempotency key → response
	customers, portals []url.Values
	ended              []string // subscriptions told to end: path?form
	// charge is how off-session charges go: "" succeeded, "processing",
	// "requires_action" or "declined"; intents are the charges asked (a
	// repeated idempotency key answered from memory, like Stripe); detached
	// the payment methods removed.
	charge   string
	intents  []url.Values
	detached []string
	fail     bool
	listener net.Listener
}

func (s *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || (r.URL.Path != "/v1/checkout/sessions" && r.URL.Path != "/v1/customers" && r.URL.Path != "/v1/billing_portal/sessions" &&
		r.URL.Path != "/v1/payment_intents" && !strings.HasPrefix(r.URL.Path, "/v1/subscriptions/") && !strings.HasPrefix(r.URL.Path, "/v1/payment_methods/")) {
		http.Error(w, `{"error":{"message":"not here"}}`, 404)
		return
	}
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		w.WriteHeader(500)
		w.Write([]byte(`{"error":{"type":"api_error","message":"down"}}`))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if resp, ok := s.byKey[key]; ok && key != "" {
		writeAnswer(w, resp)
		return
	}
	if pm, ok := strings.CutPrefix(r.URL.Path, "/v1/payment_methods/"); ok {
		pm = strings.TrimSuffix(pm, "/detach")
		s.detached = append(s.detached, pm)
		fmt.Fprintf(w, `{"id":%q,"object":"payment_method","type":"card","customer":null}`, pm)
		return
	}
	if r.URL.Path == "/v1/payment_intents" {
		s.intents = append(s.intents, r.PostForm)
		id := fmt.Sprintf("pi_fake_%d", len(s.intents))
		status, code := "succeeded", ""
		switch s.charge {
		case "processing":
			status = "processing"
		case "requires_action":
			status, code = "requires_action", "authentication_required"
		case "declined":
			status, code = "requires_payment_method", "card_declined"
		}
		resp := fmt.Sprintf(`{"id":%q,"object":"payment_intent","status":%q,"amount":%s,"currency":%q}`, id, status, r.PostForm.Get("amount"), r.PostForm.Get("currency"))
		if code != "" {
			resp = "402\x00" + fmt.Sprintf(`{"error":{"type":"card_error","code":%q,"message":"Your card was declined.","payment_intent":{"id":%q,"object":"payment_intent","status":%q}}}`, code, id, status)
		}
		s.byKey[key] = resp
		writeAnswer(w, resp)
		return
	}
	if sub, ok := strings.CutPrefix(r.URL.Path, "/v1/subscriptions/"); ok {
		s.ended = append(s.ended, r.URL.Path+"?"+r.PostForm.Encode())
		fmt.Fprintf(w, `{"id":%q,"object":"subscription","cancel_at_period_end":true}`, sub)
		return
	}
	switch r.URL.Path {
	case "/v1/customers":
		s.customers = append(s.customers, r.PostForm)
		resp := fmt.Sprintf(`{"id":"cus_fake_%d","object":"customer"}`, len(s.customers))
		s.byKey[key] = resp
		w.Write([]byte(resp))
		return
	case "/v1/billing_portal/sessions":
		s.portals = append(s.portals, r.PostForm)
		fmt.Fprintf(w, `{"id":"bps_%d","object":"billing_portal.session","url":"https://billing.stripe.com/p/session/test_%d"}`, len(s.portals), len(s.portals))
		return
	}
	s.created = append(s.created, r.PostForm)
	id := fmt.Sprintf("cs_test_%d", len(s.created))
	amount, _ := strconv.ParseInt(r.PostForm.Get("line_items[0][price_data][unit_amount]"), 10, 64)
	resp := fmt.Sprintf(`{"id":%q,"object":"checkout.session","url":"https://checkout.stripe.com/c/pay/%s","amount_total":%d,"currency":%q,"expires_at":%s}`,
		id, id, amount, r.PostForm.Get("line_items[0][price_data][currency]"), r.PostForm.Get("expires_at"))
	s.byKey[key] = resp
	w.Write([]byte(resp))
}

// writeAnswer writes a remembered answer: a body, or "STATUS\x00body" for an error's.
func writeAnswer(w http.ResponseWriter, resp string) {
	if code, body, ok := strings.Cut(resp, "\x00"); ok {
		n, _ := strconv.Atoi(code)
		w.WriteHeader(n)
		resp = body
	}
	w.Write([]byte(resp))
}

func (s *fakeStripe) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.created) }
func (s *fakeStripe) last() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created[len(s.created)-1]
}

// newPayFixture is a fixture whose edge takes payments through the
// stripepay adapter talking to a fake Stripe API.
func newPayFixture(t *testing.T, edit func(string)) (*fixture, *fakeStripe) {
	t.Helper()
	fs := &fakeStripe{byKey: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fs}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	co, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_123", WebhookSecret: whsec, APIURL: "http://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, edit, func(f *fixture) { f.checkout = co })
	return f, fs
}

// event is a Checkout Session webhook event.
type event struct {
	ID, Type, Session, Status, Currency, APIVersion string
	Amount                                          int64
	Meta                                            map[string]string
}

func (e event) payload() []byte {
	if e.APIVersion == "" {
		e.APIVersion = stripepay.APIVersion
	}
	if e.Currency == "" {
		e.Currency = "usd"
	}
	obj := map[string]any{"id": e.Session, "object": "checkout.session", "payment_status": e.Status, "amount_total": e.Amount,
		"currency": e.Currency, "metadata": e.Meta, "payment_intent": "pi_" + e.Session, "payment_method_types": []string{"card"}}
	b, _ := json.Marshal(map[string]any{"id": e.ID, "object": "event", "api_version": e.APIVersion, "created": time.Now().Unix(),
		"type": e.Type, "data": map[string]any{"object": obj}})
	return b
}

// sendWebhook posts a signed event (signed at ts; zero: now).
func (f *fixture) sendWebhook(payload []byte, ts time.Time) *http.Response {
	f.t.Helper()
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: whsec, Timestamp: ts})
	return f.postWebhook(sp.Payload, sp.Header)
}

func (f *fixture) postWebhook(body []byte, sig string) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.url+"/stripe/webhook", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	r.Body.Close()
	return r
}

// startPayment pays client's invoice (or deposit) as a signed-in browser,
// returning the recorded payment.
func (f *fixture) startPayment(c *http.Client, path string, form url.Values) edge.PaymentRecord {
	f.t.Helper()
	r := f.do(c, "POST", path, form)
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "https://checkout.stripe.com/") {
		f.t.Fatalf("POST %s = %d %q; want 303 to Stripe Checkout\n%s", path, r.StatusCode, loc, readBody(f.t, r))
	}
	id := loc[strings.LastIndex(loc, "/")+1:]
	p, err := f.store.Payment(context.Background(), id)
	if err != nil {
		f.t.Fatalf("payment %s not recorded: %v", id, err)
	}
	return p
}

func (p0 event) forPayment(p edge.PaymentRecord) event {
	p0.Session, p0.Amount, p0.Currency = p.ID, p.Amount, strings.ToLower(p.Currency)
	p0.Meta = map[string]string{"client": p.ClientID, "document": p.Document, "kind": p.Kind}
	return p0
}

func (f *fixture) doc(number string) (due int64) {
	_, d, ok := f.srv.Build().Document(number)
	if !ok {
		f.t.Fatalf("no document %s", number)
	}
	return d.Due
}

func TestPayAmountFromSignedData(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, nil)
	c := f.login("whitfield-dental")
	due := f.doc("INV-2001")
	if due <= 0 {
		t.Fatalf("INV-2001 due = %d; the sample has a balance", due)
	}
	// A posted amount is ignored: the full balance is asked for.
	p := f.startPayment(c, "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"full"}, "amount": {"1"}, "line_items[0][price_data][unit_amount]": {"1"}})
	if p.Amount != due || p.Currency != "USD" || p.Kind != events.ForInvoice || p.State != events.PaymentPending {
		t.Errorf("payment = %+v; want %d USD pending for the invoice", p.Payment, due)
	}
	sent := fs.last()
	if sent.Get("line_items[0][price_data][unit_amount]") != strconv.FormatInt(due, 10) || sent.Get("metadata[document]") != "INV-2001" ||
		sent.Get("customer_email") != dana || !strings.Contains(sent.Get("line_items[0][price_data][product_data][name]"), "INV-2001") ||
		!strings.HasSuffix(sent.Get("cancel_url"), "/c/whitfield-dental/invoices/INV-2001/") {
		t.Errorf("Checkout Session asked = %v", sent)
	}
	// Part payments: at least the minimum (20.00), at most the balance.
	for _, tc := range []struct {
		part string
		want int
	}{{"19.99", 400}, {"abc", 400}, {"", 400}, {fmt.Sprintf("%d.%02d", (due+1)/100, (due+1)%100), 400}, {"25.50", 303}} {
		r := f.do(c, "POST", "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"part"}, "part": {tc.part}})
		if r.StatusCode != tc.want {
			t.Errorf("part %q = %d; want %d", tc.part, r.StatusCode, tc.want)
		}
	}
	if got := fs.last().Get("line_items[0][price_data][unit_amount]"); got != "2550" {
		t.Errorf("part payment asked %s; want 2550", got)
	}
	// Another client's invoice, a paid invoice, a quote as an invoice.
	for path, want := range map[string]int{
		"/c/okafor-residence/invoices/INV-2002/pay": 404,
		"/c/whitfield-dental/invoices/INV-2002/pay": 404,
		"/c/whitfield-dental/invoices/INV-2005/pay": 409,
		"/c/whitfield-dental/invoices/Q-1009/pay":   404,
	} {
		if r := f.do(c, "POST", path, url.Values{"choice": {"full"}}); r.StatusCode != want {
			t.Errorf("POST %s = %d; want %d", path, r.StatusCode, want)
		}
	}
	if r := f.do(c, "GET", "/c/whitfield-dental/invoices/INV-2001/pay", nil); r.StatusCode != 405 {
		t.Errorf("GET pay = %d; want 405", r.StatusCode)
	}
}

func TestPayDoubleClickOneSession(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, nil)
	c := f.login("okafor-residence")
	var wg sync.WaitGroup
	locs := make([]string, 8)
	for i := range locs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.do(c, "POST", "/c/okafor-residence/invoices/INV-2002/pay", url.Values{"choice": {"full"}})
			locs[i] = r.Header.Get("Location")
		}()
	}
	wg.Wait()
	for _, l := range locs {
		if l == "" || l != locs[0] {
			t.Fatalf("double click went to %q; want one Checkout Session for all", locs)
		}
	}
	if n := fs.count(); n != 1 {
		t.Errorf("Checkout Sessions made = %d; want 1", n)
	}
}

func TestPayRefusedToDelegateAndWhenOff(t *testing.T) {
	t.Parallel()
	f, _ := newPayFixture(t, nil)
	msgs := f.messages()
	link, _ := msgs.DelegateLink(context.Background(), f.srv.Build(), "whitfield-dental", "Sam")
	c := f.client()
	f.do(c, "POST", mustURL(link).Path, url.Values{})
	if r := f.do(c, "POST", "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"full"}}); r.StatusCode != 403 {
		t.Errorf("delegate pay = %d; want 403", r.StatusCode)
	}
	if r := f.do(f.client(), "POST", "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"full"}}); r.StatusCode != 401 {
		t.Errorf("pay without a session = %d; want 401", r.StatusCode)
	}
	// Without Stripe (no keys), paying is unavailable, and the webhook is not there.
	g := newFixture(t, nil)
	gc := g.login("whitfield-dental")
	if r := g.do(gc, "POST", "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"full"}}); r.StatusCode != 503 {
		t.Errorf("pay with payments off = %d; want 503", r.StatusCode)
	}
	if r := g.postWebhook([]byte(`{}`), ""); r.StatusCode != 404 {
		t.Errorf("webhook with payments off = %d; want 404", r.StatusCode)
	}
}

func TestWebhookVerification(t *testing.T) {
	t.Parallel()
	f, _ := newPayFixture(t, nil)
	c := f.login("okafor-residence")
	p := f.startPayment(c, "/c/okafor-residence/invoices/INV-2002/pay", url.Values{"choice": {"full"}})
	ev := event{ID: "evt_1", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p)
	good := ev.payload()
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: good, Secret: whsec})
	other := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: good, Secret: "whsec_other"})
	reserialised := strings.Replace(string(good), `"type"`, ` "type"`, 1)
	for name, r := range map[string]*http.Response{
		"unsigned":     f.postWebhook(good, ""),
		"other secret": f.postWebhook(good, other.Header),
		"stale":        f.sendWebhook(good, time.Now().Add(-6*time.Minute)),
		"reserialised": f.postWebhook([]byte(reserialised), sp.Header),
		"garbage sig":  f.postWebhook(good, "t=1,v1=00"),
	} {
		if r.StatusCode != 400 {
			t.Errorf("%s webhook = %d; want 400", name, r.StatusCode)
		}
	}
	if got, _ := f.store.Payment(context.Background(), p.ID); got.State != events.PaymentPending {
		t.Fatalf("after refused webhooks the payment is %s; want still pending", got.State)
	}
	if v, _ := f.store.Versions(context.Background()); v["okafor-residence"] != 0 {
		t.Errorf("refused webhooks changed the facts' version: %v", v)
	}
	// Another API version: refused loudly and kept for staff.
	old := ev
	old.ID, old.APIVersion = "evt_old", "2020-08-27"
	if r := f.sendWebhook(old.payload(), time.Time{}); r.StatusCode != 400 {
		t.Errorf("old API version webhook = %d; want 400", r.StatusCode)
	}
	if !strings.Contains(f.logs.String(), "wrong API version") {
		t.Error("an event of another API version was not logged loudly")
	}
	if ps, _ := f.store.WebhookProblems(context.Background(), 10); len(ps) != 1 || !strings.Contains(ps[0].Problem, "2020-08-27") {
		t.Errorf("webhook problems = %+v; want the API version refusal", ps)
	}
	// Body cap.
	if r := f.postWebhook([]byte(strings.Repeat("x", 300<<10)), sp.Header); r.StatusCode != 413 {
		t.Errorf("huge webhook = %d; want 413", r.StatusCode)
	}
	// The good one, twice: recorded once.
	for range 2 {
		if r := f.postWebhook(good, sp.Header); r.StatusCode != 200 {
			t.Fatalf("good webhook = %d; want 200", r.StatusCode)
		}
	}
	if got, _ := f.store.Payment(context.Background(), p.ID); got.State != events.PaymentPaid || got.Reference != "pi_"+p.ID {
		t.Errorf("payment after the webhook = %+v; want paid", got.Payment)
	}
	if v, _ := f.store.Versions(context.Background()); v["okafor-residence"] != 1 {
		t.Errorf("facts version after a duplicated event = %d; want 1 (one change)", v["okafor-residence"])
	}
}

func TestWebhookStatesAndChecks(t *testing.T) {
	t.Parallel()
	f, _ := newPayFixture(t, nil)
	c := f.login("whitfield-dental")
	ctx := context.Background()
	state := func(id string) string {
		p, err := f.store.Payment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return p.State
	}
	send := func(ev event) {
		t.Helper()
		if r := f.sendWebhook(ev.payload(), time.Time{}); r.StatusCode != 200 {
			t.Fatalf("webhook %s = %d", ev.ID, r.StatusCode)
		}
	}
	// Bank debit: completed unpaid → processing → succeeded → paid; a late failure changes nothing.
	p1 := f.startPayment(c, "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"part"}, "part": {"100"}})
	send(event{ID: "e1", Type: edge.EventSessionCompleted, Status: "unpaid"}.forPayment(p1))
	if s := state(p1.ID); s != events.PaymentProcessing {
		t.Errorf("completed unpaid → %s; want processing", s)
	}
	send(event{ID: "e2", Type: edge.EventAsyncPaymentSucceded, Status: "paid"}.forPayment(p1))
	send(event{ID: "e3", Type: edge.EventAsyncPaymentFailed, Status: "unpaid"}.forPayment(p1))
	send(event{ID: "e4", Type: edge.EventSessionCompleted, Status: "unpaid"}.forPayment(p1))
	if s := state(p1.ID); s != events.PaymentPaid {
		t.Errorf("paid then failed/completed events → %s; want paid (final)", s)
	}
	// Out of order: succeeded before completed.
	p2 := f.startPayment(c, "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"part"}, "part": {"50"}})
	send(event{ID: "e5", Type: edge.EventAsyncPaymentSucceded, Status: "paid"}.forPayment(p2))
	send(event{ID: "e6", Type: edge.EventSessionCompleted, Status: "unpaid"}.forPayment(p2))
	if s := state(p2.ID); s != events.PaymentPaid {
		t.Errorf("succeeded, then completed(unpaid) → %s; want paid", s)
	}
	// Failed bank debit.
	p3 := f.startPayment(c, "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"part"}, "part": {"30"}})
	send(event{ID: "e7", Type: edge.EventSessionCompleted, Status: "unpaid"}.forPayment(p3))
	send(event{ID: "e8", Type: edge.EventAsyncPaymentFailed, Status: "unpaid"}.forPayment(p3))
	if s := state(p3.ID); s != events.PaymentFailed {
		t.Errorf("processing then failed → %s; want failed", s)
	}
	// Mismatches: amount, currency, metadata naming another document or client.
	p4 := f.startPayment(c, "/c/whitfield-dental/invoices/INV-2001/pay", url.Values{"choice": {"part"}, "part": {"40"}})
	bad := []event{
		func() event {
			e := event{ID: "m1", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p4)
			e.Amount++
			return e
		}(),
		func() event {
			e := event{ID: "m2", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p4)
			e.Currency = "eur"
			return e
		}(),
		func() event {
			e := event{ID: "m3", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p4)
			e.Meta = map[string]string{"client": "okafor-residence", "document": "INV-2002", "kind": "invoice"}
			return e
		}(),
		func() event {
			e := event{ID: "m4", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p4)
			e.Session = "cs_unknown"
			return e
		}(),
	}
	for _, e := range bad {
		send(e)
	}
	if s := state(p4.ID); s != events.PaymentPending {
		t.Errorf("after mismatched events the payment is %s; want pending", s)
	}
	if ps, _ := f.store.WebhookProblems(ctx, 10); len(ps) != len(bad) {
		t.Errorf("webhook problems = %d; want %d:\n%+v", len(ps), len(bad), ps)
	}
	// An event type the hub does not act on: 200, nothing changes.
	send(event{ID: "other", Type: "customer.created"})
}

// TestPaidShowsInPages: a verified payment rebuilds the client's bundle:
// the invoice shows it and its balance, a receipt page exists, and the
// client and the business are emailed.
func TestPaidShowsInPages(t *testing.T) {
	t.Parallel()
	f, _ := newPayFixture(t, nil)
	c := f.login("okafor-residence")
	p := f.startPayment(c, "/c/okafor-residence/invoices/INV-2002/pay", url.Values{"choice": {"full"}})
	// Stripe sends the client back before (or after) the webhook.
	if body := readBody(t, f.do(c, "GET", "/c/okafor-residence/paid/"+p.ID, nil)); !strings.Contains(body, "confirming your payment") {
		t.Errorf("return page before the webhook:\n%.600s", body)
	}
	if r := f.sendWebhook(event{ID: "evt_paid", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p).payload(), time.Time{}); r.StatusCode != 200 {
		t.Fatalf("webhook = %d", r.StatusCode)
	}
	f.waitUntil("the invoice rebuilt as paid", func() bool { return f.doc("INV-2002") == 0 && f.srv.Build().Directory != nil })
	page := readBody(t, f.do(c, "GET", "/c/okafor-residence/invoices/INV-2002/", nil))
	for _, want := range []string{">Paid<", "Card, paid online", "pi_" + p.ID, "/c/okafor-residence/receipts/INV-2002-P1/"} {
		if !strings.Contains(page, want) {
			t.Errorf("paid invoice page lacks %q", want)
		}
	}
	if strings.Contains(page, `action="/c/okafor-residence/invoices/INV-2002/pay"`) {
		t.Error("the paid invoice still has a Pay form")
	}
	if r := f.do(c, "GET", "/c/okafor-residence/receipts/INV-2002-P1/", nil); r.StatusCode != 200 {
		t.Errorf("receipt page = %d", r.StatusCode)
	}
	if r := f.do(c, "GET", "/c/okafor-residence/paid/"+p.ID, nil); r.StatusCode != 303 || r.Header.Get("Location") != "/c/okafor-residence/invoices/INV-2002/" {
		t.Errorf("return page after the rebuild = %d %q; want 303 to the invoice", r.StatusCode, r.Header.Get("Location"))
	}
	if r := f.do(c, "POST", "/c/okafor-residence/invoices/INV-2002/pay", url.Values{"choice": {"full"}}); r.StatusCode != 409 {
		t.Errorf("paying a paid invoice = %d; want 409", r.StatusCode)
	}
	var subjects []string
	for _, m := range f.awaitMail("receipt and notice", func(m edge.Message) bool { return strings.Contains(m.Subject, "Receipt:") },
		func(m edge.Message) bool { return strings.Contains(m.Subject, "Payment received:") }) {
		subjects = append(subjects, m.To[0].Email+": "+m.Subject)
	}
	joined := strings.Join(subjects, "\n")
	if !strings.Contains(joined, "Receipt:") || !strings.Contains(joined, "Payment received:") {
		t.Errorf("emails = %q; want a receipt to the client and a notice to the business", subjects)
	}
	// A fresh build from the same content and state gives the same page.
	before := page
	f.rebuildFresh()
	if after := readBody(t, f.do(c, "GET", "/c/okafor-residence/invoices/INV-2002/", nil)); after != before {
		t.Error("hub build on the same state gave a different invoice page than the edge's rebuild")
	}
}

// TestWebhookStorageErrorIs5xx: an event that cannot be stored is not acknowledged.
func TestWebhookStorageErrorIs5xx(t *testing.T) {
	t.Parallel()
	f, _ := newPayFixture(t, nil)
	c := f.login("okafor-residence")
	p := f.startPayment(c, "/c/okafor-residence/invoices/INV-2002/pay", url.Values{"choice": {"full"}})
	f.store.Close()
	if r := f.sendWebhook(event{ID: "evt_x", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p).payload(), time.Time{}); r.StatusCode < 500 {
		t.Errorf("webhook with the store down = %d; want 5xx so Stripe retries", r.StatusCode)
	}
}

// TestTestCheckoutOnlyInPreview: the edge refuses a test checkout's routes
// without the staff preview (that is, outside hub serve), and without them
// /_checkout/ does not exist.
func TestTestCheckoutOnlyInPreview(t *testing.T) {
	f := newFixture(t, nil)
	keys, err := bundle.LoadKeySet(f.keysDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.config(keys, mustURL(f.url))
	cfg.TestCheckout = http.NotFoundHandler()
	if _, err := edge.New(context.Background(), cfg, f.store, f.mail); err == nil {
		t.Error("edge.New with a test checkout and no preview worked")
	}
	if r := f.do(f.login("okafor-residence"), "GET", "/_checkout/cs_test_local_1", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /_checkout/... without the test checkout = %d; want 404", r.StatusCode)
	}
}
