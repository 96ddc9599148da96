package generator

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/site"
	"github.com/hubhq/hub/themes"
)

// checkPublished fails unless the output verifies and every client link
// leads to a bundle with its signature.
func checkPublished(t *testing.T, step string, out, keys string) {
	t.Helper()
	ks, err := bundle.LoadKeySet(keys)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(out, ks)
	if err != nil {
		t.Fatalf("%s: Verify: %v", step, err)
	}
	for _, f := range rep.Failures {
		t.Errorf("%s: hub verify: %v", step, f)
	}
	links, _ := filepath.Glob(filepath.Join(out, "c", "*"))
	if len(links) == 0 {
		t.Fatalf("%s: no client links", step)
	}
	for _, l := range links {
		if _, err := os.Stat(filepath.Join(l, bundle.SignatureName)); err != nil {
			t.Errorf("%s: client %s: %v", step, filepath.Base(l), err)
		}
	}
}

// TestStaffBuildsAndEdgeRebuilds is issue 11's first defect: the edge's
// long-lived Builder rebuilds one client after a fact while staff run
// hub build in between (site-wide and single-client changes). The edge's
// builder must start from the state on disk, and no bundle that the
// published output names may be removed.
func TestStaffBuildsAndEdgeRebuilds(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	opt := Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow}
	ctx := context.Background()
	staff := func(step string) {
		t.Helper()
		if _, err := Build(ctx, opt); err != nil {
			t.Fatalf("%s: hub build: %v", step, err)
		}
		checkPublished(t, step, e.out, e.keys)
	}
	edgeBuilder := NewBuilder(opt)
	edgeClient := filepath.Join(content, "clients", "okafor-residence")
	edge := func(step string) {
		t.Helper()
		// A fact for okafor-residence: the edge rebuilds just that client.
		f := filepath.Join(edgeClient, "client.yaml")
		b, _ := os.ReadFile(f)
		os.WriteFile(f, append(b, []byte("# "+step+"\n")...), 0o644)
		if _, err := edgeBuilder.Build(ctx, []string{f}); err != nil {
			t.Fatalf("%s: edge rebuild: %v", step, err)
		}
		checkPublished(t, step, e.out, e.keys)
	}
	cfg := filepath.Join(content, site.ConfigFile)
	orig, _ := os.ReadFile(cfg)

	staff("first build")
	edge("first request")
	os.WriteFile(cfg, bytes.Replace(orig, []byte("phone: "), []byte("phone: +1 "), 1), 0o644)
	staff("phone changed")
	other := filepath.Join(content, "clients", "lindqvist", "client.yaml")
	ob, _ := os.ReadFile(other)
	os.WriteFile(other, append(ob, []byte("# an update\n")...), 0o644)
	staff("another client changed")
	os.WriteFile(cfg, orig, 0o644)
	staff("phone restored")
	edge("second request")
	edge("third request")
	staff("staff again")
}

// TestBuildsInterleaved runs staff builds (site-wide and one client) and
// edge rebuilds at the same time: builds take turns on the output's lock,
// and after each one the published output is whole.
func TestBuildsInterleaved(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	opt := Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow, Workers: 1}
	ctx := context.Background()
	if _, err := Build(ctx, opt); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(content, site.ConfigFile)
	orig, _ := os.ReadFile(cfg)
	edgeBuilder := NewBuilder(opt)
	var mu sync.Mutex // content edits only; builds lock the output themselves
	edit := func(f string, fn func([]byte) []byte) {
		mu.Lock()
		defer mu.Unlock()
		b, _ := os.ReadFile(f)
		// Replaced whole, as editors and git do: a build never reads half a file.
		if err := bundle.WriteFileAtomic(f, fn(b), 0o644); err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	const rounds = 4
	wg.Add(2)
	go func() { // staff
		defer wg.Done()
		for i := range rounds {
			edit(cfg, func([]byte) []byte {
				if i%2 == 0 {
					return bytes.Replace(orig, []byte("phone: "), []byte("phone: +1 "), 1)
				}
				return orig
			})
			if _, err := Build(ctx, opt); err != nil {
				errs <- err
			}
			f := filepath.Join(content, "clients", "lindqvist", "client.yaml")
			edit(f, func(b []byte) []byte { return append(b, []byte("# staff\n")...) })
			if _, err := Build(ctx, opt); err != nil {
				errs <- err
			}
		}
	}()
	go func() { // the edge
		defer wg.Done()
		f := filepath.Join(content, "clients", "okafor-residence", "client.yaml")
		for range rounds * 2 {
			edit(f, func(b []byte) []byte { return append(b, []byte("# fact\n")...) })
			if _, err := edgeBuilder.Build(ctx, []string{f}); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkPublished(t, "after the builds", e.out, e.keys)
	if _, err := edgeBuilder.Build(ctx, []string{filepath.Join(content, "clients", "okafor-residence", "client.yaml")}); err != nil {
		t.Fatal(err)
	}
	checkPublished(t, "after one more edge rebuild", e.out, e.keys)
}

// TestCollectKeepsPublished: a state that does not name a bundle the
// previous generation still links (a state written by another build, or
// lost) must not get that bundle removed while readers may be in it.
func TestCollectKeepsPublished(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	opt := Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow}
	ctx := context.Background()
	if _, err := Build(ctx, opt); err != nil {
		t.Fatal(err)
	}
	prev, _ := filepath.EvalSymlinks(e.out)
	dirs := OutputDirs(e.out)
	st := readState(dirs.State)
	st.Clients["lindqvist"].Key = "0123456789abcdef01234567" // not what is published
	if err := writeState(disk{}, dirs.State, st); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(content, site.ConfigFile)
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(b, []byte("phone: "), []byte("phone: +1 "), 1), 0o644)
	if _, err := Build(ctx, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(prev, "c", "lindqvist", bundle.SignatureName)); err != nil {
		t.Errorf("the previous generation's bundle of lindqvist was removed: %v", err)
	}
	checkPublished(t, "after the build", e.out, e.keys)
}

