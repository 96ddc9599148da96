package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/hubhq/hub/edge/testcheckout"
	"github.com/hubhq/hub/generator/events"
)

// What hub serve does for local runs beyond the edge: the test checkout
// when no Stripe keys are set, and the address it serves, written where
// the staff commands run beside it (hub link, hub send, hub payments
// simulate) find it, so their links point at it.

// localCheckout is hub serve's checkout when no Stripe secret key is set:
// the test checkout on the served address, signing its events with a
// secret made for this run and verifying them with Stripe's verifier. With
// a key (test or live) there is none: payments go to Stripe. hub edge never
// calls it.
func localCheckout(cfg *edge.Config, e *edgeEnv, local string, settle time.Duration) error {
	if os.Getenv("HUB_STRIPE_SECRET_KEY") != "" || cfg.Checkout != nil {
		return nil
	}
	base, err := url.Parse(local)
	if err != nil {
		return err
	}
	if !testcheckout.IsLocal(base) {
		e.log.Warn("no HUB_STRIPE_SECRET_KEY, and the test checkout answers on a loopback address only (-addr 127.0.0.1:PORT): Pay buttons will say paying online is not available", "addr", base.Host)
		return nil
	}
	secret := testcheckout.NewSecret()
	tc, err := testcheckout.New(testcheckout.Config{
		Base: base, Secret: secret, Parse: stripepay.NewWebhooks(secret).ParseWebhook,
		Payment: e.store.Payment, Subscription: e.store.Subscription, Business: e.build.Directory.Site.Name, Locale: e.build.Directory.Site.Locale, Settle: settle, Log: e.log,
	})
	if err != nil {
		return err
	}
	cfg.Checkout, cfg.TestCheckout = tc, tc.Handler()
	return nil
}

// servedFile is where a running hub serve notes the address it serves.
func servedFile(state string) string { return filepath.Join(state, "serving") }

// noteServed writes the served address into the state folder until stop.
func noteServed(state, url string) (stop func()) {
	f := servedFile(state)
	if err := os.WriteFile(f, []byte(url+"\n"), 0o644); err != nil {
		return func() {}
	}
	return func() {
		if b, err := os.ReadFile(f); err == nil && strings.TrimSpace(string(b)) == url {
			os.Remove(f)
		}
	}
}

// servedBase is the address of the hub serve running on state, or "" when
// none is (the file is left behind by a killed one, or nothing answers).
func servedBase(state string) string {
	b, err := os.ReadFile(servedFile(state))
	if err != nil {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(string(b)))
	if err != nil || !testcheckout.IsLocal(u) {
		return ""
	}
	c, err := net.DialTimeout("tcp", u.Host, 300*time.Millisecond)
	if err != nil {
		return ""
	}
	c.Close()
	return strings.TrimSuffix(u.String(), "/")
}

// cmdPaymentsSimulate gives a payment of hub serve's test checkout an
// outcome from the terminal: the running hub serve sends the signed events.
func cmdPaymentsSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("payments simulate", stderr)
	state := fs.String("state", envOr("HUB_STATE", filepath.Join(".hub", "state")), "hub serve's state folder (env HUB_STATE)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: hub payments simulate SESSION-ID paid|processing|failed\n\n"+
			"Gives a payment of hub serve's test checkout (no Stripe keys) an outcome, as the Pay page's\n"+
			"buttons do: the running hub serve sends the signed Stripe events to its webhook.\n"+
			"SESSION-ID is in hub payments. Flags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args, 2, "SESSION-ID paid|processing|failed")
	if err != nil {
		return err
	}
	id, outcome := pos[0], pos[1]
	if outcome != testcheckout.Paid && outcome != testcheckout.Processing && outcome != testcheckout.Failed {
		fmt.Fprintf(stderr, "hub payments simulate: say paid, processing or failed, not %q\n", outcome)
		return errUsage
	}
	st, err := openStore(*state)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := st.Payment(ctx, id)
	if err != nil {
		return fmt.Errorf("no payment %s in %s (hub payments lists them)", id, *state)
	}
	u, err := url.Parse(p.URL)
	if err != nil || !testcheckout.IsLocal(u) || !strings.HasPrefix(u.Path, testcheckout.Prefix) {
		return fmt.Errorf("payment %s went to Stripe (%s), not to hub serve's test checkout: only Stripe can settle it", id, p.URL)
	}
	if p.State != events.PaymentPending && p.State != events.PaymentProcessing {
		return fmt.Errorf("payment %s is %s already; nothing to simulate", id, p.State)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, strings.NewReader(url.Values{"outcome": {outcome}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/plain")
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("hub serve did not answer at %s: is it running (with this state folder)? %w", u.Host, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the test checkout refused: %s", strings.TrimSpace(string(msg)))
	}
	// The events are acknowledged, so recorded: show where it stands.
	now, err := st.Payment(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "payment %s (%s): %s → %s\n", id, p.Document, p.State, now.State)
	if now.State == p.State {
		return errors.New("the events were sent but the payment did not change; hub payments lists refused events")
	}
	return nil
}
