package edge_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/mailer"
	"github.com/hubhq/hub/edge/sqlstore"
	"github.com/hubhq/hub/generator/bundle"
)

// smtpInbox is a real SMTP server on 127.0.0.1 that keeps what it receives.
type smtpInbox struct {
	mu   sync.Mutex
	msgs [][]byte
	got  chan []byte
}

func (b *smtpInbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

type smtpSession struct{ b *smtpInbox }

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, b)
	s.b.mu.Unlock()
	s.b.got <- b
	return nil
}

// TestLoginThroughSMTP: the whole login flow with the email going through
// a real SMTP conversation.
func TestLoginThroughSMTP(t *testing.T) {
	t.Parallel()
	inbox := &smtpInbox{got: make(chan []byte, 4)}
	srv := smtp.NewServer(inbox)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(sln)
	t.Cleanup(func() { srv.Close() })

	f := newFixture(t, nil) // builds the site; we start our own edge with the SMTP mailer
	m, err := mailer.ParseURL("smtp://"+sln.Addr().String()+"?tls=none", "office@greenleaf.example")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := bundle.LoadKeySet(f.keysDir)
	store, err := sqlstore.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	base := "http://" + ln.Addr().String()
	e, err := edge.New(context.Background(), edge.Config{Out: f.out, Keys: keys, BaseURL: mustURL(base), Log: slog.New(slog.DiscardHandler)}, store, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx, ln); close(done) }()
	defer func() { cancel(); <-done }()

	f.url = base
	c := f.client()
	f.do(c, "POST", "/login", url.Values{"email": {f.contactEmail("lindqvist")}})
	var raw []byte
	select {
	case raw = <-inbox.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no email reached the SMTP server")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Header.Get("Subject"), "sign-in link") || !strings.Contains(msg.Header.Get("To"), f.contactEmail("lindqvist")) {
		t.Errorf("email headers: %v", msg.Header)
	}
	link := linkRE.Find(bytes.ReplaceAll(raw, []byte("=\r\n"), nil))
	if link == nil {
		t.Fatalf("no link in the email:\n%s", raw)
	}
	r := f.do(c, "POST", string(link), url.Values{})
	if r.Header.Get("Location") != "/c/lindqvist/" {
		t.Fatalf("POST emailed link = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := f.do(c, "GET", "/c/lindqvist/", nil); r.StatusCode != 200 {
		t.Errorf("hub after SMTP login = %d", r.StatusCode)
	}
}

// TestScheduledRebuild: the edge rebuilds on its own schedule and serves the result.
func TestScheduledRebuild(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	keys, _ := bundle.LoadKeySet(f.keysDir)
	calls := make(chan struct{}, 10)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	e, err := edge.New(context.Background(), edge.Config{Out: f.out, Keys: keys, BaseURL: mustURL("http://" + ln.Addr().String()),
		Log: slog.New(slog.DiscardHandler), RebuildEvery: 50 * time.Millisecond,
		Rebuild: func(context.Context) error {
			select {
			case calls <- struct{}{}:
			default:
			}
			return nil
		}}, f.store, f.mail)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx, ln); close(done) }()
	for i := range 3 {
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatalf("Rebuild called %d times in 10 s, every 50 ms; want 3", i)
		}
	}
	cancel()
	<-done
}
