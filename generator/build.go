// Package generator turns a content folder into the published site: public
// pages, fingerprinted assets, and one signed bundle per client.
//
// Output layout (see docs/architecture.md): OUT is a symbolic link to the
// current generation's public files, OUT.d/gen/<id>/site/, which holds the
// public pages, the assets, their signed manifest, and c/<client> links to
// the client's bundle in OUT.d/bundles/<client>/<key>/. Beside site/, the
// generation's directory.json tells the edge who may log in where. A bundle's key is a hash of
// everything it is made from, so an unchanged client keeps its bundle and
// a rebuild only renders what changed. Switching OUT to a new generation is
// one rename: readers see the old site or the new one, never a mix.
package generator

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/pdf"
	"github.com/hubhq/hub/generator/site"
)

// Version changes whenever the generator's output for the same input
// changes; it is part of every bundle's key.
const Version = "hub-generator-2"

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

const stateVersion = 5

// state is what a build records for the next one (OUT.d/state.gob).
type state struct {
	Version int
	Seq     uint64 // one more at every build that changed something
	Global  string // hash of what every client depends on
	Gen     string
	Clients map[string]*clientState
	// Assets are the fingerprinted public assets the generation serves:
	// its own, and those of earlier generations still within AssetGrace.
	Assets map[string]assetUse
}

// AssetGrace is how long a fingerprinted asset (a stylesheet, a script,
// an image, and their sidecars) stays servable after the last generation
// that used it was replaced: a page loaded before a site-wide build still
// gets its stylesheet. Each new generation carries the assets of the one
// before (hard links) until they are this old.
const AssetGrace = 7 * 24 * time.Hour

// assetUse is one asset and the last build whose pages used it.
type assetUse struct {
	Size int64
	SHA  string // hex
	Used int64  // Unix seconds
}

type clientState struct {
	Files      []fileStamp
	Dirs       []dirStamp
	Content    string   // hash of the client's files
	Facts      int64    // version of the client's recorded facts (0: none)
	Key        string   // bundle key
	Numbers    []string // quote and invoice numbers...
	NumFiles   []string // ...and the file each is in, relative to the client's folder
	Thresholds []string // dates on which a derived state changes
	Pages      int
	PDFs       map[string]string // bundle path → key of the PDF's inputs (pdf.Doc.Key)
	// dir is the client's entry in the edge's directory, as JSON. It is not
	// saved: a later build takes it from the directory file it wrote.
	dir    json.RawMessage
	loaded bool // this build read the client's files
}

// numbered returns the client's numbers with their files.
func (cs *clientState) numbered(clientDir string) []site.Numbered {
	out := make([]site.Numbered, len(cs.Numbers))
	for i, n := range cs.Numbers {
		out[i] = site.Numbered{Number: n, File: filepath.Join(clientDir, filepath.FromSlash(cs.NumFiles[i]))}
	}
	return out
}

type fileStamp struct {
	Path  string // relative to the client's folder, slash-separated
	Size  int64
	MTime int64
	Ino   uint64
	SHA   string // the raw 32-byte SHA-256 (a string: gob encodes it in one piece)
}

type dirStamp struct {
	Path  string
	MTime int64
	Ino   uint64
}

// Dirs names the parts of an output path.
type Dirs struct{ Out, Data, Gens, Bundles, State string }

// OutputDirs returns where a build with output path out keeps things.
func OutputDirs(out string) Dirs {
	out = filepath.Clean(out)
	data := out + ".d"
	return Dirs{Out: out, Data: data, Gens: filepath.Join(data, "gen"), Bundles: filepath.Join(data, "bundles"), State: filepath.Join(data, "state.gob")}
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
	opt     Options
	old     *state          // after the last successful build; nil: read it from disk
	stamp   stateStamp      // the state files as they were after that build
	pending map[string]bool // changed paths not yet built successfully
}

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
	defer unlock()
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
	res, next, err := build(ctx, opt, b.old, hint, b.pending)
	if err != nil {
		return nil, err
	}
	if next != nil {
		b.old, b.stamp = next, readStamp(dirs.State)
	}
	clear(b.pending)
	return res, nil
}

// stateStamp identifies the state files' contents without reading them:
// every build that changes the state replaces state.gob (a new inode) or
// appends to state.gob.log (a new size).
type stateStamp struct{ base, log fileID }

type fileID struct {
	ino, size uint64
	mtime     int64
}

func readStamp(file string) stateStamp {
	id := func(p string) fileID {
		fi, err := os.Stat(p)
		if err != nil {
			return fileID{}
		}
		return fileID{ino: inode(fi), size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}
	}
	return stateStamp{base: id(file), log: id(file + ".log")}
}

