package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hubhq/hub/generator/bundle"
)

// Build is one generation of the built site, loaded: its directory, the
// public files, and every client's bundle with its authenticated manifest.
//
// A Build is never changed once served. A reload after an incremental
// build makes a new Build that shares the previous one's index of clients
// (base) and adds the clients whose entries were appended to the
// directory's log since (delta, looked at first), so that it costs what
// changed, not the site. Once delta grows past a sixteenth of the site, a
// reload makes a new base from memory.
type Build struct {
	Gen   string
	stamp string // what the build was loaded from: see buildStamp
	// Directory holds the site's settings (Site); its Clients are not
	// filled: see Clients and Client.
	Directory *bundle.Directory
	genDir    string
	root      *bundle.DirRoot // the directory's root, as read and checked
	public    *served
	cspHeader []string // Content-Security-Policy for this build's pages

	log   *slog.Logger
	base  *dirIndex
	delta map[string]*clientEntry // changed since base, by ID (decoded)
	ddocs map[string]docRef       // the documents of the clients in delta

	sortOnce sync.Once
	sorted   []*bundle.DirClient
}

// clientEntry is one client of a build: its directory entry (as read; it
// is decoded when first needed) and its bundle.
type clientEntry struct {
	id     string
	raw    string
	bundle *served
	from   *clientEntry // an entry of the same bytes whose decoding serves
	once   sync.Once
	c      *bundle.DirClient // nil when the entry does not decode
}

// client is the entry decoded (on first use). An entry is signed, so one
// that does not decode is a bug: logged, and the client is taken as absent.
func (e *clientEntry) client(log *slog.Logger) *bundle.DirClient {
	if e.from != nil {
		return e.from.client(log)
	}
	e.once.Do(func() {
		c := &bundle.DirClient{}
		err := json.Unmarshal([]byte(e.raw), c)
		if err == nil && c.ID != e.id {
			err = fmt.Errorf("the entry of %q names %q", e.id, c.ID)
		}
		if err != nil {
			log.Error("directory entry does not decode; the client is left out", "client", e.id, "err", err)
			return
		}
		e.c = c
	})
	return e.c
}

// dirIndex is the lookups over every client, as of one full load (or
// merge): by ID at once; by contact email and by document number made
// (decoding every entry) in the background, and waited for by a lookup
// that needs them before.
type dirIndex struct {
	clients map[string]*clientEntry
	log     *slog.Logger
	once    sync.Once
	byEmail map[string][]string // lower-case email → client IDs, sorted
	docs    map[string]docRef   // see docKey
}

type docRef struct {
	Client string
	Doc    *bundle.DirDocument
}

// served is a folder of files with its signed manifest. A client bundle's
// folder is found (its c/<id> link read) and its manifest read and
// authenticated when the client first asks for a page, before any of its
// bytes are served, and kept: start-up and memory follow the clients in
// use, not the site.
type served struct {
	dir    string // the folder; for a lazy bundle, set inside once
	site   string // a lazy bundle: the site folder whose c/<client> link names it
	client string
	keys   *bundle.KeySet
	m      *bundle.Manifest // set at load for the public files; nil for lazy bundles
	err    error            // the public files failed to load
	once   sync.Once        // finds and reads a lazy bundle on first use...
	lm     *bundle.Manifest // ...into these, written only inside once
	lerr   error
	found  atomic.Bool // once has run: dir is the bundle's own folder
	// files whose content was checked against the manifest (and cached when small)
	cache sync.Map // path → *cachedFile
	metas sync.Map // path → *fileMeta: header values and sidecars (serve.go)
}

type cachedFile struct {
	data []byte // nil for large files, served from disk
}

// LoadBuild loads the generation that out points to. A client bundle whose
// manifest does not verify is found on its client's first request (its
// client gets 503, and it is logged); the public files and the directory
// must verify or the build is refused.
func LoadBuild(out string, keys *bundle.KeySet, log *slog.Logger) (*Build, error) {
	return loadBuild(out, keys, log, nil)
}

// buildStamp identifies what out points to now: the generation, and the
// version of its directory's root (replaced, by rename, whenever any
// client's bundle is swapped in place).
func buildStamp(out string) (string, error) {
	target, err := os.Readlink(out)
	if err != nil {
		return "", err
	}
	siteDir, err := filepath.EvalSymlinks(out)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(filepath.Join(filepath.Dir(siteDir), bundle.DirectoryName))
	if err != nil {
		return "", err
	}
	ino := uint64(0)
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = uint64(sys.Ino)
	}
	return fmt.Sprintf("%s|%d|%d|%d", target, ino, st.Size(), st.ModTime().UnixNano()), nil
}

