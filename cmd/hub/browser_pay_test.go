package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	gobuild "go/build"
	"image"
	"image/color"
	"image/png"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpfetch "github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/sqlstore"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/hubhq/hub/generator/events"
	"github.com/stripe/stripe-go/v76/webhook"
)

// What the browser journeys need beyond pages: a hub of their own with
// online payments through stripe-mock, Stripe's side of a payment (its
// Checkout page and its webhook), a drawn signature and a photo to attach.

// journeyWebhookSecret signs the webhooks the journeys send as Stripe.
const journeyWebhookSecret = "whsec_journeys"

// startStripeMock runs stripe-mock on loopback and returns its HTTP address.
func startStripeMock(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("stripe-mock")
	if err != nil {
		// go install puts it in GOPATH/bin, which is not always on PATH.
		path = filepath.Join(gobuild.Default.GOPATH, "bin", "stripe-mock")
		if _, serr := os.Stat(path); serr != nil {
			missing(t, "stripe-mock is not installed (go install github.com/stripe/stripe-mock@latest)")
		}
	}
	addr := freeAddr(t)
	var out bytes.Buffer
	cmd := exec.Command(path, "-http-addr", addr, "-https-addr", freeAddr(t))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
			t.Errorf("stripe-mock stopped before the journeys ended (%v):\n%s", cmd.ProcessState, out.String())
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatalf("stripe-mock exited:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not listen on %s within 15s:\n%s", addr, out.String())
		}
	}
}

// startJourneyHub builds a copy of content/ in a folder of its own and runs
// `hub edge` on it with online payments through stripe-mock and -content
// (so payments, approvals and requests reach the pages at once). It
// returns the hub, its folder and its base URL.
func startJourneyHub(t *testing.T, stripeAPI string) (*proc, string, string) {
	t.Helper()
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build"); r.code != 0 {
		t.Fatalf("hub build = %d\n%s", r.code, r.stderr)
	}
	base := "http://" + freeAddr(t)
	env := []string{"HUB_STRIPE_SECRET_KEY=sk_test_journeys", "HUB_STRIPE_WEBHOOK_SECRET=" + journeyWebhookSecret, "HUB_STRIPE_API_URL=" + stripeAPI}
	p := startHubEnv(t, dir, env, "edge", "-addr", strings.TrimPrefix(base, "http://"), "-base-url", base, "-content", "content")
	p.await(t, `hub edge serving`)
	return p, dir, base
}

// checkoutHost is where the edge sends a client to pay.
const checkoutHost = "https://checkout.stripe.com/"

// stubCheckout answers the tab's requests to Stripe Checkout (which the
// test browser cannot reach) with a stand-in page, so that a Pay button
// leads to a page whose address the journey reads.
func stubCheckout(t *testing.T, tab context.Context) {
	t.Helper()
	go func() {
		for ev, err := range chromedp.Events(tab, cdpfetch.RequestPaused) {
			if err != nil {
				return
			}
			chromedp.Call(tab, cdpfetch.FulfillRequest, cdpfetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: 200,
				ResponseHeaders: []*cdpfetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}},
				Body:            []byte(`<!doctype html><html lang="en"><title>Stripe Checkout</title><main><h1>Stripe Checkout (stand-in)</h1></main></html>`),
			})
		}
	}()
	if _, err := chromedp.Call(tab, cdpfetch.Enable, cdpfetch.EnableParams{Patterns: []*cdpfetch.RequestPattern{{URLPattern: checkoutHost + "*"}}}); err != nil {
		t.Fatal(err)
	}
}

