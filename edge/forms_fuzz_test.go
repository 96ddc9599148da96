package edge

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeSignature: a drawn signature is accepted only as a PNG within
// the limits, and nothing panics.
func FuzzDecodeSignature(f *testing.F) {
	f.Add("")
	f.Add("data:image/png;base64,iVBORw0KGgo=")
	f.Add("data:image/svg+xml;base64,PHN2Zz4=")
	f.Add("data:image/png;base64,!!!")
	f.Fuzz(func(t *testing.T, v string) {
		b, err := decodeSignature(v)
		if err != nil || b == nil {
			return
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || len(b) > maxSignature || cfg.Width > maxSignatureSide || cfg.Height > maxSignatureSide {
			t.Errorf("accepted a signature that is not a PNG within limits (%d bytes)", len(b))
		}
	})
}

// FuzzRequestForm: whatever is posted, an accepted request has a title,
// plain text within the limits and real dates.
func FuzzRequestForm(f *testing.F) {
	f.Add("title=Fix+it&details=a%0Ab&date1=2026-12-01&time=morning&property=1")
	f.Add("title=&date1=2026-13-45")
	f.Add("title=%00&details=%FF")
	f.Add("title=x&time=noon")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			return
		}
		rf, err := readRequestForm(r)
		if err != nil {
			return
		}
		if rf.title == "" || utf8.RuneCountInString(rf.title) > maxRequestTitle || utf8.RuneCountInString(rf.details) > maxRequestText || !utf8.ValidString(rf.details) {
			t.Errorf("accepted %+v", rf)
		}
		for _, d := range rf.dates {
			if !dateRE.MatchString(d) {
				t.Errorf("accepted date %q", d)
			}
		}
		for _, r := range rf.title {
			if r < 0x20 {
				t.Errorf("accepted a control character in the title %q", rf.title)
			}
		}
	})
}

var clientIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// FuzzPendingID: any name and email make a valid client ID.
func FuzzPendingID(f *testing.F) {
	f.Add("Jane Q. Doe", "jane@example.com")
	f.Add("", "")
	f.Add("Ærøskøbing — Café", "x@y")
	f.Add(strings.Repeat("long name ", 20), "a@b.c")
	f.Fuzz(func(t *testing.T, name, email string) {
		if id := pendingID(name, email); !clientIDRE.MatchString(id) || !strings.HasPrefix(id, "new-") {
			t.Errorf("pendingID(%q, %q) = %q; not a client ID", name, email, id)
		}
	})
}

// FuzzSniffPhoto: only pictures of the allowed types are taken.
func FuzzSniffPhoto(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("\xff\xd8\xff\xe0"))
	f.Add([]byte("<svg onload=alert(1)>"))
	f.Add([]byte("\x00\x00\x00\x18ftypheic"))
	f.Fuzz(func(t *testing.T, b []byte) {
		typ := sniffPhoto(b)
		if typ == "" {
			return
		}
		if photoTypes[typ] == "" {
			t.Errorf("sniffPhoto gave %q", typ)
		}
		if typ != "image/heic" && http.DetectContentType(b) != typ {
			t.Errorf("sniffPhoto(%q) = %q, DetectContentType %q", b, typ, http.DetectContentType(b))
		}
	})
}

// FuzzSniffUpload: only the portal upload types are taken, never markup
// or a program, and what the whole file passes its first bytes pass too
// (the check when the form is read refuses nothing the store would keep).
func FuzzSniffUpload(f *testing.F) {
	f.Add("a.pdf", []byte("%PDF-1.4\n"))
	f.Add("a.csv", []byte("a,b\n1,2\n"))
	f.Add("a.txt", []byte("hello\x00"))
	f.Add("a.html", []byte("<html><script>alert(1)</script>"))
	f.Add("a.docx", []byte("PK\x03\x04"))
	f.Add("a.exe", []byte("MZ\x90\x00"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		typ := sniffUpload(name, b, true)
		if typ == "" {
			return
		}
		if uploadTypes[typ] == "" {
			t.Errorf("sniffUpload(%q, %q) = %q, not a type taken", name, b, typ)
		}
		if head := sniffUpload(name, b[:min(len(b), 512)], false); head != typ {
			t.Errorf("sniffUpload(%q) of the whole = %q; of its first bytes %q", name, typ, head)
		}
		if dt := http.DetectContentType(b); strings.HasPrefix(dt, "text/html") || strings.HasPrefix(dt, "text/xml") {
			t.Errorf("sniffUpload(%q, %q) took markup (%s) as %q", name, b, dt, typ)
		}
	})
}
