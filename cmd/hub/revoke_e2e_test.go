package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestRevoke: hub revoke EMAIL signs that contact out on every device and
// nobody else; hub revoke CLIENT-ID signs out every contact of the client.
// The running edge applies each within a second (it logs when it does).
func TestRevoke(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	p := startHub(t, dir, "edge", "-addr", "127.0.0.1:0", "-base-url", "http://127.0.0.1:1")
	base := strings.TrimSuffix(p.await(t, `hub edge serving .* on (http://127\.0\.0\.1:\d+/?)`), "/")

	// Sign in: each contact's link, printed by hub link -print.
	links := map[string]string{}
	for _, client := range []string{"whitfield-dental", "okafor-residence"} {
		r := hub(t, dir, "link", client, "-print")
		if r.code != 0 {
			t.Fatalf("hub link %s -print = %d: %s", client, r.code, r.stderr)
		}
		for _, l := range strings.Split(r.stdout, "\n") {
			if email, link, ok := strings.Cut(l, "\t"); ok {
				links[email] = link
			}
		}
	}
	signIn := func(email string) *http.Client {
		t.Helper()
		return signInLink(t, base, links[email])
	}
	const dana, marcus, ngozi = "dana@whitfield-dental.example", "marcus.lee@whitfield-dental.example", "ngozi.okafor@example.com"
	sessions := map[string]*http.Client{dana: signIn(dana), marcus: signIn(marcus), ngozi: signIn(ngozi)}
	hubOf := map[string]string{dana: "/c/whitfield-dental/", marcus: "/c/whitfield-dental/", ngozi: "/c/okafor-residence/"}

	steps := []struct {
		arg  string
		out  string
		open map[string]bool // who is still signed in after it
	}{
		{"Dana@Whitfield-Dental.example", "signed dana@whitfield-dental.example out of every device in the hub of whitfield-dental",
			map[string]bool{dana: false, marcus: true, ngozi: true}},
		{"whitfield-dental", "signed every contact of whitfield-dental (2) out of every device",
			map[string]bool{dana: false, marcus: false, ngozi: true}},
	}
	for _, st := range steps {
		r := hub(t, dir, "revoke", st.arg)
		if r.code != 0 || !strings.Contains(r.stdout, st.out) {
			t.Fatalf("hub revoke %s = %d\n%s%s; want it to say %q", st.arg, r.code, r.stdout, r.stderr, st.out)
		}
		p.await(t, `session epochs changed`) // the edge applied it
		for who, open := range st.open {
			resp, _ := fetch(t, sessions[who], "GET", base+hubOf[who], nil)
			if got := resp.StatusCode == http.StatusOK; got != open {
				t.Errorf("after hub revoke %s: %s's hub = %d; want open=%v\n%s", st.arg, who, resp.StatusCode, open, p.output())
			}
		}
	}
	// Signing in again works.
	if resp, _ := fetch(t, signInAgain(t, dir, base, marcus), "GET", base+"/c/whitfield-dental/", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("marcus signing in again after hub revoke = %d; want 200", resp.StatusCode)
	}
	for _, arg := range []string{"nobody@nowhere.example", "no-such-client"} {
		if r := hub(t, dir, "revoke", arg); r.code != 1 || r.stderr == "" {
			t.Errorf("hub revoke %s = %d %q; want 1 and a message", arg, r.code, r.stderr)
		}
	}
	if r := hub(t, dir, "revoke"); r.code != 2 {
		t.Errorf("hub revoke without an argument = %d; want 2", r.code)
	}
}

// signInAgain signs a contact in with a new printed link.
func signInAgain(t *testing.T, dir, base, email string) *http.Client {
	t.Helper()
	r := hub(t, dir, "link", email, "-print")
	_, link, ok := strings.Cut(strings.Split(r.stdout, "\n")[0], "\t")
	if r.code != 0 || !ok {
		t.Fatalf("hub link %s -print = %d %q", email, r.code, r.stdout)
	}
	return signInLink(t, base, link)
}

// signInLink signs a new browser in with a login link (its path, on base).
func signInLink(t *testing.T, base, link string) *http.Client {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || link == "" {
		t.Fatalf("bad login link %q", link)
	}
	c := browser()
	if r, _ := fetch(t, c, "POST", base+u.Path, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in with %s = %d", u.Path, r.StatusCode)
	}
	return c
}
