package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
)

// Subscriptions: POST /c/{client}/subscriptions/{number}/start opens
// Stripe Checkout in subscription mode for the amount, interval and
// currency of the subscription's signed directory entry (never the form's),
// on the client's Stripe customer (made once and recorded). The webhooks
// (checkout.session.completed, invoice.paid, invoice.payment_failed,
// customer.subscription.updated/.deleted) go through RecordWebhook like
// every payment's: verified, deduplicated by event id, states forward only,
// each paid period a payment (events.ForSubscription) with its receipt.
// POST …/subscriptions/{number}/manage opens the customer portal.

// SubscriptionStore records subscriptions started online and each client's
// Stripe customer. Part of Store.
type SubscriptionStore interface {
	// Customer returns the client's recorded Stripe customer, "" when none.
	Customer(ctx context.Context, clientID string) (string, error)
	// SetCustomer records the client's Stripe customer unless one is
	// recorded already, and returns the one recorded: of several edges
	// setting one at once, every caller gets the first.
	SetCustomer(ctx context.Context, clientID, customer string) (string, error)
	// StartSubscription records a Checkout Session made to start a
	// subscription: it is pending (a pending one's session is replaced by
	// the new one). One started already (active, past due, cancelled) is a
	// conflict.
	StartSubscription(ctx context.Context, r SubscriptionRecord) error
	// Subscription returns a client's subscription started online, by number.
	Subscription(ctx context.Context, clientID, number string) (SubscriptionRecord, error)
}

// SubscriptionRecord is a subscription started online as the edge keeps it.
type SubscriptionRecord struct {
	events.Subscription
	ClientID string
	Session  string    // the Checkout Session that started it (the last one made)
	URL      string    // that session's page
	Expires  time.Time // when that session closes
	Email    string    // the contact who started it
	Created  time.Time
}

// SubscriptionChange is what an event does to a subscription: its billing
// state (when the event happened), and the Stripe subscription and
// customer, recorded if they were not yet.
type SubscriptionChange struct {
	ClientID, Number string
	State            string
	At               time.Time
	Ref, Customer    string
}

// stripeInterval is a content interval as Stripe's price interval.
func stripeInterval(interval string, every int) Recurring {
	n := int64(max(every, 1))
	switch interval {
	case "week":
		return Recurring{"week", n}
	case "quarter":
		return Recurring{"month", 3 * n}
	case "year":
		return Recurring{"year", n}
	}
	return Recurring{"month", n}
}

// clientSubscription finds the session's own visible subscription.
func (s *Server) clientSubscription(r *http.Request) (bundle.DirDocument, error) {
	c := SessionFrom(r.Context())
	client, number := r.PathValue("client"), r.PathValue("number")
	owner, doc, ok := s.build.Load().Subscription(number)
	if c == nil || client != c.Client || !ok || owner != client {
		return doc, Errorf(ENotFound, "There is no such subscription in your hub.")
	}
	return doc, nil
}

func (s *Server) handleStartSubscription(w http.ResponseWriter, r *http.Request) {
	if err := s.startSubscription(w, r); err != nil {
		s.errorPage(w, r, err)
	}
}

