// Package testcheckout is the payment provider of local runs (hub serve
// without Stripe keys): an edge.Checkout whose payment page is served by the
// local server itself and which completes a payment the way Stripe does, by
// sending signed checkout.session.* events (API version 2023-10-16) to the
// edge's own webhook route, where they are verified like Stripe's.
//
// It is for a developer's machine only: New refuses an origin that is not
// loopback, its pages answer only requests from loopback, and the edge
// mounts its routes only with the staff preview (hub serve), never in
// hub edge.
package testcheckout

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Prefix is the path the checkout's pages are under.
const Prefix = "/_checkout/"

// Outcomes a payment can be given, from the page or hub payments simulate.
const (
	Paid        = "paid"       // a card payment: paid at once
	Processing  = "processing" // a bank debit made; it settles only when told (Paid or Failed)
	Failed      = "failed"     // a bank debit that did not go through
	BankSettles = "bank"       // the page's bank debit: processing, then paid after Settle
	BankFails   = "bank-fails" // the page's failing bank debit: processing, then failed after Settle
	Cancel      = "cancel"     // back to the hub, nothing paid
)

// DefaultSettle is how long a bank debit takes to settle unless configured.
const DefaultSettle = 5 * time.Second

// Config configures a Checkout.
type Config struct {
	// Base is the local server's origin (http://127.0.0.1:PORT): the
	// payment pages and the webhook route are under it.
	Base *url.URL
	// Secret signs the events (make one per run with NewSecret). Parse
	// verifies them: the edge's real webhook verifier, given the same
	// secret (stripepay.NewWebhooks(secret).ParseWebhook).
	Secret string
	Parse  func(payload []byte, signature string) (edge.WebhookEvent, error)
	// Payment looks up what the edge recorded for a session (the edge's
	// store): the page's amount and the events' facts come from it.
	Payment func(ctx context.Context, id string) (edge.PaymentRecord, error)
	// Subscription looks up a subscription the edge recorded (the edge's
	// store): its page is payable while it is pending. Nil: subscriptions
	// cannot be started.
	Subscription func(ctx context.Context, clientID, number string) (edge.SubscriptionRecord, error)
	Business     string        // who is paid: the site's name, at the top of the page
	Locale       string        // for amounts on the page
	Settle       time.Duration // how long a bank debit takes (0: DefaultSettle)
	// AfterFunc runs f after d (nil: time.AfterFunc); tests run f themselves.
	AfterFunc func(d time.Duration, f func())
	Now       func() time.Time // nil: time.Now
	Client    *http.Client     // sends the events (nil: a client with a timeout)
	Log       *slog.Logger     // nil: discarded
}

// Checkout is an edge.Checkout whose payment page is local.
type Checkout struct {
	cfg Config
	mu  sync.Mutex
	// pages are the sessions made by this run: their description and
	// where to send the browser back. A session of an earlier run is still
	// payable (its facts are the edge's); it goes back to the client's hub.
	pages map[string]page
	// subs are the subscriptions started in this run, by customer, and
	// portals where each customer's portal page goes back to.
	subs    map[string][]*localSub
	portals map[string]string
	// cards are the cards saved in this run: payment method → last 4
	// digits (which say how a later charge goes: see Charge) and customer.
	cards map[string][2]string
}

type page struct {
	Description, Success, Cancel string
	sub                          *edge.CheckoutRequest // a subscription's session: what was asked
	save                         string                // the customer to save the card on ("" not asked)
}

var _ edge.Checkout = (*Checkout)(nil)

// NewSecret returns a random webhook signing secret (one per run).
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_local_" + base64.RawURLEncoding.EncodeToString(b)
}

