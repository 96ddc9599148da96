// Package generator turns a content folder into the published site: public
// pages, fingerprinted assets, and one signed bundle per client.
//
// Output layout (see docs/architecture.md): OUT is a symbolic link to the
// current generation's public files, OUT.d/gen/<id>/site/, which holds the
// public pages, the assets, their signed manifest, and c/<client> links to
// the client's bundle in OUT.d/bundles/<client>/<key>/. Beside site/, the
// generation's directory (directory.signed and its log) tells the edge who
// may log in where. A bundle's key is a hash of everything it is made
// from, so an unchanged client keeps its bundle and a rebuild only renders
// what changed. Switching OUT to a new generation is one rename: readers
// see the old site or the new one, never a mix.
package generator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/pdf"
	"github.com/hubhq/hub/generator/site"
)

// Version changes whenever the generator's output for the same input
// changes; it is part of every bundle's key.
const Version = "hub-generator-4"

// Options configure a build.
type Options struct {
	Content string    // content folder
	Out     string    // output path (becomes a symbolic link to the current generation)
	Keys    string    // signing keys folder
	Theme   fs.FS     // the default theme
	Now     time.Time // decides derived states (past due, expired)
	Workers int       // parallel clients; 0 means GOMAXPROCS
	Full    bool      // ignore what earlier builds recorded and render everything
	// NoPDF leaves out the PDFs, the documents zip and the links to them;
	// it exists to measure what PDFs cost.
	NoPDF bool
	// Progress, when set, is called as clients finish.
	Progress func(done, total int)
	// Events, when set, gives what the edge recorded (payments, approvals,
	// requests); it is folded into the pages. nil: content alone.
	Events events.Source
	// PayOnline overrides site.yaml's settings.online_payments: nil keeps
	// it; false shows how to pay offline (there are no Stripe keys).
	PayOnline *bool
	// Waiting, when set, is called when the build has to wait for another
	// build of the same output to finish.
	Waiting func()
	// Fault, when set, can fail any write, fsync or rename of the build
	// (tests).
	Fault Fault
	// CollectLater is for long-lived Builders (hub serve, the edge): Build
	// returns once the new generation is published, so it can be served
	// at once, and what no kept generation uses any more is removed after,
	// still under the output's lock (the next build waits for it).
	// Builder.Wait waits for it. Removing a replaced bundle's files took
	// a fifth of a save's time.
	CollectLater bool
}

// Result sums up a build.
type Result struct {
	Clients    int
	Rendered   int           // clients rendered this time (the rest were unchanged)
	Pages      int           // pages rendered this time
	PDFs       int           // PDFs rendered this time
	PDFsReused int           // PDFs copied unchanged from a client's previous bundle
	PDFTime    time.Duration // time spent rendering PDFs, summed over workers
	Files      int64
	Bytes      int64
	Generation string // the generation now served
	UpToDate   bool   // nothing changed: the previous generation stays
	KeyID      string
	NewKey     bool // a signing key was made because there was none
	Elapsed    time.Duration
}

// Dirs names the parts of an output path.
type Dirs struct{ Out, Data, Gens, Bundles, State string }

// OutputDirs returns where a build with output path out keeps things.
func OutputDirs(out string) Dirs {
	out = filepath.Clean(out)
	data := out + ".d"
	return Dirs{Out: out, Data: data, Gens: filepath.Join(data, "gen"), Bundles: filepath.Join(data, "bundles"), State: filepath.Join(data, "state")}
}

// Build builds the site. Content problems come back as site.Problems and
// leave the output untouched.
func Build(ctx context.Context, opt Options) (*Result, error) {
	return NewBuilder(opt).Build(ctx, nil)
}

