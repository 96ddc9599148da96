package generator

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/site"
)

// ActivityView is a document's history as its page shows it, in the
// order things happened: "Sent Nov 16 · Viewed by Dana Nov 17 · Approved
// Nov 18 · Paid Nov 20". Everything in it comes from the client's content
// and recorded facts (sends, first views, approvals, payments), so the
// bundle's key covers it; PDFs never show it (a view changes no PDF).
type ActivityView struct {
	Steps []ActivityStep
}

// ActivityStep is one entry of a history.
type ActivityStep struct {
	Text    string // "Sent", "Viewed by Dana", "Approved", "Paid"
	Date    string // "Nov 16" (the year too when it is not the document's)
	DateISO string
}

// String is the history on one line, as staff see it in hub activity.
func (a *ActivityView) String() string {
	if a == nil {
		return ""
	}
	parts := make([]string, len(a.Steps))
	for i, s := range a.Steps {
		parts[i] = s.Text + " " + s.Date
	}
	return strings.Join(parts, " · ")
}

// step is a history entry before it is formatted: day is the site's
// calendar day it happened on.
type step struct {
	text string
	day  time.Time // midnight UTC of the calendar day
}

// history makes the history of a client's document (events.DocKey) from
// its sends and first views, and more (approved, paid) the caller knows;
// nil when there is nothing to show. year is the document's own (its
// issue date's): dates in it are written without the year.
func (p *presenter) history(c *site.Client, doc string, year int, more ...step) *ActivityView {
	var steps []step
	for _, s := range c.Sends {
		if strings.EqualFold(s.Doc, doc) {
			steps = append(steps, step{"Sent", p.day(s.At)})
			break // the first send; sending again does not change when it was sent
		}
	}
	for _, v := range c.Views {
		if strings.EqualFold(v.Doc, doc) {
			steps = append(steps, step{"Viewed by " + contactName(c, v.Email), p.day(v.At)})
		}
	}
	for _, m := range more {
		if !m.day.IsZero() {
			steps = append(steps, m)
		}
	}
	if len(steps) == 0 {
		return nil
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.day.Compare(b.day) })
	av := &ActivityView{}
	for _, s := range steps {
		d := p.cfg.Locale.DayMonth(s.day)
		if s.day.Year() != year {
			d = p.cfg.Locale.Date(s.day)
		}
		av.Steps = append(av.Steps, ActivityStep{Text: s.text, Date: d, DateISO: s.day.Format(time.DateOnly)})
	}
	return av
}

// day is the site's calendar day of an instant, as midnight UTC.
func (p *presenter) day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	t = t.In(p.cfg.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// contactName is how a contact is named in a history: the first name, or
// the whole name when another contact of the client has the same first
// name; the email of someone no longer a contact.
func contactName(c *site.Client, email string) string {
	for _, ct := range c.Contacts {
		if !strings.EqualFold(ct.Email, email) {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimSpace(ct.Name), " ")
		for _, o := range c.Contacts {
			if o.Email != ct.Email && strings.HasPrefix(strings.TrimSpace(o.Name)+" ", first+" ") {
				return ct.Name
			}
		}
		return cmp.Or(first, ct.Email)
	}
	return email
}

// quoteHistory is a quote's history: sent, viewed, approved (in the hub).
func (p *presenter) quoteHistory(c *site.Client, q *site.Quote) *ActivityView {
	var approved step
	if q.Approval != nil {
		approved = step{"Approved", p.day(q.Approval.At)}
	}
	return p.history(c, events.DocKey(events.DocQuote, q.Number), q.Issued.T.Year(), approved)
}

// invoiceHistory is an invoice's history: sent, viewed, and paid (the
// day of the payment that paid it off) once it is paid.
func (p *presenter) invoiceHistory(c *site.Client, inv *site.Invoice) *ActivityView {
	var paid step
	if inv.State == site.InvoicePaid {
		for _, pm := range inv.Payments {
			if pm.Date.Set && pm.Date.T.After(paid.day) {
				paid = step{"Paid", pm.Date.T}
			}
		}
		for _, op := range inv.Online {
			if d := p.day(op.Settled); op.State == events.PaymentPaid && d.After(paid.day) {
				paid = step{"Paid", d}
			}
		}
	}
	return p.history(c, events.DocKey(events.DocInvoice, inv.Number), inv.Issued.T.Year(), paid)
}
