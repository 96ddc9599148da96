package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

var paymentTests = []test{
	{"Payments", testPayments},
	{"PaymentSeqConcurrent", testPaymentSeqConcurrent},
	{"RecordWebhookMonotonic", testWebhookMonotonic},
	{"RecordWebhookDedupConcurrent", testWebhookDedup},
	{"RecordWebhookMail", testWebhookMail},
	{"WebhookProblems", testWebhookProblems},
}

// payment is a pending invoice payment made at T0, open for an hour.
func payment(id, client, doc string, amount int64) edge.PaymentRecord {
	return edge.PaymentRecord{
		Payment: events.Payment{ID: id, Kind: events.ForInvoice, Document: doc, Amount: amount, Currency: "USD",
			Email: "ada@acme.example", Created: T0},
		ClientID: client, URL: "https://checkout.example/" + id, Expires: T0.Add(time.Hour),
	}
}

func testPayments(t *testing.T, s Store) {
	ctx := context.Background()
	if n, err := s.PaymentCount(ctx, "acme", "INV-1"); err != nil || n != 0 {
		t.Fatalf("PaymentCount on a new store = %d, %v", n, err)
	}
	_, err := s.Payment(ctx, "cs_none")
	WantCode(t, "Payment(unknown)", err, edge.ENotFound)
	if msg := edge.ErrorMessage(err); msg != "No such payment." {
		t.Errorf("Payment(unknown): message %q", msg)
	}
	p1 := payment("cs_1", "acme", "INV-1", 1000)
	p2 := payment("cs_2", "acme", "INV-1", 1000)
	p2.Created = T0.Add(time.Minute)
	p3 := payment("cs_3", "acme", "INV-2", 500)
	p3.Created, p3.Kind = T0.Add(2*time.Minute), events.ForDeposit
	p4 := payment("cs_4", "globex", "INV-1", 1000)
	p4.Created = T0.Add(3 * time.Minute)
	for _, p := range []edge.PaymentRecord{p1, p2, p3, p4} {
		must(t, s.CreatePayment(ctx, p))
	}
	err = s.CreatePayment(ctx, p1)
	WantCode(t, "CreatePayment of a recorded id", err, edge.EConflict)
	if want := "Stripe returned a Checkout Session id (cs_1) that is already recorded"; edge.ErrorMessage(err) != want {
		t.Errorf("CreatePayment conflict: message %q, want %q", edge.ErrorMessage(err), want)
	}

	got, err := s.Payment(ctx, "cs_2")
	must(t, err)
	want := p2
	want.Seq, want.State = 2, events.PaymentPending
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Payment(cs_2) = %+v\nwant %+v", got, want)
	}
	if g, _ := s.Payment(ctx, "cs_4"); g.Seq != 1 {
		t.Errorf("globex's first payment has seq %d; want 1 (numbered per client)", g.Seq)
	}
	for _, tt := range []struct {
		client, doc string
		want        int
	}{{"acme", "INV-1", 2}, {"acme", "INV-2", 1}, {"globex", "INV-1", 1}, {"globex", "INV-2", 0}} {
		if n, err := s.PaymentCount(ctx, tt.client, tt.doc); err != nil || n != tt.want {
			t.Errorf("PaymentCount(%s, %s) = %d, %v; want %d", tt.client, tt.doc, n, err, tt.want)
		}
	}

	// OpenPayment: the newest pending one of the same client, kind,
	// document and amount whose session is open after t.
	open := []struct {
		client, kind, doc string
		amount            int64
		at                time.Time
		want              string // "" for none
	}{
		{"acme", events.ForInvoice, "INV-1", 1000, T0, "cs_2"},
		{"acme", events.ForInvoice, "INV-1", 1000, T0.Add(time.Hour - time.Millisecond), "cs_2"},
		{"acme", events.ForInvoice, "INV-1", 1000, T0.Add(time.Hour), ""}, // closed at its Expires
		{"acme", events.ForInvoice, "INV-1", 999, T0, ""},
		{"acme", events.ForDeposit, "INV-1", 1000, T0, ""},
		{"acme", events.ForDeposit, "INV-2", 500, T0, "cs_3"},
		{"globex", events.ForInvoice, "INV-2", 1000, T0, ""},
	}
	for _, tt := range open {
		p, ok, err := s.OpenPayment(ctx, tt.client, tt.kind, tt.doc, tt.amount, tt.at)
		if err != nil || ok != (tt.want != "") || p.ID != tt.want {
			t.Errorf("OpenPayment(%s, %s, %s, %d, +%v) = %s, %v, %v; want %q", tt.client, tt.kind, tt.doc, tt.amount, tt.at.Sub(T0), p.ID, ok, err, tt.want)
		}
	}
	// Settling sums processing and paid payments only.
	hook(t, s, "evt_a", "cs_1", events.PaymentProcessing, T0.Add(time.Hour))
	if p, ok, _ := s.OpenPayment(ctx, "acme", events.ForInvoice, "INV-1", 1000, T0); !ok || p.ID != "cs_2" {
		t.Errorf("OpenPayment after cs_1 moved on = %s, %v; want cs_2", p.ID, ok)
	}
	hook(t, s, "evt_b", "cs_2", events.PaymentPaid, T0.Add(time.Hour))
	if _, ok, _ := s.OpenPayment(ctx, "acme", events.ForInvoice, "INV-1", 1000, T0); ok {
		t.Error("OpenPayment found a paid payment; want only pending ones")
	}
	hook(t, s, "evt_c", "cs_4", events.PaymentPaid, T0.Add(time.Hour))
	if n, err := s.Settling(ctx, "acme", "INV-1"); err != nil || n != 2000 {
		t.Errorf("Settling(acme, INV-1) = %d, %v; want 2000", n, err)
	}
	hook(t, s, "evt_d", "cs_3", events.PaymentExpired, T0.Add(time.Hour))
	if n, err := s.Settling(ctx, "acme", "INV-2"); err != nil || n != 0 {
		t.Errorf("Settling(acme, INV-2) = %d, %v; want 0 (expired)", n, err)
	}
	// Payments: newest first, limited.
	ps, err := s.Payments(ctx, 10)
	must(t, err)
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
		checkTime(t, "Payments", p.Created)
		checkTime(t, "Payments", p.Settled)
	}
	if fmt.Sprint(ids) != "[cs_4 cs_3 cs_2 cs_1]" {
		t.Errorf("Payments = %v; want newest first", ids)
	}
	if ps, err := s.Payments(ctx, 1); err != nil || len(ps) != 1 || ps[0].ID != "cs_4" {
		t.Errorf("Payments(1) = %v, %v; want cs_4", ps, err)
	}
	// Facts: the payments past pending (not expired), oldest first.
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	ids = nil
	for _, p := range f.Payments {
		ids = append(ids, p.ID+":"+p.State)
	}
	if fmt.Sprint(ids) != "[cs_1:processing cs_2:paid]" {
		t.Errorf("Facts(acme).Payments = %v; want cs_1 processing, cs_2 paid", ids)
	}
}

