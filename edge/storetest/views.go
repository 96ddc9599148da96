package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

var viewTests = []test{
	{"Views", testViews},
	{"ViewsConcurrent", testViewsConcurrent},
}

// testViews: batches of views add up per client, contact and document:
// the earliest first view, the latest last view, the counts summed; a
// client's views are listed most recent first.
func testViews(t *testing.T, s Store) {
	ctx := context.Background()
	vs, err := s.Views(ctx, "")
	if err != nil || len(vs) != 0 {
		t.Fatalf("Views on a new store = %v, %v", vs, err)
	}
	q := "quotes/Q-1/"
	must(t, s.RecordViews(ctx, []edge.View{
		{Client: "acme", Email: "ada@acme.example", Doc: q, First: T0.Add(time.Hour), Last: T0.Add(2 * time.Hour), Count: 2},
		{Client: "acme", Email: "bob@acme.example", Doc: "invoices/I-1/I-1.pdf", First: T0, Last: T0, Count: 1},
		{Client: "globex", Email: "cy@globex.example", Doc: q, First: T0, Last: T0.Add(5 * time.Hour), Count: 3},
	}))
	// A later batch, from another edge whose first view came earlier.
	must(t, s.RecordViews(ctx, []edge.View{
		{Client: "acme", Email: "ada@acme.example", Doc: q, First: T0.Add(30 * time.Minute), Last: T0.Add(90 * time.Minute), Count: 4},
	}))
	vs, err = s.Views(ctx, "acme")
	must(t, err)
	want := []edge.View{
		{Client: "acme", Email: "ada@acme.example", Doc: q, First: T0.Add(30 * time.Minute), Last: T0.Add(2 * time.Hour), Count: 6},
		{Client: "acme", Email: "bob@acme.example", Doc: "invoices/I-1/I-1.pdf", First: T0, Last: T0, Count: 1},
	}
	if len(vs) != len(want) {
		t.Fatalf("Views(acme) = %+v; want %+v", vs, want)
	}
	for i := range want {
		if vs[i] != want[i] || vs[i].First.Location() != time.UTC {
			t.Errorf("Views(acme)[%d] = %+v; want %+v (in UTC)", i, vs[i], want[i])
		}
	}
	if all, _ := s.Views(ctx, ""); len(all) != 3 {
		t.Errorf("Views(\"\") = %d views; want 3", len(all))
	}
}

// testViewsConcurrent: edges flushing the same documents at once lose
// no count.
func testViewsConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	docs := []string{"quotes/Q-1/", "quotes/Q-2/", "invoices/I-1/"}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []edge.View
			for j := range docs { // each in a different order: no deadlock
				d := docs[(i+j)%len(docs)]
				batch = append(batch, edge.View{Client: "acme", Email: "ada@acme.example", Doc: d, First: T0.Add(time.Duration(i) * time.Minute), Last: T0.Add(time.Duration(i) * time.Minute), Count: 1})
			}
			if err := s.RecordViews(ctx, batch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	vs, err := s.Views(ctx, "acme")
	must(t, err)
	for _, v := range vs {
		if v.Count != 8 || !v.First.Equal(T0) || !v.Last.Equal(T0.Add(7*time.Minute)) {
			t.Errorf("%s after 8 concurrent batches: %+v; want 8 views from T0 to T0+7m", v.Doc, v)
		}
	}
	if len(vs) != len(docs) {
		t.Errorf("%d documents; want %d", len(vs), len(docs))
	}
}
