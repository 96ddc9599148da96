package generator

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
	"github.com/hubhq/hub/generator/site"
	"github.com/hubhq/hub/themes"
)

func needPoppler(t *testing.T) {
	t.Helper()
	if !hasPoppler() {
		t.Skip("pdftotext and pdfinfo are not installed (poppler-utils)")
	}
}

// hasPoppler reports whether the tools that read PDFs back are installed.
func hasPoppler() bool {
	for _, tool := range []string{"pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
}

func pdfText(t *testing.T, file string, args ...string) string {
	t.Helper()
	out, err := exec.Command("pdftotext", append(append(args, file), "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", file, err)
	}
	return string(out)
}

// TestSamplePDFs reads the text of every PDF of the sample site and checks
// it against the content: numbers, totals, balances and payments.
func TestSamplePDFs(t *testing.T) {
	needPoppler(t)
	s, ps := site.Load(sample, testNow)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	e := newEnv(t, sample)
	res := e.mustBuild(t, testNow)
	if res.PDFs == 0 || res.PDFsReused != 0 {
		t.Errorf("first build rendered %d PDFs and reused %d; want some rendered, none reused", res.PDFs, res.PDFsReused)
	}
	fm := func(a money.Amount) string { return s.Config.Locale.Format(a, s.Config.Currency) }
	checked := 0
	check := func(rel string, want ...string) {
		t.Helper()
		file := filepath.Join(e.out, filepath.FromSlash(rel))
		text := pdfText(t, file)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s has no %q; its text:\n%s", rel, w, text)
			}
		}
		checked++
	}
	for _, c := range s.Clients {
		root := "c/" + c.ID + "/"
		var owed money.Amount
		for _, q := range c.Quotes {
			if QuoteVisible(q) {
				check(root+quotePDF(q.Number), "Quote", q.Number, fm(q.Totals.Total), c.DisplayName())
			}
		}
		for _, inv := range c.Invoices {
			if !InvoiceVisible(inv) {
				continue
			}
			want := []string{"Invoice", inv.Number, fm(inv.Totals.Total), "Balance due", fm(max(inv.Balance, 0))}
			left := inv.Totals.Total
			for i, pm := range inv.Payments {
				id := inv.Number + "-" + string(rune('1'+i))
				left -= pm.Amount.Amt
				want = append(want, fm(pm.Amount.Amt), s.Config.Locale.Date(pm.Date.T), id)
				check(root+receiptPDF(id), "Receipt", id, "Amount paid", fm(pm.Amount.Amt), inv.Number, fm(max(left, 0)), "Applied to", "Invoice total", "This payment", "Balance after")
			}
			if inv.State != site.InvoicePaid {
				owed += inv.Balance
			}
			check(root+invoicePDF(inv.Number), want...)
		}
		if _, err := os.Stat(filepath.Join(e.out, root+"statement/index.html")); err != nil {
			t.Errorf("%s has no statement page", c.ID)
		}
		if st := root + statementPDF(c.ID); fileExists(filepath.Join(e.out, st)) {
			check(st, "Statement", "Total owed", fm(owed))
		}
	}
	if checked < 15 {
		t.Errorf("checked %d PDFs; the sample site should have more", checked)
	}
	// INV-2001 is partly paid: both payments and the balance are on it.
	inv := pdfText(t, filepath.Join(e.out, "c/whitfield-dental/invoices/INV-2001/INV-2001.pdf"))
	for _, w := range []string{"Payments", "Aug 27, 2026", "$3,488.75", "Oct 15, 2026", "$5,000.00", "$5,806.25", "Partially paid", "BILL TO", "Whitfield Family Dental"} {
		if !strings.Contains(inv, w) {
			t.Errorf("INV-2001.pdf has no %q", w)
		}
	}
	// A two-line invoice fits one page, its totals, payments and how to
	// pay with it: paid (INV-2005), and with a balance (INV-2002).
	for _, f := range []string{"c/whitfield-dental/invoices/INV-2005/INV-2005.pdf", "c/okafor-residence/invoices/INV-2002/INV-2002.pdf"} {
		if out, err := exec.Command("pdfinfo", filepath.Join(e.out, f)).Output(); err != nil || !regexp.MustCompile(`(?m)^Pages:\s+1$`).Match(out) {
			t.Errorf("%s (two lines) is not one page: %v\n%s", f, err, out)
		}
	}
	if text := pdfText(t, filepath.Join(e.out, "c/okafor-residence/invoices/INV-2002/INV-2002.pdf")); !strings.Contains(text, "Pay online in your client hub at http://127.0.0.1:8080/c/okafor-residence/invoices/INV-2002/") {
		t.Errorf("INV-2002.pdf does not give the hub's address of the invoice:\n%s", text)
	}
	// No sidecars: PDFs and zips are compressed already.
	for name := range outputFiles(t, e.out) {
		if strings.HasSuffix(name, ".pdf.gz") || strings.HasSuffix(name, ".pdf.br") || strings.HasSuffix(name, ".zip.gz") || strings.HasSuffix(name, ".zip.br") {
			t.Errorf("%s: a PDF or zip got a compressed sidecar", name)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestGoldenPDF compares the laid-out text of one invoice with a golden
// file: columns, the order of blocks and page breaks (make golden updates it).
func TestGoldenPDF(t *testing.T) {
	needPoppler(t)
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	got := pdfText(t, filepath.Join(e.out, "c/whitfield-dental/invoices/INV-2001/INV-2001.pdf"), "-layout")
	file := filepath.Join("testdata", "golden", "pdf_INV-2001.txt")
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	checkGolden(t, "INV-2001.pdf's text", []byte(got), file)
}

// TestBuildPDFsDeterministic: two builds of the same content give the same
// PDFs and zips, byte for byte.
func TestBuildPDFsDeterministic(t *testing.T) {
	a, b := newEnv(t, sample), newEnv(t, sample)
	a.mustBuild(t, testNow)
	b.mustBuild(t, testNow.Add(3*60*60*1e9)) // later the same day
	fa, fb := outputFiles(t, a.out), outputFiles(t, b.out)
	n := 0
	for name, data := range fa {
		if !strings.HasSuffix(name, ".pdf") && !strings.HasSuffix(name, ".zip") {
			continue
		}
		n++
		if !bytes.Equal(data, fb[name]) {
			t.Errorf("%s differs between two builds of the same content", name)
		}
	}
	if n < 20 {
		t.Errorf("compared %d PDFs and zips; want the sample's 20 or more", n)
	}
}

func TestDocumentsZip(t *testing.T) {
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	root := filepath.Join(e.out, "c", "whitfield-dental")
	zr, err := zip.OpenReader(filepath.Join(root, "download", "whitfield-dental-documents.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(zr.File[0].Modified) || f.Modified.Year() != 2026 {
			t.Errorf("%s modified %v; want one date from the documents for every entry", f.Name, f.Modified)
		}
		wantMethod := zip.Deflate
		if strings.HasSuffix(f.Name, ".pdf") {
			wantMethod = zip.Store
		}
		if f.Method != wantMethod {
			t.Errorf("%s stored with method %d; want %d", f.Name, f.Method, wantMethod)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("zip entries are not sorted: %v", names)
	}
	for _, want := range []string{
		"whitfield-dental-documents/invoices/INV-2001.pdf", "whitfield-dental-documents/quotes/Q-1001.pdf",
		"whitfield-dental-documents/receipts/receipt-INV-2001-1.pdf", "whitfield-dental-documents/statement-whitfield-dental.pdf",
		"whitfield-dental-documents/portals/courtyard-renovation/Plans/planting-plan.pdf",
		"whitfield-dental-documents/portals/seasonal-care-guide/watering-schedule.csv",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("zip has no %s; it has %v", want, names)
		}
	}
	// An entry is the published file.
	for _, f := range zr.File {
		if f.Name != "whitfield-dental-documents/invoices/INV-2001.pdf" {
			continue
		}
		rc, _ := f.Open()
		var got bytes.Buffer
		got.ReadFrom(rc)
		rc.Close()
		want, _ := os.ReadFile(filepath.Join(root, "invoices", "INV-2001", "INV-2001.pdf"))
		if !bytes.Equal(got.Bytes(), want) {
			t.Error("the zip's INV-2001.pdf differs from the published one")
		}
	}
	home, _ := os.ReadFile(filepath.Join(root, "index.html"))
	if !strings.Contains(string(home), `href="/c/whitfield-dental/download/whitfield-dental-documents.zip" download`) {
		t.Error("the home page does not link to the documents zip")
	}
}

// TestPDFIncremental: after one invoice's notes change, only that
// invoice's PDF is rendered; the client's other PDFs are copied unchanged.
func TestPDFIncremental(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	first := e.mustBuild(t, testNow)
	old := outputFiles(t, e.out)
	var okaforPDFs int
	for name := range old {
		if strings.HasPrefix(name, "c/okafor-residence/") && strings.HasSuffix(name, ".pdf") && !strings.Contains(name, "/files/") {
			okaforPDFs++
		}
	}
	f := filepath.Join(content, "clients", "okafor-residence", "invoices", "INV-2002-home-maintenance.yaml")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f, bytes.Replace(b, []byte("notes: "), []byte("notes: Gate code 4417. "), 1), 0o644)
	res := e.mustBuild(t, testNow)
	if res.Rendered != 1 || res.PDFs != 1 || res.PDFsReused != okaforPDFs-1 {
		t.Fatalf("rebuild after one invoice's notes changed: %d clients, %d PDFs rendered, %d reused; want 1, 1, %d (first build rendered %d)",
			res.Rendered, res.PDFs, res.PDFsReused, okaforPDFs-1, first.PDFs)
	}
	now := outputFiles(t, e.out)
	for name, data := range now {
		if !strings.HasPrefix(name, "c/okafor-residence/") || !strings.HasSuffix(name, ".pdf") {
			continue
		}
		if changed := !bytes.Equal(data, old[name]); changed != strings.HasSuffix(name, "INV-2002.pdf") {
			t.Errorf("%s changed = %v", name, changed)
		}
	}
	// The subject is on the statement too: both are rendered again.
	os.WriteFile(f, bytes.Replace(b, []byte("subject: "), []byte("subject: Revised "), 1), 0o644)
	if res := e.mustBuild(t, testNow); res.PDFs != 2 {
		t.Errorf("rebuild after the subject changed rendered %d PDFs; want 2 (the invoice and the statement)", res.PDFs)
	}
}

func TestNoPDF(t *testing.T) {
	e := newEnv(t, sample)
	res, err := Build(context.Background(), Options{Content: sample, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow, NoPDF: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.PDFs != 0 {
		t.Errorf("NoPDF build rendered %d PDFs", res.PDFs)
	}
	for name := range outputFiles(t, e.out) {
		if strings.HasSuffix(name, ".zip") || (strings.HasSuffix(name, ".pdf") && !strings.Contains(name, "/files/")) {
			t.Errorf("NoPDF build wrote %s", name)
		}
	}
	page, _ := os.ReadFile(filepath.Join(e.out, "c/whitfield-dental/invoices/INV-2001/index.html"))
	if strings.Contains(string(page), "Download PDF") {
		t.Error("a NoPDF build's invoice page links to a PDF")
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ md, want string }{
		{"Two-zone drip\nsystem.", "Two-zone drip\nsystem."}, // hard wraps, as on the page
		{"First.\n\nSecond & third.", "First.\n\nSecond & third."},
		{"Plan:\n\n- one\n- **two**", "Plan:\n\n• one\n• two"},
		{"line one\\\nline two", "line one\nline two"},
		{"<b>raw</b> html", "raw html"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := plainText(Markdown(tt.md)); got != tt.want {
			t.Errorf("plainText(Markdown(%q)) = %q; want %q", tt.md, got, tt.want)
		}
	}
}

func TestRichText(t *testing.T) {
	for _, tt := range []struct{ md, want string }{
		{"**Paying by check?** Make it out to *Greenleaf Gardens LLC*, then mail it.", "[B:Paying by check?][ Make it out to ][I:Greenleaf Gardens LLC][, then mail it.]"},
		{"One.\n\nTwo  words\\\nthree", "[One.]|[Two words]|[three]"},
		{"- a **b**\n- c", "[• a ][B:b]|[• c]"},
		{"***both*** plain", "[BI:both][ plain]"},
	} {
		var lines []string
		for _, ln := range richText(Markdown(tt.md)) {
			var b strings.Builder
			for _, sp := range ln {
				style := map[[2]bool]string{{true, false}: "B:", {false, true}: "I:", {true, true}: "BI:"}[[2]bool{sp.Bold, sp.Italic}]
				b.WriteString("[" + style + sp.Text + "]")
			}
			lines = append(lines, b.String())
		}
		if got := strings.ReplaceAll(strings.Join(lines, "|"), "||", "|"); got != tt.want {
			t.Errorf("richText(%q) = %q; want %q", tt.md, got, tt.want)
		}
	}
}

// TestStatementPDF reads back a statement: dated the build day, activity
// whose running balance never goes below zero, the aging summary with the
// past-due invoice in its bucket, and the remittance slip.
func TestStatementPDF(t *testing.T) {
	needPoppler(t)
	e := newEnv(t, sample)
	e.mustBuild(t, testNow) // Nov 23, 2026
	// Hawthorne Street Bistro's INV-2003 ($723.00) was due Oct 30: 24 days past due.
	text := pdfText(t, filepath.Join(e.out, "c/hawthorne-bistro/"+statementPDF("hawthorne-bistro")), "-layout")
	for _, w := range []string{"Statement date", "Nov 23, 2026", "Aging", "Remittance", "Make checks payable to Greenleaf Gardens", "Amount enclosed", "hawthorne-bistro"} {
		if !strings.Contains(text, w) {
			t.Errorf("the statement has no %q; its text:\n%s", w, text)
		}
	}
	lines := strings.Split(text, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "Current") && strings.Contains(l, "Over 90 days") })
	if i < 0 {
		t.Fatalf("the statement has no aging heading (Current … Over 90 days); its text:\n%s", text)
	}
	if got := strings.Fields(strings.Join(lines[i:], "\n")); len(got) < 16 || strings.Join(got[:8], " ") != "Current 1–30 days 31–60 days 61–90 days Over" {
		t.Errorf("aging heading = %q", got)
	} else if row := strings.Join(got[12:18], " "); row != "$0.00 $723.00 $0.00 $0.00 $0.00 $723.00" {
		t.Errorf("aging = %q; want $723.00 in 1–30 days and in total", row)
	}
	// Whitfield paid a deposit before its invoice was issued: the balance
	// column never shows a credit.
	text = pdfText(t, filepath.Join(e.out, "c/whitfield-dental/"+statementPDF("whitfield-dental")), "-layout")
	dated := regexp.MustCompile(`^\s*[A-Z][a-z]{2} \d{1,2}, \d{4}\s`)
	rows := 0
	for _, l := range strings.Split(text, "\n") {
		if dated.MatchString(l) {
			rows++
			if strings.Contains(l, "-$") {
				t.Errorf("a statement row has a negative balance: %q", l)
			}
		}
	}
	if rows < 5 {
		t.Errorf("found %d activity rows in the statement; want 5:\n%s", rows, text)
	}
	// The aging heading is on the page of its row (it falls on a page break).
	for _, pg := range strings.Split(text, "\f") {
		if i := strings.Index(pg, "Over 90 days"); i >= 0 && !strings.Contains(pg[i:], "$5,806.25") {
			t.Errorf("the aging heading is on a page without its row:\n%s", pg)
		}
	}
}

// TestPDFLogo: every PDF of the sample carries the business's logo as an
// image (the PNG beside the SVG logo).
func TestPDFLogo(t *testing.T) {
	needPoppler(t)
	if _, err := exec.LookPath("pdfimages"); err != nil {
		t.Skip("pdfimages is not installed (poppler-utils)")
	}
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	n := 0
	for name := range outputFiles(t, e.out) {
		if !strings.HasSuffix(name, ".pdf") || strings.Contains(name, "/files/") { // portal documents are staff's own
			continue
		}
		n++
		out, err := exec.Command("pdfimages", "-list", filepath.Join(e.out, name)).Output()
		if err != nil {
			t.Fatalf("pdfimages %s: %v", name, err)
		}
		// Two heading lines, then one per image: page 1 has the logo (720×144).
		if !regexp.MustCompile(`(?m)^\s*1\s+\d+\s+image\s+720\s+144\s`).Match(out) {
			t.Errorf("%s has no 720×144 logo image on page 1:\n%s", name, out)
		}
	}
	if n < 15 {
		t.Errorf("looked at %d PDFs; want every PDF of the sample", n)
	}
}

// TestGoldenPDFImages renders the first page of an invoice and of a
// statement to grey PNGs (pdftoppm) and compares them with golden images,
// pixel by pixel with a small tolerance (anti-aliasing differs a little
// between poppler builds): a change of layout, a lost logo or a block
// moved to another page shows. make golden rewrites them; look at them.
func TestGoldenPDFImages(t *testing.T) {
	needPoppler(t)
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm is not installed (poppler-utils)")
	}
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	for _, tt := range []struct{ pdf, golden string }{
		{"c/okafor-residence/invoices/INV-2002/INV-2002.pdf", "pdf_INV-2002-1.png"},
		{"c/hawthorne-bistro/" + statementPDF("hawthorne-bistro"), "pdf_statement-hawthorne-bistro-1.png"},
	} {
		got, err := exec.Command("pdftoppm", "-png", "-gray", "-r", "40", "-f", "1", "-l", "1", "-singlefile", filepath.Join(e.out, tt.pdf)).Output()
		if err != nil {
			t.Fatalf("pdftoppm %s: %v", tt.pdf, err)
		}
		file := filepath.Join("testdata", "golden", tt.golden)
		if *update {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run make golden to create it)", err)
		}
		if diff, err := pixelDiff(got, want); err != nil || diff > 0.002 {
			out := filepath.Join(t.TempDir(), tt.golden)
			os.WriteFile(out, got, 0o644)
			t.Errorf("%s page 1 differs from %s in %.2f%% of its pixels (%v); it is in %s (run make golden after an intended change)", tt.pdf, file, diff*100, err, out)
		}
	}
}

