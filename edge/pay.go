package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
)

// Paying: POST /c/{client}/invoices/{number}/pay and
// /c/{client}/quotes/{number}/deposit make a Stripe Checkout Session for
// an amount the edge works out from the signed directory (and the payments
// recorded since that build), never from the form, and redirect to it.
// Stripe's webhooks (POST /stripe/webhook) say how it went.

// maxWebhookBody caps a webhook's body (Stripe's are a few KiB).
const maxWebhookBody = 256 << 10

// checkoutTTL is how long a Checkout Session stays open (Stripe's minimum is 30 minutes).
const checkoutTTL = 31 * time.Minute

// keyedMutex serialises work per key (one Checkout Session per document at a time).
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	n int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.n++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.n--; l.n == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// money formats an amount in the site's currency and locale.
func (s *Server) money(a int64) string {
	site := s.build.Load().Directory.Site
	return money.FormatIn(money.Amount(a), site.Currency, site.Locale)
}

// clientDoc finds the session's own visible document of kind.
func (s *Server) clientDoc(r *http.Request, kind string) (bundle.DirDocument, error) {
	c := SessionFrom(r.Context())
	client, number := r.PathValue("client"), r.PathValue("number")
	owner, doc, ok := s.build.Load().Document(number)
	if c == nil || client != c.Client || !ok || owner != client || doc.Kind != kind {
		return doc, Errorf(ENotFound, "There is no such %s in your hub.", kind)
	}
	return doc, nil
}

// dueNow is what may be paid online for doc now: the amount the build
// says is due, less online payments recorded since that build.
func (s *Server) dueNow(ctx context.Context, client string, doc bundle.DirDocument) (int64, error) {
	settling, err := s.store.Settling(ctx, client, doc.Number)
	if err != nil {
		return 0, err
	}
	return doc.Due - max(settling-doc.Settling, 0), nil
}

func (s *Server) handlePayInvoice(w http.ResponseWriter, r *http.Request) {
	doc, err := s.clientDoc(r, "invoice")
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	save := r.PostForm.Get("save") == "1"
	if save && !s.saveCardsOn() {
		s.errorPage(w, r, Errorf(EUnavailable, "Saving a card is not available; untick it to pay this invoice."))
		return
	}
	s.pay(w, r, doc, events.ForInvoice, r.PostForm.Get("choice"), r.PostForm.Get("part"), save)
}

func (s *Server) handlePayDeposit(w http.ResponseWriter, r *http.Request) {
	doc, err := s.clientDoc(r, "quote")
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.pay(w, r, doc, events.ForDeposit, "full", "", false)
}

// pay makes (or reuses) a Checkout Session for doc and redirects to it.
func (s *Server) pay(w http.ResponseWriter, r *http.Request, doc bundle.DirDocument, kind, choice, part string, save bool) {
	ctx := r.Context()
	c := SessionFrom(ctx)
	if err := s.startCheckout(ctx, w, r, c, doc, kind, choice, part, save); err != nil {
		s.errorPage(w, r, err)
	}
}

