package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

// TestMailQueuedWithFact: a fact's emails are committed with it, a
// duplicate queues nothing, and an email that cannot be queued leaves the
// fact unrecorded.
func TestMailQueuedWithFact(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	mail := []edge.Message{{ID: "a1@hub.example", To: []edge.Address{{Email: "c@example.com"}}, Subject: "You approved Q-1"}}
	a := events.Approval{Quote: "Q-1", Version: "v1", Name: "C", Email: "c@example.com", At: t0}
	if dup, err := s.RecordApproval(ctx, "acme", "n1", a, mail); dup || err != nil {
		t.Fatalf("RecordApproval = %v, %v", dup, err)
	}
	if dup, err := s.RecordApproval(ctx, "acme", "n1", a, []edge.Message{{ID: "a2@hub.example"}}); !dup || err != nil {
		t.Fatalf("RecordApproval again = %v, %v; want a duplicate", dup, err)
	}
	due, err := s.ClaimMail(ctx, t0, time.Minute, 10)
	if err != nil || len(due) != 1 || due[0].ID != "a1@hub.example" || due[0].Subject != "You approved Q-1" || due[0].Recipients != "c@example.com" {
		t.Fatalf("ClaimMail = %+v, %v; want the approval's one email", due, err)
	}
	// An email without an ID cannot be queued: the request is not recorded either.
	r := events.Request{ID: "R-1", Title: "x", Status: events.RequestNew, At: t0}
	if _, err := s.RecordRequest(ctx, "acme", "n2", r, []edge.Message{{Subject: "no id"}}); err == nil {
		t.Fatal("RecordRequest with an email that cannot be queued succeeded")
	}
	if rs, _ := s.Requests(ctx, "", 10); len(rs) != 0 {
		t.Errorf("requests = %d; want none (rolled back with its email)", len(rs))
	}
	// A webhook queues the emails its callback gives, only when the state moves.
	p := edge.PaymentRecord{Payment: events.Payment{ID: "cs_1", Kind: events.ForInvoice, Document: "INV-1", Amount: 100, Currency: "USD", Email: "c@example.com", Created: t0}, ClientID: "acme", Expires: t0.Add(time.Hour)}
	if err := s.CreatePayment(ctx, p); err != nil {
		t.Fatal(err)
	}
	calls := 0
	receipt := func(p edge.PaymentRecord) ([]edge.Message, error) {
		calls++
		return []edge.Message{{ID: "r-" + p.State + "@hub.example", Subject: "Receipt"}}, nil
	}
	for _, id := range []string{"evt_1", "evt_1"} {
		if _, err := s.RecordWebhook(ctx, edge.WebhookRecord{EventID: id, Type: "checkout.session.completed", Received: t0, PaymentID: "cs_1", To: events.PaymentPaid}, receipt); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("mail callback called %d times for one state change; want 1", calls)
	}
	// Attempts and status move; a secret email forgets its body once sent.
	if err := s.QueueMail(ctx, t0, edge.Message{ID: "l1@hub.example", Subject: "Sign in", Text: "https://hub.example/login/t/secret", Secret: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMail(ctx, "l1@hub.example", edge.MailUpdate{Status: edge.MailQueued, Attempts: 1, Next: t0.Add(time.Minute), At: t0, Error: "451"}); err != nil {
		t.Fatal(err)
	}
	if next, ok, err := s.NextMailDue(ctx); err != nil || !ok || !next.Equal(t0) {
		t.Errorf("NextMailDue = %v %v %v; want %v (the approval's email)", next, ok, err, t0)
	}
	if err := s.MarkMail(ctx, "l1@hub.example", edge.MailUpdate{Status: edge.MailSent, Attempts: 2, At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	sent, err := s.Mails(ctx, edge.MailSent, 10)
	if err != nil || len(sent) != 1 || sent[0].Text != "" || sent[0].Attempts != 2 || sent[0].Subject != "Sign in" {
		t.Errorf("sent = %+v, %v; want the sign-in email without its body, 2 attempts", sent, err)
	}
	counts, err := s.MailCounts(ctx)
	if err != nil || counts[edge.MailQueued] != 2 || counts[edge.MailSent] != 1 {
		t.Errorf("MailCounts = %v, %v; want 2 queued, 1 sent", counts, err)
	}
}
