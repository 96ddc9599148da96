package generator

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenPages are rendered pages compared byte for byte with
// testdata/golden; after an intended change, `make golden` (go test
// -run TestGolden -update) rewrites them and the diff is reviewed.
var goldenPages = []string{
	"index.html",
	"404.html",
	"login/continue/index.html",
	"c/whitfield-dental/index.html",
	"c/whitfield-dental/account/index.html",
	"c/whitfield-dental/quotes/Q-1009/index.html",
	"c/whitfield-dental/invoices/index.html",
	"c/whitfield-dental/invoices/INV-2001/index.html",
	"c/whitfield-dental/subscriptions/SUB-3001/index.html",
	"c/whitfield-dental/receipts/INV-2001-1/index.html",
	"c/whitfield-dental/portals/courtyard-renovation/index.html",
	"c/okafor-residence/quotes/Q-1002/index.html",
	"c/hawthorne-bistro/invoices/INV-2003/index.html",
	"c/marisol-chen/index.html",
}

func TestGolden(t *testing.T) {
	e := newEnv(t, sample)
	e.mustBuild(t, testNow)
	for _, p := range goldenPages {
		t.Run(p, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(e.out, filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			// One tag per line, so a golden diff is readable.
			got = bytes.ReplaceAll(got, []byte("><"), []byte(">\n<"))
			file := filepath.Join("testdata", "golden", strings.ReplaceAll(p, "/", "_"))
			if *update {
				os.MkdirAll(filepath.Dir(file), 0o755)
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			checkGolden(t, p, got, file)
		})
	}
}

// checkGolden compares got, the output named name, with the golden file.
func checkGolden(t *testing.T, name string, got []byte, file string) {
	t.Helper()
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run make golden to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs from %s at line %d:\n got: %q\nwant: %q\n(run make golden after an intended change)", name, file, i+1, g, w)
		}
	}
}
