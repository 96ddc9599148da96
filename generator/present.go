package generator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
	"github.com/hubhq/hub/generator/site"
)

// presenter turns the content model into view models for one site.
type presenter struct {
	cfg       *site.Config
	assets    map[string]string // content-relative asset path → URL
	sizes     map[string]Size   // content-relative image path → its size, when known
	css       string
	js        string // URL of hub.js
	year      int    // for the copyright line
	payOnline bool   // clients can pay online (settings, and Stripe is set up)
	// pdfs: documents get PDFs (and clients a zip of every document);
	// off only for measuring what PDFs cost (Options.NoPDF).
	pdfs     bool
	logo     []byte    // the logo when it is a PNG or JPEG, for PDFs
	logoType string    // "png", "jpg"
	logoSum  string    // what identifies the logo's bytes in a PDF's key
	today    time.Time // the build day, in the site's time zone
}

func (p *presenter) money(a money.Amount) string { return p.cfg.Locale.Format(a, p.cfg.Currency) }
func (p *presenter) date(d site.Date) string {
	if !d.Set {
		return ""
	}
	return p.cfg.Locale.Date(d.T)
}

func (p *presenter) siteView() *SiteView {
	c := p.cfg
	v := &SiteView{
		Name: c.Name, Phone: c.Phone, Email: c.Email, Website: c.Website,
		Address:     c.Address.Lines(),
		Logo:        p.assets[c.Logo],
		LogoSize:    p.size(c.Logo),
		CoverSize:   p.size(c.Cover),
		Icon:        cmp.Or(p.assets[c.Icon], p.assets[c.Logo]),
		Brand:       c.Color,
		Cover:       p.assets[c.Cover],
		Landing:     Markdown(c.Landing),
		Description: cmp.Or(c.Description, "The "+c.Name+" client hub: see your quotes, invoices and projects, pay online and send us requests."),
		PayOffline:  Markdown(c.PaymentInstructions),
		Lang:        strings.SplitN(c.LocaleTag, "-", 2)[0],
		Hub:         site.On(c.Settings.Hub),
		Requests:    site.On(c.Settings.Requests),
		RequestForm: site.On(c.Settings.Requests) && site.On(c.Settings.Hub),
		Signature:   site.On(c.Settings.RequireSignature),
		ChangeReqs:  site.On(c.Settings.ChangeRequests),
		Deposits:    site.On(c.Settings.Deposits),
		PayOnline:   site.On(c.Settings.OnlinePayments),
		SaveCards:   c.Settings.CardsOn(),
		Autopay:     c.Settings.AutopayOn(),
		Subs:        site.On(c.Settings.Subscriptions),
		Year:        p.year,
	}
	if c.Phone != "" {
		v.PhoneHref = template.URL("tel:" + telNumber(c.Phone, c.Locale.Region))
	}
	if u, err := url.Parse(c.Website); err == nil {
		v.WebsiteHost = strings.TrimPrefix(u.Host, "www.")
	}
	return v
}

// size is the size of one of the site's images, nil when not known.
func (p *presenter) size(asset string) *Size {
	if sz, ok := p.sizes[asset]; ok {
		return &sz
	}
	return nil
}

func propertyView(i int, a site.Address) PropertyView {
	lines := a.Lines()
	return PropertyView{ID: strconv.Itoa(i + 1), Label: a.Label, Lines: lines, OneLine: strings.Join(lines, ", ")}
}

// telNumber keeps the digits of a phone number for a tel: link, adding the
// country code of North American numbers written without it.
func telNumber(phone, region string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	switch {
	case strings.HasPrefix(strings.TrimSpace(phone), "+"):
		return "+" + digits
	case (region == "US" || region == "CA") && len(digits) == 10:
		return "+1" + digits
	case (region == "US" || region == "CA") && len(digits) == 11 && digits[0] == '1':
		return "+" + digits
	}
	return digits
}

var methodLabels = map[string]string{
	"check": "Check", "cheque": "Cheque", "cash": "Cash", "card": "Card", "credit card": "Credit card",
	"bank transfer": "Bank transfer", "ach": "ACH bank transfer", "wire": "Wire transfer", "eft": "EFT",
	"stripe": "Card (online)", "e-transfer": "E-transfer",
}

// methodLabel is a payment method as clients read it.
func methodLabel(m string) string {
	if l, ok := methodLabels[strings.ToLower(strings.TrimSpace(m))]; ok {
		return l
	}
	if m == "" {
		return ""
	}
	return strings.ToUpper(m[:1]) + m[1:]
}

func (p *presenter) clientView(c *site.Client) *ClientView {
	root := "/c/" + c.ID + "/"
	v := &ClientView{ID: c.ID, Name: c.Name, Company: c.Company, DisplayName: c.DisplayName(), Billing: c.BillingAddress.Lines(), Statement: root + "statement/"}
	if p.pdfs {
		v.Archive = root + archivePath(c.ID)
	}
	for _, ct := range c.Contacts {
		v.Contacts = append(v.Contacts, ContactView{Name: ct.Name, Email: ct.Email, Phone: ct.Phone})
	}
	for i, a := range c.Properties {
		v.Properties = append(v.Properties, propertyView(i, a))
	}
	v.Autopay = c.Autopay && c.Card != nil && p.cfg.Settings.AutopayOn()
	if cd := c.Card; cd != nil && p.cfg.Settings.CardsOn() {
		v.Card = &CardView{Brand: cardBrand(cd.Brand), Last4: cd.Last4, Expires: fmt.Sprintf("%02d/%d", cd.ExpMonth, cd.ExpYear%100)}
		if cd.ExpYear > 0 {
			v.Card.ExpiresISO = fmt.Sprintf("%04d-%02d", cd.ExpYear, cd.ExpMonth)
		}
	}
	if v.Autopay && !c.AutopaySince.IsZero() {
		v.AutopaySince = p.dateTime(c.AutopaySince)
	}
	return v
}