// hook records a webhook that moves a payment to state at.
func hook(t *testing.T, s Store, event, id, state string, at time.Time) edge.WebhookResult {
	t.Helper()
	r, err := s.RecordWebhook(context.Background(), edge.WebhookRecord{EventID: event, Type: "checkout.session.completed",
		Received: at, PaymentID: id, To: state}, nil)
	must(t, err)
	return r
}

// testPaymentSeqConcurrent: payments made at once for one client still
// get the numbers 1..n, once each (receipts are numbered by them).
func testPaymentSeqConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 10
	Parallel(t, n, func(i int) (struct{}, error) {
		return struct{}{}, s.CreatePayment(ctx, payment(fmt.Sprintf("cs_%d", i), "acme", "INV-1", 100))
	})
	var seqs []int64
	for i := range n {
		p, err := s.Payment(ctx, fmt.Sprintf("cs_%d", i))
		must(t, err)
		seqs = append(seqs, p.Seq)
	}
	if got := fmt.Sprint(sorted(seqs)); got != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Errorf("concurrent CreatePayment seqs = %v; want 1..10 once each", got)
	}
}

// testWebhookMonotonic: whatever order events arrive in, a state only
// moves forward (events.PaymentRank); paid is final.
func testWebhookMonotonic(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.CreatePayment(ctx, payment("cs_1", "acme", "INV-1", 100)))
	at := T0.Add(time.Hour)
	steps := []struct {
		to, method, ref string
		problem         string
		changed         bool
		state           string
	}{
		{events.PaymentProcessing, "us_bank_account", "pi_1", "", true, events.PaymentProcessing},
		{events.PaymentPending, "", "", "", false, events.PaymentProcessing},
		{events.PaymentExpired, "", "", "", false, events.PaymentProcessing},
		{events.PaymentPaid, "", "pi_2", "amount does not match", false, events.PaymentProcessing}, // refused: no change
		{"", "", "", "", false, events.PaymentProcessing},
		{events.PaymentPaid, "", "", "", true, events.PaymentPaid},
		{events.PaymentFailed, "", "", "", false, events.PaymentPaid},
		{events.PaymentProcessing, "card", "", "", false, events.PaymentPaid},
	}
	before, err := s.EventCount(ctx)
	must(t, err)
	changes := 0
	for i, st := range steps {
		res, err := s.RecordWebhook(ctx, edge.WebhookRecord{EventID: fmt.Sprintf("evt_%d", i), Type: "x", Received: at.Add(time.Duration(i) * time.Second),
			PaymentID: "cs_1", To: st.to, Method: st.method, Reference: st.ref, Problem: st.problem}, nil)
		must(t, err)
		if res.Duplicate || res.Changed != st.changed || res.Payment.State != st.state || res.Payment.ID != "cs_1" {
			t.Errorf("step %d (to %q, problem %q) = %+v; want changed %v, state %s", i, st.to, st.problem, res, st.changed, st.state)
		}
		if st.changed {
			changes++
		}
	}
	p, err := s.Payment(ctx, "cs_1")
	must(t, err)
	if p.State != events.PaymentPaid || p.Method != "us_bank_account" || p.Reference != "pi_1" || !p.Settled.Equal(at.Add(5*time.Second)) {
		t.Errorf("payment after the events = %+v; want paid by us_bank_account, pi_1, settled at +5s", p)
	}
	after, err := s.EventCount(ctx)
	must(t, err)
	if after-before != changes {
		t.Errorf("%d fact changes logged for %d state changes", after-before, changes)
	}
	if n, err := s.WebhookEventCount(ctx); err != nil || n != len(steps) {
		t.Errorf("WebhookEventCount = %d, %v; want %d", n, err, len(steps))
	}
	// An event for a payment not recorded is kept, and changes nothing.
	res, err := s.RecordWebhook(ctx, edge.WebhookRecord{EventID: "evt_other", Type: "x", Received: at, PaymentID: "cs_unknown", To: events.PaymentPaid}, nil)
	if err != nil || res.Duplicate || res.Changed || res.Payment.ID != "" {
		t.Errorf("RecordWebhook(unknown payment) = %+v, %v; want recorded, nothing changed", res, err)
	}
	// A failed delayed payment is settled at its failure.
	must(t, s.CreatePayment(ctx, payment("cs_2", "acme", "INV-2", 100)))
	hook(t, s, "evt_p2", "cs_2", events.PaymentProcessing, at)
	if r := hook(t, s, "evt_f2", "cs_2", events.PaymentFailed, at.Add(time.Hour)); !r.Changed || !r.Payment.Settled.Equal(at.Add(time.Hour)) {
		t.Errorf("failed payment = %+v; want settled at its failure", r)
	}
}

