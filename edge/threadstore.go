package edge

import (
	"context"
	"time"

	"github.com/hubhq/hub/generator/events"
)

// ThreadStore keeps the conversations between clients and the business.
// It is part of Store.
type ThreadStore interface {
	// RecordMessage records a message (a contact's or staff's) with the
	// emails that report it, and queues the client's rebuild, in one
	// durable write; a nonce recorded before makes it a duplicate (true)
	// that changes nothing.
	RecordMessage(ctx context.Context, clientID, nonce string, m events.Message, mail []Message) (dup bool, err error)
	// Messages lists messages, newest first: one client's, or every
	// client's when clientID is "" (staff's listing; the upload sweep).
	Messages(ctx context.Context, clientID string, limit int) ([]MessageRecord, error)
	// Thread returns a thread's newest messages (at most limit), oldest first.
	Thread(ctx context.Context, clientID, thread string, limit int) ([]events.Message, error)
	// MarkRead records that a contact read a thread up to at; a marker
	// only moves forward.
	MarkRead(ctx context.Context, clientID, email, thread string, at time.Time) error
	// ReadMarks returns a contact's markers, by thread.
	ReadMarks(ctx context.Context, clientID, email string) (map[string]time.Time, error)
}

// MessageRecord is a message and its client.
type MessageRecord struct {
	events.Message
	ClientID string
}
