package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestStaffBuildsBesideEdge is issue 11's first defect, driven from
// outside: staff run hub build (site-wide and single-client changes) while
// a running hub edge -content rebuilds a client after each work request.
// A reader keeps opening every client's hub the whole time; every answer
// must be 200, and hub verify must pass after every step. A page loaded
// before a site-wide build keeps its stylesheet.
func TestStaffBuildsBesideEdge(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	copyContent(t, content)
	// A signed-in contact of okafor-residence sends the work requests.
	_, base, client := contentEdge(t, dir, "okafor-residence")
	// The reader opens every client's hub as a staff delegate.
	ids, _ := filepath.Glob(filepath.Join(content, "clients", "*"))
	readers := map[string]*http.Client{}
	for _, d := range ids {
		id := filepath.Base(d)
		out := hub(t, dir, "delegate", id, "-staff", "QA").stdout
		l, _ := url.Parse(regexp.MustCompile(`http://\S+/login/t/\S+`).FindString(out))
		c := browser()
		if r, _ := fetch(t, c, "POST", base+l.Path, url.Values{}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("delegate sign-in for %s = %d", id, r.StatusCode)
		}
		readers[id] = c
	}
	_, home := fetch(t, readers["lindqvist"], "GET", base+"/c/lindqvist/", nil)
	oldCSS := regexp.MustCompile(`/assets/style\.[0-9a-f]+\.css`).FindString(home)
	if oldCSS == "" {
		t.Fatal("the hub page links no stylesheet")
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	reads := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			for id, c := range readers {
				resp, err := c.Get(base + "/c/" + id + "/")
				mu.Lock()
				reads++
				switch {
				case err != nil:
					bad = append(bad, fmt.Sprintf("%s: %v", id, err))
				case resp.StatusCode != 200:
					bad = append(bad, fmt.Sprintf("%s: %d", id, resp.StatusCode))
				}
				mu.Unlock()
				if resp != nil {
					resp.Body.Close()
				}
			}
		}
	}()

	verify := func(step string) {
		t.Helper()
		if r := hub(t, dir, "verify"); r.code != 0 {
			t.Errorf("%s: hub verify = %d\n%s%s", step, r.code, r.stdout, r.stderr)
		}
	}
	requests := 0
	request := func(step string) {
		t.Helper()
		requests++
		r, _ := fetch(t, client, "POST", base+"/c/okafor-residence/requests/new", url.Values{
			"title": {fmt.Sprintf("Request %d", requests)}, "nonce": {fmt.Sprintf("loop-%d", requests)}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: work request = %d", step, r.StatusCode)
		}
		verify(step)
	}
	builds := 0
	build := func(step string) {
		t.Helper()
		builds++
		if r := hub(t, dir, "build"); r.code != 0 {
			t.Fatalf("%s: hub build = %d\n%s", step, r.code, r.stderr)
		}
		verify(step)
	}
	edit := func(file string, fn func([]byte) []byte) {
		t.Helper()
		f := filepath.Join(content, file)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, fn(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	siteYAML, _ := os.ReadFile(filepath.Join(content, "site.yaml"))
	colour := func(b []byte, round int) []byte {
		return regexp.MustCompile(`(?m)^color: .*$`).ReplaceAll(b, []byte(fmt.Sprintf(`color: "#%02x3b00"`, 0x40+round)))
	}
	for round := range 2 {
		// The steps of the report: a request, a site-wide change, another
		// client's change, the site-wide change undone, a request.
		request(fmt.Sprintf("round %d: first request", round))
		edit("site.yaml", func(b []byte) []byte { return bytes.Replace(b, []byte("phone: "), []byte("phone: +1 "), 1) })
		build(fmt.Sprintf("round %d: phone changed", round))
		edit("clients/lindqvist/client.yaml", func(b []byte) []byte { return append(b, fmt.Sprintf("# update %d\n", round)...) })
		build(fmt.Sprintf("round %d: another client changed", round))
		edit("site.yaml", func([]byte) []byte { return siteYAML })
		build(fmt.Sprintf("round %d: phone restored", round))
		request(fmt.Sprintf("round %d: second request", round))
		// A new stylesheet, and back.
		edit("site.yaml", func(b []byte) []byte { return colour(b, round) })
		build(fmt.Sprintf("round %d: colour changed", round))
		request(fmt.Sprintf("round %d: third request", round))
		edit("site.yaml", func([]byte) []byte { return siteYAML })
		build(fmt.Sprintf("round %d: colour restored", round))
	}
	// The edge looks for new builds every second: the reader goes on until
	// it serves the last one.
	landing, _ := os.ReadFile(filepath.Join(dir, "public", "index.html"))
	css := regexp.MustCompile(`/assets/style\.[0-9a-f]+\.css`).Find(landing)
	waitFor(t, func() bool {
		_, home := fetch(t, readers["lindqvist"], "GET", base+"/c/lindqvist/", nil)
		return len(css) > 0 && strings.Contains(home, string(css))
	})
	stop()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("%d of %d page loads failed, first: %q", len(bad), reads, bad[:min(5, len(bad))])
	}
	t.Logf("%d page loads during %d builds and %d edge rebuilds", reads, builds, requests)
	if r, _ := fetch(t, readers["lindqvist"], "GET", base+oldCSS, nil); r.StatusCode != 200 {
		t.Errorf("GET %s (linked by a page loaded before the builds) = %d; want 200", oldCSS, r.StatusCode)
	}
	_, page := fetch(t, client, "GET", base+"/c/okafor-residence/requests/", nil)
	for i := 1; i <= requests; i++ {
		if !strings.Contains(page, fmt.Sprintf("Request %d", i)) {
			t.Errorf("the requests page does not show Request %d", i)
		}
	}
}
