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
	if r.Email != "" {
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
		out.Session = so
	}
	return out, nil
}

// APIVersion is the Stripe API version events must carry.
const APIVersion = stripe.APIVersion
