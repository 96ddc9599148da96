package main

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestUploadsImport: with the real binary, a client adds a file to a
// portal that takes uploads; it is listed on the portal page and by hub
// uploads, and hub uploads import copies it into the portal's documents
// (once: a second import refuses to overwrite), which still checks and
// builds with the file under Documents.
func TestUploadsImport(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build", "-content", "content", "-out", "public"); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	addr := freeAddr(t)
	p := startHubEnv(t, dir, []string{"HUB_BASE_URL=http://" + addr}, "edge", "-site", "public", "-content", "content", "-addr", addr)
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	c := signInAgain(t, dir, base, "okafor-residence")

	pdf := []byte("%PDF-1.4\n% soil test results\n%%EOF\n")
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("nonce", "e2e-upload-1")
	fw, _ := w.CreateFormFile("file", "soil-test.pdf")
	fw.Write(pdf)
	w.Close()
	req, _ := http.NewRequest("POST", base+"/c/okafor-residence/portals/rain-garden/uploads", &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload = %d; want 303", r.StatusCode)
	}
	waitFor(t, func() bool {
		_, page := fetch(t, c, "GET", base+"/c/okafor-residence/portals/rain-garden/", nil)
		return strings.Contains(page, "soil-test.pdf") && strings.Contains(page, "Ngozi Okafor")
	})

	list := hub(t, dir, "uploads", "-client", "okafor-residence")
	m := regexp.MustCompile(`(U-[0-9A-Z]{16})\s.*okafor-residence\s+rain-garden\s+ngozi\.okafor@example\.com\s.*application/pdf\s+soil-test\.pdf`).FindStringSubmatch(list.stdout)
	if list.code != 0 || m == nil {
		t.Fatalf("hub uploads = %d\n%s%s", list.code, list.stdout, list.stderr)
	}
	imp := hub(t, dir, "uploads", "import", "okafor-residence", m[1], "-content", "content")
	want := filepath.Join("content", "clients", "okafor-residence", "portals", "rain-garden", "documents", "soil-test.pdf")
	if imp.code != 0 || !strings.Contains(imp.stdout, want) {
		t.Fatalf("hub uploads import = %d; want it to print %s\n%s%s", imp.code, want, imp.stdout, imp.stderr)
	}
	if got, err := os.ReadFile(filepath.Join(dir, want)); err != nil || !bytes.Equal(got, pdf) {
		t.Errorf("imported file = %q, %v; want the upload", got, err)
	}
	if again := hub(t, dir, "uploads", "import", "okafor-residence", m[1], "-content", "content"); again.code == 0 || !strings.Contains(again.stderr, "exists already") {
		t.Errorf("importing over the file = %d; want a refusal\n%s", again.code, again.stderr)
	}
	if other := hub(t, dir, "uploads", "import", "whitfield-dental", m[1], "-content", "content"); other.code == 0 {
		t.Error("importing another client's upload succeeded")
	}
	if chk := hub(t, dir, "check", "-content", "content"); chk.code != 0 {
		t.Fatalf("hub check after the import = %d\n%s%s", chk.code, chk.stdout, chk.stderr)
	}
	if bl := hub(t, dir, "build", "-content", "content", "-out", "public"); bl.code != 0 {
		t.Fatalf("hub build after the import: %s", bl.stderr)
	}
	waitFor(t, func() bool {
		_, page := fetch(t, c, "GET", base+"/c/okafor-residence/portals/rain-garden/", nil)
		i := strings.Index(page, `id="documents"`)
		return i >= 0 && strings.Contains(page[i:strings.Index(page, `id="uploads"`)], "soil-test.pdf")
	})
}
