package generator

import (
	"html"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/pdf"
)

// Where a client's PDFs and documents archive are published in its bundle.
// Each file name carries the document's number so a download is well named.
func quotePDF(number string) string { return "quotes/" + number + "/" + number + ".pdf" }
func approvalPDF(number string) string {
	return "quotes/" + number + "/approval-" + number + ".pdf"
}
func invoicePDF(number string) string { return "invoices/" + number + "/" + number + ".pdf" }
func receiptPDF(id string) string     { return "receipts/" + id + "/receipt-" + id + ".pdf" }
func statementPDF(client string) string {
	return "statement/statement-" + client + ".pdf"
}
func archivePath(client string) string { return "download/" + client + "-documents.zip" }

// pdfSet renders one client's PDFs, reusing those of its previous bundle
// whose Doc key is unchanged.
type pdfSet struct {
	oldKeys  map[string]string // bundle path → Doc key, in the previous bundle
	oldDir   string            // the previous bundle ("" when none)
	keys     map[string]string // bundle path → Doc key, in this one
	files    []outFile
	dates    []time.Time // each file's Doc date, for the archive
	rendered int
	reused   int
	elapsed  time.Duration
}

func newPDFSet(old *clientState, oldDir string) *pdfSet {
	ps := &pdfSet{oldDir: oldDir, keys: map[string]string{}}
	if old != nil && oldDir != "" {
		ps.oldKeys = old.PDFs
	}
	return ps
}

// add publishes d at path p: copied from the previous bundle when its key
// is unchanged and the file is there, else rendered.
func (ps *pdfSet) add(p string, d *pdf.Doc) error {
	key := d.Key()
	ps.keys[p] = key
	ps.dates = append(ps.dates, d.Date)
	if ps.oldKeys[p] == key {
		src := filepath.Join(ps.oldDir, filepath.FromSlash(p))
		if st, err := os.Stat(src); err == nil && st.Mode().IsRegular() {
			ps.files = append(ps.files, outFile{path: p, src: src})
			ps.reused++
			return nil
		}
	}
	start := time.Now()
	b, err := pdf.Render(d)
	ps.elapsed += time.Since(start)
	if err != nil {
		return err
	}
	ps.rendered++
	ps.files = append(ps.files, outFile{path: p, data: b})
	return nil
}

// business is the letterhead of every PDF of a build.
func (p *presenter) business(sv *SiteView) pdf.Business {
	c := BrandColors(sv.Brand)
	b := pdf.Business{
		Name: sv.Name, Address: sv.Address, Phone: sv.Phone, Email: sv.Email, Website: sv.WebsiteHost,
		Ink: c.BrandInk, Fill: c.BrandInk, OnFill: "#ffffff", Soft: c.BrandSoft,
	}
	if b.Website == "" {
		b.Website = sv.Website
	}
	if len(p.logo) > 0 {
		b.Logo, b.LogoType = p.logo, p.logoType
		b.LogoSum = p.logoSum
	}
	return b
}

// pdfImage returns the logo for PDFs: PNG and JPEG embed; other formats
// (SVG) cannot, and the PDF prints the business name instead.
func pdfImage(name string, b []byte) ([]byte, string) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png":
		return pdf.OpaquePNG(b), "png"
	case ".jpg", ".jpeg":
		return b, "jpg"
	}
	return nil, ""
}

func (p *presenter) paper() string {
	if p.cfg.Locale.PaperA4 {
		return pdf.A4
	}
	return pdf.Letter
}

// docDate is a document's ISO date as the PDF's creation date.
func docDate(iso string) time.Time {
	t, _ := time.Parse(time.DateOnly, iso) // zero when unset: Render uses a fixed date
	return t
}

