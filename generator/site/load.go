package site

import (
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ConfigFile is the site configuration's name inside the content folder.
const ConfigFile = "site.yaml"

// idRE is what client IDs and portal slugs look like: they become URL path
// segments and folder names. ValidID says the same without a regexp (it is
// asked for every client of the site at every build).
var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Load reads and validates the whole content folder dir. It returns the
// site and every problem found; the site is only safe to build when there
// are none. now decides derived states (past due, expired), taken as a
// calendar day in the site's time zone.
func Load(dir string, now time.Time) (*Site, Problems) {
	l, ps := NewLoader(dir, now)
	s := &Site{Dir: dir, Config: *l.Config}
	ids, more := l.ClientIDs()
	ps = append(ps, more...)
	var nums []Numbered
	for _, id := range ids {
		c, more := l.Client(id)
		ps = append(ps, more...)
		if c != nil {
			s.Clients = append(s.Clients, c)
			nums = append(nums, c.Numbers()...)
		}
	}
	shared, more := l.Shared()
	s.Shared = shared
	ps = append(ps, more...)
	ps = append(ps, CheckNumbers(nums)...)
	ps.sort()
	return s, ps
}

// Today is the calendar day of now in loc, as midnight UTC (the form Dates use).
func Today(now time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Loader loads a content folder piece by piece, so that a build can load
// only the clients that changed. Its methods may be called concurrently.
type Loader struct {
	Dir    string
	Config *Config
	Today  time.Time // derived states are computed for this day
}

// NewLoader reads and checks site.yaml.
func NewLoader(dir string, now time.Time) (*Loader, Problems) {
	var ps Problems
	l := &loader{dir: dir, out: &ps}
	cfg := new(Config)
	l.config(cfg)
	return &Loader{Dir: dir, Config: cfg, Today: Today(now, cfg.Location)}, ps
}

// ClientIDs lists the client folders.
func (L *Loader) ClientIDs() ([]string, Problems) {
	var ps Problems
	l := &loader{dir: L.Dir, out: &ps}
	dir := l.rel("clients")
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		l.problem(dir, "%v", unwrapPathError(err))
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case !e.IsDir():
			l.problem(filepath.Join(dir, name), "only folders belong in clients/: one folder per client, named by the client's ID")
		case !ValidID(name):
			hint := " (it becomes part of the hub's URL)"
			if id := suggestID(name); id != "" {
				hint = fmt.Sprintf(", such as %q (it becomes the hub's URL /c/%s/)", id, id)
			}
			l.problem(filepath.Join(dir, name), "client folder name %q is not a valid client ID: use lower-case letters, digits and hyphens%s", name, hint)
		default:
			ids = append(ids, name)
		}
	}
	return ids, ps
}

// suggestID offers a valid ID close to an ASCII name: lower-case, with runs
// of other characters replaced by a hyphen. It returns "" if there is none.
func suggestID(name string) string {
	for _, r := range name {
		if r >= utf8.RuneSelf {
			return "" // dropping letters such as é would mislead
		}
	}
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	id := strings.TrimRight(b.String(), "-")
	if len(id) > 63 {
		id = strings.TrimRight(id[:63], "-")
	}
	if !ValidID(id) {
		return ""
	}
	return id
}

// ClientDir is the folder of a client.
func (L *Loader) ClientDir(id string) string { return filepath.Join(L.Dir, "clients", id) }

// SharedDir is the folder of the portals shared with every client.
func (L *Loader) SharedDir() string { return filepath.Join(L.Dir, "portals") }

// Client loads and checks one client's folder.
func (L *Loader) Client(id string) (*Client, Problems) {
	var ps Problems
	l := &loader{dir: L.Dir, out: &ps}
	c := l.client(id, L.Config, L.Today)
	ps.sort()
	return c, ps
}

// Shared loads the portals shared with every client.
func (L *Loader) Shared() ([]*Portal, Problems) {
	var ps Problems
	l := &loader{dir: L.Dir, out: &ps}
	p := l.portals(L.SharedDir(), true)
	ps.sort()
	return p, ps
}

