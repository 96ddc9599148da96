package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// fpdf compresses each stream with a zlib writer of its own, and making
// one (compress/flate's tables) costs more than compressing a page of a
// document: about 13% of a cold build. So Render asks fpdf for the
// document uncompressed and deflates its streams here, with writers that
// are reused. The bytes are those fpdf writes with compression on: the
// same zlib level (BestSpeed), and a reset writer writes what a new one
// does. TestDeflateStreamsAsFpdf compares the two.

// zlibPool holds zlib writers at fpdf's level.
var zlibPool = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
	return w
}}

// deflateStreams returns doc, a PDF fpdf wrote with compression off, as
// fpdf writes it with compression on: every stream whose dictionary is only
// its length (the page contents and palettes, which are what fpdf
// compresses) deflated and marked /FlateDecode, and the cross-reference
// table made again for the new offsets.
func deflateStreams(doc []byte) ([]byte, error) {
	xref, offsets, err := xrefTable(doc)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(offsets)) // object numbers by position
	for i := range order {
		order[i] = i + 1
	}
	slices.SortFunc(order, func(a, b int) int { return offsets[a-1] - offsets[b-1] })
	out := bytes.NewBuffer(make([]byte, 0, len(doc)))
	out.Write(doc[:offsets[order[0]-1]])
	newOffsets := make([]int, len(offsets))
	zw := zlibPool.Get().(*zlib.Writer)
	defer zlibPool.Put(zw)
	for i, n := range order {
		start, end := offsets[n-1], xref
		if i+1 < len(order) {
			end = offsets[order[i+1]-1]
		}
		obj := doc[start:end]
		newOffsets[n-1] = out.Len()
		head := strconv.Itoa(n) + " 0 obj\n<</Length "
		rest, ok := bytes.CutPrefix(obj, []byte(head))
		if !ok {
			out.Write(obj)
			continue
		}
		digits := 0
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			digits++
		}
		length, err := strconv.Atoi(string(rest[:digits]))
		data, ok := bytes.CutPrefix(rest[digits:], []byte(">>\nstream\n"))
		if err != nil || !ok || len(data) < length {
			out.Write(obj)
			continue
		}
		var z bytes.Buffer
		z.Grow(length / 2)
		zw.Reset(&z)
		zw.Write(data[:length])
		if err := zw.Close(); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "%d 0 obj\n<</Filter /FlateDecode /Length %d>>\nstream\n", n, z.Len())
		out.Write(z.Bytes())
		out.Write(data[length:])
	}
	trailer := doc[xref:]
	at := bytes.Index(trailer, []byte("trailer\n"))
	sx := bytes.LastIndex(trailer, []byte("startxref\n"))
	if at < 0 || sx < at {
		return nil, fmt.Errorf("pdf: no trailer")
	}
	newXref := out.Len()
	fmt.Fprintf(out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range newOffsets {
		fmt.Fprintf(out, "%010d 00000 n \n", o)
	}
	out.Write(trailer[at:sx])
	_, eof, _ := bytes.Cut(trailer[sx+len("startxref\n"):], []byte("\n"))
	fmt.Fprintf(out, "startxref\n%d\n", newXref)
	out.Write(eof)
	return out.Bytes(), nil
}

// xrefTable reads where fpdf's cross-reference table starts and the
// offset of each object (1, 2, ...) it lists.
func xrefTable(doc []byte) (int, []int, error) {
	sx := bytes.LastIndex(doc, []byte("startxref\n"))
	if sx < 0 {
		return 0, nil, fmt.Errorf("pdf: no startxref")
	}
	line, _, _ := bytes.Cut(doc[sx+len("startxref\n"):], []byte("\n"))
	xref, err := strconv.Atoi(string(line))
	if err != nil || xref < 0 || xref > sx {
		return 0, nil, fmt.Errorf("pdf: bad startxref")
	}
	rest, ok := bytes.CutPrefix(doc[xref:sx], []byte("xref\n0 "))
	if !ok {
		return 0, nil, fmt.Errorf("pdf: no xref table")
	}
	line, rest, _ = bytes.Cut(rest, []byte("\n"))
	count, err := strconv.Atoi(string(line))
	if err != nil || count < 2 {
		return 0, nil, fmt.Errorf("pdf: bad xref table")
	}
	const entry = len("0000000000 65535 f \n")
	if len(rest) < count*entry {
		return 0, nil, fmt.Errorf("pdf: short xref table")
	}
	offsets := make([]int, count-1)
	for i := range offsets {
		e := rest[(i+1)*entry:]
		o, err := strconv.Atoi(string(e[:10]))
		if err != nil || o <= 0 || o >= xref {
			return 0, nil, fmt.Errorf("pdf: bad xref entry %d", i+1)
		}
		offsets[i] = o
	}
	return xref, offsets, nil
}
