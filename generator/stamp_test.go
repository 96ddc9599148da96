package generator

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestStampClient: a stamp taken with the last one (its fast check of the
// recorded stamps, or the walk that re-lists changed folders) always
// equals a stamp taken from nothing, and the content hash changes exactly
// when a file's bytes, name or presence did.
func TestStampClient(t *testing.T) {
	later := time.Now().Add(time.Hour)
	tests := []struct {
		name    string
		change  func(t *testing.T, dir string)
		changes bool // the content hash changes
	}{
		{"nothing", func(*testing.T, string) {}, false},
		{"a file rewritten in place, same size", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "invoices", "INV-1.yaml")
			write(t, p, "number: INV-2\n")
			os.Chtimes(p, later, later)
		}, true},
		{"the same bytes written again", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "client.yaml")
			write(t, p, "name: Acme\n")
			os.Chtimes(p, later, later)
		}, false},
		{"a file added deep down", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "portals", "site", "docs", "plan.pdf"), "%PDF")
		}, true},
		{"a file removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "quotes", "Q-1.yaml")) }, true},
		{"a hidden file added", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "invoices", ".INV-1.yaml.swp"), "x") }, false},
		{"a file renamed", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "quotes", "Q-1.yaml"), filepath.Join(dir, "quotes", "Q-9.yaml"))
		}, true},
		{"a file replaced by a folder", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "portals", "site", "index.md")
			os.Remove(p)
			write(t, filepath.Join(p, "inner.md"), "# Hi\n")
		}, true},
		{"a folder touched", func(t *testing.T, dir string) { os.Chtimes(filepath.Join(dir, "invoices"), later, later) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "client.yaml"), "name: Acme\n")
			write(t, filepath.Join(dir, "invoices", "INV-1.yaml"), "number: INV-1\n")
			write(t, filepath.Join(dir, "quotes", "Q-1.yaml"), "number: Q-1\n")
			write(t, filepath.Join(dir, "portals", "site", "index.md"), "# Site\n")
			files, dirs, content, err := stampClient(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			old := &clientState{Files: files, Dirs: dirs, Content: content}
			tt.change(t, dir)
			gotFiles, gotDirs, got, err := stampClient(dir, old)
			if err != nil {
				t.Fatal(err)
			}
			wantFiles, wantDirs, want, _ := stampClient(dir, nil)
			if got != want || !reflect.DeepEqual(gotFiles, wantFiles) || !reflect.DeepEqual(gotDirs, wantDirs) {
				t.Errorf("stamp with the last one differs from a stamp from nothing:\n got %v %v\nwant %v %v", gotFiles, gotDirs, wantFiles, wantDirs)
			}
			if (got != content) != tt.changes {
				t.Errorf("content changed: %v, want %v", got != content, tt.changes)
			}
		})
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
