package edge

import (
	"context"
	"time"

	"github.com/hubhq/hub/generator/events"
)

// Store is what the edge server needs of its durable state: the parts
// below, each documented with its guarantees. Every method that records
// something returns only once it is durable (committed and synced), and
// every guarantee holds for any number of edges sharing one store. The
// adapters (edge/sqlstore, edge/pgstore) implement it, and StaffStore and
// events.Source beside it; edge/storetest checks them against one suite.
type Store interface {
	TokenStore
	SessionStore
	PaymentStore
	SubscriptionStore
	BillingStore
	ResponseStore
	ThreadStore
	PortalUploadStore
	MailQueue
	RebuildQueue
	ViewLog
	SendLog
}

// TokenStore keeps login links, by the hash of their secret. Part of Store.
type TokenStore interface {
	// CreateToken records a login token (by its hash).
	CreateToken(ctx context.Context, t Token) error
	// PeekToken returns a token that is still usable, without spending it.
	PeekToken(ctx context.Context, hash string, now time.Time) (Token, error)
	// ConsumeToken spends a usable token atomically: of many concurrent
	// calls with the same hash (from any number of edges), exactly one
	// succeeds.
	ConsumeToken(ctx context.Context, hash string, now time.Time) (Token, error)
}

// SessionStore is what sessions need of the store: the keys they are
// signed with, the epochs and revocations that end them, and the login
// log. Every edge sharing the store reads the same. Part of Store.
type SessionStore interface {
	// Epochs returns every client's session epoch (clients never bumped are absent: epoch 0).
	Epochs(ctx context.Context) (map[string]int64, error)
	// ContactEpochs returns every contact's session epoch, by client and
	// lower-cased email (contacts never bumped are absent: epoch 0).
	ContactEpochs(ctx context.Context) (map[ContactKey]int64, error)
	// RevokeSession records that a session id may no longer be used (a
	// logout); it is kept until the session would have expired anyway.
	// Revocations that expired before now are deleted.
	RevokeSession(ctx context.Context, r Revocation, now time.Time) error
	// Revocations returns the revocations recorded after seq, in order.
	// A revocation is never given a seq below one already returned (an
	// edge reading concurrently with writers misses none).
	Revocations(ctx context.Context, after int64) ([]Revocation, error)
	// SessionKeys returns the HMAC keys sessions are signed with, newest
	// first, making one when there is none or the newest is older than
	// rotateAfter, and deleting those older than retireAfter (no session
	// they signed can still be valid).
	SessionKeys(ctx context.Context, now time.Time, rotateAfter, retireAfter time.Duration) ([]SessionKey, error)
	// BumpContactEpoch invalidates every session of one contact of a client
	// (every device of that person) and returns the new epoch.
	BumpContactEpoch(ctx context.Context, k ContactKey) (int64, error)
	// RecordLogin records a login (a contact's, or a delegate's with Staff set).
	RecordLogin(ctx context.Context, l Login) error
}

// Token purposes.
const (
	TokenLogin = "login"
	// TokenDocument is the link of an email about a quote or an invoice:
	// it lasts DocTokenTTL, but signs in only within the sign-in lifetime
	// (DefaultTokenTTL) of being made; later it emails the contact a fresh
	// sign-in link to the same document (security: no sign-in link lives
	// longer than 15 minutes).
	TokenDocument = "document"
	TokenDelegate = "delegate"
)

// Token is a single-use login link. Only its SHA-256 is stored.
type Token struct {
	Hash     string // hex SHA-256 of the secret in the link
	Purpose  string // TokenLogin, TokenDocument or TokenDelegate
	Email    string // the contact (login)
	ClientID string // the client to open; "" lets the contact choose
	Staff    string // who asked for a delegate link
	Next     string // bundle path to land on, e.g. "/c/acme/quotes/Q-1/"
	Created  time.Time
	Expires  time.Time
}

// Login is one successful login.
type Login struct {
	Email    string
	ClientID string
	Staff    string // set for delegate logins
	At       time.Time
	IP       string
	UA       string
}

// ContactActivity is what staff see about a contact's use of the hub.
type ContactActivity struct {
	Email     string
	ClientID  string
	Invited   time.Time // the last login email; zero if never
	Joined    time.Time // first login; zero if never
	LastLogin time.Time
	Logins    int
}

// ContactKey names a contact of a client: the client's ID and the
// contact's lower-cased email.
type ContactKey struct {
	Client string
	Email  string
}

