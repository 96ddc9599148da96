package edge_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/bundle"
)

// forge makes a session cookie value with the given claims and key.
func (f *fixture) forge(method jwt.SigningMethod, claims jwt.MapClaims, kid string, key any) string {
	f.t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) withCookie(value string) *http.Client {
	c := f.client()
	u, _ := url.Parse(f.url)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "hub_session", Value: value, Path: "/"}})
	return c
}

func TestSessionValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	keys, err := f.store.SessionKeys(context.Background(), f.clock.Now(), 1000*time.Hour, 10000*time.Hour)
	if err != nil || len(keys) == 0 {
		t.Fatal(keys, err)
	}
	k := keys[0]
	now := f.clock.Now()
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": f.url, "aud": []string{edge.AudClient}, "sub": "dana@x.example", "cid": "okafor-residence", "ep": 0, "jti": "a-session-id",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims { c := base(); mod(c); return c }
	tests := []struct {
		name  string
		value string
		ok    bool
	}{
		{"valid", f.forge(jwt.SigningMethodHS256, base(), k.ID, k.Secret), true},
		{"alg none", f.forge(jwt.SigningMethodNone, base(), k.ID, jwt.UnsafeAllowNoneSignatureType), false},
		{"another algorithm", f.forge(jwt.SigningMethodHS512, base(), k.ID, k.Secret), false},
		{"another key", f.forge(jwt.SigningMethodHS256, base(), k.ID, []byte("not the key, not the key, not it")), false},
		{"unknown kid", f.forge(jwt.SigningMethodHS256, base(), "nope", k.Secret), false},
		{"no kid", f.forge(jwt.SigningMethodHS256, base(), "", k.Secret), false},
		{"no exp", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { delete(c, "exp") }), k.ID, k.Secret), false},
		{"expired", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }), k.ID, k.Secret), false},
		{"future nbf", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), k.ID, k.Secret), false},
		{"wrong aud", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["aud"] = []string{"someone-else"} }), k.ID, k.Secret), false},
		{"choose aud", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["aud"] = []string{edge.AudChoose} }), k.ID, k.Secret), false},
		{"wrong iss", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), k.ID, k.Secret), false},
		{"no session id", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { delete(c, "jti") }), k.ID, k.Secret), false},
		{"old contact epoch", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["cep"] = 3 }), k.ID, k.Secret), false},
		{"old epoch", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["ep"] = 7 }), k.ID, k.Secret), false},
		{"delegate without staff", f.forge(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["aud"] = []string{edge.AudDelegate} }), k.ID, k.Secret), false},
		{"garbage", "abc.def.ghi", false},
		{"oversized", strings.Repeat("a", 3000) + ".b.c", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(f.withCookie(tt.value), "GET", "/c/okafor-residence/", nil)
			if got := r.StatusCode == 200; got != tt.ok {
				t.Errorf("GET with %s session = %d; want ok=%v", tt.name, r.StatusCode, tt.ok)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	other := f.login("okafor-residence") // another device
	r := f.do(c, "POST", "/logout", url.Values{})
	var cleared bool
	for _, ck := range r.Cookies() {
		if ck.Name == "hub_session" && ck.MaxAge < 0 && ck.Path == "/" {
			cleared = true
		}
	}
	if r.StatusCode != http.StatusSeeOther || !cleared {
		t.Errorf("POST /logout = %d, cookies %v; want 303 and the cookie cleared (Max-Age=0, Path=/)", r.StatusCode, r.Cookies())
	}
	if f.do(c, "GET", "/c/okafor-residence/", nil).StatusCode == 200 {
		t.Error("hub still open after logout")
	}
	if f.do(other, "GET", "/c/okafor-residence/", nil).StatusCode != 200 {
		t.Fatal("logout on one device ended the other device's session")
	}
	// Sign out everywhere.
	third := f.login("okafor-residence")
	if r := f.do(third, "POST", "/logout/all", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /logout/all = %d", r.StatusCode)
	}
	if f.do(other, "GET", "/c/okafor-residence/", nil).StatusCode == 200 {
		t.Error("after sign out everywhere, another device's session still works")
	}
	// A new login works again.
	if f.do(f.login("okafor-residence"), "GET", "/c/okafor-residence/", nil).StatusCode != 200 {
		t.Error("cannot log in after sign out everywhere")
	}
	if r := f.do(f.client(), "GET", "/logout", nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout = %d; want 405", r.StatusCode)
	}
}

func TestOnlyOwnBundle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := f.login("okafor-residence")
	if r := f.do(a, "GET", "/c/okafor-residence/", nil); r.StatusCode != 200 {
		t.Fatalf("own hub = %d", r.StatusCode)
	}
	secret := "Whitfield" // a word only in the other client's pages
	paths := []string{
		"/c/whitfield-dental/",
		"/c/whitfield-dental/index.html",
		"/c/okafor-residence/../whitfield-dental/index.html",
		"/c/okafor-residence/%2e%2e/whitfield-dental/index.html",
		"/c/okafor-residence/..%2fwhitfield-dental/index.html",
		"/c/okafor-residence/%2E%2E%2Fwhitfield-dental%2Findex.html",
		"/c/okafor-residence/..%5cwhitfield-dental%5cindex.html",
		"/c/okafor-residence/%5c..%5cwhitfield-dental/index.html",
		"/c/okafor-residence/manifest.json",
		"/c/okafor-residence/manifest.sig",
		"/c/okafor-residence/.hidden",
		"/c/okafor-residence/index.html/x.css",
		"/c/okafor-residence//index.html",
		"/c/OKAFOR-RESIDENCE/",
	}
	for _, p := range paths {
		req, _ := http.NewRequest("GET", f.url+"/", nil)
		req.URL.Opaque = p // send the path exactly as written
		resp, err := a.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(body, secret) {
			t.Errorf("GET %s = 200 with another client's page", p)
		}
		if resp.StatusCode == 200 && !strings.HasSuffix(p, "/") {
			t.Errorf("GET %s = 200; want 3xx/403/404", p)
		}
	}
}

