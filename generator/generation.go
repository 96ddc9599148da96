package generator

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/bundle"
)

// AssetGrace is how long a fingerprinted asset (a stylesheet, a script,
// an image, and their sidecars) stays servable after the last generation
// that used it was replaced: a page loaded before a site-wide build still
// gets its stylesheet. Each new generation carries the assets of the one
// before (hard links) until they are this old.
const AssetGrace = 7 * 24 * time.Hour

// upToDate tells whether nothing changed at all, so that the current
// generation keeps being served. It notes which generation is served.
func (r *run) upToDate() bool {
	cur, err := os.Readlink(r.dirs.Out)
	r.started = filepath.Base(filepath.Dir(cur))
	r.current = err == nil && r.old.Gen != "" && r.started == r.old.Gen
	if !r.current || r.old.Global != r.global || !r.sameIDs || !sameClients(r.old, r.next) {
		return false
	}
	// A directory root that does not read (an older format, or damaged)
	// is written again, with entries made from the content.
	_, err = bundle.ReadDirRoot(filepath.Join(r.dirs.Gens, r.old.Gen), r.trusted())
	return err == nil
}

// publish makes the new bundles and the new directory the ones served:
// when only some clients changed, by swapping their links in the current
// generation; else by a new generation. It tells which it did.
func (r *run) publish() (incremental bool, err error) {
	dirSite := r.pres.directorySite(r.render.sv)
	if r.current && r.old.Global == r.global && r.sameIDs {
		return true, r.swapClients(dirSite)
	}
	dirClients, err := makeDirectory(r.dirs, r.old, r.next, r.ids, r.key, r.directoryEntry)
	if err != nil {
		return false, err
	}
	return false, r.newGeneration(dirSite, dirClients)
}

// directoryEntry makes client id's directory entry again from its content,
// for a client rendered by an earlier build whose entry cannot be read back.
func (r *run) directoryEntry(id string) (json.RawMessage, error) {
	facts := r.facts(id)
	c, ps := facts.load(r.loader, id)
	if c == nil || len(ps) > 0 {
		return nil, fmt.Errorf("cannot be loaded again: %v", ps)
	}
	if err := facts.fold(r.loader, c); err != nil {
		return nil, err
	}
	cp, err := r.pres.client(c, r.shared, r.render.sv)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", id, err)
	}
	de := r.pres.directoryEntry(c, cp)
	de.Bundle = r.next.Clients[id].Key
	return json.Marshal(de)
}

// swapClients publishes an incremental build: each changed client's link
// in the current generation is swapped to its new bundle (one rename
// each), then the directory's root. The changed clients' entries are
// appended to the directory's log, past what the root in use signs, so
// the cost follows the clients that changed; when the log is crowded (or
// the root cannot be read) a new log with every client's entry is written
// beside the old one.
func (r *run) swapClients(dirSite bundle.DirSite) error {
	d, old, next := r.w.disk, r.old, r.next
	next.Gen = old.Gen
	genDir := filepath.Join(r.dirs.Gens, old.Gen)
	var changed []string
	for _, id := range r.ids {
		if old.Clients[id].Key != next.Clients[id].Key {
			changed = append(changed, id)
		}
	}
	// The new root and the log's new bytes are written first and made
	// durable by the same syncfs as the bundles; the root is renamed into
	// place after the links.
	root, err := bundle.ReadDirRoot(genDir, r.trusted())
	var rootFile []byte
	var undoLog func()
	if err == nil && !root.Crowded(len(changed)) {
		entries := make([]json.RawMessage, len(changed))
		for i, id := range changed {
			if entries[i] = next.Clients[id].dir; entries[i] == nil {
				if entries[i], err = r.directoryEntry(id); err != nil {
					return fmt.Errorf("client %s: %w", id, err)
				}
			}
		}
		var tail []byte
		if _, rootFile, tail, err = root.Append(dirSite, entries, r.key); err != nil {
			return err
		}
		logFile := filepath.Join(genDir, root.Log)
		if err := d.writeAt(logFile, root.Size, tail); err != nil {
			return err
		}
		undoLog = func() { os.Truncate(logFile, root.Size) }
	} else {
		dirClients, err := makeDirectory(r.dirs, old, next, r.ids, r.key, r.directoryEntry)
		if err != nil {
			return err
		}
		nroot, file, log, err := bundle.EncodeDirectory(dirSite, dirClients, r.key, bundle.NextDirLog(genDir))
		if err != nil {
			return err
		}
		logFile := filepath.Join(genDir, nroot.Log)
		undoLog = func() { os.Remove(logFile) }
		if err := d.writeFile(logFile, log, 0o600); err != nil {
			undoLog()
			return err
		}
		rootFile = file
	}
	nextDir := filepath.Join(genDir, bundle.DirectoryName+".next")
	if err := d.writeFile(nextDir, rootFile, 0o600); err != nil {
		undoLog()
		return err
	}
	if err := d.syncFS(r.dirs.Data); err != nil {
		undoLog()
		return err
	}
	// The links and the directory change together or not at all: a
	// failure puts back the links already swapped.
	var swapped []string
	undo := func(err error) error {
		for _, id := range swapped {
			swapLink(disk{}, filepath.Join(genDir, "site", "c", id), bundleLink(id, old.Clients[id].Key))
		}
		os.Remove(nextDir)
		undoLog()
		return err
	}
	for _, id := range changed {
		if err := swapLink(d, filepath.Join(genDir, "site", "c", id), bundleLink(id, next.Clients[id].Key)); err != nil {
			return undo(err)
		}
		swapped = append(swapped, id)
	}
	if err := d.rename(nextDir, filepath.Join(genDir, bundle.DirectoryName)); err != nil {
		return undo(err)
	}
	if err := d.syncDir(genDir); err != nil {
		return err
	}
	if root != nil {
		removeLogs(genDir, root.Log) // logs older than the one just replaced
	}
	return nil
}

