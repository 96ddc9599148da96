package edge_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/hubhq/hub/edge"
)

// BenchmarkServePage serves a client's pages from the handler (no network):
// a quote's page, whose view is counted (viewCounter.add: BenchmarkCountView),
// beside the home page, which is no document and counts nothing; and
// nginx's auth_request for each, which answer alike but for the counting.
func BenchmarkServePage(b *testing.B) {
	f := newFixture(b, nil)
	c := f.login("okafor-residence")
	u, _ := url.Parse(f.url)
	cookies := c.Jar.Cookies(u)
	for _, bm := range []struct{ name, path, uri string }{
		{"quote page, view counted", "/c/okafor-residence/quotes/Q-1002/", ""},
		{"home page, no view", "/c/okafor-residence/", ""},
		// nginx's auth_request: the same answer (204, no body) for both,
		// so the difference is the counting alone.
		{"auth of the quote, view counted", "/_hub/auth", "/c/okafor-residence/quotes/Q-1002/"},
		{"auth of the home page, no view", "/_hub/auth", "/c/okafor-residence/"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bm.path, nil)
			req.Header.Set("Accept-Encoding", "br, gzip")
			want := http.StatusOK
			if bm.uri != "" {
				req.Header.Set(edge.AuthURIHeader, bm.uri)
				want = http.StatusNoContent
			}
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				f.srv.ServeHTTP(w, req)
				if w.Code != want {
					b.Fatalf("GET %s = %d", bm.path, w.Code)
				}
			}
		})
	}
}
