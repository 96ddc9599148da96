package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/hubhq/hub/generator/bundle"
	"github.com/klauspost/compress/gzip"
	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	"github.com/tdewolff/minify/v2/html"
	"github.com/tdewolff/minify/v2/js"
	"github.com/tdewolff/minify/v2/svg"
)

// outFile is a file to publish: bytes in memory, or a source file to copy.
type outFile struct {
	path string // slash-separated, relative to the folder being written
	data []byte
	src  string // copy this file when data is nil
}

// compressible file extensions get .gz and .br sidecars.
var compressible = map[string]bool{
	".html": true, ".css": true, ".js": true, ".svg": true, ".json": true,
	".txt": true, ".csv": true, ".xml": true, ".md": true,
}

// Sidecars are only written for files at least this big, and only when
// they save at least 10%.
const minCompressSize = 256

// Minimum sizes of a file that gets a .br beside its .gz: the public files
// (written once per build, read by every visitor) get one from
// minCompressSize; a client's files only from bundleBrotliMin. Brotli 6
// costs about four times gzip 6's CPU for 13% fewer bytes (about 220 of a
// 5 KB page); below 32 KiB either sidecar is at most about 11 KB, which a
// server sends in its first round trip (an initial congestion window of 10
// segments, about 14 KB), so the smaller one arrives no sooner. Measured
// with BenchmarkSidecars; see docs/architecture.md, Compression.
const (
	publicBrotliMin = minCompressSize
	bundleBrotliMin = 32 << 10
)

// writer writes published files: minified, hashed, with sidecars.
type writer struct {
	min       *minify.M
	brQuality int
	bytesOut  int64
	filesOut  int64
	mu        sync.Mutex
	disk      disk
	spread    int // files of one bundle written at once (see renderer.spread)
}

func newWriter() *writer {
	m := minify.New()
	m.Add("text/html", &html.Minifier{KeepDocumentTags: true, KeepEndTags: true, KeepQuotes: true, KeepDefaultAttrVals: true})
	m.AddFunc("text/css", css.Minify)
	m.AddFunc("image/svg+xml", svg.Minify)
	m.AddFunc("application/javascript", js.Minify)
	return &writer{min: m, brQuality: 6}
}

// minifyHTML minifies a rendered page. The minifier reads b's bytes in
// place (a reader would be copied whole first) and may write one byte past
// them, in b's spare capacity.
func (w *writer) minifyHTML(b *bytes.Buffer) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(b.Len())
	if err := w.min.Minify("text/html", &out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (w *writer) minifyJS(b []byte) ([]byte, error) {
	return lastJS.of(b, func() ([]byte, error) {
		var buf bytes.Buffer
		if err := w.min.Minify("application/javascript", &buf, bytes.NewReader(b)); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	})
}

func (w *writer) minifyCSS(b []byte) ([]byte, error) {
	return lastCSS.of(b, func() ([]byte, error) {
		var out bytes.Buffer
		if err := w.min.Minify("text/css", &out, bytes.NewReader(b)); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	})
}

// lastMinified keeps the last stylesheet and script minified: every
// build (each save under hub serve) minifies the same ones again, and
// that cost as much as rendering a client's pages. The minifier's output
// depends only on its input, so equal input gives the bytes kept.
type lastMinified struct {
	mu      sync.Mutex
	in, out []byte
}

var lastCSS, lastJS lastMinified

func (l *lastMinified) of(in []byte, minify func() ([]byte, error)) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out != nil && bytes.Equal(l.in, in) {
		return l.out, nil
	}
	out, err := minify()
	if err != nil {
		return nil, err
	}
	l.in, l.out = bytes.Clone(in), out
	return out, nil
}

// writeAll writes files under dir (which must exist) and returns their
// manifest entries, sidecars included: a .gz for every compressible file of
// at least minCompressSize bytes, and a .br for those of at least brMin.
func (w *writer) writeAll(dir string, files []outFile, brMin int) ([]bundle.File, error) {
	made := map[string]bool{}
	full := make([]string, len(files))
	for i, f := range files {
		if !bundle.CleanPath(f.path) {
			return nil, fmt.Errorf("refusing to write %q: not a clean relative path", f.path)
		}
		full[i] = filepath.Join(dir, filepath.FromSlash(f.path))
		if d := filepath.Dir(full[i]); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
			made[d] = true
		}
	}
	// Each file's entries (the file, then its sidecars) in its own place,
	// so the manifest lists them in the order of files however they are
	// spread.
	each := make([][]bundle.File, len(files))
	err := spread(w.spread, len(files), func(i int) (err error) {
		each[i], err = w.writeOne(full[i], files[i], brMin)
		return err
	})
	if err != nil {
		return nil, err
	}
	var entries []bundle.File
	var bytesOut, filesOut int64
	for _, es := range each {
		for _, e := range es {
			entries = append(entries, e)
			bytesOut += e.Size
			filesOut++
		}
	}
	w.mu.Lock()
	w.bytesOut += bytesOut
	w.filesOut += filesOut
	w.mu.Unlock()
	return entries, nil
}

