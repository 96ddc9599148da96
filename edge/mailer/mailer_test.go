package mailer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/mailer"
)

const (
	from = "office@greenleaf.example"
	link = "https://hub.greenleaf.example/login/t/3f9a0c7e21d4b85a6e0f1c2d3b4a5968?next=%2Fc%2Facme%2F"
)

func message() edge.Message {
	return edge.Message{
		FromName: "Greenleaf Office",
		ReplyTo:  "help@greenleaf.example",
		To:       []edge.Address{{Name: "Ada Lovelace", Email: "ada@acme.example"}},
		Subject:  "Your login link for Greenleaf",
		Text:     "Hello Ada,\n\nOpen this link to log in:\n" + link + "\n\nIt works once, for 15 minutes.\n",
		HTML:     `<p>Hello Ada,</p><p><a href="` + link + `">Log in</a></p><p>It works once, for 15 minutes.</p>`,
		Links:    []string{link},
	}
}

// ---- in-test SMTP server (github.com/emersion/go-smtp) ----

type received struct {
	from     string
	to       []string
	data     []byte
	user     string
	password string
}

type backend struct {
	// configuration
	wantUser, wantPass string // non-empty: AUTH PLAIN required with these
	rejectRcpt         string // RCPT TO this address is refused with 550

	mu   sync.Mutex
	msgs []received
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b              *backend
	authed         bool
	user, password string
	from           string
	to             []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.user, s.password = username, password
		if username != s.b.wantUser || password != s.b.wantPass {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.wantUser != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.rejectRcpt != "" && strings.EqualFold(to, s.b.rejectRcpt) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, received{from: s.from, to: s.to, data: data, user: s.user, password: s.password})
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// startServer runs an SMTP server on 127.0.0.1 (a random port) for the test.
func startServer(t *testing.T, b *backend) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(b)
	srv.Domain = "mx.test.example"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// ---- checking a message ----

// checkMessage parses raw as an RFC 5322 message and checks the headers and
// the multipart/alternative body built from message().
func checkMessage(t *testing.T, raw []byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, raw)
	}
	h := m.Header
	want := message()

	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subj != want.Subject {
		t.Errorf("Subject = %q (%v), want %q", subj, err, want.Subject)
	}
	fromAddr, err := mail.ParseAddress(h.Get("From"))
	if err != nil {
		t.Errorf("From %q: %v", h.Get("From"), err)
	} else if fromAddr.Address != from || fromAddr.Name != want.FromName {
		t.Errorf("From = %q <%s>, want %q <%s>", fromAddr.Name, fromAddr.Address, want.FromName, from)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != want.To[0].Email || to[0].Name != want.To[0].Name {
		t.Errorf("To = %v (%v), want %v", to, err, want.To)
	}
	rt, err := h.AddressList("Reply-To")
	if err != nil || len(rt) != 1 || rt[0].Address != want.ReplyTo {
		t.Errorf("Reply-To = %v (%v), want %s", rt, err, want.ReplyTo)
	}
	date, err := h.Date()
	if err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	} else if d := time.Since(date); d < -time.Minute || d > time.Minute {
		t.Errorf("Date = %v, not now", date)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || !strings.Contains(id, "@") {
		t.Errorf("Message-ID = %q, want <...@...>", id)
	}

	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", h.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	var order []string
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart() // decode the transfer encoding ourselves
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		var r io.Reader = p
		switch enc := strings.ToLower(p.Header.Get("Content-Transfer-Encoding")); enc {
		case "quoted-printable":
			r = quotedprintable.NewReader(p)
		case "base64":
			r = base64Reader(p)
		case "", "7bit", "8bit", "binary":
		default:
			t.Fatalf("part %s: unexpected Content-Transfer-Encoding %q", pt, enc)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("part %s: %v", pt, err)
		}
		parts[pt] = string(body)
		order = append(order, pt)
	}
	if len(parts) != 2 {
		t.Fatalf("parts = %v, want text/plain and text/html", order)
	}
	if order[0] != "text/plain" || order[1] != "text/html" {
		t.Errorf("part order = %v, want text/plain first (least preferred), then text/html", order)
	}
	if got := strings.ReplaceAll(parts["text/plain"], "\r\n", "\n"); got != want.Text {
		t.Errorf("text/plain = %q, want %q", got, want.Text)
	}
	if !strings.Contains(parts["text/plain"], link) {
		t.Errorf("text/plain part lacks the link: %q", parts["text/plain"])
	}
	if !strings.Contains(parts["text/html"], `href="`+link+`"`) {
		t.Errorf("text/html part lacks the link: %q", parts["text/html"])
	}
}

