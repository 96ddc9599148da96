package sqlstore

import (
	"testing"

	"github.com/hubhq/hub/edge/storetest"
)

var _ storetest.Store = (*Store)(nil)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t, t.TempDir()) })
}

// TestShared: two stores on one file (the edge and a staff command, or two
// edge processes during a restart), each with its own connection pool.
func TestShared(t *testing.T) {
	dir := t.TempDir()
	storetest.RunShared(t, open(t, dir), open(t, dir))
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.Store {
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