// build does one build. With hint, old is what the last build recorded and
// a client whose folder holds no path of changed is taken as unchanged.
func build(ctx context.Context, opt Options, old *state, hint bool, changed map[string]bool) (*Result, *state, error) {
	start := time.Now()
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	res := &Result{}
	dirs := OutputDirs(opt.Out)
	if err := checkOut(dirs); err != nil {
		return nil, nil, err
	}
	key, err := bundle.LoadSigningKey(opt.Keys)
	if errors.Is(err, bundle.ErrNoKey) {
		key, err = bundle.GenerateKey(opt.Keys)
		res.NewKey = true
	}
	if err != nil {
		return nil, nil, fmt.Errorf("signing key: %w", err)
	}
	res.KeyID = key.ID

	loader, ps := site.NewLoader(opt.Content, opt.Now)
	shared, more := loader.Shared()
	ps = append(ps, more...)
	ids, more := loader.ClientIDs()
	ps = append(ps, more...)
	theme, err := LoadTheme(opt.Theme, filepath.Join(opt.Content, "themes"))
	if err != nil {
		return nil, nil, err
	}
	if len(ps) > 0 {
		return nil, nil, ps
	}

	if old == nil {
		old = readState(dirs.State)
		hint = false
	}
	if opt.Full || old.Version != stateVersion {
		old = &state{Clients: map[string]*clientState{}}
		hint = false
	}
	// With a hint, only clients with a changed path are looked at, and only
	// while nothing every client depends on changed.
	changedClient := func(id string) bool {
		if !hint {
			return true
		}
		dir, _ := filepath.Abs(loader.ClientDir(id))
		for p := range changed {
			if p == dir || strings.HasPrefix(p, dir+string(filepath.Separator)) {
				return true
			}
		}
		return false
	}
	for _, d := range []string{dirs.Gens, dirs.Bundles} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, err
		}
	}

	if opt.PayOnline != nil {
		loader.Config.Settings.OnlinePayments = opt.PayOnline
	}
	w := newWriter()
	w.disk = disk{opt.Fault}
	d := w.disk
	pres := &presenter{cfg: loader.Config, assets: map[string]string{}, sizes: map[string]Size{}, year: loader.Today.Year(), today: loader.Today, payOnline: site.On(loader.Config.Settings.OnlinePayments), pdfs: !opt.NoPDF}
	// Public assets: the stylesheet and the site's images, fingerprinted.
	public, global, err := publicAssets(opt.Content, loader.Config, theme, w, pres, shared, key.ID)
	if err != nil {
		return nil, nil, err
	}
	global += fmt.Sprintf("|pay:%v", pres.payOnline)
	r := &renderer{theme: theme, w: w, p: pres, sv: pres.siteView()}
	r.biz = pres.business(r.sv)
	pub, err := r.publicPages()
	if err != nil {
		return nil, nil, err
	}
	public = append(public, pub...)
	sharedSlugs := map[string]bool{}
	for _, p := range shared {
		sharedSlugs[p.Slug] = true
	}

	var versions map[string]int64
	if opt.Events != nil {
		if versions, err = opt.Events.Versions(ctx); err != nil {
			return nil, nil, fmt.Errorf("reading recorded payments, approvals and requests: %w", err)
		}
	}
	// People who asked for work through the public form get a hub of their
	// own until staff add a client folder with the same ID.
	pending := map[string]*events.PendingClient{}
	if opt.Events != nil {
		pcs, err := opt.Events.Pending(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("reading pending clients: %w", err)
		}
		have := map[string]bool{}
		for _, id := range ids {
			have[id] = true
		}
		for i := range pcs {
			if id := pcs[i].ID; !have[id] && site.ValidID(id) {
				pending[id] = &pcs[i]
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
	}
	facts := func(id string) clientFacts {
		return clientFacts{ctx: ctx, src: opt.Events, version: versions[id], pending: pending[id]}
	}

	// Clients, in parallel.
	next := &state{Version: stateVersion, Global: global, Clients: make(map[string]*clientState, len(ids)), Assets: old.Assets}
	type outcome struct {
		id       string
		cs       *clientState
		rendered bool
		pages    int
		pdfs     *pdfSet
		ps       site.Problems
		err      error
	}
	outcomes := make([]outcome, len(ids))
	var done atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id := ids[i]
				o := &outcomes[i]
				o.id = id
				if ctx.Err() != nil {
					o.err = ctx.Err()
				} else {
					o.cs, o.rendered, o.pages, o.pdfs, o.ps, o.err = buildClient(loader, r, dirs, key, global, old.Clients[id], opt.Full, !changedClient(id), id, shared, sharedSlugs, facts(id))
				}
				if opt.Progress != nil {
					opt.Progress(int(done.Add(1)), len(ids))
				}
			}
		}()
	}
	for i := range ids {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	var nums []site.Numbered
	anyLoaded := false
	var errs []error
	var created []string
	for _, o := range outcomes {
		ps = append(ps, o.ps...)
		if o.err != nil {
			errs = append(errs, o.err)
		}
		if o.cs == nil {
			continue
		}
		next.Clients[o.id] = o.cs
		nums = append(nums, o.cs.numbered(loader.ClientDir(o.id))...)
		anyLoaded = anyLoaded || o.cs.loaded
		if o.rendered {
			res.Rendered++
			res.Pages += o.pages
			if o.pdfs != nil {
				res.PDFs += o.pdfs.rendered
				res.PDFsReused += o.pdfs.reused
				res.PDFTime += o.pdfs.elapsed
			}
			created = append(created, filepath.Join(dirs.Bundles, o.id, o.cs.Key))
		}
	}
	if anyLoaded || len(next.Clients) != len(old.Clients) {
		// Numbers can only clash anew when a client's files were read.
		ps = append(ps, site.CheckNumbers(nums)...)
	}
	if len(ps) > 0 || len(errs) > 0 {
		// Nothing of this build is published: remove the bundles it made.
		for _, d := range created {
			if !old.usesBundle(d, dirs) {
				os.RemoveAll(d)
			}
		}
		if len(errs) > 0 {
			return nil, nil, errors.Join(errs...)
		}
		slices.SortStableFunc(ps, func(a, b site.Problem) int { return strings.Compare(a.String(), b.String()) })
		return nil, nil, ps
	}
	res.Clients = len(ids)
	res.Files, res.Bytes = w.filesOut, w.bytesOut

	cur, err := os.Readlink(dirs.Out)
	current := err == nil && old.Gen != "" && filepath.Base(filepath.Dir(cur)) == old.Gen
	sameSet := sameIDs(old, next)

	if current && old.Global == global && sameSet && sameClients(old, next) {
		// Nothing changed at all: keep serving the current generation.
		res.UpToDate = true
		res.Generation = old.Gen
		res.Elapsed = time.Since(start)
		return res, old, nil
	}
	dirClients, err := makeDirectory(dirs, old, next, ids, key, func(id string) (json.RawMessage, error) {
		c, ps := facts(id).load(loader, id)
		if c == nil || len(ps) > 0 {
			return nil, fmt.Errorf("cannot be loaded again: %v", ps)
		}
		if err := facts(id).fold(loader, c); err != nil {
			return nil, err
		}
		cp, err := r.p.client(c, shared, r.sv)
		if err != nil {
			return nil, fmt.Errorf("client %s: %w", id, err)
		}
		de := r.p.directoryEntry(c, cp)
		de.Bundle = next.Clients[id].Key
		return json.Marshal(de)
	})
	if err != nil {
		return nil, nil, err
	}
	dirSite := pres.directorySite(r.sv)
	incremental := false
	switch {
	case current && old.Global == global && sameSet:
		// Only some clients changed: swap each one's link to its new bundle
		// in the current generation (one rename each), then the directory.
		next.Gen = old.Gen
		incremental = true
		genDir := filepath.Join(dirs.Gens, old.Gen)
		// The new directory is written first and made durable by the same
		// syncfs as the bundles; it is renamed into place after the links.
		data, err := bundle.SignDirectoryRaw(dirSite, dirClients, key)
		if err != nil {
			return nil, nil, err
		}
		nextDir := filepath.Join(genDir, bundle.DirectoryName+".next")
		if err := d.writeFile(nextDir, data, 0o600); err != nil {
			return nil, nil, err
		}
		if err := d.syncFS(dirs.Data); err != nil {
			return nil, nil, err
		}
		// The links and the directory change together or not at all: a
		// failure puts back the links already swapped.
		var swapped []string
		undo := func(err error) error {
			for _, id := range swapped {
				swapLink(disk{}, filepath.Join(genDir, "site", "c", id), bundleLink(id, old.Clients[id].Key))
			}
			os.Remove(nextDir)
			return err
		}
		for _, id := range ids {
			if o, n := old.Clients[id], next.Clients[id]; o.Key != n.Key {
				if err := swapLink(d, filepath.Join(genDir, "site", "c", id), bundleLink(id, n.Key)); err != nil {
					return nil, nil, undo(err)
				}
				swapped = append(swapped, id)
			}
		}
		if err := d.rename(nextDir, filepath.Join(genDir, bundle.DirectoryName)); err != nil {
			return nil, nil, undo(err)
		}
		if err := d.syncDir(genDir); err != nil {
			return nil, nil, err
		}

	default:
		// Site-wide change (config, theme, key, clients added or removed):
		// a new generation, switched in with one rename.
		gen, err := writeGeneration(dirs, old, next, public, dirSite, dirClients, w, key, ids, opt.Now)
		if err != nil {
			return nil, nil, err
		}
		next.Gen = gen
		if err := d.syncFS(dirs.Data); err != nil {
			return nil, nil, err
		}
		if err := swapLink(d, dirs.Out, filepath.Join(filepath.Base(dirs.Data), "gen", gen, "site")); err != nil {
			return nil, nil, err
		}
	}
	res.Files, res.Bytes = w.filesOut, w.bytesOut
	next.Seq = old.Seq + 1
	if incremental {
		err = appendState(d, dirs.State, old, next)
	} else {
		err = writeState(d, dirs.State, next)
	}
	if err != nil {
		return nil, nil, err
	}
	collect(dirs, old, next, filepath.Base(filepath.Dir(cur)))
	res.Generation = next.Gen
	res.Elapsed = time.Since(start)
	return res, next, nil
}

