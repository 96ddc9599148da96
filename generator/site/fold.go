package site

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
)

// Version names one version of a document's source: the first 16 hex
// digits of the SHA-256 of its file.
func Version(src []byte) string {
	h := sha256.Sum256(src)
	return hex.EncodeToString(h[:8])
}

// Fold applies what the edge recorded for a client to its loaded content:
//
//   - online payments: a paid one counts towards its invoice like a payment
//     staff entered; one still processing (a bank debit) is shown as such
//     and is not yet taken off the balance; a quote's deposit payments
//     count towards the deposit, and towards the invoice made from the quote;
//   - a subscription started online gets its billing state, and the
//     payments of its periods (paid or failed);
//   - an approval makes its quote approved, with the optional lines the
//     client chose (totals and deposit follow);
//   - a change request makes the quote "changes requested" while the quote
//     is the version the client saw; once staff change it, it is awaiting
//     a response again, with the requests kept as its history.
//
// Statuses staff wrote that go further (converted, archived, paid) win.
// Fold is deterministic: the same content and facts give the same result.
// It fails when the totals of an approved quote, with the options the
// client chose, cannot be worked out: its pages would show other totals
// than the ones approved.
func Fold(cfg *Config, c *Client, f *events.Facts, today time.Time) error {
	if f == nil {
		return nil
	}
	c.Requests = f.Requests
	c.Messages = f.Messages
	c.Uploads = f.Uploads
	c.Sends, c.Views = f.Sends, f.Views
	c.Card, c.Autopay, c.AutopaySince = f.Card, f.Autopay, f.AutopaySince
	quotes := map[string]*Quote{}
	for _, q := range c.Quotes {
		quotes[strings.ToLower(q.Number)] = q
	}
	for i := range f.Approvals {
		a := &f.Approvals[i]
		q := quotes[strings.ToLower(a.Quote)]
		if q == nil {
			continue
		}
		q.Approval = a
		if q.Status == QuoteAwaitingResponse || q.Status == QuoteChangesRequested {
			q.Status = QuoteApproved
		}
		choose := map[int]bool{}
		for j, ln := range q.Lines {
			if ln.Optional {
				choose[j] = slices.Contains(a.Options, j)
			}
		}
		t, err := ComputeTotals(q.Lines, q.Discounts, q.Tax, cfg.Taxes, choose)
		if err != nil {
			return fmt.Errorf("%s: quote %s was approved with options %v, and its totals with those options cannot be worked out (%w); correct the quote's lines or discounts so every choice of its optional lines adds up", q.File, q.Number, a.Options, err)
		}
		q.Chosen = choose
		q.Totals = t
		q.DepositDue = DepositDue(q)
	}
	for _, ch := range f.Changes {
		q := quotes[strings.ToLower(ch.Quote)]
		if q == nil {
			continue
		}
		q.Changes = append(q.Changes, ch)
	}
	for _, q := range c.Quotes {
		if n := len(q.Changes); n > 0 && q.Approval == nil && q.Status == QuoteAwaitingResponse && q.Changes[n-1].Version == q.Version {
			q.Status = QuoteChangesRequested
		}
		q.Expired = q.Status == QuoteAwaitingResponse && q.ValidUntil.Set && q.ValidUntil.T.Before(today)
	}
	invoices := map[string]*Invoice{}
	byQuote := map[string]*Invoice{} // the first invoice made from each quote
	for _, inv := range c.Invoices {
		invoices[strings.ToLower(inv.Number)] = inv
		if inv.Quote != "" && inv.Status != InvoiceDraft {
			byQuote[strings.ToLower(inv.Quote)] = inv
		}
	}
	subs := map[string]*Subscription{}
	for _, sub := range c.Subs {
		subs[strings.ToLower(sub.Number)] = sub
	}
	for i := range f.Subscriptions {
		if sub := subs[strings.ToLower(f.Subscriptions[i].Number)]; sub != nil {
			sub.Billing = &f.Subscriptions[i]
			followBilling(cfg, sub, today)
		}
	}
	for _, p := range f.Payments {
		if p.Kind == events.ForSubscription {
			if sub := subs[strings.ToLower(p.Document)]; sub != nil && (p.State == events.PaymentPaid || p.State == events.PaymentFailed) {
				sub.Payments = append(sub.Payments, p)
			}
			continue
		}
		if p.Kind == events.ForInvoice && p.Auto && p.State == events.PaymentFailed {
			if inv := invoices[strings.ToLower(p.Document)]; inv != nil {
				inv.AutopayFailed = true
			}
		}
		if p.State != events.PaymentPaid && p.State != events.PaymentProcessing {
			continue
		}
		if p.Currency != "" && !strings.EqualFold(p.Currency, cfg.Currency.Code) {
			continue // recorded in another currency: never mixed into totals
		}
		var inv *Invoice
		switch p.Kind {
		case events.ForInvoice:
			inv = invoices[strings.ToLower(p.Document)]
		case events.ForDeposit:
			if q := quotes[strings.ToLower(p.Document)]; q != nil {
				q.DepositPayments = append(q.DepositPayments, p)
				if p.State == events.PaymentPaid {
					q.DepositPaid += money.Amount(p.Amount)
				} else {
					q.DepositPending += money.Amount(p.Amount)
				}
			}
			inv = byQuote[strings.ToLower(p.Document)] // a deposit is part payment of the invoice that follows
		}
		if inv == nil {
			continue
		}
		inv.Online = append(inv.Online, p)
		if p.State == events.PaymentPaid {
			inv.Paid += money.Amount(p.Amount)
		} else {
			inv.Processing += money.Amount(p.Amount)
		}
	}
	// A period charged today (the day a subscription started online, or a
	// charge day) is not the next charge any more.
	for _, sub := range c.Subs {
		if sub.Next.IsZero() || sub.Billing == nil {
			continue
		}
		for _, p := range sub.Payments {
			if p.State == events.PaymentPaid && sameDay(p.Period, sub.Next, cfg.Location) {
				sub.setNext(sub.NextK+1, today)
				break
			}
		}
	}
	for _, inv := range c.Invoices {
		if len(inv.Online) == 0 {
			continue
		}
		inv.Balance = inv.Totals.Total - inv.Paid
		inv.State = InvoiceState(inv.Status, inv.Balance, inv.Due.T, today)
	}
	return nil
}

