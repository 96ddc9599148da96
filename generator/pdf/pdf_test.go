package pdf

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func business() Business {
	return Business{
		Name: "Greenleaf Gardens", Address: []string{"2417 SE Division St", "Portland, OR 97202"},
		Phone: "(503) 555-0142", Email: "hello@greenleaf.example", Website: "greenleaf.example",
		Ink: "#2f6b3a", Fill: "#2f6b3a", OnFill: "#ffffff", Soft: "#eef3ef",
	}
}

// invoice is a sample invoice with n lines.
func invoice(n int) *Doc {
	d := &Doc{
		Kind: "Invoice", Number: "INV-9001", Subject: "Courtyard renovation — phase 2", Status: "Partially paid",
		Paper: Letter, Lang: "en-US", Date: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
		Business:  business(),
		To:        Party{Label: "Bill to", Lines: []string{"Lindqvist Family", "12 Elm St", "Portland, OR 97201"}},
		Facts:     []Field{{"Invoice number", "INV-9001"}, {"Issued", "Oct 1, 2026"}, {"Due", "Oct 31, 2026"}},
		Highlight: &Field{"Balance due", "$1,234.50"}, Detail: "due Oct 31, 2026",
		Totals: []Row{{Cells: []string{"Subtotal", "$2,000.00"}}, {Cells: []string{"Total", "$2,000.00"}, Strong: true}},
		After: []Table{{Title: "Payments", Columns: []Column{{"Date", 2, false}, {"Method", 3, false}, {"Amount", 2, true}},
			Rows: []Row{{Cells: []string{"Oct 5, 2026", "Check #1001", "$765.50"}}}}},
		Sections: []Section{{Title: "Notes", Text: "Thank you for your business.\n\nPayment by check or bank transfer."}},
	}
	t := Table{Columns: []Column{{"Item", 6, false}, {"Qty", 1.3, true}, {"Unit price", 2, true}, {"Total", 2, true}}}
	for i := range n {
		t.Rows = append(t.Rows, Row{
			Cells: []string{fmt.Sprintf("Line item %d", i+1), "2", "$10.00", "$20.00"},
			Sub:   "Planting, mulching and a first deep watering of the new beds.",
		})
	}
	d.Tables = []Table{t}
	return d
}

func TestLatin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Lindqvist", "Lindqvist"},
		{"1 234,56 €", "1 234,56 \x80"},
		{"a — b “c” ‘d’ •", "a \x97 b \x93c\x94 \x91d\x92 \x95"},
		{"Åsa Müller", "\xc5sa M\xfcller"},
		{"1\u202f234", "1\xa0234"},
		{"−5", "-5"},
		{"日本 ≥", "?? ?"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Latin(tt.in); got != tt.want {
			t.Errorf("Latin(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestRenderDeterministic(t *testing.T) {
	d := invoice(5)
	a, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(invoice(5))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("Render of the same Doc twice gave different bytes")
	}
	if !bytes.HasPrefix(a, []byte("%PDF-")) {
		t.Errorf("Render = %.20q...; want a PDF", a)
	}
	if !bytes.Contains(a, []byte("D:20261001000000")) {
		t.Error("the creation date is not the document's date")
	}
	d.Date = d.Date.AddDate(0, 0, 1)
	c, _ := Render(d)
	if bytes.Equal(a, c) {
		t.Error("a different date gave the same bytes")
	}
	if len(a) > 8000 {
		t.Errorf("a 5-line invoice is %d bytes; want a compressed file under 8 KB", len(a))
	}
}

func TestKey(t *testing.T) {
	base := invoice(3).Key()
	if invoice(3).Key() != base {
		t.Error("Key is not stable")
	}
	changes := map[string]func(d *Doc){
		"total":    func(d *Doc) { d.Totals[1].Cells[1] = "$2,000.01" },
		"line":     func(d *Doc) { d.Tables[0].Rows[0].Sub = "x" },
		"brand":    func(d *Doc) { d.Business.Ink = "#000000" },
		"logo":     func(d *Doc) { d.Business.LogoSum = "abc" },
		"paper":    func(d *Doc) { d.Paper = A4 },
		"date":     func(d *Doc) { d.Date = d.Date.Add(time.Hour) },
		"payments": func(d *Doc) { d.After = nil },
	}
	for name, change := range changes {
		d := invoice(3)
		change(d)
		if d.Key() == base {
			t.Errorf("changing the %s does not change Key", name)
		}
	}
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (poppler-utils)", tool)
		}
	}
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func pdftotext(t *testing.T, file string, args ...string) string {
	t.Helper()
	out, err := exec.Command("pdftotext", append(append(args, file), "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext %v: %v", args, err)
	}
	return string(out)
}