// Builder builds the same site again and again (hub serve, the edge): it
// keeps what the last build recorded in memory and can be told which files
// changed, so that a rebuild after one saved file looks at that file's
// client only.
//
// The state on disk is the one truth. Every build takes the output's lock
// (another process may be building the same output: hub build beside a
// running edge) and, if the state on disk is not the one this Builder wrote
// last, reads it from disk and looks at every client.
type Builder struct {
	opt        Options
	old        *state          // after the last successful build; nil: read it from disk
	stamp      stateStamp      // the state files as they were after that build
	pending    map[string]bool // changed paths not yet built successfully
	collecting sync.WaitGroup  // CollectLater's removals
}

// Wait waits for the removals of a build made with CollectLater.
func (b *Builder) Wait() { b.collecting.Wait() }

// NewBuilder returns a Builder for opt. opt.Now, when zero, is the time of each build.
func NewBuilder(opt Options) *Builder { return &Builder{opt: opt, pending: map[string]bool{}} }

// Build brings the output up to date. changed lists the paths that changed
// since this Builder's last build; nil means unknown (every client's files
// are looked at, as by hub build).
func (b *Builder) Build(ctx context.Context, changed []string) (*Result, error) {
	opt := b.opt
	dirs := OutputDirs(opt.Out)
	unlock, err := lockOutput(ctx, dirs, opt.Waiting)
	if err != nil {
		return nil, err
	}
	var gc func() // what collect removes, once the build is published
	defer func() {
		switch {
		case gc == nil:
			unlock()
		case opt.CollectLater:
			b.collecting.Add(1)
			go func() {
				defer b.collecting.Done()
				defer unlock()
				gc()
			}()
		default:
			gc()
			unlock()
		}
	}()
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	for _, p := range changed {
		if abs, err := filepath.Abs(p); err == nil {
			b.pending[abs] = true
		}
	}
	if b.old != nil && b.stamp != readStamp(dirs.State) {
		b.old = nil // another build wrote the output since: start from its state
	}
	hint := changed != nil && b.old != nil
	// A failed build leaves the state files as they were, so the stamp
	// still tells whether another build has written them since.
	res, next, gc, err := build(ctx, opt, b.old, hint, b.pending)
	if err != nil {
		return nil, err
	}
	if next != nil {
		b.old, b.stamp = next, readStamp(dirs.State)
	}
	clear(b.pending)
	return res, nil
}

// run is one build: what it reads before the clients, what it learns from
// them, and what it publishes. Its phases run in order (see build). In the
// clients phase the workers only read it; add takes their results in
// afterwards.
type run struct {
	ctx     context.Context
	opt     Options
	dirs    Dirs
	start   time.Time
	res     *Result
	old     *state          // what the last build recorded
	hint    bool            // only clients with a path in changed can have changed
	changed map[string]bool // absolute paths
	touched map[string]bool // with hint: the clients with a path in changed

	// set by prepare
	key         *bundle.PrivateKey
	loader      *site.Loader
	shared      []*site.Portal
	sharedSlugs map[string]bool
	ids         []string // every client, the pending ones included, sorted
	contentIDs  []string // the client folders
	w           *writer
	pres        *presenter
	render      *renderer
	public      []outFile // the public pages and assets
	global      string    // hash of what every client depends on
	day         string    // the build's day (loader.Today), YYYY-MM-DD
	versions    map[string]int64
	pending     map[string]*events.PendingClient

	// set by clients and check
	next    *state
	loaded  bool     // some client's files were read
	created []string // bundle folders this build made
	ps      site.Problems
	errs    []error

	// set by upToDate
	started string // the generation published when the build started
	current bool   // OUT points at old.Gen

	// set after check
	sameIDs bool // the same clients as the last build (asked by upToDate and publish)
}

