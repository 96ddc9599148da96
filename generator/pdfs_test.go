package generator

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
				check(root+receiptPDF(id), "Receipt", id, "Amount paid", fm(pm.Amount.Amt), inv.Number, fm(max(left, 0)))
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
