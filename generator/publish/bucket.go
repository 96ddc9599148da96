// Package publish puts a built site into an object store (a Bucket) so that
// a CDN or a caching web server can serve it, switches clients and the site
// to a new build with one small write each, removes what no published build
// names any more (after a grace period), and checks what is published
// against the signed manifests.
//
// The bucket layout (keys relative to the publish prefix):
//
//	blobs/<sha256><ext>              every file once, by content; <ext> is the
//	                                 file's extension, with .gz/.br after it for
//	                                 a sidecar, so the type and encoding follow
//	                                 from the key
//	bundles/<client>/<key>/manifest.json, manifest.sig
//	                                 a bundle's signed manifest (never rewritten)
//	bundles/<client>/<key>/retired   when a pointer stopped naming it (for -prune)
//	gen/<generation>/site/manifest.json, manifest.sig
//	                                 the public files' signed manifest
//	gen/<generation>/c/<client>      pointer: the client's bundle (JSON, Pointer)
//	gen/<generation>/retired         when current stopped naming it
//	current                          pointer: the generation served (JSON, Current)
//
// Order makes every switch atomic for a reader: blobs first, then manifests,
// then client pointers, then current. A client's switch is one write of its
// pointer; a new generation's is one write of current.
package publish

import (
	"context"
	"errors"
	"io"
	"time"
)

// Bucket is the object store a site is published to. Keys are relative to
// the publish prefix (the adapter adds it).
type Bucket interface {
	// Put writes an object of size bytes from body.
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64, a Attrs) error
	// Get reads a whole (small) object; a missing one is ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Open streams an object; a missing one is ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Exists reports whether an object is there.
	Exists(ctx context.Context, key string) (bool, error)
	// List calls fn for every object whose key starts with prefix.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// Delete removes objects (missing ones are not an error).
	Delete(ctx context.Context, keys []string) error
	// Copy writes dst with src's bytes and the attributes a, inside the
	// store (no bytes pass through hub).
	Copy(ctx context.Context, src, dst string, a Attrs) error
}

// Attrs are an object's HTTP headers and metadata.
type Attrs struct {
	ContentType     string
	ContentEncoding string
	CacheControl    string
	// ContentDisposition is "attachment" for a document a browser should
	// download (set on the files written by path, for a CDN).
	ContentDisposition string
	SHA256             string            // hex; the store checks the bytes against it when it can
	Meta               map[string]string // x-amz-meta-*
}

// Object is an entry of a listing.
type Object struct {
	Key      string
	Size     int64
	ETag     string // without quotes
	Modified time.Time
}

// ErrNotFound is a missing object.
var ErrNotFound = errors.New("object not found")