// build does one build. With hint, old is what the last build recorded and
// a client whose folder holds no path of changed is taken as unchanged.
// It returns the state to keep, old itself when nothing changed, and,
// when it published a new build, the collection of what that build no
// longer uses, for the caller to run.
func build(ctx context.Context, opt Options, old *state, hint bool, changed map[string]bool) (*Result, *state, func(), error) {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	r := &run{ctx: ctx, opt: opt, dirs: OutputDirs(opt.Out), start: time.Now(), res: &Result{}, old: old, hint: hint, changed: changed}
	if err := r.prepare(); err != nil {
		return nil, nil, nil, err
	}
	r.clients()
	if err := r.check(); err != nil {
		return nil, nil, nil, err
	}
	r.res.Clients = len(r.ids)
	r.res.Files, r.res.Bytes = r.w.filesOut, r.w.bytesOut
	r.sameIDs = sameIDs(r.old, r.next)
	if r.upToDate() {
		if r.old.legacy {
			// Nothing to build, but the state is in the old format: write it
			// in the new one once, so the next build reads it fast.
			if err := writeState(r.w.disk, r.dirs.State, r.old); err != nil {
				return nil, nil, nil, err
			}
			r.old.legacy = false
		}
		r.res.UpToDate = true
		r.res.Generation = r.old.Gen
		r.res.Elapsed = time.Since(r.start)
		return r.res, r.old, nil, nil
	}
	incremental, err := r.publish()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := r.persist(incremental); err != nil {
		return nil, nil, nil, err
	}
	old, next, started := r.old, r.next, r.started
	r.res.Generation = r.next.Gen
	r.res.Elapsed = time.Since(r.start)
	return r.res, r.next, func() { collect(r.dirs, old, next, started) }, nil
}

// prepare checks the output, loads the signing key, the site's settings,
// theme and client list, the state of the last build, and makes what
// every client shares: the public assets and pages, and the global hash.
func (r *run) prepare() error {
	opt := r.opt
	if err := checkOut(r.dirs); err != nil {
		return err
	}
	key, err := bundle.LoadSigningKey(opt.Keys)
	if errors.Is(err, bundle.ErrNoKey) {
		key, err = bundle.GenerateKey(opt.Keys)
		r.res.NewKey = true
	}
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	r.key = key
	r.res.KeyID = key.ID

	loader, ps := site.NewLoader(opt.Content, opt.Now)
	shared, more := loader.Shared()
	ps = append(ps, more...)
	var ids []string
	if r.hint && !opt.Full && r.old.contentIDs != nil && !r.clientListChanged(loader) {
		ids = slices.Clone(r.old.contentIDs) // no folder under clients/ came or went
	} else {
		ids, more = loader.ClientIDs()
		ps = append(ps, more...)
	}
	theme, err := LoadTheme(opt.Theme, filepath.Join(opt.Content, "themes"))
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		return ps
	}
	r.loader, r.shared, r.ids, r.contentIDs = loader, shared, ids, slices.Clone(ids)
	r.touched = r.touchedClients()
	r.day = loader.Today.Format(time.DateOnly)

	if r.old == nil {
		r.old = readState(r.dirs.State)
		r.hint = false
	}
	if opt.Full || r.old.Version != stateVersion {
		r.old = &state{Clients: map[string]*clientState{}}
		r.hint = false
	}
	for _, d := range []string{r.dirs.Gens, r.dirs.Bundles} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}

	if opt.PayOnline != nil {
		loader.Config.Settings.OnlinePayments = opt.PayOnline
	}
	w := newWriter()
	w.disk = disk{opt.Fault}
	pres := &presenter{cfg: loader.Config, assets: map[string]string{}, sizes: map[string]Size{}, year: loader.Today.Year(), today: loader.Today, payOnline: site.On(loader.Config.Settings.OnlinePayments), pdfs: !opt.NoPDF}
	// Public assets: the stylesheet and the site's images, fingerprinted.
	public, global, err := publicAssets(opt.Content, loader.Config, theme, w, pres, shared, key.ID)
	if err != nil {
		return err
	}
	global += fmt.Sprintf("|pay:%v", pres.payOnline)
	rend := &renderer{theme: theme, w: w, p: pres, sv: pres.siteView(), spread: 1}
	if r.hint {
		// Only the clients a save touched are built, usually one: spread
		// its pages and files over the cores.
		rend.spread, w.spread = opt.Workers, opt.Workers
	}
	rend.biz = pres.business(rend.sv)
	pub, err := rend.publicPages()
	if err != nil {
		return err
	}
	r.w, r.pres, r.render, r.public, r.global = w, pres, rend, append(public, pub...), global
	r.sharedSlugs = map[string]bool{}
	for _, p := range shared {
		r.sharedSlugs[p.Slug] = true
	}
	return r.recordedFacts()
}