// autopayNote says when an invoice will be charged to the saved card
// ("Visa •••• 4242 on Dec 14, 2026"): autopay is on, the invoice has
// something to pay online and a due date not before autopay was turned on
// (the edge charges those, on that day); else "".
func (p *presenter) autopayNote(c *site.Client, inv *site.Invoice, v *InvoiceView) string {
	if !c.Autopay || c.Card == nil || !p.cfg.Settings.AutopayOn() || v.Pay == nil || !inv.Due.Set || inv.AutopayFailed {
		return ""
	}
	if since := p.isoDate(c.AutopaySince); since != "" && inv.Due.Raw < since {
		return ""
	}
	return cardBrand(c.Card.Brand) + " •••• " + c.Card.Last4 + " on " + p.date(inv.Due)
}

// cardBrand is Stripe's name of a card brand as people write it.
func cardBrand(b string) string {
	switch b {
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex":
		return "American Express"
	case "discover":
		return "Discover"
	case "diners":
		return "Diners Club"
	case "jcb":
		return "JCB"
	case "unionpay":
		return "UnionPay"
	case "", "unknown":
		return "Card"
	}
	return strings.ToUpper(b[:1]) + b[1:]
}

// Visible quote and invoice states (design: never draft or archived quotes,
// never draft or bad-debt invoices).
func QuoteVisible(q *site.Quote) bool {
	return q.Status != site.QuoteDraft && q.Status != site.QuoteArchived
}

// InvoiceVisible reports whether a client may see the invoice.
func InvoiceVisible(inv *site.Invoice) bool {
	return inv.Status != site.InvoiceDraft && inv.Status != site.InvoiceBadDebt
}

func quoteBadge(q *site.Quote) Badge {
	switch {
	case q.Expired:
		return Badge{"Expired", "muted"}
	case q.Status == site.QuoteAwaitingResponse:
		return Badge{"Awaiting response", "warn"}
	case q.Status == site.QuoteApproved:
		return Badge{"Approved", "ok"}
	case q.Status == site.QuoteChangesRequested:
		return Badge{"Changes requested", "info"}
	case q.Status == site.QuoteConverted:
		return Badge{"Converted to job", "ok"}
	}
	return Badge{q.Status, "muted"}
}

func invoiceBadge(inv *site.Invoice) Badge {
	switch inv.State {
	case site.InvoicePaid:
		return Badge{"Paid", "ok"}
	case site.InvoicePastDue:
		return Badge{"Past due", "danger"}
	case site.InvoiceAwaitingPayment:
		if inv.Paid > 0 {
			return Badge{"Partially paid", "info"}
		}
		return Badge{"Awaiting payment", "warn"}
	}
	return Badge{inv.State, "muted"}
}

func (p *presenter) taxName(id string) string {
	for _, t := range p.cfg.Taxes {
		if t.ID == id {
			return t.Name
		}
	}
	return ""
}

// lines is the line items of a document; choose is which optional lines
// the client chose (nil: staff's defaults), as its totals were worked out.
func (p *presenter) lines(lines []site.Line, totals site.Totals, docTax string, choose map[int]bool) ([]LineView, error) {
	out := make([]LineView, len(lines))
	for i, ln := range lines {
		tax := ln.Tax
		if tax == "" {
			tax = docTax
		}
		out[i] = LineView{
			Name: ln.Name, Description: Markdown(ln.Description),
			Quantity: p.cfg.Locale.FormatDecimal(ln.Quantity.Dec), Unit: ln.Unit,
			UnitPrice: p.money(ln.UnitPrice.Amt),
			Total:     p.money(totals.Lines[i]),
			Tax:       p.taxName(tax),
			Optional:  ln.Optional, Selected: site.LineSelected(ln, i, choose),
		}
		if !out[i].Selected {
			// Not counted in the totals: show what it would cost.
			a, err := money.Mul(ln.UnitPrice.Amt, ln.Quantity.Dec)
			if err != nil {
				return nil, fmt.Errorf("line %d (%s): quantity × unit price: %w", i+1, ln.Name, err)
			}
			out[i].Total = p.money(a)
		}
	}
	return out, nil
}

func (p *presenter) totals(discounts []site.Discount, t site.Totals) TotalsView {
	v := TotalsView{Subtotal: p.money(t.Subtotal), Total: p.money(t.Total)}
	for i, d := range discounts {
		label := d.Description
		if label == "" {
			label = "Discount"
		}
		if d.Percent.Set {
			label += " (" + p.cfg.Locale.FormatDecimal(d.Percent.Dec) + "%)"
		}
		v.Discounts = append(v.Discounts, MoneyRow{label, p.money(-t.Discounts[i])})
	}
	for _, tt := range t.Taxes {
		v.Taxes = append(v.Taxes, MoneyRow{fmt.Sprintf("%s %s%% on %s", tt.Tax.Name, p.cfg.Locale.FormatDecimal(tt.Tax.Rate.Dec), p.money(tt.Base)), p.money(tt.Amount)})
	}
	return v
}

