package events

import (
	"regexp"
	"strings"
	"time"
)

// MaxMessage is the longest message body kept, in characters.
const MaxMessage = 5000

// GeneralThread is the thread of the client's Messages page.
const GeneralThread = "general"

// Message is one message of a conversation between a client and the
// business: written by a contact in the hub (Email set), or by staff
// (Staff set: with hub reply, or by replying to the notice email).
type Message struct {
	ID     string // "M-…", unique
	Thread string // GeneralThread, "quote/Q-1002", "invoice/INV-2001", "request/R-7KQ3XM", "portal/<slug>"
	Email  string // the contact who wrote it, lower case; "" for staff
	Staff  string // who wrote it for the business; "" for a contact
	Body   string // plain text, at most MaxMessage characters
	Files  []Photo
	At     time.Time
}

// FromStaff tells whether the business wrote the message.
func (m Message) FromStaff() bool { return m.Email == "" }

// MessageRead is the last time a contact read a thread.
type MessageRead struct {
	Email  string // lower case
	Thread string
	At     time.Time
}

var threadRE = regexp.MustCompile(`^(general|(quote|invoice|request|portal)/[A-Za-z0-9][A-Za-z0-9._-]{0,79})$`)

// ValidThread tells whether t names a thread: GeneralThread or
// "<kind>/<name>" with kind quote, invoice, request or portal.
func ValidThread(t string) bool { return threadRE.MatchString(t) && !strings.Contains(t, "..") }

// ThreadPath is where a thread is shown, inside the client's bundle
// ("quotes/Q-1002/#messages"; a request's thread is on the requests page,
// under the request). "" for a thread that is not valid.
func ThreadPath(t string) string {
	if !ValidThread(t) {
		return ""
	}
	kind, name, _ := strings.Cut(t, "/")
	switch kind {
	case "quote":
		return "quotes/" + name + "/#messages"
	case "invoice":
		return "invoices/" + name + "/#messages"
	case "portal":
		return "portals/" + name + "/#messages"
	case "request":
		return "requests/#" + name
	}
	return "messages/#messages"
}
