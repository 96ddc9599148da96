package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

var responseTests = []test{
	{"Approvals", testApprovals},
	{"ApprovalConcurrent", testApprovalConcurrent},
	{"ChangeRequests", testChangeRequests},
	{"WorkRequests", testRequests},
	{"PendingClients", testPending},
	{"VersionsMove", testVersions},
	{"MailQueuedWithFact", testMailWithFact},
}

func approval(quote string, at time.Time) events.Approval {
	return events.Approval{Quote: quote, Version: "v1", PageSHA: "ab12", Options: []int{0, 2}, Name: "Ada Lovelace",
		Signature: []byte{0x89, 'P', 'N', 'G', 0}, Terms: true, Email: "ada@acme.example", IP: "192.0.2.1", UA: "UA", At: at}
}

func testApprovals(t *testing.T, s Store) {
	ctx := context.Background()
	a := approval("Q-1", T0)
	if dup, err := s.RecordApproval(ctx, "acme", "n1", a, nil); dup || err != nil {
		t.Fatalf("RecordApproval = %v, %v", dup, err)
	}
	// The same form again: a duplicate, whatever it says.
	if dup, err := s.RecordApproval(ctx, "acme", "n1", approval("Q-1", T0.Add(time.Hour)), nil); !dup || err != nil {
		t.Errorf("RecordApproval with the same nonce = %v, %v; want a duplicate", dup, err)
	}
	// Another form approving the same quote: a conflict.
	_, err := s.RecordApproval(ctx, "acme", "n2", a, nil)
	WantCode(t, "RecordApproval of an approved quote", err, edge.EConflict)
	if want := "Quote Q-1 was already approved."; edge.ErrorMessage(err) != want {
		t.Errorf("message %q, want %q", edge.ErrorMessage(err), want)
	}
	// The conflict recorded nothing, not even its nonce.
	if dup, err := s.RecordApproval(ctx, "acme", "n2", approval("Q-2", T0.Add(time.Minute)), nil); dup || err != nil {
		t.Errorf("RecordApproval(n2, Q-2) after n2's conflict = %v, %v; want recorded", dup, err)
	}
	// Another client's quote of the same number is its own.
	b := approval("Q-1", T0)
	b.Options, b.Signature, b.Terms = nil, nil, false
	if dup, err := s.RecordApproval(ctx, "globex", "n3", b, nil); dup || err != nil {
		t.Errorf("RecordApproval(globex, Q-1) = %v, %v", dup, err)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	q2 := approval("Q-2", T0.Add(time.Minute))
	if !reflect.DeepEqual(f.Approvals, []events.Approval{a, q2}) {
		t.Errorf("Facts(acme).Approvals = %+v\nwant %+v", f.Approvals, []events.Approval{a, q2})
	}
	g, err := s.Facts(ctx, "globex")
	must(t, err)
	if len(g.Approvals) != 1 || len(g.Approvals[0].Options) != 0 || len(g.Approvals[0].Signature) != 0 || g.Approvals[0].Terms {
		t.Errorf("Facts(globex).Approvals = %+v; want one without options, signature or terms", g.Approvals)
	}
	// A client with no facts.
	e, err := s.Facts(ctx, "initech")
	if err != nil || len(e.Payments)+len(e.Approvals)+len(e.Changes)+len(e.Requests) != 0 {
		t.Errorf("Facts(initech) = %+v, %v; want empty", e, err)
	}
}

// testApprovalConcurrent: two forms approving one quote at once: one is
// recorded, the other is a conflict.
func testApprovalConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	errs := Parallel(t, 6, func(i int) (error, error) {
		_, err := s.RecordApproval(ctx, "acme", fmt.Sprintf("n%d", i), approval("Q-1", T0), nil)
		if err != nil && edge.ErrorCode(err) == edge.EConflict {
			return err, nil
		}
		return nil, err
	})
	conflicts := 0
	for _, e := range errs {
		if e != nil {
			conflicts++
		}
	}
	if conflicts != 5 {
		t.Errorf("6 concurrent approvals of one quote: %d conflicts; want 5", conflicts)
	}
	if f, err := s.Facts(ctx, "acme"); err != nil || len(f.Approvals) != 1 {
		t.Errorf("approvals = %+v, %v; want 1", f, err)
	}
}