// TestOldAssetsKept is issue 11's second defect: a page loaded just before
// a site-wide build links the stylesheet of the generation before; it stays
// in the published public files for AssetGrace, then goes.
func TestOldAssetsKept(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	ctx := context.Background()
	build := func(now time.Time) *bundle.Manifest {
		t.Helper()
		if _, err := Build(ctx, Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: now}); err != nil {
			t.Fatal(err)
		}
		checkPublished(t, now.String(), e.out, e.keys)
		fsys, done, err := bundle.OpenDir(e.out)
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		ks, _ := bundle.LoadKeySet(e.keys)
		m, err := bundle.ReadManifest(fsys, ks)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	css := func(m *bundle.Manifest) []string {
		var out []string
		for _, f := range m.Files {
			if strings.HasPrefix(f.Path, "assets/style.") && strings.HasSuffix(f.Path, ".css") {
				out = append(out, f.Path)
			}
		}
		return out
	}
	cfg := filepath.Join(content, site.ConfigFile)
	orig, _ := os.ReadFile(cfg)
	recolour := func(c string) {
		t.Helper()
		b := regexp.MustCompile(`(?m)^color: .*$`).ReplaceAll(orig, []byte("color: \""+c+"\""))
		if bytes.Equal(b, orig) {
			t.Fatal("site.yaml has no color: line")
		}
		os.WriteFile(cfg, b, 0o644)
	}

	newOne := func(list, before []string) string {
		t.Helper()
		for _, p := range list {
			if !slices.Contains(before, p) {
				return p
			}
		}
		t.Fatalf("no new stylesheet among %q", list)
		return ""
	}
	first := css(build(testNow))
	if len(first) != 1 {
		t.Fatalf("first build's stylesheets = %q; want one", first)
	}
	s1 := first[0]
	recolour("#7a3b00")
	second := css(build(testNow.Add(time.Hour)))
	s2 := newOne(second, first)
	if !slices.Contains(second, s1) || len(second) != 2 {
		t.Fatalf("after a new stylesheet, the public files list %q; want %s and %s", second, s2, s1)
	}
	for _, p := range []string{s1, s1 + ".br", s1 + ".gz"} {
		if _, err := os.Stat(filepath.Join(e.out, p)); err != nil {
			t.Errorf("the previous generation's %s is not served: %v", p, err)
		}
	}
	recolour("#004c7a")
	third := css(build(testNow.Add(2 * time.Hour)))
	s3 := newOne(third, second)
	if len(third) != 3 {
		t.Errorf("third build's stylesheets = %q; want all three within the grace period", third)
	}
	// Back to the first colour, past the grace period of the second
	// stylesheet (last used an hour in) but not of the third.
	os.WriteFile(cfg, orig, 0o644)
	last := css(build(testNow.Add(AssetGrace + 90*time.Minute)))
	if want := []string{s1, s3}; !slices.Equal(slices.Sorted(slices.Values(last)), slices.Sorted(slices.Values(want))) {
		t.Errorf("after the grace period the stylesheets are %q; want %q (%s outlived it)", last, want, s2)
	}
	if _, err := os.Stat(filepath.Join(e.out, s2)); err == nil {
		t.Errorf("%s is still in the public files after the grace period", s2)
	}
}