// pay clicks the button (XPath) that leads to Stripe Checkout for the
// client's document, then plays Stripe: the payment the edge recorded for
// that Checkout Session is completed by a signed webhook, and the browser
// comes back to the success URL, which leads to the document (once the
// edge has rebuilt the client's pages) at path, under the hub.
func (j *journey) pay(button, doc, path string) error {
	resp, err := chromedp.RunResponse(j.ctx, chromedp.Click(button, chromedp.NodeVisible))
	if err != nil {
		return err
	}
	if !strings.HasPrefix(resp.URL, checkoutHost) {
		return fmt.Errorf("the Pay button led to %s (%d); want Stripe Checkout", resp.URL, resp.Status)
	}
	// stripe-mock gives every session the same URL (its fixture's), so the
	// session is found in the edge's state by its document instead.
	p, err := j.pendingPayment(doc)
	if err != nil {
		return err
	}
	if p.URL != resp.URL {
		return fmt.Errorf("the browser went to %s; the payment recorded %s", resp.URL, p.URL)
	}
	j.payment = p
	if err := j.stripeWebhook(p); err != nil {
		return err
	}
	// The success URL: it waits for the edge's rebuild and then leads to
	// the document.
	want := j.root() + path
	for deadline := time.Now().Add(20 * time.Second); ; {
		if err := j.open(j.root() + "paid/" + p.ID); err != nil {
			return err
		}
		loc, err := chromedp.Run(j.ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil || loc == want {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the success URL still shows %s after 20s; want %s", loc, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// pendingPayment is the newest pending payment of the client's document
// recorded in the edge's state.
func (j *journey) pendingPayment(doc string) (edge.PaymentRecord, error) {
	st, err := sqlstore.Open(filepath.Join(j.dir, ".hub", "state"))
	if err != nil {
		return edge.PaymentRecord{}, err
	}
	defer st.Close()
	ps, err := st.Payments(j.ctx, 100)
	if err != nil {
		return edge.PaymentRecord{}, err
	}
	for _, p := range ps {
		if p.ClientID == j.client && p.Document == doc && p.State == events.PaymentPending {
			return p, nil
		}
	}
	return edge.PaymentRecord{}, fmt.Errorf("no pending payment of %s %s in the edge's state (%d payments)", j.client, doc, len(ps))
}

// stripeWebhook sends the edge the event Stripe sends when a Checkout
// Session is paid, signed with the webhook secret.
func (j *journey) stripeWebhook(p edge.PaymentRecord) error {
	session := map[string]any{"id": p.ID, "object": "checkout.session", "payment_status": "paid",
		"amount_total": p.Amount, "currency": strings.ToLower(p.Currency),
		"metadata":       map[string]string{"client": p.ClientID, "document": p.Document, "kind": p.Kind},
		"payment_intent": "pi_" + p.ID, "payment_method_types": []string{"card"}}
	payload, err := json.Marshal(map[string]any{"id": "evt_" + p.ID, "object": "event", "api_version": stripepay.APIVersion,
		"created": time.Now().Unix(), "type": edge.EventSessionCompleted, "data": map[string]any{"object": session}})
	if err != nil {
		return err
	}
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: journeyWebhookSecret})
	req, err := http.NewRequestWithContext(j.ctx, "POST", j.base+"/stripe/webhook", bytes.NewReader(sp.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sp.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("POST /stripe/webhook = %d", resp.StatusCode)
	}
	return nil
}

// drawSignature draws a stroke on the quote's signature pad, with a finger
// on a touch screen and with the mouse elsewhere, and checks that the pad
// filled in the form's signature.
func (j *journey) drawSignature() error {
	const pad = `[data-signature-pad] canvas`
	if err := chromedp.Do(j.ctx, chromedp.ScrollIntoView(chromedp.CSS(pad), chromedp.NodeVisible)); err != nil {
		return err
	}
	r, err := chromedp.Run(j.ctx, chromedp.Evaluate[struct{ X, Y, W, H float64 }](
		`(r => ({X: r.x, Y: r.y, W: r.width, H: r.height}))(document.querySelector('`+pad+`').getBoundingClientRect())`))
	if err != nil {
		return err
	}
	if r.W < 50 || r.H < 30 {
		return fmt.Errorf("the signature pad is %.0fx%.0f px: too small to sign on", r.W, r.H)
	}
	var pts [][2]float64 // a wave across the pad
	for i := range 25 {
		f := float64(i) / 24
		pts = append(pts, [2]float64{r.X + r.W*(0.1+0.8*f), r.Y + r.H*(0.5+0.3*math.Sin(f*4*math.Pi))})
	}
	for i, p := range pts {
		var err error
		if j.touch {
			typ := input.DispatchTouchEventTypeTouchMove
			if i == 0 {
				typ = input.DispatchTouchEventTypeTouchStart
			}
			_, err = chromedp.Call(j.ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ,
				TouchPoints: []*input.TouchPoint{{X: p[0], Y: p[1]}}})
		} else {
			params := input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: p[0], Y: p[1], Button: input.MouseButtonLeft, Buttons: 1}
			if i == 0 {
				params.Type, params.ClickCount = input.DispatchMouseEventTypeMousePressed, 1
			}
			_, err = chromedp.Call(j.ctx, input.DispatchMouseEvent, params)
		}
		if err != nil {
			return err
		}
	}
	if j.touch {
		_, err = chromedp.Call(j.ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
	} else {
		last := pts[len(pts)-1]
		_, err = chromedp.Call(j.ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseReleased,
			X: last[0], Y: last[1], Button: input.MouseButtonLeft, ClickCount: 1})
	}
	if err != nil {
		return err
	}
	sig, err := chromedp.Run(j.ctx, chromedp.Evaluate[string](`document.querySelector('[data-signature-pad] input[name=signature]').value`))
	if err != nil {
		return err
	}
	if !strings.HasPrefix(sig, "data:image/png;base64,") || len(sig) < 200 {
		return fmt.Errorf("after drawing, the form's signature is %.80q; want a PNG data URL", sig)
	}
	return nil
}

// imageLoaded reports whether the first image that css finds has loaded,
// and its src.
func (j *journey) imageLoaded(css string) (bool, string) {
	img, err := chromedp.Run(j.ctx, chromedp.Evaluate[struct {
		Found, Loaded bool
		Src           string
	}](fmt.Sprintf(`(i => i ? {Found: true, Loaded: i.complete && i.naturalWidth > 0, Src: i.getAttribute('src')} : {})(document.querySelector(%q))`, css)))
	if err != nil {
		j.t.Errorf("reading the image %s: %v", css, err)
		return false, ""
	}
	if !img.Found {
		return false, ""
	}
	return img.Loaded, img.Src
}

// download is what fetching the page's "Download PDF" link gave.
type download struct {
	Path, Type, Magic string
	Status, Size      int
	Download          bool // the link has the download attribute
}

// fetchDownload fetches the page's "Download PDF" link from the page, as
// the browser would when it is clicked.
func (j *journey) fetchDownload() (download, error) {
	return chromedp.Run(j.ctx, chromedp.Evaluate[download](`(async () => {
	const a = [...document.querySelectorAll('main a')].find(a => a.innerText.trim() === 'Download PDF');
	if (!a) return {};
	const r = await fetch(a.href);
	const b = new Uint8Array(await r.arrayBuffer());
	return {Path: new URL(a.href).pathname, Download: a.hasAttribute('download'), Status: r.status,
		Type: r.headers.get('content-type') ?? '', Size: b.length, Magic: String.fromCharCode(...b.slice(0, 5))};
})()`, chromedp.EvalAwaitPromise))
}

// photo writes a small PNG (a photo a client attaches) and returns its path.
func photo(t *testing.T, name string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 120, 90))
	for y := range 90 {
		for x := range 120 {
			img.Set(x, y, color.RGBA{R: uint8(60 + x), G: uint8(120 + y), B: 70, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
