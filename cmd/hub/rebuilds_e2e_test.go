package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRebuildFailureListed: a work request recorded while the client's
// content is broken is kept (the client is told it was sent), its rebuild
// fails, and hub rebuilds shows the client as failing, with the error and
// where it is; an edge started later picks the job up.
func TestRebuildFailureListed(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	copyContent(t, content)
	if r := hub(t, dir, "rebuilds"); r.code != 1 || !strings.Contains(r.stderr, "no state database") {
		t.Fatalf("hub rebuilds before any edge ran = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	_, base, client := contentEdge(t, dir, "okafor-residence")
	if r := hub(t, dir, "rebuilds"); r.code != 0 || !strings.Contains(r.stdout, "no rebuilds waiting") {
		t.Fatalf("hub rebuilds with nothing recorded = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	broken := filepath.Join(content, "clients", "okafor-residence", "invoices", "INV-2002-home-maintenance.yaml")
	if err := os.WriteFile(broken, []byte("number: INV-2002\ntitle: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, body := fetch(t, client, "POST", base+"/c/okafor-residence/requests/new", url.Values{"title": {"Fence repair"}, "nonce": {"broken-1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("work request while the content is broken = %d\n%s", r.StatusCode, body)
	}
	out := hub(t, dir, "rebuilds")
	if out.code != 0 || !regexp.MustCompile(`okafor-residence\s+\S+ \S+\s+failing\s+1\s`).MatchString(out.stdout) ||
		!strings.Contains(out.stdout, "INV-2002-home-maintenance.yaml:1:1: ") || !strings.Contains(out.stdout, "1 client(s) failing to rebuild") {
		t.Fatalf("hub rebuilds after a failed rebuild = %d\n%s%s", out.code, out.stdout, out.stderr)
	}
	if r := hub(t, dir, "requests"); !strings.Contains(r.stdout, "Fence repair") {
		t.Errorf("the request is not recorded:\n%s", r.stdout)
	}
}

// contentEdge builds the content in dir, starts hub edge -content on it
// (so it rebuilds after facts; more flags in args) and signs a browser in
// to client; it returns the edge, its origin and the browser.
func contentEdge(t *testing.T, dir, client string, args ...string) (*proc, string, *http.Client) {
	t.Helper()
	if r := hub(t, dir, "build"); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	addr := freeAddr(t)
	p := startHubEnv(t, dir, []string{"HUB_BASE_URL=http://" + addr}, append([]string{"edge", "-content", "content", "-addr", addr}, args...)...)
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	link := regexp.MustCompile(`http://\S+/login/t/\S+`).FindString(hub(t, dir, "link", client, "-print").stdout)
	u, _ := url.Parse(link)
	c := browser()
	if r, _ := fetch(t, c, "POST", base+u.Path, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in = %d", r.StatusCode)
	}
	return p, base, c
}