// newDoc starts a Doc addressed to the client.
func (r *renderer) newDoc(cp *clientPages, kind, number, subject, to, dateISO string) *pdf.Doc {
	c := cp.base.Client
	lines := []string{c.DisplayName}
	if c.Company != "" && c.Company != c.DisplayName {
		lines = append(lines, c.Company)
	}
	if c.Name != "" && c.Name != c.DisplayName && c.Name != c.Company {
		lines = append(lines, c.Name)
	}
	lines = append(lines, c.Billing...)
	return &pdf.Doc{
		Kind: kind, Number: number, Subject: subject, Paper: r.p.paper(), Lang: r.p.cfg.LocaleTag,
		Date: docDate(dateISO), Business: r.biz, To: pdf.Party{Label: to, Lines: lines},
	}
}

func addFact(fs []pdf.Field, label, value string) []pdf.Field {
	if value == "" {
		return fs
	}
	return append(fs, pdf.Field{Label: label, Value: value})
}

// noted adds "(note)" to a non-empty value when on.
func noted(v string, on bool, note string) string {
	if on && v != "" {
		return v + " (" + note + ")"
	}
	return v
}

// linesTable is the line items of a quote or invoice.
func linesTable(lines []LineView) pdf.Table {
	t := pdf.Table{Columns: []pdf.Column{{Head: "Item", Width: 6}, {Head: "Qty", Width: 1.6, Right: true}, {Head: "Unit price", Width: 2, Right: true}, {Head: "Total", Width: 2, Right: true}}}
	for _, ln := range lines {
		qty := ln.Quantity
		if ln.Unit != "" {
			qty += " " + ln.Unit
		}
		var tags []string
		if ln.Optional {
			if ln.Selected {
				tags = append(tags, "Optional · included")
			} else {
				tags = append(tags, "Optional · not included")
			}
		}
		if ln.Tax != "" {
			tags = append(tags, ln.Tax)
		}
		t.Rows = append(t.Rows, pdf.Row{
			Cells: []string{ln.Name, qty, ln.UnitPrice, ln.Total},
			Sub:   plainText(ln.Description), Tag: strings.Join(tags, " · "),
			Muted: ln.Optional && !ln.Selected,
		})
	}
	return t
}

func totalsRows(t TotalsView) []pdf.Row {
	rows := []pdf.Row{{Cells: []string{"Subtotal", t.Subtotal}}}
	for _, m := range append(append([]MoneyRow{}, t.Discounts...), t.Taxes...) {
		rows = append(rows, pdf.Row{Cells: []string{m.Label, m.Amount}})
	}
	return append(rows, pdf.Row{Cells: []string{"Total", t.Total}, Strong: true})
}

func sections(pairs ...string) []pdf.Section {
	var out []pdf.Section
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			out = append(out, pdf.Section{Title: pairs[i], Text: pairs[i+1]})
		}
	}
	return out
}

func (r *renderer) quoteDoc(cp *clientPages, q *QuoteView) *pdf.Doc {
	d := r.newDoc(cp, "Quote", q.Number, q.Title, "Prepared for", q.IssuedISO)
	d.Status = q.Status.Label
	d.Facts = addFact(d.Facts, "Quote number", q.Number)
	d.Facts = addFact(d.Facts, "Issued", q.Issued)
	d.Facts = addFact(d.Facts, "Valid until", noted(q.ValidUntil, q.Expired, "expired"))
	if q.Property != nil {
		prop := q.Property.OneLine
		if q.Property.Label != "" {
			prop = q.Property.Label + ": " + prop
		}
		d.Facts = addFact(d.Facts, "Property", prop)
	}
	d.Facts = addFact(d.Facts, "In response to", q.Request)
	d.Highlight = &pdf.Field{Label: "Quote total", Value: q.Total}
	if q.ValidUntil != "" && q.Awaiting {
		d.Detail = "valid until " + q.ValidUntil
	}
	t := linesTable(q.Lines)
	t.Title = "Details"
	if q.HasOptional {
		t.Note = "Items marked “Optional” are extras: only the ones marked “included” count towards the total."
	}
	d.Tables = []pdf.Table{t}
	d.Totals = totalsRows(q.Totals)
	if q.Deposit != "" {
		label := "Deposit due on approval"
		if q.DepositRule != "" {
			label += " (" + q.DepositRule + ")"
		}
		d.Totals = append(d.Totals, pdf.Row{Cells: []string{label, q.Deposit}})
	}
	if q.Expired {
		d.Sections = sections("This quote has expired", "Prices and availability may have changed. Please get in touch if you'd still like to go ahead.")
	}
	d.Sections = append(d.Sections, richSections("Notes", q.Notes)...)
	d.Sections = append(d.Sections, richSections("Terms", q.Terms)...)
	if q.Awaiting {
		d.Acceptance = &pdf.Acceptance{Text: "To accept this quote, sign and date below, or approve it in your client hub" + r.hubAddress(q.URL) + "."}
	}
	if a := q.Approval; a != nil {
		d.Acceptance = &pdf.Acceptance{Text: approvalText(a), Signature: a.sig, Name: a.Name, Date: a.Date}
	}
	return d
}

