package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// memQueue is a MailQueue in memory.
type memQueue struct {
	mu   sync.Mutex
	mail map[string]*QueuedMail
}

func (q *memQueue) QueueMail(_ context.Context, now time.Time, msgs ...Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range msgs {
		if q.mail[m.ID] == nil {
			q.mail[m.ID] = &QueuedMail{Message: m, Status: MailQueued, Next: now, Created: now}
		}
	}
	return nil
}

func (q *memQueue) RewriteMail(context.Context, time.Time, ...Message) error { return nil }

func (q *memQueue) ClaimMail(_ context.Context, now time.Time, lease time.Duration, limit int) ([]QueuedMail, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []QueuedMail
	for _, m := range q.mail {
		if m.Status == MailQueued && !m.Next.After(now) && len(out) < limit {
			m.Attempts++
			m.Next = now.Add(lease)
			out = append(out, *m)
		}
	}
	return out, nil
}

func (q *memQueue) NextMailDue(context.Context) (time.Time, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var next time.Time
	ok := false
	for _, m := range q.mail {
		if m.Status == MailQueued && (!ok || m.Next.Before(next)) {
			next, ok = m.Next, true
		}
	}
	return next, ok, nil
}

func (q *memQueue) MarkMail(_ context.Context, id string, u MailUpdate) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.mail[id]
	m.Status, m.Attempts, m.Next, m.Error = u.Status, u.Attempts, u.Next, u.Error
	return nil
}

func (q *memQueue) get(id string) QueuedMail { q.mu.Lock(); defer q.mu.Unlock(); return *q.mail[id] }

// flakyMailer fails its first fails sends, then delivers.
type flakyMailer struct {
	mu        sync.Mutex
	fails     int
	attempts  int
	delivered []string // Message-IDs
	got       chan string
}

func (f *flakyMailer) Send(_ context.Context, m Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.attempts <= f.fails {
		return errors.New("451 try again later")
	}
	f.delivered = append(f.delivered, m.ID)
	if f.got != nil {
		f.got <- m.ID
	}
	return nil
}

// TestMailSenderBackoff: SMTP failing 3 times then working delivers the
// email once, after waits of 30s, 60s and 120s; failing every time marks
// it failed after the 8th attempt.
func TestMailSenderBackoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	q := &memQueue{mail: map[string]*QueuedMail{}}
	fm := &flakyMailer{fails: 3}
	o := &mailSender{queue: q, mail: fm, now: clock, log: slog.New(slog.NewTextHandler(io.Discard, nil)), retry: 30 * time.Second, attempts: 8}
	q.QueueMail(ctx, now, Message{ID: "m1@hub.example", Subject: "Receipt"})
	var waits []time.Duration
	for range 10 {
		next, ok, err := o.sendDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		waits = append(waits, next.Sub(now))
		now = next
	}
	if want := []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second}; !slices.Equal(waits, want) {
		t.Errorf("waits between attempts = %v; want %v", waits, want)
	}
	if m := q.get("m1@hub.example"); m.Status != MailSent || m.Attempts != 4 || m.Error != "" {
		t.Errorf("after 3 failures and a success: status %s, %d attempts, error %q; want sent, 4, none", m.Status, m.Attempts, m.Error)
	}
	if !slices.Equal(fm.delivered, []string{"m1@hub.example"}) {
		t.Errorf("delivered %v; want the email once, with its Message-ID", fm.delivered)
	}

	fm2 := &flakyMailer{fails: 1 << 30}
	o.mail = fm2
	q.QueueMail(ctx, now, Message{ID: "m2@hub.example", Subject: "Never"})
	for range 20 {
		next, ok, err := o.sendDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		now = next
	}
	if m := q.get("m2@hub.example"); m.Status != MailFailed || m.Attempts != 8 || m.Error == "" || fm2.attempts != 8 {
		t.Errorf("always failing: status %s, %d attempts (%d sends), error %q; want failed after 8", m.Status, m.Attempts, fm2.attempts, m.Error)
	}
}

func TestMailBackoff(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 20: 6 * time.Hour} {
		if got := mailBackoff(time.Minute, n); got != want {
			t.Errorf("mailBackoff(1m, %d) = %v; want %v", n, got, want)
		}
	}
}

// TestMailSenderWakes: the worker sends a new email when woken, not at
// its next timer, and stops with its context.
func TestMailSenderWakes(t *testing.T) {
	t.Parallel()
	q := &memQueue{mail: map[string]*QueuedMail{}}
	fm := &flakyMailer{got: make(chan string, 1)}
	o := &mailSender{queue: q, mail: fm, now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil)), retry: time.Hour, attempts: 8, wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.run(ctx); close(done) }()
	q.QueueMail(ctx, time.Now(), Message{ID: "w1@hub.example"})
	o.poke()
	select {
	case id := <-fm.got:
		if id != "w1@hub.example" {
			t.Errorf("sent %s", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a queued email was not sent when the worker was woken")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not stop with its context")
	}
}