func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }

// ---- SMTP ----

func TestSMTPSend(t *testing.T) {
	b := &backend{}
	port := startServer(t, b)
	s := &mailer.SMTP{Host: "127.0.0.1", Port: port, TLS: "none", From: from}
	if err := s.Send(ctx(t), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := b.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.from != from {
		t.Errorf("MAIL FROM = %q, want %q", got.from, from)
	}
	if len(got.to) != 1 || got.to[0] != "ada@acme.example" {
		t.Errorf("RCPT TO = %v, want [ada@acme.example]", got.to)
	}
	if got.user != "" {
		t.Errorf("AUTH sent (user %q) without a username configured", got.user)
	}
	checkMessage(t, got.data)
}

func TestSMTPSendViaParseURL(t *testing.T) {
	b := &backend{}
	port := startServer(t, b)
	s, err := mailer.ParseURL(fmt.Sprintf("smtp://127.0.0.1:%d?tls=none", port), from)
	if err != nil {
		t.Fatal(err)
	}
	m := message()
	m.To = append(m.To, edge.Address{Email: "bob@acme.example"})
	if err := s.Send(ctx(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := b.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	if msgs[0].from != from {
		t.Errorf("MAIL FROM = %q, want %q", msgs[0].from, from)
	}
	if strings.Join(msgs[0].to, ",") != "ada@acme.example,bob@acme.example" {
		t.Errorf("RCPT TO = %v, want both recipients", msgs[0].to)
	}
}

func TestSMTPAuthPlain(t *testing.T) {
	b := &backend{wantUser: "office", wantPass: "s3cret pass"}
	port := startServer(t, b)
	s := &mailer.SMTP{Host: "127.0.0.1", Port: port, TLS: "none", From: from, Username: "office", Password: "s3cret pass"}
	if err := s.Send(ctx(t), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := b.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	if msgs[0].user != "office" || msgs[0].password != "s3cret pass" {
		t.Errorf("AUTH PLAIN user/password = %q/%q, want office/s3cret pass", msgs[0].user, msgs[0].password)
	}

	// The same through a URL, with a percent-encoded password.
	u, err := mailer.ParseURL(fmt.Sprintf("smtp://office:s3cret%%20pass@127.0.0.1:%d?tls=none", port), from)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Send(ctx(t), message()); err != nil {
		t.Fatalf("Send via URL: %v", err)
	}
	if n := len(b.messages()); n != 2 {
		t.Fatalf("server received %d messages, want 2", n)
	}

	// Wrong credentials: an error, nothing delivered.
	bad := *s
	bad.Password = "wrong"
	if err := bad.Send(ctx(t), message()); err == nil {
		t.Error("Send with a wrong password succeeded")
	}
	if n := len(b.messages()); n != 2 {
		t.Errorf("server received %d messages after a failed AUTH, want 2", n)
	}
}

func TestSMTPServerErrors(t *testing.T) {
	b := &backend{rejectRcpt: "ada@acme.example"}
	port := startServer(t, b)
	s := &mailer.SMTP{Host: "127.0.0.1", Port: port, TLS: "none", From: from}
	err := s.Send(ctx(t), message())
	if err == nil {
		t.Fatal("Send succeeded though the server refused the recipient")
	}
	if !strings.Contains(err.Error(), "550") && !strings.Contains(err.Error(), "No such user") {
		t.Errorf("error %q does not carry the server's reply", err)
	}
	if n := len(b.messages()); n != 0 {
		t.Errorf("server received %d messages, want 0", n)
	}

	// The server requires AUTH but the mailer has no username.
	b2 := &backend{wantUser: "office", wantPass: "x"}
	port2 := startServer(t, b2)
	s2 := &mailer.SMTP{Host: "127.0.0.1", Port: port2, TLS: "none", From: from}
	if err := s2.Send(ctx(t), message()); err == nil {
		t.Error("Send succeeded though the server required AUTH")
	}

	// Nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s3 := &mailer.SMTP{Host: "127.0.0.1", Port: closed, TLS: "none", From: from}
	if err := s3.Send(ctx(t), message()); err == nil {
		t.Error("Send to a closed port succeeded")
	}

	// STARTTLS required but the server does not offer it: refuse to send in clear.
	b4 := &backend{}
	port4 := startServer(t, b4)
	s4 := &mailer.SMTP{Host: "127.0.0.1", Port: port4, TLS: "starttls", From: from}
	if err := s4.Send(ctx(t), message()); err == nil {
		t.Error("Send with tls=starttls succeeded over a server without STARTTLS")
	}
	if n := len(b4.messages()); n != 0 {
		t.Errorf("server received %d messages in clear with tls=starttls, want 0", n)
	}

	// A bad sender or recipient address is an error before any network use.
	s5 := &mailer.SMTP{Host: "127.0.0.1", Port: closed, TLS: "none", From: "not an address"}
	if err := s5.Send(ctx(t), message()); err == nil {
		t.Error("Send with a bad From succeeded")
	}
}

// The configured port is the one dialled, whatever it is: go-mail replaces
// port 25 (its "default") by 587/465 when a TLS policy or SSL is set after
// WithPort.
func TestSMTPPort25IsKept(t *testing.T) {
	for _, tls := range []string{"starttls", "tls"} {
		s := &mailer.SMTP{Host: "127.0.0.1", Port: 25, TLS: tls, From: from}
		c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := s.Send(c, message())
		cancel()
		if err == nil {
			t.Fatalf("tls=%s: Send to 127.0.0.1:25 succeeded (an MTA listens here?)", tls)
		}
		for _, wrong := range []string{"127.0.0.1:587", "127.0.0.1:465"} {
			if strings.Contains(err.Error(), wrong) {
				t.Errorf("mailer.SMTP{Port: 25, TLS: %q} dials %s, not port 25 (go-mail's WithTLSPortPolicy/WithSSLPort "+
					"rewrite port 25 after WithPort; so smtp://host:25 and smtps://host:25 ignore the port): %v", tls, wrong, err)
			}
		}
	}
}

// ---- ParseURL ----

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw        string
		host       string
		port       int
		tls        string
		user, pass string
		wantErr    bool
	}{
		{raw: "smtp://user:pass@mail.example.com:587", host: "mail.example.com", port: 587, tls: "starttls", user: "user", pass: "pass"},
		{raw: "smtp://mail.example.com", host: "mail.example.com", port: 587, tls: "starttls"},
		{raw: "smtp://mail.example.com:2525", host: "mail.example.com", port: 2525, tls: "starttls"},
		{raw: "smtps://mail.example.com", host: "mail.example.com", port: 465, tls: "tls"},
		{raw: "smtps://u%40x.example:p%3Aw@mail.example.com:4650", host: "mail.example.com", port: 4650, tls: "tls", user: "u@x.example", pass: "p:w"},
		{raw: "smtp://127.0.0.1:2525?tls=none", host: "127.0.0.1", port: 2525, tls: "none"},
		{raw: "smtp://mail.example.com?tls=opportunistic", host: "mail.example.com", port: 587, tls: "opportunistic"},
		{raw: "smtp://mail.example.com?tls=starttls", host: "mail.example.com", port: 587, tls: "starttls"},
		{raw: "smtp://[::1]:25?tls=none", host: "::1", port: 25, tls: "none"},
		{raw: "smtp://user@mail.example.com", host: "mail.example.com", port: 587, tls: "starttls", user: "user"},

		{raw: "http://mail.example.com", wantErr: true},
		{raw: "mail.example.com:587", wantErr: true},
		{raw: "", wantErr: true},
		{raw: "smtp://mail.example.com?tls=yes", wantErr: true},
		{raw: "smtp://mail.example.com?tls=ssl", wantErr: true},
		{raw: "smtp://mail.example.com:abc", wantErr: true},
		{raw: "smtp://mail.example.com:-1", wantErr: true},
		{raw: "smtp://", wantErr: true},
		{raw: "smtp://:587", wantErr: true},
		{raw: "smtp:///path", wantErr: true},
		{raw: "smtp://user:pass@:587", wantErr: true},
		{raw: "smtp://%zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			s, err := mailer.ParseURL(tt.raw, from)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseURL(%q) = %+v, want an error", tt.raw, s)
				}
				if strings.Contains(err.Error(), "pass") && strings.Contains(tt.raw, "pass@") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.raw, err)
			}
			if s.Host != tt.host || s.Port != tt.port || s.TLS != tt.tls || s.Username != tt.user || s.Password != tt.pass || s.From != from {
				t.Errorf("ParseURL(%q) = %+v, want host %q port %d tls %q user %q pass %q from %q",
					tt.raw, *s, tt.host, tt.port, tt.tls, tt.user, tt.pass, from)
			}
		})
	}
}

