package edge

import (
	"context"
	"time"
)

// Store is the edge's durable state. Every method that records something
// returns only once it is durable (committed and synced).
type Store interface {
	// CreateToken records a login token (by its hash).
	CreateToken(ctx context.Context, t Token) error
	// PeekToken returns a token that is still usable, without spending it.
	PeekToken(ctx context.Context, hash string, now time.Time) (Token, error)
	// ConsumeToken spends a usable token atomically: of many concurrent
	// calls with the same hash, exactly one succeeds.
	ConsumeToken(ctx context.Context, hash string, now time.Time) (Token, error)

	// Epochs returns every client's session epoch (clients never bumped are absent: epoch 0).
	Epochs(ctx context.Context) (map[string]int64, error)
	// BumpEpoch invalidates every session of a client and returns the new epoch.
	BumpEpoch(ctx context.Context, clientID string) (int64, error)

	// RecordLogin records a login (a contact's, or a delegate's with Staff set).
	RecordLogin(ctx context.Context, l Login) error
	// Activity lists what is known about each contact: invited, joined, last login.
	Activity(ctx context.Context) ([]ContactActivity, error)
	// Delegations lists delegate logins, newest first.
	Delegations(ctx context.Context, limit int) ([]Login, error)

	// SessionKeys returns the HMAC keys sessions are signed with, making
	// one when there is none or the newest is older than rotateAfter.
	SessionKeys(ctx context.Context, now time.Time, rotateAfter time.Duration) ([]SessionKey, error)

	Close() error
}

// Token purposes.
const (
	TokenLogin    = "login"
	TokenDelegate = "delegate"
)

// Token is a single-use login link. Only its SHA-256 is stored.
type Token struct {
	Hash     string // hex SHA-256 of the secret in the link
	Purpose  string // TokenLogin or TokenDelegate
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

// SessionKey is an HMAC key for session cookies.
type SessionKey struct {
	ID      string
	Secret  []byte
	Created time.Time
}
