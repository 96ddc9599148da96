package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func clientID(i int) string { return fmt.Sprintf("client-%05d", i) }

// Generate writes a synthetic content folder of n clients, each with a
// project portal (notes, an update, a document), 3 quotes and 5 invoices
// in a spread of statuses.
func Generate(dir string, n int) error {
	write := func(p, s string) error {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(s), 0o644)
	}
	if err := write(filepath.Join(dir, "site.yaml"), siteYAML); err != nil {
		return err
	}
	quoteStatus := []string{"awaiting_response", "approved", "draft"}
	invStatus := []string{"awaiting_payment", "awaiting_payment", "paid", "awaiting_payment", "draft"}
	for i := 0; i < n; i++ {
		id := clientID(i)
		cdir := filepath.Join(dir, "clients", id)
		if err := write(filepath.Join(cdir, "client.yaml"), fmt.Sprintf(clientYAML, i, i, i, i)); err != nil {
			return err
		}
		for q := 0; q < 3; q++ {
			s := fmt.Sprintf(quoteYAML, i, q, quoteStatus[q], 10+q, 1+q, 120+q)
			if err := write(filepath.Join(cdir, "quotes", fmt.Sprintf("Q-%d-%d.yaml", i, q)), s); err != nil {
				return err
			}
		}
		for v := 0; v < 5; v++ {
			due := fmt.Sprintf("2026-%02d-15", 8+v)
			pay := ""
			if invStatus[v] == "paid" {
				pay = "payments:\n  - date: 2026-10-01\n    amount: 500.00\n    method: check\n"
			} else if v == 1 {
				pay = "payments:\n  - date: 2026-10-01\n    amount: 100.00\n    method: card\n    reference: \"4242\"\n"
			}
			s := fmt.Sprintf(invoiceYAML, i, v, invStatus[v], due, pay)
			if err := write(filepath.Join(cdir, "invoices", fmt.Sprintf("INV-%d-%d.yaml", i, v)), s); err != nil {
				return err
			}
		}
		pdir := filepath.Join(cdir, "portals", "project")
		if err := write(filepath.Join(pdir, "portal.md"), portalMD); err != nil {
			return err
		}
		if err := write(filepath.Join(pdir, "updates", "2026-10-01-start.md"), updateMD); err != nil {
			return err
		}
		if err := write(filepath.Join(pdir, "documents", "Plans", "scope.txt"), strings.Repeat("Scope of work. ", 40)); err != nil {
			return err
		}
	}
	return nil
}

const siteYAML = `name: Benchmark Services
email: office@bench.example
phone: "+1 503 555 0100"
website: https://bench.example
color: "#2f6f4e"
currency: USD
locale: en-US
timezone: America/Los_Angeles
landing: |
  Welcome to our **client hub**.
taxes:
  - id: sales
    name: Sales tax
    rate: 8.5
address:
  street: 1 Main St
  city: Portland
  region: OR
  postal_code: "97201"
`

const clientYAML = `name: Client %d
company: Company %d LLC
contacts:
  - name: Contact %d
    email: contact%d@bench.example
billing_address:
  street: 12 Elm Street
  city: Portland
  region: OR
  postal_code: "97201"
`

const quoteYAML = `number: Q-%d-%d
title: Garden work
status: %s
issued: 2026-10-%02d
valid_until: 2026-12-31
tax: sales
lines:
  - name: Design consultation
    description: |
      Site visit and **planting plan**.
    quantity: %d
    unit: hours
    unit_price: 95.00
  - name: Plants and materials
    quantity: 1
    unit_price: %d.50
  - name: Optional lighting
    optional: true
    unit_price: 300.00
discounts:
  - description: Returning client
    percent: 5
deposit:
  percent: 25
notes: |
  Thank you for the opportunity.
`

const invoiceYAML = `number: INV-%d-%d
subject: Monthly maintenance
status: %s
issued: 2026-07-01
due: %s
tax: sales
lines:
  - name: Maintenance visits
    quantity: 4
    unit_price: 120.00
  - name: Green waste disposal
    unit_price: 45.00
    tax: none
%s`

const portalMD = `---
title: Backyard project
summary: Plans, schedule and updates.
links:
  - title: Plant list
    url: https://bench.example/plants
---
Notes about the project, with **Markdown**.

- Phase one: clearing
- Phase two: planting
`

const updateMD = `---
title: Work started
date: 2026-10-01
---
We started clearing the site today.
`
