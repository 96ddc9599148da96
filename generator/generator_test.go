package generator

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/site"
	"github.com/hubhq/hub/themes"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testNow is the day the sample content's derived states are computed for.
var testNow = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

const sample = "../content"

// copyTree copies a content folder so a test may edit it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

type env struct {
	content, out, keys string
}

func newEnv(t *testing.T, content string) *env {
	dir := t.TempDir()
	return &env{content: content, out: filepath.Join(dir, "public"), keys: filepath.Join(dir, "keys")}
}

func (e *env) build(t *testing.T, now time.Time) (*Result, error) {
	t.Helper()
	return Build(context.Background(), Options{Content: e.content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: now})
}

func (e *env) mustBuild(t *testing.T, now time.Time) *Result {
	t.Helper()
	res, err := e.build(t, now)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return res
}

// outputFiles reads every file a visitor could reach in the output, following the client links.
func outputFiles(t *testing.T, out string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	var walk func(dir, prefix string)
	walk = func(dir, prefix string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			st, err := os.Stat(p) // follows links
			if err != nil {
				t.Fatal(err)
			}
			if st.IsDir() {
				walk(p, prefix+e.Name()+"/")
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[prefix+e.Name()] = b
		}
	}
	walk(out, "")
	return files
}

func TestBuildSample(t *testing.T) {
	e := newEnv(t, sample)
	res := e.mustBuild(t, testNow)
	if !res.NewKey || res.Clients < 5 || res.Rendered != res.Clients {
		t.Errorf("first build = %+v; want a new key and every client rendered", res)
	}
	keys, err := bundle.LoadKeySet(e.keys)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(e.out, keys)
	if err != nil || len(rep.Failures) > 0 {
		t.Fatalf("Verify = %+v, %v; want no failures", rep, err)
	}
	if rep.Bundles != res.Clients {
		t.Errorf("verified %d bundles; want %d", rep.Bundles, res.Clients)
	}
	files := outputFiles(t, e.out)
	for _, want := range []string{"index.html", "login/continue/index.html", "login/sent/index.html", "login/invalid/index.html", "404.html",
		"c/whitfield-dental/index.html", "c/whitfield-dental/quotes/Q-1001/index.html", "c/whitfield-dental/invoices/INV-2001/index.html",
		"c/whitfield-dental/receipts/INV-2001-1/index.html", "c/whitfield-dental/portals/courtyard-renovation/index.html",
		"c/whitfield-dental/index.html.gz", "index.html.br", "c/marisol-chen/index.html"} {
		if _, ok := files[want]; !ok {
			t.Errorf("output has no %s", want)
		}
	}
	// A client's small pages get a .gz and no .br (bundleBrotliMin).
	if _, ok := files["c/whitfield-dental/index.html.br"]; ok {
		t.Error("output has c/whitfield-dental/index.html.br; want no .br beside a page under 32 KiB")
	}
	// Sidecars decompress to the file.
	gz, err := gzip.NewReader(bytes.NewReader(files["c/whitfield-dental/index.html.gz"]))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.ReadFrom(gz)
	if !bytes.Equal(plain.Bytes(), files["c/whitfield-dental/index.html"]) {
		t.Error("index.html.gz does not decompress to index.html")
	}
}

// TestVisibility: draft and archived quotes, draft and bad-debt invoices
// never appear in any output file.
func TestVisibility(t *testing.T) {
	s, ps := site.Load(sample, testNow)
	if len(ps) > 0 {
		t.Fatalf("sample content has problems:\n%v", ps)
	}
	var hidden, shown []string
	for _, c := range s.Clients {
		for _, q := range c.Quotes {
			if QuoteVisible(q) {
				shown = append(shown, q.Number)
			} else {
				hidden = append(hidden, q.Number)
			}
		}
		for _, inv := range c.Invoices {
			if InvoiceVisible(inv) {
				shown = append(shown, inv.Number)
			} else {
				hidden = append(hidden, inv.Number)
			}
		}
	}
	if len(hidden) < 4 {
		t.Fatalf("sample content hides only %v; it should have draft and archived quotes and draft and bad-debt invoices", hidden)
	}
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	files := outputFiles(t, e.out)
	all := map[string]bool{}
	for name, b := range files {
		text := string(b)
		if strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".br") {
			continue // compressed copies of files checked here anyway
		}
		for _, n := range hidden {
			if strings.Contains(text, n) || strings.Contains(name, n) {
				t.Errorf("%s mentions %s, which clients must never see", name, n)
			}
		}
		for _, n := range shown {
			if strings.Contains(text, n) {
				all[n] = true
			}
		}
	}
	for _, n := range shown {
		if !all[n] {
			t.Errorf("visible document %s appears in no page", n)
		}
	}
}

