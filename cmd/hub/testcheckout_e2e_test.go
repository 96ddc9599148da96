package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// signInVia signs a new browser in to client through the login form and
// the outbox of a running hub.
func signInVia(t *testing.T, p *proc, dir, base, client string) *http.Client {
	t.Helper()
	c := browser()
	email := contactOf(t, filepath.Join(dir, "content"), client)
	if r, _ := fetch(t, c, "POST", base+"/login", url.Values{"email": {email}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login = %d", r.StatusCode)
	}
	u, _ := url.Parse(outboxLink(t, p, dir, email))
	if r, _ := fetch(t, c, "POST", base+u.Path, url.Values{}); r.Header.Get("Location") != "/c/"+client+"/" {
		t.Fatalf("sign-in link for %s went to %q", client, r.Header.Get("Location"))
	}
	return c
}

// startPayment presses an invoice's Pay button and returns the test
// checkout's page it opens, and the session id.
func startPayment(t *testing.T, c *http.Client, base, invoice string) (string, string) {
	t.Helper()
	r, _ := fetch(t, c, "POST", base+invoice+"pay", url.Values{"choice": {"full"}})
	loc := r.Header.Get("Location")
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `/_checkout/(cs_test_local_\w+)$`).FindStringSubmatch(loc)
	if r.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("Pay = %d %q; want 303 to the test checkout of %s", r.StatusCode, loc, base)
	}
	return loc, m[1]
}

// checkoutPost presses one of the test checkout page's buttons.
func checkoutPost(t *testing.T, c *http.Client, page, outcome string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", page, strings.NewReader(url.Values{"outcome": {outcome}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Origin", strings.TrimSuffix(page, page[strings.Index(page, "/_checkout/"):]))
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r
}