// testWebhookDedup: one event delivered 10 times at once is recorded
// once, moves the state once and queues its mail once.
func testWebhookDedup(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.CreatePayment(ctx, payment("cs_1", "acme", "INV-1", 100)))
	res := Parallel(t, 10, func(int) (edge.WebhookResult, error) {
		return s.RecordWebhook(ctx, edge.WebhookRecord{EventID: "evt_1", Type: "checkout.session.completed", Received: T0, PaymentID: "cs_1", To: events.PaymentPaid},
			func(p edge.PaymentRecord) ([]edge.Message, error) {
				return []edge.Message{{ID: "receipt-" + p.ID + "@hub.example", Subject: "Receipt"}}, nil
			})
	})
	fresh, changed := 0, 0
	for _, r := range res {
		if !r.Duplicate {
			fresh++
		}
		if r.Changed {
			changed++
		}
		if r.Duplicate && r.Changed {
			t.Errorf("a duplicate changed the payment: %+v", r)
		}
	}
	if fresh != 1 || changed != 1 {
		t.Errorf("one event recorded 10 times at once: %d not duplicates, %d changed; want 1 and 1", fresh, changed)
	}
	if n, err := s.WebhookEventCount(ctx); err != nil || n != 1 {
		t.Errorf("WebhookEventCount = %d, %v; want 1", n, err)
	}
	if n, err := s.EventCount(ctx); err != nil || n != 1 {
		t.Errorf("EventCount = %d, %v; want 1", n, err)
	}
	if c, err := s.MailCounts(ctx); err != nil || c[edge.MailQueued] != 1 {
		t.Errorf("MailCounts = %v, %v; want 1 queued", c, err)
	}
}

