package edge_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkServePage serves a client's pages from the handler (no network):
// a quote's page, whose view is counted (viewCounter.add: BenchmarkCountView),
// beside the home page, which is no document and counts nothing. The
// difference is what recording views costs serving.
func BenchmarkServePage(b *testing.B) {
	f := newFixture(b, nil)
	c := f.login("okafor-residence")
	u, _ := url.Parse(f.url)
	cookies := c.Jar.Cookies(u)
	for _, bm := range []struct{ name, path string }{
		{"quote page, view counted", "/c/okafor-residence/quotes/Q-1002/"},
		{"home page, no view", "/c/okafor-residence/"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bm.path, nil)
			req.Header.Set("Accept-Encoding", "br, gzip")
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				f.srv.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", bm.path, w.Code)
				}
			}
		})
	}
}
