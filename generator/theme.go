package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	texttemplate "text/template"
)

// Pages are the page templates a theme provides; each is parsed with
// layout.html and partials.html.
var Pages = []string{
	"landing.html", "login-sent.html", "login-continue.html", "login-invalid.html", "404.html",
	"home.html", "quotes.html", "quote.html", "invoices.html", "invoice.html", "subscription.html",
	"receipts.html", "receipt.html", "portals.html", "portal.html", "requests.html",
	"statement.html", "request.html", "request-sent.html", "account.html", "messages.html",
}

var themeBase = []string{"layout.html", "partials.html", "thread.html"}

// Theme is a parsed theme: the default theme with a site's overrides.
type Theme struct {
	pages map[string]*template.Template
	css   *texttemplate.Template
	JS    []byte // hub.js: progressive enhancement of the forms
	Hash  string // hash of every file the theme was made from
}

// ResolveTemplate says where the theme file name comes from: the site's
// override folder when it has the file, else the default theme. It is pure
// so it can be table-tested.
func ResolveTemplate(name string, overrides map[string]bool) (fromSite bool) {
	return overrides[name]
}

// LoadTheme parses the default theme def with the overrides found in
// overrideDir (a missing folder means none).
func LoadTheme(def fs.FS, overrideDir string) (*Theme, error) {
	overrides := map[string]bool{}
	var site fs.FS
	if entries, err := os.ReadDir(overrideDir); err == nil {
		site = os.DirFS(overrideDir)
		for _, e := range entries {
			if e.Type().IsRegular() {
				overrides[e.Name()] = true
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	h := sha256.New()
	read := func(name string) (string, error) {
		fsys, where := def, "default theme"
		if ResolveTemplate(name, overrides) {
			fsys, where = site, filepath.Join(overrideDir)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", fmt.Errorf("theme file %s (%s): %w", name, where, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
		return string(b), nil
	}
	for name := range overrides {
		if !slices.Contains(Pages, name) && !slices.Contains(themeBase, name) && name != "style.css" && name != "hub.js" {
			known := append(append([]string{}, themeBase...), Pages...)
			return nil, fmt.Errorf("%s: not a theme file; a site may override %s, style.css and hub.js", filepath.Join(overrideDir, name), strings.Join(known, ", "))
		}
	}
	// Read every file first: the hash of what was read names the theme,
	// and a theme made from the same files is the one parsed last time.
	names := append(append(slices.Clone(themeBase), Pages...), "style.css", "hub.js")
	src := make(map[string]string, len(names))
	for _, name := range names {
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		src[name] = b
	}
	hash := hex.EncodeToString(h.Sum(nil))
	if t := lastTheme.Load(); t != nil && t.Hash == hash {
		return t, nil
	}
	base := template.New("").Funcs(funcs)
	for _, name := range themeBase {
		if _, err := base.New(name).Parse(src[name]); err != nil {
			return nil, fmt.Errorf("theme: %w", err)
		}
	}
	t := &Theme{pages: map[string]*template.Template{}, JS: []byte(src["hub.js"]), Hash: hash}
	for _, name := range Pages {
		pt, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := pt.New(name).Parse(src[name]); err != nil {
			return nil, fmt.Errorf("theme: %w", err)
		}
		if pt.Lookup("layout") == nil {
			return nil, fmt.Errorf("theme: layout.html must define \"layout\"")
		}
		t.pages[name] = pt
	}
	var err error
	if t.css, err = texttemplate.New("style.css").Parse(src["style.css"]); err != nil {
		return nil, fmt.Errorf("theme: %w", err)
	}
	lastTheme.Store(t)
	return t, nil
}

// lastTheme is the theme LoadTheme parsed last. Parsing and escaping a
// theme's templates cost more than rendering a client's pages, and hub
// serve and the edge load the same theme at every rebuild. A Theme is
// read-only once made (html/template escapes a template once, safely for
// concurrent executions), so builds can share it.
var lastTheme atomic.Pointer[Theme]

var funcs = template.FuncMap{
	"join": strings.Join,
}

// RenderTo executes page name with p, appending to b.
func (t *Theme) RenderTo(b *bytes.Buffer, name string, p *Page) error {
	pt, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("theme has no page %s", name)
	}
	if err := pt.ExecuteTemplate(b, "layout", p); err != nil {
		return fmt.Errorf("theme: %w", err)
	}
	return nil
}

// CSS executes the stylesheet with the brand colours.
func (t *Theme) CSS(c Colors) ([]byte, error) {
	var b bytes.Buffer
	if err := t.css.Execute(&b, c); err != nil {
		return nil, fmt.Errorf("theme: %w", err)
	}
	return b.Bytes(), nil
}
