package publish

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hubhq/hub/generator/bundle"
)

// Keys of the layout (see the package comment).
const (
	CurrentKey  = "current"
	blobsDir    = "blobs/"
	bundlesDir  = "bundles/"
	gensDir     = "gen/"
	retiredName = "retired"
)

// Cache-Control of published objects. Blobs never change (their key is their
// hash), but what a viewer may cache depends on what the file is.
const (
	CacheImmutable = "public, max-age=31536000, immutable" // fingerprinted assets
	CachePublic    = "public, no-cache"                    // public pages: revalidate
	CachePrivate   = "private, no-cache"                   // a client's files: no shared cache
	cachePointer   = "no-store"
)

// Current is the body of the current pointer.
type Current struct {
	Generation string    `json:"generation"`
	Manifest   string    `json:"manifest"` // SHA-256 of the public manifest.json
	Published  time.Time `json:"published"`
}

// Pointer is the body of gen/<generation>/c/<client>.
type Pointer struct {
	Client   string `json:"client"`
	Bundle   string `json:"bundle"`   // the bundle's key: bundles/<client>/<bundle>/
	Manifest string `json:"manifest"` // SHA-256 of its manifest.json
}

// BlobKey is where a file of a manifest is stored (bundle.Manifest.BlobName).
func BlobKey(m *bundle.Manifest, f bundle.File) string { return blobsDir + m.BlobName(f) }

// blobAttrs are the headers of a file's blob.
func blobAttrs(m *bundle.Manifest, f bundle.File) Attrs {
	base, enc := m.SplitSidecar(f.Path)
	a := Attrs{ContentType: contentType(base), SHA256: f.SHA256, Meta: map[string]string{"sha256": f.SHA256}}
	switch enc {
	case ".gz":
		a.ContentEncoding = "gzip"
	case ".br":
		a.ContentEncoding = "br"
	}
	switch {
	case m.Client != "":
		a.CacheControl = CachePrivate
	case strings.HasPrefix(f.Path, "assets/"):
		a.CacheControl = CacheImmutable
	default:
		a.CacheControl = CachePublic
	}
	return a
}

func contentType(p string) string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func bundleKey(client, key string) string  { return bundlesDir + client + "/" + key + "/" }
func genKey(gen string) string             { return gensDir + gen + "/" }
func pointerKey(gen, client string) string { return genKey(gen) + "c/" + client }

// Options for Publish.
type Options struct {
	Out     string         // the local output (hub build -out)
	Keys    *bundle.KeySet // trusted keys: only a build that verifies is published
	Workers int            // uploads at once (default 16)
	// All looks at every bundle, not only those whose pointer changed, so
	// that a blob or manifest missing from the bucket is uploaded again.
	All bool
	// Router, when set, is a CDN's map from clients to bundles (a CloudFront
	// KeyValueStore): the bundles are also written by path and the routes
	// switched after the pointers (route.go).
	Router Router
	Now    func() time.Time
}

// Report says what Publish did.
type Report struct {
	Generation string
	Clients    int
	Switched   int   // client pointers written
	NewSite    bool  // current was written (a new generation)
	Objects    int   // objects written, pointers included
	Bytes      int64 // bytes written
	BlobsKept  int   // files already in the bucket
	Copied     int   // files copied inside the bucket to their path (with a Router)
	Routed     int   // routes written or removed (with a Router)
	Elapsed    time.Duration
}

// probeLimit is how many bundles to upload at most before listing the
// bucket's blobs is cheaper than asking for each of theirs.
const probeLimit = 50

// lookup returns how to ask whether an object under one of prefixes is
// there, for work on n bundles: a request per key for up to probeLimit,
// else each prefix listed once.
func lookup(ctx context.Context, b Bucket, n int, prefixes ...string) (func(context.Context, string) (bool, error), error) {
	if n <= probeLimit {
		return b.Exists, nil
	}
	keys := map[string]Object{}
	for _, p := range prefixes {
		objs, err := listKeys(ctx, b, p)
		if err != nil {
			return nil, err
		}
		maps.Copy(keys, objs)
	}
	return func(_ context.Context, k string) (bool, error) {
		_, ok := keys[k]
		return ok, nil
	}, nil
}

