package generator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/hubhq/hub/themes"
	"github.com/klauspost/compress/gzip"
)

// sidecarSample is the compressible files (no sidecars) of a built
// output: $HUB_SIDECAR_DIR (a public.d/bundles of a hubbench site, say)
// or the sample site, built once.
func sidecarSample(b *testing.B) [][]byte {
	b.Helper()
	dir := os.Getenv("HUB_SIDECAR_DIR")
	if dir == "" {
		e := &env{content: sample, out: filepath.Join(b.TempDir(), "public"), keys: filepath.Join(b.TempDir(), "keys")}
		if _, err := Build(context.Background(), Options{Content: e.content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow}); err != nil {
			b.Fatal(err)
		}
		dir = e.out + ".d"
	}
	var files [][]byte
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !compressible[strings.ToLower(filepath.Ext(p))] || filepath.Base(p) == "manifest.json" {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && len(data) >= minCompressSize {
			files = append(files, data)
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return files
}

// BenchmarkSidecars compresses a site's pages with each candidate
// encoder and reports the bytes in and out (B/page), so that the time and
// the size of a sidecar setting can be weighed (docs/architecture.md,
// Compression):
//
//	go test -run '^$' -bench Sidecars ./generator
//	HUB_SIDECAR_DIR=DIR/public.d/bundles go test -run '^$' -bench Sidecars ./generator
func BenchmarkSidecars(b *testing.B) {
	files := sidecarSample(b)
	var in int
	for _, f := range files {
		in += len(f)
	}
	type enc struct {
		name string
		run  func(w *bytes.Buffer, data []byte)
	}
	var encs []enc
	for _, level := range []int{1, 4, 5, 6, 9} {
		zw, _ := gzip.NewWriterLevel(nil, level) // reused, as the writer's pools do
		encs = append(encs, enc{"gzip-" + string(rune('0'+level)), func(w *bytes.Buffer, data []byte) {
			zw.Reset(w)
			zw.Write(data)
			zw.Close()
		}})
	}
	for _, q := range []int{2, 3, 4, 5, 6} {
		bw := brotli.NewWriterOptions(nil, brotli.WriterOptions{Quality: q, LGWin: 16})
		encs = append(encs, enc{"brotli-" + string(rune('0'+q)), func(w *bytes.Buffer, data []byte) {
			bw.Reset(w)
			bw.Write(data)
			bw.Close()
		}})
	}
	for _, e := range encs {
		b.Run(e.name, func(b *testing.B) {
			var out int
			var buf bytes.Buffer
			cpu0 := cpuTime()
			for b.Loop() {
				out = 0
				for _, f := range files {
					buf.Reset()
					e.run(&buf, f)
					out += buf.Len()
				}
			}
			b.ReportMetric(float64(in)/float64(len(files)), "in-B/page")
			b.ReportMetric(float64(out)/float64(len(files)), "out-B/page")
			// CPU time, steadier than the wall clock on a shared machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N)/float64(len(files)), "cpu-µs/page")
		})
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSidecars: which files get which sidecars, and that each decompresses
// to its file.
func TestSidecars(t *testing.T) {
	page := bytes.Repeat([]byte("<p>Invoice INV-2001, due 1 December.</p>\n"), 100) // 4.2 KB
	big := bytes.Repeat([]byte("<tr><td>Line</td><td>$1,200.00</td></tr>\n"), 1000) // 41 KB
	for _, tt := range []struct {
		name   string
		file   string
		data   []byte
		brMin  int
		gz, br bool
	}{
		{"small page of a bundle", "index.html", page, bundleBrotliMin, true, false},
		{"large page of a bundle", "statement/index.html", big, bundleBrotliMin, true, true},
		{"public page", "index.html", page, publicBrotliMin, true, true},
		{"tiny file", "a.css", []byte("body{margin:0}"), publicBrotliMin, false, false},
		{"not compressible", "a.pdf", big, publicBrotliMin, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			entries, err := newWriter().writeAll(dir, []outFile{{path: tt.file, data: tt.data}}, tt.brMin)
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]bool{}
			for _, e := range entries {
				listed[e.Path] = true
			}
			for _, s := range []struct {
				ext  string
				want bool
			}{{".gz", tt.gz}, {".br", tt.br}} {
				b, err := os.ReadFile(filepath.Join(dir, tt.file+s.ext))
				if got := err == nil; got != s.want || listed[tt.file+s.ext] != s.want {
					t.Fatalf("%s%s written %v, listed %v; want %v", tt.file, s.ext, got, listed[tt.file+s.ext], s.want)
				}
				if !s.want {
					continue
				}
				var r io.Reader = brotli.NewReader(bytes.NewReader(b))
				if s.ext == ".gz" {
					if r, err = gzip.NewReader(bytes.NewReader(b)); err != nil {
						t.Fatal(err)
					}
				}
				plain, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(plain, tt.data) {
					t.Errorf("%s%s does not decompress to the file (%v)", tt.file, s.ext, err)
				}
			}
		})
	}
}

func TestSpread(t *testing.T) {
	for _, width := range []int{0, 1, 2, 8} {
		for _, n := range []int{0, 1, 5, 40} {
			var ran atomic.Int64
			errAt := func(i int) error { return fmt.Errorf("job %d", i) }
			err := spread(width, n, func(i int) error {
				ran.Add(1)
				if i == 3 || i == n-1 {
					return errAt(i)
				}
				return nil
			})
			switch {
			case n == 0 && err != nil:
				t.Errorf("width %d, no jobs: %v", width, err)
			case n > 0 && n <= 3 && (err == nil || err.Error() != errAt(n-1).Error()):
				t.Errorf("width %d, %d jobs: %v, want job %d's error", width, n, err, n-1)
			case n > 3 && (err == nil || err.Error() != "job 3"):
				t.Errorf("width %d, %d jobs: %v, want job 3's error (the lowest that failed)", width, n, err)
			}
			if width > 1 && ran.Load() != int64(n) {
				t.Errorf("width %d: %d of %d jobs ran", width, ran.Load(), n)
			}
		}
	}
}