// sameDay says whether an instant falls on a calendar day (midnight UTC
// of the date), in the site's time zone.
func sameDay(t, day time.Time, loc *time.Location) bool {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	dy, dm, dd := day.Date()
	return y == dy && m == dm && d == dd
}

// followBilling makes a subscription started online keep Stripe's
// schedule: its first charge was the day it started (in the site's time
// zone), each one after on that day of its period; once cancelled there
// is no next charge.
func followBilling(cfg *Config, s *Subscription, today time.Time) {
	b := s.Billing
	if b.Started.IsZero() {
		return
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	t := b.Started.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !s.Start.Set || day.After(s.Start.T) {
		// Started on or after its start date: Stripe billed it that day.
		// Started before (the first charge waits for the start date, a
		// trial until then), the content's start is Stripe's too.
		s.Start = Date{Raw: day.Format(time.DateOnly), T: day, Set: true}
	}
	if b.State == events.BillingCancelled {
		s.Next, s.NextK, s.Soon = time.Time{}, 0, false
		return
	}
	s.schedule(today)
}

// DepositDue is what a quote asks on approval for its current totals.
func DepositDue(q *Quote) money.Amount {
	if q.Deposit == nil {
		return 0
	}
	if q.Deposit.Percent.Set {
		d, err := money.Percent(q.Totals.Total, q.Deposit.Percent.Dec)
		if err != nil {
			return 0
		}
		return d
	}
	return min(q.Deposit.Amount.Amt, q.Totals.Total)
}