func TestIncremental(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	first := e.mustBuild(t, testNow)
	gen1 := first.Generation

	res := e.mustBuild(t, testNow)
	if !res.UpToDate || res.Rendered != 0 || res.Generation != gen1 {
		t.Fatalf("no-op rebuild = %+v; want up to date", res)
	}

	// One invoice changes: one client is rendered, the others keep their bundles.
	inv := filepath.Join(content, "clients", "okafor-residence", "invoices")
	entries, _ := os.ReadDir(inv)
	f := filepath.Join(inv, entries[0].Name())
	b, _ := os.ReadFile(f)
	os.WriteFile(f, bytes.Replace(b, []byte("subject: "), []byte("subject: Thanks again! "), 1), 0o644)
	before, _ := filepath.EvalSymlinks(filepath.Join(e.out, "c", "whitfield-dental"))
	res = e.mustBuild(t, testNow)
	if res.UpToDate || res.Rendered != 1 {
		t.Fatalf("rebuild after one invoice changed = %+v; want exactly one client rendered", res)
	}
	after, _ := filepath.EvalSymlinks(filepath.Join(e.out, "c", "whitfield-dental"))
	if before != after {
		t.Errorf("unchanged client's bundle moved from %s to %s", before, after)
	}
	number := regexp.MustCompile(`(?m)^number: (\S+)`).FindSubmatch(b)[1]
	page, err := os.ReadFile(filepath.Join(e.out, "c", "okafor-residence", "invoices", string(number), "index.html"))
	if err != nil || !strings.Contains(string(page), "Thanks again!") {
		t.Errorf("the changed invoice's page does not show the change")
	}

	// A new file in an existing folder is noticed (the folder's mtime changes).
	newInv := filepath.Join(inv, "INV-7777.yaml")
	os.WriteFile(newInv, regexp.MustCompile(`(?m)^number: \S+`).ReplaceAll(b, []byte("number: INV-7777")), 0o644)
	res = e.mustBuild(t, testNow)
	if res.Rendered != 1 {
		t.Errorf("rebuild after adding an invoice rendered %d clients; want 1", res.Rendered)
	}
	if _, err := os.Stat(filepath.Join(e.out, "c", "okafor-residence", "invoices", "INV-7777", "index.html")); err != nil {
		t.Errorf("the added invoice has no page: %v", err)
	}
	os.Remove(newInv)
	e.mustBuild(t, testNow) // back to the previous bundle (kept, so reused)
	if _, err := os.Stat(filepath.Join(e.out, "c", "okafor-residence", "invoices", "INV-7777", "index.html")); err == nil {
		t.Error("the removed invoice's page is still served")
	}

	// Days later, invoices fall past due, and every statement is dated
	// the new day: the clients with invoices are rebuilt, the others not.
	res = e.mustBuild(t, testNow.AddDate(0, 0, 22))
	s, _ := site.Load(content, testNow)
	withInvoices := 0
	for _, c := range s.Clients {
		if slices.ContainsFunc(c.Invoices, InvoiceVisible) {
			withInvoices++
		}
	}
	if res.Rendered != withInvoices || res.Rendered == res.Clients {
		t.Errorf("rebuild 22 days later rendered %d of %d clients; want the %d with invoices (their statements are dated the build day)", res.Rendered, res.Clients, withInvoices)
	}

	// The site config changes: everyone is rebuilt.
	cfg := filepath.Join(content, site.ConfigFile)
	b, _ = os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(b, []byte("color:"), []byte("color: \"#7a1f5c\"\nx_old_color:"), 1), 0o644)
	os.WriteFile(cfg, b, 0o644) // restore: an unknown field would fail
	os.WriteFile(cfg, append(b, []byte("\nphone: \"+1 503 555 0199\"\n")...), 0o644)
	res, err = e.build(t, testNow)
	if err != nil {
		// phone may already be set; then change the name instead
		os.WriteFile(cfg, bytes.Replace(b, []byte("name: "), []byte("name: The "), 1), 0o644)
		res = e.mustBuild(t, testNow)
	}
	if res.Rendered != res.Clients {
		t.Errorf("rebuild after site.yaml changed rendered %d of %d clients; want all", res.Rendered, res.Clients)
	}

	// Old generations and bundles are collected: at most two generations remain.
	gens, _ := os.ReadDir(OutputDirs(e.out).Gens)
	if len(gens) > 2 {
		t.Errorf("%d generations kept; want at most 2 (current and previous)", len(gens))
	}
}

