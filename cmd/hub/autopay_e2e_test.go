package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeAutopayOnTheDueDate: with the real binary and hub serve's test
// checkout, a client pays part of an invoice due today ticking "Save this
// card", sees the card on the account page and turns autopay on; the
// edge, started again on the due date, charges the rest to the card once
// (its start-up run is the day's clock), with a receipt; hub charge then
// finds nothing due, and refuses a client who did not opt in.
func TestServeAutopayOnTheDueDate(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	copyContent(t, content)
	la, _ := time.LoadLocation("America/Los_Angeles")
	today := time.Now().In(la).Format(time.DateOnly)
	inv := filepath.Join(content, "clients", "okafor-residence", "invoices", "INV-2002-home-maintenance.yaml")
	b, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.NewReplacer("issued: 2026-11-20", "issued: "+today, "due: 2026-12-20", "due: "+today).Replace(string(b)))
	if err := os.WriteFile(inv, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startHub(t, dir, "serve", "-addr", "127.0.0.1:0", "-watch=false")
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	c := signInVia(t, p, dir, base, "okafor-residence")
	const page, account = "/c/okafor-residence/invoices/INV-2002/", "/c/okafor-residence/account/"
	r, _ := fetch(t, c, "POST", base+page+"pay", url.Values{"choice": {"part"}, "part": {"50.00"}, "save": {"1"}})
	checkout := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(checkout, base+"/_checkout/") {
		t.Fatalf("Pay with Save this card = %d %q", r.StatusCode, checkout)
	}
	if _, body := fetch(t, c, "GET", checkout, nil); !strings.Contains(body, "Card to save for future invoices") {
		t.Fatalf("the test checkout does not offer the card to save:\n%.1500s", body)
	}
	if r := checkoutPost(t, c, checkout, "paid"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("paying by card = %d", r.StatusCode)
	}
	waitFor(t, func() bool {
		_, body := fetch(t, c, "GET", base+account, nil)
		return strings.Contains(body, "Visa •••• 4242")
	})
	if r, _ := fetch(t, c, "POST", base+"/c/okafor-residence/billing/autopay", url.Values{"autopay": {"on"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("autopay on = %d", r.StatusCode)
	}
	if _, body := fetch(t, c, "GET", base+account, nil); !strings.Contains(body, "Stop paying automatically") {
		t.Fatalf("account page with autopay on:\n%s", body)
	}

	// The next start is the due date's run.
	p.cmd.Process.Signal(syscall.SIGTERM)
	for range p.seen {
	}
	p2 := startHub(t, dir, "serve", "-addr", "127.0.0.1:0", "-watch=false")
	base = strings.TrimSuffix(p2.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	email := contactOf(t, content, "okafor-residence")
	p2.await(t, `mail to `+regexp.QuoteMeta(email)+`: "Receipt: `)
	c = signInVia(t, p2, dir, base, "okafor-residence") // the first run's session does not carry over to the new one
	var body string
	waitFor(t, func() bool {
		_, body = fetch(t, c, "GET", base+page, nil)
		return strings.Contains(body, "/receipts/INV-2002-P2/")
	})
	if strings.Contains(body, `action="`+page+`pay"`) {
		t.Errorf("the invoice still offers to pay after autopay:\n%s", body)
	}
	if r := hub(t, dir, "payments", "-state", filepath.Join(".hub", "state")); r.code != 0 || strings.Count(r.stdout, "INV-2002") != 2 || !strings.Contains(r.stdout, "INV-2002 (autopay)") {
		t.Errorf("hub payments = %d; want INV-2002's two payments\n%s%s", r.code, r.stdout, r.stderr)
	}
	// hub charge: nothing left on INV-2002; whitfield-dental did not opt in.
	stripe := []string{"HUB_STRIPE_SECRET_KEY=sk_test_unused", "HUB_STRIPE_WEBHOOK_SECRET=whsec_unused", "HUB_STRIPE_API_URL=http://127.0.0.1:1", "HUB_STATE=" + filepath.Join(".hub", "state")}
	for inv, want := range map[string]string{"INV-2002": "has nothing due", "INV-2001": "has not opted in to paying invoices automatically"} {
		r := hubEnv(t, dir, stripe, "charge", "-site", "public", inv)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("hub charge %s = %d; want a refusal saying %q\n%s%s", inv, r.code, want, r.stdout, r.stderr)
		}
	}
}
