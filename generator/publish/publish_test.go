package publish_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/generator"
	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/publish"
	"github.com/hubhq/hub/generator/publish/s3bucket"
	"github.com/hubhq/hub/generator/publish/s3bucket/s3test"
	"github.com/hubhq/hub/themes"
)

var testNow = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// site is a copy of the sample content and its build.
type site struct {
	content, out, keys string
}

func newSite(t *testing.T) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{content: filepath.Join(dir, "content"), out: filepath.Join(dir, "public"), keys: filepath.Join(dir, "keys")}
	err := os.CopyFS(s.content, os.DirFS("../../content"))
	if err != nil {
		t.Fatal(err)
	}
	s.build(t)
	return s
}

func (s *site) build(t *testing.T) {
	t.Helper()
	_, err := generator.Build(context.Background(), generator.Options{Content: s.content, Out: s.out, Keys: s.keys, Theme: themes.Default(), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *site) keySet(t *testing.T) *bundle.KeySet {
	t.Helper()
	k, err := bundle.LoadKeySet(s.keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (s *site) edit(t *testing.T, rel, old, new string) {
	t.Helper()
	p := filepath.Join(s.content, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", rel, old)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (s *site) publish(t *testing.T, b publish.Bucket) *publish.Report {
	t.Helper()
	rep, err := publish.Publish(context.Background(), b, publish.Options{Out: s.out, Keys: s.keySet(t)})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return rep
}

func mustVerify(t *testing.T, b publish.Bucket, keys *bundle.KeySet, full bool) *publish.VerifyReport {
	t.Helper()
	rep, err := publish.Verify(context.Background(), b, keys, full)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("Verify: %v", rep.Failures)
	}
	return rep
}

func TestPublishIncrementalVerifyPrune(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newSite(t)
	b := srv.Bucket(t, "publish-test", "sites/acme")
	keys := s.keySet(t)

	// Cold: every blob, every manifest, every pointer and current.
	cold := s.publish(t, b)
	if !cold.NewSite || cold.Switched != cold.Clients || cold.Clients == 0 || cold.BlobsKept != 0 {
		t.Fatalf("cold publish = %+v; want a new site, every client switched, nothing kept", cold)
	}
	vr := mustVerify(t, b, keys, true)
	if vr.Bundles != cold.Clients || vr.Generation != cold.Generation {
		t.Errorf("Verify = %+v; want %d bundles of generation %s", vr, cold.Clients, cold.Generation)
	}

	// Headers follow from the key: a page's brotli sidecar, a stylesheet.
	heads := map[string]func(publish.Attrs) bool{}
	err := b.List(ctx, "blobs/", func(o publish.Object) error {
		switch {
		case strings.HasSuffix(o.Key, ".html.br") && heads["br"] == nil:
			heads["br"] = func(a publish.Attrs) bool {
				return a.ContentEncoding == "br" && strings.HasPrefix(a.ContentType, "text/html") && a.Meta["sha256"] != ""
			}
			headOK(t, b, o.Key, heads["br"])
		case strings.HasSuffix(o.Key, ".css") && heads["css"] == nil:
			heads["css"] = func(a publish.Attrs) bool {
				return a.ContentEncoding == "" && strings.HasPrefix(a.ContentType, "text/css") && a.CacheControl == publish.CacheImmutable
			}
			headOK(t, b, o.Key, heads["css"])
		}
		return nil
	})
	if err != nil || len(heads) != 2 {
		t.Fatalf("listing blobs: %v; found %d of 2 kinds", err, len(heads))
	}
	ptr, _ := b.Head(ctx, "gen/"+cold.Generation+"/c/lindqvist")
	if ptr.Meta["manifest-sha256"] == "" || ptr.CacheControl != "no-store" {
		t.Errorf("pointer attrs = %+v; want its manifest's hash and no-store", ptr)
	}

	// Again: nothing to do.
	again := s.publish(t, b)
	if again.Objects != 0 || again.Switched != 0 || again.NewSite {
		t.Errorf("second publish = %+v; want nothing written", again)
	}

	// One invoice changed: a handful of objects and one pointer.
	s.edit(t, "clients/lindqvist/invoices/INV-2008-storm-cleanup.yaml", "Emergency crew", "Emergency crew (night)")
	s.build(t)
	one := s.publish(t, b)
	if one.Switched != 1 || one.NewSite || one.Objects > 40 || one.Objects == 0 {
		t.Errorf("publish after one invoice changed = %+v; want one client switched, a handful of objects", one)
	}
	t.Logf("cold: %d objects, %d bytes; one invoice changed: %d objects, %d bytes", cold.Objects, cold.Bytes, one.Objects, one.Bytes)
	mustVerify(t, b, keys, false)

	// Prune within the grace period removes nothing; past it, only what no
	// pointer names, and what is published still verifies.
	pr, err := publish.Prune(ctx, b, time.Hour, time.Now(), nil)
	if err != nil || pr.Deleted != 0 {
		t.Fatalf("Prune(1h) = %+v, %v; want nothing deleted", pr, err)
	}
	pr, err = publish.Prune(ctx, b, time.Hour, time.Now().Add(2*time.Hour), nil)
	if err != nil || pr.Deleted == 0 {
		t.Fatalf("Prune(1h) two hours later = %+v, %v; want the retired bundle removed", pr, err)
	}
	mustVerify(t, b, keys, true)

	// A site-wide change: a new generation, switched by current alone.
	s.edit(t, "site.yaml", "name:", "name: Renamed —")
	s.build(t)
	site := s.publish(t, b)
	if !site.NewSite || site.Generation == cold.Generation {
		t.Errorf("publish after site.yaml changed = %+v; want a new generation", site)
	}
	mustVerify(t, b, keys, false)
	if _, err := publish.Prune(ctx, b, time.Hour, time.Now().Add(2*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, b, keys, true)
	var old int
	b.List(ctx, "gen/"+cold.Generation+"/", func(publish.Object) error { old++; return nil })
	if old != 0 {
		t.Errorf("after prune, %d objects of the retired generation remain", old)
	}
}

func headOK(t *testing.T, b *s3bucket.Bucket, key string, ok func(publish.Attrs) bool) {
	t.Helper()
	a, err := b.Head(context.Background(), key)
	if err != nil || !ok(a) {
		t.Errorf("Head(%s) = %+v, %v", key, a, err)
	}
}

func TestVerifyFindsDamage(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newSite(t)
	b := srv.Bucket(t, "verify-test", "")
	keys := s.keySet(t)
	s.publish(t, b)

	var blobs []publish.Object
	b.List(ctx, "blobs/", func(o publish.Object) error { blobs = append(blobs, o); return nil })
	// One blob replaced by other bytes of the same size, one deleted.
	changed, gone := blobs[0], blobs[1]
	junk := bytes.Repeat([]byte("x"), int(changed.Size))
	if err := b.Put(ctx, changed.Key, bytes.NewReader(junk), changed.Size, publish.Attrs{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, []string{gone.Key}); err != nil {
		t.Fatal(err)
	}
	quick, err := publish.Verify(ctx, b, keys, false)
	if err != nil {
		t.Fatal(err)
	}
	full, err := publish.Verify(ctx, b, keys, true)
	if err != nil {
		t.Fatal(err)
	}
	has := func(r *publish.VerifyReport, key, what string) bool {
		for _, f := range r.Failures {
			if strings.Contains(f.Error(), key) && strings.Contains(f.Error(), what) {
				return true
			}
		}
		return false
	}
	if !has(quick, gone.Key, "missing") || has(quick, changed.Key, "") {
		t.Errorf("Verify(quick) failures = %v; want only %s missing", quick.Failures, gone.Key)
	}
	if !has(full, changed.Key, "does not match") {
		t.Errorf("Verify(full) failures = %v; want %s not matching", full.Failures, changed.Key)
	}

	// Publishing again writes nothing (no pointer changed); with All, the
	// missing blob is uploaded again (a damaged one is found by Verify(full)).
	if rep := s.publish(t, b); rep.Objects != 0 {
		t.Errorf("publish of an unchanged build = %+v; want nothing written", rep)
	}
	rep, err := publish.Publish(ctx, b, publish.Options{Out: s.out, Keys: keys, All: true})
	if err != nil || rep.Objects != 1 || rep.Switched != 0 {
		t.Errorf("Publish(All) = %+v, %v; want the one missing blob uploaded", rep, err)
	}
	if r, _ := publish.Verify(ctx, b, keys, false); len(r.Failures) != 0 {
		t.Errorf("Verify after Publish(All) = %v", r.Failures)
	}

	// Another key (not trusted): every manifest fails.
	other := t.TempDir()
	if _, err := bundle.GenerateKey(other); err != nil {
		t.Fatal(err)
	}
	otherKeys, _ := bundle.LoadKeySet(other)
	r, err := publish.Verify(ctx, b, otherKeys, false)
	if err != nil || len(r.Failures) < r.Bundles || !has(r, "", "not trusted") {
		t.Errorf("Verify with another key = %+v, %v; want every manifest refused", r, err)
	}
}

func TestPublishRefusesTamperedBuild(t *testing.T) {
	srv := s3test.Start(t)
	s := newSite(t)
	b := srv.Bucket(t, "tamper-test", "x")
	page := filepath.Join(s.out, "c", "lindqvist", "index.html")
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(page, bytes.Replace(data, []byte("</main>"), []byte("<p>pay elsewhere</p></main>"), 1), 0o644)
	_, err = publish.Publish(context.Background(), b, publish.Options{Out: s.out, Keys: s.keySet(t)})
	if err == nil {
		t.Fatal("Publish of a tampered page succeeded; want the store to refuse bytes that do not match the manifest")
	}
	if _, err := publish.ReadCurrent(context.Background(), b); err == nil {
		t.Error("current was written although the upload failed")
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, bucket, prefix string }{
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
		{"s3://b/p/q/", "b", "p/q/"},
		{"s3://b/p", "b", "p/"},
	} {
		b, p, err := s3bucket.ParseURL(tc.in)
		if err != nil || b != tc.bucket || p != tc.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", tc.in, b, p, err, tc.bucket, tc.prefix)
		}
	}
	for _, bad := range []string{"", "b/p", "http://b/p", "s3:///p", "s3://b/p//q", "s3://b/p?x=1"} {
		if _, _, err := s3bucket.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) succeeded; want an error", bad)
		}
	}
}