func TestFailedBuildKeepsOutput(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	e.mustBuild(t, testNow)
	link, _ := os.Readlink(e.out)
	bundles, _ := os.ReadDir(OutputDirs(e.out).Bundles)

	f := filepath.Join(content, "clients", "okafor-residence", "client.yaml")
	b, _ := os.ReadFile(f)
	os.WriteFile(f, append(b, []byte("nickname: Okie\n")...), 0o644)
	_, err := e.build(t, testNow)
	var ps site.Problems
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), `client.yaml:`) || !strings.Contains(ps.Error(), `unknown field "nickname"`) {
		t.Fatalf("Build with a bad field = %v; want a problem naming client.yaml and the field", err)
	}
	if now, _ := os.Readlink(e.out); now != link {
		t.Errorf("output moved from %s to %s after a failed build", link, now)
	}
	keys, _ := bundle.LoadKeySet(e.keys)
	if rep, err := Verify(e.out, keys); err != nil || len(rep.Failures) > 0 {
		t.Errorf("after a failed build, Verify = %+v, %v", rep, err)
	}
	after, _ := os.ReadDir(OutputDirs(e.out).Bundles)
	for i := range after {
		inner, _ := os.ReadDir(filepath.Join(OutputDirs(e.out).Bundles, after[i].Name()))
		if len(inner) != 1 {
			t.Errorf("bundles/%s has %d versions after a failed build; want the 1 in use", after[i].Name(), len(inner))
		}
	}
	if len(after) != len(bundles) {
		t.Errorf("bundles folder changed from %d to %d entries", len(bundles), len(after))
	}
}

func TestOutputNotAHubBuild(t *testing.T) {
	e := newEnv(t, sample)
	os.MkdirAll(e.out, 0o755)
	os.WriteFile(filepath.Join(e.out, "precious.txt"), []byte("keep me"), 0o644)
	if _, err := e.build(t, testNow); err == nil || !strings.Contains(err.Error(), "not a hub build") {
		t.Fatalf("Build over a foreign folder = %v; want a refusal", err)
	}
	if b, _ := os.ReadFile(filepath.Join(e.out, "precious.txt")); string(b) != "keep me" {
		t.Error("a foreign output folder was changed")
	}
}

// TestPageWeight: a client page and its stylesheet fit in about 14 KB compressed.
func TestPageWeight(t *testing.T) {
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	files := outputFiles(t, e.out)
	var cssGz int
	for name, b := range files {
		if strings.HasPrefix(name, "assets/style.") && strings.HasSuffix(name, ".css.gz") {
			cssGz = len(b)
		}
	}
	if cssGz == 0 {
		t.Fatal("no compressed stylesheet in the output")
	}
	for name, b := range files {
		if !strings.HasPrefix(name, "c/") || !strings.HasSuffix(name, ".html.gz") {
			continue
		}
		total := len(b) + cssGz
		t.Logf("%s: %d bytes compressed with its CSS (%d of CSS)", strings.TrimSuffix(name, ".gz"), total, cssGz)
		if total > 14*1024 {
			t.Errorf("%s is %d bytes compressed with its CSS; want at most 14 KB", name, total)
		}
	}
}

