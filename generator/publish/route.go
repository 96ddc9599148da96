package publish

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/hubhq/hub/generator/bundle"
)

// A CDN that maps a URL straight to an object key (CloudFront) cannot follow
// the content-addressed layout: nginx asks the edge for a file's blob, a CDN
// cannot. For it, Publish also writes each served bundle's files by path:
//
//	paths/<client>/<key>/<path>     a copy of the file's blob (sidecars left out:
//	                                the CDN compresses), written once per bundle
//	                                and never rewritten
//	bundles/<client>/<key>/paths    written when all of them are there
//	assets/<name>                   the public fingerprinted assets, by name
//
// and then points the CDN's router (a CloudFront KeyValueStore read by
// deploy/cloudfront/hub-route.js) at them: one key per client whose value is
// the bundle's key. The function rewrites /c/<client>/<path> to
// /paths/<client>/<key>/<path>, so a client switches to a new bundle with one
// write of its key, and a reader sees the old bundle or the new one, never a
// mix. The same order as the pointers: the files, then the marker, then the
// route.
const (
	pathsDir   = "paths/"
	assetsDir  = "assets/"
	pathsName  = "paths"
	maxRouteID = 512 // a KeyValueStore key's limit in bytes
)

// Router is a CDN's map from each client to the bundle it serves.
type Router interface {
	// Routes returns every client's bundle key.
	Routes(ctx context.Context) (map[string]string, error)
	// Update sets the routes in puts and removes those of deletes.
	Update(ctx context.Context, puts map[string]string, deletes []string) error
}

// PathsKey is where a bundle's file is written by path.
func PathsKey(client, key, p string) string { return pathsDir + client + "/" + key + "/" + p }

// inlineTypes are the extensions a browser shows rather than downloads (as
// deploy/nginx/hub.conf's $hub_disposition): the rest, PDFs and zips and
// portal documents, are sent as attachments.
var inlineTypes = map[string]bool{
	".html": true, ".css": true, ".js": true, ".svg": true, ".png": true, ".jpg": true, ".jpeg": true,
	".gif": true, ".webp": true, ".heic": true, ".ico": true, ".woff": true, ".woff2": true,
	".txt": true, ".md": true, ".csv": true,
}

// pathAttrs are the headers of a file written by path: its blob's, without
// an encoding, and documents as downloads.
func pathAttrs(m *bundle.Manifest, f bundle.File) Attrs {
	a := blobAttrs(m, f)
	a.ContentEncoding = ""
	if !inlineTypes[strings.ToLower(path.Ext(f.Path))] {
		a.ContentDisposition = "attachment"
	}
	return a
}

// pathJob is one file to copy from its blob to its path.
type pathJob struct {
	src, dst string
	size     int64
	attrs    Attrs
}

// pathFiles lists a manifest's files to write by path under prefix: every
// file but the sidecars.
func pathFiles(m *bundle.Manifest, prefix string) []pathJob {
	var jobs []pathJob
	for _, f := range m.Files {
		if _, enc := m.SplitSidecar(f.Path); enc != "" {
			continue
		}
		jobs = append(jobs, pathJob{src: BlobKey(m, f), dst: prefix + f.Path, size: f.Size, attrs: pathAttrs(m, f)})
	}
	return jobs
}

