package edge_test

import (
	"archive/zip"
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

const uploadPortal = "/c/okafor-residence/portals/rain-garden/"

// uploadForm is the portal upload form with one file (and a nonce, if set).
func uploadForm(t *testing.T, nonce, name string, b []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if nonce != "" {
		w.WriteField("nonce", nonce)
	}
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(b)
	w.Close()
	return w.FormDataContentType(), &buf
}

// docxBytes is a minimal Word document: a zip with its content types and a word/ part.
func docxBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range []string{"[Content_Types].xml", "word/document.xml"} {
		w, _ := zw.Create(n)
		w.Write([]byte("<x/>"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (f *fixture) uploadFacts(client string) int {
	f.t.Helper()
	facts, err := f.store.Facts(context.Background(), client)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(facts.Uploads)
}

// TestPortalUpload: a client adds a file to a portal that takes uploads;
// it is stored, recorded once (the same nonce again is a duplicate), and
// listed on the portal page with who added it, downloadable by the
// client's session only.
func TestPortalUpload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	page := readBody(t, f.do(c, "GET", uploadPortal, nil))
	if !strings.Contains(page, "Your uploads") || !strings.Contains(page, `action="`+uploadPortal+`uploads"`) {
		t.Fatalf("portal page has no upload form:\n%.2000s", page)
	}
	pdf := []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
	ct, body := uploadForm(t, "n-1", "Survey final.pdf", pdf)
	r := f.postMultipart(c, uploadPortal+"uploads", ct, body)
	if r.StatusCode != 303 || r.Header.Get("Location") != uploadPortal+"#uploads" {
		t.Fatalf("upload = %d → %q; want 303 to the portal's uploads", r.StatusCode, r.Header.Get("Location"))
	}
	ups, err := f.store.Uploads(context.Background(), "okafor-residence", 10)
	if err != nil || len(ups) != 1 {
		t.Fatalf("Uploads = %+v, %v; want one", ups, err)
	}
	u := ups[0]
	if u.Portal != "rain-garden" || u.File.Name != "Survey-final.pdf" || u.File.Type != "application/pdf" || u.File.Size != int64(len(pdf)) || u.Email != f.contactEmail("okafor-residence") {
		t.Errorf("recorded %+v", u)
	}
	// The same form again (a double click) records nothing more and leaves no second folder.
	ct, body = uploadForm(t, "n-1", "Survey final.pdf", pdf)
	if r := f.postMultipart(c, uploadPortal+"uploads", ct, body); r.StatusCode != 303 {
		t.Fatalf("the same upload again = %d; want 303", r.StatusCode)
	}
	if n := f.uploadFacts("okafor-residence"); n != 1 {
		t.Errorf("the same nonce twice recorded %d uploads; want 1", n)
	}
	if got := f.uploadEntries("okafor-residence"); len(got) != 2 { // the folder and its file
		t.Errorf("stored %v; want one upload's folder and file", got)
	}
	// An Office document and a CSV are taken too.
	for _, up := range []struct {
		name string
		b    []byte
	}{{"plan.docx", docxBytes(t)}, {"plants.csv", []byte("name,count\nsedge,12\n")}} {
		ct, body = uploadForm(t, "", up.name, up.b)
		if r := f.postMultipart(c, uploadPortal+"uploads", ct, body); r.StatusCode != 303 {
			t.Errorf("upload %s = %d; want 303\n%.400s", up.name, r.StatusCode, readBody(t, r))
		}
	}
	var link string
	f.waitUntil("the portal lists the upload", func() bool {
		page = readBody(t, f.do(c, "GET", uploadPortal, nil))
		i := strings.Index(page, "/portals/rain-garden/uploads/"+u.ID+"/")
		if i < 0 || !strings.Contains(page, "plants.csv") {
			return false
		}
		link = page[strings.LastIndex(page[:i], `"`)+1 : i+strings.Index(page[i:], `"`)]
		return true
	})
	if i := strings.Index(page, `id="uploads"`); i < 0 || !strings.Contains(page[i:], "Survey-final.pdf") || !strings.Contains(page[i:], "Ngozi Okafor") {
		t.Errorf("the listing lacks the name or the uploader:\n%.3000s", page)
	}
	r = f.do(c, "GET", link, nil)
	if got := readBody(t, r); r.StatusCode != 200 || got != string(pdf) {
		t.Errorf("GET %s = %d %q; want the file", link, r.StatusCode, got)
	}
	// Another client's session, and no session, do not get it.
	if r := f.do(f.login("whitfield-dental"), "GET", link, nil); r.StatusCode == 200 {
		t.Errorf("another client's GET %s = 200", link)
	}
	if r := f.do(f.client(), "GET", link, nil); r.StatusCode == 200 {
		t.Errorf("GET %s without a session = 200", link)
	}
	// Staff viewing as the client see it; they cannot add files.
	d := f.delegate("okafor-residence", "Sam")
	if r := f.do(d, "GET", link, nil); r.StatusCode != 200 {
		t.Errorf("delegate GET %s = %d; want 200", link, r.StatusCode)
	}
	ct, body = uploadForm(t, "", "more.pdf", pdf)
	if r := f.postMultipart(d, uploadPortal+"uploads", ct, body); r.StatusCode != http.StatusForbidden {
		t.Errorf("delegate upload = %d; want 403", r.StatusCode)
	}
	if n := f.uploadFacts("okafor-residence"); n != 3 {
		t.Errorf("%d uploads recorded; want 3", n)
	}
}

// TestPortalUploadRefused: a type not taken, a file too large, a portal
// without uploads, another client's portal, and no file are refused, and
// nothing is stored or recorded.
func TestPortalUploadRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 26<<20)...)
	zipNotOffice := docxBytes(t)
	for _, tc := range []struct {
		name, path, file string
		b                []byte
		want             int
	}{
		{"script", uploadPortal + "uploads", "x.html", []byte("<html><script>alert(1)</script>"), 400},
		{"executable", uploadPortal + "uploads", "setup.exe", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), 400},
		{"zip that is not a document", uploadPortal + "uploads", "plan.zip", zipNotOffice, 400},
		{"binary named .txt", uploadPortal + "uploads", "notes.txt", []byte("abc\x00\x01\x02def"), 400},
		{"larger than 25 MB", uploadPortal + "uploads", "big.pdf", big[:25<<20+1], 400},
		{"larger than the form's cap", uploadPortal + "uploads", "big.pdf", big, 413},
		{"portal without uploads", "/c/whitfield-dental/portals/courtyard-renovation/uploads", "a.pdf", []byte("%PDF-1.4\n"), 404},
		{"no such portal", "/c/okafor-residence/portals/nope/uploads", "a.pdf", []byte("%PDF-1.4\n"), 404},
		{"no file", uploadPortal + "uploads", "", nil, 400},
	} {
		ct, body := uploadForm(t, "", tc.file, tc.b)
		r := f.postMultipart(c, tc.path, ct, body)
		if r.StatusCode != tc.want {
			t.Errorf("%s: POST %s = %d; want %d\n%.400s", tc.name, tc.path, r.StatusCode, tc.want, readBody(t, r))
		}
	}
	w := f.login("whitfield-dental")
	ct, body := uploadForm(t, "", "a.pdf", []byte("%PDF-1.4\n"))
	if r := f.postMultipart(w, "/c/whitfield-dental/portals/courtyard-renovation/uploads", ct, body); r.StatusCode != 404 {
		t.Errorf("upload to a portal without uploads = %d; want 404", r.StatusCode)
	}
	if r := f.do(c, "GET", uploadPortal+"uploads", nil); r.StatusCode != 405 {
		t.Errorf("GET of the upload route = %d; want 405", r.StatusCode)
	}
	if got := f.uploadEntries("okafor-residence"); len(got) != 0 || f.uploadFacts("okafor-residence") != 0 {
		t.Errorf("refused uploads left %v on disk, %d recorded", got, f.uploadFacts("okafor-residence"))
	}
}