func (s *Server) startCheckout(ctx context.Context, w http.ResponseWriter, r *http.Request, c *Claims, doc bundle.DirDocument, kind, choice, part string, save bool) error {
	site := s.build.Load().Directory.Site
	if s.cfg.Checkout == nil || !site.OnlinePayments {
		return Errorf(EUnavailable, "Paying online is not available. The %s page says how else to pay.", doc.Kind)
	}
	switch {
	case kind == events.ForInvoice && doc.State == "paid":
		return Errorf(EConflict, "Invoice %s is already paid. Thank you!", doc.Number)
	case kind == events.ForDeposit && doc.State != "approved":
		return Errorf(EConflict, "The deposit of quote %s can be paid once the quote is approved.", doc.Number)
	}
	unlock := s.payLocks.lock(c.Client + "\x00" + doc.Number)
	defer unlock()
	due, err := s.dueNow(ctx, c.Client, doc)
	if err != nil {
		return err
	}
	if due <= 0 {
		if kind == events.ForDeposit {
			return Errorf(EConflict, "The deposit of quote %s is paid (or its payment is processing). Thank you!", doc.Number)
		}
		return Errorf(EConflict, "Invoice %s has nothing left to pay online: it is paid, or a payment is processing. Thank you!", doc.Number)
	}
	amount := due
	if choice == "part" {
		if doc.MinPart <= 0 || kind != events.ForInvoice {
			return Errorf(EInvalid, "This invoice can only be paid in full online.")
		}
		cur, _ := money.LookupCurrency(doc.Currency)
		a, err := money.ParseAmount(strings.TrimSpace(part), cur)
		switch {
		case strings.TrimSpace(part) == "":
			return Errorf(EInvalid, "Enter the amount you'd like to pay, or choose the full amount.")
		case err != nil:
			return Errorf(EInvalid, "%q is not an amount. Enter it like %s.", part, strings.TrimLeft(s.money(doc.MinPart), "$€£¥ "))
		case int64(a) < min(doc.MinPart, due):
			return Errorf(EInvalid, "The smallest payment is %s.", s.money(doc.MinPart))
		case int64(a) > due:
			return Errorf(EInvalid, "%s is more than the %s due.", s.money(int64(a)), s.money(due))
		}
		amount = int64(a)
	}
	now := s.now()
	// A page made without saving the card is not the one to reuse when
	// the client ticked it (a double click with it ticked has the same
	// idempotency key: the same session, below).
	if p, ok, err := s.store.OpenPayment(ctx, c.Client, kind, doc.Number, amount, now.Add(2*time.Minute)); err != nil {
		return err
	} else if ok && !save {
		http.Redirect(w, r, p.URL, http.StatusSeeOther) // a double click: the same payment page
		return nil
	}
	n, err := s.store.PaymentCount(ctx, c.Client, doc.Number)
	if err != nil {
		return err
	}
	var customer string
	if save {
		if customer, err = s.customer(ctx, c); err != nil {
			return err
		}
	}
	// The same request made twice (two edges, a retry) gets the same
	// session from Stripe.
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d\x00%d\x00%t", c.Client, kind, doc.Number, amount, n, save))
	base := strings.TrimSuffix(s.cfg.BaseURL.String(), "/")
	back := base + "/c/" + c.Client + "/" + doc.Path
	desc := fmt.Sprintf("Invoice %s — %s", doc.Number, doc.Title)
	if kind == events.ForDeposit {
		desc = fmt.Sprintf("Deposit on quote %s — %s", doc.Number, doc.Title)
	}
	sess, err := s.cfg.Checkout.CreateSession(ctx, CheckoutRequest{
		ClientID: c.Client, Kind: kind, Document: doc.Number, Description: desc, Email: c.Subject,
		Amount: amount, Currency: doc.Currency,
		SuccessURL: base + "/c/" + c.Client + "/paid/{CHECKOUT_SESSION_ID}", CancelURL: back,
		IdempotencyKey: "hub-" + hex.EncodeToString(h[:16]), ExpiresAt: now.Add(checkoutTTL),
		Customer: customer, SaveCard: save,
	})
	if err != nil {
		s.log.Error("creating a Checkout Session", "client", c.Client, "document", doc.Number, "err", err)
		return Errorf(EUnavailable, "The payment page could not be opened just now. Please try again in a minute.")
	}
	exp := sess.ExpiresAt
	if exp.IsZero() || exp.Before(now) || exp.After(now.Add(24*time.Hour)) { // not a sensible expiry: assume ours
		exp = now.Add(checkoutTTL)
	}
	rec := PaymentRecord{
		Payment: events.Payment{ID: sess.ID, Kind: kind, Document: doc.Number, Amount: amount, Currency: doc.Currency,
			State: events.PaymentPending, Email: c.Subject, Created: now},
		ClientID: c.Client, URL: sess.URL, Expires: exp,
	}
	if err := s.store.CreatePayment(ctx, rec); err != nil {
		if p, perr := s.store.Payment(ctx, sess.ID); perr == nil && p.ClientID == c.Client && p.Document == doc.Number && p.Amount == amount {
			http.Redirect(w, r, p.URL, http.StatusSeeOther) // Stripe gave back the session we recorded
			return nil
		}
		return err
	}
	http.Redirect(w, r, sess.URL, http.StatusSeeOther)
	return nil
}

