// Package events is the format of the dynamic facts the edge records
// (payments, quote approvals, change requests, work requests) and the
// generator folds into a client's pages. It is shared data, not behaviour:
// the edge writes it, the generator reads it, neither imports the other.
package events

import (
	"context"
	"fmt"
	"time"
)

// Source gives the generator what the edge recorded.
type Source interface {
	// Versions returns, for every client with recorded facts, a number
	// that changes whenever any of its facts change (clients without facts
	// are absent). A bundle's key includes it, so a new fact rebuilds just
	// that client.
	Versions(ctx context.Context) (map[string]int64, error)
	// Facts returns one client's facts, folded to their current state.
	Facts(ctx context.Context, clientID string) (*Facts, error)
	// Pending lists the people who sent a work request through the public
	// form without being a client yet: each gets a hub of its own until
	// staff add a client folder with the same ID.
	Pending(ctx context.Context) ([]PendingClient, error)
}

// PendingClient is a person who asked for work through the public form.
type PendingClient struct {
	ID      string // a client ID: "new-" + their name + a short hash of the email
	Name    string
	Email   string
	Phone   string
	Address string // as typed, or its parts (see AddressParts)
	At      time.Time
}

// Facts is everything recorded for one client, oldest first in each list.
type Facts struct {
	Payments      []Payment
	Subscriptions []Subscription // started online
	Approvals     []Approval
	Changes       []ChangeRequest
	Requests      []Request
	Messages      []Message   // every thread's, in the order they were written
	Uploads       []Upload    // files clients added to portals, in the order added
	Sends         []Send      // documents emailed to contacts, oldest first
	Views         []FirstView // each contact's first view of each document, oldest first
	// Card is the payment method saved on the client's Stripe customer
	// (nil: none); Autopay whether the client opted in to paying invoices
	// with it on their due dates, since AutopaySince.
	Card         *Card
	Autopay      bool
	AutopaySince time.Time
}

// Card is a saved payment method as the client sees it: never its number.
type Card struct {
	ID       string // Stripe's payment method id ("pm_...")
	Brand    string // "visa", "mastercard", ... (Stripe's names)
	Last4    string
	ExpMonth int
	ExpYear  int
	At       time.Time // when the event that saved it happened (Stripe's time)
}

// Upload is a file a client added to a portal that takes uploads.
type Upload struct {
	ID     string // "U-" and 16 characters
	Portal string // the portal's slug
	Email  string // the contact who added it
	File   Photo  // the file as stored by the edge (Type is its sniffed type)
	At     time.Time
}

// Payment kinds: what a payment is for.
const (
	ForInvoice = "invoice" // the balance (or part of it) of an invoice
	ForDeposit = "deposit" // the deposit of an approved quote
	// ForSubscription is one period of a subscription (a Stripe invoice of
	// it); Document is the subscription's number, Period the period's start.
	ForSubscription = "subscription"
)

// Payment states. They only move forward: pending → processing → paid or
// failed, and paid is final whatever order Stripe's events arrive in.
const (
	PaymentPending    = "pending"    // a Checkout Session was made; nothing paid yet
	PaymentProcessing = "processing" // paid by a method that settles later (bank debit)
	PaymentPaid       = "paid"       // settled: confirmed by a verified webhook
	PaymentFailed     = "failed"     // the delayed payment failed
	PaymentExpired    = "expired"    // the Checkout Session expired unpaid
)

// PaymentRank orders states so that an update never moves one back.
func PaymentRank(state string) int {
	switch state {
	case PaymentPending:
		return 0
	case PaymentExpired:
		return 1
	case PaymentProcessing:
		return 2
	case PaymentFailed:
		return 3
	case PaymentPaid:
		return 4
	}
	return -1
}

// Payment is one online payment (a Stripe Checkout Session).
type Payment struct {
	ID        string // the Checkout Session's id
	Seq       int64  // order of creation for this client: receipts are numbered by it
	Kind      string // ForInvoice or ForDeposit
	Document  string // the invoice or quote number
	Amount    int64  // minor units of Currency
	Currency  string // ISO 4217, upper case
	State     string
	Method    string // "card", "us_bank_account", ... ("" until known)
	Reference string // the PaymentIntent's id
	Email     string // the contact who paid
	Created   time.Time
	Settled   time.Time // when it became paid (or failed); zero before
	Period    time.Time // ForSubscription: the first day of the period it pays; else zero
	// Auto marks an invoice's payment the edge charged on the saved card
	// (autopay, or hub charge) rather than one the client made in Checkout;
	// ID is then the PaymentIntent's id.
	Auto bool
}