// hubAddress is " at " and the full address of a page of the hub, or ""
// when the site has no base_url.
func (r *renderer) hubAddress(path string) string {
	if r.p.cfg.BaseURL == "" {
		return ""
	}
	return " at " + r.p.cfg.BaseURL + path
}

func approvalText(a *ApprovalView) string {
	t := "Approved by " + a.Name + " (" + a.Email + ") on " + a.Date + "."
	if a.Terms {
		t += " The terms were accepted."
	}
	if len(a.Options) > 0 {
		t += " Optional items chosen: " + strings.Join(a.Options, ", ") + "."
	}
	if len(a.NotChosen) > 0 {
		t += " Optional items left out: " + strings.Join(a.NotChosen, ", ") + "."
	}
	return t
}

// approvalDoc is the record of a quote's approval: what was signed, by
// whom, when and from where, with the signature.
func (r *renderer) approvalDoc(cp *clientPages, q *QuoteView) *pdf.Doc {
	a := q.Approval
	d := r.newDoc(cp, "Quote approval", q.Number, q.Title, "Approved by", a.DateISO)
	d.Status = "Approved"
	d.Facts = addFact(d.Facts, "Quote number", q.Number)
	d.Facts = addFact(d.Facts, "Approved", a.At)
	d.Facts = addFact(d.Facts, "Signed by", a.Name)
	d.Facts = addFact(d.Facts, "Email", a.Email)
	d.Highlight = &pdf.Field{Label: "Approved total", Value: q.Total}
	if q.Deposit != "" {
		d.Detail = "deposit " + q.Deposit
	}
	t := linesTable(q.Lines)
	t.Title = "What was approved"
	d.Tables = []pdf.Table{t}
	d.Totals = totalsRows(q.Totals)
	d.Sections = sections("Record", approvalText(a)+"\nFrom IP address "+a.IP+".\nQuote version "+a.Version+"; SHA-256 of the page shown: "+a.PageSHA+".",
		"Terms", plainText(q.Terms))
	d.Signature, d.SignatureLabel = a.sig, a.Name+" · "+a.At
	return d
}