func sameIDs(a, b *state) bool {
	if len(a.Clients) != len(b.Clients) {
		return false
	}
	for id := range b.Clients {
		if _, ok := a.Clients[id]; !ok {
			return false
		}
	}
	return true
}

// bundleLink is the target of c/<id> inside a generation's site folder.
func bundleLink(id, key string) string {
	return filepath.Join("..", "..", "..", "..", "bundles", id, key)
}

// makeDirectory assembles the edge's directory: clients rendered now bring
// their entry; the others' come from the previous build (kept in memory by
// a Builder, else read back from the directory file it wrote, checked
// against the signing key first so nothing changed on disk is re-signed).
func makeDirectory(dirs Dirs, old, next *state, ids []string, key *bundle.PrivateKey, entry func(id string) (json.RawMessage, error)) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(ids))
	var prev map[string]json.RawMessage
	for _, id := range ids {
		cs := next.Clients[id]
		if cs.dir == nil {
			if prev == nil {
				prev = map[string]json.RawMessage{}
				if old.Gen != "" {
					// Unreadable (an older format, or damaged): entries are
					// made again from the content below.
					if pd, err := bundle.ReadDirectoryClients(filepath.Join(dirs.Gens, old.Gen), bundle.NewKeySet(key.Key.Public().(ed25519.PublicKey))); err == nil {
						prev = pd
					}
				}
			}
			if cs.dir = prev[id]; cs.dir == nil {
				var err error
				if cs.dir, err = entry(id); err != nil {
					return nil, fmt.Errorf("client %s: %w", id, err)
				}
			}
		}
		out = append(out, cs.dir)
	}
	return out, nil
}

