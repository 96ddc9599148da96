package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

var outboxTests = []test{
	{"QueueMail", testQueueMail},
	{"ClaimMailLease", testClaimMail},
	{"ClaimMailConcurrent", testClaimMailConcurrent},
	{"ClaimMailByID", testClaimMailByID},
	{"RewriteMail", testRewriteMail},
	{"MarkMail", testMarkMail},
}

func msg(id string) edge.Message {
	return edge.Message{ID: id + "@hub.example", FromName: "Greenleaf", ReplyTo: "office@greenleaf.example",
		To: []edge.Address{{Name: "Ada", Email: "ada@acme.example"}}, Subject: "About " + id, Text: "text " + id, HTML: "<p>" + id, Links: []string{"https://hub.example/" + id}}
}

func mailIDs(ms []edge.QueuedMail) string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return fmt.Sprint(ids)
}

func testQueueMail(t *testing.T, s Store) {
	ctx := context.Background()
	if _, ok, err := s.NextMailDue(ctx); ok || err != nil {
		t.Fatalf("NextMailDue on a new store = %v, %v; want none", ok, err)
	}
	if c, err := s.MailCounts(ctx); err != nil || len(c) != 0 {
		t.Fatalf("MailCounts on a new store = %v, %v", c, err)
	}
	a, b := msg("a"), msg("b")
	must(t, s.QueueMail(ctx, T0, a))
	must(t, s.QueueMail(ctx, T0.Add(time.Millisecond), b))
	// Queued again (a retry after a crash): kept as it was.
	changed := a
	changed.Subject = "Changed"
	must(t, s.QueueMail(ctx, T0.Add(time.Hour), changed))
	if err := s.QueueMail(ctx, T0, edge.Message{Subject: "no id"}); err == nil {
		t.Error("QueueMail without an ID succeeded")
	}
	later := msg("c")
	later.NotBefore = T0.Add(10 * time.Minute)
	must(t, s.QueueMail(ctx, T0.Add(time.Minute), later))
	ms, err := s.Mails(ctx, "", 10)
	must(t, err)
	if len(ms) != 3 {
		t.Fatalf("Mails = %s; want 3", mailIDs(ms))
	}
	if ms[0].ID != later.ID {
		t.Errorf("Mails = %s; want newest first", mailIDs(ms))
	}
	for _, m := range ms {
		if m.ID != a.ID {
			continue
		}
		want := a
		if fmt.Sprint(m.Message) != fmt.Sprint(want) || m.Status != edge.MailQueued || m.Attempts != 0 || !m.Created.Equal(T0) || !m.Next.Equal(T0) ||
			m.Recipients != "ada@acme.example" || !m.Done.IsZero() || m.Error != "" {
			t.Errorf("queued email = %+v\nwant %+v queued at %v, untried", m, want, T0)
		}
	}
	if next, ok, err := s.NextMailDue(ctx); err != nil || !ok || !next.Equal(T0) {
		t.Errorf("NextMailDue = %v, %v, %v; want %v", next, ok, err, T0)
	}
	// NotBefore holds the email back.
	due, err := s.ClaimMail(ctx, T0.Add(5*time.Minute), time.Minute, 10)
	if err != nil || mailIDs(due) != "["+a.ID+" "+b.ID+"]" {
		t.Errorf("ClaimMail before c's NotBefore = %s, %v; want a, b", mailIDs(due), err)
	}
	if next, ok, _ := s.NextMailDue(ctx); !ok || !next.Equal(T0.Add(6*time.Minute)) {
		t.Errorf("NextMailDue after claiming = %v, %v; want the leases' end, %v", next, ok, T0.Add(6*time.Minute))
	}
	if c, err := s.MailCounts(ctx); err != nil || c[edge.MailQueued] != 3 || len(c) != 1 {
		t.Errorf("MailCounts = %v, %v; want 3 queued", c, err)
	}
}

