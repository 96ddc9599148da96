// Package stripepay is the edge's payment provider on Stripe Checkout
// (stripe-go v76, API version 2023-10-16).
package stripepay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Tolerance is how old a webhook's signature may be.
const Tolerance = 300 * time.Second

// Config configures the adapter.
type Config struct {
	SecretKey     string // sk_live_... or sk_test_...
	WebhookSecret string // whsec_...
	// APIURL replaces Stripe's API address (tests and local runs point it
	// at stripe-mock); "" is Stripe's.
	APIURL string
	// HTTPClient, when set, makes the API calls.
	HTTPClient *http.Client
}

// Checkout is an edge.Checkout on Stripe.
type Checkout struct {
	api *client.API
	*Webhooks
}

// Webhooks verifies and decodes Stripe's webhook events: the part of the
// adapter that needs only the signing secret (hub serve's test checkout,
// which signs its own events, verifies them with it too).
type Webhooks struct{ secret string }

// NewWebhooks returns the verifier for events signed with secret.
func NewWebhooks(secret string) *Webhooks { return &Webhooks{secret: secret} }

var _ edge.Checkout = (*Checkout)(nil)

// New returns a Checkout, or an error naming what is missing.
func New(cfg Config) (*Checkout, error) {
	if cfg.SecretKey == "" {
		return nil, errors.New("stripe: no secret key (HUB_STRIPE_SECRET_KEY)")
	}
	if cfg.WebhookSecret == "" {
		return nil, errors.New("stripe: no webhook signing secret (HUB_STRIPE_WEBHOOK_SECRET); payments could be made but never confirmed")
	}
	bc := &stripe.BackendConfig{
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelError},
		MaxNetworkRetries: stripe.Int64(2),
	}
	if cfg.HTTPClient != nil {
		bc.HTTPClient = cfg.HTTPClient
	} else {
		bc.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(strings.TrimSuffix(cfg.APIURL, "/"))
	}
	api := &client.API{}
	api.Init(cfg.SecretKey, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	})
	return &Checkout{api: api, Webhooks: NewWebhooks(cfg.WebhookSecret)}, nil
}

// CreateSession implements edge.Checkout.
func (c *Checkout) CreateSession(ctx context.Context, r edge.CheckoutRequest) (edge.CheckoutSession, error) {
	meta := map[string]string{"client": r.ClientID, "kind": r.Kind, "document": r.Document}
	p := &stripe.CheckoutSessionParams{
		Mode: stripe.String(string(stripe.CheckoutSessionModePayment)),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(strings.ToLower(r.Currency)),
				UnitAmount:  stripe.Int64(r.Amount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(r.Description)},
			},
			Quantity: stripe.Int64(1),
		}},
		ClientReferenceID: stripe.String(r.ClientID),
		SuccessURL:        stripe.String(r.SuccessURL),
		CancelURL:         stripe.String(r.CancelURL),
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			Description: stripe.String(r.Description),
			Metadata:    meta,
		},
	}
	switch {
	case r.Recurring != nil:
		p.Mode = stripe.String(string(stripe.CheckoutSessionModeSubscription))
		p.LineItems[0].PriceData.Recurring = &stripe.CheckoutSessionLineItemPriceDataRecurringParams{
			Interval: stripe.String(r.Recurring.Interval), IntervalCount: stripe.Int64(r.Recurring.Count),
		}
		p.PaymentIntentData = nil // not allowed in subscription mode: the metadata goes on the subscription
		p.SubscriptionData = &stripe.CheckoutSessionSubscriptionDataParams{Description: stripe.String(r.Description), Metadata: meta}
		// The first period is billed on the start date: until then the
		// subscription is trialing (or anchored there), and nothing is charged.
		switch {
		case !r.TrialEnd.IsZero():
			p.SubscriptionData.TrialEnd = stripe.Int64(r.TrialEnd.Unix())
		case !r.BillingAnchor.IsZero():
			p.SubscriptionData.BillingCycleAnchor = stripe.Int64(r.BillingAnchor.Unix())
			p.SubscriptionData.ProrationBehavior = stripe.String("none")
		}
		p.Customer = stripe.String(r.Customer)
	case r.Customer != "" && r.SaveCard:
		p.Customer = stripe.String(r.Customer)
		p.PaymentIntentData.SetupFutureUsage = stripe.String(string(stripe.PaymentIntentSetupFutureUsageOffSession))
	case r.Customer != "":
		p.Customer = stripe.String(r.Customer)
	case r.Email != "":
		p.CustomerEmail = stripe.String(r.Email)
	}
	if !r.ExpiresAt.IsZero() {
		p.ExpiresAt = stripe.Int64(r.ExpiresAt.Unix())
	}
	p.Metadata = meta
	p.Context = ctx
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(r.IdempotencyKey)
	}
	s, err := c.api.CheckoutSessions.New(p)
	if err != nil {
		return edge.CheckoutSession{}, fmt.Errorf("stripe: creating a Checkout Session: %w", err)
	}
	if s.ID == "" || s.URL == "" {
		return edge.CheckoutSession{}, errors.New("stripe: the Checkout Session came back without an id or a URL")
	}
	out := edge.CheckoutSession{ID: s.ID, URL: s.URL}
	if s.ExpiresAt > 0 {
		out.ExpiresAt = time.Unix(s.ExpiresAt, 0)
	}
	return out, nil
}

