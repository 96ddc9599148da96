package edge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/hubhq/hub/edge"
)

// auth asks GET /_hub/auth about uri with c's cookies.
func (f *fixture) auth(c *http.Client, uri string) *http.Response {
	f.t.Helper()
	return f.do(c, "GET", "/_hub/auth", nil, edge.AuthURIHeader, uri)
}

func TestAuthRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := f.login("whitfield-dental")
	anon := f.client()
	for _, tc := range []struct {
		c    *http.Client
		uri  string
		want int
	}{
		{a, "/c/whitfield-dental/", http.StatusNoContent},
		{a, "/c/whitfield-dental/invoices/INV-2001/?x=1", http.StatusNoContent},
		{a, "/c/whitfield-dental", http.StatusNoContent},
		{a, "/c/whitfield-dental/assets/x.css", http.StatusNoContent},
		{a, "/c/hawthorne-bistro/", http.StatusForbidden},  // another client
		{a, "/c/whitfield-dentalx/", http.StatusForbidden}, // a prefix is not the client
		{a, "/c/whitfield-dental/../hawthorne-bistro/", http.StatusForbidden},
		{a, "/c/whitfield-dental/%2e%2e/hawthorne-bistro/", http.StatusForbidden},
		{a, "/c/whitfield-dental/..%2fhawthorne-bistro/", http.StatusForbidden},
		{a, "/c/whitfield-dental/a%5cb", http.StatusForbidden},
		{a, "/c/whitfield-dental/.hidden", http.StatusForbidden},
		{a, "/c/whitfield-dental/manifest.json/../x", http.StatusForbidden},
		{a, "/c/whitfield-dental//x", http.StatusForbidden},
		{a, "/assets/style.css", http.StatusForbidden}, // not a bundle: never asked
		{a, "", http.StatusForbidden},
		{a, "http://evil/c/whitfield-dental/", http.StatusForbidden},
		{anon, "/c/whitfield-dental/", http.StatusUnauthorized},
		{anon, "/c/hawthorne-bistro/", http.StatusUnauthorized},
	} {
		r := f.auth(tc.c, tc.uri)
		if r.StatusCode != tc.want {
			t.Errorf("GET /_hub/auth %s=%q = %d; want %d", edge.AuthURIHeader, tc.uri, r.StatusCode, tc.want)
		}
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET /_hub/auth %q headers = %v; want no-store and the CSP", tc.uri, r.Header)
		}
	}

	// A 204 names the blob of the file, or of the sidecar the client takes.
	for _, tc := range []struct{ uri, accept, want string }{
		// A client's small pages have no .br (generator: bundleBrotliMin).
		{"/c/whitfield-dental/", "br, gzip", `^[0-9a-f]{64}\.html\.gz$`},
		{"/c/whitfield-dental/invoices/", "gzip", `^[0-9a-f]{64}\.html\.gz$`},
		{"/c/whitfield-dental/", "identity", `^[0-9a-f]{64}\.html$`},
		{"/c/whitfield-dental/nothing-here.html", "gzip", `^$`},
	} {
		r := f.do(a, "GET", "/_hub/auth", nil, edge.AuthURIHeader, tc.uri, "Accept-Encoding", tc.accept)
		if got := r.Header.Get(edge.AuthBlobHeader); r.StatusCode != http.StatusNoContent || !regexp.MustCompile(tc.want).MatchString(got) {
			t.Errorf("auth %q (Accept-Encoding %q) = %d, %s %q; want 204 and %s", tc.uri, tc.accept, r.StatusCode, edge.AuthBlobHeader, got, tc.want)
		}
	}

	// A forged cookie is 401.
	forged := f.client()
	u, _ := url.Parse(f.url)
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "hub_session", Value: "eyJhbGciOiJub25lIn0.e30."}})
	if r := f.auth(forged, "/c/whitfield-dental/"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("auth with a forged cookie = %d; want 401", r.StatusCode)
	}

	// Logout takes effect at once on this edge.
	if r := f.do(a, "POST", "/logout", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /logout = %d", r.StatusCode)
	}
	if r := f.auth(a, "/c/whitfield-dental/"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("auth after logout = %d; want 401", r.StatusCode)
	}
}

func TestAuthDelegateGoesToEdge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.delegate("whitfield-dental", "Sam (office)")
	// 401: the cache hands the request to the edge, which adds the banner.
	if r := f.auth(c, "/c/whitfield-dental/"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("auth for a delegate = %d; want 401 (served by the edge, with its banner)", r.StatusCode)
	}
}

// delegate signs a new browser in as a staff delegate of client.
func (f *fixture) delegate(client, staff string) *http.Client {
	f.t.Helper()
	msgs := f.messages()
	link, err := msgs.DelegateLink(context.Background(), f.srv.Build(), client, staff)
	if err != nil {
		f.t.Fatal(err)
	}
	c := f.client()
	if r := f.do(c, "POST", mustURL(link).Path, url.Values{}); r.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("delegate link = %d", r.StatusCode)
	}
	return c
}

// BenchmarkAuth is the edge's auth decision alone (no network): a signed-in
// cookie asking about a page of its own hub.
func BenchmarkAuth(b *testing.B) {
	f := newFixture(b, nil)
	c := f.login("whitfield-dental")
	u, _ := url.Parse(f.url)
	req := httptest.NewRequest("GET", "/_hub/auth", nil)
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	req.Header.Set(edge.AuthURIHeader, "/c/whitfield-dental/invoices/INV-2001/")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		if w.Code != http.StatusNoContent {
			b.Fatalf("auth = %d", w.Code)
		}
	}
}
