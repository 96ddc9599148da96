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
	// Charge charges a saved card while the client is away (off-session):
	// the same IdempotencyKey gives the same PaymentIntent. A card that
	// needs the client (authentication) or is declined is a ChargeResult
	// saying so, not an error; an error is a charge that could not be asked.
	Charge(ctx context.Context, r ChargeRequest) (ChargeResult, error)
	// DetachCard removes a saved payment method from its customer.
	DetachCard(ctx context.Context, paymentMethod string) error
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
	// SaveCard (with Customer) keeps the card on the customer for later
	// invoices (setup_future_usage off_session).
	SaveCard bool
	// TrialEnd or BillingAnchor, when set (subscriptions with a start date
	// to come), is when the first period is charged rather than at once:
	// TrialEnd (a trial until then; Stripe's Checkout wants it 48 hours
	// ahead at least), else BillingAnchor (the billing cycle anchored
	// there, nothing prorated before it).
	TrialEnd, BillingAnchor time.Time
}

// ChargeRequest is a charge of a saved card for an invoice.
type ChargeRequest struct {
	ClientID, Document, Description, Email string
	Customer, PaymentMethod                string
	Amount                                 int64
	Currency                               string
	IdempotencyKey                         string
}

// Charge outcomes (ChargeResult.Status).
const (
	ChargeSucceeded      = "succeeded"
	ChargeProcessing     = "processing"
	ChargeRequiresAction = "requires_action" // the bank wants the client: they pay by hand
	ChargeDeclined       = "declined"
)

// ChargeResult is what a charge did.
type ChargeResult struct {
	ID     string // the PaymentIntent's id ("" when the provider made none)
	Status string // a Charge* outcome
	Reason string // why it failed, in the provider's words ("Your card was declined.")
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
	EventCardAttached         = "payment_method.attached"
	EventCardDetached         = "payment_method.detached"
	EventIntentSucceeded      = "payment_intent.succeeded"
	EventIntentProcessing     = "payment_intent.processing"
	EventIntentFailed         = "payment_intent.payment_failed"
)

// MetaAuto is the metadata key (value "true") of a PaymentIntent the edge
// made to charge a saved card: its events are the charge's.
const MetaAuto = "auto"

// WebhookEvent is a verified event from the payment provider.
type WebhookEvent struct {
	ID           string
	Type         string
	Created      time.Time
	Session      *SessionObject      // for checkout.session.* events
	Invoice      *InvoiceObject      // for invoice.* events
	Subscription *SubscriptionObject // for customer.subscription.* events
	Card         *CardObject         // for payment_method.* events
	Intent       *IntentObject       // for payment_intent.* events
}

// CardObject is a payment method as an event tells it.
type CardObject struct {
	ID       string
	Customer string // the customer it is (or, detached, was) attached to
	Type     string // "card", ...
	Brand    string
	Last4    string
	ExpMonth int
	ExpYear  int
}

// IntentObject is a PaymentIntent as an event tells it.
type IntentObject struct {
	ID       string
	Status   string
	Amount   int64
	Currency string // upper case
	Customer string
	Method   string // the payment method's id
	Metadata map[string]string
	Reason   string // the last error's message, when it failed
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
