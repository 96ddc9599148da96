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
		return b, "png"
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
	d.Sections = append(d.Sections, sections("Notes", plainText(q.Notes), "Terms", plainText(q.Terms))...)
	if a := q.Approval; a != nil {
		d.Sections = append(d.Sections, pdf.Section{Title: "Approved", Text: approvalText(a)})
		d.Signature, d.SignatureLabel = a.sig, a.Name+" · "+a.Date
	}
	return d
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
	t := linesTable(inv.Lines)
	t.Title = "Details"
	d.Tables = []pdf.Table{t}
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
	d.Sections = sections("Notes", plainText(inv.Notes))
	if inv.HasBalance {
		how := plainText(r.sv.PayOffline)
		title := "How to pay"
		if r.sv.PayOnline {
			title = "Other ways to pay"
			if how != "" {
				how = "Pay online in your client hub, or:\n\n" + how
			}
		} else if how == "" {
			how = "Please contact us to arrange payment."
		}
		d.Sections = append(d.Sections, sections(title, how)...)
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
		rows := []pdf.Row{{Cells: []string{"Invoice", rc.InvoiceNumber}}}
		if rc.InvoiceSubject != "" {
			rows = append(rows, pdf.Row{Cells: []string{"For", rc.InvoiceSubject}})
		}
		if rc.InvoiceTotal != "" {
			rows = append(rows, pdf.Row{Cells: []string{"Invoice total", rc.InvoiceTotal}})
		}
		rows = append(rows, pdf.Row{Cells: []string{"This payment", rc.Amount}})
		if rc.BalanceAfter != "" {
			rows = append(rows, pdf.Row{Cells: []string{"Balance after this payment", rc.BalanceAfter}, Strong: true})
		}
		d.Tables = []pdf.Table{{Title: "Applied to", Columns: []pdf.Column{{Head: "", Width: 3}, {Head: "", Width: 4, Right: true}}, Rows: rows}}
	}
	d.Closing = "Thank you for your payment."
	return d
}

func (r *renderer) statementDoc(cp *clientPages, s *StatementView) *pdf.Doc {
	d := r.newDoc(cp, "Statement", "", "Account statement", "Statement for", s.ToISO)
	d.Facts = addFact(d.Facts, "Statement date", s.To)
	d.Facts = addFact(d.Facts, "Period", s.From+" – "+s.To)
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
		}
		if e.Detail != "" {
			desc += " — " + e.Detail
		}
		t.Rows = append(t.Rows, pdf.Row{Cells: []string{e.Date, desc, e.Charge, e.Credit, e.Balance}})
	}
	d.Tables = []pdf.Table{t}
	d.Totals = []pdf.Row{{Cells: []string{"Total charges", s.Charges}}, {Cells: []string{"Total payments", "-" + s.Payments}}, {Cells: []string{"Total owed", s.Owed}, Strong: true}}
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

var (
	htmlBreak = regexp.MustCompile(`(?i)<br\s*/?>|</li>|</tr>`)
	htmlBlock = regexp.MustCompile(`(?i)</(p|h[1-6]|ul|ol|blockquote|pre|table)>`)
	htmlItem  = regexp.MustCompile(`(?i)<li[^>]*>`)
	htmlTag   = regexp.MustCompile(`<[^>]*>`)
	blankRun  = regexp.MustCompile(`\n{3,}`)
)

// plainText turns rendered Markdown into plain text for a PDF: paragraphs
// apart, list items as bullets, tags and comments dropped.
func plainText(h template.HTML) string {
	s := strings.ReplaceAll(string(h), "\n", " ")
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlBlock.ReplaceAllString(s, "\n\n")
	s = htmlItem.ReplaceAllString(s, "• ")
	s = htmlTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(s, "\n")
	for i, ln := range lines {
		lines[i] = strings.Join(strings.Fields(ln), " ")
	}
	return strings.TrimSpace(blankRun.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
