package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/publish"
	"github.com/hubhq/hub/generator/publish/s3bucket"
)

// defaultGrace is how long objects no published build names are kept:
// the generator keeps old assets as long (generator.AssetGrace).
const defaultGrace = 7 * 24 * time.Hour

type publishFlags struct {
	to, endpoint *string
	workers      *int
	all          *bool
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
		to:       fs.String(toName, "", toUsage),
		endpoint: fs.String("endpoint", envOr("HUB_S3_ENDPOINT", ""), "S3 API address of a server other than AWS, e.g. http://127.0.0.1:7070 (env HUB_S3_ENDPOINT)"),
		workers:  &none,
		all:      &no,
	}
}

func (p publishFlags) bucket(ctx context.Context, flagName string) (*s3bucket.Bucket, error) {
	if *p.to == "" {
		return nil, fmt.Errorf("-%s s3://BUCKET/PREFIX is required", flagName)
	}
	return s3bucket.Open(ctx, *p.to, *p.endpoint)
}

// publishBuild uploads the build that out points to and prints what it did.
func publishBuild(ctx context.Context, p publishFlags, out, keysDir string, stdout io.Writer) error {
	b, err := p.bucket(ctx, "to")
	if err != nil {
		return err
	}
	keys, err := bundle.LoadKeySet(keysDir)
	if err != nil {
		return err
	}
	rep, err := publish.Publish(ctx, b, publish.Options{Out: out, Keys: keys, Workers: *p.workers, All: *p.all})
	if err != nil {
		return fmt.Errorf("publishing %s to %s: %w", out, *p.to, err)
	}
	site := "site pointer unchanged"
	if rep.NewSite {
		site = "site switched to generation " + rep.Generation
	}
	fmt.Fprintf(stdout, "published %s to %s: %d clients (%d switched), %s; %d objects written (%s), %d files already there, in %s\n",
		out, *p.to, rep.Clients, rep.Switched, site, rep.Objects, sizeString(rep.Bytes), rep.BlobsKept, rep.Elapsed.Round(time.Millisecond))
	return nil
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
	if err := publishBuild(ctx, p, *out, *keysDir, stdout); err != nil {
		return err
	}
	if !*prune {
		return nil
	}
	b, err := p.bucket(ctx, "to")
	if err != nil {
		return err
	}
	rep, err := publish.Prune(ctx, b, *grace, time.Now())
	if err != nil {
		return fmt.Errorf("pruning %s: %w", *p.to, err)
	}
	fmt.Fprintf(stdout, "pruned %s: %d objects deleted (retired more than %s ago), %d blobs kept\n", *p.to, rep.Deleted, *grace, rep.Kept)
	return nil
}

// verifyPublished is hub verify -from: what is published, against the signed manifests.
func verifyPublished(ctx context.Context, p publishFlags, keys *bundle.KeySet, full bool, stdout, stderr io.Writer) error {
	b, err := p.bucket(ctx, "from")
	if err != nil {
		return err
	}
	rep, err := publish.Verify(ctx, b, keys, full)
	if err != nil {
		return fmt.Errorf("%s: %w", *p.to, err)
	}
	printFailures(stderr, rep.Failures)
	if len(rep.Failures) > 0 {
		return fmt.Errorf("%s: %d problems in generation %s", *p.to, len(rep.Failures), rep.Generation)
	}
	how := "sizes"
	if full {
		how = "sizes and SHA-256 of every blob"
	}
	fmt.Fprintf(stdout, "%s: generation %s ok: %d bundles and the public files, %d files in %d blobs; signatures and %s match\n", *p.to, rep.Generation, rep.Bundles, rep.Files, rep.Blobs, how)
	return nil
}