// recordedFacts reads which clients have facts recorded by the edge, and
// the pending clients, who are added to the clients.
func (r *run) recordedFacts() error {
	src := r.opt.Events
	if src == nil {
		return nil
	}
	var err error
	if r.versions, err = src.Versions(r.ctx); err != nil {
		return fmt.Errorf("reading recorded payments, approvals and requests: %w", err)
	}
	// People who asked for work through the public form get a hub of their
	// own until staff add a client folder with the same ID.
	r.pending = map[string]*events.PendingClient{}
	pcs, err := src.Pending(r.ctx)
	if err != nil {
		return fmt.Errorf("reading pending clients: %w", err)
	}
	have := map[string]bool{}
	for _, id := range r.ids {
		have[id] = true
	}
	for i := range pcs {
		if id := pcs[i].ID; !have[id] && site.ValidID(id) {
			r.pending[id] = &pcs[i]
			r.ids = append(r.ids, id)
		}
	}
	slices.Sort(r.ids)
	return nil
}

// facts is how client id's recorded facts are reached.
func (r *run) facts(id string) clientFacts {
	return clientFacts{ctx: r.ctx, src: r.opt.Events, version: r.versions[id], pending: r.pending[id]}
}

// changedClient tells whether client id may have changed: with a hint,
// only a client with a changed path in its folder may have.
func (r *run) changedClient(id string) bool {
	return !r.hint || r.touched[id]
}

// clientListChanged tells whether a changed path may have added, removed
// or renamed a client folder: a path directly in clients/, that folder
// itself, or one of the folders it is in.
func (r *run) clientListChanged(loader *site.Loader) bool {
	dir, err := filepath.Abs(loader.ClientDir(""))
	if err != nil {
		return true
	}
	sep := string(filepath.Separator)
	for p := range r.changed {
		rel, inside := strings.CutPrefix(p, dir+sep)
		if !inside {
			if p == dir || strings.HasPrefix(dir, p+sep) {
				return true
			}
			continue
		}
		if !strings.Contains(rel, sep) {
			return true
		}
	}
	return false
}

// touchedClients names the clients with a changed path in their folder:
// the first part of each changed path under the clients folder.
func (r *run) touchedClients() map[string]bool {
	touched := map[string]bool{}
	dir, _ := filepath.Abs(r.loader.ClientDir(""))
	for p := range r.changed {
		if rel, ok := strings.CutPrefix(p, dir+string(filepath.Separator)); ok {
			id, _, _ := strings.Cut(rel, string(filepath.Separator))
			touched[id] = true
		}
	}
	return touched
}

