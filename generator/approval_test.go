package generator

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
	"github.com/hubhq/hub/generator/site"
	"github.com/hubhq/hub/themes"
)

// factsSource is an events.Source holding facts set by a test; version
// changes whenever the test changes them.
type factsSource struct {
	version int64
	facts   map[string]*events.Facts
}

func (s *factsSource) Versions(context.Context) (map[string]int64, error) {
	m := map[string]int64{}
	for id := range s.facts {
		m[id] = s.version
	}
	return m, nil
}

func (s *factsSource) Facts(_ context.Context, id string) (*events.Facts, error) {
	return s.facts[id], nil
}

func (s *factsSource) Pending(context.Context) ([]events.PendingClient, error) { return nil, nil }

// TestApprovedOptionsShown approves the sample's quote with optional lines
// (Q-1002: a bench off by default, lights on by default) with every
// combination of its options, and checks that the quote page, the quote
// PDF, the approval PDF and the edge's directory all show what the client
// chose, with the totals of that choice.
func TestApprovedOptionsShown(t *testing.T) {
	const client, number = "okafor-residence", "Q-1002"
	s, ps := site.Load(sample, testNow)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	var q *site.Quote
	for _, c := range s.Clients {
		for _, cq := range c.Quotes {
			if c.ID == client && cq.Number == number {
				q = cq
			}
		}
	}
	if q == nil {
		t.Fatalf("the sample has no quote %s for %s", number, client)
	}
	var opts []int
	for i, ln := range q.Lines {
		if ln.Optional {
			opts = append(opts, i)
		}
	}
	if len(opts) < 2 {
		t.Fatalf("%s has %d optional lines; the test wants one off and one on by default", number, len(opts))
	}
	cfg := s.Config
	fm := func(a money.Amount) string { return cfg.Locale.Format(a, cfg.Currency) }

	src := &factsSource{facts: map[string]*events.Facts{}}
	e := newEnv(t, sample)
	withPDFs := hasPoppler()
	hub := "c/" + client + "/"
	for mask := range 1 << len(opts) {
		choose := map[int]bool{}
		var chosen []int
		for b, i := range opts {
			choose[i] = mask&(1<<b) != 0
			if choose[i] {
				chosen = append(chosen, i)
			}
		}
		name := optNames(q, chosen)
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) {
			want, err := site.ComputeTotals(q.Lines, q.Discounts, q.Tax, cfg.Taxes, choose)
			if err != nil {
				t.Fatal(err)
			}
			qq := *q
			qq.Totals = want
			deposit := site.DepositDue(&qq)
			src.version++
			src.facts[client] = &events.Facts{Approvals: []events.Approval{{
				Quote: number, Version: q.Version, Options: chosen, Name: "Grace Okafor", Email: "grace@example.com",
				IP: "203.0.113.7", PageSHA: strings.Repeat("ab", 32), At: time.Date(2026, 11, 20, 15, 4, 0, 0, time.UTC),
			}}}
			res, err := Build(context.Background(), Options{Content: e.content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow, Events: src})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}

			page := readOut(t, e.out, hub+"quotes/"+number+"/index.html")
			if got := findString(page, `data-total>([^<]+)<`); got != fm(want.Total) {
				t.Errorf("quote page total = %q; want %q", got, fm(want.Total))
			}
			if got := findString(page, `data-deposit>([^<]+)<`); deposit > 0 && got != fm(deposit) {
				t.Errorf("quote page deposit = %q; want %q", got, fm(deposit))
			}
			for _, i := range opts {
				ln := q.Lines[i]
				tag := findString(page, regexp.QuoteMeta(ln.Name)+`</span>\s*<span class="?tag"?>([^<]+)<`)
				if wantTag := optionTag(choose[i]); tag != wantTag {
					t.Errorf("quote page: %q tagged %q; want %q", ln.Name, tag, wantTag)
				}
				if !listed(page, ln.Name, choose[i]) {
					t.Errorf("quote page's approval does not list %q after %q", ln.Name, optionList(choose[i]))
				}
			}

			keys, err := bundle.LoadKeySet(e.keys)
			if err != nil {
				t.Fatal(err)
			}
			d, err := bundle.ReadDirectory(filepath.Join(OutputDirs(e.out).Gens, res.Generation), keys)
			if err != nil {
				t.Fatal(err)
			}
			var doc *bundle.DirDocument
			for _, c := range d.Clients {
				for j := range c.Documents {
					if c.ID == client && c.Documents[j].Number == number {
						doc = &c.Documents[j]
					}
				}
			}
			if doc == nil || doc.State != site.QuoteApproved || doc.Total != int64(want.Total) || doc.Deposit != int64(deposit) || doc.Amount != fm(want.Total) {
				b, _ := json.Marshal(doc)
				t.Errorf("directory entry = %s; want approved, total %d (%s), deposit %d", b, want.Total, fm(want.Total), deposit)
			}

			if !withPDFs {
				t.Log("pdftotext is not installed (poppler-utils): the PDFs are not checked")
				return
			}
			quotePDFText := oneLine(pdfText(t, filepath.Join(e.out, filepath.FromSlash(hub+quotePDF(number)))))
			approval := oneLine(pdfText(t, filepath.Join(e.out, filepath.FromSlash(hub+approvalPDF(number)))))
			// The quote's acceptance block is filled from the approval.
			if !regexp.MustCompile(`Acceptance Approved by Grace Okafor \(grace@example\.com\) on Nov 20, 2026\..* Signature Grace Okafor Nov 20, 2026 Name Date`).MatchString(quotePDFText) {
				t.Errorf("quote PDF's acceptance block is not filled by the approval:\n%s", quotePDFText)
			}
			for doc, text := range map[string]string{"quote PDF": quotePDFText, "approval PDF": approval} {
				if !strings.Contains(text, fm(want.Total)) {
					t.Errorf("%s lacks the approved total %s:\n%s", doc, fm(want.Total), text)
				}
				if deposit > 0 && !strings.Contains(text, fm(deposit)) {
					t.Errorf("%s lacks the deposit %s:\n%s", doc, fm(deposit), text)
				}
				for _, i := range opts {
					name := q.Lines[i].Name
					if got := pdfTag(text, name); got != optionTag(choose[i]) {
						t.Errorf("%s: %q tagged %q; want %q", doc, name, got, optionTag(choose[i]))
					}
				}
			}
			for _, i := range opts {
				if name := q.Lines[i].Name; !listed(approval, name, choose[i]) {
					t.Errorf("approval PDF does not list %q after %q:\n%s", name, optionList(choose[i]), approval)
				}
			}
		})
	}
}

