package generator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/site"
)

// clientResult is what building one client gives the run.
type clientResult struct {
	cs       *clientState // the client's new state; nil when it could not be built
	rendered bool         // a new bundle was written
	pages    int          // pages rendered
	pdfs     *pdfSet      // the PDFs rendered and reused (nil without PDFs)
	ps       site.Problems
	err      error
}

// buildClient brings one client's bundle up to date. Its key is a hash of
// the client's inputs: its files (stamped, or as the watcher last saw
// them), its recorded facts, and which of its date thresholds have passed.
// With the inputs of the bundle in use, the bundle is kept; else the client
// is loaded and a new bundle rendered.
func (r *run) buildClient(id string) clientResult {
	old, unchanged, facts := r.old.Clients[id], !r.changedClient(id), r.facts(id)
	cs, err := r.clientInputs(id, old, unchanged, facts)
	if err != nil {
		return clientResult{err: err}
	}
	content := cs.Content
	if cs.Facts != 0 {
		content += fmt.Sprintf("+facts:%d", cs.Facts)
	}
	if old != nil && old.Content == cs.Content && old.Facts == cs.Facts {
		// The same files and facts: what was learnt from them still holds.
		cs.Numbers, cs.NumFiles, cs.Thresholds, cs.Pages, cs.PDFs, cs.dir = old.Numbers, old.NumFiles, old.Thresholds, old.Pages, old.PDFs, old.dir
		cs.lower, cs.keyOf = old.lower, r.keyInputs(content)
		if old.keyOf == cs.keyOf {
			cs.Key = old.Key // the same inputs as the build that made it
		} else {
			cs.Key = bundleKey(r.global, content, cs.Thresholds, r.loader.Today)
		}
		// Unchanged, the bundle was in use a moment ago; else it must be there.
		if cs.Key == old.Key && unchanged {
			if !old.loaded {
				// Equal in every field: the same value serves, so the
				// phases after can tell it unchanged without comparing.
				old.keyOf = cs.keyOf
				return clientResult{cs: old}
			}
			return clientResult{cs: cs}
		}
		if cs.Key == old.Key && r.bundleBuilt(id, cs.Key) {
			return clientResult{cs: cs}
		}
	}
	return r.renderClient(id, old, cs, content, facts)
}

// clientInputs starts the client's new state with its files and facts.
func (r *run) clientInputs(id string, old *clientState, unchanged bool, facts clientFacts) (*clientState, error) {
	cs := &clientState{Facts: facts.version}
	switch {
	case facts.pending != nil:
		cs.Content = "pending:" + facts.pending.ID + ":" + facts.pending.Email
	case unchanged && old != nil:
		cs.Files, cs.Dirs, cs.Content = old.Files, old.Dirs, old.Content // the watcher saw nothing change here
	default:
		var err error
		if cs.Files, cs.Dirs, cs.Content, err = stampClient(r.loader.ClientDir(id), old); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// bundleBuilt tells whether the bundle of client id with key is complete
// on disk (its signature is written last).
func (r *run) bundleBuilt(id, key string) bool {
	_, err := os.Stat(filepath.Join(r.dirs.Bundles, id, key, bundle.SignatureName))
	return err == nil
}

// renderClient loads the client, folds its facts over it, and writes its
// bundle, unless one with the same key was built before.
func (r *run) renderClient(id string, old, cs *clientState, content string, facts clientFacts) clientResult {
	l := r.loader
	c, ps := facts.load(l, id)
	cs.loaded = true
	for _, p := range c.PortalsOrNil() {
		if r.sharedSlugs[p.Slug] {
			ps = append(ps, site.Problem{File: p.File, Msg: fmt.Sprintf("portal %q has the same folder name as a shared portal in %s; rename one", p.Slug, l.SharedDir())})
		}
	}
	if c == nil || len(ps) > 0 {
		return clientResult{ps: ps}
	}
	if err := facts.fold(l, c); err != nil {
		return clientResult{err: err}
	}
	cs.Numbers, cs.NumFiles = nil, nil
	for _, n := range c.Numbers() {
		rel, _ := filepath.Rel(l.ClientDir(id), n.File)
		cs.Numbers = append(cs.Numbers, n.Number)
		cs.NumFiles = append(cs.NumFiles, filepath.ToSlash(rel))
	}
	cs.Thresholds = thresholds(c)
	cs.Key = bundleKey(r.global, content, cs.Thresholds, l.Today)
	cs.keyOf = r.keyInputs(content)
	cp, err := r.pres.client(c, r.shared, r.render.sv)
	if err != nil {
		return clientResult{err: fmt.Errorf("client %s: %w", id, err)}
	}
	de := r.pres.directoryEntry(c, cp)
	de.Bundle = cs.Key
	if cs.dir, err = json.Marshal(de); err != nil {
		return clientResult{err: err}
	}
	if !r.opt.Full && r.bundleBuilt(id, cs.Key) {
		return clientResult{cs: cs} // built before (e.g. the day flipped back after a failed build)
	}
	var pdfs *pdfSet
	if r.pres.pdfs {
		// PDFs whose inputs did not change are copied from the bundle in use.
		oldDir := ""
		if old != nil && old.Key != "" {
			oldDir = filepath.Join(r.dirs.Bundles, id, old.Key)
		}
		pdfs = newPDFSet(old, oldDir)
	}
	out, pages, err := r.render.clientFiles(cp, c, r.shared, pdfs)
	if err != nil {
		return clientResult{err: err}
	}
	cs.Pages = pages
	if pdfs != nil {
		cs.PDFs = pdfs.keys
	}
	if err := writeBundle(filepath.Join(r.dirs.Bundles, id, cs.Key), id, cs.Key, out, r.w, r.key); err != nil {
		return clientResult{err: fmt.Errorf("client %s: %w", id, err)}
	}
	if pdfs != nil {
		pdfs.files, pdfs.dates = nil, nil // written: only the counts are kept for the build's summary
	}
	return clientResult{cs: cs, rendered: true, pages: pages, pdfs: pdfs}
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
	entries, err := w.writeAll(tmp, files, bundleBrotliMin)
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
	if old != nil && sameStamps(dir, old) {
		return old.Files, old.Dirs, old.Content, nil
	}
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

// sameStamps tells whether every folder and file old recorded is still as
// it was. Then a walk would list the same entries (no folder's own stamp
// changed, so none gained or lost one) and take every hash from old: the
// same files, dirs and content. It costs one lstat per entry and allocates
// no listing, which is what a build of an unchanged site spends its time on.
func sameStamps(dir string, old *clientState) bool {
	if len(old.Dirs) == 0 {
		return false
	}
	buf := make([]byte, 0, len(dir)+64)
	stat := func(rel string) (os.FileInfo, error) {
		buf = append(append(append(buf[:0], dir...), filepath.Separator), filepath.FromSlash(rel)...)
		return os.Lstat(string(buf))
	}
	for _, d := range old.Dirs {
		st, err := stat(d.Path)
		if err != nil || !st.IsDir() || st.ModTime().UnixNano() != d.MTime || inode(st) != d.Ino {
			return false
		}
	}
	for _, f := range old.Files {
		st, err := stat(f.Path)
		if err != nil || st.IsDir() || st.Size() != f.Size || st.ModTime().UnixNano() != f.MTime || inode(st) != f.Ino {
			return false
		}
	}
	return true
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
// keyInputs is what a client's bundle key is made of besides its
// thresholds, which follow from its content: equal inputs, equal keys.
func (r *run) keyInputs(content string) keyInputs {
	return keyInputs{global: r.global, content: content, day: r.day}
}

type keyInputs struct{ global, content, day string }

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