type loader struct {
	dir string
	out *Problems
}

func (l *loader) rel(parts ...string) string {
	return filepath.Join(append([]string{l.dir}, parts...)...)
}

func (l *loader) problem(file string, format string, args ...any) {
	*l.out = append(*l.out, Problem{File: file, Msg: fmt.Sprintf(format, args...)})
}

// readYAML loads a YAML file into v; nil doc means the file could not be used.
func (l *loader) readYAML(file string, v any) *doc {
	src, err := os.ReadFile(file)
	if err != nil {
		l.problem(file, "%v", unwrapPathError(err))
		return nil
	}
	d := &doc{file: file, out: l.out}
	if !d.decode(src, v) {
		return nil
	}
	return d
}

// readMarkdown loads a Markdown file with YAML front matter into v, returning the body.
func (l *loader) readMarkdown(file string, v any, needFrontMatter bool) (*doc, string) {
	src, err := os.ReadFile(file)
	if err != nil {
		l.problem(file, "%v", unwrapPathError(err))
		return nil, ""
	}
	fm, body, bodyLine, ok := splitFrontMatter(src)
	d := &doc{file: file, out: l.out, lineOffset: 1}
	if !ok {
		if bodyLine == 0 {
			*l.out = append(*l.out, Problem{File: file, Line: 1, Col: 1, Msg: `front matter starts with "---" but has no closing "---" line`})
			return nil, ""
		}
		if needFrontMatter {
			*l.out = append(*l.out, Problem{File: file, Line: 1, Col: 1, Msg: `missing front matter: start the file with "---", the fields (title: ...), and "---"`})
			return nil, ""
		}
		return d, string(body)
	}
	if len(strings.TrimSpace(string(fm))) == 0 {
		return d, string(body)
	}
	if !d.decode(fm, v) {
		return nil, ""
	}
	return d, string(body)
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

func (l *loader) client(id string, cfg *Config, today time.Time) *Client {
	dir := l.rel("clients", id)
	file := filepath.Join(dir, "client.yaml")
	c := &Client{ID: id, Dir: dir, File: file}
	if _, err := os.Stat(file); os.IsNotExist(err) {
		l.problem(dir, "client folder has no client.yaml; every client needs one with at least a name and a contact")
		return nil
	}
	if d := l.readYAML(file, c); d != nil {
		validateClient(d, c, cfg)
	}
	// Quote numbers are kept even for quote files that fail to load, so
	// that invoices naming them are not also reported.
	quoteNums := map[string]bool{}
	quotesUnsure := false
	for _, f := range l.yamlFiles(filepath.Join(dir, "quotes")) {
		q := &Quote{File: f}
		d := l.readYAML(f, q)
		if d != nil {
			q.Version = Version(d.src)
			validateQuote(d, q, c, cfg, today)
			c.Quotes = append(c.Quotes, q)
		}
		if q.Number != "" {
			quoteNums[strings.ToLower(q.Number)] = true
		} else if d == nil {
			quotesUnsure = true
		}
	}
	invDocs := map[*Invoice]*doc{}
	for _, f := range l.yamlFiles(filepath.Join(dir, "invoices")) {
		inv := &Invoice{File: f}
		if d := l.readYAML(f, inv); d != nil {
			validateInvoice(d, inv, cfg, today)
			c.Invoices = append(c.Invoices, inv)
			invDocs[inv] = d
		}
	}
	subNums := map[string]string{}
	for _, f := range l.yamlFiles(filepath.Join(dir, "subscriptions")) {
		sub := &Subscription{File: f}
		if d := l.readYAML(f, sub); d != nil {
			validateSubscription(d, sub, cfg, today)
			if other, ok := subNums[strings.ToLower(sub.Number)]; ok && sub.Number != "" {
				d.errorf([]any{"number"}, "subscription number %s is also used by %s", sub.Number, other)
			}
			subNums[strings.ToLower(sub.Number)] = f
			c.Subs = append(c.Subs, sub)
		}
	}
	slices.SortStableFunc(c.Subs, func(a, b *Subscription) int {
		return cmp.Or(b.Start.T.Compare(a.Start.T), cmp.Compare(b.Number, a.Number))
	})
	slices.SortStableFunc(c.Quotes, func(a, b *Quote) int {
		return cmp.Or(b.Issued.T.Compare(a.Issued.T), cmp.Compare(b.Number, a.Number))
	})
	slices.SortStableFunc(c.Invoices, func(a, b *Invoice) int {
		return cmp.Or(b.Issued.T.Compare(a.Issued.T), cmp.Compare(b.Number, a.Number))
	})
	c.Portals = l.portals(filepath.Join(dir, "portals"), false)
	l.checkQuoteRefs(c, quoteNums, quotesUnsure, invDocs)
	l.checkPortalRefs(c)
	return c
}

// yamlFiles lists the .yaml files of a folder, reporting anything else.
func (l *loader) yamlFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			l.problem(dir, "%v", unwrapPathError(err))
		}
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case e.IsDir():
			l.problem(filepath.Join(dir, name), "unexpected folder; this folder holds only .yaml files")
		case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
			out = append(out, filepath.Join(dir, name))
		default:
			l.problem(filepath.Join(dir, name), "unexpected file; this folder holds only .yaml files")
		}
	}
	return out
}

