package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hubhq/hub/generator/bundle"
)

// parallel runs fn for every item with n at once; the first error stops
// the rest and is returned.
func parallel[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	if n <= 0 {
		n = 16
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ch := make(chan T)
	var wg sync.WaitGroup
	for range min(n, max(len(items), 1)) {
		wg.Go(func() {
			for it := range ch {
				if err := fn(ctx, it); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, it := range items {
		select {
		case ch <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	return context.Cause(ctx)
}

// remoteBundle is a client's published bundle, as its pointer names it.
type remoteBundle struct {
	pointer Pointer
	signed
}

// readPointers reads every client pointer of a generation and, with keys,
// the manifests they name (signatures checked). Problems with one client
// go to fail; errors of the store stop it.
func readPointers(ctx context.Context, b Bucket, gen string, keys *bundle.KeySet, fail func(error)) ([]remoteBundle, error) {
	objs, err := listKeys(ctx, b, genKey(gen)+"c/")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(objs))
	for k := range objs {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]remoteBundle, len(names))
	idx := make(map[string]int, len(names))
	for i, k := range names {
		idx[k] = i
	}
	var mu sync.Mutex
	err = parallel(ctx, 16, names, func(ctx context.Context, k string) error {
		rb, err := readBundle(ctx, b, k, keys)
		if errors.Is(err, errBadContent) {
			mu.Lock()
			fail(err)
			mu.Unlock()
			return nil
		}
		if err != nil {
			return err
		}
		out[idx[k]] = *rb
		return nil
	})
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, rb := range out {
		if rb.m != nil {
			kept = append(kept, rb)
		}
	}
	return kept, nil
}

var errBadContent = errors.New("published content is wrong")

type contentError struct {
	key string
	err error
}

func (e *contentError) Error() string   { return e.key + ": " + e.err.Error() }
func (e *contentError) Is(t error) bool { return t == errBadContent }
func (e *contentError) Unwrap() error   { return e.err }

func readBundle(ctx context.Context, b Bucket, pk string, keys *bundle.KeySet) (*remoteBundle, error) {
	bad := func(key string, err error) error { return &contentError{key, err} }
	data, err := b.Get(ctx, pk)
	if err != nil {
		return nil, err
	}
	var p Pointer
	client := pk[strings.LastIndexByte(pk, '/')+1:]
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, bad(pk, fmt.Errorf("not a pointer: %w", err))
	}
	if p.Client != client || !bundle.CleanPath(p.Bundle) || strings.Contains(p.Bundle, "/") {
		return nil, bad(pk, fmt.Errorf("pointer names client %q, bundle %q", p.Client, p.Bundle))
	}
	s, err := readRemoteSigned(ctx, b, bundleKey(p.Client, p.Bundle), keys, client)
	if err != nil {
		return nil, err
	}
	if s.sum() != p.Manifest {
		return nil, bad(pk, errors.New("the manifest's SHA-256 is not the one the pointer names"))
	}
	return &remoteBundle{pointer: p, signed: s}, nil
}

// readRemoteSigned reads a manifest and its signature under prefix; with
// keys nil the signature is not checked (prune only needs the file list).
func readRemoteSigned(ctx context.Context, b Bucket, prefix string, keys *bundle.KeySet, client string) (signed, error) {
	data, err := b.Get(ctx, prefix+bundle.ManifestName)
	if errors.Is(err, ErrNotFound) {
		return signed{}, &contentError{prefix, errors.New("manifest missing")}
	}
	if err != nil {
		return signed{}, err
	}
	sig, err := b.Get(ctx, prefix+bundle.SignatureName)
	if errors.Is(err, ErrNotFound) {
		return signed{}, &contentError{prefix, errors.New("manifest signature missing")}
	}
	if err != nil {
		return signed{}, err
	}
	if keys == nil {
		var m bundle.Manifest
		if err := json.Unmarshal(data, &m); err != nil {
			return signed{}, &contentError{prefix, err}
		}
		return signed{m: &m, json: data, sig: sig}, nil
	}
	s, err := parseSigned(data, sig, keys, client)
	if err != nil {
		return signed{}, &contentError{prefix, err}
	}
	return s, nil
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Generation string
	Bundles    int
	Files      int
	Blobs      int // distinct blobs checked
	Failures   []error
}

// Verify checks what is published: current names a generation whose
// public manifest and every client's bundle manifest verify against keys,
// each pointer names its manifest's hash, and every file's blob is there
// with its size. With full, every blob is read and its SHA-256 checked.
func Verify(ctx context.Context, b Bucket, keys *bundle.KeySet, full bool) (*VerifyReport, error) {
	cur, err := ReadCurrent(ctx, b)
	if errors.Is(err, ErrNotFound) {
		return nil, errors.New("nothing is published here (no current pointer); run hub publish first")
	}
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Generation: cur.Generation}
	fail := func(err error) { rep.Failures = append(rep.Failures, err) }
	blobs, err := listKeys(ctx, b, blobsDir)
	if err != nil {
		return nil, err
	}
	want := map[string]int64{}
	check := func(name string, m *bundle.Manifest) {
		for _, f := range m.Files {
			k := BlobKey(m, f)
			o, ok := blobs[k]
			switch {
			case !ok:
				fail(fmt.Errorf("%s: %s: blob %s missing", name, f.Path, k))
			case o.Size != f.Size:
				fail(fmt.Errorf("%s: %s: blob %s has %d bytes, the manifest says %d", name, f.Path, k, o.Size, f.Size))
			default:
				want[k] = f.Size
			}
			rep.Files++
		}
	}
	pub, err := readRemoteSigned(ctx, b, genKey(cur.Generation)+"site/", keys, "")
	switch {
	case errors.Is(err, errBadContent):
		fail(err)
	case err != nil:
		return nil, err
	case pub.sum() != cur.Manifest:
		fail(fmt.Errorf("%s: names public manifest %s…, the generation's is %s…", CurrentKey, cur.Manifest[:min(12, len(cur.Manifest))], pub.sum()[:12]))
	default:
		check("public files", pub.m)
	}
	rbs, err := readPointers(ctx, b, cur.Generation, keys, fail)
	if err != nil {
		return nil, err
	}
	for _, rb := range rbs {
		rep.Bundles++
		check("c/"+rb.pointer.Client, rb.m)
	}
	rep.Blobs = len(want)
	if full {
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var mu sync.Mutex
		err := parallel(ctx, 16, keys, func(ctx context.Context, k string) error {
			if msg, err := hashBlob(ctx, b, k); err != nil {
				return err
			} else if msg != "" {
				mu.Lock()
				fail(fmt.Errorf("%s: %s", k, msg))
				mu.Unlock()
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(rep.Failures, func(i, j int) bool { return rep.Failures[i].Error() < rep.Failures[j].Error() })
	return rep, nil
}

// hashBlob reads a blob and says what is wrong with it ("" when nothing).
func hashBlob(ctx context.Context, b Bucket, k string) (string, error) {
	rc, err := b.Open(ctx, k)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		// The store may check its own checksum while streaming (S3 does):
		// a blob that cannot be read whole is a failure of that blob.
		return "could not be read whole: " + err.Error(), nil
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.HasPrefix(strings.TrimPrefix(k, blobsDir), got) {
		return "content does not match the SHA-256 its key names", nil
	}
	return "", nil
}

// PruneReport says what Prune did.
type PruneReport struct {
	Deleted, Kept int
}

// Prune removes what no published build names: generations other than the
// current one that were retired more than grace ago, bundles no kept
// generation's pointers name that were retired (or, never named, written)
// more than grace ago, and blobs no kept manifest lists that are older
// than grace. A reader that loaded a pointer less than grace ago finds
// everything it names. With a Router (a CDN's routes), the bundles its
// routes name are kept too, and a removed bundle's files by path go with it,
// as do assets by name that no kept generation lists.
func Prune(ctx context.Context, b Bucket, grace time.Duration, now time.Time, r Router) (*PruneReport, error) {
	cur, err := ReadCurrent(ctx, b)
	if errors.Is(err, ErrNotFound) {
		return nil, errors.New("nothing is published here (no current pointer); refusing to prune")
	}
	if err != nil {
		return nil, err
	}
	young := func(t time.Time) bool { return now.Sub(t) < grace }
	gens, err := groups(ctx, b, gensDir, 1)
	if err != nil {
		return nil, err
	}
	bundles, err := groups(ctx, b, bundlesDir, 2)
	if err != nil {
		return nil, err
	}
	rep := &PruneReport{}
	var doomed []string
	keepBundles := map[string]bool{}
	if r != nil {
		routes, err := r.Routes(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the CDN's routes: %w", err)
		}
		for c, k := range routes {
			keepBundles[c+"/"+k] = true
		}
	}
	var manifests []string // prefixes whose manifests name kept blobs
	for name, g := range gens {
		if name != cur.Generation && !g.keep(young) {
			doomed = append(doomed, g.keys...)
			continue
		}
		manifests = append(manifests, genKey(name)+"site/")
		rbs, err := readPointers(ctx, b, name, nil, func(error) {})
		if err != nil {
			return nil, err
		}
		for _, rb := range rbs {
			keepBundles[rb.pointer.Client+"/"+rb.pointer.Bundle] = true
		}
	}
	kept := map[string]bool{}
	for name, g := range bundles {
		if !keepBundles[name] && !g.keep(young) {
			doomed = append(doomed, g.keys...)
			continue
		}
		kept[name] = true
		manifests = append(manifests, bundlesDir+name+"/")
	}
	paths, err := groups(ctx, b, pathsDir, 2)
	if err != nil {
		return nil, err
	}
	for name, g := range paths {
		if !kept[name] && !g.keep(young) {
			doomed = append(doomed, g.keys...)
		}
	}
	named := map[string]bool{}
	assets := map[string]bool{} // assets/<name> that a kept generation lists
	var mu sync.Mutex
	err = parallel(ctx, 16, manifests, func(ctx context.Context, prefix string) error {
		s, err := readRemoteSigned(ctx, b, prefix, nil, "")
		if errors.Is(err, errBadContent) {
			return nil // an incomplete bundle names nothing
		}
		if err != nil {
			return err
		}
		mu.Lock()
		for _, f := range s.m.Files {
			named[BlobKey(s.m, f)] = true
			if s.m.Client == "" {
				assets[f.Path] = true
			}
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = b.List(ctx, blobsDir, func(o Object) error {
		if named[o.Key] || young(o.Modified) {
			rep.Kept++
		} else {
			doomed = append(doomed, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = b.List(ctx, assetsDir, func(o Object) error {
		if !assets[o.Key] && !young(o.Modified) {
			doomed = append(doomed, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := b.Delete(ctx, doomed); err != nil {
		return nil, err
	}
	rep.Deleted = len(doomed)
	return rep, nil
}

// group is the objects under one generation or bundle folder.
type group struct {
	keys    []string
	newest  time.Time
	retired time.Time // zero: never retired
}

// keep: retired less than grace ago, or never retired and written less than grace ago.
func (g *group) keep(young func(time.Time) bool) bool {
	if !g.retired.IsZero() {
		return young(g.retired)
	}
	return young(g.newest)
}

// groups lists prefix and groups its objects by their first depth path
// segments after it (gen/<g>/…: 1; bundles/<client>/<key>/…: 2).
func groups(ctx context.Context, b Bucket, prefix string, depth int) (map[string]*group, error) {
	out := map[string]*group{}
	err := b.List(ctx, prefix, func(o Object) error {
		segs := strings.SplitN(strings.TrimPrefix(o.Key, prefix), "/", depth+1)
		if len(segs) <= depth {
			return nil // not one of ours
		}
		name := strings.Join(segs[:depth], "/")
		g := out[name]
		if g == nil {
			g = &group{}
			out[name] = g
		}
		g.keys = append(g.keys, o.Key)
		if o.Modified.After(g.newest) {
			g.newest = o.Modified
		}
		if segs[depth] == retiredName {
			g.retired = o.Modified
		}
		return nil
	})
	return out, err
}