func (p *presenter) quote(root string, c *site.Client, q *site.Quote) (*QuoteView, error) {
	lines, err := p.lines(q.Lines, q.Totals, q.Tax, q.Chosen)
	if err != nil {
		return nil, fmt.Errorf("%s: quote %s: %w", q.File, q.Number, err)
	}
	v := &QuoteView{
		Number: q.Number, Title: q.Title, URL: root + "quotes/" + q.Number + "/",
		Status: quoteBadge(q), Awaiting: q.Status == site.QuoteAwaitingResponse && !q.Expired,
		Issued: p.date(q.Issued), IssuedISO: q.Issued.Raw, ValidUntil: p.date(q.ValidUntil), ValidUntilISO: q.ValidUntil.Raw, Expired: q.Expired,
		Lines: lines, Totals: p.totals(q.Discounts, q.Totals), Total: p.money(q.Totals.Total),
		Notes: Markdown(q.Notes), Terms: Markdown(q.Terms), Request: q.Request,
	}
	for _, ln := range q.Lines {
		v.HasOptional = v.HasOptional || ln.Optional
	}
	if p.pdfs {
		v.PDF = root + quotePDF(q.Number)
	}
	if q.Property != nil && *q.Property >= 1 && *q.Property <= len(c.Properties) {
		pv := propertyView(*q.Property-1, c.Properties[*q.Property-1])
		v.Property = &pv
	}
	if q.Deposit != nil && q.DepositDue > 0 {
		v.Deposit = p.money(q.DepositDue)
		if q.Deposit.Percent.Set {
			v.DepositRule = p.cfg.Locale.FormatDecimal(q.Deposit.Percent.Dec) + "% of the total"
		}
	}
	v.Version = q.Version
	cfg := p.cfg.Settings
	awaiting := (q.Status == site.QuoteAwaitingResponse || q.Status == site.QuoteChangesRequested) && !q.Expired && q.Approval == nil
	if awaiting && site.On(cfg.Hub) {
		a := &ApproveView{Action: v.URL + "approve", Signature: site.On(cfg.RequireSignature), Terms: strings.TrimSpace(q.Terms) != "", Deposit: v.Deposit}
		var opts []int
		for i, ln := range q.Lines {
			if ln.Optional {
				opts = append(opts, i)
				a.Options = append(a.Options, OptionView{Index: i, Name: ln.Name, Amount: p.money(q.Totals.Lines[i]), Selected: site.LineSelected(ln, i, nil)})
				if a.Options[len(a.Options)-1].Amount == p.money(0) {
					if t, err := site.ComputeTotals(q.Lines, q.Discounts, q.Tax, p.cfg.Taxes, map[int]bool{i: true}); err == nil {
						a.Options[len(a.Options)-1].Amount = p.money(t.Lines[i])
					}
				}
			}
		}
		a.Choices = p.choices(q, opts)
		v.Approve = a
		if site.On(cfg.ChangeRequests) && q.Status == site.QuoteAwaitingResponse {
			v.ChangesURL = v.URL + "changes"
		}
	}
	if ap := q.Approval; ap != nil {
		av := &ApprovalView{Name: ap.Name, Email: ap.Email, Date: p.dateTime(ap.At), DateISO: p.isoDate(ap.At), Terms: ap.Terms, Version: ap.Version,
			At: ap.At.In(p.cfg.Location).Format("2006-01-02 15:04 MST"), IP: ap.IP, PageSHA: ap.PageSHA, sig: ap.Signature}
		if p.pdfs {
			av.PDF = root + approvalPDF(q.Number)
		}
		if len(ap.Signature) > 0 {
			av.Signature = v.URL + "signature.png"
		}
		for i, ln := range q.Lines {
			switch {
			case !ln.Optional:
			case site.LineSelected(ln, i, q.Chosen):
				av.Options = append(av.Options, ln.Name)
			default:
				av.NotChosen = append(av.NotChosen, ln.Name)
			}
		}
		v.Approval = av
	}
	for i, ch := range q.Changes {
		v.History = append(v.History, HistoryView{Date: p.dateTime(ch.At), DateISO: p.isoDate(ch.At), Text: "Changes requested by " + ch.Email, Message: ch.Message})
		next := q.Version
		if i+1 < len(q.Changes) {
			next = q.Changes[i+1].Version
		}
		if next != ch.Version {
			v.History = append(v.History, HistoryView{Text: "Quote updated in answer"})
		}
	}
	if q.DepositPaid > 0 {
		v.DepositPaid = p.money(q.DepositPaid)
	}
	if q.DepositPending > 0 {
		v.DepositProcessing = p.money(q.DepositPending)
	}
	for _, op := range q.DepositPayments {
		if op.State == events.PaymentPaid {
			id := op.ReceiptID()
			rv := &ReceiptView{ID: id, URL: root + "receipts/" + id + "/", Date: p.dateTime(op.Settled), DateISO: p.isoDate(op.Settled),
				Amount: p.money(money.Amount(op.Amount)), Method: onlineMethod(op), Reference: op.Reference, Online: true, QuoteNumber: q.Number, QuoteURL: v.URL, amount: money.Amount(op.Amount)}
			if p.pdfs {
				rv.PDF = root + receiptPDF(id)
			}
			v.DepositReceipts = append(v.DepositReceipts, rv)
		}
	}
	if due := q.DepositDue - q.DepositPaid - q.DepositPending; q.Status == site.QuoteApproved && q.DepositDue > 0 && due > 0 && p.payOnline {
		v.PayDeposit = &PayView{Action: v.URL + "deposit", Amount: p.money(due)}
	}
	return v, nil
}

// maxChoices bounds the optional lines whose combinations are worked out
// for the page (2^6 = 64 totals).
const maxChoices = 6

