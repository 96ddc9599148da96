package watch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestWatchBatchesAndNewFolders(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "clients", "acme"), 0o755)
	w, err := New(root, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan []string, 10)
	go w.Run(ctx, out)

	// A burst of saves in an existing folder is one batch.
	f := filepath.Join(root, "clients", "acme", "client.yaml")
	for i := 0; i < 5; i++ {
		os.WriteFile(f, []byte("name: x\n"), 0o644)
		time.Sleep(5 * time.Millisecond)
	}
	batch := next(t, out)
	if !slices.Contains(batch, f) {
		t.Errorf("batch %v lacks %s", batch, f)
	}
	select {
	case extra := <-out:
		t.Errorf("a burst of saves gave a second batch %v", extra)
	case <-time.After(400 * time.Millisecond):
	}

	// A new folder is watched as it appears: a file written in it is seen.
	nd := filepath.Join(root, "clients", "newco", "quotes")
	os.MkdirAll(nd, 0o755)
	next(t, out)
	q := filepath.Join(nd, "q.yaml")
	os.WriteFile(q, []byte("number: Q-1\n"), 0o644)
	if batch := next(t, out); !slices.Contains(batch, q) {
		t.Errorf("a file in a new folder was not seen: %v", batch)
	}

	// Editor droppings are ignored.
	os.WriteFile(filepath.Join(root, "clients", "acme", ".client.yaml.swp"), []byte("x"), 0o644)
	select {
	case b := <-out:
		t.Errorf("an editor swap file gave a batch %v", b)
	case <-time.After(500 * time.Millisecond):
	}
}

func next(t *testing.T, out chan []string) []string {
	t.Helper()
	select {
	case b := <-out:
		return b
	case <-time.After(3 * time.Second):
		t.Fatal("no batch of changes")
	}
	return nil
}
