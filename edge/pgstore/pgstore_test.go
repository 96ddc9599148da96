package pgstore

import (
	"context"
	"testing"

	"github.com/hubhq/hub/edge/storetest"
	"github.com/hubhq/hub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var _ storetest.Store = (*Store)(nil)

func open(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t, pgtest.Start(t)) })
}

// TestShared: two edges' stores on one database, each with its own pool.
func TestShared(t *testing.T) {
	url := pgtest.Start(t)
	storetest.RunShared(t, open(t, url), open(t, url))
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.Store { return open(b, pgtest.Start(b)) })
}