// New returns a Checkout, or an error when the configuration is not a
// local one.
func New(cfg Config) (*Checkout, error) {
	switch {
	case cfg.Base == nil || !IsLocal(cfg.Base):
		return nil, fmt.Errorf("the test checkout runs on a loopback address only (http://127.0.0.1:PORT), not %v", cfg.Base)
	case cfg.Secret == "" || cfg.Parse == nil || cfg.Payment == nil:
		return nil, errors.New("the test checkout needs a webhook secret, the webhook verifier and the payments")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Checkout{cfg: cfg, pages: map[string]page{}, subs: map[string][]*localSub{}, portals: map[string]string{}, cards: map[string][2]string{}}, nil
}

// IsLocal reports whether u is an http origin on a loopback address.
func IsLocal(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// CreateSession implements edge.Checkout: the session is the page's URL.
func (c *Checkout) CreateSession(ctx context.Context, r edge.CheckoutRequest) (edge.CheckoutSession, error) {
	// The same request made twice gets the same session, like Stripe's
	// idempotency keys.
	id := "cs_test_local_" + randomID()
	if r.IdempotencyKey != "" {
		h := sha256.Sum256([]byte(c.cfg.Secret + "\x00" + r.IdempotencyKey))
		id = "cs_test_local_" + hex.EncodeToString(h[:12])
	}
	c.mu.Lock()
	if _, ok := c.pages[id]; !ok {
		pg := page{Description: r.Description, Success: strings.ReplaceAll(r.SuccessURL, "{CHECKOUT_SESSION_ID}", id), Cancel: r.CancelURL}
		if r.Recurring != nil {
			pg.sub = &r
		}
		if r.SaveCard {
			pg.save = r.Customer
		}
		c.pages[id] = pg
	}
	c.mu.Unlock()
	u := c.cfg.Base.ResolveReference(&url.URL{Path: Prefix + id})
	return edge.CheckoutSession{ID: id, URL: u.String(), ExpiresAt: r.ExpiresAt}, nil
}

// ParseWebhook implements edge.Checkout with the real verifier.
func (c *Checkout) ParseWebhook(payload []byte, signature string) (edge.WebhookEvent, error) {
	return c.cfg.Parse(payload, signature)
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Handler serves the payment pages: GET Prefix+ID shows one, POST
// Prefix+ID with outcome=... completes it.
func (c *Checkout) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"{id}", c.handlePage)
	mux.HandleFunc("POST "+Prefix+"{id}", c.handlePost)
	mux.HandleFunc("GET "+Prefix+"portal/{customer}", c.handlePortal)
	mux.HandleFunc("POST "+Prefix+"portal/{customer}", c.handlePortalPost)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) {
			http.Error(w, "the test checkout answers this machine only", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// payment is the recorded payment of a session of this checkout.
func (c *Checkout) payment(ctx context.Context, id string) (edge.PaymentRecord, page, bool) {
	if !strings.HasPrefix(id, "cs_test_local_") || len(id) > 64 {
		return edge.PaymentRecord{}, page{}, false
	}
	p, err := c.cfg.Payment(ctx, id)
	if err != nil || p.ID != id {
		return edge.PaymentRecord{}, page{}, false
	}
	c.mu.Lock()
	pg, ok := c.pages[id]
	c.mu.Unlock()
	back := c.cfg.Base.ResolveReference(&url.URL{Path: "/c/" + p.ClientID + "/"}).String()
	if !ok {
		what := "Invoice " + p.Document
		if p.Kind == events.ForDeposit {
			what = "Deposit on quote " + p.Document
		}
		pg = page{Description: what, Success: c.cfg.Base.ResolveReference(&url.URL{Path: "/c/" + p.ClientID + "/paid/" + id}).String(), Cancel: back}
	}
	return p, pg, true
}

// Problems the page and hub payments simulate report.
var (
	errUnknown = errors.New("there is no payment of the test checkout with this session id")
	errDone    = errors.New("this payment is no longer open")
)

func (c *Checkout) handlePage(w http.ResponseWriter, r *http.Request) {
	if p, pg, ok := c.subscription(r.Context(), r.PathValue("id")); ok {
		c.render(w, http.StatusOK, c.pageData(p, pg, ""))
		return
	}
	p, pg, ok := c.payment(r.Context(), r.PathValue("id"))
	if !ok {
		c.render(w, http.StatusNotFound, pageData{Problem: errUnknown.Error() + ". Go back to the hub and press Pay again."})
		return
	}
	c.render(w, http.StatusOK, c.pageData(p, pg, ""))
}

func (c *Checkout) handlePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	id, outcome := r.PathValue("id"), r.PostForm.Get("outcome")
	p, pg, ok := c.payment(r.Context(), id)
	complete := c.Complete
	if sp, spg, sok := c.subscription(r.Context(), id); sok {
		p, pg, ok, complete = sp, spg, true, func(ctx context.Context, p edge.PaymentRecord, outcome string) error {
			return c.startSubscription(ctx, spg, p, outcome)
		}
	}
	if !ok {
		c.fail(w, r, http.StatusNotFound, p, pg, errUnknown)
		return
	}
	if outcome == Cancel {
		http.Redirect(w, r, pg.Cancel, http.StatusSeeOther)
		return
	}
	if outcome == Paid && pg.save != "" && p.State == events.PaymentPending {
		// Stripe attaches the card to the customer as the payment succeeds.
		if err := c.saveCard(r.Context(), p.ID, pg.save, r.PostForm.Get("card")); err != nil {
			c.fail(w, r, http.StatusBadGateway, p, pg, err)
			return
		}
	}
	if err := complete(r.Context(), p, outcome); err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, errDone) || errors.Is(err, errOutcome) {
			status = http.StatusConflict
		}
		c.fail(w, r, status, p, pg, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, pg.Success, http.StatusSeeOther)
		return
	}
	fmt.Fprintf(w, "%s: %s\n", id, outcome)
}