// Publish uploads the build that opt.Out points to. Only bundles whose
// pointer changed (all of them, with opt.All) are looked at, and only the
// blobs the bucket does not hold are uploaded: for a few bundles each blob
// is asked for, for more the bucket's blobs are listed once. Each bundle's
// manifest is written after its blobs, each client's pointer after its
// manifest, and current last.
func Publish(ctx context.Context, b Bucket, opt Options) (*Report, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	start := now()
	ls, err := readLocal(opt.Out, opt.Keys)
	if err != nil {
		return nil, err
	}
	rep := &Report{Generation: ls.generation, Clients: len(ls.bundles)}
	pointers, err := listKeys(ctx, b, genKey(ls.generation)+"c/")
	if err != nil {
		return nil, err
	}
	cur, err := ReadCurrent(ctx, b)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	newSite := cur == nil || cur.Generation != ls.generation || cur.Manifest != ls.public.sum()
	type change struct {
		localBundle
		pointer []byte
		same    bool // the pointer is there as it should be (looked at only with All)
		old     bool // a pointer is there, naming another bundle
	}
	var changed []change
	for _, lb := range ls.bundles {
		body, _ := json.Marshal(Pointer{Client: lb.client, Bundle: lb.key, Manifest: lb.sum()})
		old, exists := pointers[pointerKey(ls.generation, lb.client)]
		same := exists && old.ETag == md5hex(body)
		if same && !opt.All {
			continue
		}
		changed = append(changed, change{lb, body, same, exists && !same})
	}
	up := &uploader{b: b, rep: rep, now: now}
	n := len(changed)
	if opt.All {
		n = probeLimit + 1
	}
	has, err := lookup(ctx, b, n, blobsDir, bundlesDir)
	if err != nil {
		return nil, err
	}

	// 1. Blobs.
	var jobs []blobJob
	scheduled := map[string]bool{}
	add := func(m *bundle.Manifest, dir string) {
		for _, f := range m.Files {
			k := BlobKey(m, f)
			if scheduled[k] {
				continue // the same bytes twice in this build
			}
			scheduled[k] = true
			jobs = append(jobs, blobJob{key: k, file: filepath.Join(dir, filepath.FromSlash(f.Path)), attrs: blobAttrs(m, f), size: f.Size})
		}
	}
	if newSite || opt.All {
		add(ls.public.m, ls.site)
	}
	for _, c := range changed {
		add(c.m, c.dir)
	}
	err = parallel(ctx, opt.Workers, jobs, func(ctx context.Context, j blobJob) error {
		there, err := has(ctx, j.key)
		if err != nil {
			return fmt.Errorf("looking for %s: %w", j.key, err)
		}
		if there {
			up.kept()
			return nil
		}
		return up.blob(ctx, j)
	})
	if err != nil {
		return nil, err
	}

	// 2. Manifests (never rewritten: a key names one bundle's content).
	pub := genKey(ls.generation) + "site/"
	if newSite || opt.All {
		there, err := b.Exists(ctx, pub+bundle.SignatureName)
		if err != nil {
			return nil, err
		}
		if !there {
			if err := up.manifest(ctx, pub, ls.public, nil); err != nil {
				return nil, err
			}
		}
	}
	err = parallel(ctx, opt.Workers, changed, func(ctx context.Context, c change) error {
		k := bundleKey(c.client, c.key)
		if there, err := has(ctx, k+bundle.SignatureName); err != nil || there {
			return err
		}
		return up.manifest(ctx, k, c.signed, map[string]string{"client": c.client, "bundle-key": c.key})
	})
	if err != nil {
		return nil, err
	}

	// 3. Client pointers: one write switches a client.
	for _, c := range changed {
		if c.same {
			continue
		}
		pk := pointerKey(ls.generation, c.client)
		if c.old {
			// The bundle it named is retired now (pruned after the grace period).
			if err := retire(ctx, b, up, pk, c.key, now()); err != nil {
				return nil, err
			}
		}
		if err := up.small(ctx, pk, c.pointer, Attrs{ContentType: "application/json", CacheControl: cachePointer, Meta: map[string]string{"manifest-sha256": c.sum()}}); err != nil {
			return nil, err
		}
		rep.Switched++
	}

	// 4. The site: one write of current.
	if newSite {
		body, _ := json.Marshal(Current{Generation: ls.generation, Manifest: ls.public.sum(), Published: now().UTC()})
		if err := up.small(ctx, CurrentKey, body, Attrs{ContentType: "application/json", CacheControl: cachePointer, Meta: map[string]string{"manifest-sha256": ls.public.sum()}}); err != nil {
			return nil, err
		}
		if cur != nil && cur.Generation != ls.generation {
			if err := up.small(ctx, genKey(cur.Generation)+retiredName, stamp(now()), Attrs{ContentType: "text/plain", CacheControl: cachePointer}); err != nil {
				return nil, err
			}
		}
		rep.NewSite = true
	}

	// 5. The CDN's routes, when it has them.
	if opt.Router != nil {
		if err := route(ctx, b, opt.Router, ls, up, opt.All, opt.Workers); err != nil {
			return nil, err
		}
	}
	rep.Elapsed = now().Sub(start)
	return rep, nil
}