func TestSymlinkOutOfBundle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	dir, _ := filepath.EvalSymlinks(filepath.Join(f.out, "c", "okafor-residence"))
	for _, ext := range []string{"", ".gz", ".br"} {
		os.Remove(filepath.Join(dir, "requests", "index.html"+ext))
	}
	os.Symlink("/etc/passwd", filepath.Join(dir, "requests", "index.html"))
	r := f.do(f.login("okafor-residence"), "GET", "/c/okafor-residence/requests/", nil)
	if body := readBody(t, r); r.StatusCode == 200 || strings.Contains(body, "root:") {
		t.Errorf("GET of a symlink out of the bundle = %d; want it refused", r.StatusCode)
	}
}

func TestAuthoriseBeforeConditionalAndRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	r := f.do(c, "GET", "/c/okafor-residence/", nil, "Accept-Encoding", "identity")
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("page headers: ETag %q, Cache-Control %q", etag, r.Header.Get("Cache-Control"))
	}
	// With the session: 304 and 206 work.
	if r := f.do(c, "GET", "/c/okafor-residence/", nil, "If-None-Match", etag, "Accept-Encoding", "identity"); r.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET = %d; want 304", r.StatusCode)
	}
	if r := f.do(c, "GET", "/c/okafor-residence/", nil, "Range", "bytes=0-9", "Accept-Encoding", "identity"); r.StatusCode != http.StatusPartialContent || len(readBody(t, r)) != 10 {
		t.Errorf("Range GET = %d; want 206 with 10 bytes", r.StatusCode)
	}
	// Without: neither leaks.
	anon := f.client()
	for _, h := range [][]string{{"If-None-Match", etag}, {"Range", "bytes=0-9"}} {
		if r := f.do(anon, "GET", "/c/okafor-residence/", nil, h...); r.StatusCode != http.StatusSeeOther {
			t.Errorf("anonymous GET with %s = %d; want 303 to sign in", h[0], r.StatusCode)
		}
	}
}

func TestCompressionAndHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("whitfield-dental")
	// A client's small pages have a .gz and no .br (generator:
	// bundleBrotliMin): a browser that takes both gets the .gz.
	for _, tt := range []struct{ accept, enc string }{{"br, gzip", "gzip"}, {"gzip", "gzip"}, {"identity", ""}, {"br;q=0, gzip", "gzip"}} {
		r := f.do(c, "GET", "/c/whitfield-dental/", nil, "Accept-Encoding", tt.accept)
		if r.Header.Get("Content-Encoding") != tt.enc || r.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, Content-Type %q, Vary %q", tt.accept, r.Header.Get("Content-Encoding"), r.Header.Get("Content-Type"), r.Header.Get("Vary"))
		}
	}
	// The public pages the edge answers with a status of its own are
	// compressed like the rest.
	for _, tt := range []struct {
		path   string
		status int
	}{{"/login/sent/", 200}, {"/login/invalid/", 200}, {"/login/t/not-a-token", 404}, {"/no/such/page", 404}, {"/c/whitfield-dental/no-such-page/", 404}} {
		for _, enc := range []string{"br", "gzip"} {
			r := f.do(c, "GET", tt.path, nil, "Accept-Encoding", enc)
			if r.StatusCode != tt.status || r.Header.Get("Content-Encoding") != enc || !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("GET %s with Accept-Encoding %s = %d, Content-Encoding %q, Vary %q, Content-Type %q; want %d, %s", tt.path, enc, r.StatusCode,
					r.Header.Get("Content-Encoding"), r.Header.Get("Vary"), r.Header.Get("Content-Type"), tt.status, enc)
			}
			if enc != "gzip" {
				continue
			}
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("GET %s: %v", tt.path, err)
				continue
			}
			if b, err := io.ReadAll(zr); err != nil || !strings.Contains(string(b), "</html>") {
				t.Errorf("GET %s: the gzip body is %.80q, %v; want the page", tt.path, b, err)
			}
		}
	}
	r := f.do(c, "GET", "/c/whitfield-dental/", nil)
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "form-action 'self' https://checkout.stripe.com", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
		t.Errorf("security headers missing: %v", h)
	}
	// Public assets are public and immutable.
	css := regexpFind(readBody(t, f.do(f.client(), "GET", "/", nil)), `/assets/style\.[0-9a-f]+\.css`)
	if r := f.do(f.client(), "GET", css, nil); r.StatusCode != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s = %d %q", css, r.StatusCode, r.Header.Get("Cache-Control"))
	}
	// Documents download from the bundle.
	if r := f.do(c, "GET", "/c/whitfield-dental/portals/", nil); r.StatusCode != 200 {
		t.Errorf("portals page = %d", r.StatusCode)
	}
}

func regexpFind(s, re string) string { return regexp.MustCompile(re).FindString(s) }

func TestNotFoundAndMethods(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, p := range []string{"/nope", "/c/", "/assets/nope.css", "/login/t/", "/.env", "/public.d/state.gob"} {
		if r := f.do(f.client(), "GET", p, nil); r.StatusCode != 404 && r.StatusCode != 301 && r.StatusCode != 303 {
			t.Errorf("GET %s = %d; want 404", p, r.StatusCode)
		}
	}
	if r := f.do(f.client(), "GET", "/login", nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /login = %d; want 405", r.StatusCode)
	}
	if r := f.do(f.client(), "PUT", "/", nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT / = %d; want 405", r.StatusCode)
	}
}

func TestCrossOriginAndBodyLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		if r := f.do(c, "POST", "/logout/all", url.Values{}, h...); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST (%s) = %d; want 403", h[0], r.StatusCode)
		}
	}
	if f.do(c, "GET", "/c/okafor-residence/", nil).StatusCode != 200 {
		t.Error("a refused cross-origin post still signed the client out")
	}
	big := url.Values{"email": {strings.Repeat("a", 64<<10) + "@x.example"}}
	if r := f.do(f.client(), "POST", "/login", big); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("64 KB login form = %d; want 413", r.StatusCode)
	}
}