// TestServeTestCheckout: hub serve without Stripe keys. A card payment
// through the test checkout's page is paid (its signed events went through
// the real webhook route); a bank debit shows processing until hub
// payments simulate settles it; a payment simulated from the terminal
// fails; Cancel goes back and pays nothing. hub link, from another process,
// links to the address served.
func TestServeTestCheckout(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	// Bank debits settle only when told (hub payments simulate): no waiting on a timer.
	p := startHub(t, dir, "serve", "-addr", "127.0.0.1:0", "-checkout-settle", "1h", "-watch=false")
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	p.await(t, `Pay opens this server's test checkout`)

	if r := hub(t, dir, "link", "okafor-residence", "-print"); r.code != 0 || !strings.Contains(r.stdout, "\t"+base+"/login/t/") || !strings.Contains(r.stdout, base+"/") {
		t.Errorf("hub link -print beside hub serve = %d\n%s%s; want links to %s", r.code, r.stdout, r.stderr, base)
	}
	if r := hub(t, dir, "send", "invoice", "INV-2002"); r.code != 0 || !strings.Contains(r.stdout, base+"/login/t/") {
		t.Errorf("hub send beside hub serve = %d\n%s%s; want links to %s", r.code, r.stdout, r.stderr, base)
	}

	// By card: paid.
	grace := signInVia(t, p, dir, base, "okafor-residence")
	invoice := "/c/okafor-residence/invoices/INV-2002/"
	page, id := startPayment(t, grace, base, invoice)
	r, body := fetch(t, grace, "GET", page, nil)
	if r.StatusCode != 200 || !strings.Contains(body, "Test checkout") || !strings.Contains(body, `value="bank"`) || !strings.Contains(body, "Pay $") {
		t.Fatalf("checkout page = %d\n%.600s", r.StatusCode, body)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("checkout page CSP = %q", csp)
	}
	if strings.Contains(body, "/_preview/reload.js") {
		t.Error("the checkout page has the live-reload script (its CSP would refuse it)")
	}
	if r := checkoutPost(t, grace, page, "cancel"); r.StatusCode != 303 || r.Header.Get("Location") != base+invoice {
		t.Errorf("Cancel = %d %q; want back to %s", r.StatusCode, r.Header.Get("Location"), invoice)
	}
	if r := checkoutPost(t, grace, page, "paid"); r.StatusCode != 303 || r.Header.Get("Location") != base+"/c/okafor-residence/paid/"+id {
		t.Fatalf("Pay by card = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	waitFor(t, func() bool { _, b := fetch(t, grace, "GET", base+invoice, nil); return strings.Contains(b, ">Paid<") })
	p.await(t, `mail to .*"Receipt:`)
	if r := checkoutPost(t, grace, page, "paid"); r.StatusCode != http.StatusConflict {
		t.Errorf("paying the paid session again = %d; want 409", r.StatusCode)
	}

	// By bank debit: processing, then paid when hub payments simulate says so.
	dana := signInVia(t, p, dir, base, "whitfield-dental")
	invoice = "/c/whitfield-dental/invoices/INV-2001/"
	page, id = startPayment(t, dana, base, invoice)
	if r := checkoutPost(t, dana, page, "bank"); r.StatusCode != 303 {
		t.Fatalf("Pay by bank debit = %d", r.StatusCode)
	}
	if _, b := fetch(t, dana, "GET", base+"/c/whitfield-dental/paid/"+id, nil); !strings.Contains(b, "<strong>processing</strong>") {
		t.Errorf("after a bank debit the payment page says:\n%.800s", b)
	}
	waitFor(t, func() bool { _, b := fetch(t, dana, "GET", base+invoice, nil); return strings.Contains(b, "rocessing") })
	if r := hub(t, dir, "payments", "simulate", id, "paid"); r.code != 0 || !strings.Contains(r.stdout, "processing → paid") {
		t.Fatalf("hub payments simulate paid = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	waitFor(t, func() bool { _, b := fetch(t, dana, "GET", base+invoice, nil); return strings.Contains(b, ">Paid<") })

	// From the terminal alone: failed.
	ruth := signInVia(t, p, dir, base, "hawthorne-bistro")
	_, id = startPayment(t, ruth, base, "/c/hawthorne-bistro/invoices/INV-2003/")
	if r := hub(t, dir, "payments", "simulate", id, "failed"); r.code != 0 || !strings.Contains(r.stdout, "pending → failed") {
		t.Fatalf("hub payments simulate failed = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := hub(t, dir, "payments", "simulate", id, "paid"); r.code != 1 || !strings.Contains(r.stderr, "failed already") {
		t.Errorf("simulating a failed payment again = %d %q", r.code, r.stderr)
	}
	if r := hub(t, dir, "payments"); !regexp.MustCompile(`INV-2003.*failed`).MatchString(r.stdout) || strings.Contains(r.stdout, "refused") {
		t.Errorf("hub payments:\n%s", r.stdout)
	}
}

// TestEdgeHasNoTestCheckout: hub edge, with live keys or none, and hub
// serve with a Stripe key never serve the test checkout.
func TestEdgeHasNoTestCheckout(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build", "-content", "content", "-out", "public"); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	live := []string{"HUB_STRIPE_SECRET_KEY=sk_live_notreal", "HUB_STRIPE_WEBHOOK_SECRET=whsec_notreal", "HUB_STRIPE_API_URL=http://127.0.0.1:1"}
	for name, run := range map[string]struct {
		env  []string
		args []string
	}{
		"edge, live keys":  {live, []string{"edge", "-site", "public", "-addr", "127.0.0.1:0", "-base-url", "http://127.0.0.1:1"}},
		"edge, no keys":    {nil, []string{"edge", "-site", "public", "-addr", "127.0.0.1:0", "-base-url", "http://127.0.0.1:1"}},
		"serve, live keys": {live, []string{"serve", "-addr", "127.0.0.1:0", "-watch=false", "-state", ".hub/state2"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := startHubEnv(t, dir, run.env, run.args...)
			base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
			for _, m := range []string{"GET", "POST"} {
				r, _ := fetch(t, browser(), m, base+"/_checkout/cs_test_local_0123", url.Values{"outcome": {"paid"}})
				if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
					t.Errorf("%s /_checkout/... = %d; want 404", m, r.StatusCode)
				}
			}
			if strings.Contains(p.output(), "test checkout") {
				t.Errorf("it says it runs the test checkout:\n%s", p.output())
			}
		})
	}
}
