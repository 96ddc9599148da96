package publish

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	Now     func() time.Time
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
	Elapsed    time.Duration
}

// Publish uploads the build that opt.Out points to. Only blobs the bucket
// does not hold are uploaded; each bundle's manifest is written after its
// blobs, each client's pointer after its manifest, and current last.
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
	have, err := listKeys(ctx, b, blobsDir)
	if err != nil {
		return nil, err
	}
	manifests, err := listKeys(ctx, b, bundlesDir)
	if err != nil {
		return nil, err
	}
	pointers, err := listKeys(ctx, b, genKey(ls.generation)+"c/")
	if err != nil {
		return nil, err
	}
	up := &uploader{b: b, rep: rep}

	// 1. Blobs.
	var jobs []blobJob
	scheduled := map[string]bool{}
	add := func(m *bundle.Manifest, dir string) {
		for _, f := range m.Files {
			k := BlobKey(m, f)
			if _, ok := have[k]; ok {
				rep.BlobsKept++
				continue
			}
			if scheduled[k] {
				continue // the same bytes twice in this build
			}
			scheduled[k] = true
			jobs = append(jobs, blobJob{key: k, file: filepath.Join(dir, filepath.FromSlash(f.Path)), attrs: blobAttrs(m, f), size: f.Size})
		}
	}
	add(ls.public.m, ls.site)
	for _, lb := range ls.bundles {
		add(lb.m, lb.dir)
	}
	if err := parallel(ctx, opt.Workers, jobs, up.blob); err != nil {
		return nil, err
	}

	// 2. Manifests (never rewritten: a key names one bundle's content).
	pub := genKey(ls.generation) + "site/"
	pubObjs, err := listKeys(ctx, b, pub)
	if err != nil {
		return nil, err
	}
	if _, ok := pubObjs[pub+bundle.SignatureName]; !ok {
		if err := up.manifest(ctx, pub, ls.public, nil); err != nil {
			return nil, err
		}
	}
	for _, lb := range ls.bundles {
		k := bundleKey(lb.client, lb.key)
		if _, ok := manifests[k+bundle.SignatureName]; ok {
			continue
		}
		if err := up.manifest(ctx, k, lb.signed, map[string]string{"client": lb.client, "bundle-key": lb.key}); err != nil {
			return nil, err
		}
	}

	// 3. Client pointers: one write switches a client.
	for _, lb := range ls.bundles {
		body, _ := json.Marshal(Pointer{Client: lb.client, Bundle: lb.key, Manifest: lb.sum()})
		pk := pointerKey(ls.generation, lb.client)
		old, exists := pointers[pk]
		if exists && old.ETag == md5hex(body) {
			continue
		}
		if exists {
			// The bundle it named is retired now (pruned after the grace period).
			if err := retire(ctx, b, up, pk, now()); err != nil {
				return nil, err
			}
		}
		if err := up.small(ctx, pk, body, Attrs{ContentType: "application/json", CacheControl: cachePointer, Meta: map[string]string{"manifest-sha256": lb.sum()}}); err != nil {
			return nil, err
		}
		rep.Switched++
	}

	// 4. The site: one write of current.
	cur, err := ReadCurrent(ctx, b)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if cur == nil || cur.Generation != ls.generation || cur.Manifest != ls.public.sum() {
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
	rep.Elapsed = now().Sub(start)
	return rep, nil
}

// retire marks the bundle that pointer pk names as no longer published.
func retire(ctx context.Context, b Bucket, up *uploader, pk string, t time.Time) error {
	data, err := b.Get(ctx, pk)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var p Pointer
	if json.Unmarshal(data, &p) != nil || !bundle.CleanPath(p.Client) || !bundle.CleanPath(p.Bundle) {
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
