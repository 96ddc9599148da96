package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestServeTestCheckoutSubscription: with the real binary, hub serve
// without Stripe keys: Start subscription opens the test checkout's
// subscription page; the card makes it active with its first period paid
// (checkout.session.completed and invoice.paid through the real webhook
// route), the page shows it with its receipt, and hub subscriptions shows
// the payment. Manage opens the local customer portal, whose Charge the
// next period adds the second receipt and whose Cancel cancels it.
func TestServeTestCheckoutSubscription(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	p := startHub(t, dir, "serve", "-addr", "127.0.0.1:0", "-watch=false")
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	p.await(t, `Pay opens this server's test checkout`)

	dana := signInVia(t, p, dir, base, "whitfield-dental")
	sub := "/c/whitfield-dental/subscriptions/SUB-3001/"
	if _, b := fetch(t, dana, "GET", base+sub, nil); !strings.Contains(b, `action="`+sub+`start"`) {
		t.Fatalf("the subscription page has no Start form:\n%.1500s", b)
	}
	r, _ := fetch(t, dana, "POST", base+sub+"start", url.Values{})
	page := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !regexp.MustCompile(`^`+regexp.QuoteMeta(base)+`/_checkout/cs_test_local_\w+$`).MatchString(page) {
		t.Fatalf("Start = %d %q; want 303 to the test checkout", r.StatusCode, page)
	}
	if r, b := fetch(t, dana, "GET", page, nil); r.StatusCode != 200 || !strings.Contains(b, "Subscribe") || !strings.Contains(b, "per month") || !strings.Contains(b, "$785.00") {
		t.Fatalf("subscription checkout page = %d\n%.1200s", r.StatusCode, b)
	}
	if r := checkoutPost(t, dana, page, "paid"); r.StatusCode != 303 || r.Header.Get("Location") != base+"/c/whitfield-dental/subscribed/SUB-3001" {
		t.Fatalf("Subscribe by card = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var body string
	waitFor(t, func() bool {
		_, body = fetch(t, dana, "GET", base+sub, nil)
		return strings.Contains(body, "Active since") && strings.Contains(body, "/receipts/SUB-3001-S1/")
	})
	if strings.Contains(body, `action="`+sub+`start"`) || !strings.Contains(body, `action="`+sub+`manage"`) {
		t.Errorf("the active subscription's page:\n%s", body)
	}
	if r, b := fetch(t, dana, "GET", base+"/c/whitfield-dental/receipts/SUB-3001-S1/", nil); r.StatusCode != 200 || !strings.Contains(b, "$785.00") {
		t.Errorf("first receipt = %d", r.StatusCode)
	}
	p.await(t, `mail to .*"Receipt:`)
	if r := hub(t, dir, "subscriptions", "-state", filepath.Join(".hub", "state")); r.code != 0 || !regexp.MustCompile(`SUB-3001.*active online.*\$785\.00`).MatchString(r.stdout) {
		t.Errorf("hub subscriptions = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The local customer portal: charge the next period, then cancel.
	r, _ = fetch(t, dana, "POST", base+sub+"manage", url.Values{})
	portal := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(portal, base+"/_checkout/portal/cus_test_local_") {
		t.Fatalf("Manage = %d %q", r.StatusCode, portal)
	}
	_, b := fetch(t, dana, "GET", portal, nil)
	m := regexp.MustCompile(`name="subscription" value="(sub_test_local_\w+)"`).FindStringSubmatch(b)
	if m == nil {
		t.Fatalf("portal page:\n%s", b)
	}
	portalPost := func(do string) {
		t.Helper()
		req, _ := http.NewRequest("POST", portal, strings.NewReader(url.Values{"subscription": {m[1]}, "do": {do}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		r, err := dana.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("portal %s = %d", do, r.StatusCode)
		}
	}
	portalPost("charge")
	waitFor(t, func() bool {
		_, b := fetch(t, dana, "GET", base+sub, nil)
		return strings.Contains(b, "/receipts/SUB-3001-S2/")
	})
	portalPost("cancel")
	waitFor(t, func() bool {
		_, b := fetch(t, dana, "GET", base+sub, nil)
		return strings.Contains(b, "Cancelled; it was active from")
	})
}