func TestMarkdownIsSafe(t *testing.T) {
	tests := []struct{ in, bad string }{
		{"<script>alert(1)</script>", "<script"},
		{"[click](javascript:alert(1))", "javascript:"},
		{"[click](JaVaScRiPt:alert(1))", "alert(1)\""},
		{"[x](data:text/html;base64,PHNjcmlwdD4=)", "data:text/html"},
		{"<img src=x onerror=alert(1)>", "onerror"},
		{"<a href=\"https://x\" onclick=\"alert(1)\">x</a>", "onclick"},
	}
	for _, tt := range tests {
		if got := string(Markdown(tt.in)); strings.Contains(strings.ToLower(got), strings.ToLower(tt.bad)) {
			t.Errorf("Markdown(%q) = %q; must not contain %q", tt.in, got, tt.bad)
		}
	}
	if got := string(Markdown("**bold** and [a link](https://example.com)")); !strings.Contains(got, "<strong>bold</strong>") || !strings.Contains(got, `href="https://example.com"`) {
		t.Errorf("Markdown of ordinary text = %q", got)
	}
}

func TestBrandColors(t *testing.T) {
	for _, c := range []string{"#2f6f4e", "#ffffff", "#ffeb3b", "#00bcd4", "#777777", "#000000", "#e91e63", "#1f5f8b"} {
		got := BrandColors(c)
		if r := ContrastRatio(got.BrandInk, "#ffffff"); r < 4.5 {
			t.Errorf("BrandColors(%q).BrandInk = %s with contrast %.2f on white; want >= 4.5", c, got.BrandInk, r)
		}
		if r := ContrastRatio("#ffffff", got.BrandInk); r < 4.5 {
			t.Errorf("white text on BrandInk %s: contrast %.2f; want >= 4.5", got.BrandInk, r)
		}
		if got.OnBrand != "#ffffff" && got.OnBrand != "#111111" {
			t.Errorf("BrandColors(%q).OnBrand = %s", c, got.OnBrand)
		}
	}
	if got := BrandColors("#1f5f8b").BrandInk; got != "#1f5f8b" {
		t.Errorf("a dark enough brand colour was changed to %s", got)
	}
}

func TestResolveTemplate(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]bool
		want      bool
	}{
		{"home.html", nil, false},
		{"home.html", map[string]bool{"home.html": true}, true},
		{"quote.html", map[string]bool{"home.html": true}, false},
		{"style.css", map[string]bool{"style.css": true}, true},
	}
	for _, tt := range tests {
		if got := ResolveTemplate(tt.name, tt.overrides); got != tt.want {
			t.Errorf("ResolveTemplate(%q, %v) = %v; want %v", tt.name, tt.overrides, got, tt.want)
		}
	}
}

func TestThemeOverride(t *testing.T) {
	content := copyTree(t, sample)
	os.MkdirAll(filepath.Join(content, "themes"), 0o755)
	os.WriteFile(filepath.Join(content, "themes", "404.html"), []byte(`{{define "main"}}<h1>Lost in the garden</h1>{{end}}`), 0o644)
	e := newEnv(t, content)
	e.mustBuild(t, testNow)
	b, _ := os.ReadFile(filepath.Join(e.out, "404.html"))
	if !strings.Contains(string(b), "Lost in the garden") {
		t.Errorf("404.html does not use the site's override: %.200s", b)
	}
	os.WriteFile(filepath.Join(content, "themes", "hom.html"), []byte(`x`), 0o644)
	if _, err := e.build(t, testNow); err == nil || !strings.Contains(err.Error(), "hom.html: not a theme file") {
		t.Errorf("Build with a misnamed override = %v; want an error naming it", err)
	}
}

