package edge

import "context"

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Message is an email with a text and an HTML body.
type Message struct {
	FromName string // display name; the address is the mailer's
	ReplyTo  string
	To       []Address
	Subject  string
	Text     string
	HTML     string
	// Links are the message's links, for the local outbox to print so a
	// developer can click them. Real mailers ignore them; nothing logs them.
	Links []string
}

// Address is a recipient.
type Address struct{ Name, Email string }
