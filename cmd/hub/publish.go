package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/publish"
	"github.com/hubhq/hub/generator/publish/kvs"
	"github.com/hubhq/hub/generator/publish/s3bucket"
)

// defaultGrace is how long objects no published build names are kept:
// the generator keeps old assets as long (generator.AssetGrace).
const defaultGrace = 7 * 24 * time.Hour

type publishFlags struct {
	to, endpoint     *string
	kvs, kvsEndpoint *string
	workers          *int
	all              *bool
}

// addPublishFlags defines the flags of a command that publishes.
func addPublishFlags(fs *flag.FlagSet, toName, toUsage string) publishFlags {
	p := addStoreFlags(fs, toName, toUsage)
	p.workers = fs.Int("uploads", 16, "uploads at once")
	p.all = fs.Bool("all", false, "look at every bundle's objects, not only those of clients whose pointer changed (repairs a damaged bucket)")
	return p
}

// addStoreFlags defines the flags that name a published site.
func addStoreFlags(fs *flag.FlagSet, toName, toUsage string) publishFlags {
	none, no := 0, false
	return publishFlags{
		to:          fs.String(toName, "", toUsage),
		endpoint:    fs.String("endpoint", envOr("HUB_S3_ENDPOINT", ""), "S3 API address of a server other than AWS, e.g. http://127.0.0.1:7070 (env HUB_S3_ENDPOINT)"),
		kvs:         fs.String("cdn-kvs", envOr("HUB_CDN_KVS", ""), "ARN of the CloudFront KeyValueStore hub-route.js reads: also write the bundles by path and switch each client's route (env HUB_CDN_KVS; docs/deploy.md)"),
		kvsEndpoint: fs.String("cdn-kvs-endpoint", envOr("HUB_CDN_KVS_ENDPOINT", ""), "address of the KeyValueStore API instead of AWS's (tests; env HUB_CDN_KVS_ENDPOINT)"),
		workers:     &none,
		all:         &no,
	}
}

func (p publishFlags) bucket(ctx context.Context, flagName string) (*s3bucket.Bucket, error) {
	if *p.to == "" {
		return nil, fmt.Errorf("-%s s3://BUCKET/PREFIX is required", flagName)
	}
	return s3bucket.Open(ctx, *p.to, *p.endpoint)
}

// router is the CDN's router that -cdn-kvs names, or nil.
func (p publishFlags) router(ctx context.Context) (publish.Router, error) {
	if *p.kvs == "" {
		return nil, nil
	}
	r, err := kvs.Open(ctx, *p.kvs, *p.kvsEndpoint)
	if err != nil {
		return nil, fmt.Errorf("-cdn-kvs: %w", err)
	}
	return r, nil
}

// open connects to the bucket (flagName names the flag that gave it) and
// the CDN's router, if any: once per command, so that the router reads its
// routes once for a publish and the prune after it.
func (p publishFlags) open(ctx context.Context, flagName string) (*s3bucket.Bucket, publish.Router, error) {
	b, err := p.bucket(ctx, flagName)
	if err != nil {
		return nil, nil, err
	}
	r, err := p.router(ctx)
	if err != nil {
		return nil, nil, err
	}
	return b, r, nil
}

// publishBuild uploads the build that out points to and prints what it did.
func publishBuild(ctx context.Context, p publishFlags, b publish.Bucket, r publish.Router, out, keysDir string, stdout io.Writer) error {
	keys, err := bundle.LoadKeySet(keysDir)
	if err != nil {
		return err
	}
	rep, err := publish.Publish(ctx, b, publish.Options{Out: out, Keys: keys, Workers: *p.workers, All: *p.all, Router: r})
	if err != nil {
		return fmt.Errorf("publishing %s to %s: %w", out, *p.to, err)
	}
	fmt.Fprintln(stdout, publishSummary(out, *p.to, rep, r != nil))
	return nil
}

// publishSummary is what a publish did, in one line.
func publishSummary(out, to string, rep *publish.Report, routed bool) string {
	site := "site pointer unchanged"
	if rep.NewSite {
		site = "site switched to generation " + rep.Generation
	}
	s := fmt.Sprintf("published %s to %s: %d clients (%d switched), %s; %d objects written (%s), %d files already there",
		out, to, rep.Clients, rep.Switched, site, rep.Objects, sizeString(rep.Bytes), rep.BlobsKept)
	if routed {
		s += fmt.Sprintf("; for the CDN %d files copied by path, %d routes written", rep.Copied, rep.Routed)
	}
	return s + ", in " + rep.Elapsed.Round(time.Millisecond).String()
}

func cmdPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("publish", stderr)
	out := fs.String("out", "public", "output path of hub build")
	keysDir := fs.String("keys", defaultKeys(), "keys folder (only the public keys are read: what does not verify is not published)")
	p := addPublishFlags(fs, "to", "where to publish: s3://BUCKET/PREFIX")
	prune := fs.Bool("prune", false, "after publishing, delete objects no published build names that were retired more than -grace ago")
	grace := fs.Duration("grace", defaultGrace, "how long retired bundles, generations and blobs stay for readers still on them")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *grace < 0 {
		return fmt.Errorf("-grace %s: must not be negative", *grace)
	}
	b, r, err := p.open(ctx, "to")
	if err != nil {
		return err
	}
	if err := publishBuild(ctx, p, b, r, *out, *keysDir, stdout); err != nil {
		return err
	}
	if !*prune {
		return nil
	}
	rep, err := publish.Prune(ctx, b, *grace, time.Now(), r)
	if err != nil {
		return fmt.Errorf("pruning %s: %w", *p.to, err)
	}
	fmt.Fprintf(stdout, "pruned %s: %d objects deleted (retired more than %s ago), %d blobs kept\n", *p.to, rep.Deleted, *grace, rep.Kept)
	return nil
}

// verifyPublished is hub verify -from: what is published, against the signed manifests.
func verifyPublished(ctx context.Context, p publishFlags, keys *bundle.KeySet, full bool, stdout, stderr io.Writer) error {
	b, r, err := p.open(ctx, "from")
	if err != nil {
		return err
	}
	rep, err := publish.Verify(ctx, b, keys, full)
	if err != nil {
		return fmt.Errorf("%s: %w", *p.to, err)
	}
	routes := ""
	if r != nil {
		fails, err := publish.VerifyRoutes(ctx, b, r, full)
		if err != nil {
			return fmt.Errorf("%s: checking the CDN's routes: %w", *p.to, err)
		}
		rep.Failures = append(rep.Failures, fails...)
		routes = "; every client's CDN route names its bundle, whose files by path are there"
	}
	printFailures(stderr, rep.Failures)
	if len(rep.Failures) > 0 {
		return fmt.Errorf("%s: %d problems in generation %s", *p.to, len(rep.Failures), rep.Generation)
	}
	how := "sizes"
	if full {
		how = "sizes and SHA-256 of every blob"
	}
	fmt.Fprintf(stdout, "%s: generation %s ok: %d bundles and the public files, %d files in %d blobs; signatures and %s match%s\n", *p.to, rep.Generation, rep.Bundles, rep.Files, rep.Blobs, how, routes)
	return nil
}