// writeOne writes one file to full, and its sidecars where they pay.
func (w *writer) writeOne(full string, f outFile, brMin int) ([]bundle.File, error) {
	data := f.data
	var e bundle.File
	if data == nil {
		if err := w.disk.check(OpWrite, full); err != nil {
			return nil, err
		}
		size, sum, small, err := copyFile(full, f.src)
		if err != nil {
			return nil, err
		}
		e = bundle.File{Path: f.path, Size: size, SHA256: sum}
		data = small
	} else {
		if err := w.disk.writeFile(full, data, 0o644); err != nil {
			return nil, err
		}
		e = bundle.File{Path: f.path, Size: int64(len(data)), SHA256: bundle.Sum(data)}
	}
	entries := []bundle.File{e}
	if data == nil || len(data) < minCompressSize || !compressible[strings.ToLower(path.Ext(f.path))] {
		return entries, nil
	}
	for _, enc := range []string{".gz", ".br"} {
		if enc == ".br" && len(data) < brMin {
			continue
		}
		c, err := w.compress(enc, data)
		if err != nil {
			return nil, err
		}
		if len(c) > len(data)*9/10 {
			continue
		}
		if err := w.disk.writeFile(full+enc, c, 0o644); err != nil {
			return nil, err
		}
		entries = append(entries, bundle.File{Path: f.path + enc, Size: int64(len(c)), SHA256: bundle.Sum(c)})
	}
	return entries, nil
}

var (
	gzPools [2]sync.Pool // by level: 6, 9
	brPools [2]sync.Pool // by window: 16, 22
)

// gzLevel is the gzip level of a sidecar. Pages (one client's, read a few
// times) get level 6: on the sample's pages it writes 1% more bytes than
// level 9 in half the time, and most browsers take the .br anyway.
// Files past 64 KiB (a site's stylesheet or script, read by everyone) get
// level 9.
func gzLevel(n int) int {
	if n > 1<<16 {
		return gzip.BestCompression
	}
	return 6
}

// brWindow is the brotli window: 64 KiB covers pages and keeps the match
// tables small; bigger files get a bigger window.
func brWindow(n int) int {
	if n > 1<<16 {
		return 22
	}
	return 16
}

func (w *writer) compress(enc string, data []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(data) / 2)
	switch enc {
	case ".gz":
		level := gzLevel(len(data))
		pool := &gzPools[level/9]
		zw, _ := pool.Get().(*gzip.Writer)
		if zw == nil {
			var err error
			if zw, err = gzip.NewWriterLevel(&b, level); err != nil {
				return nil, err
			}
		} else {
			zw.Reset(&b)
		}
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return nil, err
		}
		pool.Put(zw)
	case ".br":
		// Writers are reused: a new one allocates its match tables, which
		// costs more than compressing a page.
		win := brWindow(len(data))
		pool := &brPools[win/22]
		bw, _ := pool.Get().(*brotli.Writer)
		if bw == nil {
			bw = brotli.NewWriterOptions(&b, brotli.WriterOptions{Quality: w.brQuality, LGWin: win})
		} else {
			bw.Reset(&b)
		}
		bw.Write(data)
		if err := bw.Close(); err != nil {
			return nil, err
		}
		pool.Put(bw)
	}
	return b.Bytes(), nil
}

// copyFile copies src to dst, returning size and SHA-256, and the content
// when it is small enough to be worth compressing.
func copyFile(dst, src string) (int64, string, []byte, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, "", nil, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, "", nil, err
	}
	h := sha256.New()
	var small bytes.Buffer
	const keep = 4 << 20
	n, err := io.Copy(io.MultiWriter(out, h, &limitedBuffer{&small, keep}), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, "", nil, err
	}
	var data []byte
	if n <= keep {
		data = small.Bytes()
	}
	return n, hex.EncodeToString(h.Sum(nil)), data, nil
}

type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.b.Len()+len(p) <= l.max {
		l.b.Write(p)
	}
	return len(p), nil
}
