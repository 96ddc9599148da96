package edge

import (
	"io/fs"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestSafeNext(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"/c/acme/quotes/Q-1/": true, "/c/acme/": true,
		"//evil.example": false, `/\evil.example`: false, "https://evil.example": false, "/c/../x": false,
		"/other": false, "": false, "/c/acme/\r\nX: y": false, "javascript:alert(1)": false,
	}
	for in, ok := range tests {
		if _, got := safeNext(in); got != ok {
			t.Errorf("safeNext(%q) ok = %v; want %v", in, got, ok)
		}
	}
}

func newTestSessions() *sessions {
	s := &sessions{issuer: "https://hub.example", now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }}
	s.setKeys([]SessionKey{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	return s
}

func FuzzSessionParse(f *testing.F) {
	s := newTestSessions()
	valid, _ := s.mint(Claims{Client: "acme"}, time.Hour)
	f.Add(valid)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJjaWQiOiJhY21lIn0.")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.parse(tok, AudClient, AudDelegate)
		if err == nil && tok != valid {
			// Only a token signed with our key may parse; a mutation that
			// still verifies must decode to the same claims.
			if c.Client != "acme" {
				t.Fatalf("parse(%q) accepted claims %+v", tok, c)
			}
		}
	})
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/c/acme/", "//evil", `/\evil`, "https://evil", "/c/a/../../x", "/c/%2e%2e/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := safeNext(in)
		if !ok {
			return
		}
		if !strings.HasPrefix(out, "/c/") || strings.HasPrefix(out, "//") || strings.Contains(out, "..") || strings.ContainsAny(out, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q, accepted", in, out)
		}
	})
}

func FuzzBundlePath(f *testing.F) {
	for _, s := range []string{"/c/acme/", "/c/acme/quotes/Q-1/", "/c/acme/%2e%2e/x", "/c/acme/a%2fb", "/c/acme/.git/config"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil || !strings.HasPrefix(u.Path, "/c/acme/") {
			return
		}
		r := &http.Request{URL: u}
		r.SetPathValue("path", strings.TrimPrefix(u.Path, "/c/acme/"))
		p, ok := bundlePath(r)
		if ok && (!fs.ValidPath(p) || strings.Contains(p, "..") || strings.HasPrefix(p, ".") || strings.Contains(p, "/.")) {
			t.Fatalf("bundlePath(%q) = %q, accepted", raw, p)
		}
	})
}

func TestCookieNames(t *testing.T) {
	t.Parallel()
	secure := newCookieNames(true)
	c := secure.cookie(secure.session, "v", time.Hour)
	if c.Name != "__Host-hub_session" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("https session cookie = %+v; want __Host-, Secure, HttpOnly, Path=/, no Domain, Lax", c)
	}
	if d := secure.cookie(secure.session, "", 0); d.MaxAge >= 0 || !strings.Contains(d.String(), "Max-Age=0") {
		t.Errorf("clearing cookie = %q; want Max-Age=0", d.String())
	}
}

// TestImports: the generator never imports the edge; the edge imports only
// the shared formats of the generator: the bundle and directory format, the
// recorded facts (events) and money (amounts and their formatting).
func TestImports(t *testing.T) {
	t.Parallel()
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, d := range deps("github.com/hubhq/hub/generator/...") {
		if strings.HasPrefix(d, "github.com/hubhq/hub/edge") {
			t.Errorf("the generator imports %s", d)
		}
	}
	for _, d := range deps("github.com/hubhq/hub/edge") {
		switch d {
		case "github.com/hubhq/hub/generator/bundle", "github.com/hubhq/hub/generator/events", "github.com/hubhq/hub/generator/money":
			continue
		}
		if strings.HasPrefix(d, "github.com/hubhq/hub/generator") {
			t.Errorf("the edge imports %s; it may use only generator/bundle, generator/events and generator/money", d)
		}
	}
}

// TestParseRetiredKey: a key older than the rotation plus the session
// lifetime is refused even before the store is read again.
func TestParseRetiredKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	tests := []struct {
		age time.Duration
		ok  bool
	}{
		{0, true}, {29 * day, true}, {45 * day, true}, {60 * day, true},
		{60*day + time.Second, false}, {100 * day, false},
	}
	for _, tt := range tests {
		s := &sessions{issuer: "https://hub.example", now: func() time.Time { return now }, retireAfter: keyRotation + 30*day}
		s.setKeys([]SessionKey{{ID: "k", Secret: []byte("0123456789abcdef0123456789abcdef"), Created: now.Add(-tt.age)}})
		tok, err := s.mint(Claims{Client: "acme", RegisteredClaims: jwt.RegisteredClaims{Audience: []string{AudClient}}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.parse(tok, AudClient); (err == nil) != tt.ok {
			t.Errorf("parse(a session signed by a key %v old) err = %v; want ok=%v", tt.age, err, tt.ok)
		}
	}
}
