package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTestCheckout: hub serve without Stripe keys (make run), in
// Chromium at each viewport. Sign in with the link it prints, press Pay
// online on the invoice, and on the test checkout's page (screenshot,
// axe-core) pay by bank debit: the payment page says processing. hub
// payments simulate settles it (bank debits settle only when told here,
// -checkout-settle 1h): the invoice shows Paid. Then another client starts
// a subscription there (Start subscription, the card): its page is active
// with its first receipt; and pays an invoice ticking "Save this card for
// future invoices": the account page lists the card (Visa •••• 4242) with
// the autopay switch.
func TestBrowserTestCheckout(t *testing.T) {
	axe := axeScript(t)
	browser := startChromium(t)
	shots := screenshotsDir(t)
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyContent(t, filepath.Join(dir, "content"))
			p := startHub(t, dir, "serve", "-addr", "127.0.0.1:0", "-checkout-settle", "1h", "-watch=false")
			base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
			link := p.await(t, `^\s+(http://\S+/login/t/\S+)$`)
			tab := vp.tab(t, browser)
			ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
			defer cancel()
			console := watchConsole(t, tab, base)
			folder := filepath.Join(shots, "test-checkout-"+vp.name)
			if err := os.MkdirAll(folder, 0o755); err != nil {
				t.Fatal(err)
			}
			step := 0
			look := func(name string) page {
				t.Helper()
				pg, err := chromedp.Run(ctx, chromedp.Evaluate[page](pageFacts))
				if err != nil {
					t.Fatal(err)
				}
				step++
				if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
					os.WriteFile(filepath.Join(folder, fmt.Sprintf("%02d-%s.png", step, name)), png, 0o644)
				}
				if pg.Overflow > 0 {
					t.Errorf("%s is %dpx wider than the %s viewport", pg.Path, pg.Overflow, vp.name)
				}
				checkAccessibility(t, ctx, axe)
				for _, e := range console.take() {
					t.Errorf("browser console: %s", e)
				}
				return pg
			}
			j := &journey{t: t, ctx: ctx, base: base}
			if err := j.open(link); err != nil {
				t.Fatal(err)
			}
			if err := j.click("main form button"); err != nil { // Continue
				t.Fatal(err)
			}
			const invoice = "/c/hawthorne-bistro/invoices/INV-2003/"
			if err := j.open(invoice); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.RunResponse(ctx, chromedp.Click(`//main//form[contains(@action, "/pay")]//button[normalize-space(.)="Pay online"]`, chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			pg := look("checkout")
			id, ok := strings.CutPrefix(pg.Path, "/_checkout/")
			if !ok || !strings.Contains(pg.Main, "$723.00") || !strings.Contains(pg.Main, "Bank debit") {
				t.Fatalf("Pay online led to %s:\n%s", pg.Path, pg.Main)
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[value="bank"]`), chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			if err := j.click("button.pay"); err != nil {
				t.Fatal(err)
			}
			pg = look("processing")
			if pg.Path != "/c/hawthorne-bistro/paid/"+id || !strings.Contains(pg.Main, "processing") {
				t.Fatalf("after a bank debit: %s\n%s", pg.Path, pg.Main)
			}
			if r := hub(t, dir, "payments", "simulate", id, "paid"); r.code != 0 {
				t.Fatalf("hub payments simulate = %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			// reloadUntil opens path until its page is as ok says (the rebuild after a webhook).
			reloadUntil := func(path, what string, ok func(page) bool) {
				t.Helper()
				for deadline := time.Now().Add(15 * time.Second); ; {
					if err := j.open(path); err != nil {
						t.Fatal(err)
					}
					pg, err := chromedp.Run(ctx, chromedp.Evaluate[page](pageFacts))
					if err != nil {
						t.Fatal(err)
					}
					if ok(pg) {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s is not %s within 15 s: badges %v\n%s", path, what, pg.Badges, pg.Main)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			reloadUntil(invoice, "Paid", func(pg page) bool { return len(pg.Badges) > 0 && pg.Badges[0] == "Paid" })
			look("paid")

			// A subscription: Start subscription, subscribe by card, and the
			// subscription's page is active with its first receipt.
			lr := hub(t, dir, "link", "whitfield-dental", "-print")
			sublink := regexp.MustCompile(`http://\S+/login/t/\S+`).FindString(lr.stdout)
			if lr.code != 0 || sublink == "" {
				t.Fatalf("hub link whitfield-dental -print = %d\n%s%s", lr.code, lr.stdout, lr.stderr)
			}
			if err := j.open(sublink); err != nil {
				t.Fatal(err)
			}
			if err := j.click("main form button"); err != nil { // Continue
				t.Fatal(err)
			}
			const sub = "/c/whitfield-dental/subscriptions/SUB-3001/"
			if err := j.open(sub); err != nil {
				t.Fatal(err)
			}
			if err := j.clickButton("Start subscription"); err != nil {
				t.Fatal(err)
			}
			if pg := look("subscription-checkout"); !strings.HasPrefix(pg.Path, "/_checkout/") || !strings.Contains(pg.Main, "$785.00 per month") {
				t.Fatalf("Start subscription led to %s:\n%s", pg.Path, pg.Main)
			}
			if err := j.click("button.pay"); err != nil {
				t.Fatal(err)
			}
			reloadUntil(sub, "active with a receipt", func(pg page) bool {
				return strings.Contains(pg.Main, "Active since") && strings.Contains(pg.Main, "Receipt SUB-3001-S")
			})
			look("subscription-active")

			// Save a card while paying, and see it listed on the account page.
			if err := j.open("/c/whitfield-dental/invoices/INV-2001/"); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name="save"]`), chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.RunResponse(ctx, chromedp.Click(`//main//form[contains(@action, "/pay")]//button[normalize-space(.)="Pay online"]`, chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			if pg := look("checkout-save-card"); !strings.HasPrefix(pg.Path, "/_checkout/") || !strings.Contains(pg.Main, "Card to save for future invoices") {
				t.Fatalf("Pay online with Save this card led to %s:\n%s", pg.Path, pg.Main)
			}
			if err := j.click("button.pay"); err != nil {
				t.Fatal(err)
			}
			reloadUntil("/c/whitfield-dental/account/", "showing the saved card", func(pg page) bool {
				return strings.Contains(pg.Main, "Visa •••• 4242") && strings.Contains(pg.Main, "Pay invoices automatically")
			})
			look("saved-card")
			for _, l := range strings.Split(p.output(), "\n") {
				if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
					t.Errorf("hub serve logged: %s", l)
				}
			}
		})
	}
}