// optNames names the lines idx of q by their last word: "bench+lighting".
func optNames(q *site.Quote, idx []int) string {
	var names []string
	for _, i := range idx {
		w := strings.Fields(q.Lines[i].Name)
		names = append(names, strings.ToLower(w[len(w)-1]))
	}
	return strings.Join(names, "+")
}

func optionList(chosen bool) string {
	if chosen {
		return "Optional items chosen:"
	}
	return "Optional items left out:"
}

// listed reports whether text lists name in the approval's sentence of
// the options chosen (or left out).
func listed(text, name string, chosen bool) bool {
	return regexp.MustCompile(regexp.QuoteMeta(optionList(chosen)) + `[^.]*` + regexp.QuoteMeta(name)).MatchString(text)
}

func optionTag(chosen bool) string {
	if chosen {
		return "Optional · included"
	}
	return "Optional · not included"
}

// pdfTag is the "Optional · …" tag printed after a line's name in a
// PDF's text.
func pdfTag(text, name string) string {
	i := strings.Index(text, name)
	if i < 0 {
		return ""
	}
	return findString(text[i:], `(Optional · (?:not )?included)`)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func findString(s, re string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if len(m) < 2 {
		return ""
	}
	return m[1]
}

func readOut(t *testing.T, out, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLinesOverflow: the amount shown for a line left out of the totals
// is quantity × unit price; when that overflows, presenting the lines
// fails instead of showing $0.00.
func TestLinesOverflow(t *testing.T) {
	s, ps := site.Load(sample, testNow)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	p := &presenter{cfg: &s.Config}
	three, err := money.ParseDecimal("3")
	if err != nil {
		t.Fatal(err)
	}
	lines := []site.Line{
		{Name: "Design", Quantity: site.Number{Dec: money.One, Set: true}, UnitPrice: site.Money{Amt: 45000, Set: true}},
		{Name: "Gold bench", Optional: true, Quantity: site.Number{Dec: three, Set: true}, UnitPrice: site.Money{Amt: money.Amount(1 << 62), Set: true}},
	}
	totals, err := site.ComputeTotals(lines, nil, "", s.Config.Taxes, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.lines(lines, totals, "", nil)
	if !errors.Is(err, money.ErrOverflow) || !strings.Contains(err.Error(), "Gold bench") {
		t.Errorf("lines = %v; want an overflow error naming the line", err)
	}
}
