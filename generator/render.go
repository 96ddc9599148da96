package generator

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubhq/hub/generator/pdf"
	"github.com/hubhq/hub/generator/site"
)

// undatedArchive is the modification time in a zip of documents without dates.
var undatedArchive = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// renderer renders pages of one build. It is safe for concurrent use.
type renderer struct {
	theme *Theme
	w     *writer
	p     *presenter
	sv    *SiteView
	biz   pdf.Business // the letterhead of PDFs
	// spread is how many of one client's pages are rendered at once: 1
	// when clients are built in parallel (a site-wide build), more when a
	// build renders only the clients a save touched, so that one client's
	// pages use every core.
	spread int
}

// pageBufs hold a page as the template writes it, before it is minified:
// reused, since a page is rendered, minified into bytes of its own and
// dropped.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (r *renderer) page(name string, pg *Page) ([]byte, error) {
	b := pageBufs.Get().(*bytes.Buffer)
	defer pageBufs.Put(b)
	b.Reset()
	if err := r.theme.RenderTo(b, name, pg); err != nil {
		return nil, err
	}
	return r.w.minifyHTML(b)
}

// publicPages renders the pages outside any bundle.
func (r *renderer) publicPages() ([]outFile, error) {
	pages := []struct{ tmpl, out, title string }{
		{"landing.html", "index.html", r.sv.Name},
		{"landing.html", "signed-out/index.html", "Signed out"},
		{"login-sent.html", "login/sent/index.html", "Check your email"},
		{"login-continue.html", "login/continue/index.html", "Sign in"},
		{"login-invalid.html", "login/invalid/index.html", "This link has expired"},
		{"404.html", "404.html", "Page not found"},
	}
	if r.sv.Requests && r.sv.Hub {
		pages = append(pages, struct{ tmpl, out, title string }{"request.html", "request/index.html", "Request work from " + r.sv.Name},
			struct{ tmpl, out, title string }{"request-sent.html", "request/sent/index.html", "Request sent"})
	}
	var out []outFile
	for _, p := range pages {
		b, err := r.page(p.tmpl, &Page{Site: r.sv, Title: p.title, Description: r.sv.Description, CSS: r.p.css, JS: r.p.js, Requests: &RequestsView{FormAction: "/request"},
			SignedOut: p.out == "signed-out/index.html"})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.tmpl, err)
		}
		out = append(out, outFile{path: p.out, data: b})
	}
	return out, nil
}