func (r *renderer) invoiceDoc(cp *clientPages, inv *InvoiceView) *pdf.Doc {
	d := r.newDoc(cp, "Invoice", inv.Number, inv.Subject, "Bill to", inv.IssuedISO)
	d.Status = inv.Status.Label
	d.Facts = addFact(d.Facts, "Invoice number", inv.Number)
	d.Facts = addFact(d.Facts, "Issued", inv.Issued)
	d.Facts = addFact(d.Facts, "Due", noted(inv.Due, inv.PastDue, "past due"))
	d.Facts = addFact(d.Facts, "Quote", inv.QuoteNumber)
	switch {
	case inv.HasBalance && inv.PastDue:
		d.Highlight, d.Detail = &pdf.Field{Label: "Past due", Value: inv.Balance}, "was due "+inv.Due
	case inv.HasBalance:
		d.Highlight = &pdf.Field{Label: "Balance due", Value: inv.Balance}
		if inv.Due != "" {
			d.Detail = "due " + inv.Due
		}
	default:
		d.Highlight = &pdf.Field{Label: "Paid in full", Value: inv.Total}
	}
	d.Tables = []pdf.Table{linesTable(inv.Lines)} // untitled: its heading row says what it is
	d.Totals = totalsRows(inv.Totals)
	d.Totals[len(d.Totals)-1].Strong = false
	if inv.Paid != "" {
		d.Totals = append(d.Totals, pdf.Row{Cells: []string{"Paid", "-" + inv.Paid}})
	}
	d.Totals = append(d.Totals, pdf.Row{Cells: []string{"Balance due", inv.Balance}, Strong: true})
	if len(inv.Payments) > 0 {
		pt := pdf.Table{Title: "Payments", Columns: []pdf.Column{{Head: "Date", Width: 2}, {Head: "Method", Width: 2.4}, {Head: "Reference", Width: 3.4}, {Head: "Receipt", Width: 2}, {Head: "Amount", Width: 1.8, Right: true}}}
		for _, pm := range inv.Payments {
			pt.Rows = append(pt.Rows, pdf.Row{Cells: []string{pm.Date, pm.Method, pm.Reference, pm.ID, pm.Amount}})
		}
		d.After = []pdf.Table{pt}
	}
	d.Sections = richSections("Notes", inv.Notes)
	if inv.HasBalance {
		how := richText(r.sv.PayOffline)
		title := "How to pay"
		if r.sv.PayOnline {
			title = "Other ways to pay"
			online := pdf.Line{{Text: "Pay online in your client hub" + r.hubAddress(inv.URL)}}
			if len(how) > 0 {
				online[0].Text += ", or:"
				how = append([]pdf.Line{online, {}}, how...)
			} else {
				how = []pdf.Line{online}
			}
		} else if len(how) == 0 {
			how = []pdf.Line{{{Text: "Please contact us to arrange payment."}}}
		}
		d.Sections = append(d.Sections, pdf.Section{Title: title, Lines: how})
	}
	return d
}

func (r *renderer) receiptDoc(cp *clientPages, rc *ReceiptView) *pdf.Doc {
	d := r.newDoc(cp, "Receipt", rc.ID, "", "Received from", rc.DateISO)
	d.Facts = addFact(d.Facts, "Receipt number", rc.ID)
	d.Facts = addFact(d.Facts, "Payment date", rc.Date)
	d.Facts = addFact(d.Facts, "Payment method", rc.Method)
	d.Facts = addFact(d.Facts, "Reference", rc.Reference)
	d.Highlight = &pdf.Field{Label: "Amount paid", Value: rc.Amount}
	d.Detail = rc.Date
	if rc.InvoiceNumber != "" {
		// One row: the invoice this payment went to, and what it left.
		t := pdf.Table{Title: "Applied to", Columns: []pdf.Column{{Head: "Invoice", Width: 2}, {Head: "For", Width: 4.2}, {Head: "Invoice total", Width: 2.2, Right: true}, {Head: "This payment", Width: 2.2, Right: true}}}
		cells := []string{rc.InvoiceNumber, rc.InvoiceSubject, rc.InvoiceTotal, rc.Amount}
		if rc.BalanceAfter != "" {
			t.Columns = append(t.Columns, pdf.Column{Head: "Balance after", Width: 2.2, Right: true})
			cells = append(cells, rc.BalanceAfter)
		}
		t.Rows = []pdf.Row{{Cells: cells}}
		d.Tables = []pdf.Table{t}
	}
	if rc.SubscriptionNumber != "" {
		t := pdf.Table{Title: "Applied to", Columns: []pdf.Column{{Head: "Subscription", Width: 2.4}, {Head: "For", Width: 4.2}, {Head: "Period from", Width: 2.4}, {Head: "This payment", Width: 2.2, Right: true}}}
		t.Rows = []pdf.Row{{Cells: []string{rc.SubscriptionNumber, rc.SubscriptionTitle, rc.Period, rc.Amount}}}
		d.Tables = []pdf.Table{t}
	}
	d.Closing = "Thank you for your payment."
	return d
}

