package edge_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/internal/testcert"
)

// TestSMTPStartTLS: with a certificate the listener offers STARTTLS, and a
// reply sent after it (the certificate checked) is recorded; without one
// it offers none.
func TestSMTPStartTLS(t *testing.T) {
	t.Parallel()
	cert, err := testcert.New("hub test")
	if err != nil {
		t.Fatal(err)
	}
	ra := testReplies
	f, addr := inboundFixture(t, &ra, func(c *edge.Config) { c.SMTP.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}} })
	to, err := ra.Address("okafor-residence", "general", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// DialStartTLS says EHLO, sees STARTTLS offered (or fails), and
	// upgrades, checking the certificate.
	c, err := smtp.DialStartTLS(addr, &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.SendMail("sam@greenleaf.example", []string{to}, strings.NewReader(replyMail("tls-1@x", "Over TLS."))); err != nil {
		t.Fatalf("the reply over TLS: %v", err)
	}
	if st, ok := c.TLSConnectionState(); !ok || !st.HandshakeComplete || st.PeerCertificates[0].Subject.CommonName != "hub test" {
		t.Error("the reply did not go over TLS with the test's certificate")
	}
	if facts, _ := f.store.Facts(context.Background(), "okafor-residence"); len(facts.Messages) != 1 || facts.Messages[0].Body != "Over TLS." {
		t.Errorf("messages = %+v; want the reply sent over TLS", facts.Messages)
	}

	_, plain := inboundFixture(t, &ra, nil)
	c2, err := smtp.Dial(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Hello("mx.example")
	if ok, _ := c2.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered without a certificate")
	}
}

// rawSMTP connects to addr and returns the connection and the server's
// first line (its greeting, or its refusal).
func rawSMTP(t *testing.T, addr string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the greeting: %v", err)
	}
	return conn, r, line
}

// quit ends an SMTP conversation and waits until the server has closed it.
func quit(t *testing.T, conn net.Conn, r *bufio.Reader) {
	t.Helper()
	io.WriteString(conn, "QUIT\r\n")
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "221") {
		t.Fatalf("QUIT = %q, %v", line, err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("after QUIT: %v", err)
	}
}

// TestSMTPConnectionLimit: past MaxConns connections at once, one more is
// answered 421 and closed before the greeting; once one ends, another is
// served.
func TestSMTPConnectionLimit(t *testing.T) {
	t.Parallel()
	ra := testReplies
	_, addr := inboundFixture(t, &ra, func(c *edge.Config) { c.SMTP.MaxConns = 2 })
	c1, r1, g1 := rawSMTP(t, addr)
	_, _, g2 := rawSMTP(t, addr)
	if !strings.HasPrefix(g1, "220") || !strings.HasPrefix(g2, "220") {
		t.Fatalf("greetings = %q, %q; want 220", g1, g2)
	}
	c3, r3, g3 := rawSMTP(t, addr)
	if !strings.HasPrefix(g3, "421 4.7.0") || !strings.Contains(g3, "Too busy") {
		t.Errorf("a third connection = %q; want 421 too busy", g3)
	}
	if rest, _ := io.ReadAll(r3); len(rest) != 0 {
		t.Errorf("after the refusal: %q; want the connection closed", rest)
	}
	c3.Close()
	quit(t, c1, r1)
	if _, _, g := rawSMTP(t, addr); !strings.HasPrefix(g, "220") {
		t.Errorf("a connection after one ended = %q; want 220", g)
	}
}

// TestSMTPPerIPLimit: one address may open PerIP connections in a burst;
// the next is answered 421 saying so, and it may connect again once the
// (injected) clock has moved on.
func TestSMTPPerIPLimit(t *testing.T) {
	t.Parallel()
	ra := testReplies
	f, addr := inboundFixture(t, &ra, func(c *edge.Config) { c.SMTP.PerIP, c.SMTP.PerIPEvery = 3, time.Minute })
	for i := range 3 {
		c, r, g := rawSMTP(t, addr)
		if !strings.HasPrefix(g, "220") {
			t.Fatalf("connection %d = %q; want 220", i+1, g)
		}
		quit(t, c, r)
	}
	if _, _, g := rawSMTP(t, addr); !strings.HasPrefix(g, "421 4.7.0") || !strings.Contains(g, "Too many connections from your address") {
		t.Errorf("a fourth connection = %q; want 421, too many from the address", g)
	}
	f.clock.Add(time.Minute)
	if _, _, g := rawSMTP(t, addr); !strings.HasPrefix(g, "220") {
		t.Errorf("a connection a minute later = %q; want 220", g)
	}
}
