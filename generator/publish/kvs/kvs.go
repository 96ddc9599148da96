// Package kvs is publish.Router on a CloudFront KeyValueStore: one key per
// client, whose value is the key of the bundle the distribution serves it
// (read by deploy/cloudfront/hub-route.js at each viewer request).
//
// Writes are conditional on the store's ETag, so two publishers cannot
// interleave unnoticed: a publisher whose ETag is stale reads the store again
// and retries once, then fails.
package kvs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/hubhq/hub/generator/publish/awsconf"
)

// batch is how many keys one UpdateKeys request changes at most.
const batch = 50

// Router is one KeyValueStore. It keeps the routes it read or wrote, with
// the store's ETag, so that a long-lived publisher (the edge) reads the
// whole store once, not at every publish.
type Router struct {
	api *cloudfrontkeyvaluestore.Client
	arn string

	mu     sync.Mutex
	routes map[string]string // nil until read
	etag   string
}

// ValidARN checks that s is a KeyValueStore's ARN
// (arn:aws:cloudfront::ACCOUNT:key-value-store/ID).
func ValidARN(s string) error {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "cloudfront" || !strings.HasPrefix(a.Resource, "key-value-store/") || a.AccountID == "" {
		return fmt.Errorf("%q is not a CloudFront KeyValueStore ARN (arn:aws:cloudfront::ACCOUNT:key-value-store/ID)", s)
	}
	return nil
}

// Open connects to the store kvsARN names, with the standard AWS
// credentials. endpoint, when not empty, replaces the service's address
// (tests).
func Open(ctx context.Context, kvsARN, endpoint string, opts ...func(*config.LoadOptions) error) (*Router, error) {
	if err := ValidARN(kvsARN); err != nil {
		return nil, err
	}
	cfg, u, err := awsconf.Load(ctx, "KeyValueStore endpoint", endpoint, opts...)
	if err != nil {
		return nil, err
	}
	client := cloudfrontkeyvaluestore.NewFromConfig(cfg, func(o *cloudfrontkeyvaluestore.Options) {
		if u != nil {
			o.EndpointResolverV2 = fixedHost{cloudfrontkeyvaluestore.NewDefaultEndpointResolverV2(), u}
		}
	})
	return &Router{api: client, arn: kvsARN}, nil
}

// fixedHost resolves the service's endpoint as usual (with its signing
// properties), then sends the request to one address: the service's rules
// put the account ID in front of the host, which a test server's address
// does not have.
type fixedHost struct {
	cloudfrontkeyvaluestore.EndpointResolverV2
	u *url.URL
}

func (f fixedHost) ResolveEndpoint(ctx context.Context, p cloudfrontkeyvaluestore.EndpointParameters) (smithyendpoints.Endpoint, error) {
	e, err := f.EndpointResolverV2.ResolveEndpoint(ctx, p)
	if err != nil {
		return e, err
	}
	e.URI.Scheme, e.URI.Host = f.u.Scheme, f.u.Host
	e.URI.Path = strings.TrimSuffix(f.u.Path, "/") + e.URI.Path
	return e, nil
}

// Routes returns every client's bundle key (read from the store the first
// time, then as this router last wrote them).
func (r *Router) Routes(ctx context.Context) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.routes == nil {
		if err := r.read(ctx); err != nil {
			return nil, err
		}
	}
	out := make(map[string]string, len(r.routes))
	for k, v := range r.routes {
		out[k] = v
	}
	return out, nil
}

// read loads the whole store and its ETag. The ETag is read first: a write
// between the two makes the next update fail its condition and read again,
// rather than trust a listing newer than its ETag.
func (r *Router) read(ctx context.Context) error {
	d, err := r.api.DescribeKeyValueStore(ctx, &cloudfrontkeyvaluestore.DescribeKeyValueStoreInput{KvsARN: &r.arn})
	if err != nil {
		return fmt.Errorf("describing %s: %w", r.arn, err)
	}
	routes := map[string]string{}
	var next *string
	for {
		page, err := r.api.ListKeys(ctx, &cloudfrontkeyvaluestore.ListKeysInput{KvsARN: &r.arn, MaxResults: aws.Int32(batch), NextToken: next})
		if err != nil {
			return fmt.Errorf("listing %s: %w", r.arn, err)
		}
		for _, it := range page.Items {
			routes[aws.ToString(it.Key)] = aws.ToString(it.Value)
		}
		if page.NextToken == nil || *page.NextToken == "" {
			break
		}
		next = page.NextToken
	}
	r.routes, r.etag = routes, aws.ToString(d.ETag)
	return nil
}

// Update writes puts and deletes, batch keys per request, each request
// conditional on the ETag the last one returned. When the store changed
// under it (another publisher), it reads the store again and retries the
// keys not yet written once.
func (r *Router) Update(ctx context.Context, puts map[string]string, deletes []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.routes == nil {
		if err := r.read(ctx); err != nil {
			return err
		}
	}
	type change struct {
		key, value string
		del        bool
	}
	var todo []change
	for _, k := range slices.Sorted(maps.Keys(puts)) {
		todo = append(todo, change{key: k, value: puts[k]})
	}
	for _, k := range deletes {
		todo = append(todo, change{key: k, del: true})
	}
	retried := false
	for len(todo) > 0 {
		n := min(len(todo), batch)
		in := &cloudfrontkeyvaluestore.UpdateKeysInput{KvsARN: &r.arn, IfMatch: aws.String(r.etag)}
		for _, c := range todo[:n] {
			if c.del {
				in.Deletes = append(in.Deletes, types.DeleteKeyRequestListItem{Key: aws.String(c.key)})
			} else {
				in.Puts = append(in.Puts, types.PutKeyRequestListItem{Key: aws.String(c.key), Value: aws.String(c.value)})
			}
		}
		out, err := r.api.UpdateKeys(ctx, in)
		var conflict *types.ConflictException
		if errors.As(err, &conflict) && !retried {
			retried = true
			if err := r.read(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			r.routes = nil // unknown now: read again next time
			return fmt.Errorf("updating %s: %w", r.arn, err)
		}
		for _, c := range todo[:n] {
			if c.del {
				delete(r.routes, c.key)
			} else {
				r.routes[c.key] = c.value
			}
		}
		r.etag = aws.ToString(out.ETag)
		todo = todo[n:]
	}
	return nil
}
