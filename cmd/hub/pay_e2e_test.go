package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/sqlstore"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/hubhq/hub/generator/events"
	"github.com/stripe/stripe-go/v76/webhook"
)

const e2eWebhookSecret = "whsec_e2e_secret"

// stripeMock starts stripe-mock on 127.0.0.1 and returns its API URL. It
// skips the test when stripe-mock is not installed, unless
// HUB_REQUIRE_BROWSER (set by .ci/run, which installs it) says to fail.
func stripeMock(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("stripe-mock")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		if p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "stripe-mock"); fileExists(p) {
			path = p
		} else {
			missing(t, "stripe-mock is not installed (go install github.com/stripe/stripe-mock@latest)")
		}
	}
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(path, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", httpAddr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stripe-mock did not start listening")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + httpAddr
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func stripeEnv(api string) []string {
	return []string{"HUB_STRIPE_SECRET_KEY=sk_test_123", "HUB_STRIPE_WEBHOOK_SECRET=" + e2eWebhookSecret, "HUB_STRIPE_API_URL=" + api}
}

// sessionEvent is a signed Checkout Session webhook for a recorded payment.
func sessionEvent(id, typ, status string, p edge.PaymentRecord) (body []byte, sig string) {
	obj := map[string]any{"id": p.ID, "object": "checkout.session", "payment_status": status, "amount_total": p.Amount,
		"currency": strings.ToLower(p.Currency), "payment_intent": "pi_" + p.ID, "payment_method_types": []string{"card"},
		"metadata": map[string]string{"client": p.ClientID, "document": p.Document, "kind": p.Kind}}
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripepay.APIVersion, "created": time.Now().Unix(),
		"type": typ, "data": map[string]any{"object": obj}})
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: b, Secret: e2eWebhookSecret})
	return sp.Payload, sp.Header
}

