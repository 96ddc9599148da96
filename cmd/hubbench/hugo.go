package main

import (
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The Hugo comparison (-hugo BIN): the synthetic site written as a Hugo
// site with the same pages per client that hub writes (home; quotes, each
// visible quote; invoices, each visible invoice; receipts, each receipt;
// portals, the portal; statement, account, messages, requests: 18), the
// same data in front matter, and templates that do comparable work (line
// tables with amounts computed in the template, Markdown descriptions and
// notes, a navigation bar, lists of the client's documents), minified. Hugo
// writes no PDFs and no .gz/.br sidecars, so hub is compared with and
// without its PDFs, and its sidecars are part of its time.

const hugoConfig = `baseURL = "https://bench.example/"
title = "Benchmark Services"
disableKinds = ["taxonomy", "term", "rss", "sitemap", "robotstxt", "404"]
[minify]
minifyOutput = true
[params]
address = "1 Main St, Portland, OR 97201"
phone = "+1 503 555 0100"
`

const hugoBaseof = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ .Title }} · {{ site.Title }}</title><link rel="stylesheet" href="/style.css"></head>
<body>
<header><a href="/">{{ site.Title }}</a>
{{- with .Params.client }}
<nav aria-label="Main"><ul>
{{- range slice "" "quotes/" "invoices/" "portals/" "receipts/" "requests/" "messages/" "account/" }}
<li><a href="/c/{{ $.Params.client }}/{{ . }}">{{ if eq . "" }}Home{{ else }}{{ strings.TrimSuffix "/" . | title }}{{ end }}</a></li>
{{- end }}
</ul></nav>
{{- end }}
</header>
<main>{{ block "main" . }}{{ end }}</main>
<footer><p>{{ site.Title }} · {{ site.Params.address }} · {{ site.Params.phone }}</p></footer>
</body>
</html>
`

const hugoSingle = `{{ define "main" }}
<h1>{{ .Title }}</h1>
{{- with .Params.number }}<p>{{ . }} · {{ $.Params.status }} · {{ $.Params.date | time.Format "Jan 2, 2006" }}</p>{{ end }}
{{- with .Params.lines }}
{{- $sub := 0.0 }}
<table><thead><tr><th>Item</th><th>Qty</th><th>Price</th><th>Amount</th></tr></thead><tbody>
{{- range . }}
{{- $amt := mul (float .quantity) (float .unit_price) }}
{{- if not .optional }}{{ $sub = add $sub $amt }}{{ end }}
<tr><td>{{ .name }}{{ with .description }}{{ . | markdownify }}{{ end }}</td><td>{{ .quantity }}</td>
<td>{{ lang.FormatCurrency 2 "USD" .unit_price }}</td><td>{{ lang.FormatCurrency 2 "USD" $amt }}</td></tr>
{{- end }}
</tbody></table>
{{- $disc := mul $sub (div (float ($.Params.discount | default 0)) 100) }}
{{- $tax := mul (sub $sub $disc) 0.085 }}
<dl><dt>Subtotal</dt><dd>{{ lang.FormatCurrency 2 "USD" $sub }}</dd>
{{- if $disc }}<dt>Discount</dt><dd>−{{ lang.FormatCurrency 2 "USD" $disc }}</dd>{{ end }}
<dt>Sales tax 8.5%</dt><dd>{{ lang.FormatCurrency 2 "USD" $tax }}</dd>
<dt>Total</dt><dd>{{ lang.FormatCurrency 2 "USD" (add (sub $sub $disc) $tax) }}</dd></dl>
{{- end }}
{{ .Content }}
{{ end }}
`

const hugoList = `{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ .Content }}
<ul>
{{- range .RegularPagesRecursive }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ with .Params.number }} · {{ . }} · {{ $.Params.client }}{{ end }}{{ with .Params.status }} · {{ . }}{{ end }}</li>
{{- end }}
</ul>
{{ end }}
`

const hugoPortal = `Plans, schedule and updates.

Notes about the project, with **Markdown**.

- Phase one: clearing
- Phase two: planting