func (s *Server) startSubscription(w http.ResponseWriter, r *http.Request) error {
	doc, err := s.clientSubscription(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	c := SessionFrom(ctx)
	site := s.build.Load().Directory.Site
	if s.cfg.Checkout == nil || !site.OnlinePayments || !site.Subscriptions {
		return Errorf(EUnavailable, "Starting a subscription online is not available. The subscription's page says how to get in touch.")
	}
	if doc.State != "active" || doc.Total <= 0 {
		return Errorf(EConflict, "Subscription %s is %s: it cannot be started online.", doc.Number, strings.ToLower(doc.Status))
	}
	unlock := s.payLocks.lock(c.Client + "\x00subscription\x00" + doc.Number)
	defer unlock()
	now := s.now()
	rec, err := s.store.Subscription(ctx, c.Client, doc.Number)
	switch {
	case err == nil && rec.State != events.BillingPending:
		return Errorf(EConflict, "Subscription %s is already started. Thank you!", doc.Number)
	case err == nil && rec.Amount == doc.Total && rec.Expires.After(now.Add(2*time.Minute)):
		http.Redirect(w, r, rec.URL, http.StatusSeeOther) // a double click: the same page
		return nil
	case err != nil && ErrorCode(err) != ENotFound:
		return err
	}
	customer, err := s.customer(ctx, c)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(s.cfg.BaseURL.String(), "/")
	back := base + "/c/" + c.Client + "/" + doc.Path
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00subscription\x00%s\x00%d\x00%s\x00%d\x00%s", c.Client, doc.Number, doc.Total, doc.Interval, doc.Every, rec.Session))
	rc := stripeInterval(doc.Interval, doc.Every)
	trial, anchor := s.firstCharge(doc.Start, now)
	sess, err := s.cfg.Checkout.CreateSession(ctx, CheckoutRequest{
		TrialEnd: trial, BillingAnchor: anchor,
		ClientID: c.Client, Kind: events.ForSubscription, Document: doc.Number, Email: c.Subject,
		Description: fmt.Sprintf("Subscription %s — %s", doc.Number, doc.Title),
		Amount:      doc.Total, Currency: doc.Currency, Recurring: &rc, Customer: customer,
		SuccessURL: base + "/c/" + c.Client + "/subscribed/" + doc.Number, CancelURL: back,
		IdempotencyKey: "hub-" + hex.EncodeToString(h[:16]), ExpiresAt: now.Add(checkoutTTL),
	})
	if err != nil {
		s.log.Error("creating a subscription's Checkout Session", "client", c.Client, "subscription", doc.Number, "err", err)
		return Errorf(EUnavailable, "The payment page could not be opened just now. Please try again in a minute.")
	}
	exp := sess.ExpiresAt
	if exp.IsZero() || exp.Before(now) || exp.After(now.Add(24*time.Hour)) {
		exp = now.Add(checkoutTTL)
	}
	err = s.store.StartSubscription(ctx, SubscriptionRecord{
		Subscription: events.Subscription{Number: doc.Number, State: events.BillingPending, Customer: customer, Amount: doc.Total, Currency: doc.Currency},
		ClientID:     c.Client, Session: sess.ID, URL: sess.URL, Expires: exp, Email: c.Subject, Created: now,
	})
	if err != nil {
		return err
	}
	http.Redirect(w, r, sess.URL, http.StatusSeeOther)
	return nil
}

// minTrial is how far ahead Stripe Checkout takes a trial's end.
const minTrial = 48 * time.Hour

// firstCharge is when Stripe should charge the first period of a
// subscription whose start date (YYYY-MM-DD) is still to come: the start
// of that day in the site's time zone, as a trial's end when it is far
// enough ahead, else as the billing cycle's anchor. A start today or
// past is charged at once (both zero).
func (s *Server) firstCharge(start string, now time.Time) (trial, anchor time.Time) {
	loc, err := time.LoadLocation(s.build.Load().Directory.Site.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	day, err := time.ParseInLocation(time.DateOnly, start, loc)
	if err != nil || !day.After(now) {
		return time.Time{}, time.Time{}
	}
	if day.Sub(now) >= minTrial {
		return day, time.Time{}
	}
	return time.Time{}, day
}

// customer is the client's Stripe customer: the recorded one, or one made
// now and recorded (two edges making one at once use the same idempotency
// key, so Stripe gives both the same).
func (s *Server) customer(ctx context.Context, c *Claims) (string, error) {
	id, err := s.store.Customer(ctx, c.Client)
	if err != nil || id != "" {
		return id, err
	}
	name := s.clientName(c.Client, c.Subject)
	id, err = s.cfg.Checkout.CreateCustomer(ctx, CustomerRequest{ClientID: c.Client, Name: name, Email: c.Subject, IdempotencyKey: "hub-customer-" + c.Client})
	if err != nil {
		s.log.Error("creating a Stripe customer", "client", c.Client, "err", err)
		return "", Errorf(EUnavailable, "The payment page could not be opened just now. Please try again in a minute.")
	}
	return s.store.SetCustomer(ctx, c.Client, id)
}

// handleSubscribed is where Stripe sends the client back after starting a
// subscription: it waits for the webhook and the rebuild, then goes to the
// subscription's page.
func (s *Server) handleSubscribed(w http.ResponseWriter, r *http.Request) {
	c := s.session(r)
	client, number := r.PathValue("client"), r.PathValue("number")
	if c == nil || c.Client != client {
		s.errorPage(w, r, Errorf(EUnauthorized, "Please sign in to see your subscription."))
		return
	}
	owner, doc, ok := s.build.Load().Subscription(number)
	if !ok || owner != client {
		s.errorPage(w, r, Errorf(ENotFound, "There is no such subscription in your hub."))
		return
	}
	back := "/c/" + client + "/" + doc.Path
	if doc.Billing != "" && doc.Billing != events.BillingPending {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Refresh", "3")
	s.renderPage(w, r, http.StatusOK, "Starting your subscription", subscribedTmpl, struct{ Doc, Back string }{doc.Number, back})
}

var subscribedTmpl = mustPage(`<div class="panel stack">
<p role="status">We're confirming subscription <strong>{{.Doc}}</strong> with Stripe. This page updates by itself.</p>
<p><a class="btn" href="{{.Back}}">Back to {{.Doc}}</a></p>
</div>`)

// handleManageSubscription opens the customer portal for the client's
// Stripe customer: update the card, or cancel.
func (s *Server) handleManageSubscription(w http.ResponseWriter, r *http.Request) {
	doc, err := s.clientSubscription(r)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	ctx := r.Context()
	c := SessionFrom(ctx)
	if s.cfg.Checkout == nil {
		s.errorPage(w, r, Errorf(EUnavailable, "Managing a subscription online is not available. The subscription's page says how to get in touch."))
		return
	}
	rec, err := s.store.Subscription(ctx, c.Client, doc.Number)
	if err != nil || rec.Customer == "" || rec.State == events.BillingPending {
		s.errorPage(w, r, Errorf(EConflict, "Subscription %s has not been started online yet.", doc.Number))
		return
	}
	back := strings.TrimSuffix(s.cfg.BaseURL.String(), "/") + "/c/" + c.Client + "/" + doc.Path
	u, err := s.cfg.Checkout.PortalSession(ctx, rec.Customer, back)
	if err != nil {
		s.log.Error("opening the customer portal", "client", c.Client, "err", err)
		s.errorPage(w, r, Errorf(EUnavailable, "The page could not be opened just now. Please try again in a minute."))
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// subscriptionRecord works out what an event about a subscription does
// (webhookRecord's part for subscriptions): the recorded subscription is
// found by the metadata the session gave it, and the amount, currency,
// customer and Stripe subscription are checked against what was recorded.
func (s *Server) subscriptionRecord(ctx context.Context, ev WebhookEvent, rec WebhookRecord) WebhookRecord {
	var md map[string]string
	var ref, customer, state, reference string
	switch {
	case ev.Session != nil:
		md, ref, customer = ev.Session.Metadata, ev.Session.Subscription, ev.Session.Customer
		if ev.Session.PaymentStatus == "paid" || ev.Session.PaymentStatus == "no_payment_required" {
			state = events.BillingActive // the first period is paid (its invoice.paid records the payment)
		}
	case ev.Invoice != nil:
		md, ref, customer = ev.Invoice.Metadata, ev.Invoice.Subscription, ev.Invoice.Customer
	case ev.Subscription != nil:
		md, ref, customer = ev.Subscription.Metadata, ev.Subscription.ID, ev.Subscription.Customer
		state = billingState(ev.Subscription.Status, ev.Type == EventSubscriptionDeleted)
	}
	if md["kind"] != events.ForSubscription || md["client"] == "" || md["document"] == "" {
		return rec // not one of the hub's subscriptions: recorded, ignored
	}
	if ev.Invoice != nil {
		rec.PaymentID = ev.Invoice.ID // listed with its problem, if it has one
	}
	sub, err := s.store.Subscription(ctx, md["client"], md["document"])
	if err != nil {
		rec.Problem = fmt.Sprintf("no subscription %s recorded for client %q", md["document"], md["client"])
		return rec
	}
	switch {
	case customer != sub.Customer:
		rec.Problem = fmt.Sprintf("customer %q does not match the %q recorded", customer, sub.Customer)
	case ref == "":
		rec.Problem = "event without a subscription"
	case sub.Ref != "" && ref != sub.Ref:
		rec.Problem = fmt.Sprintf("subscription %q does not match the %q recorded", ref, sub.Ref)
	case ev.Session != nil && ev.Session.ID != sub.Session:
		rec.Problem = fmt.Sprintf("Checkout Session %q is not the %q recorded", ev.Session.ID, sub.Session)
	case ev.Session != nil && ev.Session.AmountTotal != sub.Amount:
		rec.Problem = fmt.Sprintf("amount %d does not match the %d recorded", ev.Session.AmountTotal, sub.Amount)
	case ev.Session != nil && !strings.EqualFold(ev.Session.Currency, sub.Currency):
		rec.Problem = fmt.Sprintf("currency %s does not match the %s recorded", ev.Session.Currency, sub.Currency)
	}
	if inv := ev.Invoice; inv != nil && rec.Problem == "" && ev.Type == EventInvoicePaid && inv.AmountPaid == 0 && inv.AmountDue == 0 {
		return rec // the trial's invoice before a start date to come: nothing charged, no period paid
	}
	if inv := ev.Invoice; inv != nil && rec.Problem == "" {
		amount := inv.AmountPaid
		rec.To, state = events.PaymentPaid, events.BillingActive
		if ev.Type == EventInvoiceFailed {
			amount, rec.To, state = inv.AmountDue, events.PaymentFailed, events.BillingPastDue
		}
		switch {
		case inv.ID == "":
			rec.Problem = "invoice without an id"
		case amount != sub.Amount:
			rec.Problem = fmt.Sprintf("amount %d does not match the %d recorded", amount, sub.Amount)
		case !strings.EqualFold(inv.Currency, sub.Currency):
			rec.Problem = fmt.Sprintf("currency %s does not match the %s recorded", inv.Currency, sub.Currency)
		}
		if rec.Problem == "" {
			reference = inv.PaymentIntent // the invoice does not say the method: "Paid online"
			rec.NewPayment = &PaymentRecord{ClientID: sub.ClientID, Payment: events.Payment{ID: inv.ID, Kind: events.ForSubscription, Document: sub.Number,
				Amount: sub.Amount, Currency: sub.Currency, Email: sub.Email, Created: rec.Received, Period: inv.PeriodStart}}
		}
	}
	if rec.Problem != "" {
		rec.To = ""
		return rec
	}
	rec.Reference = reference
	rec.Sub = &SubscriptionChange{ClientID: sub.ClientID, Number: sub.Number, State: state, At: ev.Created, Ref: ref, Customer: customer}
	return rec
}

// endIfLastPeriod tells Stripe to end a subscription whose last period
// (of the number its content gives) was just paid: Stripe itself charges
// until cancelled. It asks once per process: the period before the last,
// processed late, also sees every period paid (asking Stripe twice would
// change nothing, but once is what is meant). A failure is logged loudly,
// for staff to cancel it in Stripe, and a later event may ask again.
func (s *Server) endIfLastPeriod(ctx context.Context, p PaymentRecord) {
	if p.Kind != events.ForSubscription || p.State != events.PaymentPaid {
		return
	}
	owner, doc, ok := s.build.Load().Subscription(p.Document)
	if !ok || owner != p.ClientID || doc.Periods <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	n, err := s.store.PaymentCount(ctx, p.ClientID, p.Document) // one per period billed (a retried one is the same)
	if err != nil || n < doc.Periods {
		return
	}
	key := p.ClientID + "/" + p.Document
	if _, asked := s.ending.LoadOrStore(key, true); asked {
		return
	}
	rec, err := s.store.Subscription(ctx, p.ClientID, p.Document)
	if err == nil && rec.Ref != "" {
		err = s.cfg.Checkout.EndSubscription(ctx, rec.Ref)
	}
	if err != nil || rec.Ref == "" {
		s.ending.Delete(key) // a later event may ask again
		s.log.Error("SUBSCRIPTION NOT ENDED: its last period is paid but Stripe was not told to end it; cancel it in the Stripe dashboard",
			"client", p.ClientID, "subscription", p.Document, "periods", doc.Periods, "err", err)
		return
	}
	s.log.Info("subscription ends after its last period", "client", p.ClientID, "subscription", p.Document, "periods", doc.Periods)
}

// billingState is Stripe's subscription status in the hub's words.
func billingState(status string, deleted bool) string {
	switch {
	case deleted || status == "canceled" || status == "incomplete_expired":
		return events.BillingCancelled
	case status == "active" || status == "trialing":
		return events.BillingActive
	case status == "past_due" || status == "unpaid":
		return events.BillingPastDue
	}
	return "" // incomplete, paused: nothing the hub shows differently
}

// periodOf names a subscription payment's period: " (the period from Nov 28, 2026)".
func (s *Server) periodOf(p PaymentRecord) string {
	if p.Period.IsZero() {
		return ""
	}
	site := s.build.Load().Directory.Site
	t := p.Period
	if loc, err := time.LoadLocation(site.TimeZone); err == nil {
		t = t.In(loc)
	}
	day := t.Format(time.DateOnly)
	if l, ok := money.LookupLocale(site.Locale); ok {
		day = l.Date(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
	}
	return " (the period from " + day + ")"
}

// periodFailedMails tell the client and the business that a period's
// payment failed: Stripe retries, and the client may change the card.
func (s *Server) periodFailedMails(p PaymentRecord) ([]Message, error) {
	site := s.build.Load().Directory.Site
	amount := s.money(p.Amount)
	what := "subscription " + p.Document + s.periodOf(p)
	path := "/c/" + p.ClientID + "/"
	if _, doc, ok := s.build.Load().Subscription(p.Document); ok {
		path += doc.Path
	}
	rows := [][2]string{{"Amount", amount}, {"For", what}, {"Reference", p.Reference}}
	name := s.clientName(p.ClientID, p.Email)
	return s.mails(Notice{To: Address{Email: p.Email}, Subject: fmt.Sprintf("Payment failed: %s for %s", amount, p.Document),
		Intro: fmt.Sprintf("Your payment of %s for %s did not go through. It will be tried again; to use another card, open the subscription and choose \"Manage payment method or cancel\".", amount, what),
		Rows:  rows, Path: path, Button: "Open the subscription"},
		Notice{To: Address{Name: site.Name, Email: site.Email}, Subject: fmt.Sprintf("Subscription payment failed: %s from %s (%s)", amount, name, p.Document),
			Intro: fmt.Sprintf("The payment of %s by %s for %s failed. Stripe retries it; the subscription is past due until it is paid.", amount, name, what), Rows: append(rows, [2]string{"Contact", p.Email})})
}