// Revocation is a session signed out on the server: its id (the JWT's
// jti) and when it would have expired.
type Revocation struct {
	Seq     int64 // the order it was recorded in (set by the store)
	ID      string
	Expires time.Time
}

// SessionKey is an HMAC key for session cookies.
type SessionKey struct {
	ID      string
	Secret  []byte
	Created time.Time
}

// PaymentStore records online payments and the Stripe events about them.
// It is part of Store.
type PaymentStore interface {
	// CreatePayment records a pending payment: a Checkout Session made for it.
	CreatePayment(ctx context.Context, p PaymentRecord) error
	// OpenPayment finds a pending payment of the same client, document,
	// kind and amount whose Checkout Session is still open after t (a
	// double click reuses it).
	OpenPayment(ctx context.Context, clientID, kind, doc string, amount int64, t time.Time) (PaymentRecord, bool, error)
	// PaymentCount counts the payments ever made for a client's document.
	PaymentCount(ctx context.Context, clientID, doc string) (int, error)
	// Payment returns a payment by its Checkout Session's id.
	Payment(ctx context.Context, id string) (PaymentRecord, error)
	// Settling sums a document's processing and paid payments.
	Settling(ctx context.Context, clientID, doc string) (int64, error)
	// RecordWebhook records a Stripe event and what it did, in one durable
	// write: an event id already recorded is a duplicate and changes
	// nothing; a payment's state only moves forward (events.PaymentRank).
	// When the state moved, mail (if set) gives the emails that report it,
	// queued in the same write.
	RecordWebhook(ctx context.Context, w WebhookRecord, mail func(PaymentRecord) ([]Message, error)) (WebhookResult, error)
}

// PaymentRecord is an online payment as the edge keeps it.
type PaymentRecord struct {
	events.Payment
	ClientID string
	URL      string    // the Checkout Session's page
	Expires  time.Time // when the Checkout Session closes
}

// WebhookRecord is one Stripe event received.
type WebhookRecord struct {
	EventID   string
	Type      string
	Received  time.Time
	PaymentID string // the Checkout Session it is about, "" if none
	To        string // the state it moves the payment to, "" for no change
	Method    string
	Reference string
	Problem   string // why it was refused or ignored, "" when it applied
	// NewPayment is the payment PaymentID names when the event is the first
	// the store hears of it (a subscription's period, known from its
	// invoice's events): recorded as pending if it is not yet, then moved
	// to To like any payment.
	NewPayment *PaymentRecord
	// Sub, when set (and Problem is ""), moves a subscription's billing
	// state in the same write (events.Subscription.Advance).
	Sub *SubscriptionChange
	// Card, when set (and Problem is ""), saves or removes the client's
	// card in the same write (BillingRecord.Apply).
	Card *CardChange
}

// WebhookResult is what recording an event did.
type WebhookResult struct {
	Duplicate bool          // the event id was recorded before: nothing done
	Changed   bool          // the payment's state (or the subscription's) moved
	Payment   PaymentRecord // the payment after the event (when PaymentID is set)
}

// BillingStore keeps what a client saved for paying invoices: the card on
// its Stripe customer (from the webhooks about it) and the autopay choice.
// Part of Store.
type BillingStore interface {
	// Billing returns the client's Stripe customer, saved card and autopay
	// choice (a zero record, without error, when there is none).
	Billing(ctx context.Context, clientID string) (BillingRecord, error)
	// SetAutopay records the client's choice and reports whether it
	// changed; a change is one of the client's facts (its pages are
	// rebuilt). A client without a recorded customer is ENotFound.
	SetAutopay(ctx context.Context, clientID string, on bool, at time.Time) (bool, error)
	// CustomerClient returns the client whose recorded Stripe customer is
	// customer, "" when none is.
	CustomerClient(ctx context.Context, customer string) (string, error)
	// AutopayClients lists the clients with autopay on, by client ID.
	AutopayClients(ctx context.Context) ([]BillingRecord, error)
	// AutoPayments lists the payments the edge charged on a client's saved
	// card for a document (events.Payment.Auto), in any state, oldest first.
	AutoPayments(ctx context.Context, clientID, doc string) ([]PaymentRecord, error)
}

// BillingRecord is a client's Stripe customer, saved card and autopay
// choice as the edge keeps them.
type BillingRecord struct {
	ClientID     string
	Customer     string
	Card         events.Card // the last card an event told of (ID "" when none)
	Removed      bool        // that card was detached
	Autopay      bool
	AutopaySince time.Time
}

// SavedCard is the card a client may pay with now, or nil.
func (b BillingRecord) SavedCard() *events.Card {
	if b.Card.ID == "" || b.Removed {
		return nil
	}
	c := b.Card
	return &c
}

