package site_test

import (
	"fmt"
	"testing"
)

func TestZZScratch(t *testing.T) {
	for _, files := range []map[string]string{
		{"site.yaml": "name: Maple\n---\nphone: [\n"},
		{"site.yaml": "name: Maple\n# c\n--- # x\nphone: [\n"},
		{"site.yaml": "name: Maple\n...\nphone: [\n"},
		{"site.yaml": "name: Maple\n---\n"},
		{"site.yaml": "name: Maple\nlogo: images/logo..v2.png\n", "images/logo..v2.png": "x"},
		{"site.yaml": "name: Maple\nlogo: images/../../x.png\n"},
		{"clients/acme/quotes/q-1.yaml": validQuote + "discounts: 5\nterms: {a: 1}\nnumber: Q-2\n", "clients/acme/client.yaml": "name: Ana\ncontacts: ana@example.com\n"},
		{"clients/acme/quotes/q-1.yaml": "number: [\n", "clients/acme/invoices/i-1.yaml": validInvoice + "quote: Q-1\n"},
		{"clients/acme/invoices/i-1.yaml": validInvoice + "quote: q-1\n"},
		{"clients/acme/invoices/i-1.yaml": validInvoice + `payments:
  - date: 2026-11-02
    amount: 50000000000000000.00
    method: cash
  - date: 2026-11-03
    amount: 50000000000000000.00
    method: card
`},
		{"clients/acme/portals/kitchen/portal.md": validPortal, "clients/acme/portals/kitchen/documents": "x"},
		{"clients/acme/portals/kitchen/portal.md": validPortal + "---\n", "clients/Caf\u00e9 Été/client.yaml": "x", "clients/__/client.yaml": "x"},
	} {
		_, _, ps := loadSite(t, files)
		fmt.Println("----")
		for _, p := range ps {
			fmt.Println(p.Line, p.Col, p.Msg, "|", p.File[len(p.File)-20:])
		}
	}
}
