package edge

import (
	"context"
	"fmt"
	"time"
)

// Checkout is the payment provider: Stripe Checkout, behind this interface
// so the edge does not depend on Stripe's library (the adapter is
// edge/stripepay).
type Checkout interface {
	// CreateSession makes a hosted payment page for one amount.
	CreateSession(ctx context.Context, r CheckoutRequest) (CheckoutSession, error)
	// CreateCustomer makes the client's customer at the provider (once per
	// client: the edge records it); the same IdempotencyKey gives the same one.
	CreateCustomer(ctx context.Context, r CustomerRequest) (string, error)
	// EndSubscription makes a subscription end at the end of its current
	// period (a subscription with a number of periods, its last one paid).
	EndSubscription(ctx context.Context, ref string) error
	// PortalSession opens the provider's page where a customer updates
	// their payment method or cancels a subscription, and returns its URL.
	PortalSession(ctx context.Context, customer, returnURL string) (string, error)
	// ParseWebhook verifies a webhook's signature (and its age) and decodes
	// it. An event of another API version is an *APIVersionError.
	ParseWebhook(payload []byte, signature string) (WebhookEvent, error)
}

// CheckoutRequest is a payment to ask for.
type CheckoutRequest struct {
	ClientID    string
	Kind        string // events.ForInvoice or events.ForDeposit
	Document    string // invoice or quote number
	Description string // shown on the payment page: "Invoice INV-2001 — Spring cleanup"
	Email       string // prefilled, and where Stripe sends its own receipt
	Amount      int64  // minor units
	Currency    string // ISO 4217
	SuccessURL  string
	CancelURL   string
	// IdempotencyKey makes a retried or doubled request return the same session.
	IdempotencyKey string
	ExpiresAt      time.Time
	// Recurring, when set, makes it a subscription (Kind
	// events.ForSubscription): Amount is charged every period, from the
	// first, on Customer.
	Recurring *Recurring
	Customer  string
}

// Recurring is a subscription's period: Stripe's interval (day, week,
// month, year) and interval count.
type Recurring struct {
	Interval string
	Count    int64
}

// CustomerRequest is a customer to make for a client.
type CustomerRequest struct {
	ClientID, Name, Email string
	IdempotencyKey        string
}

// CheckoutSession is a made payment page.
type CheckoutSession struct {
	ID        string
	URL       string
	ExpiresAt time.Time
}

// Webhook event types the edge acts on.
const (
	EventSessionCompleted     = "checkout.session.completed"
	EventAsyncPaymentSucceded = "checkout.session.async_payment_succeeded"
	EventAsyncPaymentFailed   = "checkout.session.async_payment_failed"
	EventSessionExpired       = "checkout.session.expired"
	EventInvoicePaid          = "invoice.paid"
	EventInvoiceFailed        = "invoice.payment_failed"
	EventSubscriptionUpdated  = "customer.subscription.updated"
	EventSubscriptionDeleted  = "customer.subscription.deleted"
)

// WebhookEvent is a verified event from the payment provider.
type WebhookEvent struct {
	ID           string
	Type         string
	Created      time.Time
	Session      *SessionObject      // for checkout.session.* events
	Invoice      *InvoiceObject      // for invoice.* events
	Subscription *SubscriptionObject // for customer.subscription.* events
}

// SessionObject is the Checkout Session an event is about.
type SessionObject struct {
	ID            string
	PaymentStatus string // "paid", "unpaid", "no_payment_required"
	AmountTotal   int64
	Currency      string // ISO 4217, upper case
	Metadata      map[string]string
	PaymentIntent string
	Method        string // the payment method type when known
	Mode          string // "payment" or "subscription"
	Subscription  string // mode subscription: the subscription's id
	Customer      string // the customer's id, when there is one
}

// InvoiceObject is the invoice of one period of a subscription.
type InvoiceObject struct {
	ID            string
	Subscription  string
	Customer      string
	AmountPaid    int64
	AmountDue     int64
	Currency      string            // upper case
	Metadata      map[string]string // the subscription's metadata when the invoice was made
	PeriodStart   time.Time         // the period it bills (its subscription line's)
	PaymentIntent string
}

// SubscriptionObject is a subscription as an event tells it.
type SubscriptionObject struct {
	ID       string
	Customer string
	Status   string // Stripe's: active, past_due, unpaid, canceled, incomplete, ...
	Metadata map[string]string
}

// APIVersionError is an event sent with another API version than the one
// the edge is built for: its objects might be read wrongly, so it is
// refused (and logged loudly) rather than applied.
type APIVersionError struct {
	EventID, Got, Want string
}

func (e *APIVersionError) Error() string {
	return fmt.Sprintf("webhook event %s has API version %s; hub expects %s: set the webhook endpoint's API version to %s in the Stripe dashboard", e.EventID, e.Got, e.Want, e.Want)
}