// CreateCustomer implements edge.Checkout.
func (c *Checkout) CreateCustomer(ctx context.Context, r edge.CustomerRequest) (string, error) {
	p := &stripe.CustomerParams{Name: stripe.String(r.Name), Email: stripe.String(r.Email), Metadata: map[string]string{"client": r.ClientID}}
	p.Context = ctx
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(r.IdempotencyKey)
	}
	cu, err := c.api.Customers.New(p)
	if err != nil {
		return "", fmt.Errorf("stripe: creating a customer: %w", err)
	}
	if cu.ID == "" {
		return "", errors.New("stripe: the customer came back without an id")
	}
	return cu.ID, nil
}

// EndSubscription implements edge.Checkout: cancel at the period's end.
func (c *Checkout) EndSubscription(ctx context.Context, ref string) error {
	p := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)}
	p.Context = ctx
	if _, err := c.api.Subscriptions.Update(ref, p); err != nil {
		return fmt.Errorf("stripe: ending subscription %s after its period: %w", ref, err)
	}
	return nil
}

// PortalSession implements edge.Checkout: a customer portal session
// (its settings, what a customer may change, are the Stripe account's).
func (c *Checkout) PortalSession(ctx context.Context, customer, returnURL string) (string, error) {
	p := &stripe.BillingPortalSessionParams{Customer: stripe.String(customer), ReturnURL: stripe.String(returnURL)}
	p.Context = ctx
	s, err := c.api.BillingPortalSessions.New(p)
	if err != nil {
		return "", fmt.Errorf("stripe: opening the customer portal: %w", err)
	}
	if s.URL == "" {
		return "", errors.New("stripe: the customer portal session came back without a URL")
	}
	return s.URL, nil
}

// Charge implements edge.Checkout: a PaymentIntent confirmed off-session
// on the saved card. A card error (declined, or authentication required)
// is an outcome, with the PaymentIntent Stripe made for it.
func (c *Checkout) Charge(ctx context.Context, r edge.ChargeRequest) (edge.ChargeResult, error) {
	p := &stripe.PaymentIntentParams{
		Amount: stripe.Int64(r.Amount), Currency: stripe.String(strings.ToLower(r.Currency)),
		Customer: stripe.String(r.Customer), PaymentMethod: stripe.String(r.PaymentMethod),
		OffSession: stripe.Bool(true), Confirm: stripe.Bool(true), Description: stripe.String(r.Description),
		Metadata: map[string]string{"client": r.ClientID, "kind": "invoice", "document": r.Document, edge.MetaAuto: "true"},
	}
	if r.Email != "" {
		p.ReceiptEmail = stripe.String(r.Email)
	}
	p.Context = ctx
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(r.IdempotencyKey)
	}
	pi, err := c.api.PaymentIntents.New(p)
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
		out := edge.ChargeResult{Status: edge.ChargeDeclined, Reason: se.Msg}
		if se.PaymentIntent != nil {
			out.ID = se.PaymentIntent.ID
		}
		if se.Code == stripe.ErrorCodeAuthenticationRequired || (se.PaymentIntent != nil && se.PaymentIntent.Status == stripe.PaymentIntentStatusRequiresAction) {
			out.Status = edge.ChargeRequiresAction
		}
		return out, nil
	}
	if err != nil {
		return edge.ChargeResult{}, fmt.Errorf("stripe: charging the saved card: %w", err)
	}
	return edge.ChargeResult{ID: pi.ID, Status: chargeStatus(pi.Status)}, nil
}