func TestBuilderWithHints(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	b := NewBuilder(Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow})
	ctx := context.Background()
	if res, err := b.Build(ctx, nil); err != nil || res.Rendered != res.Clients {
		t.Fatalf("first build = %+v, %v", res, err)
	}
	inv := filepath.Join(content, "clients", "okafor-residence", "invoices")
	entries, _ := os.ReadDir(inv)
	f := filepath.Join(inv, entries[0].Name())
	orig, _ := os.ReadFile(f)

	// A change the hint names is built; nothing else is looked at.
	os.WriteFile(f, bytes.Replace(orig, []byte("subject: "), []byte("subject: Hinted "), 1), 0o644)
	if res, err := b.Build(ctx, []string{f}); err != nil || res.Rendered != 1 {
		t.Fatalf("build with the changed file named = %+v, %v; want 1 client rendered", res, err)
	}

	// A failed build keeps its changes pending: fixing only the broken file
	// still builds the other change made with it.
	client := filepath.Join(content, "clients", "lindqvist", "client.yaml")
	good, _ := os.ReadFile(client)
	os.WriteFile(f, bytes.Replace(orig, []byte("subject: "), []byte("subject: Second "), 1), 0o644)
	os.WriteFile(client, append(good, []byte("bogus: 1\n")...), 0o644)
	if _, err := b.Build(ctx, []string{f, client}); err == nil {
		t.Fatal("build with a bad client.yaml succeeded")
	}
	os.WriteFile(client, good, 0o644)
	res, err := b.Build(ctx, []string{client})
	if err != nil || res.Rendered != 1 {
		t.Fatalf("build after the fix = %+v, %v; want the invoice's client rendered (the fixed client is as before)", res, err)
	}
	number := regexp.MustCompile(`(?m)^number: (\S+)`).FindSubmatch(orig)[1]
	page, _ := os.ReadFile(filepath.Join(e.out, "c", "okafor-residence", "invoices", string(number), "index.html"))
	if !strings.Contains(string(page), "Second") {
		t.Error("the change made alongside the failed one was lost")
	}

	// A client folder added, then removed, is seen with the hint that
	// names it (the watcher reports the folder); a change deeper down does
	// not list clients/ again.
	added := filepath.Join(content, "clients", "okafor-annex")
	os.MkdirAll(added, 0o755)
	os.WriteFile(filepath.Join(added, "client.yaml"), good, 0o644) // lindqvist's, without its documents
	res, err = b.Build(ctx, []string{added})
	if err != nil || res.Clients != 8 {
		t.Fatalf("build after a client folder was added = %+v, %v; want 8 clients", res, err)
	}
	if _, err := os.Stat(filepath.Join(e.out, "c", "okafor-annex", "index.html")); err != nil {
		t.Errorf("the added client's hub: %v", err)
	}
	os.WriteFile(f, bytes.Replace(orig, []byte("subject: "), []byte("subject: Third "), 1), 0o644)
	if res, err := b.Build(ctx, []string{f}); err != nil || res.Clients != 8 || res.Rendered != 1 {
		t.Fatalf("build after one invoice changed = %+v, %v; want 8 clients, 1 rendered", res, err)
	}
	os.RemoveAll(added)
	if res, err := b.Build(ctx, []string{added}); err != nil || res.Clients != 7 {
		t.Fatalf("build after a client folder was removed = %+v, %v; want 7 clients", res, err)
	}
	if _, err := os.Lstat(filepath.Join(e.out, "c", "okafor-annex")); err == nil {
		t.Error("the removed client's hub is still published")
	}

	// A site-wide change (site.yaml) re-renders everyone even with a hint.
	cfg := filepath.Join(content, site.ConfigFile)
	cb, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(cb, []byte("name: "), []byte("name: The "), 1), 0o644)
	if res, err := b.Build(ctx, []string{cfg}); err != nil || res.Rendered != res.Clients {
		t.Errorf("build after site.yaml changed = %+v, %v; want all clients rendered", res, err)
	}
}

// TestDirectoryRemade: a damaged directory file is made again from the
// content by the next build (each client's entry once, not re-read per client).
func TestDirectoryRemade(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	res := e.mustBuild(t, testNow)
	genDir := filepath.Join(OutputDirs(e.out).Gens, res.Generation)
	os.WriteFile(filepath.Join(genDir, bundle.DirectoryName), []byte("garbage\n{}\n"), 0o600)
	f := filepath.Join(content, "clients", "lindqvist", "client.yaml")
	b, _ := os.ReadFile(f)
	os.WriteFile(f, bytes.Replace(b, []byte("name: "), []byte("name: New "), 1), 0o644)
	e.mustBuild(t, testNow)
	keys, _ := bundle.LoadKeySet(e.keys)
	d, err := bundle.ReadDirectory(genDir, keys)
	if err != nil || len(d.Clients) != res.Clients {
		t.Fatalf("directory after the rebuild: %v, %d clients", err, len(d.Clients))
	}
	for _, c := range d.Clients {
		if c.Bundle == "" || len(c.Contacts) == 0 {
			t.Errorf("entry %s is incomplete: %+v", c.ID, c)
		}
	}
}

