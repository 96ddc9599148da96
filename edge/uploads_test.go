package edge_test

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

// photoForm is a request form with photos in the order given.
func photoForm(t *testing.T, fields map[string]string, photos ...[2]any) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for _, p := range photos {
		fw, _ := w.CreateFormFile("photos", p[0].(string))
		fw.Write(p[1].([]byte))
	}
	w.Close()
	return w.FormDataContentType(), &b
}

func (f *fixture) uploads() string { return filepath.Join(filepath.Dir(f.out), "uploads") }

// uploadEntries lists what is stored under a client's uploads folder.
func (f *fixture) uploadEntries(client string) []string {
	f.t.Helper()
	var out []string
	root := filepath.Join(f.uploads(), client)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func (f *fixture) requestCount(client string) int {
	f.t.Helper()
	facts, err := f.store.Facts(context.Background(), client)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(facts.Requests)
}

// TestRefusedRequestLeavesNoPhotos: a good first photo and a bad second
// one is refused with 400 and nothing stays on disk; a form sent twice
// keeps one request's photos.
func TestRefusedRequestLeavesNoPhotos(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	good := pngBytes(t, 40, 30)
	ct, body := photoForm(t, map[string]string{"title": "Gutter"}, [2]any{"good.png", good}, [2]any{"bad.png", []byte("<script>alert(1)</script>")})
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 400 {
		t.Fatalf("a good and a bad photo = %d; want 400", r.StatusCode)
	}
	if got := f.uploadEntries("okafor-residence"); len(got) != 0 {
		t.Errorf("a refused request left %v on disk", got)
	}
	// The public form: refused before anything is recorded, a pending client included.
	pub := f.client()
	ct, body = photoForm(t, map[string]string{"name": "Ada Park", "email": "ada@example.com", "title": "Gutter"},
		[2]any{"good.png", good}, [2]any{"bad.png", []byte("<script>alert(1)</script>")})
	if r := f.postMultipart(pub, "/request", ct, body); r.StatusCode != 400 {
		t.Errorf("public form with a bad photo = %d; want 400", r.StatusCode)
	}
	if pending, err := f.store.Pending(context.Background()); err != nil || len(pending) != 0 {
		t.Errorf("a refused public request left pending clients %v, %v", pending, err)
	}
	if ents, _ := os.ReadDir(f.uploads()); len(ents) != 0 {
		t.Errorf("a refused public request left %d folders in uploads", len(ents))
	}
	form := map[string]string{"title": "Gutter", "nonce": "twice"}
	for range 2 {
		ct, body := photoForm(t, form, [2]any{"good.png", good})
		if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 303 {
			t.Fatalf("request = %d; want 303", r.StatusCode)
		}
	}
	if n, got := f.requestCount("okafor-residence"), f.uploadEntries("okafor-residence"); n != 1 || len(got) != 2 {
		t.Errorf("a form sent twice: %d requests, stored %v; want 1 request, its folder and photo", n, got)
	}
}

var errFault = errors.New("injected fault")

// faultFiles fails the n-th call of one operation.
type faultFiles struct {
	edge.OSFiles
	mu    sync.Mutex
	op    string
	n     int
	calls map[string]int
}

func (f *faultFiles) fail(op string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	return op == f.op && f.calls[op] == f.n
}

func (f *faultFiles) WriteFile(name string, b []byte) error {
	if f.fail("write") {
		return errFault
	}
	return f.OSFiles.WriteFile(name, b)
}

func (f *faultFiles) SyncFile(name string) error {
	if f.fail("sync") {
		return errFault
	}
	return f.OSFiles.SyncFile(name)
}

func (f *faultFiles) Rename(from, to string) error {
	if f.fail("rename") {
		return errFault
	}
	return f.OSFiles.Rename(from, to)
}

func (f *faultFiles) SyncDir(dir string) error {
	if f.fail("syncdir") {
		return errFault
	}
	return f.OSFiles.SyncDir(dir)
}

// TestRequestUploadFaults: a write, fsync, rename or directory fsync that
// fails answers 5xx, records no request and leaves no file.
func TestRequestUploadFaults(t *testing.T) {
	t.Parallel()
	ff := &faultFiles{}
	f := newFixtureWith(t, nil, func(f *fixture) { f.tune = func(c *edge.Config) { c.Files = ff } })
	c := f.login("okafor-residence")
	photo := pngBytes(t, 40, 30)
	f.checkFaults(ff, "request", []fault{{"write", 1}, {"write", 2}, {"sync", 1}, {"sync", 2}, {"syncdir", 1}, {"rename", 1}, {"syncdir", 2}, {"syncdir", 3}},
		func(op string) *http.Response {
			ct, body := photoForm(t, map[string]string{"title": "Fault " + op}, [2]any{"a.png", photo}, [2]any{"b.png", photo})
			return f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body)
		}, func() int { return f.requestCount("okafor-residence") })
}

