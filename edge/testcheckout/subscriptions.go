package testcheckout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/stripe/stripe-go/v76"
)

// Subscriptions: a session made with Recurring is a subscription's page;
// its card outcome sends checkout.session.completed (mode subscription)
// and the first period's invoice.paid, as Stripe does. The customer portal
// is a local page whose buttons charge the next period, make it fail, or
// cancel (invoice.paid, invoice.payment_failed,
// customer.subscription.deleted).

// localID is an id of this checkout's: prefix and a hash of the run's
// secret with key (the same key, the same id, like Stripe's idempotency).
func (c *Checkout) localID(prefix, key string) string {
	h := sha256.Sum256([]byte(c.cfg.Secret + "\x00" + key))
	return prefix + hex.EncodeToString(h[:12])
}

// CreateCustomer implements edge.Checkout.
func (c *Checkout) CreateCustomer(ctx context.Context, r edge.CustomerRequest) (string, error) {
	key := r.IdempotencyKey
	if key == "" {
		key = randomID()
	}
	return c.localID("cus_test_local_", key), nil
}

// PortalSession implements edge.Checkout: the local portal page.
func (c *Checkout) PortalSession(ctx context.Context, customer, returnURL string) (string, error) {
	c.mu.Lock()
	c.portals[customer] = returnURL
	c.mu.Unlock()
	return c.cfg.Base.ResolveReference(&url.URL{Path: Prefix + "portal/" + customer}).String(), nil
}

// EndSubscription implements edge.Checkout: the subscription charges no
// more periods (its portal says it ends).
func (c *Checkout) EndSubscription(ctx context.Context, ref string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, subs := range c.subs {
		for _, s := range subs {
			if s.ID == ref {
				s.Ending = true
				return nil
			}
		}
	}
	return errNoSub
}

// subscription is the subscription a session of this run starts, as a
// payment for the page: its amount and state.
func (c *Checkout) subscription(ctx context.Context, id string) (edge.PaymentRecord, page, bool) {
	c.mu.Lock()
	pg, ok := c.pages[id]
	c.mu.Unlock()
	if !ok || pg.sub == nil || c.cfg.Subscription == nil {
		return edge.PaymentRecord{}, page{}, false
	}
	rec, err := c.cfg.Subscription(ctx, pg.sub.ClientID, pg.sub.Document)
	if err != nil || rec.Session != id {
		return edge.PaymentRecord{}, page{}, false
	}
	return subPayment(rec), pg, true
}

func subPayment(rec edge.SubscriptionRecord) edge.PaymentRecord {
	return edge.PaymentRecord{ClientID: rec.ClientID, Payment: events.Payment{ID: rec.Session, Kind: events.ForSubscription, Document: rec.Number,
		Amount: rec.Amount, Currency: rec.Currency, State: rec.State, Email: rec.Email}}
}

// startSubscription completes a subscription's page: with a card, the
// subscription is active and its first period paid.
func (c *Checkout) startSubscription(ctx context.Context, pg page, p edge.PaymentRecord, outcome string) error {
	switch {
	case outcome != Paid:
		return fmt.Errorf("%q: a subscription starts with a card (paid): %w", outcome, errOutcome)
	case p.State != events.BillingPending:
		return fmt.Errorf("%w: it is %s", errDone, p.State)
	}
	r := pg.sub
	subID := c.localID("sub_test_local_", r.ClientID+"\x00"+r.Document+"\x00"+p.ID)
	meta := map[string]string{"client": r.ClientID, "document": r.Document, "kind": r.Kind}
	obj := map[string]any{
		"id": p.ID, "object": "checkout.session", "mode": "subscription", "status": "complete", "livemode": false,
		"payment_status": "paid", "amount_total": p.Amount, "amount_subtotal": p.Amount, "currency": strings.ToLower(p.Currency),
		"customer": r.Customer, "subscription": subID, "client_reference_id": r.ClientID, "payment_method_types": []string{"card"},
		"metadata": meta,
	}
	if err := c.post(ctx, p.ID, edge.EventSessionCompleted, c.event(edge.EventSessionCompleted, obj)); err != nil {
		return err
	}
	c.mu.Lock()
	s := &localSub{ID: subID, Customer: r.Customer, Amount: p.Amount, Currency: p.Currency, Meta: meta, Every: *r.Recurring, Title: r.Description}
	c.subs[r.Customer] = append(c.subs[r.Customer], s)
	c.mu.Unlock()
	return c.charge(ctx, s, edge.EventInvoicePaid)
}

// localSub is a subscription started in this run.
type localSub struct {
	ID, Customer, Currency, Title string
	Amount                        int64
	Meta                          map[string]string
	Every                         edge.Recurring
	Periods                       int // charged so far
	Cancelled                     bool
	Ending                        bool // told to end after this period: no more charges
}

