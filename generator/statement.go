package generator

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/money"
	"github.com/hubhq/hub/generator/site"
)

// statement lists a client's visible invoices (invs, with their views) and
// their payments in date order with a running balance, and each paid period
// of its subscriptions (subs) as a charge and its payment on the day it was
// paid. An invoice marked paid without payments recorded for all of it
// gets a "settled" credit, so the last balance is what the client owes, as
// on the home page.
func (p *presenter) statement(clientID string, invs []*site.Invoice, views []*InvoiceView, subs []*SubscriptionView) *StatementView {
	type entry struct {
		date  string
		order int // invoices before their payments on the same day
		amt   money.Amount
		e     StatementEntry
	}
	var es []entry
	for i, inv := range invs {
		v := views[i]
		es = append(es, entry{inv.Issued.Raw, 0, inv.Totals.Total, StatementEntry{
			Date: v.Issued, DateISO: inv.Issued.Raw, Kind: "invoice", Ref: inv.Number, URL: v.URL, Detail: v.Subject, Charge: v.Total,
		}})
		for _, rv := range v.Payments { // entered by staff and paid online
			detail := strings.TrimPrefix(rv.Method+" · "+rv.Reference, " · ")
			detail = strings.TrimSuffix(detail, " · ")
			date, iso := rv.Date, rv.DateISO
			if inv.Issued.Set && iso < inv.Issued.Raw {
				// A deposit paid before the invoice was issued is posted
				// with the invoice, so the balance never starts negative.
				detail = strings.TrimPrefix(detail+" · received "+rv.Date, " · ")
				date, iso = v.Issued, inv.Issued.Raw
			}
			es = append(es, entry{iso, 1, -rv.amount, StatementEntry{
				Date: date, DateISO: iso, Kind: "payment", Ref: inv.Number, URL: rv.URL, Detail: detail, Credit: rv.Amount,
			}})
		}
		if inv.State == site.InvoicePaid && inv.Balance > 0 {
			d := inv.Due
			if !d.Set {
				d = inv.Issued
			}
			es = append(es, entry{d.Raw, 2, -inv.Balance, StatementEntry{
				Date: p.date(d), DateISO: d.Raw, Kind: "settled", Ref: inv.Number, URL: v.URL, Detail: "Marked paid", Credit: p.money(inv.Balance),
			}})
		}
	}
	for _, sv := range subs {
		for _, pv := range sv.Periods {
			rv := pv.Receipt
			if rv == nil {
				continue // a failed period: nothing charged
			}
			es = append(es, entry{rv.DateISO, 0, rv.amount, StatementEntry{
				Date: rv.Date, DateISO: rv.DateISO, Kind: "subscription", Ref: sv.Number, URL: sv.URL, Detail: sv.Title + " · period from " + pv.Period, Charge: rv.Amount,
			}}, entry{rv.DateISO, 1, -rv.amount, StatementEntry{
				Date: rv.Date, DateISO: rv.DateISO, Kind: "payment", Ref: sv.Number, URL: rv.URL, Detail: strings.TrimSuffix(strings.TrimPrefix(rv.Method+" · "+rv.Reference, " · "), " · "), Credit: rv.Amount,
			}})
		}
	}
	slices.SortStableFunc(es, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.date, b.date), cmp.Compare(a.order, b.order))
	})
	sv := &StatementView{Date: p.date(site.Date{T: p.today, Set: true}), DateISO: p.today.Format(time.DateOnly)}
	if p.pdfs && len(es) > 0 {
		sv.PDF = "/c/" + clientID + "/" + statementPDF(clientID)
	}
	var bal, charges, credits money.Amount
	for _, e := range es {
		bal += e.amt // amounts were checked when loaded: no overflow
		if e.amt > 0 {
			charges += e.amt
		} else {
			credits -= e.amt
		}
		e.e.Balance = p.money(bal)
		sv.Entries = append(sv.Entries, e.e)
	}
	if n := len(sv.Entries); n > 0 {
		sv.From, sv.FromISO = sv.Entries[0].Date, sv.Entries[0].DateISO
		sv.To, sv.ToISO = sv.Entries[n-1].Date, sv.Entries[n-1].DateISO
	}
	sv.Charges, sv.Payments, sv.Less = p.money(charges), p.money(credits), p.money(-credits)
	sv.Owed, sv.HasOwed = p.money(max(bal, 0)), bal > 0
	sv.Aging = p.aging(invs)
	return sv
}

// agingBuckets are the columns of a statement's aging summary: the
// balance of invoices not yet due, then by days past their due date.
var agingBuckets = []struct {
	label string
	upTo  int // days past due, at most
}{{"Current", 0}, {"1–30 days", 30}, {"31–60 days", 60}, {"61–90 days", 90}, {"Over 90 days", math.MaxInt}}

// aging sums the balances of the unpaid invoices by how long past due they
// are on the build day (an invoice without a due date is due when issued).
func (p *presenter) aging(invs []*site.Invoice) []MoneyRow {
	sums := make([]money.Amount, len(agingBuckets))
	for _, inv := range invs {
		if inv.State == site.InvoicePaid || inv.Balance <= 0 {
			continue
		}
		due := inv.Due
		if !due.Set {
			due = inv.Issued
		}
		days := 0
		if due.Set {
			days = daysBetween(due.T, p.today)
		}
		for i, b := range agingBuckets {
			if days <= b.upTo {
				sums[i] += inv.Balance
				break
			}
		}
	}
	out := make([]MoneyRow, len(agingBuckets))
	for i, b := range agingBuckets {
		out[i] = MoneyRow{Label: b.label, Amount: p.money(sums[i])}
	}
	return out
}

// daysBetween counts calendar days from a to b (negative when b is before a).
func daysBetween(a, b time.Time) int {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	return int(day(b).Sub(day(a)).Hours() / 24)
}
