package edge_test

import (
	"bytes"
	"context"
	"encoding/base64"
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

// inboundFixture is an edge with replies by email on (ra), its SMTP
// listener on 127.0.0.1 (tune, when set, edits the edge's configuration
// further); it returns the listener's address.
func inboundFixture(t *testing.T, ra *edge.ReplyAddresses, tune func(*edge.Config)) (*fixture, string) {
	t.Helper()
	f := newFixtureWith(t, nil, func(f *fixture) {
		f.tune = func(c *edge.Config) {
			c.Replies = ra
			if tune != nil {
				tune(c)
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := f.srv.SMTPServer(ln)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return f, ln.Addr().String()
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
	f, addr := inboundFixture(t, &ra, nil)

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
		r, err := edge.ReadReply([]byte(tc.raw))
		if err != nil || r.From != tc.from || r.Body != tc.body || r.ID == "" || len(r.Files) != 0 {
			t.Errorf("%s: ReadReply = %+v, %v; want %q, %q, no files", tc.name, r, err, tc.from, tc.body)
		}
	}
	for _, bad := range []string{"not an email", "From: a@x\r\nContent-Type: text/html\r\n\r\n<p>hi</p>", "From: a@x\r\n\r\n> only\r\n"} {
		if _, err := edge.ReadReply([]byte(bad)); err == nil {
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
		r, err := edge.ReadReply(raw)
		if err != nil {
			return
		}
		from, body, id := r.From, r.Body, r.ID
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

// mailWithParts is a reply with text and the given MIME parts (each its
// headers and body), as multipart/mixed.
func mailWithParts(id, text string, parts ...[2]string) string {
	var b strings.Builder
	b.WriteString("From: Sam Reyes <sam@greenleaf.example>\r\nMessage-ID: <" + id + ">\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=mix\r\n\r\n--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
	for _, p := range parts {
		b.WriteString("--mix\r\n" + p[0] + "\r\n\r\n" + p[1] + "\r\n")
	}
	b.WriteString("--mix--\r\n")
	return b.String()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// pdfPart is a PDF attached as mail programs do.
func pdfPart(name string) [2]string {
	return [2]string{"Content-Type: application/pdf; name=\"" + name + "\"\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\nContent-Transfer-Encoding: base64", b64(pdfBytes)}
}

func TestReadReplyAttachments(t *testing.T) {
	png := pngBytes(t, 4, 4)
	related := "Content-Type: multipart/related; boundary=rel\r\n\r\n\r\n--rel\r\nContent-Type: text/html\r\n\r\n<p>Hi <img src=cid:logo></p>\r\n" +
		"--rel\r\nContent-Type: image/png; name=logo.png\r\nContent-ID: <logo>\r\nContent-Disposition: inline; filename=logo.png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(png) + "\r\n--rel--"
	for _, tt := range []struct {
		name  string
		raw   string
		files []string // the names of the files found
		err   string
	}{
		{"no parts", mailWithParts("a@x", "Hello."), nil, ""},
		{"a PDF", mailWithParts("b@x", "The plan.", pdfPart("plan.pdf")), []string{"plan.pdf"}, ""},
		{"a picture by its name only", mailWithParts("c@x", "Photo.", [2]string{"Content-Type: image/png; name=site.png\r\nContent-Transfer-Encoding: base64", b64(png)}), []string{"site.png"}, ""},
		{"an encoded name", mailWithParts("d@x", "Plan.", [2]string{"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"=?UTF-8?Q?Pl=C3=A4n.pdf?=\"\r\nContent-Transfer-Encoding: base64", b64(pdfBytes)}), []string{"Plän.pdf"}, ""},
		{"an RFC 2231 name", mailWithParts("e@x", "Plan.", [2]string{"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''Pl%C3%A4n%202.pdf\r\nContent-Transfer-Encoding: base64", b64(pdfBytes)}), []string{"Plän 2.pdf"}, ""},
		{"a signature's logo is no file", strings.Replace(mailWithParts("f@x", "Hi."), "--mix--", "--mix\r\n"+related+"\r\n--mix--", 1), nil, ""},
		{"quoted-printable text file", mailWithParts("g@x", "Notes.", [2]string{"Content-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\nContent-Transfer-Encoding: quoted-printable", "caf=C3=A9"}), []string{"notes.txt"}, ""},
		{"no name", mailWithParts("h@x", "See.", [2]string{"Content-Type: application/pdf\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64", b64(pdfBytes)}), []string{"attachment"}, ""},
		{"six: five kept, to be refused", mailWithParts("i@x", "Many.", pdfPart("1.pdf"), pdfPart("2.pdf"), pdfPart("3.pdf"), pdfPart("4.pdf"), pdfPart("5.pdf"), pdfPart("6.pdf")), []string{"1.pdf", "2.pdf", "3.pdf", "4.pdf", "5.pdf"}, ""},
		{"broken base64", mailWithParts("j@x", "Plan.", [2]string{"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=p.pdf\r\nContent-Transfer-Encoding: base64", "!!!not base64!!!"}), nil, `attachment "p.pdf" could not be decoded`},
	} {
		r, err := edge.ReadReply([]byte(tt.raw))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: ReadReply = %v; want %q", tt.name, err, tt.err)
			}
			continue
		}
		var names []string
		for _, f := range r.Files {
			names = append(names, f.Name)
		}
		if err != nil || r.Body == "" || strings.Join(names, "|") != strings.Join(tt.files, "|") {
			t.Errorf("%s: ReadReply = body %q, files %q, %v; want files %q", tt.name, r.Body, names, err, tt.files)
		}
	}
	r, _ := edge.ReadReply([]byte(mailWithParts("k@x", "Plan.", pdfPart("plan.pdf"))))
	if len(r.Files) != 1 || !bytes.Equal(r.Files[0].Data, pdfBytes) {
		t.Errorf("the PDF's bytes = %q", r.Files)
	}
}

// FuzzReplyAttachments: whatever the email, ReadReply keeps at most
// MaxAttachments+1 files of at most MaxAttachmentSize+1 bytes, each named.
func FuzzReplyAttachments(f *testing.F) {
	f.Add([]byte(mailWithParts("a@x", "The plan.", pdfPart("plan.pdf"))))
	f.Add([]byte(mailWithParts("b@x", "Two.", pdfPart("=?UTF-8?B?w6k=?=.pdf"), [2]string{"Content-Type: image/png; name=x.png\r\nContent-Transfer-Encoding: quoted-printable", "=89PNG"})))
	f.Add([]byte(mailWithParts("c@x", "Nested.", [2]string{"Content-Type: multipart/mixed; boundary=in", "--in\r\nContent-Disposition: attachment; filename*=UTF-8''a%20b.pdf\r\n\r\n%PDF-1\r\n--in--"})))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := edge.ReadReply(raw)
		if err != nil {
			return
		}
		if len(r.Files) > edge.MaxAttachments+1 {
			t.Fatalf("%d files kept", len(r.Files))
		}
		for _, a := range r.Files {
			if a.Name == "" || len(a.Data) > edge.MaxAttachmentSize+1 {
				t.Fatalf("file %q of %d bytes", a.Name, len(a.Data))
			}
		}
		edge.CheckAttachments(r.Files) // never panics
	})
}

// TestReplyBySMTPAttachments: a reply by email with a PDF attached, over
// a real SMTP conversation, is recorded with the file, which the thread
// links; a reply with a file of a type not taken, or too many files, is
// refused with a reason and records nothing.
func TestReplyBySMTPAttachments(t *testing.T) {
	t.Parallel()
	ra := testReplies
	f, addr := inboundFixture(t, &ra, nil)
	to, err := ra.Address("okafor-residence", "quote/Q-1002", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	exe := [2]string{"Content-Type: application/octet-stream; name=setup.exe\r\nContent-Disposition: attachment; filename=setup.exe\r\nContent-Transfer-Encoding: base64", b64([]byte("MZ\x90\x00\x03\x00"))}
	for _, tt := range []struct {
		name, raw, why string
	}{
		{"a program", mailWithParts("r1@x", "Here.", exe), `"setup.exe" is not a kind of file we can attach`},
		{"five files", mailWithParts("r2@x", "Here.", pdfPart("1.pdf"), pdfPart("2.pdf"), pdfPart("3.pdf"), pdfPart("4.pdf"), pdfPart("5.pdf")), "attach at most 4"},
	} {
		err := sendSMTP(t, addr, to, tt.raw)
		if smtpCode(err) != 554 || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%s: %v; want 554 saying %q", tt.name, err, tt.why)
		}
	}
	if facts, _ := f.store.Facts(context.Background(), "okafor-residence"); len(facts.Messages) != 0 {
		t.Fatalf("messages after the refusals = %+v; want none", facts.Messages)
	}
	if err := sendSMTP(t, addr, to, mailWithParts("ok@x", "The plan, as promised.", pdfPart("Rain garden plan.pdf"))); err != nil {
		t.Fatalf("the reply with a PDF: %v", err)
	}
	facts, _ := f.store.Facts(context.Background(), "okafor-residence")
	if len(facts.Messages) != 1 || len(facts.Messages[0].Files) != 1 || facts.Messages[0].Files[0].Name != "Rain-garden-plan.pdf" {
		t.Fatalf("messages = %+v; want the reply with its PDF", facts.Messages)
	}
	id := facts.Messages[0].ID
	c := f.login("okafor-residence")
	f.waitUntil("the PDF linked in the thread", func() bool {
		return strings.Contains(readBody(t, f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/", nil)), "/c/okafor-residence/messages/"+id+"/1-Rain-garden-plan.pdf")
	})
}