[Plant list](https://bench.example/plants) · [Plans/scope.txt](files/scope.txt)

## Work started

*Oct 1, 2026.* We started clearing the site today.
`

// GenerateHugo writes the Hugo site for n clients of Generate's data.
func GenerateHugo(dir string, n int) error {
	files := map[string]string{
		"hugo.toml":                     hugoConfig,
		"layouts/_default/baseof.html":  hugoBaseof,
		"layouts/_default/single.html":  hugoSingle,
		"layouts/_default/list.html":    hugoList,
		"static/style.css":              "body{font-family:system-ui;margin:0 auto;max-width:60rem}table{width:100%}",
		"content/_index.md":             "---\ntitle: Client hub\n---\nWelcome to our **client hub**.\n",
		"content/c/_index.md":           "---\ntitle: Clients\n---\n",
		"layouts/partials/.placeholder": "",
	}
	for path, body := range files {
		if err := writeFile(filepath.Join(dir, path), body); err != nil {
			return err
		}
	}
	quoteStatus := []string{"awaiting_response", "approved"} // the draft never reaches a page
	for i := range n {
		id := clientID(i)
		c := filepath.Join(dir, "content", "c", id)
		front := func(title string, extra ...string) string {
			return "---\ntitle: " + title + "\nclient: " + id + "\n" + strings.Join(extra, "") + "---\n"
		}
		pages := map[string]string{
			"_index.md":           front(fmt.Sprintf("Welcome, Company %d LLC", i)) + "Your quotes, invoices and project.\n",
			"quotes/_index.md":    front("Quotes"),
			"invoices/_index.md":  front("Invoices"),
			"receipts/_index.md":  front("Receipts"),
			"portals/_index.md":   front("Portals"),
			"statement.md":        front("Statement") + "Each invoice and payment with a running balance.\n",
			"account.md":          front("Account") + "Contact " + fmt.Sprint(i) + ", contact" + fmt.Sprint(i) + "@bench.example.\n",
			"messages.md":         front("Messages") + "Write to us here: we answer on this page.\n",
			"requests.md":         front("Requests") + "Ask for new work.\n",
			"portals/project.md":  front("Backyard project") + hugoPortal,
			"receipts/INV-1-1.md": front("Receipt", fmt.Sprintf("number: INV-%d-1-1\nstatus: paid\ndate: 2026-10-01\n", i)) + "$100.00 by card ending 4242.\n",
			"receipts/INV-2-1.md": front("Receipt", fmt.Sprintf("number: INV-%d-2-1\nstatus: paid\ndate: 2026-10-01\n", i)) + "$500.00 by check.\n",
		}
		for q, st := range quoteStatus {
			pages[fmt.Sprintf("quotes/Q-%d.md", q)] = front("Garden work", fmt.Sprintf(`number: Q-%d-%d
status: %s
date: 2026-10-%02d
discount: 5
lines:
  - {name: Design consultation, description: "Site visit and **planting plan**.", quantity: %d, unit_price: 95.00}
  - {name: Plants and materials, quantity: 1, unit_price: %d.50}
  - {name: Optional lighting, optional: true, quantity: 1, unit_price: 300.00}
`, i, q, st, 10+q, 1+q, 120+q)) + "Thank you for the opportunity.\n"
		}
		for v, st := range []string{"awaiting_payment", "awaiting_payment", "paid", "awaiting_payment"} {
			pages[fmt.Sprintf("invoices/INV-%d.md", v)] = front("Monthly maintenance", fmt.Sprintf(`number: INV-%d-%d
status: %s
date: 2026-07-01
lines:
  - {name: Maintenance visits, quantity: 4, unit_price: 120.00}
  - {name: Green waste disposal, quantity: 1, unit_price: 45.00}
`, i, v, st)) + "Due " + fmt.Sprintf("2026-%02d-15", 8+v) + ".\n"
		}
		for path, body := range pages {
			if err := writeFile(filepath.Join(c, path), body); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFile(p, s string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(s), 0o644)
}

// countHTML counts the clients' pages of an output: the .html files under
// out/c/<client>/ (hub's are links to their bundles, followed).
func countHTML(out string) int {
	n := 0
	clients, _ := os.ReadDir(filepath.Join(out, "c"))
	for _, c := range clients {
		root, err := filepath.EvalSymlinks(filepath.Join(out, "c", c.Name()))
		if st, serr := os.Stat(root); err != nil || serr != nil || !st.IsDir() {
			continue // c/index.html, Hugo's list of the section
		}
		filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".html") {
				n++
			}
			return nil
		})
	}
	return n
}

// findHugo is -hugo's default: HUB_BENCH_HUGO, else hugo on PATH, else
// in GOPATH/bin (where go install puts it), else "".
func findHugo() string {
	if h := os.Getenv("HUB_BENCH_HUGO"); h != "" {
		return h
	}
	if h, err := exec.LookPath("hugo"); err == nil {
		return h
	}
	if h := filepath.Join(build.Default.GOPATH, "bin", "hugo"); fileExists(h) {
		return h
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// onlyHugo is -only hugo: the comparison alone, on the content in dir (made
// when it is not there).
func onlyHugo(hugo, hub, dir string, n, rounds int) error {
	if hugo == "" || hugo == "none" {
		return fmt.Errorf("-only hugo needs a hugo binary (-hugo BIN)")
	}
	content := filepath.Join(dir, "content")
	if clients, err := os.ReadDir(filepath.Join(content, "clients")); err == nil {
		n = len(clients) // the site an earlier run left
	} else if err := Generate(content, n); err != nil {
		return err
	}
	return benchHugo(hugo, hub, dir, content, n, rounds)
}

// benchHugo builds the site with Hugo and cold with hub (with and without
// PDFs), alternating, rounds times, on the same storage, and prints the
// median of each and hub's time as a fraction of Hugo's.
func benchHugo(hugo, hub, dir, content string, n, rounds int) error {
	src := filepath.Join(dir, "hugo-site")
	if err := GenerateHugo(src, n); err != nil {
		return err
	}
	keys := filepath.Join(dir, "keys")
	type run struct {
		name string
		out  string
		args func(out string) (string, []string)
	}
	runs := []run{
		{"hugo --minify", filepath.Join(dir, "hugo-public"), func(out string) (string, []string) {
			return hugo, []string{"--quiet", "--source", src, "--destination", out, "--cacheDir", filepath.Join(dir, "hugo-cache")}
		}},
		{"hub build -full -no-pdf", filepath.Join(dir, "hub-vs-hugo-nopdf"), func(out string) (string, []string) {
			return hub, []string{"build", "-content", content, "-out", out, "-keys", keys, "-full", "-no-pdf"}
		}},
		{"hub build -full", filepath.Join(dir, "hub-vs-hugo"), func(out string) (string, []string) {
			return hub, []string{"build", "-content", content, "-out", out, "-keys", keys, "-full"}
		}},
	}
	walls := make([][]time.Duration, len(runs))
	cpus := make([][]time.Duration, len(runs))
	users := make([][]time.Duration, len(runs))
	rss := make([]int64, len(runs))
	pages := make([]int, len(runs))
	for range max(rounds, 1) {
		for i, r := range runs {
			for _, p := range []string{r.out, r.out + ".d", filepath.Join(dir, "hugo-cache")} {
				os.RemoveAll(p)
			}
			bin, args := r.args(r.out)
			res, err := measure(bin, args...)
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			walls[i] = append(walls[i], res.wall)
			cpus[i] = append(cpus[i], res.cpu)
			users[i] = append(users[i], res.user)
			rss[i] = max(rss[i], res.maxRSS)
			pages[i] = countHTML(r.out)
		}
	}
	fmt.Printf("\nhub vs Hugo, %d clients, the same pages, cold, on the same storage (median of %d alternating rounds)\n", n, max(rounds, 1))
	fmt.Printf("%-26s %10s %10s %10s %12s %10s %14s\n", "build", "wall", "CPU", "user CPU", "pages/client", "peak RSS", "× Hugo's wall")
	hugoWall := median(walls[0])
	for i, r := range runs {
		fmt.Printf("%-26s %10s %10s %10s %12.1f %7.0f MB %14.2f\n", r.name, median(walls[i]).Round(time.Millisecond), median(cpus[i]).Round(time.Millisecond),
			median(users[i]).Round(time.Millisecond), float64(pages[i])/float64(n), float64(rss[i])/1024, median(walls[i]).Seconds()/hugoWall.Seconds())
	}
	for _, r := range runs {
		os.RemoveAll(r.out)
		os.RemoveAll(r.out + ".d")
	}
	return nil
}
