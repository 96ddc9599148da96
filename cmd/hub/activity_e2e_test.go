package main

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
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
