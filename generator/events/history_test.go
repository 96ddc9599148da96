package events

import "testing"

func TestBundleDoc(t *testing.T) {
	for _, tt := range []struct {
		p, doc string
		ok     bool
	}{
		{"quotes/Q-1002/", "quote/Q-1002", true},
		{"quotes/Q-1002/Q-1002.pdf", "quote/Q-1002", true},
		{"quotes/Q-1002/approval-Q-1002.pdf", "quote/Q-1002", true},
		{"invoices/INV-2001/", "invoice/INV-2001", true},
		{"invoices/INV-2001/INV-2001.pdf", "invoice/INV-2001", true},
		{"receipts/INV-2001-P3/", "receipt/INV-2001-P3", true},
		{"subscriptions/SUB-1/", "", false},
		{"portals/kitchen/", "", false},
		{"statement/", "", false},
		{"quotes/", "", false},
		{"quotes//", "", false},
		{"quotes", "", false},
		{"", "", false},
	} {
		doc, ok := BundleDoc(tt.p)
		if doc != tt.doc || ok != tt.ok {
			t.Errorf("BundleDoc(%q) = %q, %v; want %q, %v", tt.p, doc, ok, tt.doc, tt.ok)
		}
	}
}