// clientFiles renders every file of one client's bundle. ps, nil when PDFs
// are off, renders or reuses the PDFs.
func (r *renderer) clientFiles(cp *clientPages, c *site.Client, shared []*site.Portal, ps *pdfSet) ([]outFile, int, error) {
	var out []outFile
	// add keeps the page's place in out; the pages are rendered at the
	// end, spread over r.spread goroutines, each into its place.
	type pageJob struct {
		at   int
		tmpl string
		pg   Page
	}
	var jobs []pageJob
	add := func(tmpl, file, title, nav string, set func(*Page)) {
		pg := cp.base
		pg.Title, pg.Nav = title, nav
		set(&pg)
		jobs = append(jobs, pageJob{at: len(out), tmpl: tmpl, pg: pg})
		out = append(out, outFile{path: file})
	}
	add("home.html", "index.html", "Home", "home", func(p *Page) { p.Home = cp.home })
	add("quotes.html", "quotes/index.html", "Quotes", "quotes", func(p *Page) { p.Quotes = cp.quotes })
	add("invoices.html", "invoices/index.html", "Invoices", "invoices", func(p *Page) { p.Invoices, p.Subs = cp.invoices, cp.subs })
	add("receipts.html", "receipts/index.html", "Receipts", "receipts", func(p *Page) { p.Receipts = cp.receipts })
	add("portals.html", "portals/index.html", "Portals", "portals", func(p *Page) { p.Portals = cp.portals })
	add("requests.html", "requests/index.html", "Requests", "requests", func(p *Page) { p.Requests = cp.requests })
	add("messages.html", "messages/index.html", "Messages", "messages", func(p *Page) { p.Messages = cp.messages })
	add("statement.html", "statement/index.html", "Statement", "invoices", func(p *Page) { p.Statement, p.Doc = cp.statement, true })
	add("account.html", "account/index.html", "Account", "account", func(*Page) {})
	for _, q := range cp.quotes {
		add("quote.html", "quotes/"+q.Number+"/index.html", "Quote "+q.Number, "quotes", func(p *Page) { p.Quote, p.Doc = q, true })
	}
	for _, sv := range cp.subs {
		add("subscription.html", "subscriptions/"+sv.Number+"/index.html", "Subscription "+sv.Number, "invoices", func(p *Page) { p.Sub, p.Doc = sv, true })
	}
	for _, inv := range cp.invoices {
		add("invoice.html", "invoices/"+inv.Number+"/index.html", "Invoice "+inv.Number, "invoices", func(p *Page) { p.Invoice, p.Doc = inv, true })
	}
	for _, rc := range cp.receipts {
		title := "Receipt for " + rc.InvoiceNumber
		if rc.InvoiceNumber == "" {
			title = "Deposit receipt for " + rc.QuoteNumber
		}
		add("receipt.html", "receipts/"+rc.ID+"/index.html", title, "receipts", func(p *Page) { p.Receipt, p.Doc = rc, true })
	}
	pages := len(out)
	out = append(out, cp.files...)
	var docs []zipEntry // for the archive of every document
	portals := append(append([]*site.Portal{}, c.Portals...), shared...)
	for i, pv := range cp.portals {
		pt := portals[i]
		add("portal.html", "portals/"+pv.Slug+"/index.html", pv.Title, "portals", func(p *Page) { p.Portal = pv })
		pages++
		if pt.Cover != "" {
			out = append(out, outFile{path: portalFile(pt, "cover/"+pt.Cover), src: path.Join(pt.Dir, pt.Cover)})
		}
		for _, d := range pt.Documents {
			f := outFile{path: portalFile(pt, "docs/"+d.Path), src: d.File}
			out = append(out, f)
			docs = append(docs, zipEntry{name: "portals/" + pt.Slug + "/" + d.Path, file: f})
		}
	}
	// The PDFs render beside the pages when they are spread.
	var pdfErr error
	var pdfsDone sync.WaitGroup
	if ps != nil {
		pdfsDone.Add(1)
		renderPDFs := func() { defer pdfsDone.Done(); pdfErr = r.clientPDFs(cp, ps) }
		if r.spread > 1 {
			go renderPDFs()
		} else {
			renderPDFs()
		}
	}
	err := spread(r.spread, len(jobs), func(i int) error {
		j := &jobs[i]
		b, err := r.page(j.tmpl, &j.pg)
		if err != nil {
			return fmt.Errorf("client %s, %s: %w", c.ID, out[j.at].path, err)
		}
		out[j.at].data = b
		return nil
	})
	pdfsDone.Wait()
	if err != nil {
		return nil, 0, err
	}
	if pdfErr != nil {
		return nil, 0, fmt.Errorf("client %s: %w", c.ID, pdfErr)
	}
	if ps == nil {
		return out, pages, nil
	}
	out = append(out, ps.files...)
	for _, f := range ps.files {
		name := path.Base(f.path)
		if dir, _, ok := strings.Cut(f.path, "/"); ok && dir != "statement" {
			name = dir + "/" + name
		}
		docs = append(docs, zipEntry{name: name, file: f})
	}
	if cp.base.Client.Archive != "" {
		top := c.ID + "-documents/"
		for i := range docs {
			docs[i].name = top + docs[i].name
		}
		modified := undatedArchive
		for _, d := range ps.dates {
			if d.After(modified) {
				modified = d
			}
		}
		b, err := archiveZip(docs, modified)
		if err != nil {
			return nil, 0, fmt.Errorf("client %s: %w", c.ID, err)
		}
		out = append(out, outFile{path: archivePath(c.ID), data: b})
	}
	return out, pages, nil
}

// spread runs f(0) … f(n-1) on up to width goroutines and returns the
// error of the lowest i that failed, so that the error does not depend
// on timing.
func spread(width, n int, f func(i int) error) error {
	if width <= 1 || n <= 1 {
		for i := range n {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(width, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				errs[i] = f(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// assetName is a fingerprinted public asset name: "logo.1a2b3c4d5e.svg".
func assetName(base, sum string) string {
	ext := path.Ext(base)
	return strings.TrimSuffix(base, ext) + "." + sum[:10] + ext
}
