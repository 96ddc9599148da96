package site

import (
	"cmp"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/money"
)

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (l *loader) config(c *Config) {
	file := l.rel(ConfigFile)
	// Defaults, so that a broken config still lets the rest be checked.
	c.Currency, _ = money.LookupCurrency("USD")
	c.Locale, _ = money.LookupLocale("en-US")
	c.Location = time.UTC
	if _, err := os.Stat(file); os.IsNotExist(err) {
		l.problem(file, "missing: the content folder needs a %s with at least the business name", ConfigFile)
		return
	}
	d := l.readYAML(file, c)
	if d == nil {
		return
	}
	if strings.TrimSpace(c.Name) == "" {
		d.keyErrorf(nil, "the business has no name; add \"name: ...\"")
	}
	if c.CurrencyCode == "" {
		c.CurrencyCode = "USD"
	}
	if cur, ok := money.LookupCurrency(c.CurrencyCode); ok {
		c.Currency = cur
	} else {
		codes := money.Currencies()
		slices.Sort(codes)
		d.errorf([]any{"currency"}, "unknown currency %q; supported: %s", c.CurrencyCode, strings.Join(codes, ", "))
	}
	if c.LocaleTag == "" {
		c.LocaleTag = "en-US"
	}
	if loc, ok := money.LookupLocale(c.LocaleTag); ok {
		c.Locale = loc
	} else {
		tags := money.Locales()
		slices.Sort(tags)
		d.errorf([]any{"locale"}, "unknown locale %q; supported: %s", c.LocaleTag, strings.Join(tags, ", "))
	}
	if c.TimeZone != "" {
		if loc, err := time.LoadLocation(c.TimeZone); err == nil {
			c.Location = loc
		} else {
			d.errorf([]any{"timezone"}, "unknown time zone %q; use an IANA name such as America/New_York", c.TimeZone)
		}
	}
	if c.Color == "" {
		c.Color = "#1f5f8b"
	} else if !colorRE.MatchString(c.Color) {
		d.errorf([]any{"color"}, "brand colour %q must be written as #rrggbb", c.Color)
	}
	if c.Email != "" {
		checkEmail(d, []any{"email"}, c.Email)
	}
	if c.Website != "" {
		checkURL(d, []any{"website"}, c.Website)
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			d.errorf([]any{"base_url"}, "base_url %q must be an http(s) origin such as https://hub.example.com, without a path", c.BaseURL)
		}
		c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	}
	for _, f := range []struct {
		key, val string
	}{{"logo", c.Logo}, {"icon", c.Icon}, {"cover", c.Cover}} {
		if f.val != "" {
			l.checkAsset(d, f.key, f.val)
		}
	}
	seen := map[string]bool{}
	for i := range c.Taxes {
		t := &c.Taxes[i]
		p := []any{"taxes", i}
		if !idRE.MatchString(t.ID) || t.ID == "none" {
			d.errorf(append(p, "id"), "tax id %q must be lower-case letters, digits and hyphens (and not \"none\")", t.ID)
		} else if seen[t.ID] {
			d.errorf(append(p, "id"), "duplicate tax id %q", t.ID)
		}
		seen[t.ID] = true
		if t.Name == "" {
			d.keyErrorf(p, "tax %q has no name; it is printed on documents", t.ID)
		}
		if !t.Rate.Set {
			d.keyErrorf(p, "tax %q has no rate; add \"rate: 8.25\" (a percentage)", t.ID)
		} else if err := t.Rate.parse(); err != nil {
			d.errorf(append(p, "rate"), "tax rate: %v", err)
		} else if t.Rate.Dec < 0 || t.Rate.Dec > 100*money.One {
			d.errorf(append(p, "rate"), "tax rate %s%% must be between 0 and 100", t.Rate.Raw)
		}
	}
	if err := c.Settings.MinimumPayment.parse(c.Currency); err != nil {
		d.errorf([]any{"settings", "minimum_payment"}, "minimum_payment: %v", err)
	}
	st := c.Settings
	switch {
	case isTrue(st.SaveCards) && !On(st.OnlinePayments):
		d.errorf([]any{"settings", "save_cards"}, "save_cards: true needs paying online, which is off (online_payments: false); turn online_payments on or leave save_cards out")
	case isTrue(st.Autopay) && !On(st.OnlinePayments):
		d.errorf([]any{"settings", "autopay"}, "autopay: true needs paying online, which is off (online_payments: false); turn online_payments on or leave autopay out")
	case isTrue(st.Autopay) && !On(st.SaveCards):
		d.errorf([]any{"settings", "autopay"}, "autopay: true charges the cards clients save, but save_cards is false; turn save_cards on or set autopay: false")
	}
}