func (r *renderer) statementDoc(cp *clientPages, s *StatementView) *pdf.Doc {
	d := r.newDoc(cp, "Statement", "", "Account statement", "Statement for", s.DateISO)
	d.Facts = addFact(d.Facts, "Statement date", s.Date)
	d.Facts = addFact(d.Facts, "Activity", s.From+" – "+s.To)
	d.Facts = addFact(d.Facts, "Covers", "All invoices and payments to date")
	d.Highlight = &pdf.Field{Label: "Total owed", Value: s.Owed}
	t := pdf.Table{Title: "Activity", Columns: []pdf.Column{{Head: "Date", Width: 2}, {Head: "Description", Width: 5}, {Head: "Charges", Width: 2, Right: true}, {Head: "Payments", Width: 2, Right: true}, {Head: "Balance", Width: 2, Right: true}}}
	for _, e := range s.Entries {
		desc := "Invoice " + e.Ref
		switch e.Kind {
		case "payment":
			desc = "Payment on " + e.Ref
		case "settled":
			desc = "Invoice " + e.Ref + " settled"
		case "subscription":
			desc = "Subscription " + e.Ref
		}
		if e.Detail != "" {
			desc += " — " + e.Detail
		}
		t.Rows = append(t.Rows, pdf.Row{Cells: []string{e.Date, desc, e.Charge, e.Credit, e.Balance}})
	}
	d.Tables = []pdf.Table{t}
	d.Totals = []pdf.Row{{Cells: []string{"Total charges", s.Charges}}, {Cells: []string{"Total payments", s.Less}}, {Cells: []string{"Total owed", s.Owed}, Strong: true}}
	aging := pdf.Table{Title: "Aging", Note: "What is owed by how long past its due date, on " + s.Date + "."}
	var cells []string
	for _, a := range s.Aging {
		aging.Columns = append(aging.Columns, pdf.Column{Head: a.Label, Width: 1, Right: true})
		cells = append(cells, a.Amount)
	}
	aging.Columns = append(aging.Columns, pdf.Column{Head: "Total owed", Width: 1, Right: true})
	aging.Rows = []pdf.Row{{Cells: append(cells, s.Owed)}}
	d.After = []pdf.Table{aging}
	c := cp.base.Client
	payTo := []string{"Make checks payable to " + r.sv.Name}
	payTo = append(payTo, r.sv.Address...)
	d.Remittance = &pdf.Remittance{
		PayTo: payTo,
		Fields: []pdf.Field{
			{Label: "Client", Value: c.DisplayName},
			{Label: "Account", Value: c.ID},
			{Label: "Statement date", Value: s.Date},
			{Label: "Total owed", Value: s.Owed},
			{Label: "Amount enclosed", Value: ""},
		},
	}
	return d
}

// clientPDFs adds every PDF of a client to ps.
func (r *renderer) clientPDFs(cp *clientPages, ps *pdfSet) error {
	for _, q := range cp.quotes {
		if err := ps.add(quotePDF(q.Number), r.quoteDoc(cp, q)); err != nil {
			return err
		}
		if q.Approval != nil {
			if err := ps.add(approvalPDF(q.Number), r.approvalDoc(cp, q)); err != nil {
				return err
			}
		}
	}
	for _, inv := range cp.invoices {
		if err := ps.add(invoicePDF(inv.Number), r.invoiceDoc(cp, inv)); err != nil {
			return err
		}
	}
	for _, rc := range cp.receipts {
		if err := ps.add(receiptPDF(rc.ID), r.receiptDoc(cp, rc)); err != nil {
			return err
		}
	}
	if cp.statement.PDF != "" {
		if err := ps.add(statementPDF(cp.base.Client.ID), r.statementDoc(cp, cp.statement)); err != nil {
			return err
		}
	}
	return nil
}