func testClaimMail(t *testing.T, s Store) {
	ctx := context.Background()
	for i, id := range []string{"m1", "m2", "m3"} {
		must(t, s.QueueMail(ctx, T0.Add(time.Duration(i)*time.Second), msg(id)))
	}
	const lease = 5 * time.Minute
	if due, err := s.ClaimMail(ctx, T0.Add(-time.Second), lease, 10); err != nil || len(due) != 0 {
		t.Errorf("ClaimMail before any is due = %s, %v", mailIDs(due), err)
	}
	now := T0.Add(time.Minute)
	due, err := s.ClaimMail(ctx, now, lease, 2)
	must(t, err)
	if mailIDs(due) != "[m1@hub.example m2@hub.example]" {
		t.Fatalf("ClaimMail(limit 2) = %s; want the two oldest", mailIDs(due))
	}
	for _, m := range due {
		if m.Attempts != 1 || !m.Next.Equal(now.Add(lease)) || m.Text == "" || len(m.To) != 1 {
			t.Errorf("claimed %s: attempts %d, next %v, body %q; want 1, %v, the body", m.ID, m.Attempts, m.Next, m.Text, now.Add(lease))
		}
	}
	// Claimed emails are not claimed again while their lease holds.
	due, err = s.ClaimMail(ctx, now.Add(lease-time.Millisecond), lease, 10)
	if err != nil || mailIDs(due) != "[m3@hub.example]" {
		t.Errorf("ClaimMail during the lease = %s, %v; want m3 only", mailIDs(due), err)
	}
	// A lapsed lease (the edge died while sending) gives them back, same IDs, counted again.
	due, err = s.ClaimMail(ctx, now.Add(lease), lease, 10)
	must(t, err)
	if mailIDs(due) != "[m1@hub.example m2@hub.example]" || due[0].Attempts != 2 {
		t.Errorf("ClaimMail after the lease = %s (attempts %d); want m1, m2 again with 2 attempts", mailIDs(due), due[0].Attempts)
	}
	// Sent and failed emails are never claimed.
	must(t, s.MarkMail(ctx, "m1@hub.example", edge.MailUpdate{Status: edge.MailSent, Attempts: 2, At: now}))
	must(t, s.MarkMail(ctx, "m2@hub.example", edge.MailUpdate{Status: edge.MailFailed, Attempts: 2, At: now, Error: "550"}))
	if due, err := s.ClaimMail(ctx, now.Add(time.Hour), lease, 10); err != nil || mailIDs(due) != "[m3@hub.example]" {
		t.Errorf("ClaimMail after marking = %s, %v; want m3", mailIDs(due), err)
	}
}

// testClaimMailConcurrent: several edges claiming at once never get the
// same email, and between them claim all of them.
func testClaimMailConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		must(t, s.QueueMail(ctx, T0, msg(fmt.Sprintf("m%02d", i))))
	}
	got := Parallel(t, 8, func(int) ([]edge.QueuedMail, error) {
		var all []edge.QueuedMail
		for {
			due, err := s.ClaimMail(ctx, T0, time.Minute, 3)
			if err != nil || len(due) == 0 {
				return all, err
			}
			all = append(all, due...)
		}
	})
	seen := map[string]int{}
	for _, ms := range got {
		for _, m := range ms {
			seen[m.ID]++
			if m.Attempts != 1 {
				t.Errorf("%s claimed with %d attempts; want 1", m.ID, m.Attempts)
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%d of %d emails claimed", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times by concurrent claimers", id, c)
		}
	}
}

func testRewriteMail(t *testing.T, s Store) {
	ctx := context.Background()
	a, b, c := msg("a"), msg("b"), msg("c")
	a.NotBefore, b.NotBefore = T0.Add(time.Hour), T0.Add(time.Hour)
	must(t, s.QueueMail(ctx, T0, a, b, c))
	// c is attempted: a rewrite leaves it.
	if due, err := s.ClaimMail(ctx, T0, time.Hour, 10); err != nil || mailIDs(due) != "["+c.ID+"]" {
		t.Fatalf("ClaimMail = %s, %v; want c (a, b held back)", mailIDs(due), err)
	}
	ra, rc := a, c
	ra.Subject, ra.Text, ra.NotBefore = "Rewritten", "new body", time.Time{}
	rc.Subject = "Rewritten"
	must(t, s.RewriteMail(ctx, T0.Add(time.Minute), ra, rc, edge.Message{ID: "unknown@hub.example"}))
	due, err := s.ClaimMail(ctx, T0.Add(time.Minute), time.Minute, 10)
	must(t, err)
	if mailIDs(due) != "["+a.ID+"]" || due[0].Subject != "Rewritten" || due[0].Text != "new body" {
		t.Errorf("ClaimMail after RewriteMail = %+v; want a, rewritten and due now", due)
	}
	ms, err := s.Mails(ctx, "", 10)
	must(t, err)
	for _, m := range ms {
		if m.ID == c.ID && m.Subject != c.Subject {
			t.Errorf("an attempted email was rewritten: %+v", m)
		}
		if m.ID == b.ID && (!m.Next.Equal(T0.Add(time.Hour)) || m.Subject != b.Subject) {
			t.Errorf("an email not rewritten changed: %+v", m)
		}
	}
	if c, err := s.MailCounts(ctx); err != nil || c[edge.MailQueued] != 3 {
		t.Errorf("MailCounts = %v, %v; RewriteMail of an unknown ID must add nothing", c, err)
	}
}