// testWebhookMail: the mail callback runs and its emails are queued only
// when the state moved; a callback's error records nothing.
func testWebhookMail(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.CreatePayment(ctx, payment("cs_1", "acme", "INV-1", 100)))
	calls := 0
	receipt := func(p edge.PaymentRecord) ([]edge.Message, error) {
		calls++
		if p.State != events.PaymentPaid {
			t.Errorf("mail callback given state %s; want the new state", p.State)
		}
		return []edge.Message{{ID: "r-" + p.State + "@hub.example", Subject: "Receipt", To: []edge.Address{{Email: p.Email}}}}, nil
	}
	failing := func(edge.PaymentRecord) ([]edge.Message, error) { return nil, fmt.Errorf("template broke") }
	w := edge.WebhookRecord{EventID: "evt_1", Type: "checkout.session.completed", Received: T0, PaymentID: "cs_1", To: events.PaymentPaid}
	if _, err := s.RecordWebhook(ctx, w, failing); err == nil {
		t.Fatal("RecordWebhook with a failing mail callback succeeded")
	}
	if p, _ := s.Payment(ctx, "cs_1"); p.State != events.PaymentPending {
		t.Errorf("state after a failed callback = %s; want pending (rolled back)", p.State)
	}
	if n, _ := s.WebhookEventCount(ctx); n != 0 {
		t.Errorf("WebhookEventCount after a failed callback = %d; want 0 (Stripe retries it)", n)
	}
	for _, id := range []string{"evt_1", "evt_1", "evt_2"} {
		w.EventID = id
		_, err := s.RecordWebhook(ctx, w, receipt)
		must(t, err)
	}
	if calls != 1 {
		t.Errorf("mail callback called %d times for one state change; want 1", calls)
	}
	ms, err := s.Mails(ctx, "", 10)
	if err != nil || len(ms) != 1 || ms[0].ID != "r-paid@hub.example" || ms[0].Recipients != "ada@acme.example" || !ms[0].Created.Equal(T0) {
		t.Errorf("Mails = %+v, %v; want the one receipt, queued at the event's time", ms, err)
	}
}

func testWebhookProblems(t *testing.T, s Store) {
	ctx := context.Background()
	if ws, err := s.WebhookProblems(ctx, 10); err != nil || len(ws) != 0 {
		t.Fatalf("WebhookProblems on a new store = %v, %v", ws, err)
	}
	must(t, s.CreatePayment(ctx, payment("cs_1", "acme", "INV-1", 100)))
	recs := []edge.WebhookRecord{
		{EventID: "evt_1", Type: "checkout.session.completed", Received: T0, PaymentID: "cs_1", To: events.PaymentPaid, Problem: "amount 1 does not match 100"},
		{EventID: "evt_2", Type: "checkout.session.completed", Received: T0.Add(time.Minute), PaymentID: "cs_1", To: events.PaymentPaid},
		{EventID: "evt_3", Type: "charge.refunded", Received: T0.Add(2 * time.Minute), Problem: "not handled"},
		{EventID: "evt_4", Type: "checkout.session.completed", Received: T0.Add(3 * time.Minute), PaymentID: "cs_x", To: events.PaymentPaid, Problem: "no such payment"},
	}
	for _, w := range recs {
		_, err := s.RecordWebhook(ctx, w, nil)
		must(t, err)
	}
	ws, err := s.WebhookProblems(ctx, 10)
	must(t, err)
	want := []edge.WebhookRecord{recs[3], recs[2], recs[0]}
	if len(ws) != len(want) {
		t.Fatalf("WebhookProblems = %+v; want %+v", ws, want)
	}
	for i := range want {
		g, w := ws[i], want[i]
		if g.EventID != w.EventID || g.Type != w.Type || !g.Received.Equal(w.Received) || g.PaymentID != w.PaymentID || g.To != w.To || g.Problem != w.Problem {
			t.Errorf("WebhookProblems[%d] = %+v; want %+v", i, g, w)
		}
		checkTime(t, "WebhookProblems", g.Received)
	}
	if ws, _ := s.WebhookProblems(ctx, 1); len(ws) != 1 || ws[0].EventID != "evt_4" {
		t.Errorf("WebhookProblems(1) = %+v; want evt_4", ws)
	}
}
