package events

import (
	"strings"
	"time"
)

// Send is a document emailed to a contact (hub send): the first line of
// the document's history ("Sent Nov 16").
type Send struct {
	Doc   string // DocKey: "quote/Q-1002", "invoice/INV-2001"
	Email string // the contact it went to, lower case
	At    time.Time
}

// FirstView is a contact's first view of a document in the hub ("Viewed
// by Dana Nov 17"). Later views are activity staff see (hub activity),
// not facts: they do not change the client's pages.
type FirstView struct {
	Doc   string // DocKey: "quote/Q-1002", "invoice/INV-2001", "receipt/INV-2001-P3"
	Email string // lower case
	At    time.Time
}

// Document kinds with a history.
const (
	DocQuote   = "quote"
	DocInvoice = "invoice"
	DocReceipt = "receipt"
)

// DocKey names a document in Send and FirstView: its kind and its number
// (as written: the number's case is kept, compare with strings.EqualFold).
func DocKey(kind, number string) string { return kind + "/" + number }

// BundleDoc gives the DocKey of the document a path in a client's bundle
// belongs to ("quotes/Q-1002/", "quotes/Q-1002/Q-1002.pdf" → quote/Q-1002;
// invoices, receipts alike), false for any other path.
func BundleDoc(p string) (string, bool) {
	folder, rest, ok := strings.Cut(p, "/")
	if !ok {
		return "", false
	}
	number, _, ok := strings.Cut(rest, "/")
	if !ok || number == "" {
		return "", false
	}
	switch folder {
	case "quotes":
		return DocKey(DocQuote, number), true
	case "invoices":
		return DocKey(DocInvoice, number), true
	case "receipts":
		return DocKey(DocReceipt, number), true
	}
	return "", false
}
