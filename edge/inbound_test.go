package edge_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	smtp "github.com/emersion/go-smtp"
	"github.com/hubhq/hub/edge"
)

// sendSMTP sends raw to rcpt over a real SMTP conversation and returns
// the server's answer (nil: accepted).
func sendSMTP(t *testing.T, addr, rcpt string, raw string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.SendMail("sam@greenleaf.example", []string{rcpt}, strings.NewReader(raw))
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// replyMail is a reply as a mail program writes it: multipart, quoted-printable, with the history quoted.
func replyMail(id, text string) string {
	return "From: Sam Reyes <sam@greenleaf.example>\r\nTo: x\r\nSubject: Re: Message\r\nMessage-ID: <" + id + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		text + "\r\n\r\nOn Fri, Nov 20, 2026 at 10:00 AM Greenleaf Gardens <hello@greenleaf.example> wrote:\r\n> Can the bench be cedar?\r\n" +
		"--b1\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b1--\r\n"
}

// TestReplyBySMTP: the business's notice of a client's message carries a
// signed reply address; a reply to it through a real SMTP conversation is
// recorded (without the quoted history) as the business's answer, shown
// to the client and emailed to them; a second delivery records nothing;
// unsigned and expired addresses, oversized mail and mail without text are
// refused.
func TestReplyBySMTP(t *testing.T) {
	t.Parallel()
	ra := testReplies
	f := newFixtureWith(t, nil, func(f *fixture) { f.tune = func(c *edge.Config) { c.Replies = &ra } })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := f.srv.SMTPServer()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	c := f.login("okafor-residence")
	if r := f.do(c, "POST", "/c/okafor-residence/messages", url.Values{"thread": {"quote/Q-1002"}, "body": {"Can the bench be cedar?"}}); r.StatusCode != 303 {
		t.Fatalf("message = %d", r.StatusCode)
	}
	var replyTo string
	for _, m := range f.awaitMail("the notice", func(m edge.Message) bool { return strings.HasPrefix(m.ReplyTo, "reply+") }) {
		if strings.HasPrefix(m.ReplyTo, "reply+") {
			replyTo = m.ReplyTo
		}
	}
	if cl, th, err := ra.Parse(replyTo, f.clock.Now()); err != nil || cl != "okafor-residence" || th != "quote/Q-1002" {
		t.Fatalf("the notice's Reply-To %q = %q, %q, %v", replyTo, cl, th, err)
	}

	expired, _ := ra.Address("okafor-residence", "quote/Q-1002", f.clock.Now().Add(-edge.ReplyAddressTTL-48*60*60*1e9))
	refusals := []struct {
		name, rcpt, raw string
		code            int
	}{
		{"unsigned", "reply+okafor-residence.quote=Q-1002.zz.aaaaaaaaaaaaaaaa@" + ra.Host, replyMail("a@x", "Yes."), 550},
		{"not a reply address", "hello@" + ra.Host, replyMail("b@x", "Yes."), 550},
		{"expired", expired, replyMail("c@x", "Yes."), 550},
		{"oversized", replyTo, replyMail("d@x", strings.Repeat("yes yes yes\r\n", edge.MaxInboundMail/12)), 552},
		{"only quoted text", replyTo, replyMail("e@x", "> just the quote"), 554},
	}
	for _, tc := range refusals {
		if err := sendSMTP(t, addr, tc.rcpt, tc.raw); smtpCode(err) != tc.code {
			t.Errorf("%s: %v; want %d", tc.name, err, tc.code)
		}
	}
	if facts, _ := f.store.Facts(context.Background(), "okafor-residence"); len(facts.Messages) != 1 {
		t.Fatalf("messages after the refusals = %d; want 1", len(facts.Messages))
	}

	if err := sendSMTP(t, addr, replyTo, replyMail("reply-1@mail.example", "Yes: cedar, same pri=\r\nce.")); err != nil {
		t.Fatalf("the reply: %v", err)
	}
	if err := sendSMTP(t, addr, replyTo, replyMail("reply-1@mail.example", "Yes: cedar, same pri=\r\nce.")); err != nil {
		t.Fatalf("the same reply delivered again: %v", err)
	}
	facts, _ := f.store.Facts(context.Background(), "okafor-residence")
	if len(facts.Messages) != 2 {
		t.Fatalf("messages = %+v; want the client's and one reply", facts.Messages)
	}
	if got := facts.Messages[1]; !got.FromStaff() || got.Staff != "Sam Reyes" || got.Body != "Yes: cedar, same price." || got.Thread != "quote/Q-1002" {
		t.Errorf("reply recorded as %+v", got)
	}
	f.awaitMail("the client's email", func(m edge.Message) bool {
		return m.To[0].Email == "ngozi.okafor@example.com" && strings.Contains(m.Text, "cedar, same price")
	})
	f.waitUntil("the reply on the quote's page", func() bool {
		return strings.Contains(readBody(t, f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/", nil)), "Yes: cedar, same price.")
	})
}

func TestReadReply(t *testing.T) {
	cases := []struct{ name, raw, from, body string }{
		{"multipart", replyMail("m1@x", "Yes."), "Sam Reyes", "Yes."},
		{"plain, no name", "From: sam@greenleaf.example\r\nMessage-ID: <m2@x>\r\n\r\nFine by me.\r\n> old\r\n", "sam@greenleaf.example", "Fine by me."},
		{"base64", "From: Sam <s@x>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + "T2ssIMOpdMOpLg==\r\n", "Sam", "Ok, été."},
		{"latin-1", "From: Sam <s@x>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nOk, \xe9t\xe9.\r\n", "Sam", "Ok, été."},
	}
	for _, tc := range cases {
		from, body, id, err := edge.ReadReply([]byte(tc.raw))
		if err != nil || from != tc.from || body != tc.body || id == "" {
			t.Errorf("%s: ReadReply = %q, %q, %q, %v; want %q, %q", tc.name, from, body, id, err, tc.from, tc.body)
		}
	}
	for _, bad := range []string{"not an email", "From: a@x\r\nContent-Type: text/html\r\n\r\n<p>hi</p>", "From: a@x\r\n\r\n> only\r\n"} {
		if _, _, _, err := edge.ReadReply([]byte(bad)); err == nil {
			t.Errorf("ReadReply(%q) succeeded", bad)
		}
	}
}

// FuzzReadReply: any email either is refused or gives a sender, an id
// and a text with no quoted line, within the message cap.
func FuzzReadReply(f *testing.F) {
	f.Add([]byte(replyMail("m@x", "Yes.")))
	f.Add([]byte("From: a@x\r\n\r\nhi\r\n> old\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\n\r\nhi\r\n--y--\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		from, body, id, err := edge.ReadReply(raw)
		if err != nil {
			return
		}
		if from == "" || id == "" || body == "" || len(body) > edge.MaxInboundMail {
			t.Fatalf("ReadReply = %q, %q, %q", from, body, id)
		}
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, " \t"), ">") {
				t.Fatalf("ReadReply kept a quoted line %q", l)
			}
		}
	})
}