// fail answers a POST that did nothing: the page again with the problem
// for a browser, the problem alone for hub payments simulate.
func (c *Checkout) fail(w http.ResponseWriter, r *http.Request, status int, p edge.PaymentRecord, pg page, err error) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Error(w, err.Error(), status)
		return
	}
	d := pageData{Problem: err.Error()}
	if p.ID != "" {
		d = c.pageData(p, pg, err.Error())
	}
	c.render(w, status, d)
}

var errOutcome = errors.New("say paid, processing or failed")

// Complete gives payment p an outcome by sending the events Stripe would:
//
//	Paid        pending: completed (paid)        processing: async_payment_succeeded
//	Processing  pending: completed (unpaid)
//	Failed      pending: completed (unpaid), then async_payment_failed; processing: async_payment_failed
//	BankSettles pending: completed (unpaid), then after Settle async_payment_succeeded
//	BankFails   pending: completed (unpaid), then after Settle async_payment_failed
//
// It returns once the edge has acknowledged the events sent now.
func (c *Checkout) Complete(ctx context.Context, p edge.PaymentRecord, outcome string) error {
	method := "us_bank_account"
	var now []string // event types to send now, in order
	later := ""
	switch {
	case outcome == Paid && p.State == events.PaymentPending:
		method, now = "card", []string{edge.EventSessionCompleted}
	case outcome == Paid && p.State == events.PaymentProcessing:
		now = []string{edge.EventAsyncPaymentSucceded}
	case outcome == Failed && p.State == events.PaymentProcessing:
		now = []string{edge.EventAsyncPaymentFailed}
	case outcome == Failed && p.State == events.PaymentPending:
		now = []string{edge.EventSessionCompleted, edge.EventAsyncPaymentFailed}
	case outcome == Processing && p.State == events.PaymentPending:
		now = []string{edge.EventSessionCompleted}
	case (outcome == BankSettles || outcome == BankFails) && p.State == events.PaymentPending:
		now, later = []string{edge.EventSessionCompleted}, edge.EventAsyncPaymentSucceded
		if outcome == BankFails {
			later = edge.EventAsyncPaymentFailed
		}
	case outcome != Paid && outcome != Processing && outcome != Failed && outcome != BankSettles && outcome != BankFails:
		return fmt.Errorf("%q is not an outcome: %w", outcome, errOutcome)
	default:
		return fmt.Errorf("%w: it is %s", errDone, p.State)
	}
	for _, typ := range now {
		if err := c.send(ctx, p, typ, method); err != nil {
			return err
		}
	}
	if later != "" {
		c.cfg.AfterFunc(c.cfg.Settle, func() { c.settle(p.ID, later, method) })
	}
	return nil
}