// handlePaid is where Stripe sends the client back: it waits briefly for
// the webhook and shows where the payment stands.
func (s *Server) handlePaid(w http.ResponseWriter, r *http.Request) {
	c := s.session(r)
	client := r.PathValue("client")
	if c == nil || c.Client != client {
		s.errorPage(w, r, Errorf(EUnauthorized, "Please sign in to see your payment."))
		return
	}
	p, err := s.store.Payment(r.Context(), r.PathValue("session"))
	if err != nil || p.ClientID != client {
		s.errorPage(w, r, Errorf(ENotFound, "There is no such payment in your hub."))
		return
	}
	_, doc, ok := s.build.Load().Document(p.Document)
	back := "/c/" + client + "/"
	if ok {
		back += doc.Path
	}
	data := struct {
		Amount, Doc, Back, State string
	}{s.money(p.Amount), p.Document, back, p.State}
	title := "Thank you"
	switch p.State {
	case events.PaymentPaid:
		if s.built(client, p) {
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
	case events.PaymentPending:
		title = "Confirming your payment"
		w.Header().Set("Refresh", "3")
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, http.StatusOK, title, paidTmpl, data)
}

// built reports whether the served build already shows payment p.
func (s *Server) built(client string, p PaymentRecord) bool {
	_, doc, ok := s.build.Load().Document(p.Document)
	if !ok {
		return false
	}
	settling, err := s.store.Settling(context.Background(), client, p.Document)
	return err == nil && doc.Settling >= settling
}

var paidTmpl = mustPage(`<div class="panel stack">
{{- if eq .State "paid"}}<p>Your payment of <strong>{{.Amount}}</strong> for {{.Doc}} is confirmed. Your hub is being updated and a receipt is on its way by email.</p>
{{- else if eq .State "processing"}}<p>Your payment of <strong>{{.Amount}}</strong> for {{.Doc}} has been made and is <strong>processing</strong>: bank payments take a few business days to settle. We'll email you a receipt when it has.</p>
{{- else if eq .State "failed"}}<p>Your payment of {{.Amount}} for {{.Doc}} did not go through. Nothing was charged; you can try again.</p>
{{- else}}<p role="status">We're confirming your payment of <strong>{{.Amount}}</strong> for {{.Doc}} with Stripe. This page updates by itself.</p>{{end}}
<p><a class="btn" href="{{.Back}}">Back to {{.Doc}}</a></p>
</div>`)

// handleWebhook receives Stripe's events. The body is read raw (capped)
// and verified before anything else; the event id, the payment's new
// state and its facts' version are recorded in one durable write before
// the 2xx, so a retried or duplicated event changes nothing twice.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Checkout == nil {
		http.Error(w, "payments are not configured", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	ev, err := s.cfg.Checkout.ParseWebhook(body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		var ve *APIVersionError
		if errors.As(err, &ve) {
			s.log.Error("STRIPE WEBHOOK REFUSED: wrong API version; payments are not being recorded until this is fixed", "err", err)
			if _, rerr := s.store.RecordWebhook(r.Context(), WebhookRecord{EventID: "refused:" + ve.EventID, Type: "api_version", Received: s.now(), Problem: ve.Error()}, nil); rerr != nil {
				s.log.Error("recording a refused webhook", "err", rerr)
			}
			http.Error(w, "unsupported API version", http.StatusBadRequest)
			return
		}
		s.log.Warn("webhook refused", "err", err)
		http.Error(w, "invalid signature", http.StatusBadRequest)
		return
	}
	rec := s.webhookRecord(r.Context(), ev)
	res, err := s.store.RecordWebhook(r.Context(), rec, s.paymentMails)
	if err != nil {
		s.log.Error("recording a webhook", "event", ev.ID, "err", err)
		http.Error(w, "could not record the event; retry", http.StatusServiceUnavailable)
		return
	}
	if rec.Problem != "" && !res.Duplicate {
		s.log.Error("webhook did not match a payment", "event", ev.ID, "type", ev.Type, "problem", rec.Problem)
	}
	if res.Changed {
		s.rebuildSoon()
		s.outbox.poke()
		if res.Payment.Kind == events.ForSubscription {
			go s.endIfLastPeriod(context.WithoutCancel(r.Context()), res.Payment) // Stripe's API is not waited on by its webhook
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"received":true}`))
}

// webhookRecord works out what an event does: the state it moves its
// payment to, or why it does nothing. Amount, currency, document and
// client are checked against what was recorded when the session was made.
func (s *Server) webhookRecord(ctx context.Context, ev WebhookEvent) WebhookRecord {
	rec := WebhookRecord{EventID: ev.ID, Type: ev.Type, Received: s.now()}
	switch {
	case ev.Card != nil:
		return s.cardRecord(ctx, ev, rec)
	case ev.Intent != nil && ev.Intent.Metadata[MetaAuto] == "true":
		return s.intentRecord(ctx, ev, rec)
	case ev.Intent != nil:
		return rec // a Checkout Session's PaymentIntent: its session's events decide
	case ev.Type == EventSessionCompleted && ev.Session != nil && ev.Session.Mode == "subscription",
		ev.Type == EventInvoicePaid || ev.Type == EventInvoiceFailed, ev.Subscription != nil:
		return s.subscriptionRecord(ctx, ev, rec)
	case ev.Session != nil && ev.Session.Mode == "subscription":
		return rec // an expired subscription session: starting again makes another
	}
	var to string
	switch ev.Type {
	case EventSessionCompleted:
		to = events.PaymentProcessing
		if ev.Session != nil && ev.Session.PaymentStatus == "paid" {
			to = events.PaymentPaid
		}
	case EventAsyncPaymentSucceded:
		to = events.PaymentPaid
	case EventAsyncPaymentFailed:
		to = events.PaymentFailed
	case EventSessionExpired:
		to = events.PaymentExpired
	default:
		return rec // not an event the hub acts on: recorded, ignored
	}
	so := ev.Session
	if so == nil || so.ID == "" {
		rec.Problem = "event without a Checkout Session"
		return rec
	}
	rec.PaymentID = so.ID
	p, err := s.store.Payment(ctx, so.ID)
	if err != nil {
		rec.Problem = "no payment recorded for this Checkout Session"
		return rec
	}
	md := so.Metadata
	switch {
	case md["client"] != p.ClientID || md["document"] != p.Document || md["kind"] != p.Kind:
		rec.Problem = fmt.Sprintf("metadata (client %q, document %q, kind %q) does not match the payment (client %q, document %q, kind %q)",
			md["client"], md["document"], md["kind"], p.ClientID, p.Document, p.Kind)
	case so.AmountTotal != p.Amount:
		rec.Problem = fmt.Sprintf("amount %d does not match the %d recorded", so.AmountTotal, p.Amount)
	case !strings.EqualFold(so.Currency, p.Currency):
		rec.Problem = fmt.Sprintf("currency %s does not match the %s recorded", so.Currency, p.Currency)
	}
	if rec.Problem == "" {
		rec.To, rec.Method, rec.Reference = to, so.Method, so.PaymentIntent
	}
	return rec
}

// paymentMails are the emails about a payment whose state moved, queued
// with the change: when it is paid, a receipt and a notice to the
// business; when it is processing, a notice to the business.
func (s *Server) paymentMails(p PaymentRecord) ([]Message, error) {
	if p.Kind == events.ForSubscription && p.State == events.PaymentFailed {
		return s.periodFailedMails(p)
	}
	if p.Auto && p.State == events.PaymentFailed {
		return s.autopayFailedMails(p, "")
	}
	if p.State != events.PaymentPaid && p.State != events.PaymentProcessing {
		return nil, nil
	}
	site := s.build.Load().Directory.Site
	amount := s.money(p.Amount)
	what := "invoice " + p.Document
	switch p.Kind {
	case events.ForDeposit:
		what = "the deposit on quote " + p.Document
	case events.ForSubscription:
		what = "subscription " + p.Document + s.periodOf(p)
	}
	name := s.clientName(p.ClientID, p.Email)
	rows := [][2]string{{"Amount", amount}, {"For", what}, {"Reference", p.Reference}}
	if p.State == events.PaymentPaid {
		id := p.ReceiptID()
		return s.mails(Notice{To: Address{Email: p.Email}, Subject: fmt.Sprintf("Receipt: %s paid to %s", amount, site.Name),
			Intro: fmt.Sprintf("Thank you: we received your payment of %s for %s.", amount, what), Rows: rows,
			Path: "/c/" + p.ClientID + "/receipts/" + id + "/", Button: "View your receipt"},
			Notice{To: Address{Name: site.Name, Email: site.Email}, Subject: fmt.Sprintf("Payment received: %s from %s (%s)", amount, name, p.Document),
				Intro: fmt.Sprintf("%s paid %s for %s online.", name, amount, what), Rows: append(rows, [2]string{"Paid by", p.Email})})
	}
	return s.mails(Notice{To: Address{Name: site.Name, Email: site.Email}, Subject: fmt.Sprintf("Payment processing: %s from %s (%s)", amount, name, p.Document),
		Intro: fmt.Sprintf("%s paid %s for %s by a method that settles later; it shows as processing until it does.", name, amount, what), Rows: rows})
}
