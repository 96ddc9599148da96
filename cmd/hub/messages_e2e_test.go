package main

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	smtp "github.com/emersion/go-smtp"
	"github.com/hubhq/hub/internal/testcert"
)

// TestMessagesLoop, with the real binary: a client writes on a quote's
// thread; the business's email is in the outbox; hub messages lists the
// thread as unanswered; hub reply (another process, on the same store)
// records the answer; the running edge rebuilds the client and sends the
// client an email whose link lands on the thread, which shows the answer.
func TestMessagesLoop(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, dir+"/content")
	smtpAddr := freeAddr(t)
	cert, err := testcert.New("hub e2e")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "smtp.crt"), cert.CertPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "smtp.key"), cert.KeyPEM, 0o600)
	p, base, client := contentEdge(t, dir, "okafor-residence", "-smtp-listen", smtpAddr, "-smtp-tls-cert", "smtp.crt", "-smtp-tls-key", "smtp.key")

	r, body := fetch(t, client, "POST", base+"/c/okafor-residence/messages", url.Values{"thread": {"quote/Q-1002"}, "body": {"Can the bench be cedar?"}, "nonce": {"e2e-1"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/okafor-residence/quotes/Q-1002/#messages" {
		t.Fatalf("message = %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), body)
	}
	if _, page := fetch(t, client, "GET", base+"/c/okafor-residence/quotes/Q-1002/", nil); !strings.Contains(page, "Can the bench be cedar?") {
		t.Errorf("the quote page does not show the message right after the answer")
	}
	eml := p.await(t, `mail to hello@greenleaf-gardens\.example: "Message from Ngozi Okafor about quote Q-1002" \((\S+)\)`)
	raw, err := os.ReadFile(filepath.Join(dir, eml))
	if err != nil {
		t.Fatal(err)
	}
	replyTo := regexp.MustCompile(`(?m)^Reply-To:\s*<?(reply\+[^>\s]+)`).FindStringSubmatch(string(raw))
	if replyTo == nil {
		t.Fatalf("the business's notice has no reply address:\n%s", raw)
	}

	out := hub(t, dir, "messages")
	if out.code != 0 || !regexp.MustCompile(`okafor-residence\s+quote/Q-1002\s+1\s+NO\s+ngozi\.okafor@example\.com\s+Can the bench be cedar\?`).MatchString(out.stdout) {
		t.Fatalf("hub messages = %d\n%s%s", out.code, out.stdout, out.stderr)
	}
	out = hub(t, dir, "reply", "okafor-residence", "quote/Q-1002", "-m", "Yes: cedar, same price.", "-as", "Sam")
	if out.code != 0 || !strings.Contains(out.stdout, "emails 1 contact") {
		t.Fatalf("hub reply = %d\n%s%s", out.code, out.stdout, out.stderr)
	}
	if out := hub(t, dir, "reply", "okafor-residence", "quote/../x", "-m", "x"); out.code != 1 {
		t.Errorf("hub reply to a bad thread = %d; want 1\n%s", out.code, out.stderr)
	}
	// The edge takes the queued rebuild and sends the queued email.
	p.await(t, `mail to ngozi\.okafor@example\.com: "Greenleaf Gardens answered you about quote Q-1002"`)
	replyLink := p.await(t, `^\s+(http://\S+/login/t/\S+)$`)
	lu, _ := url.Parse(replyLink)
	fresh := browser()
	if r, _ := fetch(t, fresh, "POST", base+lu.Path, url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/okafor-residence/quotes/Q-1002/#messages" {
		t.Fatalf("the reply's link = %d to %q; want the thread", r.StatusCode, r.Header.Get("Location"))
	}
	_, page := fetch(t, fresh, "GET", base+"/c/okafor-residence/quotes/Q-1002/", nil)
	if !strings.Contains(page, "Yes: cedar, same price.") || !strings.Contains(page, "Greenleaf Gardens</strong>") {
		t.Errorf("the thread does not show the business's answer")
	}
	out = hub(t, dir, "messages", "-client", "okafor-residence")
	if !regexp.MustCompile(`quote/Q-1002\s+2\s+yes\s+Sam\s+Yes: cedar`).MatchString(out.stdout) {
		t.Errorf("hub messages after the reply:\n%s%s", out.stdout, out.stderr)
	}

	// The business replies to the notice by email, through a real SMTP
	// conversation with the edge (STARTTLS, its certificate checked):
	// recorded without the quoted history.
	c, err := smtp.DialStartTLS(smtpAddr, &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	mail := "From: Sam Reyes <sam@greenleaf.example>\r\nMessage-ID: <e2e-reply@mail.example>\r\nSubject: Re: Message\r\n\r\n" +
		"And the lights are included.\r\n\r\nOn Fri, Nov 20, 2026 at 10:00 AM Greenleaf Gardens wrote:\r\n> Can the bench be cedar?\r\n"
	if err := c.SendMail("sam@greenleaf.example", []string{replyTo[1]}, strings.NewReader(mail)); err != nil {
		t.Fatalf("reply by email: %v", err)
	}
	if err := c.SendMail("sam@greenleaf.example", []string{"reply+okafor-residence.general.zz.aaaaaaaaaaaaaaaa@127.0.0.1"}, strings.NewReader(mail)); err == nil {
		t.Error("a reply to an unsigned address was accepted")
	}
	p.await(t, `mail to ngozi\.okafor@example\.com: "Greenleaf Gardens answered you about quote Q-1002"`)
	_, page = fetch(t, fresh, "GET", base+"/c/okafor-residence/quotes/Q-1002/", nil)
	if !strings.Contains(page, "And the lights are included.") || strings.Contains(page, "On Fri, Nov 20") {
		t.Errorf("the thread does not show the emailed reply without its quoted history")
	}

	// hub reply -attach: the files are checked, stored and linked in the thread.
	plan := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	os.WriteFile(filepath.Join(dir, "plan.pdf"), plan, 0o644)
	os.WriteFile(filepath.Join(dir, "setup.exe"), []byte("MZ\x90\x00\x03"), 0o644)
	if out := hub(t, dir, "reply", "okafor-residence", "quote/Q-1002", "-m", "A program.", "-attach", "plan.pdf", "-attach", "setup.exe"); out.code != 1 || !strings.Contains(out.stderr, `"setup.exe" is not a kind of file we can attach`) {
		t.Errorf("hub reply -attach setup.exe = %d; want 1 saying why\n%s%s", out.code, out.stdout, out.stderr)
	}
	out = hub(t, dir, "reply", "okafor-residence", "quote/Q-1002", "-m", "The plan, as drawn.", "-attach", "plan.pdf", "-as", "Sam")
	if out.code != 0 || !strings.Contains(out.stdout, "with 1 attachment") {
		t.Fatalf("hub reply -attach = %d\n%s%s", out.code, out.stdout, out.stderr)
	}
	p.await(t, `mail to ngozi\.okafor@example\.com: "Greenleaf Gardens answered you about quote Q-1002"`)
	if out := hub(t, dir, "messages", "-client", "okafor-residence"); !regexp.MustCompile(`quote/Q-1002\s+\d+\s+yes\s+Sam\s+The plan, as drawn\. \[\+1 file\]`).MatchString(out.stdout) {
		t.Errorf("hub messages does not count the attachment:\n%s%s", out.stdout, out.stderr)
	}
	_, page = fetch(t, fresh, "GET", base+"/c/okafor-residence/quotes/Q-1002/", nil)
	link := regexp.MustCompile(`<a href="(/c/okafor-residence/messages/M-\w+/1-plan\.pdf)" download="plan\.pdf">plan\.pdf</a>`).FindStringSubmatch(page)
	if link == nil || !strings.Contains(page, "The plan, as drawn.") {
		t.Fatalf("the thread does not link the attachment:\n%s", page)
	}
	if r, got := fetch(t, fresh, "GET", base+link[1], nil); r.StatusCode != 200 || got != string(plan) {
		t.Errorf("GET the attachment = %d, %d bytes", r.StatusCode, len(got))
	}
}
