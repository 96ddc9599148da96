package kvs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hubhq/hub/generator/publish/kvs"
	"github.com/hubhq/hub/generator/publish/kvs/kvstest"
)

func open(t *testing.T, arn, endpoint string) *kvs.Router {
	t.Helper()
	r, err := kvs.Open(context.Background(), arn, endpoint,
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
		config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouterReadsWritesInBatches(t *testing.T) {
	t.Parallel()
	items := map[string]string{}
	for i := range 120 {
		items[fmt.Sprintf("client-%03d", i)] = "old"
	}
	s, addr := kvstest.Start(t, items)
	r := open(t, kvstest.ARN, addr)
	ctx := context.Background()
	routes, err := r.Routes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 120 || routes["client-119"] != "old" {
		t.Fatalf("Routes read %d keys (client-119 = %q); want all 120 across 3 pages", len(routes), routes["client-119"])
	}
	puts := map[string]string{}
	for i := range 70 {
		puts[fmt.Sprintf("client-%03d", i)] = "new"
	}
	if err := r.Update(ctx, puts, []string{"client-118", "client-119"}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(s.Updates()); got != "[50 22]" {
		t.Errorf("UpdateKeys batches = %v; want [50 22]", got)
	}
	held := s.Items()
	if held["client-069"] != "new" || held["client-070"] != "old" || len(held) != 118 {
		t.Errorf("store after update: client-069=%q client-070=%q, %d keys", held["client-069"], held["client-070"], len(held))
	}
	if n := s.Unsigned(); n != 0 {
		t.Errorf("%d requests were not signed with SigV4A", n)
	}
	// The router remembers what it wrote: no listing again.
	routes, _ = r.Routes(ctx)
	if routes["client-000"] != "new" || len(routes) != 118 {
		t.Errorf("cached routes: client-000=%q, %d keys", routes["client-000"], len(routes))
	}
}

func TestRouterRetriesAfterAnotherWriter(t *testing.T) {
	t.Parallel()
	s, addr := kvstest.Start(t, map[string]string{"acme": "k1"})
	r := open(t, kvstest.ARN, addr)
	ctx := context.Background()
	if _, err := r.Routes(ctx); err != nil {
		t.Fatal(err)
	}
	s.Set("bolt", "k9") // another publisher: this router's ETag is stale
	if err := r.Update(ctx, map[string]string{"acme": "k2"}, nil); err != nil {
		t.Fatalf("Update after another writer: %v; want a retry on the new ETag", err)
	}
	routes, _ := r.Routes(ctx)
	if routes["acme"] != "k2" || routes["bolt"] != "k9" {
		t.Errorf("routes = %v; want acme=k2 and the other writer's bolt=k9", routes)
	}
}

func TestRouterErrors(t *testing.T) {
	t.Parallel()
	if err := kvs.ValidARN("arn:aws:s3:::bucket"); err == nil {
		t.Error("an S3 ARN was taken for a KeyValueStore")
	}
	if _, err := kvs.Open(context.Background(), "not-an-arn", ""); err == nil || !strings.Contains(err.Error(), "not a CloudFront KeyValueStore ARN") {
		t.Errorf("Open(not-an-arn) = %v", err)
	}
	if _, err := kvs.Open(context.Background(), kvstest.ARN, "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "want an http:// or https:// address") {
		t.Errorf("Open with a bad endpoint = %v", err)
	}
	_, addr := kvstest.Start(t, nil)
	r := open(t, strings.Replace(kvstest.ARN, "0b6b", "ffff", 1), addr)
	if _, err := r.Routes(context.Background()); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("Routes on a missing store = %v; want ResourceNotFoundException", err)
	}
}