func TestDelegate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	msgs := f.messages()
	link, err := msgs.DelegateLink(context.Background(), f.srv.Build(), "whitfield-dental", "Sam (office)")
	if err != nil {
		t.Fatal(err)
	}
	c := f.client()
	r := f.do(c, "POST", mustURL(link).Path, url.Values{})
	if r.Header.Get("Location") != "/c/whitfield-dental/" {
		t.Fatalf("delegate link = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	body := readBody(t, f.do(c, "GET", "/c/whitfield-dental/invoices/", nil))
	if !strings.Contains(body, "delegate-banner") || !strings.Contains(body, "Viewing as") || !strings.Contains(body, "Sam (office)") {
		t.Errorf("delegate page has no viewing-as banner:\n%.400s", body)
	}
	if r := f.do(c, "POST", "/logout/all", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("delegate POST /logout/all = %d; want 403", r.StatusCode)
	}
	ds, err := f.store.Delegations(context.Background(), 10)
	if err != nil || len(ds) != 1 || ds[0].Staff != "Sam (office)" || ds[0].ClientID != "whitfield-dental" {
		t.Errorf("delegations = %+v, %v; want the one login recorded with the staff identity", ds, err)
	}
	if _, err := msgs.DelegateLink(context.Background(), f.srv.Build(), "whitfield-dental", ""); err == nil {
		t.Error("a delegate link without a staff identity was made")
	}
}

func TestChooseHub(t *testing.T) {
	t.Parallel()
	shared := "pat@both.example"
	f := newFixture(t, func(content string) {
		for _, id := range []string{"okafor-residence", "lindqvist"} {
			p := filepath.Join(content, "clients", id, "client.yaml")
			b, _ := os.ReadFile(p)
			s := strings.Replace(string(b), "contacts:\n", "contacts:\n  - name: Pat Both\n    email: "+shared+"\n", 1)
			os.WriteFile(p, []byte(s), 0o644)
		}
	})
	c := f.client()
	f.do(c, "POST", "/login", url.Values{"email": {shared}})
	link, _ := f.awaitLink()
	r := f.do(c, "POST", link, url.Values{})
	if r.Header.Get("Location") != "/login/choose" {
		t.Fatalf("login of a contact of two clients went to %q; want /login/choose", r.Header.Get("Location"))
	}
	body := readBody(t, f.do(c, "GET", "/login/choose", nil))
	if !strings.Contains(body, `value="okafor-residence"`) || !strings.Contains(body, `value="lindqvist"`) {
		t.Fatalf("choose page does not offer both hubs:\n%s", body)
	}
	if r := f.do(c, "POST", "/login/choose", url.Values{"client": {"whitfield-dental"}}); r.Header.Get("Location") != "/login/invalid/" {
		t.Errorf("choosing a hub not offered went to %q", r.Header.Get("Location"))
	}
	r = f.do(c, "POST", "/login/choose", url.Values{"client": {"lindqvist"}})
	if r.Header.Get("Location") != "/c/lindqvist/" {
		t.Fatalf("choosing lindqvist went to %q", r.Header.Get("Location"))
	}
	if f.do(c, "GET", "/c/lindqvist/", nil).StatusCode != 200 {
		t.Error("chosen hub does not open")
	}
}

func TestTamperedBundleAndReload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := f.login("okafor-residence")
	b := f.login("whitfield-dental")
	// A file changed on disk after the build is never served.
	dir, _ := filepath.EvalSymlinks(filepath.Join(f.out, "c", "okafor-residence"))
	page := filepath.Join(dir, "invoices", "index.html")
	os.WriteFile(page, []byte("<h1>Pay to account 666</h1>"), 0o644)
	os.Remove(page + ".br")
	os.Remove(page + ".gz")
	r := f.do(a, "GET", "/c/okafor-residence/invoices/", nil)
	if body := readBody(t, r); r.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "666") {
		t.Errorf("tampered page = %d; want 503 and not its content", r.StatusCode)
	}
	// A bundle whose manifest fails to verify when a build is loaded: 503
	// for that client only, logged; the others keep working.
	os.WriteFile(filepath.Join(dir, "manifest.sig"), []byte("AAAA\n"), 0o644)
	f.start()
	a, b = f.login("okafor-residence"), f.login("whitfield-dental")
	if r := f.do(a, "GET", "/c/okafor-residence/", nil); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("client with a bad bundle = %d; want 503", r.StatusCode)
	}
	if r := f.do(b, "GET", "/c/whitfield-dental/", nil); r.StatusCode != 200 {
		t.Errorf("another client = %d; want 200", r.StatusCode)
	}
	if !strings.Contains(f.logs.String(), "bundle failed verification") {
		t.Error("a bundle that failed verification was not logged")
	}
	// Rebuild content with a change and make the edge pick it up without a restart.
	inv := filepath.Join(f.content, "clients", "whitfield-dental", "client.yaml")
	data, _ := os.ReadFile(inv)
	os.WriteFile(inv, []byte(strings.Replace(string(data), "company: ", "company: Dr. ", 1)), 0o644)
	f.rebuild()
	if err := f.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := f.do(b, "GET", "/c/whitfield-dental/", nil); r.StatusCode != 200 || !strings.Contains(readBody(t, r), "Dr. ") {
		t.Errorf("after a rebuild, the edge does not serve the new page (%d)", r.StatusCode)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// openFDs counts the process's open file descriptors (Linux), or -1.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// TestLargePublicPage: a public page over the edge's in-memory limit
// (256 KiB; here the 404 page, made large by a site override) is served
// whole from disk, and its file is closed after each answer.
func TestLargePublicPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(content string) {
		big := strings.Repeat("<p>We looked everywhere for that page, in every folder and drawer.</p>\n", 5000)
		page := "{{define \"main\"}}<h1>Page not found</h1>\n" + big + "{{end}}\n"
		if err := os.MkdirAll(filepath.Join(content, "themes"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(content, "themes", "404.html"), []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	c := f.client()
	get := func() (int, string) {
		r := f.do(c, "GET", "/no-such-page", nil)
		body := readBody(t, r)
		r.Body.Close()
		return r.StatusCode, body
	}
	get() // opens the connection kept alive below, and caches what can be cached
	before := openFDs(t)
	const n = 50
	codes, sizes := map[int]int{}, map[int]int{}
	var body string
	for range n {
		code, b := get()
		codes[code]++
		sizes[len(b)]++
		body = b
	}
	after := openFDs(t)
	if codes[http.StatusNotFound] != n || len(sizes) != 1 || len(body) <= 256<<10 || !strings.Contains(body, "Page not found") || !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
		t.Errorf("large 404 page: statuses %v, sizes %v; want 404 and the whole page (over 256 KiB) every time", codes, sizes)
	}
	if before < 0 {
		t.Skip("cannot count open files here (no /proc/self/fd)")
	}
	if after-before >= n/2 {
		t.Errorf("open files went from %d to %d over %d answers of the large page; the page's file is not closed", before, after, n)
	}
}

// TestDispositionAnySize: every PDF is sent with the same headers whether
// it is small (served from memory) or large (from disk): an attachment, as
// the pages' "Download PDF" links ask.
func TestDispositionAnySize(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(content string) {
		big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0123456789abcdef"), 20<<10)...) // 320 KiB
		if err := os.WriteFile(filepath.Join(content, "clients", "okafor-residence", "portals", "rain-garden", "documents", "Plans", "site-survey.pdf"), big, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	c := f.login("okafor-residence")
	portal := readBody(t, f.do(c, "GET", "/c/okafor-residence/portals/rain-garden/", nil))
	large := regexpFind(portal, `/c/okafor-residence/[^"]*site-survey\.pdf`)
	small := regexpFind(portal, `/c/okafor-residence/[^"]*rain-garden-section\.pdf`)
	if large == "" || small == "" {
		t.Fatalf("the portal page links no site-survey.pdf (%q) or rain-garden-section.pdf (%q)", large, small)
	}
	header := func(path string, size func(int) bool) http.Header {
		t.Helper()
		r := f.do(c, "GET", path, nil)
		body := readBody(t, r)
		if r.StatusCode != 200 || !size(len(body)) {
			t.Fatalf("GET %s = %d, %d bytes", path, r.StatusCode, len(body))
		}
		h := r.Header.Clone()
		for _, k := range []string{"Content-Length", "Etag", "Date"} {
			h.Del(k)
		}
		return h
	}
	want := header(large, func(n int) bool { return n > 256<<10 })
	if got := want.Get("Content-Disposition"); got != "attachment" {
		t.Errorf("large PDF: Content-Disposition %q; want attachment", got)
	}
	for _, p := range []string{small, "/c/okafor-residence/quotes/Q-1002/Q-1002.pdf"} {
		got := header(p, func(n int) bool { return n < 256<<10 })
		if !reflect.DeepEqual(got, want) {
			t.Errorf("headers of the small PDF %s:\n%v\nwant those of the large one:\n%v", p, got, want)
		}
	}
}

// TestDirectoryReload: after one client changed, the edge reads only the
// entry appended to the directory's log, and refuses it if it is not the
// one the root signs (the build served stays); restored, it is served, and
// the lookups by email and document see the new entry. A tampered entry is
// refused by a full load too.
func TestDirectoryReload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.login("whitfield-dental")
	keys, err := bundle.LoadKeySet(f.keysDir)
	if err != nil {
		t.Fatal(err)
	}
	site, _ := filepath.EvalSymlinks(f.out)
	genDir := filepath.Dir(site)
	before, err := bundle.ReadDirRoot(genDir, keys)
	if err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(f.content, "clients", "whitfield-dental", "client.yaml")
	data, _ := os.ReadFile(inv)
	os.WriteFile(inv, []byte(strings.Replace(string(data), "company: ", "company: Dr. ", 1)), 0o644)
	f.rebuild()
	after, err := bundle.ReadDirRoot(genDir, keys)
	if err != nil || after.Log != before.Log || after.Lines != before.Lines+1 {
		t.Fatalf("root after one client changed = %+v, %v; want one line appended to %s", after, err, before.Log)
	}
	logFile := filepath.Join(genDir, after.Log)
	logData, _ := os.ReadFile(logFile)
	tail := logData[before.Size:after.Size]
	if !bytes.Contains(tail, []byte("Dr. ")) {
		t.Fatalf("appended entry %s does not have the change", tail)
	}
	// Tampered: the reload fails and the old build keeps being served.
	evil := slices.Clone(logData)
	copy(evil[before.Size:], bytes.Replace(tail, []byte("Dr. "), []byte("Xr. "), 1))
	os.WriteFile(logFile, evil, 0o600)
	if err := f.srv.Reload(); err == nil || !errors.Is(err, bundle.ErrSignature) {
		t.Errorf("Reload with a tampered entry = %v; want ErrSignature", err)
	}
	if c, _ := f.srv.Build().Client("whitfield-dental"); strings.Contains(c.Name+c.DisplayName, "r. ") {
		t.Errorf("after a refused reload the client is %q / %q", c.Name, c.DisplayName)
	}
	if _, err := edge.LoadBuild(f.out, keys, nil); !errors.Is(err, bundle.ErrSignature) {
		t.Errorf("LoadBuild with a tampered entry = %v; want ErrSignature", err)
	}
	os.WriteFile(logFile, logData, 0o600)
	old := f.srv.Build()
	if err := f.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	nb := f.srv.Build()
	if c, _ := nb.Client("whitfield-dental"); !strings.Contains(c.Name+c.DisplayName, "Dr. ") {
		t.Errorf("after the reload the client is %q / %q", c.Name, c.DisplayName)
	}
	if r := f.do(b, "GET", "/c/whitfield-dental/", nil); r.StatusCode != 200 || !strings.Contains(readBody(t, r), "Dr. ") {
		t.Errorf("after the reload, the edge does not serve the new page (%d)", r.StatusCode)
	}
	// The lookups answer as a full load does.
	full, err := edge.LoadBuild(f.out, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range full.Clients() {
		for _, ct := range c.Contacts {
			if got, want := nb.ClientsOf(ct.Email), full.ClientsOf(ct.Email); !slices.Equal(got, want) {
				t.Errorf("ClientsOf(%q) = %q; want %q", ct.Email, got, want)
			}
		}
		for _, d := range c.Documents {
			find := nb.Document
			if d.Kind == "subscription" {
				find = nb.Subscription
			}
			if id, doc, ok := find(d.Number); !ok || id != c.ID || doc.Path != d.Path {
				t.Errorf("%s %s = %s %+v %v; want %s", d.Kind, d.Number, id, doc, ok, c.ID)
			}
		}
	}
	if nb.NumClients() != old.NumClients() || len(nb.Clients()) != len(full.Clients()) {
		t.Errorf("clients: %d after the reload, %d before, %d loaded in full", nb.NumClients(), old.NumClients(), len(full.Clients()))
	}
	// IDs lists the same clients as Clients, in the same order, and Client
	// finds each one, the changed client's new entry included.
	var ids []string
	for _, c := range full.Clients() {
		ids = append(ids, c.ID)
	}
	if got := nb.IDs(); !slices.Equal(got, ids) {
		t.Errorf("IDs() = %q; want %q", got, ids)
	}
	for _, id := range nb.IDs() {
		c, ok := nb.Client(id)
		want, wok := full.Client(id)
		if !ok || !wok || c.Bundle != want.Bundle {
			t.Errorf("Client(%q) after the reload: %v, %v; want the bundle a full load reads (%v)", id, c, ok, want)
		}
	}
}
