package publish_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/publish"
	"github.com/hubhq/hub/generator/publish/s3bucket/s3test"
	"github.com/hubhq/hub/internal/cffunc"
)

// routes is a CDN's router in memory (the KeyValueStore's part is tested in
// package kvs).
type routes struct {
	mu      sync.Mutex
	m       map[string]string
	updates int
}

func (r *routes) Routes(context.Context) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for k, v := range r.m {
		out[k] = v
	}
	return out, nil
}

func (r *routes) Update(_ context.Context, puts map[string]string, deletes []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range puts {
		r.m[k] = v
	}
	for _, k := range deletes {
		delete(r.m, k)
	}
	r.updates++
	return nil
}

// TestPublishForCloudFront publishes by path with routes, then follows what
// the CloudFront Function makes of viewers' URLs into the real S3 server:
// the bytes are the build's, each switch is one route, and prune keeps what
// a route names.
func TestPublishForCloudFront(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newSite(t)
	b := srv.Bucket(t, "cloudfront-test", "site")
	rt := &routes{m: map[string]string{"gone-client": "k0"}}
	pub := func() *publish.Report {
		t.Helper()
		rep, err := publish.Publish(ctx, b, publish.Options{Out: s.out, Keys: s.keySet(t), Router: rt})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		return rep
	}
	cold := pub()
	if cold.Routed != cold.Clients+1 || cold.Copied == 0 {
		t.Fatalf("cold publish = %+v; want a route per client (and the stale one removed), files copied", cold)
	}
	if _, ok := rt.m["gone-client"]; ok {
		t.Error("the route of a client no longer built was kept")
	}
	first := rt.m["lindqvist"]

	// What a viewer asks for, through the function, into the bucket.
	check := func(uri, local string) {
		t.Helper()
		res := cffunc.Run(t, rt.m, []cffunc.Request{cffunc.Get(uri)})[0]
		if res.Request == nil || res.Origin != "" {
			t.Fatalf("%s: %s; want a request to the bucket", uri, res)
		}
		key := strings.TrimPrefix(res.Request.URI, "/")
		got, err := b.Get(ctx, key)
		if err != nil {
			t.Fatalf("%s → %s: %v", uri, key, err)
		}
		want, err := os.ReadFile(filepath.Join(s.out, filepath.FromSlash(local)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s → %s: %d bytes, not the build's %d", uri, key, len(got), len(want))
		}
	}
	check("/c/lindqvist/", "c/lindqvist/index.html")
	check("/c/lindqvist/invoices/INV-2008/", "c/lindqvist/invoices/INV-2008/index.html")
	pdf := "invoices/INV-2008/INV-2008.pdf"
	check("/c/lindqvist/"+pdf, "c/lindqvist/"+pdf)
	a, err := b.Head(ctx, publish.PathsKey("lindqvist", first, pdf))
	if err != nil || a.ContentType != "application/pdf" || a.ContentDisposition != "attachment" || a.CacheControl != publish.CachePrivate || a.ContentEncoding != "" {
		t.Errorf("a PDF by path: %+v, %v; want application/pdf, attachment, private, no encoding", a, err)
	}
	a, err = b.Head(ctx, publish.PathsKey("lindqvist", first, "index.html"))
	if err != nil || !strings.HasPrefix(a.ContentType, "text/html") || a.ContentDisposition != "" {
		t.Errorf("a page by path: %+v, %v; want text/html, inline", a, err)
	}
	var css string
	b.List(ctx, "assets/", func(o publish.Object) error {
		if strings.HasSuffix(o.Key, ".css") {
			css = o.Key
		}
		return nil
	})
	if css == "" {
		t.Error("no stylesheet under assets/ for the CDN's /assets/* behaviour")
	}
	var sidecars int
	b.List(ctx, "paths/", func(o publish.Object) error {
		if strings.HasSuffix(o.Key, ".br") || strings.HasSuffix(o.Key, ".gz") {
			sidecars++
		}
		return nil
	})
	if sidecars != 0 {
		t.Errorf("%d sidecars written by path; the CDN compresses", sidecars)
	}

	// Nothing changed: nothing copied, no route written.
	before := rt.updates
	if again := pub(); again.Copied != 0 || again.Routed != 0 || rt.updates != before {
		t.Errorf("publish again = %+v; want nothing copied or routed", again)
	}

	// One invoice changed: one client's files copied, one route switched.
	s.edit(t, "clients/lindqvist/invoices/INV-2008-storm-cleanup.yaml", "Emergency crew", "Emergency crew (night)")
	s.build(t)
	one := pub()
	if one.Routed != 1 || rt.m["lindqvist"] == first || one.Copied == 0 || one.Copied > 40 {
		t.Errorf("publish after one invoice changed = %+v; want one route switched and one bundle's files copied", one)
	}
	check("/c/lindqvist/invoices/INV-2008/", "c/lindqvist/invoices/INV-2008/index.html")
	// The old bundle stays for viewers still on it, until the grace is over.
	if ok, _ := b.Exists(ctx, publish.PathsKey("lindqvist", first, "index.html")); !ok {
		t.Error("the previous bundle's files were removed at the switch")
	}
	if _, err := publish.Prune(ctx, b, time.Hour, time.Now(), rt); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Exists(ctx, publish.PathsKey("lindqvist", first, "index.html")); !ok {
		t.Error("prune within the grace removed the previous bundle's files")
	}
	if _, err := publish.Prune(ctx, b, time.Hour, time.Now().Add(2*time.Hour), rt); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Exists(ctx, publish.PathsKey("lindqvist", first, "index.html")); ok {
		t.Error("prune past the grace kept the retired bundle's files")
	}
	check("/c/lindqvist/", "c/lindqvist/index.html")
	if ok, _ := b.Exists(ctx, css); !ok {
		t.Error("prune removed the current generation's stylesheet")
	}
	mustVerify(t, b, s.keySet(t), true)
	if fails, err := publish.VerifyRoutes(ctx, b, rt, true); err != nil || len(fails) != 0 {
		t.Fatalf("VerifyRoutes = %v, %v; want no problems", fails, err)
	}

	// Damage: a file by path removed, a stale route, a route to nowhere.
	cur := rt.m["lindqvist"]
	if err := b.Delete(ctx, []string{publish.PathsKey("lindqvist", cur, "statement/index.html")}); err != nil {
		t.Fatal(err)
	}
	rt.m["marisol-chen"] = "0000"
	rt.m["nobody"] = "k"
	fails, err := publish.VerifyRoutes(ctx, b, rt, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fails {
		got = append(got, f.Error())
	}
	want := []string{"route lindqvist: paths/lindqvist/" + cur + "/statement/index.html missing", "route marisol-chen: names bundle 0000", "route nobody: the current generation has no such client"}
	if len(got) != len(want) {
		t.Fatalf("VerifyRoutes after damage = %q; want %d problems", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q; want it to start %q", i, got[i], want[i])
		}
	}
	// Publishing with -all repairs it.
	if _, err := publish.Publish(ctx, b, publish.Options{Out: s.out, Keys: s.keySet(t), Router: rt, All: true}); err != nil {
		t.Fatal(err)
	}
	if fails, err := publish.VerifyRoutes(ctx, b, rt, true); err != nil || len(fails) != 0 {
		t.Fatalf("VerifyRoutes after publish -all = %v, %v; want no problems", fails, err)
	}
}
