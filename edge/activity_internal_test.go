package edge

import (
	"testing"
	"time"
)

func TestDocPath(t *testing.T) {
	for _, tt := range []struct {
		p, doc string
		ok     bool
	}{
		{"quotes/Q-1/index.html", "quotes/Q-1/", true},
		{"invoices/INV-1/index.html", "invoices/INV-1/", true},
		{"invoices/INV-1/INV-1.pdf", "invoices/INV-1/INV-1.pdf", true},
		{"receipts/INV-1-P1/index.html", "receipts/INV-1-P1/", true},
		{"subscriptions/S-1/index.html", "subscriptions/S-1/", true},
		{"portals/kitchen/index.html", "portals/kitchen/", true},
		{"statement/index.html", "statement/", true},
		{"portals/kitchen/files/docs/plan.pdf", "portals/kitchen/files/docs/plan.pdf", true},
		{"index.html", "", false},
		{"quotes/index.html", "", false},
		{"quotes/Q-1/signature.png", "", false},
		{"portals/kitchen/files/cover/a.jpg", "", false},
		{"quotes/Q-1/x/index.html", "", false},
	} {
		doc, ok := docPath(tt.p)
		if doc != tt.doc || ok != tt.ok {
			t.Errorf("docPath(%q) = %q, %v; want %q, %v", tt.p, doc, ok, tt.doc, tt.ok)
		}
	}
}

// BenchmarkCountView is what serving a document page pays to record the
// view (the store write happens later, in a batch).
func BenchmarkCountView(b *testing.B) {
	var vc viewCounter
	c := &Claims{Client: "acme"}
	c.Subject = "ada@acme.example"
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		vc.add(c, "quotes/Q-1/index.html", now)
	}
}
