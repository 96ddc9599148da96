package site_test

import (
	"testing"
	"time"

	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/site"
)

// sample loads the repository's sample content on the day the tests use.
func sample(t *testing.T) *site.Site {
	t.Helper()
	s, ps := site.Load("../../content", time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC))
	if len(ps) > 0 {
		t.Fatalf("sample content: %v", ps)
	}
	return s
}

func client(t *testing.T, s *site.Site, id string) *site.Client {
	t.Helper()
	for _, c := range s.Clients {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no client %s", id)
	return nil
}

func TestFold(t *testing.T) {
	at := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		client string
		facts  events.Facts
		check  func(t *testing.T, c *site.Client)
	}{{
		name: "paid and processing invoice payments", client: "okafor-residence",
		facts: events.Facts{Payments: []events.Payment{
			{ID: "a", Kind: events.ForInvoice, Document: "INV-2002", Amount: 10000, Currency: "USD", State: events.PaymentPaid, Settled: at},
			{ID: "b", Kind: events.ForInvoice, Document: "INV-2002", Amount: 5000, Currency: "USD", State: events.PaymentProcessing},
			{ID: "c", Kind: events.ForInvoice, Document: "INV-2002", Amount: 7000, Currency: "USD", State: events.PaymentFailed},
			{ID: "d", Kind: events.ForInvoice, Document: "INV-2002", Amount: 7000, Currency: "EUR", State: events.PaymentPaid},
		}},
		check: func(t *testing.T, c *site.Client) {
			inv := c.Invoices[0]
			if inv.Paid != 10000 || inv.Processing != 5000 || inv.Balance != inv.Totals.Total-10000 || len(inv.Online) != 2 {
				t.Errorf("paid %d processing %d balance %d (total %d) online %d; want only the settled USD payment taken off",
					inv.Paid, inv.Processing, inv.Balance, inv.Totals.Total, len(inv.Online))
			}
		},
	}, {
		name: "paid in full online", client: "okafor-residence",
		facts: events.Facts{Payments: []events.Payment{{ID: "a", Kind: events.ForInvoice, Document: "inv-2002", Amount: 48915, Currency: "USD", State: events.PaymentPaid}}},
		check: func(t *testing.T, c *site.Client) {
			if inv := c.Invoices[0]; inv.State != site.InvoicePaid || inv.Balance != 0 {
				t.Errorf("state %s balance %d; want paid, 0", inv.State, inv.Balance)
			}
		},
	}, {
		name: "approval with chosen options", client: "okafor-residence",
		facts: events.Facts{Approvals: []events.Approval{{Quote: "Q-1002", Options: []int{4}, Name: "Grace", At: at}}},
		check: func(t *testing.T, c *site.Client) {
			q := quote(t, c, "Q-1002")
			if q.Status != site.QuoteApproved || q.Totals.Total != 625371 || q.DepositDue != 187611 || q.Approval == nil {
				t.Errorf("status %s total %d deposit %d; want approved, 625371, 187611", q.Status, q.Totals.Total, q.DepositDue)
			}
		},
	}, {
		name: "change request on the version shown", client: "okafor-residence",
		facts: events.Facts{Changes: []events.ChangeRequest{{Quote: "Q-1002", Version: "VERSION", Message: "cheaper?", At: at}}},
		check: func(t *testing.T, c *site.Client) {
			if q := quote(t, c, "Q-1002"); q.Status != site.QuoteChangesRequested || len(q.Changes) != 1 {
				t.Errorf("status %s changes %d; want changes_requested", q.Status, len(q.Changes))
			}
		},
	}, {
		name: "change request on an older version", client: "okafor-residence",
		facts: events.Facts{Changes: []events.ChangeRequest{{Quote: "Q-1002", Version: "old", Message: "cheaper?", At: at}}},
		check: func(t *testing.T, c *site.Client) {
			if q := quote(t, c, "Q-1002"); q.Status != site.QuoteAwaitingResponse || len(q.Changes) != 1 {
				t.Errorf("status %s; want awaiting_response again, with the history", q.Status)
			}
		},
	}, {
		name: "a written status that goes further wins", client: "whitfield-dental",
		facts: events.Facts{Approvals: []events.Approval{{Quote: "Q-1001", Name: "Dana", At: at}}},
		check: func(t *testing.T, c *site.Client) {
			if q := quote(t, c, "Q-1001"); q.Status != site.QuoteConverted {
				t.Errorf("status %s; want converted kept", q.Status)
			}
		},
	}, {
		name: "deposit counts on the quote and on its invoice", client: "whitfield-dental",
		facts: events.Facts{Payments: []events.Payment{{ID: "a", Kind: events.ForDeposit, Document: "Q-1001", Amount: 20000, Currency: "USD", State: events.PaymentPaid}}},
		check: func(t *testing.T, c *site.Client) {
			q := quote(t, c, "Q-1001")
			var inv *site.Invoice
			for _, i := range c.Invoices {
				if i.Quote == "Q-1001" {
					inv = i
				}
			}
			if q.DepositPaid != 20000 || inv == nil || len(inv.Online) != 1 {
				t.Errorf("deposit paid %d, invoice online payments %v", q.DepositPaid, inv)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sample(t)
			c := client(t, s, tc.client)
			for i := range tc.facts.Changes {
				if tc.facts.Changes[i].Version == "VERSION" {
					tc.facts.Changes[i].Version = quote(t, c, tc.facts.Changes[i].Quote).Version
				}
			}
			site.Fold(&s.Config, c, &tc.facts, today)
			tc.check(t, c)
		})
	}
}

func quote(t *testing.T, c *site.Client, n string) *site.Quote {
	t.Helper()
	for _, q := range c.Quotes {
		if q.Number == n {
			return q
		}
	}
	t.Fatalf("no quote %s", n)
	return nil
}

// TestFoldSubscription: a subscription started online gets its billing
// and its periods' payments (paid and failed, not processing), keeps
// Stripe's schedule from the day it started (in the site's time zone),
// never gives a period already paid as its next charge, and has no next
// charge once cancelled.
func TestFoldSubscription(t *testing.T) {
	s := sample(t)
	c := client(t, s, "whitfield-dental")
	started := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC) // Dec 1 in Portland
	f := &events.Facts{
		Subscriptions: []events.Subscription{{Number: "sub-3001", State: events.BillingActive, Started: started, StateAt: started}},
		Payments: []events.Payment{
			{ID: "in_1", Kind: events.ForSubscription, Document: "SUB-3001", Amount: 78500, Currency: "USD", State: events.PaymentPaid, Period: started},
			{ID: "in_2", Kind: events.ForSubscription, Document: "SUB-3001", Amount: 78500, Currency: "USD", State: events.PaymentFailed},
			{ID: "in_3", Kind: events.ForSubscription, Document: "SUB-3001", Amount: 78500, Currency: "USD", State: events.PaymentProcessing},
		},
	}
	today := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	if err := site.Fold(&s.Config, c, f, today); err != nil {
		t.Fatal(err)
	}
	sub := c.Subs[0]
	if sub.Billing == nil || len(sub.Payments) != 2 || sub.Payments[0].ID != "in_1" || sub.Payments[1].ID != "in_2" {
		t.Fatalf("billing %+v, payments %+v", sub.Billing, sub.Payments)
	}
	if got := sub.Start.Raw + " " + sub.Next.Format(time.DateOnly); got != "2026-12-01 2027-01-01" {
		t.Errorf("start and next charge = %s; want 2026-12-01 2027-01-01 (Stripe's schedule)", got)
	}
	for _, inv := range c.Invoices {
		if len(inv.Online) > 0 {
			t.Errorf("a subscription's payment counted on invoice %s", inv.Number)
		}
	}
	// On the day it started, its first period is paid: the next charge is
	// the one after, not today.
	c = client(t, sample(t), "whitfield-dental")
	if err := site.Fold(&s.Config, c, f, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if got := c.Subs[0].Next.Format(time.DateOnly); got != "2027-01-01" {
		t.Errorf("next charge on the day it started and was paid = %s; want 2027-01-01", got)
	}
	f.Subscriptions[0].State = events.BillingCancelled
	c = client(t, sample(t), "whitfield-dental")
	if err := site.Fold(&s.Config, c, f, today); err != nil {
		t.Fatal(err)
	}
	if !c.Subs[0].Next.IsZero() || c.Subs[0].Soon {
		t.Errorf("a cancelled subscription has a next charge %v", c.Subs[0].Next)
	}
}