func testMarkMail(t *testing.T, s Store) {
	ctx := context.Background()
	secret := msg("login")
	secret.Secret, secret.Text = true, "https://hub.example/login/t/secret"
	plain := msg("plain")
	must(t, s.QueueMail(ctx, T0, secret, plain))
	err := s.MarkMail(ctx, "unknown@hub.example", edge.MailUpdate{Status: edge.MailSent})
	WantCode(t, "MarkMail(unknown)", err, edge.ENotFound)
	if edge.ErrorMessage(err) != "No email unknown@hub.example in the outbox." {
		t.Errorf("MarkMail(unknown): message %q", edge.ErrorMessage(err))
	}
	// A failed attempt to be retried: still queued, body kept.
	must(t, s.MarkMail(ctx, secret.ID, edge.MailUpdate{Status: edge.MailQueued, Attempts: 1, Next: T0.Add(time.Minute), At: T0, Error: "451 try later"}))
	ms, err := s.Mails(ctx, edge.MailQueued, 10)
	must(t, err)
	for _, m := range ms {
		if m.ID == secret.ID && (m.Text != secret.Text || m.Attempts != 1 || !m.Next.Equal(T0.Add(time.Minute)) || m.Error != "451 try later" || !m.Done.IsZero()) {
			t.Errorf("after a failed attempt: %+v; want queued with its body, 1 attempt, next +1m, the error", m)
		}
	}
	if next, ok, _ := s.NextMailDue(ctx); !ok || !next.Equal(T0) {
		t.Errorf("NextMailDue = %v, %v; want %v (the plain email)", next, ok, T0)
	}
	must(t, s.MarkMail(ctx, secret.ID, edge.MailUpdate{Status: edge.MailSent, Attempts: 2, At: T0.Add(time.Minute)}))
	must(t, s.MarkMail(ctx, plain.ID, edge.MailUpdate{Status: edge.MailFailed, Attempts: 5, At: T0.Add(time.Hour), Error: "550 no such user"}))
	sent, err := s.Mails(ctx, edge.MailSent, 10)
	if err != nil || len(sent) != 1 || sent[0].Text != "" || sent[0].HTML != "" || len(sent[0].Links) != 0 || sent[0].Attempts != 2 ||
		sent[0].Subject != secret.Subject || sent[0].Recipients != "ada@acme.example" || !sent[0].Done.Equal(T0.Add(time.Minute)) {
		t.Errorf("sent = %+v, %v; want the sign-in email without its body, its subject and recipient kept, 2 attempts", sent, err)
	}
	failed, err := s.Mails(ctx, edge.MailFailed, 10)
	if err != nil || len(failed) != 1 || failed[0].Text != plain.Text || failed[0].Error != "550 no such user" || !failed[0].Done.Equal(T0.Add(time.Hour)) {
		t.Errorf("failed = %+v, %v; want the plain email with its body and error", failed, err)
	}
	if _, ok, _ := s.NextMailDue(ctx); ok {
		t.Error("NextMailDue with nothing queued: want none")
	}
	// Marking a done secret email again is harmless.
	must(t, s.MarkMail(ctx, secret.ID, edge.MailUpdate{Status: edge.MailSent, Attempts: 2, At: T0.Add(time.Minute)}))
	if c, err := s.MailCounts(ctx); err != nil || c[edge.MailSent] != 1 || c[edge.MailFailed] != 1 || c[edge.MailQueued] != 0 {
		t.Errorf("MailCounts = %v, %v; want 1 sent, 1 failed", c, err)
	}
	if ms, err := s.Mails(ctx, "", 1); err != nil || len(ms) != 1 {
		t.Errorf("Mails(all, 1) = %d, %v; want 1", len(ms), err)
	}
}

// testClaimMailByID: a staff command claims the one email it queued:
// counted and leased like ClaimMail's, and not when it is not due, is
// leased by another sender, or is done.
func testClaimMailByID(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.QueueMail(ctx, T0, msg("a"), msg("b")))
	const lease = time.Minute
	id := msg("a").ID
	if _, ok, err := s.ClaimMailByID(ctx, id, T0.Add(-time.Second), lease); ok || err != nil {
		t.Errorf("ClaimMailByID before it is due = %v, %v; want false", ok, err)
	}
	q, ok, err := s.ClaimMailByID(ctx, id, T0, lease)
	if err != nil || !ok || q.ID != id || q.Attempts != 1 || !q.Next.Equal(T0.Add(lease)) || q.Text == "" {
		t.Fatalf("ClaimMailByID = %+v, %v, %v; want %s, attempt 1, leased to %v", q, ok, err, id, T0.Add(lease))
	}
	if _, ok, _ := s.ClaimMailByID(ctx, id, T0.Add(time.Second), lease); ok {
		t.Error("ClaimMailByID during the lease = true; want false (another sender has it)")
	}
	if due, _ := s.ClaimMail(ctx, T0.Add(time.Second), lease, 10); mailIDs(due) != "[b@hub.example]" {
		t.Errorf("ClaimMail beside it = %s; want b only", mailIDs(due))
	}
	must(t, s.MarkMail(ctx, id, edge.MailUpdate{Status: edge.MailSent, Attempts: 1, At: T0.Add(2 * time.Second)}))
	if _, ok, _ := s.ClaimMailByID(ctx, id, T0.Add(2*lease), lease); ok {
		t.Error("ClaimMailByID of a sent email = true; want false")
	}
	if _, ok, err := s.ClaimMailByID(ctx, "nobody@hub.example", T0, lease); ok || err != nil {
		t.Errorf("ClaimMailByID of an unknown id = %v, %v; want false, nil", ok, err)
	}
}
