package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateHugo builds the Hugo side of the comparison for two clients
// and checks it has hub's 18 pages per client with the amounts filled in.
// Skipped without a hugo binary.
func TestGenerateHugo(t *testing.T) {
	hugo := findHugo()
	if hugo == "" {
		t.Skip("no hugo binary (HUB_BENCH_HUGO, PATH or GOPATH/bin)")
	}
	dir := t.TempDir()
	src, out := filepath.Join(dir, "site"), filepath.Join(dir, "public")
	if err := GenerateHugo(src, 2); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(hugo, "--quiet", "--source", src, "--destination", out, "--cacheDir", filepath.Join(dir, "cache")).CombinedOutput(); err != nil {
		t.Fatalf("hugo: %v\n%s", err, b)
	}
	if n := countHTML(out); n != 36 {
		t.Errorf("%d client pages for 2 clients; want 36 (hub's 18 each)", n)
	}
	page, err := os.ReadFile(filepath.Join(out, "c", "client-00001", "quotes", "q-0", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Q-1-0", "$215.50", "<strong>planting plan</strong>", "Total"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the quote page has no %q:\n%s", want, page)
		}
	}
}