// choices is, for each combination of the optional lines opts, the total
// and the deposit, as JSON: {"5":["$1,200.00","$360.00"],...}.
func (p *presenter) choices(q *site.Quote, opts []int) string {
	if len(opts) == 0 || len(opts) > maxChoices {
		return ""
	}
	m := map[string][2]string{}
	for mask := range 1 << len(opts) {
		choose := map[int]bool{}
		for b, i := range opts {
			choose[i] = mask&(1<<b) != 0
		}
		t, err := site.ComputeTotals(q.Lines, q.Discounts, q.Tax, p.cfg.Taxes, choose)
		if err != nil {
			return ""
		}
		qq := *q
		qq.Totals = t
		dep := ""
		if d := site.DepositDue(&qq); d > 0 {
			dep = p.money(d)
		}
		m[strconv.Itoa(mask)] = [2]string{p.money(t.Total), dep}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}

func (p *presenter) invoice(root string, inv *site.Invoice, quoteURLs map[string]string) (*InvoiceView, error) {
	lines, err := p.lines(inv.Lines, inv.Totals, inv.Tax, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: invoice %s: %w", inv.File, inv.Number, err)
	}
	v := &InvoiceView{
		Number: inv.Number, Subject: inv.Subject, URL: root + "invoices/" + inv.Number + "/",
		Status: invoiceBadge(inv), PastDue: inv.State == site.InvoicePastDue,
		Issued: p.date(inv.Issued), IssuedISO: inv.Issued.Raw, Due: p.date(inv.Due), DueISO: inv.Due.Raw,
		Lines: lines, Totals: p.totals(inv.Discounts, inv.Totals), Total: p.money(inv.Totals.Total),
		Balance: p.money(max(inv.Balance, 0)), HasBalance: inv.Balance > 0 && inv.State != site.InvoicePaid,
		QuoteNumber: inv.Quote, QuoteURL: quoteURLs[inv.Quote], Notes: Markdown(inv.Notes),
	}
	if inv.Paid > 0 {
		v.Paid = p.money(inv.Paid)
	}
	// Payments staff entered and settled online payments, by date; each
	// has a receipt.
	type paid struct {
		id, date, iso, method, ref string
		amount                     money.Amount
		online                     bool
	}
	var all []paid
	for i, pm := range inv.Payments {
		all = append(all, paid{id: fmt.Sprintf("%s-%d", inv.Number, i+1), date: p.date(pm.Date), iso: pm.Date.Raw, method: methodLabel(pm.Method), ref: pm.Reference, amount: pm.Amount.Amt})
	}
	for _, op := range inv.Online {
		if op.State != events.PaymentPaid {
			v.Processing = append(v.Processing, ProcessingView{Date: p.dateTime(op.Created), DateISO: p.isoDate(op.Created), Amount: p.money(money.Amount(op.Amount)), Method: onlineMethod(op)})
			continue
		}
		all = append(all, paid{id: op.ReceiptID(), date: p.dateTime(op.Settled), iso: p.isoDate(op.Settled), method: onlineMethod(op), ref: op.Reference, amount: money.Amount(op.Amount), online: true})
	}
	slices.SortStableFunc(all, func(a, b paid) int { return cmp.Compare(a.iso, b.iso) })
	if p.pdfs {
		v.PDF = root + invoicePDF(inv.Number)
	}
	left := inv.Totals.Total
	for _, pm := range all {
		left -= pm.amount
		id := pm.id
		rv := &ReceiptView{
			ID: pm.id, URL: root + "receipts/" + pm.id + "/", Date: pm.date, DateISO: pm.iso,
			Amount: p.money(pm.amount), Method: pm.method, Reference: pm.ref, Online: pm.online, amount: pm.amount,
			InvoiceNumber: inv.Number, InvoiceSubject: inv.Subject, InvoiceURL: v.URL,
			InvoiceTotal: v.Total, BalanceAfter: p.money(max(left, 0)),
		}
		if p.pdfs {
			rv.PDF = root + receiptPDF(id)
		}
		v.Payments = append(v.Payments, rv)
	}
	if inv.Processing > 0 {
		v.ProcessingTotal = p.money(inv.Processing)
		if inv.Balance-inv.Processing <= 0 && v.HasBalance {
			v.Status = Badge{"Payment processing", "info"}
		}
	}
	if inv.Balance < 0 {
		v.Credit = p.money(-inv.Balance)
	}
	due := inv.Balance - inv.Processing
	if v.HasBalance && due > 0 && p.payOnline {
		v.Pay = &PayView{Action: v.URL + "pay", Amount: p.money(due), SaveCard: p.cfg.Settings.CardsOn()}
		if minPart := p.cfg.Settings.MinimumPayment.Amt; site.On(p.cfg.Settings.Deposits) && due > minPart && due > 1 {
			v.Pay.Part = true
			v.Pay.Min = p.money(max(minPart, 1))
			v.Pay.MinValue = p.plain(max(minPart, 1))
			v.Pay.MaxValue = p.plain(due)
			v.Pay.Step = p.step()
		}
	}
	return v, nil
}

func subscriptionBadge(state string) Badge {
	switch state {
	case site.SubscriptionActive:
		return Badge{"Active", "ok"}
	case site.SubscriptionPaused:
		return Badge{"Paused", "warn"}
	case site.SubscriptionCancelled:
		return Badge{"Cancelled", "muted"}
	case site.SubscriptionEnded:
		return Badge{"Ended", "muted"}
	}
	return Badge{state, "muted"}
}

func (p *presenter) subscription(root string, s *site.Subscription) (*SubscriptionView, error) {
	lines, err := p.lines(s.Lines, s.Totals, s.Tax, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: subscription %s: %w", s.File, s.Number, err)
	}
	v := &SubscriptionView{
		Number: s.Number, Title: s.Title, URL: root + "subscriptions/" + s.Number + "/",
		Badge: subscriptionBadge(s.State), Amount: p.money(s.Totals.Total), Every: s.Cadence(),
		Start: p.date(s.Start), StartISO: s.Start.Raw,
		Lines: lines, Totals: p.totals(s.Discounts, s.Totals), Notes: Markdown(s.Notes),
	}
	last := s.LastPeriod()
	if last >= 0 {
		v.Ends = fmt.Sprintf("After %d charges, the last on %s", last+1, p.cfg.Locale.Date(s.PeriodStart(last)))
	}
	if !s.Next.IsZero() {
		v.Next, v.NextISO, v.Soon = p.cfg.Locale.Date(s.Next), s.Next.Format(time.DateOnly), s.Soon
		for i := s.NextK + 1; i <= s.NextK+3 && (last < 0 || i <= last); i++ {
			v.Upcoming = append(v.Upcoming, p.cfg.Locale.Date(s.PeriodStart(i)))
		}
	}
	p.subscriptionBilling(root, s, v)
	return v, nil
}

// subscriptionBilling adds to v what was recorded of s online: whether it
// can be started, its state and start, and each period's payment with its
// receipt.
func (p *presenter) subscriptionBilling(root string, s *site.Subscription, v *SubscriptionView) {
	b := s.Billing
	if b == nil {
		if s.State == site.SubscriptionActive && p.payOnline {
			v.StartAction = v.URL + "start"
		}
		return
	}
	v.Billing = b.State
	if !b.Started.IsZero() {
		v.ActiveSince, v.ActiveSinceISO = p.dateTime(b.Started), p.isoDate(b.Started)
	}
	switch b.State {
	case events.BillingPastDue:
		v.Badge = Badge{"Past due", "warn"}
	case events.BillingCancelled:
		v.Badge = Badge{"Cancelled", "muted"}
	}
	if b.State != events.BillingCancelled && p.payOnline {
		v.ManageAction = v.URL + "manage"
	}
	for i := len(s.Payments) - 1; i >= 0; i-- {
		op := s.Payments[i]
		pv := PeriodView{Period: p.dateTime(op.Period), PeriodISO: p.isoDate(op.Period), Amount: p.money(money.Amount(op.Amount)), Failed: op.State == events.PaymentFailed}
		if op.State == events.PaymentPaid {
			id := op.ReceiptID()
			pv.Receipt = &ReceiptView{ID: id, URL: root + "receipts/" + id + "/", Date: p.dateTime(op.Settled), DateISO: p.isoDate(op.Settled),
				Amount: pv.Amount, Method: onlineMethod(op), Reference: op.Reference, Online: true, amount: money.Amount(op.Amount),
				SubscriptionNumber: s.Number, SubscriptionTitle: s.Title, SubscriptionURL: v.URL, Period: pv.Period}
			if p.pdfs {
				pv.Receipt.PDF = root + receiptPDF(id)
			}
		}
		v.Periods = append(v.Periods, pv)
	}
}

func onlineMethod(op events.Payment) string {
	m := "Paid online"
	switch op.Method {
	case "card":
		m = "Card, paid online"
	case "us_bank_account", "sepa_debit", "bacs_debit", "au_becs_debit", "acss_debit":
		m = "Bank debit, paid online"
	case "link":
		m = "Link, paid online"
	}
	if op.Kind == events.ForDeposit {
		m = "Deposit on quote " + op.Document + " · " + m
	}
	return m
}

// dateTime formats when something happened on the site's calendar.
func (p *presenter) dateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(p.cfg.Location)
	return p.cfg.Locale.Date(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
}

func (p *presenter) isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.cfg.Location).Format(time.DateOnly)
}