func (l *loader) portals(dir string, shared bool) []*Portal {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			l.problem(dir, "%v", unwrapPathError(err))
		}
		return nil
	}
	var out []*Portal
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		pdir := filepath.Join(dir, name)
		if !e.IsDir() {
			l.problem(pdir, "only folders belong in portals/: one folder per portal, holding portal.md")
			continue
		}
		if !ValidID(name) {
			l.problem(pdir, "portal folder name %q is not valid: use lower-case letters, digits and hyphens (it becomes part of the URL)", name)
			continue
		}
		p := &Portal{Slug: name, Dir: pdir, File: filepath.Join(pdir, "portal.md"), Shared: shared}
		if _, err := os.Stat(p.File); os.IsNotExist(err) {
			l.problem(pdir, "portal folder has no portal.md; add one with front matter (title: ...) and Markdown notes")
			continue
		}
		d, body := l.readMarkdown(p.File, p, true)
		if d == nil {
			continue
		}
		p.Body = body
		validatePortal(d, p)
		p.Updates = l.updates(filepath.Join(pdir, "updates"))
		p.Documents = l.documents(filepath.Join(pdir, "documents"))
		titleDocuments(d, p)
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b *Portal) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Title, b.Title))
	})
	return out
}

func (l *loader) updates(dir string) []*Update {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			l.problem(dir, "%v", unwrapPathError(err))
		}
		return nil
	}
	var out []*Update
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		f := filepath.Join(dir, name)
		if e.IsDir() || !strings.HasSuffix(name, ".md") {
			l.problem(f, "unexpected entry; updates/ holds one Markdown file per update")
			continue
		}
		u := &Update{File: f}
		d, body := l.readMarkdown(f, u, true)
		if d == nil {
			continue
		}
		u.Body = body
		if strings.TrimSpace(u.Title) == "" {
			d.keyErrorf(nil, "update has no title; add \"title: ...\" to its front matter")
		}
		if !u.Date.Set {
			d.keyErrorf(nil, "update has no date; add \"date: YYYY-MM-DD\" to its front matter")
		} else if err := u.Date.parse(); err != nil {
			d.errorf([]any{"date"}, "%v", err)
		}
		out = append(out, u)
	}
	slices.SortStableFunc(out, func(a, b *Update) int {
		return cmp.Or(b.Date.T.Compare(a.Date.T), cmp.Compare(a.File, b.File))
	})
	return out
}

// MaxDocumentSize is the largest portal document accepted (they are copied
// into every bundle that may see them).
const MaxDocumentSize = 100 << 20

