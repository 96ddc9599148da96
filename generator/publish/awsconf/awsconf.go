// Package awsconf loads the AWS configuration the publishing adapters
// (s3bucket, kvs) share: the standard credential chain and region
// (us-east-1 when none is set), and the address of a server other than
// AWS's when one is given.
package awsconf

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Load returns the configuration and the parsed endpoint (nil when
// endpoint is ""; what names it, e.g. "-endpoint", starts the error about
// a bad one). opts change how the configuration is loaded (tests give
// static credentials).
func Load(ctx context.Context, what, endpoint string, opts ...func(*config.LoadOptions) error) (aws.Config, *url.URL, error) {
	var u *url.URL
	if endpoint != "" {
		var err error
		if u, err = url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return aws.Config{}, nil, fmt.Errorf("%s %q: want an http:// or https:// address", what, endpoint)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, u, nil
}