// isTrue reports a switch set to true in so many words.
func isTrue(b *bool) bool { return b != nil && *b }

// checkAsset checks a file named in site.yaml exists inside the content folder.
func (l *loader) checkAsset(d *doc, key, rel string) {
	if !filepath.IsLocal(rel) {
		d.errorf([]any{key}, "%s %q must be a path inside the content folder", key, rel)
		return
	}
	if st, err := os.Stat(filepath.Join(l.dir, rel)); err != nil || !st.Mode().IsRegular() {
		d.errorf([]any{key}, "%s file %q not found in the content folder", key, rel)
	}
}

func checkEmail(d *doc, path []any, s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.IndexByte(s, '@'):], ".") {
		d.errorf(path, "%q is not an email address", s)
		return false
	}
	return true
}

func checkURL(d *doc, path []any, s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "mailto") || (u.Scheme != "mailto" && u.Host == "") {
		d.errorf(path, "%q is not a web address; write it in full, starting with https://", s)
		return false
	}
	return true
}

func validateClient(d *doc, c *Client, cfg *Config) {
	if strings.TrimSpace(c.Name) == "" {
		d.keyErrorf(nil, "client has no name; add \"name: ...\"")
	}
	if len(c.Contacts) == 0 {
		d.keyErrorf(nil, "client has no contacts; add at least one under \"contacts:\" with a name and an email, so they can log in")
	}
	seen := map[string]bool{}
	for i, ct := range c.Contacts {
		p := []any{"contacts", i}
		if strings.TrimSpace(ct.Name) == "" {
			d.keyErrorf(p, "contact %d has no name", i+1)
		}
		if ct.Email == "" {
			d.keyErrorf(p, "contact %d has no email; it is how they log in", i+1)
			continue
		}
		if checkEmail(d, append(p, "email"), ct.Email) {
			e := strings.ToLower(ct.Email)
			if seen[e] {
				d.errorf(append(p, "email"), "email %q is listed twice for this client", ct.Email)
			}
			seen[e] = true
		}
	}
	if c.Language != "" && !regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`).MatchString(c.Language) {
		d.errorf([]any{"language"}, "language %q must be a language code such as en or fr-CA", c.Language)
	}
}

var quoteStatuses = []string{QuoteDraft, QuoteAwaitingResponse, QuoteApproved, QuoteChangesRequested, QuoteConverted, QuoteArchived}
var invoiceStatuses = []string{InvoiceDraft, InvoiceAwaitingPayment, InvoicePaid, InvoiceBadDebt}

var numberRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

func checkNumber(d *doc, what, n string) {
	switch {
	case n == "":
		d.keyErrorf(nil, "%s has no number; add \"number: ...\"", what)
	case !numberRE.MatchString(n):
		d.errorf([]any{"number"}, "%s number %q may hold only letters, digits, '.', '_' and '-' (it becomes part of the URL)", what, n)
	}
}

func checkStatus(d *doc, what, s string, allowed []string) {
	if s == "" {
		d.keyErrorf(nil, "%s has no status; add \"status:\" with one of %s", what, strings.Join(allowed, ", "))
	} else if !slices.Contains(allowed, s) {
		msg := fmt.Sprintf("unknown %s status %q; use one of %s", what, s, strings.Join(allowed, ", "))
		if what == "invoice" && s == InvoicePastDue {
			msg += " (past due is worked out from the due date)"
		}
		d.errorf([]any{"status"}, "%s", msg)
	}
}

// dateNames are how dates are called in messages, by key.
var dateNames = map[string]string{"issued": "issue date", "due": "due date", "valid_until": "valid until date", "start": "start date", "end": "end date"}

func checkDate(d *doc, key string, v *Date, required bool, what string) {
	if !v.Set {
		if required {
			name := cmp.Or(dateNames[key], key)
			d.keyErrorf(nil, "%s has no %s; add \"%s: YYYY-MM-DD\"", what, name, key)
		}
		return
	}
	if err := v.parse(); err != nil {
		d.errorf([]any{key}, "%s: %v", key, err)
	}
}

func validateQuote(d *doc, q *Quote, c *Client, cfg *Config, today time.Time) {
	checkNumber(d, "quote", q.Number)
	checkStatus(d, "quote", q.Status, quoteStatuses)
	if strings.TrimSpace(q.Title) == "" {
		d.keyErrorf(nil, "quote has no title; add \"title: ...\"")
	}
	checkDate(d, "issued", &q.Issued, true, "quote")
	checkDate(d, "valid_until", &q.ValidUntil, false, "quote")
	if q.Issued.Valid() && q.ValidUntil.Valid() && q.ValidUntil.Before(q.Issued) {
		d.errorf([]any{"valid_until"}, "valid_until %s is before the issue date %s", q.ValidUntil.Raw, q.Issued.Raw)
	}
	if q.Property != nil && (*q.Property < 1 || *q.Property > len(c.Properties)) {
		d.errorf([]any{"property"}, "property %d does not exist; the client has %d properties (counting from 1)", *q.Property, len(c.Properties))
	}
	// ok: the totals are known, so checks that depend on them can be made.
	ok := validateLines(d, q.Lines, q.Tax, q.Discounts, cfg, true)
	if ok {
		t, err := ComputeTotals(q.Lines, q.Discounts, q.Tax, cfg.Taxes, nil)
		if err != nil {
			d.keyErrorf([]any{"lines"}, "%s", totalsProblem(err, cfg))
			ok = false
		} else {
			q.Totals = t
		}
	}
	if ok {
		if what, err := checkChoices(q, cfg); err != nil {
			d.keyErrorf([]any{"lines"}, "with %s, %s; a client may approve the quote that way, so correct the lines or the discounts", what, totalsProblem(err, cfg))
			ok = false
		}
	}
	if q.Deposit != nil {
		p := []any{"deposit"}
		dep := q.Deposit
		switch {
		case dep.Percent.Set && dep.Amount.Set:
			d.keyErrorf(p, "deposit has both percent and amount; keep one")
		case dep.Percent.Set:
			if err := dep.Percent.parse(); err != nil {
				d.errorf(append(p, "percent"), "deposit percent: %v", err)
			} else if dep.Percent.Dec <= 0 || dep.Percent.Dec > 100*money.One {
				d.errorf(append(p, "percent"), "deposit percent %s must be more than 0 and at most 100", dep.Percent.Raw)
			} else if ok {
				var err error
				if q.DepositDue, err = money.Percent(q.Totals.Total, dep.Percent.Dec); err != nil {
					d.errorf(append(p, "percent"), "deposit cannot be computed: %v", err)
				}
			}
		case dep.Amount.Set:
			if err := dep.Amount.parse(cfg.Currency); err != nil {
				d.errorf(append(p, "amount"), "deposit amount: %v", err)
			} else if dep.Amount.Amt <= 0 {
				d.errorf(append(p, "amount"), "deposit amount must be more than 0")
			} else if !ok {
				// The total is unknown; the deposit is checked against it once known.
			} else if dep.Amount.Amt > q.Totals.Total {
				d.errorf(append(p, "amount"), "deposit %s is more than the quote's total %s", dep.Amount.Raw, cfg.Locale.Format(q.Totals.Total, cfg.Currency))
			} else {
				q.DepositDue = dep.Amount.Amt
			}
		default:
			d.keyErrorf(p, "deposit needs \"percent: 25\" or \"amount: 500.00\"")
		}
		if !On(cfg.Settings.Deposits) {
			d.keyErrorf(p, "this quote asks for a deposit, but deposits are turned off in %s (settings.deposits)", ConfigFile)
		}
	}
	q.Expired = q.Status == QuoteAwaitingResponse && q.ValidUntil.Set && q.ValidUntil.T.Before(today)
}

func validateInvoice(d *doc, inv *Invoice, cfg *Config, today time.Time) {
	checkNumber(d, "invoice", inv.Number)
	checkStatus(d, "invoice", inv.Status, invoiceStatuses)
	if strings.TrimSpace(inv.Subject) == "" {
		d.keyErrorf(nil, "invoice has no subject; add \"subject: ...\"")
	}
	checkDate(d, "issued", &inv.Issued, true, "invoice")
	checkDate(d, "due", &inv.Due, true, "invoice")
	if inv.Issued.Valid() && inv.Due.Valid() && inv.Due.Before(inv.Issued) {
		d.errorf([]any{"due"}, "due date %s is before the issue date %s", inv.Due.Raw, inv.Issued.Raw)
	}
	ok := validateLines(d, inv.Lines, inv.Tax, inv.Discounts, cfg, false)
	for i := range inv.Payments {
		pm := &inv.Payments[i]
		p := []any{"payments", i}
		checkDateAt(d, append(p, "date"), &pm.Date, "payment")
		if !pm.Amount.Set {
			d.keyErrorf(p, "payment %d has no amount", i+1)
			ok = false
		} else if err := pm.Amount.parse(cfg.Currency); err != nil {
			d.errorf(append(p, "amount"), "payment amount: %v", err)
			ok = false
		} else if pm.Amount.Amt <= 0 {
			d.errorf(append(p, "amount"), "payment amount must be more than 0")
			ok = false
		} else if paid, err := money.Add(inv.Paid, pm.Amount.Amt); err != nil {
			d.errorf(append(p, "amount"), "the payments add up to more than the largest amount supported (%s); check the amounts",
				cfg.Locale.Format(math.MaxInt64, cfg.Currency))
			ok = false
		} else {
			inv.Paid = paid
		}
		if pm.Method == "" {
			d.keyErrorf(p, "payment %d has no method (check, cash, bank transfer, card...)", i+1)
		}
	}
	if !ok {
		return
	}
	t, err := ComputeTotals(inv.Lines, inv.Discounts, inv.Tax, cfg.Taxes, nil)
	if err != nil {
		d.keyErrorf([]any{"lines"}, "%s", totalsProblem(err, cfg))
		return
	}
	inv.Totals = t
	// Both are non-negative here (payments are positive, discounts at most
	// the subtotal, taxes at most 100%), but check rather than wrap.
	if inv.Balance, err = money.Sub(t.Total, inv.Paid); err != nil {
		d.keyErrorf([]any{"payments"}, "balance cannot be computed: %v", err)
		return
	}
	if inv.Balance < 0 {
		d.keyErrorf([]any{"payments"}, "payments add up to %s, more than the invoice total %s",
			cfg.Locale.Format(inv.Paid, cfg.Currency), cfg.Locale.Format(t.Total, cfg.Currency))
	}
	inv.State = InvoiceState(inv.Status, inv.Balance, inv.Due.T, today)
}

// InvoiceState is the status a client sees: a written status, with "paid"
// when nothing is left to pay and "past_due" when the due day has passed.
func InvoiceState(status string, balance money.Amount, due, today time.Time) string {
	switch {
	case status != InvoiceAwaitingPayment:
		return status
	case balance <= 0:
		return InvoicePaid
	case due.Before(today):
		return InvoicePastDue
	}
	return status
}

func checkDateAt(d *doc, path []any, v *Date, what string) {
	if !v.Set {
		d.keyErrorf(path[:len(path)-1], "%s has no date; add \"date: YYYY-MM-DD\"", what)
		return
	}
	if err := v.parse(); err != nil {
		d.errorf(path, "%v", err)
	}
}

// validateLines parses and checks line items and discounts; it reports
// whether totals can be computed.
func validateLines(d *doc, lines []Line, docTax string, discounts []Discount, cfg *Config, isQuote bool) bool {
	ok := true
	taxIDs := map[string]bool{"none": true}
	for _, t := range cfg.Taxes {
		taxIDs[t.ID] = true
	}
	if docTax != "" && !taxIDs[docTax] {
		d.errorf([]any{"tax"}, "unknown tax %q; define it under taxes: in %s", docTax, ConfigFile)
		ok = false
	}
	if len(lines) == 0 {
		d.keyErrorf(nil, "no line items; add at least one under \"lines:\"")
		ok = false
	}
	for i := range lines {
		ln := &lines[i]
		p := []any{"lines", i}
		if strings.TrimSpace(ln.Name) == "" {
			d.keyErrorf(p, "line %d has no name", i+1)
		}
		if !ln.Quantity.Set {
			ln.Quantity.Dec = money.One
		} else if err := ln.Quantity.parse(); err != nil {
			d.errorf(append(p, "quantity"), "quantity: %v", err)
			ok = false
		} else if ln.Quantity.Dec <= 0 {
			d.errorf(append(p, "quantity"), "quantity must be more than 0")
			ok = false
		}
		if !ln.UnitPrice.Set {
			d.keyErrorf(p, "line %d has no unit_price", i+1)
			ok = false
		} else if err := ln.UnitPrice.parse(cfg.Currency); err != nil {
			d.errorf(append(p, "unit_price"), "unit_price: %v", err)
			ok = false
		}
		if ln.Tax != "" && !taxIDs[ln.Tax] {
			d.errorf(append(p, "tax"), "unknown tax %q; define it under taxes: in %s, or write none", ln.Tax, ConfigFile)
			ok = false
		}
		if ln.Optional && !isQuote {
			d.errorf(append(p, "optional"), "only quotes have optional lines")
		}
		if ln.Selected != nil && !ln.Optional {
			d.errorf(append(p, "selected"), "selected applies only to optional lines")
		}
	}
	for i := range discounts {
		ds := &discounts[i]
		p := []any{"discounts", i}
		switch {
		case ds.Percent.Set && ds.Amount.Set:
			d.keyErrorf(p, "discount has both percent and amount; keep one")
			ok = false
		case ds.Percent.Set:
			if err := ds.Percent.parse(); err != nil {
				d.errorf(append(p, "percent"), "discount percent: %v", err)
				ok = false
			} else if ds.Percent.Dec <= 0 || ds.Percent.Dec > 100*money.One {
				d.errorf(append(p, "percent"), "discount percent %s must be more than 0 and at most 100", ds.Percent.Raw)
				ok = false
			}
		case ds.Amount.Set:
			if err := ds.Amount.parse(cfg.Currency); err != nil {
				d.errorf(append(p, "amount"), "discount amount: %v", err)
				ok = false
			} else if ds.Amount.Amt <= 0 {
				d.errorf(append(p, "amount"), "discount amount must be more than 0")
				ok = false
			}
		default:
			d.keyErrorf(p, "discount needs \"percent: 10\" or \"amount: 50.00\"")
			ok = false
		}
	}
	return ok
}

func validatePortal(d *doc, p *Portal) {
	if strings.TrimSpace(p.Title) == "" {
		d.keyErrorf(nil, "portal has no title; add \"title: ...\" to its front matter")
	}
	switch p.Kind {
	case "":
		p.Kind = "project"
	case "project", "client":
		if p.Shared {
			d.errorf([]any{"kind"}, "shared portals (in portals/ at the top of the content folder) have no kind; remove it")
		}
	default:
		d.errorf([]any{"kind"}, "unknown portal kind %q; use project or client (shared portals live in the top-level portals/ folder)", p.Kind)
	}
	if p.Shared {
		p.Kind = "shared"
		if p.Uploads {
			d.errorf([]any{"uploads"}, "shared portals cannot take uploads (every client sees them); remove it, or set it on a client's own portal")
		}
	}
	if p.Cover != "" {
		if strings.Contains(p.Cover, "/") || strings.HasPrefix(p.Cover, ".") {
			d.errorf([]any{"cover"}, "cover %q must be a file in the portal's folder", p.Cover)
		} else if st, err := os.Stat(filepath.Join(p.Dir, p.Cover)); err != nil || !st.Mode().IsRegular() {
			d.errorf([]any{"cover"}, "cover image %q not found in %s", p.Cover, p.Dir)
		} else {
			p.CoverWidth, p.CoverHeight = fileImageSize(filepath.Join(p.Dir, p.Cover))
		}
	}
	for i, ln := range p.Links {
		path := []any{"links", i}
		if ln.Title == "" {
			d.keyErrorf(path, "link %d has no title", i+1)
		}
		if ln.URL == "" {
			d.keyErrorf(path, "link %d has no url", i+1)
		} else {
			checkURL(d, append(path, "url"), ln.URL)
		}
	}
	for i := range p.Embeds {
		e := &p.Embeds[i]
		path := []any{"embeds", i}
		if e.URL == "" {
			d.keyErrorf(path, "embed %d has no url", i+1)
			continue
		}
		prov, src, err := EmbedSource(e.URL)
		if err != nil {
			d.errorf(append(path, "url"), "%v", err)
			continue
		}
		e.Provider, e.Src = prov, src
		if e.Title == "" {
			e.Title = prov
		}
	}
}

// Numbered is a quote or invoice number and where it is written.
type Numbered struct {
	Number string
	File   string
}

// Numbers lists the client's quote and invoice numbers.
func (c *Client) Numbers() []Numbered {
	var out []Numbered
	for _, q := range c.Quotes {
		if q.Number != "" {
			out = append(out, Numbered{q.Number, q.File})
		}
	}
	for _, inv := range c.Invoices {
		if inv.Number != "" {
			out = append(out, Numbered{inv.Number, inv.File})
		}
	}
	return out
}

// CheckNumbers reports quote and invoice numbers used more than once
// (compared without regard to case: they become URLs).
func CheckNumbers(nums []Numbered) Problems {
	var ps Problems
	l := &loader{out: &ps}
	// One pass with a map finds the numbers used more than once; only
	// those are sorted, so the report is the same whatever the order.
	seen := make(map[string]int, len(nums))
	dup := map[string]bool{}
	for _, n := range nums {
		k := strings.ToLower(n.Number)
		if seen[k]++; seen[k] > 1 {
			dup[k] = true
		}
	}
	if len(dup) == 0 {
		return nil
	}
	var sorted []Numbered
	for _, n := range nums {
		if dup[strings.ToLower(n.Number)] {
			sorted = append(sorted, n)
		}
	}
	slices.SortFunc(sorted, func(a, b Numbered) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Number), strings.ToLower(b.Number)), cmp.Compare(a.File, b.File))
	})
	// Each file with the number is told of the others: neither is "the
	// original", and the one just edited may be either.
	for i, n := range sorted {
		var others []string
		for j, o := range sorted {
			if j != i && strings.EqualFold(o.Number, n.Number) {
				others = append(others, o.File)
			}
		}
		l.numberDup(n.File, n.Number, others)
	}
	return ps
}

// checkQuoteRefs checks that invoices name quotes of the same client.
// quoteNums holds the lower-cased number of every quote file, including
// those that failed to load; when unsure, some quote file failed before its
// number was known, so no reference can be said to be wrong. invDocs are the
// invoices' parsed files, to place problems.
func (l *loader) checkQuoteRefs(c *Client, quoteNums map[string]bool, unsure bool, invDocs map[*Invoice]*doc) {
	if unsure {
		return
	}
	for _, inv := range c.Invoices {
		if inv.Quote == "" || quoteNums[strings.ToLower(inv.Quote)] {
			continue
		}
		d := invDocs[inv]
		if d == nil {
			d = locate(inv.File, l.out)
		}
		d.errorf([]any{"quote"}, "quote %q is not one of this client's quotes (in %s)", inv.Quote, filepath.Join(c.Dir, "quotes"))
	}
}

// checkPortalRefs checks that the documents naming a portal name one of
// the client's own portals.
func (l *loader) checkPortalRefs(c *Client) {
	slugs := map[string]bool{}
	var names []string
	for _, p := range c.Portals {
		slugs[p.Slug] = true
		names = append(names, p.Slug)
	}
	check := func(file, slug string) {
		if slug == "" || slugs[slug] {
			return
		}
		msg := fmt.Sprintf("portal %q is not one of this client's portals", slug)
		if len(names) > 0 {
			msg += "; use one of " + strings.Join(names, ", ")
		} else {
			msg += fmt.Sprintf(" (it has none: add one in %s)", filepath.Join(c.Dir, "portals"))
		}
		locate(file, l.out).errorf([]any{"portal"}, "%s", msg)
	}
	for _, q := range c.Quotes {
		check(q.File, q.Portal)
	}
	for _, inv := range c.Invoices {
		check(inv.File, inv.Portal)
	}
	for _, s := range c.Subs {
		check(s.File, s.Portal)
	}
}

func (l *loader) numberDup(file, number string, others []string) {
	locate(file, l.out).errorf([]any{"number"}, "number %q is also used by %s; quote and invoice numbers must be unique: change one of them", number, strings.Join(others, " and "))
}

// locate returns a doc for file that places problems (reported to out) but
// reports none of its own: the file was checked when it was loaded.
func locate(file string, out *Problems) *doc {
	d := &doc{file: file, out: out}
	if src, err := os.ReadFile(file); err == nil {
		d.root, _, _ = parseRoot(src)
	}
	return d
}

// maxCheckedChoices bounds the optional lines of a quote whose every
// combination is checked (2^6 = 64); past it, none and all are.
const maxCheckedChoices = 6

// checkChoices works out a quote's totals for the choices of optional
// lines a client can approve, and names the first that fails.
func checkChoices(q *Quote, cfg *Config) (string, error) {
	var opts []int
	for i, ln := range q.Lines {
		if ln.Optional {
			opts = append(opts, i)
		}
	}
	if len(opts) == 0 {
		return "", nil
	}
	all := 1<<len(opts) - 1
	masks := []int{0, all}
	if len(opts) <= maxCheckedChoices {
		masks = make([]int, all+1)
		for m := range masks {
			masks[m] = m
		}
	}
	for _, mask := range masks {
		choose := map[int]bool{}
		var names []string
		for b, i := range opts {
			choose[i] = mask&(1<<b) != 0
			if choose[i] {
				names = append(names, strconv.Quote(q.Lines[i].Name))
			}
		}
		if _, err := ComputeTotals(q.Lines, q.Discounts, q.Tax, cfg.Taxes, choose); err != nil {
			what := "no optional line chosen"
			if len(names) > 0 {
				what = "the optional lines chosen being " + strings.Join(names, ", ")
			}
			return what, err
		}
	}
	return "", nil
}