// charge sends the next period's invoice event (paid or payment_failed).
func (c *Checkout) charge(ctx context.Context, s *localSub, typ string) error {
	c.mu.Lock()
	k := s.Periods
	if typ == edge.EventInvoicePaid {
		s.Periods++
	}
	c.mu.Unlock()
	start := c.cfg.Now().UTC()
	switch s.Every.Interval { // the k-th period from now, roughly as Stripe would bill it
	case "week":
		start = start.AddDate(0, 0, 7*int(s.Every.Count)*k)
	case "year":
		start = start.AddDate(int(s.Every.Count)*k, 0, 0)
	default:
		start = start.AddDate(0, int(s.Every.Count)*k, 0)
	}
	inv := "in_test_local_" + randomID()
	paid := int64(0)
	if typ == edge.EventInvoicePaid {
		paid = s.Amount
	}
	obj := map[string]any{
		"id": inv, "object": "invoice", "customer": s.Customer, "subscription": s.ID, "status": map[bool]string{true: "paid", false: "open"}[paid > 0],
		"amount_due": s.Amount, "amount_paid": paid, "currency": strings.ToLower(s.Currency), "billing_reason": "subscription_cycle",
		"payment_intent": "pi_" + strings.TrimPrefix(inv, "in_"), "period_start": start.Unix(),
		"subscription_details": map[string]any{"metadata": s.Meta},
		"lines": map[string]any{"object": "list", "data": []any{map[string]any{"type": "subscription", "amount": s.Amount,
			"period": map[string]any{"start": start.Unix(), "end": start.AddDate(0, 1, 0).Unix()}}}},
	}
	return c.post(ctx, inv, typ, c.event(typ, obj))
}

// event is a Stripe event's JSON around obj.
func (c *Checkout) event(typ string, obj map[string]any) []byte { return c.eventWith(typ, obj, nil) }

// eventWith is event with the previous values of the fields that changed.
func (c *Checkout) eventWith(typ string, obj, prev map[string]any) []byte {
	data := map[string]any{"object": obj}
	if prev != nil {
		data["previous_attributes"] = prev
	}
	b, _ := json.Marshal(map[string]any{
		"id": "evt_test_local_" + randomID(), "object": "event", "api_version": stripe.APIVersion, "created": c.cfg.Now().Unix(),
		"livemode": false, "pending_webhooks": 1, "type": typ, "data": data,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
	})
	return b
}

func (c *Checkout) handlePortal(w http.ResponseWriter, r *http.Request) {
	c.renderPortal(w, r.PathValue("customer"), "", http.StatusOK)
}

func (c *Checkout) renderPortal(w http.ResponseWriter, customer, problem string, status int) {
	c.mu.Lock()
	back, ok := c.portals[customer]
	var subs []localSub
	for _, s := range c.subs[customer] {
		subs = append(subs, *s)
	}
	c.mu.Unlock()
	if !ok {
		http.Error(w, "no customer portal session for this customer in this run: open it from the hub", http.StatusNotFound)
		return
	}
	writePage(w, status, portalTmpl, struct {
		Business, Back, Problem string
		Subs                    []localSub
	}{c.cfg.Business, back, problem, subs})
}

var errNoSub = errors.New("no such subscription of this customer in this run")

func (c *Checkout) handlePortalPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	customer := r.PathValue("customer")
	c.mu.Lock()
	var s *localSub
	ending := false
	for _, x := range c.subs[customer] {
		if x.ID == r.PostForm.Get("subscription") && !x.Cancelled {
			s, ending = x, x.Ending
		}
	}
	c.mu.Unlock()
	err := errNoSub
	if s != nil {
		switch r.PostForm.Get("do") {
		case "charge", "fail":
			if ending {
				err = errors.New("this subscription has had its last period")
				break
			}
			typ := edge.EventInvoicePaid
			if r.PostForm.Get("do") == "fail" {
				typ = edge.EventInvoiceFailed
			}
			err = c.charge(r.Context(), s, typ)
		case "cancel":
			obj := map[string]any{"id": s.ID, "object": "subscription", "customer": s.Customer, "status": "canceled", "metadata": s.Meta}
			if err = c.post(r.Context(), s.ID, edge.EventSubscriptionDeleted, c.event(edge.EventSubscriptionDeleted, obj)); err == nil {
				c.mu.Lock()
				s.Cancelled = true
				c.mu.Unlock()
			}
		default:
			err = errOutcome
		}
	}
	if err != nil {
		c.renderPortal(w, customer, err.Error(), http.StatusConflict)
		return
	}
	http.Redirect(w, r, Prefix+"portal/"+customer, http.StatusSeeOther)
}

var portalTmpl = template.Must(template.New("portal").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Customer portal · Test checkout</title>
<style>` + style + `</style></head><body>
<p class="test" role="note"><strong>Test customer portal</strong> of <code>hub serve</code>: nothing is charged. Its buttons send signed Stripe events to this hub's webhook, as Stripe would.</p>
<main>
<section class="summary"><p><a class="back" href="{{.Back}}">← Back to the hub</a></p><h1>{{or .Business "The business"}}: your subscriptions</h1></section>
<section class="box" aria-label="Subscriptions">
{{with .Problem}}<p class="problem" role="alert">{{.}}</p>{{end}}
{{- range .Subs}}
<h2>{{.Title}}</h2>
{{- if .Cancelled}}<p>Cancelled.</p>{{else}}
<p class="note">{{.Periods}} period(s) paid{{if .Ending}}; that was the last{{end}}.</p>
<form method="post"><input type="hidden" name="subscription" value="{{.ID}}"><input type="hidden" name="do" value="charge"><button class="pay">Charge the next period</button></form>
<form method="post"><input type="hidden" name="subscription" value="{{.ID}}"><input type="hidden" name="do" value="fail"><button class="cancel">Next charge fails</button></form>
<form method="post"><input type="hidden" name="subscription" value="{{.ID}}"><input type="hidden" name="do" value="cancel"><button class="cancel">Cancel subscription</button></form>
{{- end}}
{{- else}}<p>No subscription started in this run.</p>{{end}}
</section>
</main></body></html>`))