// settle sends a bank debit's final event, unless the payment has moved on
// meanwhile (hub payments simulate decided it).
func (c *Checkout) settle(id, typ, method string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := c.cfg.Payment(ctx, id)
	if err != nil || p.State != events.PaymentProcessing {
		return
	}
	if err := c.send(ctx, p, typ, method); err != nil {
		c.cfg.Log.Error("test checkout: settling a bank debit", "session", id, "err", err)
	}
}

// Event is the JSON of a Stripe event about a Checkout Session, as the
// test checkout sends it (the fields the edge reads, and the usual others).
func (c *Checkout) Event(p edge.PaymentRecord, typ, method string) []byte {
	status := "unpaid"
	if typ == edge.EventAsyncPaymentSucceded || (typ == edge.EventSessionCompleted && method == "card") {
		status = "paid"
	}
	obj := map[string]any{
		"id": p.ID, "object": "checkout.session", "mode": "payment", "status": "complete", "livemode": false,
		"payment_status": status, "amount_total": p.Amount, "amount_subtotal": p.Amount, "currency": strings.ToLower(p.Currency),
		"customer_email": p.Email, "client_reference_id": p.ClientID, "payment_intent": "pi_" + strings.TrimPrefix(p.ID, "cs_"),
		"payment_method_types": []string{method},
		"metadata":             map[string]string{"client": p.ClientID, "document": p.Document, "kind": p.Kind},
		"created":              p.Created.Unix(), "expires_at": p.Expires.Unix(),
	}
	return c.event(typ, obj)
}

// send signs one event and posts it to the edge's webhook route.
func (c *Checkout) send(ctx context.Context, p edge.PaymentRecord, typ, method string) error {
	return c.post(ctx, p.ID, typ, c.Event(p, typ, method))
}

// post signs one event's JSON and posts it to the edge's webhook route.
func (c *Checkout) post(ctx context.Context, id, typ string, payload []byte) error {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: c.cfg.Secret, Timestamp: c.cfg.Now()})
	u := c.cfg.Base.ResolveReference(&url.URL{Path: "/stripe/webhook"}).String()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(sp.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", sp.Header)
	res, err := c.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("sending %s to the webhook: %w", typ, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("the webhook answered %s to %s: %s", res.Status, typ, strings.TrimSpace(string(msg)))
	}
	c.cfg.Log.Info("test checkout: event sent", "object", id, "type", typ)
	return nil
}

type pageData struct {
	Save                                                             bool // the card is saved for later charges
	ID, Business, Amount, Description, Email, State, Problem, Cancel string
	Every                                                            string // a subscription's: "month", "3 months"
}

func (c *Checkout) pageData(p edge.PaymentRecord, pg page, problem string) pageData {
	d := pageData{ID: p.ID, Business: c.cfg.Business, Amount: money.FormatIn(money.Amount(p.Amount), p.Currency, c.cfg.Locale), Description: pg.Description,
		Email: p.Email, State: p.State, Problem: problem, Cancel: pg.Cancel, Save: pg.save != ""}
	if r := pg.sub; r != nil {
		d.Every = r.Recurring.Interval
		if r.Recurring.Count > 1 {
			d.Every = fmt.Sprintf("%d %ss", r.Recurring.Count, r.Recurring.Interval)
		}
	}
	return d
}

// render writes the page with a CSP of its own: its one inline style by hash.
func (c *Checkout) render(w http.ResponseWriter, status int, d pageData) {
	writePage(w, status, pageTmpl, d)
}

// writePage writes one of the checkout's pages (they share the style, and so the CSP).
func writePage(w http.ResponseWriter, status int, t *template.Template, data any) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src '"+styleHash+"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