// route writes the by-path copies of every bundle whose route is not yet
// its key, and of the public assets when the site changed, then updates the
// routes: the changed ones, and removing those of clients no longer built.
// The site's assets are written once per generation (they are named by their
// fingerprint, so writing one again writes the same bytes).
// With all, every bundle's marker is looked at (hub publish -all repairs).
func route(ctx context.Context, b Bucket, r Router, ls *localSite, up *uploader, all bool, workers int) error {
	routes, err := r.Routes(ctx)
	if err != nil {
		return fmt.Errorf("reading the CDN's routes: %w", err)
	}
	var jobs []pathJob
	var markers []string
	siteMarker := genKey(ls.generation) + "site/" + pathsName
	done, err := b.Exists(ctx, siteMarker)
	if err != nil {
		return fmt.Errorf("looking for %s: %w", siteMarker, err)
	}
	if !done || all {
		for _, j := range pathFiles(ls.public.m, "") {
			if strings.HasPrefix(j.dst, assetsDir) {
				jobs = append(jobs, j)
			}
		}
		markers = append(markers, siteMarker)
	}
	puts := map[string]string{}
	var routed []localBundle
	for _, lb := range ls.bundles {
		same := routes[lb.client] == lb.key
		if same && !all {
			continue
		}
		if len(lb.client) > maxRouteID {
			return fmt.Errorf("client %s: an ID longer than %d bytes cannot be a route", lb.client, maxRouteID)
		}
		if !same {
			puts[lb.client] = lb.key
		}
		routed = append(routed, lb)
	}
	has, err := lookup(ctx, b, len(routed), bundlesDir)
	if err != nil {
		return err
	}
	for _, lb := range routed {
		marker := bundleKey(lb.client, lb.key) + pathsName
		done, err := has(ctx, marker)
		if err != nil {
			return fmt.Errorf("looking for %s: %w", marker, err)
		}
		if !done || all {
			jobs = append(jobs, pathFiles(lb.m, PathsKey(lb.client, lb.key, ""))...)
			markers = append(markers, marker)
		}
	}
	err = parallel(ctx, workers, jobs, func(ctx context.Context, j pathJob) error {
		if err := b.Copy(ctx, j.src, j.dst, j.attrs); err != nil {
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("copying %s to %s: the blob is missing (hub publish -all uploads it again): %w", j.src, j.dst, err)
			}
			return fmt.Errorf("copying %s to %s: %w", j.src, j.dst, err)
		}
		up.copied()
		return nil
	})
	if err != nil {
		return err
	}
	err = parallel(ctx, workers, markers, func(ctx context.Context, k string) error {
		return up.small(ctx, k, stamp(up.now()), Attrs{ContentType: "text/plain", CacheControl: cachePointer})
	})
	if err != nil {
		return err
	}
	built := make(map[string]bool, len(ls.bundles))
	for _, lb := range ls.bundles {
		built[lb.client] = true
	}
	var deletes []string
	for c := range routes {
		if !built[c] {
			deletes = append(deletes, c)
		}
	}
	if len(puts) == 0 && len(deletes) == 0 {
		return nil
	}
	if err := r.Update(ctx, puts, deletes); err != nil {
		return fmt.Errorf("updating the CDN's routes: %w", err)
	}
	up.rep.Routed += len(puts) + len(deletes)
	return nil
}

// VerifyRoutes checks a CDN's routes against what is published: every
// client of the current generation is routed to the bundle its pointer
// names, whose files by path are complete (its marker is there), and no
// other client has a route. With full, each routed bundle's files by path
// are listed and their sizes compared with its manifest. It returns one
// error per problem; a failure to read stops it.
func VerifyRoutes(ctx context.Context, b Bucket, r Router, full bool) ([]error, error) {
	cur, err := ReadCurrent(ctx, b)
	if err != nil {
		return nil, err
	}
	routes, err := r.Routes(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the CDN's routes: %w", err)
	}
	var fails []error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		fails = append(fails, err)
		mu.Unlock()
	}
	rbs, err := readPointers(ctx, b, cur.Generation, nil, fail)
	if err != nil {
		return nil, err
	}
	named := map[string]bool{}
	var routed []remoteBundle
	for _, rb := range rbs {
		c := rb.pointer.Client
		named[c] = true
		switch got := routes[c]; got {
		case rb.pointer.Bundle:
			routed = append(routed, rb)
		case "":
			fail(fmt.Errorf("route %s: missing (the pointer names bundle %s)", c, rb.pointer.Bundle))
		default:
			fail(fmt.Errorf("route %s: names bundle %s, the pointer names %s", c, got, rb.pointer.Bundle))
		}
	}
	for c := range routes {
		if !named[c] {
			fail(fmt.Errorf("route %s: the current generation has no such client", c))
		}
	}
	err = parallel(ctx, 16, routed, func(ctx context.Context, rb remoteBundle) error {
		c, k := rb.pointer.Client, rb.pointer.Bundle
		if ok, err := b.Exists(ctx, bundleKey(c, k)+pathsName); err != nil {
			return err
		} else if !ok {
			fail(fmt.Errorf("route %s: bundle %s's files by path are not complete (no %s marker)", c, k, pathsName))
			return nil
		}
		if !full {
			return nil
		}
		objs, err := listKeys(ctx, b, PathsKey(c, k, ""))
		if err != nil {
			return err
		}
		for _, j := range pathFiles(rb.m, PathsKey(c, k, "")) {
			switch o, ok := objs[j.dst]; {
			case !ok:
				fail(fmt.Errorf("route %s: %s missing", c, j.dst))
			case o.Size != j.size:
				fail(fmt.Errorf("route %s: %s has %d bytes, the manifest says %d", c, j.dst, o.Size, j.size))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(fails, func(i, j int) bool { return fails[i].Error() < fails[j].Error() })
	return fails, nil
}
