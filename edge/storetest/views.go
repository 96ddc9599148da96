package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

var viewTests = []test{
	{"Views", testViews},
	{"ViewsConcurrent", testViewsConcurrent},
	{"FirstViews", testFirstViews},
	{"FirstViewsConcurrent", testFirstViewsConcurrent},
	{"Sends", testSends},
}

// testFirstViews: a contact's first view of a document (any of its
// paths) is a fact: recorded with one event per client per batch and the
// client queued for a rebuild; later views of it change no fact (no event,
// no rebuild), an earlier one from a slower edge moves it back; views
// without a Document are activity only.
func testFirstViews(t *testing.T, s Store) {
	ctx := context.Background()
	ada, bob := "ada@acme.example", "bob@acme.example"
	v := func(client, email, doc, document string, at time.Duration) edge.View {
		return edge.View{Client: client, Email: email, Doc: doc, Document: document, First: T0.Add(at), Last: T0.Add(at), Count: 1}
	}
	events0, _ := s.EventCount(ctx)
	must(t, s.RecordViews(ctx, []edge.View{
		v("acme", ada, "quotes/Q-1/", "quote/Q-1", time.Hour),
		v("acme", ada, "quotes/Q-1/Q-1.pdf", "quote/Q-1", 2*time.Hour), // the same document
		v("acme", bob, "invoices/I-1/", "invoice/I-1", 3*time.Hour),
		v("acme", ada, "statement/", "", 0), // no history
		v("globex", "cy@globex.example", "quotes/Q-9/", "quote/Q-9", time.Hour),
	}))
	if n, _ := s.EventCount(ctx); n != events0+2 {
		t.Errorf("events after a batch of first views of two clients = %d; want %d (one per client)", n, events0+2)
	}
	vers, err := s.Versions(ctx)
	must(t, err)
	if vers["acme"] == 0 || vers["globex"] == 0 {
		t.Errorf("Versions after first views = %v; want acme and globex", vers)
	}
	js, err := s.Rebuilds(ctx)
	must(t, err)
	if len(js) != 2 {
		t.Errorf("Rebuilds after first views = %+v; want acme and globex", js)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	want := []events.FirstView{{Doc: "quote/Q-1", Email: ada, At: T0.Add(time.Hour)}, {Doc: "invoice/I-1", Email: bob, At: T0.Add(3 * time.Hour)}}
	if !slices.Equal(f.Views, want) {
		t.Errorf("Facts(acme).Views = %+v; want %+v", f.Views, want)
	}
	// Later views of documents already viewed: activity, no fact.
	before, _ := s.EventCount(ctx)
	must(t, s.RecordViews(ctx, []edge.View{
		v("acme", ada, "quotes/Q-1/", "quote/Q-1", 5*time.Hour),
		v("acme", ada, "quotes/Q-1/Q-1.pdf", "quote/Q-1", 5*time.Hour),
		v("acme", bob, "invoices/I-1/", "invoice/I-1", 6*time.Hour),
	}))
	if n, _ := s.EventCount(ctx); n != before {
		t.Errorf("events after views of documents already viewed = %d; want %d (no fact changed)", n, before)
	}
	if v2, _ := s.Versions(ctx); v2["acme"] != vers["acme"] {
		t.Errorf("acme's version moved from %d to %d on views of documents already viewed", vers["acme"], v2["acme"])
	}
	// A slower edge's earlier first view moves it back: a fact changed.
	must(t, s.RecordViews(ctx, []edge.View{v("acme", bob, "invoices/I-1/I-1.pdf", "invoice/I-1", 2*time.Hour)}))
	if n, _ := s.EventCount(ctx); n != before+1 {
		t.Errorf("events after an earlier first view = %d; want %d", n, before+1)
	}
	f, err = s.Facts(ctx, "acme")
	must(t, err)
	if len(f.Views) != 2 || f.Views[1] != (events.FirstView{Doc: "invoice/I-1", Email: bob, At: T0.Add(2 * time.Hour)}) {
		t.Errorf("Facts(acme).Views after an earlier view = %+v; want bob's at T0+2h", f.Views)
	}
	// Counting is unchanged: views are still listed per path.
	if vs, _ := s.Views(ctx, "acme"); len(vs) != 5 {
		t.Errorf("Views(acme) = %d paths; want 5", len(vs))
	}
}

// testFirstViewsConcurrent: edges flushing first views of several clients
// at once (in different orders) neither deadlock nor record a document's
// first view twice.
func testFirstViewsConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	clients := []string{"acme", "globex", "initech"}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []edge.View
			for j := range clients {
				c := clients[(i+j)%len(clients)]
				at := T0.Add(time.Duration(6-i) * time.Minute)
				batch = append(batch, edge.View{Client: c, Email: "ada@" + c + ".example", Doc: "quotes/Q-1/", Document: "quote/Q-1", First: at, Last: at, Count: 1})
			}
			if err := s.RecordViews(ctx, batch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, c := range clients {
		f, err := s.Facts(ctx, c)
		must(t, err)
		if len(f.Views) != 1 || !f.Views[0].At.Equal(T0.Add(time.Minute)) {
			t.Errorf("Facts(%s).Views = %+v; want one, the earliest (T0+1m)", c, f.Views)
		}
	}
}

// testSends: documents emailed are facts, in the order sent, with one
// event and the client's rebuild per call.
func testSends(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.RecordSends(ctx, "acme", nil))
	if n, _ := s.EventCount(ctx); n != 0 {
		t.Errorf("events after no sends = %d; want 0", n)
	}
	must(t, s.RecordSends(ctx, "acme", []events.Send{
		{Doc: "quote/Q-1", Email: "ada@acme.example", At: T0},
		{Doc: "quote/Q-1", Email: "bob@acme.example", At: T0},
	}))
	must(t, s.RecordSends(ctx, "acme", []events.Send{{Doc: "invoice/I-1", Email: "ada@acme.example", At: T0.Add(time.Hour)}}))
	if n, _ := s.EventCount(ctx); n != 2 {
		t.Errorf("events after two sends = %d; want 2", n)
	}
	if js, _ := s.Rebuilds(ctx); len(js) != 1 || js[0].Client != "acme" {
		t.Errorf("Rebuilds after sends = %+v; want acme", js)
	}
	f, err := s.Facts(ctx, "acme")
	must(t, err)
	want := []events.Send{
		{Doc: "quote/Q-1", Email: "ada@acme.example", At: T0},
		{Doc: "quote/Q-1", Email: "bob@acme.example", At: T0},
		{Doc: "invoice/I-1", Email: "ada@acme.example", At: T0.Add(time.Hour)},
	}
	if !slices.Equal(f.Sends, want) {
		t.Errorf("Facts(acme).Sends = %+v; want %+v", f.Sends, want)
	}
	if f, _ := s.Facts(ctx, "globex"); len(f.Sends) != 0 {
		t.Errorf("Facts(globex).Sends = %+v; want none", f.Sends)
	}
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