// clients brings every client's bundle up to date, in parallel, and
// gathers the results in the order of the clients.
func (r *run) clients() {
	r.next = &state{Version: stateVersion, Global: r.global, Clients: make(map[string]*clientState, len(r.ids)), Assets: r.old.Assets, contentIDs: r.contentIDs}
	results := make([]clientResult, len(r.ids))
	var done atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range r.opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := r.ctx.Err(); err != nil {
					results[i] = clientResult{err: err}
				} else {
					results[i] = r.buildClient(r.ids[i])
				}
				if r.opt.Progress != nil {
					r.opt.Progress(int(done.Add(1)), len(r.ids))
				}
			}
		}()
	}
	for i, id := range r.ids {
		if cs := r.untouched(id); cs != nil {
			results[i] = clientResult{cs: cs}
			if r.opt.Progress != nil {
				r.opt.Progress(int(done.Add(1)), len(r.ids))
			}
			continue
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i, cr := range results {
		r.add(r.ids[i], cr)
	}
}

// untouched returns the last build's state of client id when this build
// can take it as it is, without handing it to a worker: the hint says none
// of its files changed, its recorded facts are the ones it was built with,
// and its key was made from this build's global inputs and day. This is
// what buildClient would return for it; a save under hub serve skips the
// other clients this way.
func (r *run) untouched(id string) *clientState {
	if !r.hint || r.touched[id] || r.pending[id] != nil {
		return nil
	}
	old := r.old.Clients[id]
	if old == nil || old.loaded || old.Facts != r.versions[id] || old.keyOf.content == "" || old.keyOf.global != r.global || old.keyOf.day != r.day {
		return nil
	}
	return old
}

// add takes one client's result into the build.
func (r *run) add(id string, cr clientResult) {
	r.ps = append(r.ps, cr.ps...)
	if cr.err != nil {
		r.errs = append(r.errs, cr.err)
	}
	if cr.cs == nil {
		return
	}
	r.next.Clients[id] = cr.cs
	r.loaded = r.loaded || cr.cs.loaded
	if !cr.rendered {
		return
	}
	r.res.Rendered++
	r.res.Pages += cr.pages
	if cr.pdfs != nil {
		r.res.PDFs += cr.pdfs.rendered
		r.res.PDFsReused += cr.pdfs.reused
		r.res.PDFTime += cr.pdfs.elapsed
	}
	r.created = append(r.created, filepath.Join(r.dirs.Bundles, id, cr.cs.Key))
}

// check fails the build on the clients' errors and problems and on
// numbers used twice across clients; a failed build removes the bundles it
// made and publishes nothing.
func (r *run) check() error {
	if r.loaded || len(r.next.Clients) != len(r.old.Clients) {
		// Numbers can only clash anew when a client's files were read.
		r.ps = append(r.ps, site.CheckNumbers(r.numbers())...)
	}
	if len(r.ps) == 0 && len(r.errs) == 0 {
		return nil
	}
	for _, d := range r.created {
		if !r.old.usesBundle(d, r.dirs) {
			os.RemoveAll(d)
		}
	}
	if len(r.errs) > 0 {
		return errors.Join(r.errs...)
	}
	slices.SortStableFunc(r.ps, func(a, b site.Problem) int { return strings.Compare(a.String(), b.String()) })
	return r.ps
}

// numbers lists what the site-wide check of quote and invoice numbers
// must look at. After a build from nothing, every client's numbers. Else
// the numbers of the clients whose files this build read, and the other
// clients' uses of the same numbers: the others' numbers were checked
// against each other by the build that recorded them, so a clash must
// involve a client read now, and the check reports the same. This keeps a
// rebuild of one client from listing every number of the site.
func (r *run) numbers() []site.Numbered {
	fresh := map[string]bool{} // lower-cased numbers of the clients read
	for _, cs := range r.next.Clients {
		if cs.loaded {
			for _, n := range cs.lowerNumbers() {
				fresh[n] = true
			}
		}
	}
	all := len(r.old.Clients) == 0
	var nums []site.Numbered
	for _, id := range r.ids {
		cs := r.next.Clients[id]
		if cs == nil {
			continue
		}
		if all || cs.loaded {
			nums = append(nums, cs.numbered(r.loader.ClientDir(id))...)
			continue
		}
		for _, n := range cs.lowerNumbers() {
			if fresh[n] {
				nums = append(nums, cs.numbered(r.loader.ClientDir(id))...)
				break
			}
		}
	}
	return nums
}

// persist records the new state: the clients that changed appended to the
// log after an incremental build, a new base after a site-wide one.
func (r *run) persist(incremental bool) error {
	r.res.Files, r.res.Bytes = r.w.filesOut, r.w.bytesOut
	r.next.Seq = r.old.Seq + 1
	if incremental {
		return appendState(r.w.disk, r.dirs.State, r.old, r.next)
	}
	return writeState(r.w.disk, r.dirs.State, r.next)
}

// checkOut refuses to replace an output path that is not a hub build.
func checkOut(d Dirs) error {
	fi, err := os.Lstat(d.Out)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return err
	case fi.Mode()&os.ModeSymlink != 0:
		return nil
	case fi.IsDir():
		entries, _ := os.ReadDir(d.Out)
		if len(entries) == 0 {
			return os.Remove(d.Out)
		}
	}
	return fmt.Errorf("output %s exists and is not a hub build (hub makes it a link to %s); move it away or choose another -out", d.Out, d.Gens)
}

