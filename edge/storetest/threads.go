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

var threadTests = []test{
	{"Messages", testMessages},
	{"MessageConcurrent", testMessageConcurrent},
	{"MessageMailAndRebuild", testMessageMail},
	{"ReadMarks", testReadMarks},
}

func message(id, thread, email string, at time.Time) events.Message {
	m := events.Message{ID: id, Thread: thread, Email: email, Body: "About " + thread + ":\nline two", At: at}
	if email == "" {
		m.Staff = "Sam at Greenleaf"
	}
	return m
}

// testMessages: order, duplicates, staff and client listings, and times.
func testMessages(t *testing.T, s Store) {
	ctx := context.Background()
	// Written in this order; the second and third at the same millisecond,
	// the fourth with a clock that went back: order is the order written.
	ms := []events.Message{
		message("M-1", "quote/Q-1", "ada@acme.example", T0),
		message("M-2", "quote/Q-1", "", T0.Add(time.Minute)),
		message("M-3", events.GeneralThread, "bob@acme.example", T0.Add(time.Minute)),
		message("M-4", "portal/garden", "ada@acme.example", T0.Add(30*time.Second)),
	}
	ms[0].Files = []events.Photo{{Name: "plan.pdf", Type: "application/pdf", Size: 1234, SHA: "ab", Path: "/files/plan.pdf"}}
	for i, m := range ms {
		if dup, err := s.RecordMessage(ctx, "acme", fmt.Sprintf("m%d", i), m, nil); dup || err != nil {
			t.Fatalf("RecordMessage(%s) = %v, %v", m.ID, dup, err)
		}
	}
	// The same form again records nothing, whatever it says.
	if dup, err := s.RecordMessage(ctx, "acme", "m0", message("M-9", "general", "ada@acme.example", T0), nil); !dup || err != nil {
		t.Errorf("RecordMessage with the same nonce = %v, %v; want a duplicate", dup, err)
	}
	// Another client's thread of the same name is its own; a time in
	// another zone comes back the same instant, in UTC.
	g := message("M-5", "quote/Q-1", "cy@globex.example", T0.In(time.FixedZone("EST", -5*3600)))
	if _, err := s.RecordMessage(ctx, "globex", "g1", g, nil); err != nil {
		t.Fatal(err)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	if !reflect.DeepEqual(f.Messages, ms) {
		t.Errorf("Facts(acme).Messages = %+v\nwant %+v", f.Messages, ms)
	}
	gf, err := s.Facts(ctx, "globex")
	must(t, err)
	if len(gf.Messages) != 1 || gf.Messages[0].At.Location() != time.UTC || !gf.Messages[0].At.Equal(T0) {
		t.Errorf("Facts(globex).Messages = %+v; want one at %v in UTC", gf.Messages, T0)
	}
	all, err := s.Messages(ctx, "", 10)
	must(t, err)
	var ids []string
	for _, m := range all {
		ids = append(ids, m.ClientID+":"+m.ID)
	}
	if want := []string{"globex:M-5", "acme:M-4", "acme:M-3", "acme:M-2", "acme:M-1"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Messages(all) = %v; want %v (newest written first)", ids, want)
	}
	some, err := s.Messages(ctx, "acme", 2)
	must(t, err)
	if len(some) != 2 || some[0].ID != "M-4" || some[1].ID != "M-3" || !reflect.DeepEqual(some[0].Message, ms[3]) {
		t.Errorf("Messages(acme, 2) = %+v; want M-4, M-3", some)
	}
	th, err := s.Thread(ctx, "acme", "quote/Q-1", 10)
	must(t, err)
	if !reflect.DeepEqual(th, ms[:2]) {
		t.Errorf("Thread(acme, quote/Q-1) = %+v; want M-1, M-2", th)
	}
	if th, err := s.Thread(ctx, "acme", "quote/Q-1", 1); err != nil || len(th) != 1 || th[0].ID != "M-2" {
		t.Errorf("Thread(acme, quote/Q-1, 1) = %+v, %v; want the newest, M-2", th, err)
	}
	if none, err := s.Messages(ctx, "initech", 10); err != nil || len(none) != 0 {
		t.Errorf("Messages(initech) = %v, %v; want none", none, err)
	}
}

// testMessageConcurrent: one form sent many times at once records once;
// different forms at once all record, each once.
func testMessageConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	dups := Parallel(t, 10, func(i int) (bool, error) {
		return s.RecordMessage(ctx, "acme", "same", message(fmt.Sprintf("M-%d", i), "general", "ada@acme.example", T0), nil)
	})
	if n := count(dups); n != 9 {
		t.Errorf("one form sent 10 times at once: %d duplicates; want 9", n)
	}
	Parallel(t, 10, func(i int) (bool, error) {
		return s.RecordMessage(ctx, "acme", fmt.Sprintf("n%d", i), message(fmt.Sprintf("N-%d", i), "general", "ada@acme.example", T0), nil)
	})
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	if len(f.Messages) != 11 {
		t.Errorf("messages = %d; want 11", len(f.Messages))
	}
}