const style = `*{box-sizing:border-box}
body{margin:0;font:16px/1.5 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1a1f36;background:#f6f8fa}
.test{margin:0;padding:8px 16px;background:#ffde92;color:#5c3b00;font-size:14px;text-align:center}
main{max-width:920px;margin:0 auto;padding:24px 16px;display:grid;gap:24px}
@media(min-width:760px){main{grid-template-columns:1fr 1fr;gap:48px;padding:56px 24px}}
.summary p{margin:0}.back{color:#4f566b;text-decoration:none;font-size:14px}
.what{color:#4f566b}.amount{font-size:36px;font-weight:600;letter-spacing:-.5px}
.box{background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:20px;box-shadow:0 2px 5px rgba(60,66,87,.08)}
h1{font-size:17px;font-weight:600;color:#4f566b;margin:20px 0 4px}fieldset{border:0;margin:0 0 16px;padding:0}legend{font-size:18px;font-weight:600;margin-bottom:12px}
label{display:flex;gap:12px;align-items:flex-start;padding:12px;border:1px solid #e3e8ee;border-radius:6px;margin-bottom:8px;cursor:pointer}
label:has(input:checked){border-color:#635bff;box-shadow:0 0 0 1px #635bff}input{margin-top:4px;accent-color:#635bff}
label small{display:block;color:#4f566b;font-size:14px}
.pay{width:100%;padding:12px;border:0;border-radius:6px;background:#635bff;color:#fff;font:inherit;font-weight:600;cursor:pointer}
.pay:focus-visible,.cancel:focus-visible{outline:3px solid #1a1f36;outline-offset:2px}
.cancel{width:100%;margin-top:8px;padding:10px;border:1px solid #c9ced6;border-radius:6px;background:#fff;color:#1a1f36;font:inherit;cursor:pointer}
.problem{background:#fdecea;color:#8a1c12;border-radius:6px;padding:12px;margin:0 0 16px}
.note{color:#4f566b;font-size:14px}`

var styleHash = func() string {
	h := sha256.Sum256([]byte(style))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}()

var pageTmpl = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{if .Amount}}Pay {{.Amount}} · {{end}}Test checkout</title>
<style>` + style + `</style></head><body>
<p class="test" role="note"><strong>Test checkout</strong> of <code>hub serve</code>: nothing is charged. It sends signed Stripe events to this hub's webhook, as Stripe would.</p>
<main>
{{- if .ID}}
<section class="summary" aria-label="Order summary">
{{with .Cancel}}<p><a class="back" href="{{.}}">← Back to the hub</a></p>{{end}}
<h1>{{if .Every}}Subscribe to{{else}}Pay{{end}} {{or .Business "the business"}}</h1>
<p class="amount">{{.Amount}}{{with .Every}} <small>per {{.}}</small>{{end}}</p>
<p class="what">{{.Description}}</p>
{{with .Email}}<p class="note">Receipt to {{.}}</p>{{end}}
</section>
<section class="box" aria-label="Payment">
{{with .Problem}}<p class="problem" role="alert">{{.}}</p>{{end}}
{{- if eq .State "pending"}}
<form method="post">
<fieldset><legend>Pay with</legend>
<label><input type="radio" name="outcome" value="paid" checked><span>Card<small>{{if .Every}}Active at once, the first period paid.{{else}}Paid at once.{{end}}</small></span></label>
{{- if not .Every}}
<label><input type="radio" name="outcome" value="bank"><span>Bank debit<small>Processing, then paid a few seconds later.</small></span></label>
<label><input type="radio" name="outcome" value="bank-fails"><span>Bank debit that fails<small>Processing, then failed a few seconds later.</small></span></label>
{{- end}}
</fieldset>
{{- if .Save}}
<fieldset><legend>Card to save for future invoices</legend>
<label><input type="radio" name="card" value="4242" checked><span>Visa •••• 4242<small>Later automatic charges succeed.</small></span></label>
<label><input type="radio" name="card" value="3155"><span>Visa •••• 3155<small>Later automatic charges need the bank's confirmation, so they do not go through.</small></span></label>
<label><input type="radio" name="card" value="0341"><span>Visa •••• 0341<small>Later automatic charges are declined.</small></span></label>
</fieldset>
{{- end}}
<button class="pay">{{if .Every}}Subscribe{{else}}Pay {{.Amount}}{{end}}</button>
</form>
<form method="post"><input type="hidden" name="outcome" value="cancel"><button class="cancel">Cancel</button></form>
{{- else}}
<p>This payment is <strong>{{.State}}</strong>; there is nothing left to do here.</p>
{{with .Cancel}}<p><a href="{{.}}">Back to the hub</a></p>{{end}}
{{- end}}
</section>
{{- else}}
<section class="box"><h1>Test checkout</h1><p class="problem" role="alert">{{.Problem}}</p></section>
{{- end}}
</main></body></html>`))