// Ports outside 1–65535 should be refused when the configuration is read,
// not at the first Send (which runs asynchronously, after the login page
// has already said "check your email").
func TestParseURLPortRange(t *testing.T) {
	for _, raw := range []string{"smtp://mail.example.com:0", "smtp://mail.example.com:65536", "smtp://mail.example.com:99999"} {
		if s, err := mailer.ParseURL(raw, from); err == nil {
			t.Errorf("ParseURL(%q) accepts port %d; go-mail rejects it only when sending (ErrInvalidPort)", raw, s.Port)
		}
	}
}

// ---- Outbox ----

func emlFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("unexpected file %s in the outbox", e.Name())
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}

func TestOutboxSend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox") // created by Send
	var log bytes.Buffer
	o := &mailer.Outbox{Dir: dir, From: from, Log: &log}
	if err := o.Send(ctx(t), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	files := emlFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("outbox has %d .eml files, want 1", len(files))
	}
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode = %v, want 0600", files[0], fi.Mode().Perm())
	}
	if di, err := os.Stat(dir); err == nil && di.Mode().Perm()&0o077 != 0 {
		t.Errorf("outbox folder mode = %v, want no group/other access", di.Mode().Perm())
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	checkMessage(t, raw)

	out := log.String()
	if !strings.Contains(out, message().Subject) {
		t.Errorf("log %q lacks the subject", out)
	}
	if !strings.Contains(out, link) {
		t.Errorf("log %q lacks the link", out)
	}
	if !strings.Contains(out, "ada@acme.example") {
		t.Errorf("log %q lacks the recipient", out)
	}

	// No Log: still writes the file.
	o2 := &mailer.Outbox{Dir: dir, From: from}
	if err := o2.Send(ctx(t), message()); err != nil {
		t.Fatal(err)
	}
	if n := len(emlFiles(t, dir)); n != 2 {
		t.Errorf("outbox has %d files after a second Send, want 2", n)
	}

	// A bad recipient is an error and writes nothing.
	m := message()
	m.To = []edge.Address{{Email: "not an address"}}
	if err := o2.Send(ctx(t), m); err == nil {
		t.Error("Send with a bad recipient succeeded")
	}
	if n := len(emlFiles(t, dir)); n != 2 {
		t.Errorf("outbox has %d files after a failed Send, want 2", n)
	}
}