// plain is an amount as a form field's number ("1234.50").
func (p *presenter) plain(a money.Amount) string {
	d := p.cfg.Currency.Digits
	if d == 0 {
		return fmt.Sprintf("%d", a)
	}
	scale := money.Amount(1)
	for range d {
		scale *= 10
	}
	return fmt.Sprintf("%d.%0*d", a/scale, d, a%scale)
}

// step is the smallest amount a form field takes ("0.01").
func (p *presenter) step() string {
	d := p.cfg.Currency.Digits
	if d == 0 {
		return "1"
	}
	return "0." + strings.Repeat("0", d-1) + "1"
}

func humanSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.0f KB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// portalFile is where a portal's file is published inside a bundle.
func portalFile(pt *site.Portal, rel string) string {
	return "portals/" + pt.Slug + "/files/" + rel
}

func (p *presenter) portal(root string, pt *site.Portal) *PortalView {
	v := &PortalView{Slug: pt.Slug, Title: pt.Title, URL: root + "portals/" + pt.Slug + "/", Kind: pt.Kind, Summary: pt.Summary, Body: Markdown(pt.Body)}
	if pt.Uploads && !pt.Shared {
		v.TakesUploads, v.UploadAction = true, root+"portals/"+pt.Slug+"/uploads"
	}
	switch pt.Kind {
	case "shared":
		v.KindLabel = "For all clients"
	case "client":
		v.KindLabel = "Your portal"
	default:
		v.KindLabel = "Project"
	}
	if pt.Cover != "" {
		v.Cover = root + portalFile(pt, "cover/"+pt.Cover)
		if pt.CoverWidth > 0 {
			v.CoverSize = &Size{pt.CoverWidth, pt.CoverHeight}
		}
	}
	for _, u := range pt.Updates {
		v.Updates = append(v.Updates, UpdateView{Title: u.Title, Date: p.date(u.Date), DateISO: u.Date.Raw, Body: Markdown(u.Body)})
	}
	if len(v.Updates) > 0 {
		v.LastUpdate, v.LastUpdateISO = v.Updates[0].Date, v.Updates[0].DateISO
	}
	for _, d := range pt.Documents {
		if len(v.Folders) == 0 || v.Folders[len(v.Folders)-1].Name != d.Folder {
			v.Folders = append(v.Folders, FolderView{Name: d.Folder})
		}
		f := &v.Folders[len(v.Folders)-1]
		icon, kind := fileIcon(d.Name)
		f.Documents = append(f.Documents, DocumentView{Title: d.Title, Name: d.Name, URL: root + escapePath(portalFile(pt, "docs/"+d.Path)), Size: humanSize(d.Size), Type: d.Type, Icon: icon, Kind: kind})
		v.DocCount++
	}
	for _, l := range pt.Links {
		host := ""
		if u, err := url.Parse(l.URL); err == nil {
			host = strings.TrimPrefix(u.Host, "www.")
		}
		v.Links = append(v.Links, LinkView{Title: l.Title, URL: l.URL, Host: host, Description: l.Description})
	}
	for _, e := range pt.Embeds {
		v.Embeds = append(v.Embeds, EmbedView{Title: e.Title, Provider: e.Provider, Src: e.Src, Link: e.URL})
	}
	return v
}

