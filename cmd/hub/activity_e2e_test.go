package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hubhq/hub/edge/sqlstore"
)

// TestActivityCommand: the real edge counts a contact's views of a quote
// and a PDF, writes them (at the latest when it stops), hub activity lists
// them per document, and hub clients shows the last one opened.
func TestActivityCommand(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, dir+"/content")
	p, base, c := contentEdge(t, dir, "okafor-residence")
	if r := hub(t, dir, "activity"); r.code != 0 || !strings.Contains(r.stdout, "no document views recorded") {
		t.Errorf("hub activity before any view = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, path := range []string{"quotes/Q-1002/", "quotes/Q-1002/", "invoices/INV-2002/INV-2002.pdf", ""} {
		if r, _ := fetch(t, c, "GET", base+"/c/okafor-residence/"+path, nil); r.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, r.StatusCode)
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM) // views are written at the latest when the edge stops
	p.cmd.Wait()
	r := hub(t, dir, "activity", "okafor-residence")
	email := regexp.QuoteMeta(contactOf(t, dir+"/content", "okafor-residence"))
	if r.code != 0 || !regexp.MustCompile(`okafor-residence\s+`+email+`\s+quotes/Q-1002/\s+.+\s2\n`).MatchString(r.stdout) ||
		!regexp.MustCompile(`invoices/INV-2002/INV-2002\.pdf\s+.+\s1\n`).MatchString(r.stdout) || strings.Count(r.stdout, "\n") != 3 {
		t.Errorf("hub activity okafor-residence = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// hub clients shows each contact's last document opened.
	if r := hub(t, dir, "clients"); !regexp.MustCompile(`okafor-residence\s.*` + email + `\s+joined\s+\S+ \S+\s+(quotes/Q-1002/|invoices/INV-2002/INV-2002\.pdf) \d{4}-`).MatchString(r.stdout) {
		t.Errorf("hub clients after the views:\n%s%s", r.stdout, r.stderr)
	}
}

// TestDocumentHistoryShown: hub send records the send and the running edge
// rebuilds the client; a contact's first view of the quote (its PDF) is
// written with the next batch of views and the page then says "Viewed by
// Ngozi"; the PDF is the same bytes after it; later views of the quote
// change no fact (the client's version stays), and hub activity prints the
// history as the page shows it.
func TestDocumentHistoryShown(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, dir+"/content")
	p, base, c := contentEdge(t, dir, "okafor-residence")
	quote := base + "/c/okafor-residence/quotes/Q-1002/"
	date := `<time datetime="\d{4}-\d\d-\d\d">[A-Z][a-z]{2} \d{1,2}(, \d{4})?</time>`
	if r := hub(t, dir, "send", "quote", "Q-1002"); r.code != 0 || !strings.Contains(r.stdout, "sent quote Q-1002 to ngozi.okafor@example.com") {
		t.Fatalf("hub send = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	p.await(t, `serving new build`)
	if _, page := fetch(t, c, "GET", quote, nil); !regexp.MustCompile(`Sent `+date).MatchString(page) || strings.Contains(page, "Viewed by") {
		t.Fatalf("the quote after hub send does not show (only) when it was sent:\n%s", page)
	}
	// The first view: the quote's PDF.
	r, pdf := fetch(t, c, "GET", quote+"Q-1002.pdf", nil)
	if r.StatusCode != 200 {
		t.Fatalf("GET the PDF = %d", r.StatusCode)
	}
	p.await(t, `serving new build`) // the batch of views written (within 5 s), the client rebuilt
	_, page := fetch(t, c, "GET", quote, nil)
	if !regexp.MustCompile(`Sent ` + date + `\s*</span> · <span>Viewed by Ngozi ` + date).MatchString(page) {
		t.Fatalf("the quote after its first view does not show it:\n%s", page)
	}
	if r2, pdf2 := fetch(t, c, "GET", quote+"Q-1002.pdf", nil); pdf2 != pdf || r2.Header.Get("ETag") != r.Header.Get("ETag") {
		t.Errorf("the PDF changed after a view (ETag %s, then %s)", r.Header.Get("ETag"), r2.Header.Get("ETag"))
	}
	st, err := sqlstore.Open(filepath.Join(dir, ".hub", "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before, err := st.Versions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		fetch(t, c, "GET", quote, nil)
	}
	p.cmd.Process.Signal(syscall.SIGTERM) // the last views are written when the edge stops
	p.cmd.Wait()
	after, err := st.Versions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after["okafor-residence"] != before["okafor-residence"] {
		t.Errorf("later views of a document already viewed changed the client's facts (version %d → %d)", before["okafor-residence"], after["okafor-residence"])
	}
	out := hub(t, dir, "activity", "okafor-residence")
	if !regexp.MustCompile(`quotes/Q-1002/\s+.+\s[45]\n`).MatchString(out.stdout) ||
		!regexp.MustCompile(`okafor-residence\s+quote Q-1002\s+Sent [A-Z][a-z]{2} \d+.* · Viewed by Ngozi [A-Z][a-z]{2} \d+`).MatchString(out.stdout) {
		t.Errorf("hub activity okafor-residence = %d\n%s%s", out.code, out.stdout, out.stderr)
	}
}