// loadBuild loads a build, reusing what prev has that did not change: when
// out is prev's generation with entries appended to the same log, only the
// appended bytes are read, checked and decoded.
func loadBuild(out string, keys *bundle.KeySet, log *slog.Logger, prev *Build) (*Build, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stamp, err := buildStamp(out)
	if err != nil {
		return nil, fmt.Errorf("no build at %s: %w", out, err)
	}
	siteDir, err := filepath.EvalSymlinks(out)
	if err != nil {
		return nil, fmt.Errorf("no build at %s: %w", out, err)
	}
	genDir := filepath.Dir(siteDir)
	root, err := bundle.ReadDirRoot(genDir, keys)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", genDir, err)
	}
	b := &Build{
		Gen: filepath.Base(genDir), stamp: stamp, genDir: genDir, root: root, log: log,
		Directory: &bundle.Directory{Version: root.Version, KeyID: root.KeyID, Site: root.Site},
		cspHeader: []string{csp(root.Site.FrameOrigins)}[:1:1],
	}
	if prev != nil && prev.public.dir == siteDir {
		b.public = prev.public
	} else if b.public = loadServed(siteDir, "", keys); b.public.err != nil {
		return nil, fmt.Errorf("build %s: public files: %w", genDir, b.public.err)
	}
	if prev != nil && prev.genDir == genDir {
		lines, ok, err := root.Since(genDir, prev.root)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", genDir, err)
		}
		if ok {
			return b, b.apply(prev, lines, siteDir, keys)
		}
	}
	raws, err := root.Latest(genDir)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", genDir, err)
	}
	// An unchanged entry (same bytes, so the same bundle key) keeps its
	// client and bundle; the others are decoded when first needed.
	entries := make(map[string]*clientEntry, len(raws))
	for id, raw := range raws {
		if pe := prev.entry(id); pe != nil && pe.raw == raw {
			entries[id] = pe.reuse(siteDir, keys)
			continue
		}
		entries[id] = &clientEntry{id: id, raw: raw, bundle: lazyBundle(siteDir, id, keys)}
	}
	b.base = newIndex(entries, log)
	return b, nil
}

// apply makes b the build prev was, with the entries appended to the log
// since (lines, in the order written) in place of the clients' earlier
// ones.
func (b *Build) apply(prev *Build, lines [][]byte, siteDir string, keys *bundle.KeySet) error {
	b.base, b.delta = prev.base, maps.Clone(prev.delta)
	if b.delta == nil {
		b.delta = map[string]*clientEntry{}
	}
	for _, rc := range lines {
		id, _ := bundle.EntryID(rc)
		pe := prev.entry(id)
		if pe == nil {
			return fmt.Errorf("build %s: directory: an entry for %q, who is not a client of it", b.genDir, id)
		}
		e := &clientEntry{id: id, raw: string(rc), bundle: lazyBundle(siteDir, id, keys)}
		if pe.raw == e.raw {
			e = pe.reuse(siteDir, keys)
		}
		if e.client(b.log) == nil {
			return fmt.Errorf("build %s: directory: the entry of %q does not decode", b.genDir, id)
		}
		b.delta[id] = e
	}
	if len(b.delta) > 64+len(b.base.clients)/16 {
		// Fold delta into a new base: a copy, since prev still serves.
		entries := maps.Clone(b.base.clients)
		maps.Copy(entries, b.delta)
		b.base, b.delta = newIndex(entries, b.log), nil
		return nil
	}
	b.ddocs = map[string]docRef{}
	for _, e := range b.delta {
		c := e.client(b.log)
		for i := range c.Documents {
			doc := &c.Documents[i]
			b.ddocs[docKey(doc.Kind, doc.Number)] = docRef{c.ID, doc}
		}
	}
	return nil
}

// reuse is e for a build of siteDir whose entry for e's client is the
// same (so is its bundle key): e itself, keeping its checked files, unless
// its bundle failed, or has not been looked for and would be through
// another generation's link (which may be removed soon).
func (e *clientEntry) reuse(siteDir string, keys *bundle.KeySet) *clientEntry {
	s := e.bundle
	if found := s.found.Load(); (found && s.lerr == nil) || (!found && s.site == siteDir) {
		return e
	}
	return &clientEntry{id: e.id, raw: e.raw, from: e, bundle: lazyBundle(siteDir, e.id, keys)}
}

// newIndex indexes entries: by ID now, the rest in the background.
func newIndex(entries map[string]*clientEntry, log *slog.Logger) *dirIndex {
	x := &dirIndex{clients: entries, log: log}
	go x.lookups()
	return x
}

