package generator

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// stored are extensions of files that are compressed already: a zip keeps
// them as they are instead of deflating them again.
var stored = map[string]bool{
	".pdf": true, ".zip": true, ".gz": true, ".png": true, ".jpg": true, ".jpeg": true, ".gif": true,
	".webp": true, ".avif": true, ".heic": true, ".mp3": true, ".mp4": true, ".mov": true, ".m4a": true,
	".docx": true, ".xlsx": true, ".pptx": true, ".odt": true, ".ods": true, ".7z": true, ".br": true,
}

// zipEntry is a file to put in an archive: its name there and its content.
type zipEntry struct {
	name string
	file outFile // data, or src to read
}

// archiveZip makes a deterministic zip: entries sorted by name, every
// modification time set to modified (a date from the documents, not the
// clock), deflate only for what is not compressed already.
func archiveZip(entries []zipEntry, modified time.Time) ([]byte, error) {
	slices.SortFunc(entries, func(a, b zipEntry) int { return strings.Compare(a.name, b.name) })
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: modified.UTC()}
		if stored[strings.ToLower(path.Ext(e.name))] {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", e.name, err)
		}
		if e.file.data != nil {
			_, err = w.Write(e.file.data)
		} else {
			err = copyInto(w, e.file.src)
		}
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	return b.Bytes(), nil
}

func copyInto(w io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
