package edge

import (
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hubhq/hub/generator/bundle"
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

// TestRenderPageTemplateError: when an edge page's template fails, no
// half-written page goes out: renderPage answers a plain-text 500, the
// error page its own status and message, and the error is logged.
func TestRenderPageTemplateError(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	s.build.Store(&Build{Directory: &bundle.Directory{}})
	broken := template.Must(template.New("").Parse(`<p>{{.Missing}}</p>`))
	tests := []struct {
		name       string
		render     func(w http.ResponseWriter, r *http.Request)
		wantStatus int
		wantBody   string
	}{
		{"page", func(w http.ResponseWriter, r *http.Request) {
			s.renderPage(w, r, http.StatusOK, "Choose a hub", broken, struct{}{})
		}, http.StatusInternalServerError, "Something went wrong showing this page."},
		{"error page", func(w http.ResponseWriter, r *http.Request) {
			s.renderPageOr(w, r, http.StatusConflict, "Already done", broken, struct{}{}, http.StatusConflict, "Quote Q-1 is already approved.")
		}, http.StatusConflict, "Quote Q-1 is already approved."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			w := httptest.NewRecorder()
			tc.render(w, httptest.NewRequest("GET", "/x", nil))
			body := w.Body.String()
			if w.Code != tc.wantStatus || !strings.Contains(body, tc.wantBody) || strings.Contains(body, "<") || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("render with a failing template = %d %q %q; want %d, plain text %q", w.Code, w.Header().Get("Content-Type"), body, tc.wantStatus, tc.wantBody)
			}
			if !strings.Contains(logs.String(), "rendering page") {
				t.Errorf("the template error was not logged: %q", logs.String())
			}
		})
	}
	// The page itself renders.
	w := httptest.NewRecorder()
	s.errorPage(w, httptest.NewRequest("GET", "/x", nil), Errorf(EConflict, "Quote Q-1 is already approved."))
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "<h1>Already done</h1>") || !strings.Contains(w.Body.String(), "Quote Q-1 is already approved.") {
		t.Errorf("errorPage = %d %q", w.Code, w.Body.String())
	}
}

// TestDownload: documents are attachments, pages and their assets are not.
func TestDownload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"quotes/Q-1/Q-1.pdf", true}, {"download/acme-documents.zip", true}, {"docs/plan.docx", true}, {"docs/data.bin", true},
		{"index.html", false}, {"assets/style.css", false}, {"assets/hub.js", false}, {"logo.svg", false}, {"photo.jpg", false}, {"notes.txt", false}, {"font.woff2", false},
	} {
		if got := download(contentType(tc.path)); got != tc.want {
			t.Errorf("download(contentType(%q) = %q) = %v; want %v", tc.path, contentType(tc.path), got, tc.want)
		}
	}
}