func pages(t *testing.T, file string) int {
	t.Helper()
	out, err := exec.Command("pdfinfo", file).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo printed no page count:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func TestRenderText(t *testing.T) {
	need(t, "pdftotext", "pdfinfo")
	tests := []struct {
		name string
		doc  func() *Doc
		want []string
	}{
		{"invoice", func() *Doc { return invoice(3) }, []string{"Invoice", "INV-9001", "Courtyard renovation — phase 2", "Lindqvist Family", "Balance due", "$1,234.50", "Line item 3", "Payments", "$765.50", "Notes", "Page 1 of 1", "hello@greenleaf.example"}},
		{"euro", func() *Doc {
			d := invoice(1)
			d.Highlight = &Field{"Amount paid", "1 234,56 €"}
			d.To.Lines[0] = "Åsa Müller “Café” 日本"
			return d
		}, []string{"1 234,56 €", "Åsa Müller “Café” ??"}},
		{"receipt without tables", func() *Doc {
			return &Doc{Kind: "Receipt", Number: "INV-1-1", Business: business(), Paper: A4, Highlight: &Field{"Amount paid", "$5.00"}, Closing: "Thank you for your payment."}
		}, []string{"Receipt", "INV-1-1", "$5.00", "Thank you for your payment."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Render(tt.doc())
			if err != nil {
				t.Fatal(err)
			}
			f := writeTemp(t, b)
			text := pdftotext(t, f)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("the PDF's text has no %q:\n%s", w, text)
				}
			}
			if n := pages(t, f); n != 1 {
				t.Errorf("%d pages; want 1", n)
			}
		})
	}
}

func TestPaperSize(t *testing.T) {
	need(t, "pdfinfo")
	for _, tt := range []struct{ paper, want string }{{Letter, "612 x 792 pts (letter)"}, {A4, "595.28 x 841.89 pts (A4)"}} {
		d := invoice(1)
		d.Paper = tt.paper
		b, err := Render(d)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("pdfinfo", writeTemp(t, b)).Output()
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("Render with paper %s: pdfinfo says\n%s\nwant page size %s", tt.paper, out, tt.want)
		}
	}
}

// TestLongInvoice: 120 lines span pages; the table heading and the running
// head repeat on every page and the footer counts the pages.
func TestLongInvoice(t *testing.T) {
	need(t, "pdftotext", "pdfinfo")
	b, err := Render(invoice(120))
	if err != nil {
		t.Fatal(err)
	}
	f := writeTemp(t, b)
	n := pages(t, f)
	if n < 3 {
		t.Fatalf("a 120-line invoice has %d pages; want at least 3", n)
	}
	for p := 2; p <= n; p++ {
		text := pdftotext(t, f, "-f", strconv.Itoa(p), "-l", strconv.Itoa(p))
		for _, w := range []string{"Invoice INV-9001 (continued)", fmt.Sprintf("Page %d of %d", p, n)} {
			if !strings.Contains(text, w) {
				t.Errorf("page %d has no %q", p, w)
			}
		}
		if p < n && !(strings.Contains(text, "Unit price") && strings.Contains(text, "Item")) {
			t.Errorf("page %d does not repeat the table heading:\n%s", p, text)
		}
	}
	all := pdftotext(t, f)
	for i := 1; i <= 120; i++ {
		if !strings.Contains(all, fmt.Sprintf("Line item %d\n", i)) {
			t.Errorf("line %d is missing", i)
		}
	}
	if last := pdftotext(t, f, "-f", strconv.Itoa(n), "-l", strconv.Itoa(n)); !strings.Contains(last, "Notes") {
		t.Errorf("the notes are not on the last page")
	}
}

// BenchmarkRenderLogo: a one-page document with the sample's logo as its
// PNG has it (an alpha channel, which fpdf splits and recompresses for
// each PDF) and as the generator hands it over (laid on white: embedded
// as it is).
func BenchmarkRenderLogo(b *testing.B) {
	raw, err := os.ReadFile("../../content/assets/logo.png")
	if err != nil {
		b.Skip(err)
	}
	for _, c := range []struct {
		name string
		logo []byte
	}{{"alpha", raw}, {"opaque", OpaquePNG(raw)}} {
		b.Run(c.name, func(b *testing.B) {
			d := &Doc{Kind: "Invoice", Number: "INV-1", Business: Business{Name: "Greenleaf Gardens", Logo: c.logo, LogoType: "png"}}
			for b.Loop() {
				if _, err := Render(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestOpaquePNG(t *testing.T) {
	raw, err := os.ReadFile("../../content/assets/logo.png")
	if err != nil {
		t.Skip(err)
	}
	if raw[25] != 6 {
		t.Fatalf("the sample logo's colour type is %d; this test wants an RGBA PNG (6)", raw[25])
	}
	out := OpaquePNG(raw)
	if out[25] != 2 || out[24] != 8 || out[28] != 0 {
		t.Errorf("OpaquePNG(RGBA) has depth %d, colour type %d, interlace %d; want 8-bit RGB (2), not interlaced", out[24], out[25], out[28])
	}
	if again := OpaquePNG(out); !bytes.Equal(again, out) {
		t.Error("OpaquePNG of an opaque RGB PNG is not the same bytes")
	}
	if !bytes.Equal(OpaquePNG(out), OpaquePNG(out)) || !bytes.Equal(OpaquePNG(raw), out) {
		t.Error("OpaquePNG is not deterministic")
	}
	if got := OpaquePNG([]byte("not a png")); string(got) != "not a png" {
		t.Errorf("OpaquePNG(junk) = %q; want it unchanged", got)
	}
}