// testMessageMail: the emails go in the message's transaction, the
// client's rebuild is queued, and a message that cannot be kept leaves
// nothing (not its nonce, not its emails).
func testMessageMail(t *testing.T, s Store) {
	ctx := context.Background()
	v0, err := s.Versions(ctx)
	must(t, err)
	mail := []edge.Message{{ID: "m1@hub.example", To: []edge.Address{{Email: "office@greenleaf.example"}}, Subject: "New message from Acme"}}
	if dup, err := s.RecordMessage(ctx, "acme", "n1", message("M-1", "general", "ada@acme.example", T0), mail); dup || err != nil {
		t.Fatalf("RecordMessage = %v, %v", dup, err)
	}
	due, err := s.ClaimMail(ctx, T0, time.Minute, 10)
	if err != nil || len(due) != 1 || due[0].ID != "m1@hub.example" {
		t.Fatalf("ClaimMail = %+v, %v; want the message's email", due, err)
	}
	if v, _ := s.Versions(ctx); v["acme"] == v0["acme"] {
		t.Errorf("acme's version did not move after a message")
	}
	if job, ok, err := s.ClaimRebuild(ctx, "acme", "edge-1", T0, time.Minute); err != nil || !ok || job.Client != "acme" {
		t.Errorf("ClaimRebuild(acme) = %+v, %v, %v; want the message's rebuild", job, ok, err)
	}
	// The same id twice is refused, and rolls back its nonce and emails.
	bad := []edge.Message{{ID: "m2@hub.example", To: []edge.Address{{Email: "x@example.com"}}}}
	if _, err := s.RecordMessage(ctx, "acme", "n2", message("M-1", "general", "ada@acme.example", T0), bad); err == nil {
		t.Fatal("RecordMessage of an id recorded before succeeded")
	}
	if all, err := s.Mails(ctx, "", 10); err != nil || len(all) != 1 {
		t.Errorf("outbox after the refused message = %+v, %v; want only the first message's email", all, err)
	}
	if dup, err := s.RecordMessage(ctx, "acme", "n2", message("M-2", "general", "ada@acme.example", T0), nil); dup || err != nil {
		t.Errorf("RecordMessage after the refused one = %v, %v; want recorded (its nonce was rolled back)", dup, err)
	}
}

func testReadMarks(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.MarkRead(ctx, "acme", "Ada@Acme.example", "quote/Q-1", T0.Add(time.Hour)))
	// An older marker (a page read before, reported late) does not move it back.
	must(t, s.MarkRead(ctx, "acme", "ada@acme.example", "quote/Q-1", T0))
	must(t, s.MarkRead(ctx, "acme", "ada@acme.example", "general", T0.Add(time.Minute).In(time.FixedZone("X", 3600))))
	must(t, s.MarkRead(ctx, "globex", "ada@acme.example", "general", T0.Add(2*time.Hour)))
	got, err := s.ReadMarks(ctx, "acme", "ADA@acme.example")
	must(t, err)
	want := map[string]time.Time{"quote/Q-1": T0.Add(time.Hour), "general": T0.Add(time.Minute)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadMarks(acme, ada) = %v; want %v", got, want)
	}
	if got, err := s.ReadMarks(ctx, "acme", "bob@acme.example"); err != nil || len(got) != 0 {
		t.Errorf("ReadMarks(acme, bob) = %v, %v; want none", got, err)
	}
	// Reading is not a fact: the pages do not change.
	if v, _ := s.Versions(ctx); len(v) != 0 {
		t.Errorf("Versions after MarkRead = %v; want none", v)
	}
}
