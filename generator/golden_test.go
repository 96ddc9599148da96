package generator

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/themes"
)

// goldenPages are rendered pages compared byte for byte with
// testdata/golden; after an intended change, `make golden` (go test
// -run TestGolden -update) rewrites them and the diff is reviewed.
var goldenPages = []string{
	"index.html",
	"404.html",
	"login/continue/index.html",
	"c/whitfield-dental/index.html",
	"c/whitfield-dental/account/index.html",
	"c/whitfield-dental/quotes/Q-1009/index.html",
	"c/whitfield-dental/invoices/index.html",
	"c/whitfield-dental/invoices/INV-2001/index.html",
	"c/whitfield-dental/subscriptions/SUB-3001/index.html",
	"c/whitfield-dental/receipts/INV-2001-1/index.html",
	"c/whitfield-dental/portals/courtyard-renovation/index.html",
	"c/okafor-residence/quotes/Q-1002/index.html",
	"c/hawthorne-bistro/invoices/INV-2003/index.html",
	"c/marisol-chen/index.html",
	"c/okafor-residence/messages/index.html",
	"c/okafor-residence/requests/index.html",
	"c/okafor-residence/portals/rain-garden/index.html",
	"c/okafor-residence/account/index.html",
}

// goldenFacts are what the edge recorded for one client of the golden
// build: a work request and conversations (on a quote, on the request,
// and the general one, written in an order that is not the pages'), an
// upload, and a saved card with autopay on.
func goldenFacts() *factsSource {
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }
	return &factsSource{version: 1, facts: map[string]*events.Facts{"okafor-residence": {
		Requests: []events.Request{{ID: "R-7KQ3XM", Title: "Gutter cleaning", Details: "Before the rains, please.", Email: "ngozi.okafor@example.com",
			Status: events.RequestNew, At: at(18, 9, 0)}},
		Messages: []events.Message{
			{ID: "M-1", Thread: "quote/Q-1002", Email: "ngozi.okafor@example.com", Body: "Can the bench be cedar?\nThe rest is fine.", At: at(19, 16, 5)},
			{ID: "M-2", Thread: "general", Email: "ngozi.okafor@example.com", Body: "Is Thursday still on?", At: at(20, 9, 30)},
			{ID: "M-3", Thread: "quote/Q-1002", Staff: "Sam", Body: "Yes: cedar is the same price.", At: at(20, 10, 0),
				Files: []events.Photo{{Name: "site-survey.pdf", Type: "application/pdf", Size: 15, SHA: "00", Path: goldenUpload}}}, // hub reply -attach
			{ID: "M-4", Thread: "request/R-7KQ3XM", Email: "NGOZI.OKAFOR@example.com", Body: "The back gutter too.", At: at(21, 8, 0)},
		},
		// Q-1002 emailed, and opened (its PDF first) the next day.
		Sends: []events.Send{{Doc: "quote/Q-1002", Email: "ngozi.okafor@example.com", At: at(16, 15, 0)}},
		Views: []events.FirstView{{Doc: "quote/Q-1002", Email: "ngozi.okafor@example.com", At: at(17, 20, 12)}},
		// A file added to the rain garden (which takes uploads), kept in testdata.
		Uploads: []events.Upload{{ID: "U-GOLDEN", Portal: "rain-garden", Email: "ngozi.okafor@example.com", At: at(21, 9, 15),
			File: events.Photo{Name: "site-survey.pdf", Type: "application/pdf", Size: 15, SHA: "00", Path: goldenUpload}}},
		// A card saved while paying, with autopay on: the account page shows both.
		Card:    &events.Card{ID: "pm_golden", Brand: "visa", Last4: "4242", ExpMonth: 4, ExpYear: 2029, At: at(21, 10, 0)},
		Autopay: true, AutopaySince: at(21, 10, 5),
	}}}
}

// goldenUpload is the file of the golden build's upload.
var goldenUpload, _ = filepath.Abs(filepath.Join("testdata", "uploads", "1-site-survey.pdf"))

func TestGolden(t *testing.T) {
	e := newEnv(t, sample)
	if _, err := Build(context.Background(), Options{Content: e.content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow, Events: goldenFacts()}); err != nil {
		t.Fatalf("Build: %v", err)
	}
	for _, p := range goldenPages {
		t.Run(p, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(e.out, filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			// One tag per line, so a golden diff is readable.
			got = bytes.ReplaceAll(got, []byte("><"), []byte(">\n<"))
			file := filepath.Join("testdata", "golden", strings.ReplaceAll(p, "/", "_"))
			if *update {
				os.MkdirAll(filepath.Dir(file), 0o755)
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			checkGolden(t, p, got, file)
		})
	}
}

// checkGolden compares got, the output named name, with the golden file.
func checkGolden(t *testing.T, name string, got []byte, file string) {
	t.Helper()
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run make golden to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs from %s at line %d:\n got: %q\nwant: %q\n(run make golden after an intended change)", name, file, i+1, g, w)
		}
	}
}