// pixelDiff is the share of pixels of two grey images that differ by more
// than a quarter of the range; 1 when their sizes differ.
func pixelDiff(a, b []byte) (float64, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 1, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 1, err
	}
	r := ia.Bounds()
	if r != ib.Bounds() {
		return 1, fmt.Errorf("size %v, golden %v", r, ib.Bounds())
	}
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ga, _, _, _ := ia.At(x, y).RGBA()
			gb, _, _, _ := ib.At(x, y).RGBA()
			if d := int(ga) - int(gb); d > 0x4000 || d < -0x4000 {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy()), nil
}

// TestStatementSubscriptionPeriods: each paid period of a subscription is
// on the statement (page and PDF) as a charge and its payment on the day
// it was paid, the balance unchanged by it; a failed period is not.
func TestStatementSubscriptionPeriods(t *testing.T) {
	e := newEnv(t, sample)
	paid := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	src := &factsSource{version: 1, facts: map[string]*events.Facts{"whitfield-dental": {
		Subscriptions: []events.Subscription{{Number: "SUB-3001", State: events.BillingActive, StateAt: paid, Started: paid, Ref: "sub_1", Customer: "cus_1", Amount: 78500, Currency: "USD"}},
		Payments: []events.Payment{
			{ID: "in_1", Seq: 1, Kind: events.ForSubscription, Document: "SUB-3001", Amount: 78500, Currency: "USD", State: events.PaymentPaid,
				Reference: "pi_1", Created: paid, Settled: paid, Period: paid},
			{ID: "in_2", Seq: 2, Kind: events.ForSubscription, Document: "SUB-3001", Amount: 78500, Currency: "USD", State: events.PaymentFailed,
				Created: paid.AddDate(0, 0, 2), Settled: paid.AddDate(0, 0, 2), Period: paid.AddDate(0, 1, 0)},
		},
	}}}
	if _, err := Build(context.Background(), Options{Content: e.content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow, Events: src}); err != nil {
		t.Fatal(err)
	}
	page := readOut(t, e.out, "c/whitfield-dental/statement/index.html")
	for _, want := range []string{"Subscription SUB-3001", "period from Nov 20, 2026", "Payment on SUB-3001", "/c/whitfield-dental/receipts/SUB-3001-S1/"} {
		if !strings.Contains(page, want) {
			t.Errorf("the statement page has no %q", want)
		}
	}
	if strings.Count(page, "Subscription SUB-3001") != 1 {
		t.Errorf("the statement lists %d subscription charges; want the paid period only", strings.Count(page, "Subscription SUB-3001"))
	}
	if !hasPoppler() {
		return
	}
	text := pdfText(t, filepath.Join(e.out, "c/whitfield-dental/"+statementPDF("whitfield-dental")), "-layout")
	if !strings.Contains(text, "Subscription SUB-3001") || !strings.Contains(text, "Payment on SUB-3001") {
		t.Errorf("the statement PDF lacks the subscription's period:\n%s", text)
	}
}
