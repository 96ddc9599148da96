package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/mail"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/sqlstore"
	"github.com/hubhq/hub/generator/events"
)

// holdingSMTP is a real SMTP server on 127.0.0.1. While holding, it takes
// a message's data and never answers (the edge is killed meanwhile), so
// nothing is delivered; otherwise it delivers.
type holdingSMTP struct {
	mu        sync.Mutex
	holding   bool
	held      chan struct{} // a message is being held
	release   chan struct{} // closed at the end: held sessions give up
	delivered chan []byte
}

func (h *holdingSMTP) NewSession(*smtp.Conn) (smtp.Session, error) { return &holdSession{h}, nil }

type holdSession struct{ h *holdingSMTP }

func (s *holdSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *holdSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *holdSession) Reset()                               {}
func (s *holdSession) Logout() error                        { return nil }
func (s *holdSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.h.mu.Lock()
	holding := s.h.holding
	s.h.mu.Unlock()
	if holding {
		s.h.held <- struct{}{}
		<-s.h.release
		return errors.New("held: never delivered")
	}
	s.h.delivered <- b
	return nil
}

// TestReceiptSurvivesKill: a payment is committed and its receipt is in
// the middle of the SMTP conversation when the edge is killed with
// SIGKILL; restarted, the edge delivers the receipt and the business's
// notice exactly once each, with the Message-IDs they were queued with,
// and hub mail lists them sent.
func TestReceiptSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	dir, stateDir, st := builtWithState(t)
	now := time.Now()
	rec := edge.PaymentRecord{Payment: events.Payment{ID: "cs_mail_1", Kind: events.ForInvoice, Document: "INV-2001", Amount: 4200, Currency: "USD",
		Email: "payer@example.com", Created: now}, ClientID: "whitfield-dental", URL: "https://checkout.stripe.com/x", Expires: now.Add(time.Hour)}
	if err := st.CreatePayment(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	st.Close()

	h := &holdingSMTP{holding: true, held: make(chan struct{}, 4), release: make(chan struct{}), delivered: make(chan []byte, 16)}
	srv := smtp.NewServer(h)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(sln)
	t.Cleanup(func() { close(h.release); srv.Close() })

	addr := freeAddr(t)
	env := append(stripeEnv("http://127.0.0.1:1"), "HUB_BASE_URL=http://"+addr, "HUB_SMTP_URL=smtp://"+sln.Addr().String()+"?tls=none")
	args := []string{"edge", "-site", "public", "-addr", addr, "-mail-retry", "300ms"}
	p := startHubEnv(t, dir, env, args...)
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	body, sig := sessionEvent("evt_mail_1", edge.EventSessionCompleted, "paid", rec)
	if code, err := postWebhook(base, body, sig); err != nil || code != 200 {
		t.Fatalf("webhook = %d, %v", code, err)
	}
	select {
	case <-h.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("the edge never tried to send the receipt:\n%s", p.output())
	}
	p.cmd.Process.Signal(syscall.SIGKILL) // committed, in the middle of sending
	p.cmd.Wait()

	st, err = sqlstore.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	queued, err := st.Mails(context.Background(), edge.MailQueued, 10)
	st.Close()
	if err != nil || len(queued) != 2 {
		t.Fatalf("after the kill: %d queued emails, %v; want the receipt and the business's notice", len(queued), err)
	}
	ids := map[string]string{} // Message-ID → subject
	for _, q := range queued {
		ids[q.ID] = q.Subject
	}

	h.mu.Lock()
	h.holding = false
	h.mu.Unlock()
	p2 := startHubEnv(t, dir, env, args...)
	p2.await(t, `on (http://127\.0\.0\.1:\d+/)`)
	got := map[string]int{}
	for range 2 {
		select {
		case raw := <-h.delivered:
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			id := strings.Trim(m.Header.Get("Message-Id"), "<>")
			if _, ok := ids[id]; !ok {
				t.Errorf("delivered Message-ID %q, subject %q: not one of those queued %v", id, m.Header.Get("Subject"), ids)
			}
			got[id]++
		case <-time.After(30 * time.Second):
			t.Fatalf("after the restart, %d of 2 emails delivered:\n%s", len(got), p2.output())
		}
	}
	// Stopped, the edge has marked both sent (it marks even while
	// stopping): no further delivery, and hub mail says so.
	p2.cmd.Process.Signal(syscall.SIGTERM)
	p2.cmd.Wait()
	select {
	case raw := <-h.delivered:
		t.Errorf("an email was delivered twice:\n%.300s", raw)
	default:
	}
	r := hub(t, dir, "mail", "-state", stateDir, "-site", "public")
	if !strings.Contains(r.stdout, "0 queued, 2 sent, 0 failed") {
		t.Errorf("hub mail = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s (%s) delivered %d times; want once", id, ids[id], n)
		}
	}
	if !regexp.MustCompile(`sent\s+2\s+.*payer@example\.com\s+Receipt: `).MatchString(r.stdout) {
		t.Errorf("hub mail does not list the receipt sent on its 2nd attempt:\n%s", r.stdout)
	}
	t.Logf("hub mail after the restart:\n%s", r.stdout)
}

// TestStaffMailThroughOutbox: hub send queues its emails in the outbox
// and sends them at once (hub mail lists them sent); with an SMTP server
// that cannot be reached, hub send says so and the email stays queued with
// the error, for the edge to retry.
func TestStaffMailThroughOutbox(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build"); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	if r := hub(t, dir, "send", "invoice", "INV-2005"); r.code != 0 {
		t.Fatalf("hub send = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := hub(t, dir, "mail")
	if !strings.Contains(r.stdout, "0 queued, 2 sent, 0 failed") || !strings.Contains(r.stdout, "Invoice INV-2005 from Greenleaf Gardens") {
		t.Errorf("hub mail after hub send:\n%s%s", r.stdout, r.stderr)
	}
	closed := freeAddr(t) // nothing listens there
	r = hub(t, dir, "send", "invoice", "INV-2001", "-smtp", "smtp://"+closed+"?tls=none")
	if r.code == 0 || !strings.Contains(r.stderr, "stays in the outbox") || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("hub send with SMTP down = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = hub(t, dir, "mail", "-status", "queued")
	if !strings.Contains(r.stdout, "2 queued, 2 sent, 0 failed") || !strings.Contains(r.stdout, "Invoice INV-2001") || !strings.Contains(r.stdout, "connection refused") {
		t.Errorf("hub mail after a failed send:\n%s%s", r.stdout, r.stderr)
	}
}