// iconKinds colour a document's file-type icon by its extension.
var iconKinds = map[string]string{
	"pdf": "pdf", "csv": "sheet", "xls": "sheet", "xlsx": "sheet", "ods": "sheet",
	"doc": "doc", "docx": "doc", "odt": "doc", "rtf": "doc", "ppt": "slides", "pptx": "slides", "odp": "slides",
	"jpg": "image", "jpeg": "image", "png": "image", "gif": "image", "webp": "image", "svg": "image", "heic": "image",
	"txt": "text", "md": "text", "zip": "archive", "mp4": "media", "mov": "media", "mp3": "media",
}

// fileIcon is the label and colour of a document's file-type icon: its
// extension, upper-case (at most four letters), and its kind.
func fileIcon(name string) (label, kind string) {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
	kind = cmp.Or(iconKinds[ext], "file")
	if len(ext) > 4 || ext == "" {
		return "", kind
	}
	return strings.ToUpper(ext), kind
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return path.Join(segs...)
}

// attention lists what needs the client first: invoices past due, then
// invoices with a balance by due date, then quotes awaiting a response.
func (p *presenter) attention(quotes []*QuoteView, invs []*InvoiceView) []AttentionItem {
	var out []AttentionItem
	for pass := 0; pass < 2; pass++ {
		for i := len(invs) - 1; i >= 0; i-- { // oldest first
			if v := invs[i]; v.HasBalance && v.PastDue == (pass == 0) {
				out = append(out, invoiceItem(v))
			}
		}
	}
	for i := len(quotes) - 1; i >= 0; i-- {
		if q := quotes[i]; q.Awaiting {
			out = append(out, quoteItem(q))
		}
	}
	return out
}

// invoiceItem is an invoice as a row with its call to action.
func invoiceItem(v *InvoiceView) AttentionItem {
	it := AttentionItem{Kind: "invoice", Number: v.Number, Title: v.Subject, URL: v.URL, Detail: "Due " + v.Due, Amount: v.Total, Badge: v.Status}
	if v.HasBalance {
		it.Amount = v.Balance
	} else {
		it.Detail = "Issued " + v.Issued
	}
	if v.Pay != nil {
		it.Action = "Pay"
	}
	return it
}

// quoteItem is a quote as a row with its call to action.
func quoteItem(q *QuoteView) AttentionItem {
	d := "Issued " + q.Issued
	if q.Awaiting && q.ValidUntil != "" {
		d = "Valid until " + q.ValidUntil
	}
	it := AttentionItem{Kind: "quote", Number: q.Number, Title: q.Title, URL: q.URL, Detail: d, Amount: q.Total, Badge: q.Status}
	if q.Approve != nil {
		it.Action = "Review & approve"
	}
	return it
}

// subscriptionItem is a subscription as a row.
func subscriptionItem(v *SubscriptionView) AttentionItem {
	d := "Every " + v.Every
	if v.Next != "" {
		d += " · next charge " + v.Next
	}
	return AttentionItem{Kind: "subscription", Number: v.Number, Title: v.Title, URL: v.URL, Detail: d, Amount: v.Amount, Badge: v.Badge}
}

// portalBilling gives each of the client's portals the quotes, invoices
// and subscriptions that name it (in that order, as listed elsewhere).
func portalBilling(c *site.Client, portals []*PortalView, quotes []*QuoteView, invs []*InvoiceView, subs []*SubscriptionView) {
	bySlug := map[string]*PortalView{}
	for _, pv := range portals {
		if pv.Kind != "shared" {
			bySlug[pv.Slug] = pv
		}
	}
	slug := map[string]string{} // kind/number → portal
	for _, q := range c.Quotes {
		slug["quote/"+q.Number] = q.Portal
	}
	for _, inv := range c.Invoices {
		slug["invoice/"+inv.Number] = inv.Portal
	}
	for _, sub := range c.Subs {
		slug["subscription/"+sub.Number] = sub.Portal
	}
	add := func(it AttentionItem) {
		if pv := bySlug[slug[it.Kind+"/"+it.Number]]; pv != nil {
			pv.Billing = append(pv.Billing, it)
		}
	}
	for _, q := range quotes {
		add(quoteItem(q))
	}
	for _, v := range invs {
		add(invoiceItem(v))
	}
	for _, v := range subs {
		add(subscriptionItem(v))
	}
}

// clientPages is every page of one client's bundle, as view models.
type clientPages struct {
	base      Page // shared fields
	home      *HomeView
	quotes    []*QuoteView
	invoices  []*InvoiceView
	subs      []*SubscriptionView
	receipts  []*ReceiptView
	portals   []*PortalView
	requests  *RequestsView
	messages  *MessagesView
	files     []outFile // files made from recorded facts (signature images)
	statement *StatementView
}

