package generator

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/themes"
)

// TestDocumentHistory: a document's page shows its history (sent, each
// contact's first view, approved, paid) in the order it happened, and the
// directory carries the same line for staff; a new first view rebuilds the
// client's pages but renders no PDF again and changes none.
func TestDocumentHistory(t *testing.T) {
	at := func(day, h int) time.Time { return time.Date(2026, 11, day, h, 0, 0, 0, time.UTC) }
	dana, marcus, ngozi := "dana@whitfield-dental.example", "marcus.lee@whitfield-dental.example", "ngozi.okafor@example.com"
	src := &factsSource{version: 1, facts: map[string]*events.Facts{
		"whitfield-dental": {
			Sends: []events.Send{
				{Doc: "invoice/INV-2005", Email: dana, At: at(1, 9)},
				{Doc: "invoice/INV-2005", Email: marcus, At: at(1, 9)},
				{Doc: "invoice/INV-2005", Email: dana, At: at(8, 9)}, // a reminder: still sent Nov 1
			},
			Views: []events.FirstView{
				{Doc: "invoice/INV-2005", Email: marcus, At: at(3, 17)},
				{Doc: "receipt/INV-2005-1", Email: dana, At: at(12, 8)},
				{Doc: "invoice/INV-2005", Email: "gone@whitfield-dental.example", At: at(4, 8)}, // no longer a contact
			},
		},
		"okafor-residence": {
			Sends:     []events.Send{{Doc: "quote/Q-1002", Email: ngozi, At: at(16, 15)}},
			Views:     []events.FirstView{{Doc: "quote/q-1002", Email: ngozi, At: at(17, 20)}},
			Approvals: []events.Approval{{Quote: "Q-1002", Name: "Ngozi Okafor", Email: ngozi, At: at(18, 10)}},
		},
	}}
	e := newEnv(t, sample)
	build := func() *Result {
		t.Helper()
		res, err := Build(context.Background(), Options{Content: e.content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow, Events: src})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		return res
	}
	build()
	page := func(p string) string {
		t.Helper()
		return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(string(outputFiles(t, e.out)["c/"+p]), " ")), " ")
	}
	for _, tt := range []struct{ page, want string }{
		{"whitfield-dental/invoices/INV-2005/index.html", "History: Sent Nov 1 · Viewed by Marcus Nov 3 · Viewed by gone@whitfield-dental.example Nov 4 · Paid Nov 10"},
		{"whitfield-dental/receipts/INV-2005-1/index.html", "History: Viewed by Dana Nov 12"},
		{"okafor-residence/quotes/Q-1002/index.html", "History: Sent Nov 16 · Viewed by Ngozi Nov 17 · Approved Nov 18"},
	} {
		if got := page(tt.page); !strings.Contains(got, tt.want) {
			t.Errorf("%s does not show %q:\n%s", tt.page, tt.want, got)
		}
	}
	if got := page("whitfield-dental/invoices/INV-2001/index.html"); strings.Contains(got, "History:") {
		t.Errorf("INV-2001 (never sent, viewed or paid) shows a history:\n%s", got)
	}
	keys, err := bundle.LoadKeySet(e.keys)
	if err != nil {
		t.Fatal(err)
	}
	res := build()
	d, err := bundle.ReadDirectory(filepath.Join(OutputDirs(e.out).Gens, res.Generation), keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Clients {
		for _, doc := range c.Documents {
			if c.ID == "whitfield-dental" && doc.Number == "INV-2005" && doc.History != "Sent Nov 1 · Viewed by Marcus Nov 3 · Viewed by gone@whitfield-dental.example Nov 4 · Paid Nov 10" {
				t.Errorf("directory: INV-2005's history = %q", doc.History)
			}
		}
	}

	// Dana opens the invoice: a new first view (a new facts version).
	old := outputFiles(t, e.out)
	f := src.facts["whitfield-dental"]
	f.Views = append(f.Views, events.FirstView{Doc: "invoice/INV-2005", Email: dana, At: at(20, 9)})
	src.version = 2
	res = build()
	if res.PDFs != 0 {
		t.Errorf("the rebuild after a first view rendered %d PDFs (reused %d); want none: a view changes no PDF", res.PDFs, res.PDFsReused)
	}
	now := outputFiles(t, e.out)
	for name, data := range now {
		if strings.HasSuffix(name, ".pdf") && old[name] != nil && !bytes.Equal(data, old[name]) {
			t.Errorf("%s changed after a first view", name)
		}
	}
	if got := page("whitfield-dental/invoices/INV-2005/index.html"); !strings.Contains(got, "Paid Nov 10 · Viewed by Dana Nov 20") {
		t.Errorf("INV-2005 after Dana's view:\n%s", got)
	}
}
