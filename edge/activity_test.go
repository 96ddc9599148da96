package edge_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

// TestDocumentViews: a contact opening a quote (twice), an invoice's PDF
// and a portal is recorded per document, with first and last view and
// count, once the counted views are flushed, and so is a receipt nginx
// asked about; the home page, assets,
// another client's pages and a delegate's views are not recorded.
func TestDocumentViews(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("whitfield-dental")
	get := func(c *http.Client, p string, want int) {
		t.Helper()
		if r := f.do(c, "GET", p, nil); r.StatusCode != want {
			t.Fatalf("GET %s = %d; want %d", p, r.StatusCode, want)
		}
	}
	get(c, "/c/whitfield-dental/", 200)
	get(c, "/c/whitfield-dental/quotes/Q-1009/", 200)
	first := f.clock.Now()
	f.clock.Add(time.Hour)
	get(c, "/c/whitfield-dental/quotes/Q-1009/", 200)
	get(c, "/c/whitfield-dental/invoices/INV-2001/INV-2001.pdf", 200)
	get(c, "/c/whitfield-dental/portals/courtyard-renovation/", 200)
	get(c, "/c/okafor-residence/quotes/Q-1002/", 404)
	// Behind nginx the edge sees the view in /_hub/auth.
	if r := f.auth(c, "/c/whitfield-dental/receipts/INV-2001-1/"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("auth = %d", r.StatusCode)
	}
	d := f.delegate("whitfield-dental", "Sam (office)")
	get(d, "/c/whitfield-dental/invoices/INV-2001/", 200)
	if err := f.srv.FlushViews(context.Background()); err != nil {
		t.Fatal(err)
	}
	vs, err := f.store.Views(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]edge.View{}
	for _, v := range vs {
		got[v.Client+" "+v.Email+" "+v.Doc] = v
	}
	email := f.contactEmail("whitfield-dental")
	q := got["whitfield-dental "+email+" quotes/Q-1009/"]
	if q.Count != 2 || !q.First.Equal(first) || !q.Last.Equal(first.Add(time.Hour)) {
		t.Errorf("the quote's views = %+v; want 2, from %v to an hour later", q, first)
	}
	for _, doc := range []string{"invoices/INV-2001/INV-2001.pdf", "portals/courtyard-renovation/", "receipts/INV-2001-1/"} {
		if got["whitfield-dental "+email+" "+doc].Count != 1 {
			t.Errorf("%s: %+v; want one view", doc, got["whitfield-dental "+email+" "+doc])
		}
	}
	if len(vs) != 4 {
		t.Errorf("%d views recorded: %+v; want the quote, the PDF, the portal and the receipt only", len(vs), vs)
	}
	// The first views of the quote, the invoice and the receipt are facts
	// of the client (its pages show them); the portal's view is not.
	facts, err := f.store.Facts(context.Background(), "whitfield-dental")
	if err != nil {
		t.Fatal(err)
	}
	firsts := map[string]time.Time{}
	for _, v := range facts.Views {
		firsts[v.Doc+" "+v.Email] = v.At
	}
	want := map[string]time.Time{"quote/Q-1009 " + email: first, "invoice/INV-2001 " + email: first.Add(time.Hour), "receipt/INV-2001-1 " + email: first.Add(time.Hour)}
	if len(firsts) != len(want) {
		t.Errorf("first views = %v; want %v", firsts, want)
	}
	for k, at := range want {
		if !firsts[k].Equal(at) {
			t.Errorf("first view %s = %v; want %v", k, firsts[k], at)
		}
	}
	if vs, err := f.store.Versions(context.Background()); err != nil || vs["whitfield-dental"] == 0 {
		t.Errorf("Versions after the first views = %v, %v; want whitfield-dental's facts changed", vs, err)
	}
}