// CardChange is what a payment_method.attached (or .detached) event does
// to the client's saved card: Card is the method (detached: its ID), At
// in Card.At when the event happened.
type CardChange struct {
	ClientID string
	Card     events.Card
	Detached bool
}

// Apply applies a card change unless an event not older than it already
// set the card (Stripe sends events out of order): an attached card is
// shown; a detached one is removed when it is the one shown, or, when no
// card is shown, remembered as removed (so its attachment, arriving late,
// changes nothing); at equal times removing wins. It reports whether the
// card the client may pay with changed.
func (b *BillingRecord) Apply(ch CardChange) bool {
	at := ch.Card.At
	if at.Before(b.Card.At) {
		return false
	}
	before := b.SavedCard()
	switch {
	case ch.Detached && (ch.Card.ID == b.Card.ID || b.SavedCard() == nil):
		b.Card, b.Removed = events.Card{ID: ch.Card.ID, At: at}, true
	case ch.Detached:
		return false // another card than the one shown
	case at.Equal(b.Card.At) && b.Removed && ch.Card.ID == b.Card.ID:
		return false
	default:
		b.Card, b.Removed = ch.Card, false
	}
	after := b.SavedCard()
	return (before == nil) != (after == nil) || (before != nil && *before != *after)
}

// ResponseStore records what clients send through the hub's forms. Each
// Record method takes the form's nonce: a nonce recorded before makes the
// call a duplicate (true) that changes nothing; and the emails that report
// the fact, queued in the outbox in the same transaction. It is part of Store.
type ResponseStore interface {
	// RecordApproval records a quote's approval; a quote approved before is a conflict.
	RecordApproval(ctx context.Context, clientID, nonce string, a events.Approval, mail []Message) (dup bool, err error)
	// RecordChangeRequest records a request for changes to a quote not yet approved.
	RecordChangeRequest(ctx context.Context, clientID, nonce string, c events.ChangeRequest, mail []Message) (dup bool, err error)
	// RecordRequest records a work request (its photos already stored).
	RecordRequest(ctx context.Context, clientID, nonce string, r events.Request, mail []Message) (dup bool, err error)
	// Requests lists work requests, newest first; status "" lists all.
	Requests(ctx context.Context, status string, limit int) ([]RequestRecord, error)
	// CreatePending records a person who sent a request through the public
	// form; an email recorded before returns that pending client (false).
	CreatePending(ctx context.Context, pc events.PendingClient) (events.PendingClient, bool, error)
}

// RequestRecord is a work request and its client.
type RequestRecord struct {
	events.Request
	ClientID string
}

// StaffStore is what staff commands and reports read and change, beside
// what the edge server does. The adapters implement it.
type StaffStore interface {
	SessionStore
	ActivityLog
	// BumpEpoch invalidates every session of a client and returns the new epoch.
	BumpEpoch(ctx context.Context, clientID string) (int64, error)
	// Delegations lists delegate logins, newest first.
	Delegations(ctx context.Context, limit int) ([]Login, error)
	// Payments lists payments, newest first.
	Payments(ctx context.Context, limit int) ([]PaymentRecord, error)
	// Subscriptions lists the subscriptions started online (pending ones
	// included), by client and number.
	Subscriptions(ctx context.Context) ([]SubscriptionRecord, error)
	// WebhookProblems lists events that were refused or did not match, newest first.
	WebhookProblems(ctx context.Context, limit int) ([]WebhookRecord, error)
	Request(ctx context.Context, id string) (RequestRecord, error)
	SetRequestStatus(ctx context.Context, id, status string) error
	// Mails lists the outbox, newest first; status "" lists all.
	Mails(ctx context.Context, status string, limit int) ([]QueuedMail, error)
	// MailCounts counts the outbox's emails by status.
	MailCounts(ctx context.Context) (map[string]int, error)
	// ClaimMailByID claims one queued email that is due, as ClaimMail
	// does (false: it is not queued, or not due, or another sender has
	// it): staff commands send the emails they queue at once.
	ClaimMailByID(ctx context.Context, id string, now time.Time, lease time.Duration) (QueuedMail, bool, error)
	// Rebuilds lists the clients waiting for a rebuild, and why (the last
	// attempt's error), oldest first.
	Rebuilds(ctx context.Context) ([]RebuildJob, error)
	// Views lists the document views recorded for a client ("" for every
	// client), by client, then most recent last view first.
	Views(ctx context.Context, client string) ([]View, error)
}