// fault is the n-th call of a file operation failing.
type fault struct {
	op string
	n  int
}

// checkFaults makes each fault happen in turn while post sends a form, and
// checks that it answers 5xx, records nothing (recorded) and leaves no file.
func (f *fixture) checkFaults(ff *faultFiles, what string, faults []fault, post func(op string) *http.Response, recorded func() int) {
	t := f.t
	t.Helper()
	for _, tc := range faults {
		ff.mu.Lock()
		ff.op, ff.n, ff.calls = tc.op, tc.n, map[string]int{}
		ff.mu.Unlock()
		if r := post(tc.op); r.StatusCode < 500 {
			t.Errorf("%s #%d failing: %s = %d; want 5xx", tc.op, tc.n, what, r.StatusCode)
		}
		if n := recorded(); n != 0 {
			t.Errorf("%s #%d failing: %d recorded; want none", tc.op, tc.n, n)
		}
		if got := f.uploadEntries("okafor-residence"); len(got) != 0 {
			t.Errorf("%s #%d failing: left %v on disk", tc.op, tc.n, got)
		}
	}
}

// TestUploadQuota: photos that would take a client past its quota are
// refused with 413 and a page that says the limit and what to do.
func TestUploadQuota(t *testing.T) {
	t.Parallel()
	photo := pngBytes(t, 40, 30)
	quota := int64(len(photo)*3) / 2
	f := newFixtureWith(t, nil, func(f *fixture) { f.tune = func(c *edge.Config) { c.UploadQuota = quota } })
	c := f.login("okafor-residence")
	ct, body := photoForm(t, map[string]string{"title": "First"}, [2]any{"a.png", photo})
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 303 {
		t.Fatalf("first request = %d; want 303", r.StatusCode)
	}
	before := f.uploadEntries("okafor-residence")
	ct, body = photoForm(t, map[string]string{"title": "Second"}, [2]any{"b.png", photo})
	r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body)
	page := readBody(t, r)
	if r.StatusCode != 413 || !strings.Contains(page, "limit of") || !strings.Contains(page, "without photos") {
		t.Errorf("past the quota: %d; want 413 with the limit and what to do\n%.600s", r.StatusCode, page)
	}
	if got := f.uploadEntries("okafor-residence"); len(got) != len(before) || f.requestCount("okafor-residence") != 1 {
		t.Errorf("past the quota: stored %v (was %v)", got, before)
	}
	// Without photos the request still goes through; another client has its own quota.
	ct, body = photoForm(t, map[string]string{"title": "Second, no photos"})
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 303 {
		t.Errorf("request without photos at the quota = %d; want 303", r.StatusCode)
	}
	o := f.login("whitfield-dental")
	ct, body = photoForm(t, map[string]string{"title": "Other"}, [2]any{"a.png", photo})
	if r := f.postMultipart(o, "/c/whitfield-dental/requests/new", ct, body); r.StatusCode != 303 {
		t.Errorf("another client's request = %d; want 303", r.StatusCode)
	}
}

// TestUploadOrphansRemovedAtStart: temporary folders and folders no
// committed request names are removed when the edge starts, once an hour
// old; a recorded request's photos stay, and so does a fresh folder
// (another edge may be about to commit its request).
func TestUploadOrphansRemovedAtStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	ct, body := photoForm(t, map[string]string{"title": "Kept"}, [2]any{"a.png", pngBytes(t, 40, 30)})
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 303 {
		t.Fatalf("request = %d", r.StatusCode)
	}
	kept := f.uploadEntries("okafor-residence")
	for _, d := range []string{"okafor-residence/.R-TMP123.tmp", "okafor-residence/R-NOBODY", "new-someone-abc123/R-GONE"} {
		p := filepath.Join(f.uploads(), d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "1-x.png"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(f.uploads(), "okafor-residence", ".R-INFLIGHT.tmp")
	if err := os.MkdirAll(fresh, 0o700); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, ".R-INFLIGHT.tmp")
	slices.Sort(kept)
	f.start()
	if got := f.uploadEntries("okafor-residence"); strings.Join(got, ",") != strings.Join(kept, ",") {
		t.Errorf("after a restart: %v; want only %v", got, kept)
	}
	if got := f.uploadEntries("new-someone-abc123"); len(got) != 0 {
		t.Errorf("after a restart: %v left of a request never recorded", got)
	}
}