// retire marks the bundle that pointer pk names as no longer published
// (unless it is key: with Options.All a pointer may be written again).
func retire(ctx context.Context, b Bucket, up *uploader, pk, key string, t time.Time) error {
	data, err := b.Get(ctx, pk)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var p Pointer
	if json.Unmarshal(data, &p) != nil || !bundle.CleanPath(p.Client) || !bundle.CleanPath(p.Bundle) || p.Bundle == key {
		return nil // a damaged pointer names nothing; it is overwritten next
	}
	return up.small(ctx, bundleKey(p.Client, p.Bundle)+retiredName, stamp(t), Attrs{ContentType: "text/plain", CacheControl: cachePointer})
}

func stamp(t time.Time) []byte { return []byte(t.UTC().Format(time.RFC3339) + "\n") }

// ReadCurrent reads the current pointer.
func ReadCurrent(ctx context.Context, b Bucket) (*Current, error) {
	data, err := b.Get(ctx, CurrentKey)
	if err != nil {
		return nil, err
	}
	var c Current
	if err := json.Unmarshal(data, &c); err != nil || !bundle.CleanPath(c.Generation) {
		return nil, fmt.Errorf("%s: not a hub pointer (%v)", CurrentKey, err)
	}
	return &c, nil
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func listKeys(ctx context.Context, b Bucket, prefix string) (map[string]Object, error) {
	m := map[string]Object{}
	err := b.List(ctx, prefix, func(o Object) error { m[o.Key] = o; return nil })
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	return m, nil
}

type blobJob struct {
	key, file string
	size      int64
	attrs     Attrs
}

// uploader writes objects and counts them.
type uploader struct {
	b   Bucket
	mu  sync.Mutex
	rep *Report
	now func() time.Time
}

func (u *uploader) copied() {
	u.mu.Lock()
	u.rep.Copied++
	u.mu.Unlock()
}

func (u *uploader) kept() {
	u.mu.Lock()
	u.rep.BlobsKept++
	u.mu.Unlock()
}

func (u *uploader) count(n int64) {
	u.mu.Lock()
	u.rep.Objects++
	u.rep.Bytes += n
	u.mu.Unlock()
}

func (u *uploader) small(ctx context.Context, key string, body []byte, a Attrs) error {
	if a.SHA256 == "" {
		a.SHA256 = bundle.Sum(body)
	}
	if err := u.b.Put(ctx, key, bytes.NewReader(body), int64(len(body)), a); err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	u.count(int64(len(body)))
	return nil
}

func (u *uploader) manifest(ctx context.Context, prefix string, s signed, meta map[string]string) error {
	// The signature last: its presence says the bundle is complete.
	a := Attrs{ContentType: "application/json", CacheControl: CacheImmutable, Meta: map[string]string{"manifest-sha256": s.sum()}}
	for k, v := range meta {
		a.Meta[k] = v
	}
	if err := u.small(ctx, prefix+bundle.ManifestName, s.json, a); err != nil {
		return err
	}
	a.ContentType = "text/plain"
	return u.small(ctx, prefix+bundle.SignatureName, s.sig, a)
}

func (u *uploader) blob(ctx context.Context, j blobJob) error {
	f, err := os.Open(j.file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := u.b.Put(ctx, j.key, f, j.size, j.attrs); err != nil {
		return fmt.Errorf("uploading %s as %s: %w", j.file, j.key, err)
	}
	u.count(j.size)
	return nil
}