// writeDirectory (re)writes a generation's signed directory atomically.
func writeDirectory(d disk, genDir string, site bundle.DirSite, clients []json.RawMessage, key *bundle.PrivateKey) error {
	data, err := bundle.SignDirectoryRaw(site, clients, key)
	if err != nil {
		return err
	}
	return d.writeAtomic(filepath.Join(genDir, bundle.DirectoryName), data, 0o600)
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

func (s *state) usesBundle(dir string, d Dirs) bool {
	for id, cs := range s.Clients {
		if filepath.Join(d.Bundles, id, cs.Key) == dir {
			return true
		}
	}
	return false
}

func sameClients(a, b *state) bool {
	if len(a.Clients) != len(b.Clients) {
		return false
	}
	for id, cs := range b.Clients {
		o, ok := a.Clients[id]
		if !ok || o.Key != cs.Key {
			return false
		}
	}
	return true
}

// buildClient brings one client's bundle up to date.
func buildClient(l *site.Loader, r *renderer, dirs Dirs, key *bundle.PrivateKey, global string, old *clientState, full, unchanged bool, id string, shared []*site.Portal, sharedSlugs map[string]bool, facts clientFacts) (*clientState, bool, int, *pdfSet, site.Problems, error) {
	cs := &clientState{Facts: facts.version}
	if facts.pending != nil {
		cs.Content = "pending:" + facts.pending.ID + ":" + facts.pending.Email
	} else if unchanged && old != nil {
		cs.Files, cs.Dirs, cs.Content = old.Files, old.Dirs, old.Content // the watcher saw nothing change here
	} else {
		var err error
		if cs.Files, cs.Dirs, cs.Content, err = stampClient(l.ClientDir(id), old); err != nil {
			return nil, false, 0, nil, nil, err
		}
	}
	content := cs.Content
	if cs.Facts != 0 {
		content += fmt.Sprintf("+facts:%d", cs.Facts)
	}
	if old != nil && old.Content == cs.Content && old.Facts == cs.Facts {
		cs.Numbers, cs.NumFiles, cs.Thresholds, cs.Pages, cs.PDFs, cs.dir = old.Numbers, old.NumFiles, old.Thresholds, old.Pages, old.PDFs, old.dir
		cs.Key = bundleKey(global, content, cs.Thresholds, l.Today)
		if cs.Key == old.Key {
			if unchanged {
				return cs, false, 0, nil, nil, nil // the bundle was in use a moment ago
			}
			if _, err := os.Stat(filepath.Join(dirs.Bundles, id, cs.Key, bundle.SignatureName)); err == nil {
				return cs, false, 0, nil, nil, nil
			}
		}
	}
	c, ps := facts.load(l, id)
	cs.loaded = true
	for _, p := range c.PortalsOrNil() {
		if sharedSlugs[p.Slug] {
			ps = append(ps, site.Problem{File: p.File, Msg: fmt.Sprintf("portal %q has the same folder name as a shared portal in %s; rename one", p.Slug, l.SharedDir())})
		}
	}
	if c == nil || len(ps) > 0 {
		return nil, false, 0, nil, ps, nil
	}
	if err := facts.fold(l, c); err != nil {
		return nil, false, 0, nil, nil, err
	}
	cs.Numbers, cs.NumFiles = nil, nil
	for _, n := range c.Numbers() {
		rel, _ := filepath.Rel(l.ClientDir(id), n.File)
		cs.Numbers = append(cs.Numbers, n.Number)
		cs.NumFiles = append(cs.NumFiles, filepath.ToSlash(rel))
	}
	cs.Thresholds = thresholds(c)
	cs.Key = bundleKey(global, content, cs.Thresholds, l.Today)
	dir := filepath.Join(dirs.Bundles, id, cs.Key)
	cp, err := r.p.client(c, shared, r.sv)
	if err != nil {
		return nil, false, 0, nil, nil, fmt.Errorf("client %s: %w", id, err)
	}
	de := r.p.directoryEntry(c, cp)
	de.Bundle = cs.Key
	entry, err := json.Marshal(de)
	if err != nil {
		return nil, false, 0, nil, nil, err
	}
	cs.dir = entry
	if _, err := os.Stat(filepath.Join(dir, bundle.SignatureName)); err == nil && !full {
		return cs, false, 0, nil, nil, nil // built before (e.g. the day flipped back after a failed build)
	}
	var pdfs *pdfSet
	if r.p.pdfs {
		// PDFs whose inputs did not change are copied from the bundle in use.
		oldDir := ""
		if old != nil && old.Key != "" {
			oldDir = filepath.Join(dirs.Bundles, id, old.Key)
		}
		pdfs = newPDFSet(old, oldDir)
	}
	out, pages, err := r.clientFiles(cp, c, shared, pdfs)
	if err != nil {
		return nil, false, 0, nil, nil, err
	}
	cs.Pages = pages
	if pdfs != nil {
		cs.PDFs = pdfs.keys
	}
	if err := writeBundle(dir, id, cs.Key, out, r.w, key); err != nil {
		return nil, false, 0, nil, nil, fmt.Errorf("client %s: %w", id, err)
	}
	if pdfs != nil {
		pdfs.files, pdfs.dates = nil, nil // written: only the counts are kept for the build's summary
	}
	return cs, true, pages, pdfs, nil, nil
}

// clientFacts is how a build reaches one client's recorded facts.
type clientFacts struct {
	ctx     context.Context
	src     events.Source
	version int64
	pending *events.PendingClient // a pending client: no content folder
}

// load loads the client from its folder, or makes a pending client's.
func (f clientFacts) load(l *site.Loader, id string) (*site.Client, site.Problems) {
	if pc := f.pending; pc != nil {
		c := &site.Client{ID: pc.ID, Name: pc.Name, Contacts: []site.Contact{{Name: pc.Name, Email: pc.Email, Phone: pc.Phone}}}
		if a, ok := events.SplitAddress(pc.Address); ok {
			c.Properties = []site.Address{{Street: a.Street, City: a.City, Region: a.Region, PostalCode: a.PostalCode}}
		} else if pc.Address != "" {
			c.Properties = []site.Address{{Street: pc.Address}}
		}
		return c, nil
	}
	return l.Client(id)
}

// fold applies the client's recorded facts, if it has any.
func (f clientFacts) fold(l *site.Loader, c *site.Client) error {
	if f.version == 0 {
		return nil
	}
	facts, err := f.src.Facts(f.ctx, c.ID)
	if err != nil {
		return fmt.Errorf("client %s: reading recorded payments, approvals and requests: %w", c.ID, err)
	}
	if err := site.Fold(l.Config, c, facts, l.Today); err != nil {
		return fmt.Errorf("client %s: %w", c.ID, err)
	}
	return nil
}

// writeBundle writes a bundle to a temporary folder, signs it, and renames
// it into place.
func writeBundle(dir, id, inputs string, files []outFile, w *writer, key *bundle.PrivateKey) error {
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	entries, err := w.writeAll(tmp, files)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	m := &bundle.Manifest{Client: id, Inputs: inputs, Files: entries}
	data, sig, err := bundle.Sign(m, key)
	if err != nil {
		return err
	}
	if err := w.disk.writeFile(filepath.Join(tmp, bundle.ManifestName), data, 0o644); err != nil {
		return err
	}
	if err := w.disk.writeFile(filepath.Join(tmp, bundle.SignatureName), sig, 0o644); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return w.disk.rename(tmp, dir)
}

// stampClient lists a client's files with their hashes, re-reading only
// files whose size, modification time or inode changed since last time,
// and re-listing only folders whose own modification time or inode changed
// (adding, removing or renaming an entry changes the folder's mtime).
func stampClient(dir string, old *clientState) ([]fileStamp, []dirStamp, string, error) {
	prevFiles := map[string]fileStamp{}
	prevDirs := map[string]dirStamp{}
	children := map[string][]string{} // folder → entries, as last listed
	if old != nil {
		for _, f := range old.Files {
			prevFiles[f.Path] = f
			children[path.Dir(f.Path)] = append(children[path.Dir(f.Path)], path.Base(f.Path))
		}
		for _, d := range old.Dirs {
			prevDirs[d.Path] = d
			if d.Path != "." {
				children[path.Dir(d.Path)] = append(children[path.Dir(d.Path)], path.Base(d.Path)+"/")
			}
		}
	}
	var files []fileStamp
	var dirs []dirStamp
	var walk func(rel string) error
	walk = func(rel string) error {
		full := filepath.Join(dir, filepath.FromSlash(rel))
		st, err := os.Lstat(full)
		if err != nil {
			return err
		}
		ds := dirStamp{Path: rel, MTime: st.ModTime().UnixNano(), Ino: inode(st)}
		dirs = append(dirs, ds)
		var names []string // files plain, folders with a trailing "/"
		if o, ok := prevDirs[rel]; ok && o == ds {
			names = children[rel]
		} else {
			entries, err := os.ReadDir(full)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					continue
				}
				if e.IsDir() {
					names = append(names, e.Name()+"/")
				} else {
					names = append(names, e.Name())
				}
			}
		}
		slices.Sort(names)
		for _, n := range names {
			if sub, isDir := strings.CutSuffix(n, "/"); isDir {
				if err := walk(path.Join(rel, sub)); err != nil {
					return err
				}
				continue
			}
			p := path.Join(rel, n)
			info, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil {
				return err
			}
			if info.IsDir() { // a file replaced by a folder without the parent changing
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			fsm := fileStamp{Path: p, Size: info.Size(), MTime: info.ModTime().UnixNano(), Ino: inode(info)}
			if o, ok := prevFiles[p]; ok && o.Size == fsm.Size && o.MTime == fsm.MTime && o.Ino == fsm.Ino {
				fsm.SHA = o.SHA
			} else if fsm.SHA, err = hashFile(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				return err
			}
			files = append(files, fsm)
		}
		return nil
	}
	if err := walk("."); err != nil {
		return nil, nil, "", err
	}
	slices.SortFunc(files, func(a, b fileStamp) int { return strings.Compare(a.Path, b.Path) })
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%x\n", f.Path, f.SHA)
	}
	return files, dirs, hex.EncodeToString(h.Sum(nil)), nil
}

