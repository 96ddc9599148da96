package generator

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hubhq/hub/generator/site"
	"github.com/hubhq/hub/themes"
)

// BenchmarkNumberCheck: the site-wide check of numbers after one client of
// 10,000 (8 numbers each) was read, over every number ("all") and over
// what numbers() lists.
func BenchmarkNumberCheck(b *testing.B) {
	loader, _ := site.NewLoader(b.TempDir(), testNow)
	r := &run{loader: loader, old: &state{Clients: map[string]*clientState{}}, next: &state{Clients: map[string]*clientState{}}}
	for i := range 10000 {
		id := fmt.Sprintf("client-%05d", i)
		cs := &clientState{loaded: i == 5000}
		for j := range 8 {
			cs.Numbers = append(cs.Numbers, fmt.Sprintf("INV-%d-%d", i, j))
			cs.NumFiles = append(cs.NumFiles, fmt.Sprintf("invoices/INV-%d-%d.yaml", i, j))
		}
		r.ids = append(r.ids, id)
		r.next.Clients[id], r.old.Clients[id] = cs, cs
	}
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			var nums []site.Numbered
			for _, id := range r.ids {
				nums = append(nums, r.next.Clients[id].numbered(r.loader.ClientDir(id))...)
			}
			if ps := site.CheckNumbers(nums); ps != nil {
				b.Fatal(ps)
			}
		}
	})
	b.Run("numbers", func(b *testing.B) {
		for b.Loop() {
			if ps := site.CheckNumbers(r.numbers()); ps != nil {
				b.Fatal(ps)
			}
		}
	})
}

// BenchmarkColdBuild: a full build of the sample site (7 clients, their
// pages, sidecars and PDFs) into a new output; with -benchmem, what it
// allocates, which does not vary with the machine's load.
//
//	TMPDIR=/dev/shm go test -run '^$' -bench ColdBuild -benchmem ./generator
func BenchmarkColdBuild(b *testing.B) {
	for _, noPDF := range []bool{false, true} {
		b.Run(fmt.Sprintf("nopdf=%v", noPDF), func(b *testing.B) {
			keys := filepath.Join(b.TempDir(), "keys")
			for b.Loop() {
				out := filepath.Join(b.TempDir(), "public")
				if _, err := Build(context.Background(), Options{Content: sample, Out: out, Keys: keys, Theme: themes.Default(), Now: testNow, Full: true, NoPDF: noPDF}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