func (l *loader) documents(dir string) []*Document {
	if st, err := os.Lstat(dir); err != nil {
		if !os.IsNotExist(err) {
			l.problem(dir, "%v", unwrapPathError(err))
		}
		return nil
	} else if !st.IsDir() {
		l.problem(dir, "documents must be a folder, holding the files to share")
		return nil
	}
	var out []*Document
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return nil
			}
			l.problem(p, "%v", unwrapPathError(err))
			return nil
		}
		name := e.Name()
		if p != dir && strings.HasPrefix(name, ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		if !e.Type().IsRegular() {
			l.problem(p, "documents must be regular files (links and special files are not published)")
			return nil
		}
		info, err := e.Info()
		if err != nil {
			l.problem(p, "%v", err)
			return nil
		}
		if info.Size() > MaxDocumentSize {
			l.problem(p, "document is %d MB; the largest allowed is %d MB", info.Size()>>20, MaxDocumentSize>>20)
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.ContainsAny(rel, "?#%\\\"<>") {
			l.problem(p, "document names may not contain ? # %% \\ \" < or >")
			return nil
		}
		folder := path.Dir(rel)
		if folder == "." {
			folder = ""
		}
		out = append(out, &Document{Folder: folder, Name: name, Path: rel, Size: info.Size(), Type: fileType(name), File: p})
		return nil
	})
	if err != nil {
		l.problem(dir, "%v", err)
	}
	slices.SortStableFunc(out, func(a, b *Document) int {
		return cmp.Or(cmp.Compare(a.Folder, b.Folder), cmp.Compare(a.Name, b.Name))
	})
	return out
}

var fileTypes = map[string]string{
	".pdf": "PDF", ".doc": "Word document", ".docx": "Word document", ".xls": "Excel spreadsheet",
	".xlsx": "Excel spreadsheet", ".csv": "CSV spreadsheet", ".ppt": "PowerPoint", ".pptx": "PowerPoint",
	".txt": "Text", ".md": "Text", ".jpg": "JPEG image", ".jpeg": "JPEG image", ".png": "PNG image",
	".gif": "GIF image", ".webp": "WebP image", ".svg": "SVG image", ".zip": "ZIP archive",
	".dwg": "CAD drawing", ".mp4": "MP4 video", ".mov": "QuickTime video", ".odt": "OpenDocument text",
}

// titleDocuments gives each of a portal's documents its title: the one its
// front matter's documents: gives, else its file name made readable. A
// title for a file that is not there is a problem.
func titleDocuments(d *doc, p *Portal) {
	have := map[string]bool{}
	for _, doc := range p.Documents {
		have[doc.Path] = true
		doc.Title = strings.TrimSpace(p.Titles[doc.Path])
		if doc.Title == "" {
			doc.Title = ReadableName(doc.Name)
		}
	}
	keys := slices.Sorted(maps.Keys(p.Titles))
	for _, k := range keys {
		if !have[k] {
			d.keyErrorf([]any{"documents", k}, "no document %q below documents/; name a file by its path there, e.g. Plans/plan.pdf", k)
		}
	}
}

// ReadableName is a file name as a title: without its extension, hyphens
// and underscores as spaces, the first letter upper-case
// ("planting-plan.pdf" is "Planting plan").
func ReadableName(name string) string {
	base := strings.TrimSuffix(name, filepath.Ext(name))
	if base == "" {
		return name
	}
	t := strings.Join(strings.FieldsFunc(base, func(r rune) bool { return r == '-' || r == '_' || r == ' ' }), " ")
	if t == "" {
		return name
	}
	r, n := utf8.DecodeRuneInString(t)
	return string(unicode.ToUpper(r)) + t[n:]
}

func fileType(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if t, ok := fileTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	if ext == "" {
		return "File"
	}
	return strings.ToUpper(ext[1:]) + " file"
}

// ValidID reports whether id can be a client ID (a URL path segment): what
// idRE matches.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 63 || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
