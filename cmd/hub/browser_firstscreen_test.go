package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserFirstScreen: on every quote awaiting a response and every
// invoice with a balance in the sample (each client's "Needs your
// attention"), at both viewports, the page loaded at the top shows its
// primary action whole in the first screen.
func TestBrowserFirstScreen(t *testing.T) {
	browser := startChromium(t)
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyContent(t, filepath.Join(dir, "content"))
			p := startHub(t, dir, "serve", "-addr", "127.0.0.1:0", "-watch=false")
			base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
			ids, _ := filepath.Glob(filepath.Join(dir, "content", "clients", "*"))
			checked := 0
			for _, d := range ids {
				client := filepath.Base(d)
				tab := vp.tab(t, browser)
				ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
				j := &journey{t: t, ctx: ctx, base: base}
				link := hub(t, dir, "link", client, "-print").stdout
				u := strings.Fields(link[strings.Index(link, "http://"):])[0]
				if err := j.open(u); err != nil {
					t.Fatal(err)
				}
				if err := j.click("main form button"); err != nil { // Continue
					t.Fatal(err)
				}
				urls, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("main .attention .row-link")].map(a => a.getAttribute("href"))`))
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range urls {
					if err := j.open(base + u); err != nil {
						t.Fatal(err)
					}
					j.primaryInView("")
					checked++
				}
				cancel()
			}
			if checked < 4 {
				t.Errorf("%d documents need attention in the sample; want at least 4 checked", checked)
			}
			t.Logf("%d documents: the primary action in the first %d×%d screen", checked, vp.width, vp.height)
		})
	}
}
