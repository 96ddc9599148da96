package generator

import (
	"fmt"
	"testing"

	"github.com/hubhq/hub/generator/site"
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