// lookups makes (once) the lookups by email and by document.
func (x *dirIndex) lookups() {
	x.once.Do(func() {
		byEmail, docs := map[string][]string{}, map[string]docRef{}
		for _, id := range slices.Sorted(maps.Keys(x.clients)) {
			c := x.clients[id].client(x.log)
			if c == nil {
				continue
			}
			for _, ct := range c.Contacts {
				em := strings.ToLower(ct.Email)
				byEmail[em] = append(byEmail[em], c.ID)
			}
			for i := range c.Documents {
				doc := &c.Documents[i]
				docs[docKey(doc.Kind, doc.Number)] = docRef{c.ID, doc}
			}
		}
		x.byEmail, x.docs = byEmail, docs
	})
}

// entry is client id's entry in the build, nil when it has none.
func (b *Build) entry(id string) *clientEntry {
	if b == nil || b.base == nil {
		return nil
	}
	if e, ok := b.delta[id]; ok {
		return e
	}
	return b.base.clients[id]
}

// bundle is client id's bundle.
func (b *Build) bundle(id string) (*served, bool) {
	e := b.entry(id)
	if e == nil {
		return nil, false
	}
	return e.bundle, true
}

// lazyBundle is client's bundle in siteDir, found and checked on first use.
func lazyBundle(siteDir, client string, keys *bundle.KeySet) *served {
	return &served{site: siteDir, client: client, keys: keys}
}

// loadServed checks a folder's signed manifest and holds on to it (the
// public files).
func loadServed(dir, client string, keys *bundle.KeySet) *served {
	s := &served{dir: dir, client: client, keys: keys}
	s.m, s.err = s.readManifest()
	return s
}

func (s *served) readManifest() (*bundle.Manifest, error) {
	fsys, closeFn, err := bundle.OpenDir(s.dir)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	m, err := bundle.ReadManifest(fsys, s.keys)
	if err == nil && m.Client != s.client {
		err = fmt.Errorf("manifest is for client %q, not %q", m.Client, s.client)
	}
	return m, err
}

// manifest returns the bundle's manifest, finding the bundle's folder and
// reading and authenticating its manifest on first use.
func (s *served) manifest() (*bundle.Manifest, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.m != nil {
		return s.m, nil
	}
	s.once.Do(func() {
		if s.dir, s.lerr = bundleDir(s.site, s.client); s.lerr == nil {
			s.lm, s.lerr = s.readManifest()
		}
		s.found.Store(true)
	})
	return s.lm, s.lerr
}

// Client returns a client of this build.
func (b *Build) Client(id string) (*bundle.DirClient, bool) {
	if e := b.entry(id); e != nil {
		c := e.client(b.log)
		return c, c != nil
	}
	return nil, false
}

// IDs lists the IDs of this build's clients, sorted, without decoding
// their entries (Client decodes one).
func (b *Build) IDs() []string {
	if b.base == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(b.base.clients))
}

// Clients lists the clients of this build, sorted by ID.
func (b *Build) Clients() []*bundle.DirClient {
	b.sortOnce.Do(func() {
		if b.base == nil {
			return
		}
		for _, id := range slices.Sorted(maps.Keys(b.base.clients)) {
			if c := b.entry(id).client(b.log); c != nil {
				b.sorted = append(b.sorted, c)
			}
		}
	})
	return b.sorted
}

// NumClients is how many clients the build has.
func (b *Build) NumClients() int {
	if b.base == nil {
		return 0
	}
	return len(b.base.clients)
}