// TestPortalUploadQuota: uploads count in the client's quota with its photos.
func TestPortalUploadQuota(t *testing.T) {
	t.Parallel()
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 1000)...)
	png := pngBytes(t, 40, 30)
	quota := int64(len(pdf) + len(png) - 1) // one upload fits, and not a photo beside it
	f := newFixtureWith(t, nil, func(f *fixture) { f.tune = func(c *edge.Config) { c.UploadQuota = quota } })
	c := f.login("okafor-residence")
	ct, body := uploadForm(t, "", "a.pdf", pdf)
	if r := f.postMultipart(c, uploadPortal+"uploads", ct, body); r.StatusCode != 303 {
		t.Fatalf("first upload = %d; want 303", r.StatusCode)
	}
	before := f.uploadEntries("okafor-residence")
	ct, body = uploadForm(t, "", "b.pdf", pdf)
	r := f.postMultipart(c, uploadPortal+"uploads", ct, body)
	if page := readBody(t, r); r.StatusCode != 413 || !strings.Contains(page, "limit of") {
		t.Errorf("past the quota: %d; want 413 with the limit\n%.600s", r.StatusCode, page)
	}
	if got := f.uploadEntries("okafor-residence"); len(got) != len(before) || f.uploadFacts("okafor-residence") != 1 {
		t.Errorf("past the quota: stored %v (was %v)", got, before)
	}
	// A photo of a request now goes past it too: one quota.
	ct, body = photoForm(t, map[string]string{"title": "Gutter"}, [2]any{"a.png", png})
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 413 {
		t.Errorf("a request's photo past the quota = %d; want 413", r.StatusCode)
	}
}

// TestPortalUploadFaults: a write, fsync, rename or directory fsync that
// fails answers 5xx, records no upload and leaves no file.
func TestPortalUploadFaults(t *testing.T) {
	t.Parallel()
	ff := &faultFiles{}
	f := newFixtureWith(t, nil, func(f *fixture) { f.tune = func(c *edge.Config) { c.Files = ff } })
	c := f.login("okafor-residence")
	f.checkFaults(ff, "upload", []fault{{"write", 1}, {"sync", 1}, {"syncdir", 1}, {"rename", 1}, {"syncdir", 2}, {"syncdir", 3}},
		func(op string) *http.Response {
			ct, body := uploadForm(t, "", "a.pdf", []byte("%PDF-1.4\n"+op))
			return f.postMultipart(c, uploadPortal+"uploads", ct, body)
		}, func() int { return f.uploadFacts("okafor-residence") })
}

// TestPortalUploadKeptAtStart: the start-up sweep keeps the folder of a
// recorded upload, however old, and removes an old one nothing names.
func TestPortalUploadKeptAtStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	ct, body := uploadForm(t, "", "a.pdf", []byte("%PDF-1.4\n"))
	if r := f.postMultipart(c, uploadPortal+"uploads", ct, body); r.StatusCode != 303 {
		t.Fatalf("upload = %d", r.StatusCode)
	}
	kept := f.uploadEntries("okafor-residence")
	orphan := filepath.Join(f.uploads(), "okafor-residence", "U-NOBODY")
	if err := os.MkdirAll(orphan, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, d := range append([]string{orphan}, filepath.Join(f.uploads(), "okafor-residence", kept[0])) {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}
	f.start()
	if got := f.uploadEntries("okafor-residence"); strings.Join(got, ",") != strings.Join(kept, ",") {
		t.Errorf("after a restart: %v; want only %v", got, kept)
	}
}