func (p *presenter) client(c *site.Client, shared []*site.Portal, sv *SiteView) (*clientPages, error) {
	root := "/c/" + c.ID + "/"
	cp := &clientPages{base: Page{Site: sv, Client: p.clientView(c), Root: root, CSS: p.css, JS: p.js}}
	quoteURLs := map[string]string{}
	for _, q := range c.Quotes {
		if QuoteVisible(q) {
			qv, err := p.quote(root, c, q)
			if err != nil {
				return nil, err
			}
			qv.Activity = p.quoteHistory(c, q)
			cp.quotes = append(cp.quotes, qv)
			quoteURLs[q.Number] = qv.URL
			if qv.Approval != nil && qv.Approval.Signature != "" {
				cp.files = append(cp.files, outFile{path: "quotes/" + q.Number + "/signature.png", data: q.Approval.Signature})
			}
		}
	}
	var owed money.Amount
	var visible []*site.Invoice
	for _, inv := range c.Invoices {
		if !InvoiceVisible(inv) {
			continue
		}
		visible = append(visible, inv)
		iv, err := p.invoice(root, inv, quoteURLs)
		if err != nil {
			return nil, err
		}
		iv.Activity = p.invoiceHistory(c, inv)
		iv.Autopay, iv.AutopayFailed = p.autopayNote(c, inv, iv), inv.AutopayFailed && iv.Pay != nil
		cp.invoices = append(cp.invoices, iv)
		cp.receipts = append(cp.receipts, iv.Payments...)
		if iv.HasBalance {
			owed += inv.Balance
		}
	}
	// Deposits paid on quotes not invoiced yet have their receipts too.
	seen := map[string]bool{}
	for _, rc := range cp.receipts {
		seen[rc.ID] = true
	}
	for _, qv := range cp.quotes {
		for _, rc := range qv.DepositReceipts {
			if !seen[rc.ID] {
				cp.receipts = append(cp.receipts, rc)
				seen[rc.ID] = true
			}
		}
	}
	for _, sub := range c.Subs {
		if sub.Status == site.SubscriptionDraft {
			continue // drafts never reach any output
		}
		sv, err := p.subscription(root, sub)
		if err != nil {
			return nil, err
		}
		cp.subs = append(cp.subs, sv)
		for _, pv := range sv.Periods {
			if pv.Receipt != nil {
				cp.receipts = append(cp.receipts, pv.Receipt)
			}
		}
	}
	for _, pt := range c.Portals {
		cp.portals = append(cp.portals, p.portal(root, pt))
	}
	for _, pt := range shared {
		cp.portals = append(cp.portals, p.portal(root, pt))
	}
	for _, rc := range cp.receipts {
		year, _ := strconv.Atoi(rc.DateISO[:min(4, len(rc.DateISO))])
		rc.Activity = p.history(c, events.DocKey(events.DocReceipt, rc.ID), year)
	}
	portalBilling(c, cp.portals, cp.quotes, cp.invoices, cp.subs)
	h := &HomeView{Attention: p.attention(cp.quotes, cp.invoices), Portals: cp.portals}
	h.Quotes = cp.quotes[:min(3, len(cp.quotes))]
	h.Invoices = cp.invoices[:min(3, len(cp.invoices))]
	sortReceipts(cp.receipts)
	h.Receipts = cp.receipts[:min(3, len(cp.receipts))]
	for _, sv := range cp.subs {
		if sv.Soon {
			h.Upcoming = append(h.Upcoming, sv)
		}
	}
	if owed > 0 {
		h.Balance = p.money(owed)
		var due []*InvoiceView
		for _, it := range h.Attention { // invoices first, past due, then by due date
			if it.Kind == "invoice" {
				iv := cp.invoices[slices.IndexFunc(cp.invoices, func(v *InvoiceView) bool { return v.Number == it.Number })]
				due = append(due, iv)
				h.PastDue = h.PastDue || iv.PastDue
			}
		}
		switch {
		case len(due) == 1:
			h.PayURL = due[0].URL
		case len(due) > 1:
			h.PayURL, h.PayMany = root+"invoices/", true
		}
	}
	cp.home = h
	cp.statement = p.statement(c.ID, visible, cp.invoices, cp.subs)
	hasDocs := len(cp.quotes) > 0 || len(cp.invoices) > 0
	for _, pv := range cp.portals {
		hasDocs = hasDocs || pv.DocCount > 0
	}
	if !hasDocs {
		cp.base.Client.Archive = "" // no zip is made
	}
	cp.requests = &RequestsView{FormAction: root + "requests/new", Properties: cp.base.Client.Properties}
	cp.requests.Items, cp.files = p.requests(root, c, cp, cp.files)
	ts := p.threads(root, c, sv.Name)
	for _, q := range cp.quotes {
		q.Thread = ts.thread("quote/"+q.Number, "Questions about this quote?", "Quote "+q.Number+" · "+q.Title)
	}
	for _, inv := range cp.invoices {
		inv.Thread = ts.thread("invoice/"+inv.Number, "Questions about this invoice?", "Invoice "+inv.Number+" · "+inv.Subject)
	}
	for _, pv := range cp.portals {
		pv.Thread = ts.thread("portal/"+pv.Slug, "Questions or comments?", pv.Title)
	}
	for i := range cp.requests.Items {
		r := &cp.requests.Items[i]
		r.Thread = ts.thread("request/"+r.ID, "Messages about this request", "Request "+r.ID+" · "+r.Title)
	}
	cp.messages = ts.page()
	cp.files = append(cp.files, ts.files...)
	cp.files = append(cp.files, p.portalUploads(root, c, cp.portals)...)
	h.Messages = cp.messages
	return cp, nil
}

func sortReceipts(rs []*ReceiptView) {
	slices.SortStableFunc(rs, func(a, b *ReceiptView) int { return cmp.Compare(b.DateISO, a.DateISO) }) // newest first
}