// Advance moves the payment to state to, by the method and reference an
// event gives (when it gives them), settled at at if it is now paid or
// failed; but only forward (PaymentRank). It reports whether it moved.
func (p *Payment) Advance(to, method, reference string, at time.Time) bool {
	if to == "" || PaymentRank(to) <= PaymentRank(p.State) {
		return false
	}
	p.State = to
	if method != "" {
		p.Method = method
	}
	if reference != "" {
		p.Reference = reference
	}
	if to == PaymentPaid || to == PaymentFailed {
		p.Settled = at
	}
	return true
}

// ReceiptID names the receipt of a settled payment: the document it paid
// and its place among the client's payments ("INV-2001-P3"; deposits
// "Q-1002-D2"). The generator publishes the receipt there; the edge links
// to it in the receipt email.
func (p Payment) ReceiptID() string {
	switch p.Kind {
	case ForDeposit:
		return fmt.Sprintf("%s-D%d", p.Document, p.Seq)
	case ForSubscription:
		return fmt.Sprintf("%s-S%d", p.Document, p.Seq)
	}
	return fmt.Sprintf("%s-P%d", p.Document, p.Seq)
}

// Approval is a client's approval of a quote: the evidence of what was
// signed.
type Approval struct {
	Quote     string // number
	Version   string // the quote's content version shown (see site.Quote.Version)
	PageSHA   string // hex SHA-256 of the quote page the client saw, from the signed manifest
	Options   []int  // the optional lines chosen (indexes into the quote's lines)
	Name      string // the name typed as a signature
	Signature []byte // the drawn signature as PNG, nil when none was drawn
	Terms     bool   // the client ticked "I accept the terms"
	Email     string // the contact
	IP        string
	UA        string
	At        time.Time
}

// ChangeRequest is a client asking for changes to a quote.
type ChangeRequest struct {
	Quote   string
	Version string // the version the client asked about
	Message string
	Email   string
	At      time.Time
}

// Request statuses.
const (
	RequestNew       = "new"
	RequestImported  = "imported"  // turned into content by hub requests import
	RequestConverted = "converted" // a quote answers it
)

// Request is a work request a client sent.
type Request struct {
	ID       string
	Title    string
	Details  string
	Dates    []string // preferred dates, YYYY-MM-DD
	Time     string   // preferred time of day: "morning", "afternoon", "evening", "any"
	Property string   // the property's ID ("1", "2"...), or an address typed in
	Photos   []Photo
	Email    string
	Name     string
	Phone    string
	Status   string
	At       time.Time
}

// Photo is a picture attached to a request, stored by the edge.
type Photo struct {
	Name string // as uploaded, cleaned
	Type string // "image/jpeg", "image/png", "image/webp", "image/heic"
	Size int64
	SHA  string // hex SHA-256 of the bytes
	Path string // absolute path where the edge keeps it
}

// Billing states of a subscription started online (Stripe's subscription
// status, in the hub's words).
const (
	BillingPending   = "pending"   // a Checkout Session was made; not started yet
	BillingActive    = "active"    // started; the last period was paid
	BillingPastDue   = "past_due"  // a period's payment failed; Stripe retries
	BillingCancelled = "cancelled" // ended: final
)

// Subscription is a subscription started online: its Stripe subscription
// and customer, and where its billing stands.
type Subscription struct {
	Number   string    // the subscription's number in content
	State    string    // a Billing* state
	StateAt  time.Time // when the event that set State happened (Stripe's time)
	Started  time.Time // when it became active first; zero before
	Ref      string    // the Stripe subscription's id
	Customer string    // the Stripe customer's id
	Amount   int64     // each period's amount when it was started, minor units
	Currency string
}

// Advance moves the subscription to state, told by an event that happened
// at at: only if that event is not older than the one that set the state
// now (Stripe sends events out of order), and never away from cancelled,
// which is final. It reports whether the state changed.
func (s *Subscription) Advance(state string, at time.Time) bool {
	if state == "" || state == s.State || s.State == BillingCancelled || (at.Before(s.StateAt) && state != BillingCancelled) {
		return false
	}
	s.State, s.StateAt = state, at
	if state == BillingActive && s.Started.IsZero() {
		s.Started = at
	}
	return true
}