// publicAssets makes the stylesheet and the site's images, and the hash of
// everything every client depends on.
func publicAssets(content string, cfg *site.Config, theme *Theme, w *writer, pres *presenter, shared []*site.Portal, keyID string) ([]outFile, string, error) {
	var out []outFile
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\nkey %s\nyear %d\npdf %s %v\n", Version, theme.Hash, keyID, pres.year, pdf.Version, pres.pdfs)
	cfgBytes, err := os.ReadFile(filepath.Join(content, site.ConfigFile))
	if err != nil {
		return nil, "", err
	}
	h.Write(cfgBytes)
	for _, a := range []string{cfg.Logo, cfg.Icon, cfg.Cover} {
		if a == "" || pres.assets[a] != "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(content, a))
		if err != nil {
			return nil, "", err
		}
		if strings.HasSuffix(strings.ToLower(a), ".svg") {
			var buf strings.Builder
			if err := w.min.Minify("image/svg+xml", &buf, strings.NewReader(string(b))); err == nil {
				b = []byte(buf.String())
			}
		}
		name := "assets/" + assetName(filepath.Base(a), bundle.Sum(b))
		pres.assets[a] = "/" + name
		if w, h, ok := site.ImageSize(a, b); ok {
			pres.sizes[a] = Size{w, h}
		}
		if a == cfg.Logo {
			pres.logo, pres.logoType = pdfImage(a, b)
			pres.logoSum = name
			if pres.logo == nil {
				// PDFs cannot draw SVG: a PNG of the same name beside it
				// stands in for the logo on paper.
				png := strings.TrimSuffix(a, filepath.Ext(a)) + ".png"
				if pb, err := os.ReadFile(filepath.Join(content, png)); err == nil {
					pres.logo, pres.logoType = pdf.OpaquePNG(pb), "png"
					pres.logoSum += " " + bundle.Sum(pb)
					fmt.Fprintf(h, "%s %s\n", png, bundle.Sum(pb))
				} else if !errors.Is(err, fs.ErrNotExist) {
					return nil, "", err
				}
			}
		}
		out = append(out, outFile{path: name, data: b})
		fmt.Fprintf(h, "%s %s\n", a, name)
	}
	css, err := theme.CSS(BrandColors(cfg.Color))
	if err != nil {
		return nil, "", err
	}
	if css, err = w.minifyCSS(css); err != nil {
		return nil, "", fmt.Errorf("style.css: %w", err)
	}
	cssName := "assets/" + assetName("style.css", bundle.Sum(css))
	pres.css = "/" + cssName
	out = append(out, outFile{path: cssName, data: css})
	fmt.Fprintf(h, "css %s\n", cssName)
	js, err := w.minifyJS(theme.JS)
	if err != nil {
		return nil, "", fmt.Errorf("hub.js: %w", err)
	}
	jsName := "assets/" + assetName("hub.js", bundle.Sum(js))
	pres.js = "/" + jsName
	out = append(out, outFile{path: jsName, data: js})
	fmt.Fprintf(h, "js %s\n", jsName)
	// Shared portals are in every bundle.
	for _, p := range shared {
		_, _, sum, err := stampClient(p.Dir, nil)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "shared %s %s\n", p.Slug, sum)
	}
	return out, hex.EncodeToString(h.Sum(nil)), nil
}
