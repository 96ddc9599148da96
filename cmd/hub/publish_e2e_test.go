package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hubhq/hub/generator/publish"
	"github.com/hubhq/hub/generator/publish/kvs/kvstest"
	"github.com/hubhq/hub/generator/publish/s3bucket/s3test"
	"github.com/hubhq/hub/internal/cffunc"
)

// TestPublishE2E: hub build -publish, hub publish, hub verify -from and
// hub publish -prune against a real S3 server.
func TestPublishE2E(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "e2e-publish", "") // create it
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	env := srv.Env()
	to := "s3://e2e-publish/hub/site"

	r := hubEnv(t, dir, env, "build", "-publish", to, "-endpoint", srv.Endpoint)
	if r.code != 0 || !regexp.MustCompile(`published public to `+regexp.QuoteMeta(to)+`: 7 clients \(7 switched\), site switched to generation \S+; \d+ objects written`).MatchString(r.stdout) {
		t.Fatalf("hub build -publish = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = hubEnv(t, dir, env, "verify", "-from", to, "-endpoint", srv.Endpoint, "-full")
	if r.code != 0 || !strings.Contains(r.stdout, "ok: 7 bundles") {
		t.Fatalf("hub verify -from = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = hubEnv(t, dir, append(env, "HUB_S3_ENDPOINT="+srv.Endpoint), "publish", "-to", to)
	if r.code != 0 || !strings.Contains(r.stdout, "(0 switched), site pointer unchanged; 0 objects written") {
		t.Fatalf("second hub publish = %d\n%s%s; want nothing written", r.code, r.stdout, r.stderr)
	}
	r = hubEnv(t, dir, env, "publish", "-to", to, "-endpoint", srv.Endpoint, "-prune")
	if r.code != 0 || !strings.Contains(r.stdout, "pruned "+to+": 0 objects deleted (retired more than 168h0m0s ago)") {
		t.Fatalf("hub publish -prune = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Bad input says what is wrong.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"publish"}, "-to s3://BUCKET/PREFIX is required"},
		{[]string{"publish", "-to", "http://x/y"}, `"http://x/y" is not an s3://BUCKET/PREFIX address`},
		{[]string{"publish", "-to", to, "-endpoint", "127.0.0.1:1"}, "want an http:// or https:// address"},
		{[]string{"publish", "-to", to, "-out", "nowhere", "-endpoint", srv.Endpoint}, "nowhere"},
		{[]string{"verify", "-from", "s3://e2e-publish/empty", "-endpoint", srv.Endpoint}, "nothing is published here"},
		{[]string{"edge", "-cdn", "fastly"}, `-cdn "fastly": the only CDN is cloudfront`},
		{[]string{"edge", "-cdn-key-id", "K"}, "need -cdn cloudfront"},
		{[]string{"edge", "-cdn", "cloudfront", "-cdn-key-id", "K"}, "the private key (-cdn-key) is required"},
		{[]string{"edge", "-cdn", "cloudfront", "-cdn-key-id", "K", "-cdn-key", "nowhere.pem"}, "-cdn-key nowhere.pem"},
		{[]string{"edge", "-publish", to}, "-publish needs -content"},
	} {
		r := hubEnv(t, dir, env, tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("hub %v = %d %q; want exit 1 saying %q", tc.args, r.code, r.stderr, tc.want)
		}
	}

	// A file damaged in the bucket is named.
	var blob string
	filepath.WalkDir(filepath.Join(srv.Dir, "e2e-publish", "hub", "site", "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".html") && blob == "" {
			blob = p
		}
		return nil
	})
	if blob == "" {
		t.Fatal("no .html blob in the server's folder")
	}
	data, _ := os.ReadFile(blob)
	data[len(data)-1] ^= 1
	os.WriteFile(blob, data, 0o644)
	r = hubEnv(t, dir, env, "verify", "-from", to, "-endpoint", srv.Endpoint, "-full")
	if r.code != 1 || !regexp.MustCompile(regexp.QuoteMeta(filepath.Base(blob))+": (content does not match|could not be read whole: checksum did not match)").MatchString(r.stderr) {
		t.Errorf("hub verify -from -full after damage = %d\n%s%s; want the blob named", r.code, r.stdout, r.stderr)
	}
}

// TestEdgePublishesRebuild: hub edge -content -publish publishes the client
// it rebuilt after a work request, one pointer switched, and for CloudFront
// (-cdn-kvs) its files by path and its route: what the CloudFront Function
// makes of the client's URL then reads the new page from the bucket.
func TestEdgePublishesRebuild(t *testing.T) {
	srv := s3test.Start(t)
	b := srv.Bucket(t, "e2e-edge", "live")
	routes, kvsAddr := kvstest.Start(t, nil)
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	to := "s3://e2e-edge/live"
	env := append(srv.Env(), "HUB_CDN_KVS="+kvstest.ARN, "HUB_CDN_KVS_ENDPOINT="+kvsAddr)
	r := hubEnv(t, dir, env, "build", "-publish", to, "-endpoint", srv.Endpoint)
	if r.code != 0 || !regexp.MustCompile(`for the CDN \d+ files copied by path, 7 routes written`).MatchString(r.stdout) {
		t.Fatalf("hub build -publish -cdn-kvs = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	first := routes.Items()["okafor-residence"]
	addr := freeAddr(t)
	p := startHubEnv(t, dir, append(env, "HUB_BASE_URL=http://"+addr), "edge", "-content", "content", "-addr", addr, "-publish", to, "-endpoint", srv.Endpoint)
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")

	cur, err := publish.ReadCurrent(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	pointer := func() string {
		data, err := b.Get(context.Background(), "gen/"+cur.Generation+"/c/okafor-residence")
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	before := pointer()

	link := regexp.MustCompile(`http://\S+/login/t/\S+`).FindString(hub(t, dir, "link", "okafor-residence", "-print").stdout)
	u, _ := url.Parse(link)
	c := browser()
	if r, _ := fetch(t, c, "POST", base+u.Path, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in = %d", r.StatusCode)
	}
	if r, _ := fetch(t, c, "POST", base+"/c/okafor-residence/requests/new", url.Values{"title": {"Gate latch"}, "nonce": {"pub-1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("work request = %d", r.StatusCode)
	}
	p.await(t, `msg=published .*switched=1 routed=1`)
	if pointer() == before {
		t.Error("okafor-residence's pointer did not change after the edge's rebuild")
	}
	r = hubEnv(t, dir, env, "verify", "-from", to, "-endpoint", srv.Endpoint, "-full")
	if r.code != 0 || !strings.Contains(r.stdout, "every client's CDN route names its bundle") {
		t.Errorf("hub verify -from -cdn-kvs after the edge published = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	now := routes.Items()
	if now["okafor-residence"] == first || len(now) != 7 {
		t.Fatalf("routes after the edge's rebuild: %v; want okafor-residence's switched from %s", now, first)
	}
	res := cffunc.Run(t, now, []cffunc.Request{cffunc.Get("/c/okafor-residence/requests/")})[0]
	if res.Request == nil {
		t.Fatalf("the CloudFront Function answered %s", res)
	}
	page, err := b.Get(context.Background(), strings.TrimPrefix(res.Request.URI, "/"))
	if err != nil || !strings.Contains(string(page), "Gate latch") {
		t.Errorf("the requests page through the function's route %s: %v; want the new request listed", res.Request.URI, err)
	}
}