func TestOutboxConcurrentSends(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer // Outbox serialises its writes to Log
	o := &mailer.Outbox{Dir: dir, From: from, Log: &log}
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := message()
			m.Subject = fmt.Sprintf("message %d", i)
			errs <- o.Send(context.Background(), m)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	files := emlFiles(t, dir)
	if len(files) != n {
		t.Fatalf("outbox has %d files, want %d", len(files), n)
	}
	subjects := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		subjects[m.Header.Get("Subject")] = true
	}
	if len(subjects) != n {
		t.Errorf("%d distinct subjects in %d files, want %d: %v", len(subjects), len(files), n, subjects)
	}
	for i := range n {
		if !strings.Contains(log.String(), fmt.Sprintf("%q", fmt.Sprintf("message %d", i))) {
			t.Errorf("log lacks message %d", i)
		}
	}
	if c := strings.Count(log.String(), link); c != n {
		t.Errorf("log shows the link %d times, want %d", c, n)
	}
}

// TestMessageIDKept: a message queued with an ID is sent with that
// Message-ID over SMTP, and the outbox names its file by it, so sending it
// again (a resend after a crash) replaces the file instead of adding one.
func TestMessageIDKept(t *testing.T) {
	m := message()
	m.ID = "Abc123_-x@hub.example"
	b := &backend{}
	port := startServer(t, b)
	s := &mailer.SMTP{Host: "127.0.0.1", Port: port, TLS: "none", From: from}
	if err := s.Send(ctx(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if msgs := b.messages(); len(msgs) != 1 || !bytes.Contains(msgs[0].data, []byte("Message-ID: <"+m.ID+">")) {
		t.Errorf("SMTP message does not carry Message-ID <%s>:\n%.400s", m.ID, msgs[0].data)
	}
	dir := t.TempDir()
	o := &mailer.Outbox{Dir: dir, From: from}
	for range 2 {
		if err := o.Send(ctx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	files := emlFiles(t, dir)
	if len(files) != 1 || filepath.Base(files[0]) != m.ID+".eml" {
		t.Fatalf("outbox after sending one message twice = %v; want one file named %s.eml", files, m.ID)
	}
	raw, _ := os.ReadFile(files[0])
	if !bytes.Contains(raw, []byte("Message-ID: <"+m.ID+">")) {
		t.Errorf("outbox file lacks Message-ID <%s>", m.ID)
	}
}