func inode(fi os.FileInfo) uint64 {
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Ino)
	}
	return 0
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return string(h.Sum(nil)), nil
}

// everyDay is the threshold of a client whose bundle changes every day:
// one with a statement, which is dated the day it is built and ages what
// is owed by that day.
const everyDay = "every-day"

// thresholds are the dates on which something a client sees changes by
// itself: an invoice falling past due, a quote expiring; everyDay when the
// client has a statement.
func thresholds(c *site.Client) []string {
	var out []string
	for _, inv := range c.Invoices {
		if InvoiceVisible(inv) && inv.Status == site.InvoiceAwaitingPayment && inv.Balance > 0 {
			out = append(out, inv.Due.Raw)
		}
		if InvoiceVisible(inv) && !slices.Contains(out, everyDay) {
			out = append(out, everyDay)
		}
	}
	for _, q := range c.Quotes {
		if q.Status == site.QuoteAwaitingResponse && q.ValidUntil.Set {
			out = append(out, q.ValidUntil.Raw)
		}
	}
	// A subscription's next charge moves the day after it, and is shown
	// on the home page from SoonDays before.
	for _, s := range c.Subs {
		if !s.Next.IsZero() && s.Status != site.SubscriptionDraft {
			out = append(out, s.Next.Format(time.DateOnly), s.Next.AddDate(0, 0, -site.SoonDays).Format(time.DateOnly))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// bundleKey names a bundle by everything it is made from: the global
// inputs, the client's files, and which of its date thresholds have passed.
func bundleKey(global, content string, thresholds []string, today time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", global, content)
	day := today.Format(time.DateOnly)
	for _, t := range thresholds {
		if t == everyDay {
			fmt.Fprintf(h, "day %s\n", day)
			continue
		}
		fmt.Fprintf(h, "%s:%v\n", t, t < day)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
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

// writeGeneration writes a new generation folder: public files, their
// signed manifest, and a link per client to its bundle.
func writeGeneration(dirs Dirs, old, next *state, public []outFile, dirSite bundle.DirSite, dirClients []json.RawMessage, w *writer, key *bundle.PrivateKey, ids []string, now time.Time) (string, error) {
	gen := time.Now().UTC().Format("20060102T150405.000000000")
	gen = strings.ReplaceAll(gen, ".", "-")
	dir := filepath.Join(dirs.Gens, gen)
	top := dir + ".tmp"
	os.RemoveAll(top)
	tmp := filepath.Join(top, "site")
	if err := os.MkdirAll(filepath.Join(tmp, "c"), 0o755); err != nil {
		return "", err
	}
	// The edge's directory sits beside the public files, never among them.
	if err := writeDirectory(w.disk, top, dirSite, dirClients, key); err != nil {
		return "", err
	}
	entries, err := w.writeAll(tmp, public)
	if err != nil {
		return "", err
	}
	var kept []bundle.File
	next.Assets, kept = keepAssets(dirs, old, tmp, entries, now)
	entries = append(entries, kept...)
	m := &bundle.Manifest{Client: "", Inputs: next.Global, Files: entries}
	data, sig, err := bundle.Sign(m, key)
	if err != nil {
		return "", err
	}
	if err := w.disk.writeFile(filepath.Join(tmp, bundle.ManifestName), data, 0o644); err != nil {
		return "", err
	}
	if err := w.disk.writeFile(filepath.Join(tmp, bundle.SignatureName), sig, 0o644); err != nil {
		return "", err
	}
	for _, id := range ids {
		cs := next.Clients[id]
		if err := w.disk.symlink(bundleLink(id, cs.Key), filepath.Join(tmp, "c", id)); err != nil {
			return "", err
		}
	}
	return gen, w.disk.rename(top, dir)
}

// keepAssets records the assets among a new generation's public files and
// links into its site folder (siteDir) the earlier generation's assets that
// are still within AssetGrace, each checked against its recorded SHA-256.
// It returns every asset the generation serves, and the files it linked.
func keepAssets(dirs Dirs, old *state, siteDir string, files []bundle.File, now time.Time) (map[string]assetUse, []bundle.File) {
	uses := map[string]assetUse{}
	for _, f := range files {
		if strings.HasPrefix(f.Path, "assets/") {
			uses[f.Path] = assetUse{Size: f.Size, SHA: f.SHA256, Used: now.Unix()}
		}
	}
	if old.Gen == "" {
		return uses, nil
	}
	var kept []bundle.File
	from := filepath.Join(dirs.Gens, old.Gen, "site")
	for _, p := range slices.Sorted(maps.Keys(old.Assets)) {
		u := old.Assets[p]
		if _, ok := uses[p]; ok || now.Sub(time.Unix(u.Used, 0)) >= AssetGrace || !bundle.CleanPath(p) {
			continue
		}
		src, dst := filepath.Join(from, filepath.FromSlash(p)), filepath.Join(siteDir, filepath.FromSlash(p))
		if sum, err := hashFile(src); err != nil || hex.EncodeToString([]byte(sum)) != u.SHA {
			continue // gone or changed: it cannot be vouched for again
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			continue
		}
		if err := os.Link(src, dst); err != nil {
			continue
		}
		uses[p] = u
		kept = append(kept, bundle.File{Path: p, Size: u.Size, SHA256: u.SHA})
	}
	return uses, kept
}

// swapLink points link at target atomically (a new link renamed over the old).
func swapLink(d disk, link, target string) error {
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := d.symlink(target, tmp); err != nil {
		return err
	}
	if err := d.rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return d.syncDir(filepath.Dir(link))
}

// collect removes generations and bundles that neither the new nor the
// previous generation uses (a reader may still be in the previous one),
// nor the generation published when the build started (started). A
// bundle that a kept generation's link names is kept whatever the states
// say: what is published is the truth.
func collect(dirs Dirs, old, next *state, started string) {
	keep := map[string]bool{next.Gen: true, old.Gen: true, started: true}
	removed := false
	if entries, err := os.ReadDir(dirs.Gens); err == nil {
		for _, e := range entries {
			if !keep[e.Name()] {
				os.RemoveAll(filepath.Join(dirs.Gens, e.Name()))
				removed = true
			}
		}
	}
	ids, err := os.ReadDir(dirs.Bundles)
	if err != nil {
		return
	}
	for _, e := range ids {
		id := e.Name()
		n, o := next.Clients[id], old.Clients[id]
		if !removed && n != nil && o != nil && n.Key == o.Key {
			continue // unchanged, and no generation went: nothing new to collect
		}
		inUse := map[string]bool{}
		for _, s := range []*clientState{n, o} {
			if s != nil {
				inUse[s.Key] = true
			}
		}
		for gen := range keep {
			if t, err := os.Readlink(filepath.Join(dirs.Gens, gen, "site", "c", id)); err == nil {
				inUse[filepath.Base(t)] = true
			}
		}
		if len(inUse) == 0 {
			os.RemoveAll(filepath.Join(dirs.Bundles, id))
			continue
		}
		keys, _ := os.ReadDir(filepath.Join(dirs.Bundles, id))
		for _, k := range keys {
			if !inUse[k.Name()] {
				os.RemoveAll(filepath.Join(dirs.Bundles, id, k.Name()))
			}
		}
	}
}

// The state is a base file (state.gob) and a log of the builds since
// (state.gob.log): an incremental build appends only the clients it
// changed, instead of rewriting the state of every client.

// stateRecord is one incremental build in the log.
type stateRecord struct {
	Seq     uint64
	Global  string
	Gen     string
	Clients map[string]*clientState
}

// maxStateLog: past this size, the next build writes a new base instead.
const maxStateLog = 4 << 20

func readState(file string) *state {
	s := &state{Clients: map[string]*clientState{}}
	data, err := os.ReadFile(file)
	if err != nil {
		return s
	}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(s); err != nil || s.Clients == nil {
		return &state{Clients: map[string]*clientState{}}
	}
	log, _ := os.ReadFile(file + ".log")
	for len(log) >= 4 {
		n := int(binary.BigEndian.Uint32(log))
		if len(log) < 4+n {
			break // a record cut short by a crash: the build it belonged to did not finish
		}
		var rec stateRecord
		if err := gob.NewDecoder(bytes.NewReader(log[4 : 4+n])).Decode(&rec); err != nil {
			break
		}
		log = log[4+n:]
		if rec.Seq <= s.Seq {
			continue // already in the base
		}
		s.Seq, s.Global, s.Gen = rec.Seq, rec.Global, rec.Gen
		for id, cs := range rec.Clients {
			s.Clients[id] = cs
		}
	}
	return s
}

// writeState writes a new base and empties the log.
func writeState(d disk, file string, s *state) error {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(s); err != nil {
		return err
	}
	if err := d.writeAtomic(file, b.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Remove(file + ".log"); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// appendState logs the clients that changed since old.
func appendState(d disk, file string, old, next *state) error {
	if st, err := os.Stat(file + ".log"); err == nil && st.Size() > maxStateLog {
		return writeState(d, file, next)
	}
	rec := stateRecord{Seq: next.Seq, Global: next.Global, Gen: next.Gen, Clients: map[string]*clientState{}}
	for id, n := range next.Clients {
		if o := old.Clients[id]; o == nil || o.Key != n.Key || o.Content != n.Content || !slices.Equal(o.Files, n.Files) || !slices.Equal(o.Dirs, n.Dirs) {
			rec.Clients[id] = n
		}
	}
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 0})
	if err := gob.NewEncoder(&b).Encode(&rec); err != nil {
		return err
	}
	buf := b.Bytes()
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	return d.appendSync(file+".log", buf)
}