// directoryEntry is the client's entry in the edge's directory: who may
// log in, and the facts the edge acts on for each visible document.
func (p *presenter) directoryEntry(c *site.Client, cp *clientPages) bundle.DirClient {
	d := bundle.DirClient{ID: c.ID, Name: c.Name, DisplayName: c.DisplayName(), Language: c.Language}
	for _, ct := range c.Contacts {
		d.Contacts = append(d.Contacts, bundle.DirContact{Name: ct.Name, Email: ct.Email})
	}
	for _, pv := range cp.portals {
		if pv.TakesUploads {
			d.Uploads = append(d.Uploads, pv.Slug)
		}
	}
	slices.Sort(d.Uploads)
	cur := p.cfg.Currency.Code
	minPart := int64(0)
	if site.On(p.cfg.Settings.Deposits) {
		minPart = int64(max(p.cfg.Settings.MinimumPayment.Amt, 1))
	}
	qi := 0
	for _, q := range c.Quotes {
		if !QuoteVisible(q) {
			continue
		}
		v := cp.quotes[qi]
		qi++
		dd := bundle.DirDocument{Kind: "quote", Number: q.Number, Title: q.Title, Path: strings.TrimPrefix(v.URL, cp.base.Root), Amount: v.Total, Status: v.Status.Label,
			State: q.Status, Currency: cur, Total: int64(q.Totals.Total), Version: q.Version, Deposit: int64(q.DepositDue),
			Settling: int64(q.DepositPaid + q.DepositPending), Terms: strings.TrimSpace(q.Terms) != "", Expired: q.Expired, History: v.Activity.String()}
		if q.Status == site.QuoteApproved && q.DepositDue > 0 {
			dd.Due = int64(max(q.DepositDue-q.DepositPaid-q.DepositPending, 0))
		}
		for i, ln := range q.Lines {
			if ln.Optional {
				dd.Optional = append(dd.Optional, i)
				dd.OptionNames = append(dd.OptionNames, ln.Name)
			}
		}
		d.Documents = append(d.Documents, dd)
	}
	ii := 0
	for _, inv := range c.Invoices {
		if !InvoiceVisible(inv) {
			continue
		}
		v := cp.invoices[ii]
		ii++
		amt := v.Total
		if v.HasBalance {
			amt = v.Balance
		}
		dd := bundle.DirDocument{Kind: "invoice", Number: inv.Number, Title: inv.Subject, Path: strings.TrimPrefix(v.URL, cp.base.Root), Amount: amt, Status: v.Status.Label,
			State: inv.State, Currency: cur, Total: int64(inv.Totals.Total), MinPart: minPart, History: v.Activity.String()}
		if inv.Due.Set {
			dd.DueDate = inv.Due.T.Format(time.DateOnly)
		}
		for _, op := range inv.Online {
			if op.Kind == events.ForInvoice {
				dd.Settling += op.Amount
			}
		}
		if v.HasBalance {
			dd.Due = int64(max(inv.Balance-inv.Processing, 0))
		}
		d.Documents = append(d.Documents, dd)
	}
	si := 0
	for _, sub := range c.Subs {
		if sub.Status == site.SubscriptionDraft {
			continue
		}
		v := cp.subs[si]
		si++
		dd := bundle.DirDocument{Kind: "subscription", Number: sub.Number, Title: sub.Title, Path: strings.TrimPrefix(v.URL, cp.base.Root), Amount: v.Amount, Status: v.Badge.Label,
			State: sub.State, Currency: cur, Total: int64(sub.Totals.Total), Interval: sub.Interval, Every: max(sub.Every, 1), Start: sub.Start.T.Format(time.DateOnly)}
		if sub.Billing != nil {
			dd.Billing = sub.Billing.State
		}
		if last := sub.LastPeriod(); last >= 0 {
			dd.Periods = last + 1
		}
		d.Documents = append(d.Documents, dd)
	}
	return d
}

func (p *presenter) directorySite(sv *SiteView) bundle.DirSite {
	d := bundle.DirSite{
		Name: sv.Name, Email: sv.Email, Phone: sv.Phone, BaseURL: p.cfg.BaseURL, Color: p.cfg.Color,
		CSS: p.css, Logo: sv.Logo, Hub: sv.Hub, Requests: sv.Requests, Signature: sv.Signature,
		ChangeRequests: sv.ChangeReqs, Deposits: sv.Deposits, OnlinePayments: sv.PayOnline,
		Subscriptions: sv.Subs, SaveCards: sv.SaveCards, Autopay: sv.Autopay,
		FrameOrigins: site.EmbedOrigins, Icon: sv.Icon,
		Currency: p.cfg.Currency.Code, Locale: p.cfg.LocaleTag, TimeZone: p.cfg.Location.String(),
	}
	if sv.LogoSize != nil {
		d.LogoWidth, d.LogoHeight = sv.LogoSize.W, sv.LogoSize.H
	}
	return d
}

var timeLabels = map[string]string{"morning": "Morning", "afternoon": "Afternoon", "evening": "Evening"}

// requests are the client's work requests, newest first, with their
// photos as files of the bundle (only this client sees them).
func (p *presenter) requests(root string, c *site.Client, cp *clientPages, files []outFile) ([]RequestView, []outFile) {
	quoteOf := map[string]*QuoteView{}
	for _, q := range cp.quotes {
		if q.Request != "" {
			quoteOf[strings.ToUpper(q.Request)] = q
		}
	}
	var out []RequestView
	for i := len(c.Requests) - 1; i >= 0; i-- {
		r := c.Requests[i]
		v := RequestView{ID: r.ID, Title: r.Title, Date: p.dateTime(r.At), DateISO: p.isoDate(r.At), Details: r.Details, Time: timeLabels[r.Time],
			Badge: Badge{"Received", "info"}, Property: r.Property}
		if r.Status == events.RequestImported {
			v.Badge = Badge{"In review", "warn"}
		}
		if q := quoteOf[strings.ToUpper(r.ID)]; q != nil {
			v.Badge, v.QuoteNumber, v.QuoteURL = Badge{"Quoted", "ok"}, q.Number, q.URL
		}
		if n, err := strconv.Atoi(r.Property); err == nil && n >= 1 && n <= len(c.Properties) {
			pv := propertyView(n-1, c.Properties[n-1])
			v.Property = pv.OneLine
			if pv.Label != "" {
				v.Property = pv.Label + ": " + pv.OneLine
			}
		}
		for _, d := range r.Dates {
			if t, err := time.Parse(time.DateOnly, d); err == nil {
				v.Dates = append(v.Dates, p.cfg.Locale.Date(t))
			}
		}
		for _, ph := range r.Photos {
			if _, err := os.Stat(ph.Path); err != nil {
				continue // kept by an edge on another machine: listed by hub requests, not in this build
			}
			rel := "requests/" + r.ID + "/" + path.Base(ph.Path)
			files = append(files, outFile{path: rel, src: ph.Path})
			v.Photos = append(v.Photos, PhotoView{Name: ph.Name, URL: root + rel})
		}
		out = append(out, v)
	}
	return out, files
}
