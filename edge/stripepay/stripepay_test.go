package stripepay_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/stripe/stripe-go/v76/webhook"
)

const secret = "whsec_unit"

// mock starts stripe-mock on 127.0.0.1 (skipping when it is not
// installed, unless HUB_REQUIRE_BROWSER says the CI tools must be there).
func mock(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("stripe-mock")
	if err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		path = filepath.Join(strings.TrimSpace(string(out)), "bin", "stripe-mock")
		if _, err := os.Stat(path); err != nil {
			if os.Getenv("HUB_REQUIRE_BROWSER") != "" {
				t.Fatal("stripe-mock is not installed; HUB_REQUIRE_BROWSER is set")
			}
			t.Skip("stripe-mock is not installed (go install github.com/stripe/stripe-mock@latest)")
		}
	}
	addr := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	h, hs := addr(), addr()
	cmd := exec.Command(path, "-http-addr", h, "-https-addr", hs)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", h); err == nil {
			c.Close()
			return "http://" + h
		}
		if time.Now().After(deadline) {
			t.Fatal("stripe-mock did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCreateSessionAgainstStripeMock(t *testing.T) {
	co, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIURL: mock(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := co.CreateSession(context.Background(), edge.CheckoutRequest{
		ClientID: "acme", Kind: "invoice", Document: "INV-1", Description: "Invoice INV-1 — Spring", Email: "a@example.com",
		Amount: 12345, Currency: "USD", SuccessURL: "http://127.0.0.1/c/acme/paid/{CHECKOUT_SESSION_ID}", CancelURL: "http://127.0.0.1/c/acme/invoices/INV-1/",
		IdempotencyKey: "hub-test-1", ExpiresAt: time.Now().Add(31 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.ID, "cs_") || !strings.HasPrefix(s.URL, "https://checkout.stripe.com/") {
		t.Errorf("session = %+v", s)
	}
	// Stripe out of reach is an error, not a session.
	down, _ := stripepay.New(stripepay.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIURL: "http://127.0.0.1:1"})
	if _, err := down.CreateSession(context.Background(), edge.CheckoutRequest{Amount: 100, Currency: "USD", SuccessURL: "http://x/", CancelURL: "http://x/"}); err == nil {
		t.Error("a Checkout Session was made with Stripe out of reach")
	}
}

func TestNewNeedsKeys(t *testing.T) {
	if _, err := stripepay.New(stripepay.Config{}); err == nil {
		t.Error("New without a secret key worked")
	}
	if _, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_1"}); err == nil {
		t.Error("New without a webhook secret worked")
	}
}

func event(t *testing.T, apiVersion string) []byte {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"id": "evt_1", "object": "event", "api_version": apiVersion, "created": time.Now().Unix(),
		"type": "checkout.session.completed", "data": map[string]any{"object": map[string]any{
			"id": "cs_1", "object": "checkout.session", "payment_status": "paid", "amount_total": 500, "currency": "usd",
			"metadata": map[string]string{"client": "acme"}, "payment_intent": "pi_1", "payment_method_types": []string{"card"}}}})
	return b
}

func TestParseWebhook(t *testing.T) {
	co, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_1", WebhookSecret: secret, APIURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	body := event(t, stripepay.APIVersion)
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret})
	ev, err := co.ParseWebhook(sp.Payload, sp.Header)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_1" || ev.Session == nil || ev.Session.ID != "cs_1" || ev.Session.AmountTotal != 500 || ev.Session.Currency != "USD" ||
		ev.Session.PaymentStatus != "paid" || ev.Session.PaymentIntent != "pi_1" || ev.Session.Method != "card" || ev.Session.Metadata["client"] != "acme" {
		t.Errorf("event = %+v %+v", ev, ev.Session)
	}
	stale := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now().Add(-301 * time.Second)})
	other := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_other"})
	for name, c := range map[string][2]string{
		"unsigned":     {string(body), ""},
		"stale":        {string(body), stale.Header},
		"other secret": {string(body), other.Header},
		"changed body": {strings.Replace(string(body), "500", "5", 1), sp.Header},
	} {
		if _, err := co.ParseWebhook([]byte(c[0]), c[1]); err == nil {
			t.Errorf("%s webhook was accepted", name)
		}
	}
	old := event(t, "2022-11-15")
	osp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: old, Secret: secret})
	_, err = co.ParseWebhook(osp.Payload, osp.Header)
	var ve *edge.APIVersionError
	if !errors.As(err, &ve) || ve.Got != "2022-11-15" || ve.Want != stripepay.APIVersion {
		t.Errorf("another API version = %v; want an APIVersionError", err)
	}
}

// FuzzParseWebhook: whatever the body and signature header, ParseWebhook
// neither panics nor accepts what was not signed with the secret.
func FuzzParseWebhook(f *testing.F) {
	co, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_1", WebhookSecret: secret, APIURL: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"id":"evt"}`), "t=1,v1=00")
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`not json`), "t=9999999999,v1=zz,v0=aa")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		if _, err := co.ParseWebhook(body, sig); err == nil {
			t.Errorf("accepted an unsigned webhook %q %q", body, sig)
		}
	})
}