// ClientsOf lists the clients whose hub an email may open, sorted.
func (b *Build) ClientsOf(email string) []string {
	if b.base == nil {
		return nil
	}
	email = strings.ToLower(email)
	b.base.lookups()
	ids := b.base.byEmail[email]
	if len(b.delta) == 0 {
		return ids
	}
	var out []string
	for _, id := range ids {
		if _, changed := b.delta[id]; !changed {
			out = append(out, id)
		}
	}
	for id, e := range b.delta {
		if slices.ContainsFunc(e.client(b.log).Contacts, func(ct bundle.DirContact) bool { return strings.ToLower(ct.Email) == email }) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// doc finds a document by its docKey.
func (b *Build) doc(key string) (docRef, bool) {
	if r, ok := b.ddocs[key]; ok {
		return r, true
	}
	if b.base == nil {
		return docRef{}, false
	}
	b.base.lookups()
	r, ok := b.base.docs[key]
	if !ok {
		return docRef{}, false
	}
	if _, changed := b.delta[r.Client]; changed {
		return docRef{}, false // its client's entry changed, and no longer has it
	}
	return r, true
}

// Document finds a visible quote or invoice by number.
func (b *Build) Document(number string) (string, bundle.DirDocument, bool) {
	r, ok := b.doc(strings.ToLower(number))
	if !ok {
		return "", bundle.DirDocument{}, false
	}
	return r.Client, *r.Doc, true
}

// Subscription finds a visible subscription by number: its client and entry.
func (b *Build) Subscription(number string) (string, bundle.DirDocument, bool) {
	r, ok := b.doc(docKey("subscription", number))
	if !ok {
		return "", bundle.DirDocument{}, false
	}
	return r.Client, *r.Doc, true
}

// docKey is where a document is kept in Build.docs: quotes and invoices by
// number, subscriptions (numbered on their own) apart.
func docKey(kind, number string) string {
	if kind == "subscription" {
		return "subscription/" + strings.ToLower(number)
	}
	return strings.ToLower(number)
}

// cacheLimit: files up to this size are kept in memory once checked.
const cacheLimit = 256 << 10

// maxCached bounds the memory all cached files of a process may use.
const maxCached = 256 << 20

var cachedBytes atomic.Int64

// open returns a file's content (small files, from memory once checked) or
// an open file (large files), after checking it against the manifest: a
// file changed on disk since the build is never served.
func (s *served) open(f bundle.File) ([]byte, *os.File, error) {
	if c, ok := s.cache.Load(f.Path); ok {
		if data := c.(*cachedFile).data; data != nil {
			return data, nil, nil
		}
		fl, err := os.OpenInRoot(s.dir, f.Path)
		if err == nil {
			if st, err2 := fl.Stat(); err2 != nil || st.Size() != f.Size {
				fl.Close()
				return nil, nil, fmt.Errorf("%s changed on disk since it was checked", f.Path)
			}
		}
		return nil, fl, err
	}
	fl, err := os.OpenInRoot(s.dir, f.Path)
	if err != nil {
		return nil, nil, err
	}
	if f.Size <= cacheLimit {
		defer fl.Close()
		data, err := io.ReadAll(io.LimitReader(fl, f.Size+1))
		if err != nil {
			return nil, nil, err
		}
		if int64(len(data)) != f.Size || hashHex(data) != f.SHA256 {
			return nil, nil, fmt.Errorf("%s does not match its signed manifest", f.Path)
		}
		c := &cachedFile{}
		if cachedBytes.Add(f.Size) <= maxCached {
			c.data = data
		} else {
			cachedBytes.Add(-f.Size)
		}
		s.cache.Store(f.Path, c)
		return data, nil, nil
	}
	h := sha256.New()
	if n, err := io.Copy(h, fl); err != nil || n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		fl.Close()
		return nil, nil, fmt.Errorf("%s does not match its signed manifest", f.Path)
	}
	if _, err := fl.Seek(0, io.SeekStart); err != nil {
		fl.Close()
		return nil, nil, err
	}
	s.cache.Store(f.Path, &cachedFile{})
	return nil, fl, nil
}

// release gives back the memory of a build's cached files that next does
// not reuse. When both share a base, only the clients in either's delta
// can differ.
func (b *Build) release(next *Build) {
	drop := func(s *served) {
		if s == nil || s == next.public {
			return
		}
		s.cache.Range(func(k, v any) bool {
			if d := v.(*cachedFile).data; d != nil {
				cachedBytes.Add(-int64(len(d)))
			}
			return true
		})
	}
	if b.public != next.public {
		drop(b.public)
	}
	if b.base == nil {
		return
	}
	ids := maps.Keys(b.base.clients)
	if b.base == next.base {
		ids = func(yield func(string) bool) {
			for id := range b.delta {
				if !yield(id) {
					return
				}
			}
			for id := range next.delta {
				if _, ok := b.delta[id]; !ok && !yield(id) {
					return
				}
			}
		}
	}
	for id := range ids {
		if e := b.entry(id); e != nil {
			if ne := next.entry(id); ne == nil || ne.bundle != e.bundle {
				drop(e.bundle)
			}
		}
	}
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// bundleDir resolves c/<id>: one readlink for the link the generator makes
// (relative, to the bundle folder), EvalSymlinks for anything else.
func bundleDir(siteDir, id string) (string, error) {
	link := filepath.Join(siteDir, "c", id)
	target, err := os.Readlink(link)
	if err != nil {
		return filepath.EvalSymlinks(link)
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(siteDir, "c", target)
	}
	if st, err := os.Lstat(target); err != nil || !st.IsDir() {
		return filepath.EvalSymlinks(link)
	}
	return target, nil
}

// PageSHA returns the SHA-256 (hex) of a file of a client's bundle, from
// its signed manifest: the evidence of exactly what the client was shown.
func (b *Build) PageSHA(client, path string) (string, bool) {
	sv, ok := b.bundle(client)
	if !ok {
		return "", false
	}
	m, err := sv.manifest()
	if err != nil {
		return "", false
	}
	f, ok := m.Lookup(path)
	return f.SHA256, ok
}