// chargeStatus is a PaymentIntent's status as a charge's outcome.
func chargeStatus(s stripe.PaymentIntentStatus) string {
	switch s {
	case stripe.PaymentIntentStatusSucceeded:
		return edge.ChargeSucceeded
	case stripe.PaymentIntentStatusProcessing:
		return edge.ChargeProcessing
	case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation:
		return edge.ChargeRequiresAction
	}
	return edge.ChargeDeclined
}

// DetachCard implements edge.Checkout.
func (c *Checkout) DetachCard(ctx context.Context, paymentMethod string) error {
	p := &stripe.PaymentMethodDetachParams{}
	p.Context = ctx
	_, err := c.api.PaymentMethods.Detach(paymentMethod, p)
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeInvalidRequest && (se.Code == stripe.ErrorCodeResourceMissing || strings.Contains(se.Msg, "not attached")) {
		return nil // detached already (the customer portal, the dashboard): removed is what was asked
	}
	if err != nil {
		return fmt.Errorf("stripe: removing the saved card %s: %w", paymentMethod, err)
	}
	return nil
}

// ParseWebhook implements edge.Checkout: the signature and its age are
// checked on the raw bytes, then the API version.
func (c *Webhooks) ParseWebhook(payload []byte, signature string) (edge.WebhookEvent, error) {
	e, err := webhook.ConstructEventWithOptions(payload, signature, c.secret, webhook.ConstructEventOptions{
		Tolerance: Tolerance, IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		return edge.WebhookEvent{}, fmt.Errorf("stripe webhook: %w", err)
	}
	if e.APIVersion != stripe.APIVersion {
		return edge.WebhookEvent{}, &edge.APIVersionError{EventID: e.ID, Got: e.APIVersion, Want: stripe.APIVersion}
	}
	out := edge.WebhookEvent{ID: e.ID, Type: string(e.Type), Created: time.Unix(e.Created, 0)}
	if e.ID == "" {
		return out, errors.New("stripe webhook: event without an id")
	}
	if strings.HasPrefix(out.Type, "checkout.session.") && e.Data != nil {
		var s stripe.CheckoutSession
		if err := json.Unmarshal(e.Data.Raw, &s); err != nil {
			return out, fmt.Errorf("stripe webhook %s: reading the Checkout Session: %w", e.ID, err)
		}
		so := &edge.SessionObject{
			ID: s.ID, PaymentStatus: string(s.PaymentStatus), AmountTotal: s.AmountTotal,
			Currency: strings.ToUpper(string(s.Currency)), Metadata: s.Metadata,
		}
		if s.PaymentIntent != nil {
			so.PaymentIntent = s.PaymentIntent.ID
		}
		if len(s.PaymentMethodTypes) == 1 {
			so.Method = s.PaymentMethodTypes[0]
		}
		so.Mode = string(s.Mode)
		if s.Subscription != nil {
			so.Subscription = s.Subscription.ID
		}
		if s.Customer != nil {
			so.Customer = s.Customer.ID
		}
		out.Session = so
	}
	var err2 error
	switch {
	case e.Data == nil:
	case strings.HasPrefix(out.Type, "invoice."):
		out.Invoice, err2 = parseInvoice(e.Data.Raw)
	case strings.HasPrefix(out.Type, "customer.subscription."):
		out.Subscription, err2 = parseSubscription(e.Data.Raw)
	case strings.HasPrefix(out.Type, "payment_method."):
		out.Card, err2 = parseCard(e.Data.Raw, e.Data.PreviousAttributes)
	case strings.HasPrefix(out.Type, "payment_intent."):
		out.Intent, err2 = parseIntent(e.Data.Raw)
	}
	if err2 != nil {
		return out, fmt.Errorf("stripe webhook %s: %w", e.ID, err2)
	}
	return out, nil
}

// ref is an expandable field: an id, or the object with its id.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	var id string
	if err := json.Unmarshal(b, &id); err == nil {
		*r = ref(id)
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*r = ref(o.ID)
	return nil
}

// parseInvoice reads what the hub needs of an invoice: whose, how much,
// which subscription and period.
func parseInvoice(raw []byte) (*edge.InvoiceObject, error) {
	var v struct {
		ID, Currency           string
		Customer, Subscription ref
		PaymentIntent          ref   `json:"payment_intent"`
		AmountPaid             int64 `json:"amount_paid"`
		AmountDue              int64 `json:"amount_due"`
		PeriodStart            int64 `json:"period_start"`
		SubscriptionDetails    *struct {
			Metadata map[string]string `json:"metadata"`
		} `json:"subscription_details"`
		Lines *struct {
			Data []struct {
				Type   string `json:"type"`
				Period *struct {
					Start int64 `json:"start"`
				} `json:"period"`
			} `json:"data"`
		} `json:"lines"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("reading the invoice: %w", err)
	}
	o := &edge.InvoiceObject{ID: v.ID, Customer: string(v.Customer), Subscription: string(v.Subscription), PaymentIntent: string(v.PaymentIntent),
		AmountPaid: v.AmountPaid, AmountDue: v.AmountDue, Currency: strings.ToUpper(v.Currency)}
	if v.SubscriptionDetails != nil {
		o.Metadata = v.SubscriptionDetails.Metadata
	}
	start := v.PeriodStart
	if v.Lines != nil {
		for _, l := range v.Lines.Data { // the subscription's line bills the period ahead
			if l.Type == "subscription" && l.Period != nil {
				start = l.Period.Start
				break
			}
		}
	}
	if start > 0 {
		o.PeriodStart = time.Unix(start, 0).UTC()
	}
	return o, nil
}

// parseSubscription reads a subscription's id, customer, status and metadata.
func parseSubscription(raw []byte) (*edge.SubscriptionObject, error) {
	var v struct {
		ID, Status string
		Customer   ref
		Metadata   map[string]string
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("reading the subscription: %w", err)
	}
	return &edge.SubscriptionObject{ID: v.ID, Customer: string(v.Customer), Status: v.Status, Metadata: v.Metadata}, nil
}

// parseCard reads a payment method: its id, its customer (a detached
// one's is in the event's previous attributes) and the card's brand, last
// four digits and expiry.
func parseCard(raw []byte, prev map[string]any) (*edge.CardObject, error) {
	var v struct {
		ID, Type string
		Customer ref
		Card     *struct {
			Brand    string `json:"brand"`
			Last4    string `json:"last4"`
			ExpMonth int    `json:"exp_month"`
			ExpYear  int    `json:"exp_year"`
		} `json:"card"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("reading the payment method: %w", err)
	}
	o := &edge.CardObject{ID: v.ID, Type: v.Type, Customer: string(v.Customer)}
	if c, ok := prev["customer"].(string); ok && o.Customer == "" {
		o.Customer = c
	}
	if v.Card != nil {
		o.Brand, o.Last4, o.ExpMonth, o.ExpYear = v.Card.Brand, v.Card.Last4, v.Card.ExpMonth, v.Card.ExpYear
	}
	return o, nil
}

// parseIntent reads a PaymentIntent: whose, how much, where it stands.
func parseIntent(raw []byte) (*edge.IntentObject, error) {
	var v struct {
		ID, Status, Currency string
		Amount               int64
		Customer             ref
		PaymentMethod        ref `json:"payment_method"`
		Metadata             map[string]string
		LastError            *struct {
			Message string `json:"message"`
		} `json:"last_payment_error"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("reading the PaymentIntent: %w", err)
	}
	o := &edge.IntentObject{ID: v.ID, Status: v.Status, Amount: v.Amount, Currency: strings.ToUpper(v.Currency),
		Customer: string(v.Customer), Method: string(v.PaymentMethod), Metadata: v.Metadata}
	if v.LastError != nil {
		o.Reason = v.LastError.Message
	}
	return o, nil
}

// APIVersion is the Stripe API version events must carry.
const APIVersion = stripe.APIVersion