// removeLogs removes a generation's directory logs older than keep (the
// log of the root just replaced: an edge may still be reading it).
func removeLogs(genDir, keep string) {
	entries, _ := os.ReadDir(genDir)
	for _, e := range entries {
		if n := e.Name(); bundle.IsDirectoryLog(n) && n != keep && bundle.LogOlder(n, keep) {
			os.Remove(filepath.Join(genDir, n))
		}
	}
}

// trusted is the key set of the build's own signing key.
func (r *run) trusted() *bundle.KeySet {
	return bundle.NewKeySet(r.key.Key.Public().(ed25519.PublicKey))
}

// newGeneration publishes a site-wide change (config, theme, key, clients
// added or removed): a new generation, switched in with one rename.
func (r *run) newGeneration(dirSite bundle.DirSite, dirClients []json.RawMessage) error {
	gen, err := writeGeneration(r.dirs, r.old, r.next, r.public, dirSite, dirClients, r.w, r.key, r.ids, r.opt.Now)
	if err != nil {
		return err
	}
	r.next.Gen = gen
	if err := r.w.disk.syncFS(r.dirs.Data); err != nil {
		return err
	}
	return swapLink(r.w.disk, r.dirs.Out, filepath.Join(filepath.Base(r.dirs.Data), "gen", gen, "site"))
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
					if _, pd, err := bundle.ReadDirectoryClients(filepath.Join(dirs.Gens, old.Gen), bundle.NewKeySet(key.Key.Public().(ed25519.PublicKey))); err == nil {
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

// writeDirectory writes a new generation's directory: its first log,
// then the root. The generation's folder is renamed into place, after a
// syncfs, once it is complete.
func writeDirectory(d disk, genDir string, site bundle.DirSite, clients []json.RawMessage, key *bundle.PrivateKey) error {
	root, rootFile, log, err := bundle.EncodeDirectory(site, clients, key, 1)
	if err != nil {
		return err
	}
	if err := d.writeFile(filepath.Join(genDir, root.Log), log, 0o600); err != nil {
		return err
	}
	return d.writeFile(filepath.Join(genDir, bundle.DirectoryName), rootFile, 0o600)
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
	entries, err := w.writeAll(tmp, public, publicBrotliMin)
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

// bundleLink is the target of c/<id> inside a generation's site folder.
func bundleLink(id, key string) string {
	return filepath.Join("..", "..", "..", "..", "bundles", id, key)
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
	var ids []string
	if removed {
		entries, err := os.ReadDir(dirs.Bundles)
		if err != nil {
			return
		}
		for _, e := range entries {
			ids = append(ids, e.Name())
		}
	} else {
		// No generation went: only the bundles of clients whose key
		// changed (or who came or went) can have become unused.
		for id, n := range next.Clients {
			if o := old.Clients[id]; o == nil || o.Key != n.Key {
				ids = append(ids, id)
			}
		}
		for id := range old.Clients {
			if next.Clients[id] == nil {
				ids = append(ids, id)
			}
		}
	}
	for _, id := range ids {
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
