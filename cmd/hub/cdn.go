package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/publish"
)

// cdnFlags are hub edge's flags for a CDN in front of it.
type cdnFlags struct {
	cdn, keyID, key, url, domain *string
	ttl                          *time.Duration
	publish                      publishFlags
}

func addCDNFlags(fs *flag.FlagSet) cdnFlags {
	return cdnFlags{
		cdn:     fs.String("cdn", "", `"cloudfront": set CloudFront signed cookies for the client's /c/<id>/ at login`),
		keyID:   fs.String("cdn-key-id", "", "CloudFront public key ID (of the distribution's trusted key group)"),
		key:     fs.String("cdn-key", "", "PEM file of that key's RSA private key (PKCS #1 or #8)"),
		url:     fs.String("cdn-url", "", "the distribution's address as viewers see it, e.g. https://hub.example.com (default: -base-url)"),
		domain:  fs.String("cdn-domain", "", "Domain attribute of the CloudFront cookies, when the distribution is on another host of the same site"),
		ttl:     fs.Duration("cdn-ttl", 0, "lifetime of the CloudFront cookies, at most the session's (default 1h); they cannot be revoked before it ends"),
		publish: addPublishFlags(fs, "publish", "after each rebuild (a payment, approval or request), publish the build to s3://BUCKET/PREFIX"),
	}
}

// cloudFront is the edge's CloudFront configuration, or nil without -cdn.
func (f cdnFlags) cloudFront(base *url.URL) (*edge.CloudFront, error) {
	switch *f.cdn {
	case "":
		if *f.keyID != "" || *f.key != "" {
			return nil, fmt.Errorf("-cdn-key-id and -cdn-key need -cdn cloudfront")
		}
		return nil, nil
	case "cloudfront":
	default:
		return nil, fmt.Errorf("-cdn %q: the only CDN is cloudfront", *f.cdn)
	}
	cf := &edge.CloudFront{KeyPairID: *f.keyID, URL: base, Domain: *f.domain, TTL: *f.ttl}
	if *f.url != "" {
		u, err := url.Parse(*f.url)
		if err != nil {
			return nil, fmt.Errorf("-cdn-url %q: %w", *f.url, err)
		}
		cf.URL = u
	}
	if *f.key != "" {
		k, err := sign.LoadPEMPrivKeyFile(*f.key)
		if err != nil {
			return nil, fmt.Errorf("-cdn-key %s: %w (want an RSA private key in PEM)", *f.key, err)
		}
		cf.Key = k
	}
	if err := cf.Validate(); err != nil {
		return nil, err
	}
	return cf, nil
}

// publisher publishes the edge's output after a rebuild, or is nil without
// -publish. Publishing runs in the background (a form's answer waits for
// the rebuild, not for the upload), one at a time; builds made while one
// runs are published by the next, which starts as soon as it ends.
func (f cdnFlags) publisher(ctx context.Context, out, keysDir string, log *slog.Logger) (func(), error) {
	if *f.publish.to == "" {
		return nil, nil
	}
	b, r, err := f.publish.open(ctx, "publish") // one router for the edge's life: it keeps the routes it wrote
	if err != nil {
		return nil, err
	}
	keys, err := bundle.LoadKeySet(keysDir)
	if err != nil {
		return nil, err
	}
	kick := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			}
			rep, err := publish.Publish(ctx, b, publish.Options{Out: out, Keys: keys, Workers: *f.publish.workers, Router: r})
			if err != nil {
				// The fact is recorded and the local build is good: the next
				// publish (the next rebuild, or hub publish) catches up.
				log.Error("publishing the rebuilt site", "to", *f.publish.to, "err", err)
				continue
			}
			log.Info("published", "to", *f.publish.to, "switched", rep.Switched, "routed", rep.Routed, "copied", rep.Copied, "objects", rep.Objects, "bytes", rep.Bytes, "dur", rep.Elapsed)
		}
	}()
	return func() {
		select {
		case kick <- struct{}{}:
		default: // one is due already: it will see this build too
		}
	}, nil
}