// TestHomeBalance: the home page's balance leads to what to pay, and says
// "Past due" (not by colour alone) when some of it is.
func TestHomeBalance(t *testing.T) {
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	files := outputFiles(t, e.out)
	tests := []struct {
		client, pay string
		late        bool
	}{
		{"whitfield-dental", `<a class="btn btn-primary" href="/c/whitfield-dental/invoices/INV-2001/">Pay now</a>`, false},
		{"hawthorne-bistro", `<a class="btn btn-primary" href="/c/hawthorne-bistro/invoices/INV-2003/">Pay now</a>`, true},
	}
	for _, tt := range tests {
		home := string(files["c/"+tt.client+"/index.html"])
		if !strings.Contains(home, tt.pay) {
			t.Errorf("%s's home page lacks the balance's Pay button %s", tt.client, tt.pay)
		}
		late := strings.Contains(home, `class="balance balance-late"`) && strings.Contains(home, `<span class="badge badge-danger">Past due</span>`)
		if late != tt.late {
			t.Errorf("%s's home page shows the balance past due = %v; want %v", tt.client, late, tt.late)
		}
	}
}

// TestPagePolish checks what external checkers found on every page of the
// sample: each <img> has width and height (no layout shift), each page a
// favicon, public pages a meta description, no title names the business
// twice, no frame is sandboxed with both allow-scripts and
// allow-same-origin (which undoes the sandbox), and no one-line input asks
// for the multi-line street-address.
func TestPagePolish(t *testing.T) {
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	img := regexp.MustCompile(`<img[^>]*>`)
	title := regexp.MustCompile(`<title>([^<]*)</title>`)
	for name, b := range outputFiles(t, e.out) {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		page := string(b)
		for _, tag := range img.FindAllString(page, -1) {
			if !strings.Contains(tag, " width=") || !strings.Contains(tag, " height=") {
				t.Errorf("%s: %s has no width and height", name, tag)
			}
		}
		if !strings.Contains(page, `<link rel="icon" href="/assets/icon.`) {
			t.Errorf("%s has no favicon (a link rel=icon to /assets/icon.…)", name)
		}
		if public := !strings.HasPrefix(name, "c/"); public != strings.Contains(page, `<meta name="description"`) {
			t.Errorf("%s: meta description present = %v; want %v (public pages only)", name, !public, public)
		}
		if m := title.FindStringSubmatch(page); m == nil || strings.Count(m[1], "Greenleaf Gardens") > 1 {
			t.Errorf("%s: title %q; want one that names the business once", name, m)
		}
		if strings.Contains(page, "allow-same-origin") && strings.Contains(page, "allow-scripts") {
			t.Errorf("%s sandboxes a frame with allow-scripts and allow-same-origin", name)
		}
		if strings.Contains(page, "street-address") { // a multi-line token, on one-line inputs
			t.Errorf("%s has autocomplete=street-address; one-line address inputs take address-line1", name)
		}
	}
}

// TestNumberClashIncremental: an incremental build that reads one client
// still finds its numbers used by clients it did not read, whatever the
// case, and names every file; a site with no clash builds.
func TestNumberClashIncremental(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	e.mustBuild(t, testNow)
	inv := filepath.Join(content, "clients", "okafor-residence", "invoices")
	entries, _ := os.ReadDir(inv)
	b, _ := os.ReadFile(filepath.Join(inv, entries[0].Name()))
	clash := filepath.Join(inv, "INV-CLASH.yaml")
	os.WriteFile(clash, regexp.MustCompile(`(?m)^number: \S+`).ReplaceAll(b, []byte("number: inv-2001")), 0o644)
	_, err := e.build(t, testNow)
	var ps site.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Build with inv-2001 also in whitfield-dental = %v; want problems", err)
	}
	msg := ps.Error()
	for _, want := range []string{"INV-CLASH.yaml", filepath.Join("whitfield-dental", "invoices"), "is also used by"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the problems do not mention %q:\n%s", want, msg)
		}
	}
	os.WriteFile(clash, regexp.MustCompile(`(?m)^number: \S+`).ReplaceAll(b, []byte("number: INV-8888")), 0o644)
	if res := e.mustBuild(t, testNow); res.Rendered != 1 {
		t.Errorf("rebuild with a unique number rendered %d clients; want 1", res.Rendered)
	}
}