// TestCollectLater: with CollectLater a Builder returns as soon as the new
// build is published, and the bundle it replaced is removed afterwards;
// Wait waits for that, and the next build starts only after it.
func TestCollectLater(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	b := NewBuilder(Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow, CollectLater: true})
	ctx := context.Background()
	if _, err := b.Build(ctx, nil); err != nil {
		t.Fatal(err)
	}
	b.Wait()
	dirs := OutputDirs(e.out)
	before := readState(dirs.State).Clients["lindqvist"].Key
	f := filepath.Join(content, "clients", "lindqvist", "client.yaml")
	data, _ := os.ReadFile(f)
	os.WriteFile(f, append(data, []byte("\n# edited\n")...), 0o644)
	if _, err := b.Build(ctx, []string{f}); err != nil {
		t.Fatal(err)
	}
	checkPublished(t, "right after the build", e.out, e.keys)
	b.Wait()
	after := readState(dirs.State).Clients["lindqvist"].Key
	if after == before {
		t.Fatal("the edit did not change the bundle key")
	}
	// collect keeps the bundle the last build served (a reader may still
	// be in it), so the one replaced two builds ago is what must go.
	if _, err := os.Stat(filepath.Join(dirs.Bundles, "lindqvist", after, "manifest.sig")); err != nil {
		t.Errorf("the new bundle is missing: %v", err)
	}
	os.WriteFile(f, append(data, []byte("\n# edited again\n")...), 0o644)
	if _, err := b.Build(ctx, []string{f}); err != nil {
		t.Fatal(err)
	}
	b.Wait()
	if _, err := os.Stat(filepath.Join(dirs.Bundles, "lindqvist", before)); !os.IsNotExist(err) {
		t.Errorf("the bundle replaced two builds ago is still there: %v", err)
	}
	checkPublished(t, "after the removals", e.out, e.keys)
}

// TestNumbersAcrossSaves: a Builder's saves, which read only the clients
// they touch, still find a number used twice across clients, stop
// reporting it once either client gives it up, and know a number an
// earlier save moved away from or to.
func TestNumbersAcrossSaves(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	b := NewBuilder(Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow})
	ctx := context.Background()
	if _, err := b.Build(ctx, nil); err != nil {
		t.Fatal(err)
	}
	renumber := func(client, file, from, to string) string {
		t.Helper()
		p := filepath.Join(content, "clients", client, "invoices", file)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Replace(data, []byte("number: "+from), []byte("number: "+to), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// lindqvist takes hawthorne-bistro's number: both files are named.
	p := renumber("lindqvist", "INV-2008-storm-cleanup.yaml", "INV-2008", "inv-2003")
	_, err := b.Build(ctx, []string{p})
	var ps site.Problems
	if !errors.As(err, &ps) || !strings.Contains(err.Error(), "INV-2003-september-patio.yaml") || !strings.Contains(err.Error(), "INV-2008-storm-cleanup.yaml") {
		t.Fatalf("a number used twice: %v; want both files named", err)
	}
	// It gives it back: the build goes through.
	p = renumber("lindqvist", "INV-2008-storm-cleanup.yaml", "inv-2003", "INV-2008")
	if _, err := b.Build(ctx, []string{p}); err != nil {
		t.Fatalf("after the number was given back: %v", err)
	}
	// hawthorne-bistro moves to a new number; then lindqvist takes the one
	// it left: no clash.
	p = renumber("hawthorne-bistro", "INV-2003-september-patio.yaml", "INV-2003", "INV-2103")
	if _, err := b.Build(ctx, []string{p}); err != nil {
		t.Fatal(err)
	}
	p = renumber("lindqvist", "INV-2008-storm-cleanup.yaml", "INV-2008", "INV-2003")
	if _, err := b.Build(ctx, []string{p}); err != nil {
		t.Errorf("a number another client gave up: %v", err)
	}
	// And the number hawthorne-bistro took is found too.
	p = renumber("okafor-residence", "INV-2002-home-maintenance.yaml", "INV-2002", "INV-2103")
	if _, err := b.Build(ctx, []string{p}); err == nil || !strings.Contains(err.Error(), "INV-2003-september-patio.yaml") {
		t.Errorf("a number taken in an earlier save: %v; want hawthorne-bistro's file named", err)
	}
}
