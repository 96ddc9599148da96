// Package s3bucket is publish.Bucket on Amazon S3 or any server that speaks
// its API (aws-sdk-go-v2). Credentials and the region come from the
// standard AWS environment variables and files.
package s3bucket

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/hubhq/hub/generator/publish"
	"github.com/hubhq/hub/generator/publish/awsconf"
)

// Bucket is a bucket and a key prefix in it.
type Bucket struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"
}

// ParseURL splits s3://BUCKET/PREFIX.
func ParseURL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET/PREFIX address", raw)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	if strings.Contains(prefix, "//") {
		return "", "", fmt.Errorf("%q: the prefix has an empty segment", raw)
	}
	return u.Host, prefix, nil
}

// Open connects to the bucket that raw (s3://BUCKET/PREFIX) names. With an
// endpoint (an S3-compatible server, e.g. http://127.0.0.1:7070) requests use
// path-style addresses. opts change how the AWS configuration is loaded
// (tests give static credentials).
func Open(ctx context.Context, raw, endpoint string, opts ...func(*config.LoadOptions) error) (*Bucket, error) {
	bucket, prefix, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	cfg, u, err := awsconf.Load(ctx, "-endpoint", endpoint, opts...)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if u != nil {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	return &Bucket{client: client, bucket: bucket, prefix: prefix}, nil
}

// CreateBucket makes the bucket (tests, and a first deployment).
func (b *Bucket) CreateBucket(ctx context.Context) error {
	_, err := b.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b.bucket})
	return err
}

// AllowBlobReads sets the bucket policy that lets anyone read the blobs
// under the prefix (not the manifests, pointers or listings): for nginx in
// front of the bucket. On AWS, add a condition on nginx's addresses or VPC
// endpoint (docs/deploy.md).
func (b *Bucket) AllowBlobReads(ctx context.Context) error {
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/%sblobs/*"]}]}`, b.bucket, b.prefix)
	_, err := b.client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &b.bucket, Policy: &policy})
	return err
}

// Exists reports whether an object is there (a HEAD request).
func (b *Bucket) Exists(ctx context.Context, key string) (bool, error) {
	_, err := b.Head(ctx, key)
	if errors.Is(err, publish.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Head returns an object's headers and metadata.
func (b *Bucket) Head(ctx context.Context, key string) (publish.Attrs, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(b.prefix + key)})
	if err != nil {
		if notFound(err) {
			return publish.Attrs{}, fmt.Errorf("%s: %w", key, publish.ErrNotFound)
		}
		return publish.Attrs{}, err
	}
	return publish.Attrs{ContentType: aws.ToString(out.ContentType), ContentEncoding: aws.ToString(out.ContentEncoding), CacheControl: aws.ToString(out.CacheControl), ContentDisposition: aws.ToString(out.ContentDisposition), Meta: out.Metadata}, nil
}

// Put writes an object; with a SHA-256 the store refuses bytes that do not match it.
func (b *Bucket) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, a publish.Attrs) error {
	in := &s3.PutObjectInput{
		Bucket:             &b.bucket,
		Key:                aws.String(b.prefix + key),
		Body:               body,
		ContentLength:      aws.Int64(size),
		ContentType:        nonEmpty(a.ContentType),
		CacheControl:       nonEmpty(a.CacheControl),
		Metadata:           a.Meta,
		ContentDisposition: nonEmpty(a.ContentDisposition),
	}
	if a.ContentEncoding != "" {
		in.ContentEncoding = &a.ContentEncoding
	}
	if raw, err := hex.DecodeString(a.SHA256); err == nil && len(raw) == 32 {
		in.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(raw))
	}
	_, err := b.client.PutObject(ctx, in)
	return err
}

// Copy writes dst from src inside the bucket, with a's headers and metadata
// instead of src's.
func (b *Bucket) Copy(ctx context.Context, src, dst string, a publish.Attrs) error {
	in := &s3.CopyObjectInput{
		Bucket:             &b.bucket,
		Key:                aws.String(b.prefix + dst),
		CopySource:         aws.String(url.PathEscape(b.bucket) + "/" + escapeKey(b.prefix+src)),
		MetadataDirective:  types.MetadataDirectiveReplace,
		ContentType:        nonEmpty(a.ContentType),
		CacheControl:       nonEmpty(a.CacheControl),
		Metadata:           a.Meta,
		ContentDisposition: nonEmpty(a.ContentDisposition),
	}
	if a.ContentEncoding != "" {
		in.ContentEncoding = &a.ContentEncoding
	}
	if _, err := b.client.CopyObject(ctx, in); err != nil {
		if notFound(err) {
			return fmt.Errorf("%s: %w", src, publish.ErrNotFound)
		}
		return err
	}
	return nil
}

// escapeKey escapes each segment of an object key for x-amz-copy-source.
func escapeKey(k string) string {
	parts := strings.Split(k, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// Get reads a whole object.
func (b *Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	rc, err := b.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Open streams an object.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(b.prefix + key)})
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("%s: %w", key, publish.ErrNotFound)
		}
		return nil, err
	}
	return out.Body, nil
}

// List calls fn for every object under prefix.
func (b *Bucket) List(ctx context.Context, prefix string, fn func(publish.Object) error) error {
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: aws.String(b.prefix + prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			obj := publish.Object{Key: strings.TrimPrefix(aws.ToString(o.Key), b.prefix), Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`)}
			if o.LastModified != nil {
				obj.Modified = *o.LastModified
			}
			if err := fn(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes objects, 1,000 per request.
func (b *Bucket) Delete(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		ids := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			ids[i] = types.ObjectIdentifier{Key: aws.String(b.prefix + k)}
		}
		out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b.bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return err
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("deleting %s: %s (%d objects not deleted)", aws.ToString(e.Key), aws.ToString(e.Message), len(out.Errors))
		}
		keys = keys[n:]
	}
	return nil
}

func notFound(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