func postWebhook(base string, body []byte, sig string) (int, error) {
	req, _ := http.NewRequest("POST", base+"/stripe/webhook", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	c := &http.Client{Timeout: 5 * time.Second}
	r, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	r.Body.Close()
	return r.StatusCode, nil
}

// TestPayEndToEnd: the real binary, stripe-mock as Stripe's API: sign in
// through the outbox, pay an invoice, Stripe's webhook arrives, the page
// shows it paid with a receipt, the receipt email is in the outbox, staff
// see it in hub payments, and hub build on the same state changes nothing.
func TestPayEndToEnd(t *testing.T) {
	api := stripeMock(t)
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build", "-content", "content", "-out", "public"); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	addr := freeAddr(t)
	p := startHubEnv(t, dir, append(stripeEnv(api), "HUB_BASE_URL=http://"+addr), "edge", "-site", "public", "-content", "content", "-addr", addr)
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")

	c := browser()
	if r, _ := fetch(t, c, "POST", base+"/login", url.Values{"email": {"grace@okafor.example"}}); r.StatusCode != 303 {
		t.Fatalf("POST /login = %d", r.StatusCode)
	}
	email := contactOf(t, filepath.Join(dir, "content"), "okafor-residence")
	if email != "grace@okafor.example" {
		fetch(t, c, "POST", base+"/login", url.Values{"email": {email}})
	}
	link := outboxLink(t, p, dir, email)
	if r, _ := fetch(t, c, "POST", link, url.Values{}); r.StatusCode != 303 {
		t.Fatalf("POST link = %d", r.StatusCode)
	}
	invoice := base + "/c/okafor-residence/invoices/INV-2002/"
	_, page := fetch(t, c, "GET", invoice, nil)
	if !strings.Contains(page, `action="/c/okafor-residence/invoices/INV-2002/pay"`) {
		t.Fatalf("the invoice has no Pay form:\n%.800s", page)
	}
	r, _ := fetch(t, c, "POST", invoice+"pay", url.Values{"choice": {"full"}})
	loc := r.Header.Get("Location")
	if r.StatusCode != 303 || !strings.HasPrefix(loc, "https://checkout.stripe.com/") {
		t.Fatalf("pay = %d %q; want 303 to Stripe Checkout (from stripe-mock)", r.StatusCode, loc)
	}
	st, err := sqlstore.Open(filepath.Join(dir, ".hub", "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := st.Payments(context.Background(), 10)
	if err != nil || len(ps) != 1 || ps[0].URL != loc || ps[0].Document != "INV-2002" {
		t.Fatalf("payments recorded = %+v, %v", ps, err)
	}
	body, sig := sessionEvent("evt_e2e_1", edge.EventSessionCompleted, "paid", ps[0])
	if code, err := postWebhook(base, body, sig); err != nil || code != 200 {
		t.Fatalf("webhook = %d, %v", code, err)
	}
	waitFor(t, func() bool { _, b := fetch(t, c, "GET", invoice, nil); return strings.Contains(b, ">Paid<") })
	_, paid := fetch(t, c, "GET", invoice, nil)
	if !strings.Contains(paid, "receipts/INV-2002-P1/") {
		t.Error("the paid invoice does not link its receipt")
	}
	if r, _ := fetch(t, c, "GET", base+"/c/okafor-residence/receipts/INV-2002-P1/", nil); r.StatusCode != 200 {
		t.Errorf("receipt page = %d", r.StatusCode)
	}
	p.await(t, `mail to `+regexp.QuoteMeta(email)+`: "Receipt:`)
	if r := hub(t, dir, "payments", "-site", "public"); r.code != 0 || !strings.Contains(r.stdout, "INV-2002") || !strings.Contains(r.stdout, "paid") {
		t.Errorf("hub payments = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// hub build with the same content and state: the same page.
	if r := hub(t, dir, "build", "-content", "content", "-out", "public"); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	time.Sleep(1200 * time.Millisecond) // the edge looks for new builds every second
	if _, again := fetch(t, c, "GET", invoice, nil); again != paid {
		t.Error("hub build on the same state changed the paid invoice page")
	}
}

// contactOf reads a client's first contact email from its client.yaml.
func contactOf(t *testing.T, content, client string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(content, "clients", client, "client.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`email:\s*(\S+@\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no contact email", client)
	}
	return strings.Trim(string(m[1]), `"'`)
}

// TestWebhookCrash sends a stream of Stripe events, with duplicates and in
// shuffled order, while the edge is killed (SIGKILL) and restarted again
// and again; every event is retried until acknowledged, as Stripe does.
// Afterwards every acknowledged event is recorded exactly once, and every
// payment changed state exactly as often as it should have.
func TestWebhookCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	dir, stateDir, st := builtWithState(t)
	// Payments as if clients had opened Checkout.
	const payments = 60
	var recs []edge.PaymentRecord
	docs := []struct{ client, doc string }{{"okafor-residence", "INV-2002"}, {"whitfield-dental", "INV-2001"}, {"hawthorne-bistro", "INV-2003"}}
	now := time.Now()
	for i := range payments {
		d := docs[i%len(docs)]
		rec := edge.PaymentRecord{Payment: events.Payment{ID: fmt.Sprintf("cs_crash_%02d", i), Kind: events.ForInvoice, Document: d.doc,
			Amount: int64(1000 + i), Currency: "USD", Email: "crash@example.com", Created: now}, ClientID: d.client, URL: "https://checkout.stripe.com/x", Expires: now.Add(time.Hour)}
		if err := st.CreatePayment(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	st.Close()
	// Two events per payment (a bank debit: completed unpaid, then
	// succeeded), each sent one to three times, shuffled.
	type ev struct {
		id        string
		body      []byte
		sig       string
		payment   string
		duplicate bool
	}
	var stream []ev
	for i, p := range recs {
		for j, step := range [][2]string{{edge.EventSessionCompleted, "unpaid"}, {edge.EventAsyncPaymentSucceded, "paid"}} {
			id := fmt.Sprintf("evt_crash_%02d_%d", i, j)
			body, sig := sessionEvent(id, step[0], step[1], p)
			for k := range 1 + rand.IntN(3) {
				stream = append(stream, ev{id, body, sig, p.ID, k > 0})
			}
		}
	}
	rand.Shuffle(len(stream), func(i, j int) { stream[i], stream[j] = stream[j], stream[i] })

	addr := freeAddr(t)
	base := "http://" + addr
	env := append(stripeEnv("http://127.0.0.1:1"), "HUB_BASE_URL="+base)
	start := func() *exec.Cmd {
		cmd := exec.Command(hubBin, "edge", "-site", "public", "-addr", addr)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "HUB_KEYS=", "HUB_STATE=", "HUB_SMTP_URL="), env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var mu sync.Mutex
	cmd := start()
	stop := make(chan struct{})
	killed := make(chan int)
	go func() { // the killer
		kills := 0
		for {
			select {
			case <-stop:
				killed <- kills
				return
			case <-time.After(time.Duration(150+rand.IntN(350)) * time.Millisecond):
			}
			mu.Lock()
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			kills++
			cmd = start()
			mu.Unlock()
		}
	}()
	acked := map[string]int{}
	sends, failures := 0, 0
	// The sender is sequential, so events take effect in the order of
	// their first copy in the stream: a payment whose "succeeded" comes
	// first goes straight to paid (one change), else through processing (two).
	wantChanges := 0
	firstSeen := map[string]bool{}
	for _, e := range stream {
		if firstSeen[e.payment] {
			continue
		}
		firstSeen[e.payment] = true
		if strings.HasSuffix(e.id, "_0") {
			wantChanges += 2
		} else {
			wantChanges++
		}
	}
	for _, e := range stream {
		time.Sleep(time.Duration(5+rand.IntN(15)) * time.Millisecond) // Stripe's deliveries are spread out
		for {
			sends++
			code, err := postWebhook(base, e.body, e.sig)
			if err == nil && code == 200 {
				acked[e.id]++
				break
			}
			if err == nil && code != 200 && code < 500 {
				t.Fatalf("event %s answered %d", e.id, code)
			}
			failures++
			time.Sleep(20 * time.Millisecond)
		}
	}
	close(stop)
	kills := <-killed
	mu.Lock()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	mu.Unlock()
	if kills < 3 {
		t.Errorf("the edge was killed only %d times; the test means nothing", kills)
	}

	st, err := sqlstore.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, p := range recs {
		got, err := st.Payment(context.Background(), p.ID)
		if err != nil || got.State != events.PaymentPaid {
			t.Errorf("payment %s = %s, %v; want paid", p.ID, got.State, err)
		}
	}
	v, err := st.Versions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	changes, err := st.EventCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := st.WebhookEventCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unique := len(acked)
	dupAcks := 0
	for _, n := range acked {
		dupAcks += n - 1
	}
	if recorded != unique {
		t.Errorf("webhook events recorded = %d; want %d (each acknowledged event once)", recorded, unique)
	}
	if changes != wantChanges {
		t.Errorf("state changes recorded = %d; want %d (each forward move once per payment)", changes, wantChanges)
	}
	if len(v) != len(docs) {
		t.Errorf("clients with facts = %d; want %d", len(v), len(docs))
	}
	t.Logf("crash test: %d events (%d unique) sent %d times, %d failed sends while the edge was down, %d SIGKILLs; %d acknowledged, %d of them duplicates; %d recorded once each; %d state changes for %d payments, all paid",
		len(stream), unique, sends, failures, kills, len(stream), dupAcks, recorded, changes, payments)
}

// builtWithState builds the sample content into a new folder's public/
// and opens the state store there.
func builtWithState(t *testing.T) (dir, stateDir string, st *sqlstore.Store) {
	t.Helper()
	dir = t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build", "-content", "content", "-out", "public"); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	stateDir = filepath.Join(dir, ".hub", "state")
	st, err := sqlstore.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, stateDir, st
}

// TestRequestsImport: a public work request from a new person, listed by
// hub requests, imported into the content (a client folder and the request
// as YAML), which still checks and builds; the client then sees it "in review".
func TestRequestsImport(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build", "-content", "content", "-out", "public"); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	addr := freeAddr(t)
	p := startHubEnv(t, dir, []string{"HUB_BASE_URL=http://" + addr}, "edge", "-site", "public", "-content", "content", "-addr", addr)
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	c := browser()
	r, _ := fetch(t, c, "POST", base+"/request", url.Values{"name": {"Ada Park"}, "email": {"ada@example.com"}, "phone": {"503-555-0100"},
		"title": {"Backyard drainage"}, "details": {"Water pools by the shed."}, "street": {"14 Elm St"}, "city": {"Portland"}, "postal_code": {"97214"}})
	hubURL := r.Header.Get("Location")
	if r.StatusCode != 303 || !strings.HasPrefix(hubURL, "/c/new-ada-park-") {
		t.Fatalf("public request = %d %q", r.StatusCode, hubURL)
	}
	client := strings.Split(hubURL, "/")[2]
	list := hub(t, dir, "requests")
	m := regexp.MustCompile(`(R-[0-9A-Z]{6})\s`).FindStringSubmatch(list.stdout)
	if list.code != 0 || m == nil || !strings.Contains(list.stdout, "Backyard drainage") || !strings.Contains(list.stdout, client) {
		t.Fatalf("hub requests = %d\n%s%s", list.code, list.stdout, list.stderr)
	}
	imp := hub(t, dir, "requests", "import", m[1], "-content", "content")
	if imp.code != 0 {
		t.Fatalf("hub requests import = %d\n%s%s", imp.code, imp.stdout, imp.stderr)
	}
	y, err := os.ReadFile(filepath.Join(dir, "content", "clients", client, "requests", m[1]+".yaml"))
	if err != nil || !strings.Contains(string(y), "title: Backyard drainage") || !strings.Contains(string(y), "request: "+m[1]) {
		t.Errorf("imported request: %v\n%s", err, y)
	}
	cy, err := os.ReadFile(filepath.Join(dir, "content", "clients", client, "client.yaml"))
	if err != nil || !strings.Contains(string(cy), "ada@example.com") {
		t.Errorf("client.yaml for the new client: %v\n%s", err, cy)
	}
	// The address the form gave in parts is written in its fields.
	for _, want := range []string{"street: 14 Elm St\n", "city: Portland\n", "postal_code: \"97214\"\n"} {
		if !strings.Contains(string(cy), want) {
			t.Errorf("client.yaml lacks %q:\n%s", want, cy)
		}
	}
	if strings.Contains(string(cy), "split it into") {
		t.Errorf("client.yaml asks to split an address given in parts:\n%s", cy)
	}
	if _, page := fetch(t, c, "GET", base+"/c/"+client+"/requests/", nil); !strings.Contains(page, "14 Elm St, Portland 97214") {
		t.Errorf("the request does not show its address in one line")
	}
	if again := hub(t, dir, "requests", "import", m[1], "-content", "content"); again.code == 0 {
		t.Error("importing the same request twice succeeded")
	}
	if chk := hub(t, dir, "check", "-content", "content"); chk.code != 0 {
		t.Fatalf("hub check after the import = %d\n%s%s", chk.code, chk.stdout, chk.stderr)
	}
	if b := hub(t, dir, "build", "-content", "content", "-out", "public"); b.code != 0 {
		t.Fatalf("hub build after the import: %s", b.stderr)
	}
	waitFor(t, func() bool {
		_, page := fetch(t, c, "GET", base+"/c/"+client+"/requests/", nil)
		return strings.Contains(page, "In review")
	})
}
