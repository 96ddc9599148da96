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
type Build struct {
	Gen       string
	stamp     string // what the build was loaded from: see buildStamp
	Directory *bundle.Directory
	public    *served
	bundles   map[string]*served // by client ID
	clients   map[string]*bundle.DirClient
	byEmail   map[string][]string // lower-case email → client IDs
	docs      map[string]docRef   // quote or invoice number → where
	cspHeader []string            // Content-Security-Policy for this build's pages
	raw       map[string]string   // each client's directory entry as read, to spot changes
}

type docRef struct {
	Client string
	Doc    bundle.DirDocument
}

// served is a folder of files with its signed manifest. A client bundle's
// manifest is authenticated when the build is loaded, then dropped, and
// read again (and kept) when the client first asks for a page: memory
// follows the clients in use, not the site.
type served struct {
	dir    string
	client string
	keys   *bundle.KeySet
	m      *bundle.Manifest // set at load for the public files; nil for lazy bundles
	err    error            // the bundle failed to load: 503 for its client
	once   sync.Once        // reads the manifest of a lazy bundle on first use...
	lm     *bundle.Manifest // ...into these, written only inside once
	lerr   error
	// files whose content was checked against the manifest (and cached when small)
	cache sync.Map // path → *cachedFile
}

type cachedFile struct {
	data []byte // nil for large files, served from disk
}

// LoadBuild loads the generation that out points to. A client bundle whose
// manifest does not verify is kept with its error (its client gets 503);
// the public files and the directory must verify or the build is refused.
func LoadBuild(out string, keys *bundle.KeySet, log *slog.Logger) (*Build, error) {
	return loadBuild(out, keys, log, nil)
}

// buildStamp identifies what out points to now: the generation, and the
// version of its directory (rewritten, by rename, whenever any client's
// bundle is swapped in place).
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

// loadBuild loads a build, reusing prev's bundles that did not change.
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
	siteEntry, raws, err := bundle.ReadDirectoryParts(genDir, keys)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", genDir, err)
	}
	// Decode only the entries that changed since prev; an unchanged entry
	// (same bytes, so the same bundle key) keeps its client and bundle.
	d := &bundle.Directory{Version: bundle.FormatVersion, Site: siteEntry, Clients: make([]bundle.DirClient, len(raws))}
	raw := make(map[string]string, len(raws))
	same := map[string]bool{}
	for i, rc := range raws {
		id, ok := bundle.EntryID(rc)
		if !ok {
			return nil, fmt.Errorf("build %s: directory: malformed entry", genDir)
		}
		if prev != nil && prev.raw[id] == string(rc) && prev.clients[id] != nil {
			d.Clients[i] = *prev.clients[id]
			raw[id] = prev.raw[id]
			same[id] = true
			continue
		}
		if err := json.Unmarshal(rc, &d.Clients[i]); err != nil {
			return nil, fmt.Errorf("build %s: directory: %w", genDir, err)
		}
		raw[id] = string(rc)
	}
	b := &Build{
		raw: raw,
		Gen: filepath.Base(genDir), Directory: d, stamp: stamp,
		bundles: make(map[string]*served, len(d.Clients)), clients: make(map[string]*bundle.DirClient, len(d.Clients)),
		byEmail: map[string][]string{}, docs: map[string]docRef{},
		cspHeader: []string{csp(d.Site.FrameOrigins)}[:1:1],
	}
	if prev != nil && prev.public.dir == siteDir {
		b.public = prev.public
	} else if b.public = loadServed(siteDir, "", keys, true); b.public.err != nil {
		return nil, fmt.Errorf("build %s: public files: %w", genDir, b.public.err)
	}
	for i := range d.Clients {
		c := &d.Clients[i]
		b.clients[c.ID] = c
		for _, ct := range c.Contacts {
			e := strings.ToLower(ct.Email)
			b.byEmail[e] = append(b.byEmail[e], c.ID)
		}
		for _, doc := range c.Documents {
			b.docs[docKey(doc.Kind, doc.Number)] = docRef{c.ID, doc}
		}
	}
	// Bundles: manifests read and authenticated in parallel.
	var mu sync.Mutex
	var wg sync.WaitGroup
	ids := make(chan string)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				dir, err := bundleDir(siteDir, id)
				var s *served
				switch {
				case err != nil:
					s = &served{err: err}
				case prev != nil && prev.bundles[id] != nil && prev.bundles[id].dir == dir && prev.bundles[id].err == nil:
					s = prev.bundles[id] // unchanged bundle: keep its checked files
				default:
					s = loadServed(dir, id, keys, false)
				}
				if s.err != nil {
					log.Error("bundle failed verification; its client gets 503 until a good build", "client", id, "build", b.Gen, "err", s.err)
				}
				mu.Lock()
				b.bundles[id] = s
				mu.Unlock()
			}
		}()
	}
	for _, c := range d.Clients {
		if same[c.ID] && prev.bundles[c.ID] != nil && prev.bundles[c.ID].err == nil {
			mu.Lock()
			b.bundles[c.ID] = prev.bundles[c.ID] // same entry, same bundle key: nothing to resolve
			mu.Unlock()
			continue
		}
		ids <- c.ID
	}
	close(ids)
	wg.Wait()
	return b, nil
}

// loadServed checks a folder's signed manifest. keep holds on to it (the
// public files); a client bundle keeps only the outcome and reads its
// manifest again on first use.
func loadServed(dir, client string, keys *bundle.KeySet, keep bool) *served {
	s := &served{dir: dir, client: client, keys: keys}
	m, err := s.readManifest()
	s.err = err
	if keep {
		s.m = m
	}
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

// manifest returns the bundle's manifest, reading it on first use.
func (s *served) manifest() (*bundle.Manifest, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.m != nil {
		return s.m, nil
	}
	s.once.Do(func() { s.lm, s.lerr = s.readManifest() })
	return s.lm, s.lerr
}

// Client returns a client of this build.
func (b *Build) Client(id string) (*bundle.DirClient, bool) {
	c, ok := b.clients[id]
	return c, ok
}

// ClientsOf lists the clients whose hub an email may open.
func (b *Build) ClientsOf(email string) []string { return b.byEmail[strings.ToLower(email)] }

// Document finds a visible quote or invoice by number.
func (b *Build) Document(number string) (string, bundle.DirDocument, bool) {
	r, ok := b.docs[strings.ToLower(number)]
	return r.Client, r.Doc, ok
}

// Subscription finds a visible subscription by number: its client and entry.
func (b *Build) Subscription(number string) (string, bundle.DirDocument, bool) {
	r, ok := b.docs[docKey("subscription", number)]
	return r.Client, r.Doc, ok
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
// not reuse.
func (b *Build) release(next *Build) {
	reused := map[*served]bool{next.public: true}
	for _, s := range next.bundles {
		reused[s] = true
	}
	for _, s := range append([]*served{b.public}, slices.Collect(maps.Values(b.bundles))...) {
		if reused[s] {
			continue
		}
		s.cache.Range(func(k, v any) bool {
			if d := v.(*cachedFile).data; d != nil {
				cachedBytes.Add(-int64(len(d)))
			}
			return true
		})
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
	sv, ok := b.bundles[client]
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
