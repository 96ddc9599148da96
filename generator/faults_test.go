package generator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/hubhq/hub/generator/site"
	"github.com/hubhq/hub/themes"
)

var errInjected = errors.New("injected fault")

// hexRun matches bundle keys, generation names and fingerprints.
var hexRun = regexp.MustCompile(`[0-9a-f]{8,}|\d{8}T\d{6}-\d+`)

// snapshot hashes everything a visitor could read in the output.
func snapshot(t *testing.T, out string) [32]byte {
	t.Helper()
	files := outputFiles(t, out)
	h := sha256.New()
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range files {
			if !yield(p) {
				return
			}
		}
	}) {
		fmt.Fprintf(h, "%s %d\n", p, len(files[p]))
		h.Write(files[p])
	}
	return [32]byte(h.Sum(nil))
}

// TestBuildFaults fails a build at each write, fsync, rename and folder
// fsync in turn (every one that is not a page or sidecar write, and a
// sample of those): the output must stay whole, show the previous build or
// the new one and never a mix, and the next build must succeed.
func TestBuildFaults(t *testing.T) {
	changes := []struct {
		name string
		edit func(content string)
	}{
		{"one client", func(content string) {
			f := filepath.Join(content, "clients", "lindqvist", "client.yaml")
			b, _ := os.ReadFile(f)
			os.WriteFile(f, bytes.Replace(b, []byte("name: "), []byte("name: Fault "), 1), 0o644)
		}},
		{"site-wide", func(content string) {
			f := filepath.Join(content, site.ConfigFile)
			b, _ := os.ReadFile(f)
			os.WriteFile(f, bytes.Replace(b, []byte("phone: "), []byte("phone: +1 "), 1), 0o644)
		}},
	}
	ctx := context.Background()
	for _, ch := range changes {
		t.Run(ch.name, func(t *testing.T) {
			t.Parallel()
			// setup is a built output with the change made to its content.
			keys := t.TempDir() // one signing key, so that outputs compare
			setup := func(t *testing.T) (*env, Options, [32]byte) {
				content := copyTree(t, sample)
				e := newEnv(t, content)
				e.keys = keys
				opt := Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow, Workers: 1, NoPDF: true}
				if _, err := Build(ctx, opt); err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, e.out)
				ch.edit(content)
				return e, opt, before
			}
			// The operations of the build, in order, and what it publishes.
			e, opt, before := setup(t)
			type op struct{ op, path string }
			var ops []op
			opt.Fault = func(o, p string) error { ops = append(ops, op{o, p}); return nil }
			if _, err := Build(ctx, opt); err != nil {
				t.Fatal(err)
			}
			after := snapshot(t, e.out)
			if after == before {
				t.Fatal("the change did not change the output")
			}
			// Each kind of operation once: the same operation on another
			// client's bundle or another page teaches nothing new.
			var trials []int
			seen := map[string]bool{}
			writes := 0
			for i, o := range ops {
				kind := o.op + " " + hexRun.ReplaceAllString(filepath.Base(filepath.Dir(o.path))+"/"+filepath.Base(o.path), "X")
				if o.op == OpWrite {
					writes++
					kind = fmt.Sprintf("%s %d", o.op, writes/100)
				}
				if !seen[kind] || i == len(ops)-1 {
					seen[kind] = true
					trials = append(trials, i)
				}
			}
			t.Logf("%d operations (%d writes); failing at %d of them in turn", len(ops), writes, len(trials))
			for _, k := range trials {
				e, opt, _ := setup(t)
				n := 0
				opt.Fault = func(o, p string) error {
					n++
					if n-1 == k {
						return fmt.Errorf("%s %s: %w", o, p, errInjected)
					}
					return nil
				}
				step := fmt.Sprintf("failing %s of %s (operation %d)", ops[k].op, filepath.Base(ops[k].path), k)
				if _, err := Build(ctx, opt); !errors.Is(err, errInjected) {
					t.Fatalf("%s: build = %v; want the injected error", step, err)
				}
				checkPublished(t, step, e.out, e.keys)
				if got := snapshot(t, e.out); got != before && got != after {
					t.Errorf("%s: the output is neither the previous build nor the new one", step)
				}
				opt.Fault = nil
				if _, err := Build(ctx, opt); err != nil {
					t.Fatalf("%s: the next build: %v", step, err)
				}
				checkPublished(t, step+", then a good build", e.out, e.keys)
				if snapshot(t, e.out) != after {
					t.Errorf("%s: the good build after it does not publish the change", step)
				}
			}
		})
	}
}