func testChangeRequests(t *testing.T, s Store) {
	ctx := context.Background()
	c1 := events.ChangeRequest{Quote: "Q-1", Version: "v1", Message: "Less gravel, please.", Email: "ada@acme.example", At: T0}
	c2 := events.ChangeRequest{Quote: "Q-1", Version: "v2", Message: "And a gate.", Email: "bob@acme.example", At: T0.Add(time.Hour)}
	for i, c := range []events.ChangeRequest{c1, c2} {
		if dup, err := s.RecordChangeRequest(ctx, "acme", fmt.Sprintf("c%d", i), c, nil); dup || err != nil {
			t.Fatalf("RecordChangeRequest = %v, %v", dup, err)
		}
	}
	if dup, err := s.RecordChangeRequest(ctx, "acme", "c0", c1, nil); !dup || err != nil {
		t.Errorf("RecordChangeRequest again = %v, %v; want a duplicate", dup, err)
	}
	_, err := s.RecordApproval(ctx, "acme", "a1", approval("Q-1", T0.Add(2*time.Hour)), nil)
	must(t, err)
	_, err = s.RecordChangeRequest(ctx, "acme", "c3", c1, nil)
	WantCode(t, "RecordChangeRequest of an approved quote", err, edge.EConflict)
	if want := "Quote Q-1 was already approved; call or email us to change it."; edge.ErrorMessage(err) != want {
		t.Errorf("message %q, want %q", edge.ErrorMessage(err), want)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	if !reflect.DeepEqual(f.Changes, []events.ChangeRequest{c1, c2}) {
		t.Errorf("Facts.Changes = %+v; want %+v", f.Changes, []events.ChangeRequest{c1, c2})
	}
}

func request(id string, at time.Time) events.Request {
	return events.Request{ID: id, Title: "Fence " + id, Status: events.RequestNew, At: at}
}

func testRequests(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.Request(ctx, "R-9")
	WantCode(t, "Request(unknown)", err, edge.ENotFound)
	if edge.ErrorMessage(err) != "No request R-9." {
		t.Errorf("Request(unknown): message %q", edge.ErrorMessage(err))
	}
	WantCode(t, "SetRequestStatus(unknown)", s.SetRequestStatus(ctx, "R-9", events.RequestImported), edge.ENotFound)
	reqs := []struct {
		client string
		r      events.Request
	}{
		{"acme", request("R-1", T0)},
		{"globex", request("R-2", T0.Add(time.Hour))},
		{"acme", request("R-3", T0.Add(2*time.Hour))},
	}
	for i, rr := range reqs {
		if dup, err := s.RecordRequest(ctx, rr.client, fmt.Sprintf("r%d", i), rr.r, nil); dup || err != nil {
			t.Fatalf("RecordRequest = %v, %v", dup, err)
		}
	}
	if dup, err := s.RecordRequest(ctx, "acme", "r0", request("R-4", T0), nil); !dup || err != nil {
		t.Errorf("RecordRequest with a used nonce = %v, %v; want a duplicate", dup, err)
	}
	ids := func(status string, limit int) string {
		rs, err := s.Requests(ctx, status, limit)
		must(t, err)
		var out []string
		for _, r := range rs {
			out = append(out, r.ClientID+"/"+r.ID+"/"+r.Status)
		}
		return fmt.Sprint(out)
	}
	if got := ids("", 10); got != "[acme/R-3/new globex/R-2/new acme/R-1/new]" {
		t.Errorf("Requests(all) = %s; want newest first", got)
	}
	if got := ids("", 1); got != "[acme/R-3/new]" {
		t.Errorf("Requests(all, 1) = %s", got)
	}
	v1, err := s.Versions(ctx)
	must(t, err)
	must(t, s.SetRequestStatus(ctx, "R-1", events.RequestImported))
	if got := ids(events.RequestImported, 10); got != "[acme/R-1/imported]" {
		t.Errorf("Requests(imported) = %s", got)
	}
	if got := ids(events.RequestNew, 10); got != "[acme/R-3/new globex/R-2/new]" {
		t.Errorf("Requests(new) = %s", got)
	}
	r, err := s.Request(ctx, "R-1")
	must(t, err)
	want := request("R-1", T0)
	want.Status = events.RequestImported
	if r.ClientID != "acme" || !reflect.DeepEqual(r.Request, want) {
		t.Errorf("Request(R-1) = %+v; want %+v of acme", r, want)
	}
	// A status change is a change of the client's facts.
	v2, err := s.Versions(ctx)
	must(t, err)
	if v2["acme"] == v1["acme"] || v2["globex"] != v1["globex"] {
		t.Errorf("Versions %v → %v after SetRequestStatus(acme's R-1); want acme's alone to move", v1, v2)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	if len(f.Requests) != 2 || f.Requests[0].ID != "R-1" || f.Requests[0].Status != events.RequestImported || f.Requests[1].ID != "R-3" {
		t.Errorf("Facts(acme).Requests = %+v; want R-1 (imported), R-3", f.Requests)
	}
}

func testPending(t *testing.T, s Store) {
	ctx := context.Background()
	if ps, err := s.Pending(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("Pending on a new store = %v, %v", ps, err)
	}
	pc := events.PendingClient{ID: "new-cy-1234", Name: "Cy", Email: "cy@example.com", Phone: "555", Address: "1 Road", At: T0}
	got, fresh, err := s.CreatePending(ctx, pc)
	if err != nil || !fresh || got != pc {
		t.Fatalf("CreatePending = %+v, %v, %v; want it, new", got, fresh, err)
	}
	again := pc
	again.Name, again.At = "Cy Again", T0.Add(time.Hour)
	got, fresh, err = s.CreatePending(ctx, again)
	if err != nil || fresh || got != pc {
		t.Errorf("CreatePending(same email) = %+v, %v, %v; want the first, not new", got, fresh, err)
	}
	other := events.PendingClient{ID: "new-dee-5678", Name: "Dee", Email: "dee@example.com", At: T0.Add(time.Minute)}
	results := Parallel(t, 4, func(int) (bool, error) {
		_, fresh, err := s.CreatePending(ctx, other)
		return fresh, err
	})
	if news := count(results); news != 1 {
		t.Errorf("4 concurrent CreatePending of one email: %d new; want 1", news)
	}
	ps, err := s.Pending(ctx)
	if err != nil || !reflect.DeepEqual(ps, []events.PendingClient{pc, other}) {
		t.Errorf("Pending = %+v, %v; want %+v", ps, err, []events.PendingClient{pc, other})
	}
	if v, err := s.Versions(ctx); err != nil || v[pc.ID] == 0 {
		t.Errorf("Versions = %v, %v; want the pending client's facts versioned", v, err)
	}
}

// testVersions: every kind of fact moves its client's version, and only
// its client's; a duplicate moves nothing.
func testVersions(t *testing.T, s Store) {
	ctx := context.Background()
	v, err := s.Versions(ctx)
	if err != nil || len(v) != 0 {
		t.Fatalf("Versions on a new store = %v, %v", v, err)
	}
	must(t, s.CreatePayment(ctx, payment("cs_1", "acme", "INV-1", 100)))
	if v, _ := s.Versions(ctx); len(v) != 0 {
		t.Errorf("Versions after CreatePayment = %v; a pending payment is no fact", v)
	}
	facts := []struct {
		name string
		do   func() error
		move bool
	}{
		{"approval", func() error { _, err := s.RecordApproval(ctx, "acme", "n1", approval("Q-1", T0), nil); return err }, true},
		{"duplicate approval", func() error { _, err := s.RecordApproval(ctx, "acme", "n1", approval("Q-1", T0), nil); return err }, false},
		{"change request", func() error {
			_, err := s.RecordChangeRequest(ctx, "acme", "n2", events.ChangeRequest{Quote: "Q-2", At: T0}, nil)
			return err
		}, true},
		{"request", func() error { _, err := s.RecordRequest(ctx, "acme", "n3", request("R-1", T0), nil); return err }, true},
		{"payment", func() error { hook(t, s, "evt_1", "cs_1", events.PaymentPaid, T0); return nil }, true},
		{"duplicate event", func() error { hook(t, s, "evt_1", "cs_1", events.PaymentPaid, T0); return nil }, false},
		{"stale event", func() error { hook(t, s, "evt_2", "cs_1", events.PaymentProcessing, T0); return nil }, false},
		{"status", func() error { return s.SetRequestStatus(ctx, "R-1", events.RequestConverted) }, true},
	}
	must(t, s.CreatePayment(ctx, payment("cs_g", "globex", "INV-1", 100)))
	hook(t, s, "evt_g", "cs_g", events.PaymentPaid, T0)
	prev, err := s.Versions(ctx)
	must(t, err)
	for _, f := range facts {
		must(t, f.do())
		cur, err := s.Versions(ctx)
		must(t, err)
		if moved := cur["acme"] != prev["acme"]; moved != f.move {
			t.Errorf("%s: acme's version %d → %d; want moved %v", f.name, prev["acme"], cur["acme"], f.move)
		}
		if cur["globex"] != prev["globex"] {
			t.Errorf("%s: globex's version moved", f.name)
		}
		prev = cur
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	if len(f.Payments) != 1 || len(f.Approvals) != 1 || len(f.Changes) != 1 || len(f.Requests) != 1 || f.Requests[0].Status != events.RequestConverted {
		t.Errorf("Facts(acme) = %+v; want one of each, the request converted", f)
	}
}

// testMailWithFact: a fact's emails are committed with it, a duplicate
// queues nothing, and an email that cannot be queued leaves the fact
// unrecorded.
func testMailWithFact(t *testing.T, s Store) {
	ctx := context.Background()
	mail := []edge.Message{{ID: "a1@hub.example", To: []edge.Address{{Email: "c@example.com"}, {Email: "d@example.com"}}, Subject: "You approved Q-1"}}
	a := approval("Q-1", T0)
	if dup, err := s.RecordApproval(ctx, "acme", "n1", a, mail); dup || err != nil {
		t.Fatalf("RecordApproval = %v, %v", dup, err)
	}
	if dup, err := s.RecordApproval(ctx, "acme", "n1", a, []edge.Message{{ID: "a2@hub.example"}}); !dup || err != nil {
		t.Fatalf("RecordApproval again = %v, %v; want a duplicate", dup, err)
	}
	due, err := s.ClaimMail(ctx, T0, time.Minute, 10)
	if err != nil || len(due) != 1 || due[0].ID != "a1@hub.example" || due[0].Subject != "You approved Q-1" || due[0].Recipients != "c@example.com, d@example.com" {
		t.Fatalf("ClaimMail = %+v, %v; want the approval's one email", due, err)
	}
	// An email without an ID cannot be queued: nothing is recorded.
	bad := []edge.Message{{Subject: "no id"}}
	if _, err := s.RecordRequest(ctx, "acme", "n2", request("R-1", T0), bad); err == nil {
		t.Fatal("RecordRequest with an email that cannot be queued succeeded")
	}
	if rs, _ := s.Requests(ctx, "", 10); len(rs) != 0 {
		t.Errorf("requests = %d; want none (rolled back with its email)", len(rs))
	}
	if dup, err := s.RecordRequest(ctx, "acme", "n2", request("R-1", T0), nil); dup || err != nil {
		t.Errorf("RecordRequest after the failed one = %v, %v; want recorded (its nonce was rolled back)", dup, err)
	}
	if _, err := s.RecordChangeRequest(ctx, "acme", "n3", events.ChangeRequest{Quote: "Q-2", At: T0}, bad); err == nil {
		t.Error("RecordChangeRequest with an email that cannot be queued succeeded")
	}
	if f, _ := s.Facts(ctx, "acme"); len(f.Changes) != 0 {
		t.Errorf("change requests = %d; want none", len(f.Changes))
	}
}