// richSections is a section of rendered Markdown keeping its bold and
// italic words; none when it is empty.
func richSections(title string, h template.HTML) []pdf.Section {
	lines := richText(h)
	if len(lines) == 0 {
		return nil
	}
	return []pdf.Section{{Title: title, Lines: lines}}
}

var richTag = regexp.MustCompile(`<(/?)([a-zA-Z0-9]+)[^>]*>|<!--.*?-->`)

// richText turns rendered Markdown into lines of text for a PDF, keeping
// bold (strong, b) and italic (em, i): paragraphs apart, hard breaks kept,
// list items as bullets, other tags dropped.
func richText(h template.HTML) []pdf.Line {
	var out []pdf.Line
	var cur pdf.Line
	bold, italic := 0, 0
	flush := func(blank bool) {
		if len(cur) > 0 {
			cur[len(cur)-1].Text = strings.TrimRight(cur[len(cur)-1].Text, " ")
			out = append(out, cur)
			cur = nil
		}
		if blank && len(out) > 0 && len(out[len(out)-1]) > 0 {
			out = append(out, pdf.Line{})
		}
	}
	add := func(text string) {
		t := strings.Join(strings.Fields(html.UnescapeString(text)), " ")
		spaced := len(cur) > 0 && strings.HasSuffix(cur[len(cur)-1].Text, " ")
		if startsSpace(text) && len(cur) > 0 && !spaced && t != "" {
			t = " " + t
		}
		if endsSpace(text) && (t != "" || (len(cur) > 0 && !spaced)) {
			t += " "
		}
		if t == "" {
			return
		}
		sp := pdf.Span{Text: t, Bold: bold > 0, Italic: italic > 0}
		if n := len(cur); n > 0 && cur[n-1].Bold == sp.Bold && cur[n-1].Italic == sp.Italic {
			cur[n-1].Text += sp.Text
			return
		}
		cur = append(cur, sp)
	}
	s := strings.ReplaceAll(string(h), "\n", " ")
	last := 0
	for _, m := range richTag.FindAllStringSubmatchIndex(s, -1) {
		add(s[last:m[0]])
		last = m[1]
		if m[4] < 0 { // a comment
			continue
		}
		closing, name := m[3] > m[2], strings.ToLower(s[m[4]:m[5]])
		step := 1
		if closing {
			step = -1
		}
		switch name {
		case "strong", "b":
			bold = max(0, bold+step)
		case "em", "i":
			italic = max(0, italic+step)
		case "br":
			flush(false)
		case "li":
			if !closing {
				flush(false)
				cur = pdf.Line{{Text: "• "}}
			} else {
				flush(false)
			}
		case "p", "ul", "ol", "blockquote", "pre", "table", "h1", "h2", "h3", "h4", "h5", "h6":
			if closing {
				flush(true)
			}
		case "tr":
			flush(false)
		}
	}
	add(s[last:])
	flush(false)
	for len(out) > 0 && len(out[len(out)-1]) == 0 {
		out = out[:len(out)-1]
	}
	return out
}

func startsSpace(s string) bool { return s != "" && strings.ContainsRune(" \t\n", rune(s[0])) }
func endsSpace(s string) bool   { return s != "" && strings.ContainsRune(" \t\n", rune(s[len(s)-1])) }

// plainText turns rendered Markdown into plain text for a PDF (a line
// item's description): richText without the styles.
func plainText(h template.HTML) string {
	var b strings.Builder
	for i, ln := range richText(h) {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, sp := range ln {
			b.WriteString(sp.Text)
		}
	}
	return b.String()
}
