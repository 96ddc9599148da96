package edge

import (
	"context"
	"time"
)

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Message is an email with a text and an HTML body.
type Message struct {
	// ID is the Message-ID (without angle brackets), fixed when the email is
	// queued so that a resend after a crash is recognisably the same email.
	ID       string
	FromName string // display name; the address is the mailer's
	ReplyTo  string
	To       []Address
	Subject  string
	Text     string
	HTML     string
	// Links are the message's links, for the local outbox to print so a
	// developer can click them. Real mailers ignore them; nothing logs them.
	Links []string
	// Secret marks an email holding a sign-in link: the outbox forgets its
	// body once it is sent or failed.
	Secret bool `json:",omitempty"`
	// NotBefore, when set, holds a queued email until then (an approval's,
	// until the rebuild that gives its totals rewrites it). Not stored in the body.
	NotBefore time.Time `json:"-"`
}

// Address is a recipient.
type Address struct{ Name, Email string }

// Outbox states.
const (
	MailQueued = "queued"
	MailSent   = "sent"
	MailFailed = "failed"
)

// MailQueue is the outbox the edge sends email from. Facts' emails are
// queued by the Record methods, in the transaction of the fact; QueueMail
// queues the others (login links) in a write of their own. It is part of Store.
type MailQueue interface {
	// QueueMail queues messages (each with its ID set); an ID queued before is kept.
	QueueMail(ctx context.Context, now time.Time, msgs ...Message) error
	// ClaimMail claims up to limit queued emails whose next attempt is at
	// or before now, oldest first: each one's attempt is counted and its
	// next attempt set to now+lease before it is returned, so of several
	// edges sending from one outbox exactly one attempts each email, and
	// an edge killed while sending leaves the email to be sent again once
	// the lease lapses (with the same Message-ID).
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]QueuedMail, error)
	// NextMailDue is when the earliest queued email is due (false: none queued).
	NextMailDue(ctx context.Context) (time.Time, bool, error)
	// RewriteMail replaces the bodies of emails still queued and never
	// attempted (same IDs), and makes them due now.
	RewriteMail(ctx context.Context, now time.Time, msgs ...Message) error
	// MarkMail records an attempt's outcome.
	MarkMail(ctx context.Context, id string, u MailUpdate) error
}

// QueuedMail is an email in the outbox.
type QueuedMail struct {
	Message
	Recipients string // the recipients' addresses, for lists
	Status     string // MailQueued, MailSent or MailFailed
	Attempts   int
	Next       time.Time // the next attempt (queued)
	Created    time.Time
	Done       time.Time // when it was sent or given up
	Error      string    // the last attempt's error
}

// MailUpdate is what an attempt to send did.
type MailUpdate struct {
	Status   string
	Attempts int
	Next     time.Time
	At       time.Time
	Error    string
}
