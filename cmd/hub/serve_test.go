package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeLiveRebuild: hub serve on a copy of the sample site; an edited
// invoice shows up in the served page; a content error shows as problems
// (terminal and the browser's event stream) while the last good build keeps
// serving; fixing it clears them.
func TestServeLiveRebuild(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	copyContent(t, content)
	p := startHub(t, dir, "serve", "-addr", "127.0.0.1:0")
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	p.await(t, `Watching`)

	// The staff preview opens a client's hub without a login link.
	c := browser()
	r, body := fetch(t, c, "GET", base+"/_preview/", nil)
	if r.StatusCode != 200 || !strings.Contains(body, "/_preview/as/whitfield-dental") || !strings.Contains(body, "Outbox") {
		t.Fatalf("/_preview/ = %d\n%.500s", r.StatusCode, body)
	}
	r, _ = fetch(t, c, "GET", base+"/_preview/as/whitfield-dental", nil)
	if r.Header.Get("Location") != "/c/whitfield-dental/" {
		t.Fatalf("/_preview/as = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	page := base + "/c/whitfield-dental/invoices/INV-2001/"
	r, body = fetch(t, c, "GET", page, nil)
	if r.StatusCode != 200 || !strings.Contains(body, `<script src="/_preview/reload.js" defer></script>`) {
		t.Fatalf("invoice page = %d, without the live-reload script", r.StatusCode)
	}

	// Edit the invoice: the served page changes.
	inv := filepath.Join(content, "clients", "whitfield-dental", "invoices")
	files, _ := filepath.Glob(filepath.Join(inv, "INV-2001*.yaml"))
	if len(files) != 1 {
		t.Fatalf("INV-2001 file: %v", files)
	}
	orig, _ := os.ReadFile(files[0])
	os.WriteFile(files[0], bytes.Replace(orig, []byte("subject: "), []byte("subject: Edited live "), 1), 0o644)
	waitFor(t, func() bool { _, b := fetch(t, c, "GET", page, nil); return strings.Contains(b, "Edited live") })

	// Break it: the problem is printed with file:line:column and sent to open tabs.
	events := openEvents(t, base)
	os.WriteFile(files[0], append(bytes.Replace(orig, []byte("subject: "), []byte("subject: Edited live "), 1), []byte("colour: green\n")...), 0o644)
	p.await(t, `INV-2001.*\.yaml:\d+:1: unknown field "colour"`)
	if ev := events.next(t, "problems"); !strings.Contains(ev, `unknown field \"colour\"`) {
		t.Errorf("problems event = %s", ev)
	}
	if _, b := fetch(t, c, "GET", page, nil); !strings.Contains(b, "Edited live") {
		t.Error("the last good build is not served while the content has a problem")
	}
	// Fix it: tabs are told to reload.
	os.WriteFile(files[0], orig, 0o644)
	events.next(t, "reload")
	waitFor(t, func() bool { _, b := fetch(t, c, "GET", page, nil); return !strings.Contains(b, "Edited live") })

	// The script is never written into the built output.
	filepath.Walk(filepath.Join(dir, "public.d"), func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && strings.HasSuffix(path, ".html") {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("/_preview/")) {
				t.Errorf("%s contains the dev server's script", path)
			}
		}
		return nil
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 15s")
}

type eventStream struct {
	events chan [2]string
}

func openEvents(t *testing.T, base string) *eventStream {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/_preview/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	es := &eventStream{events: make(chan [2]string, 16)}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				es.events <- [2]string{name, strings.TrimPrefix(line, "data: ")}
			}
		}
		close(es.events)
	}()
	es.next(t, "ok")
	return es
}

// next waits for an event with the name (skipping others) and returns its data.
func (es *eventStream) next(t *testing.T, name string) string {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-es.events:
			if !ok {
				t.Fatalf("event stream ended before %q", name)
			}
			if ev[0] == name {
				return ev[1]
			}
		case <-timeout:
			t.Fatalf("no %q event within 15s", name)
		}
	}
}
