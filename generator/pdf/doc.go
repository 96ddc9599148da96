// Package pdf renders business documents (quotes, invoices, receipts,
// statements) as paged, branded PDF files.
//
// It knows nothing of the content model or the theme: the generator fills a
// Doc with text already formatted for the locale, and Render lays it out on
// A4 or US Letter with codeberg.org/go-pdf/fpdf. The same Doc always gives
// the same bytes (the creation date comes from the Doc), so a PDF can be
// cached by the hash of its Doc (Doc.Key).
package pdf

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Version changes whenever Render's output for the same Doc changes; it is
// part of every Doc's key.
const Version = "hub-pdf-3"

// Paper sizes.
const (
	A4     = "A4"
	Letter = "Letter"
)

// Business is who issues the document: the letterhead and the footer.
type Business struct {
	Name    string
	Address []string
	Phone   string
	Email   string
	Website string // for display ("greenleaf.example")
	// Logo is a PNG or JPEG image (LogoType "png" or "jpg"); without one
	// the name is printed in the brand colour. LogoSum identifies it in the
	// key so the bytes need not be hashed again for every document.
	Logo     []byte `json:"-"`
	LogoType string
	LogoSum  string
	// Colours, "#rrggbb": Ink for brand text on white (contrast-adjusted),
	// Fill for table headings, OnFill for text on Fill, Soft for tinted panels.
	Ink, Fill, OnFill, Soft string
}

// Party is the client the document is addressed to.
type Party struct {
	Label string // "Bill to", "Prepared for"
	Lines []string
}

// Field is a labelled value.
type Field struct{ Label, Value string }

// Column is a table column: its heading, share of the width and alignment.
type Column struct {
	Head  string
	Width float64 // share of the table width; the shares need not add up to 1
	Right bool
}

// Row is a table row. Sub is plain text printed under the first cell
// (a line item's description); Tag a short note after it ("Optional").
type Row struct {
	Cells  []string
	Sub    string
	Tag    string
	Muted  bool // printed grey: an optional line that is not included
	Strong bool // printed bold: a total row
}

// Table is a titled table; its heading is repeated on every page it spans.
type Table struct {
	Title   string
	Note    string // a line of small text before the table
	Columns []Column
	Rows    []Row
}

// Section is a titled block of text (notes, terms, how to pay): Text as
// plain text, or Lines when it has bold or italic words.
type Section struct {
	Title string
	Text  string
	Lines []Line `json:",omitempty"` // when set, Text is not printed
}

// Line is a line of rich text; an empty Line is a paragraph break.
type Line []Span

// Span is a run of text in one style.
type Span struct {
	Text         string
	Bold, Italic bool
}

// Acceptance is the block a client signs on a quote: lines for a
// signature, the name and the date, filled once the quote is approved.
type Acceptance struct {
	Text      string // what signing means
	Signature []byte // a drawn signature (PNG), when approved
	Name      string // printed on the name line, when approved
	Date      string // printed on the date line, when approved
}

// Remittance is the slip at the foot of a statement that a client returns
// with a payment: who pays, what is due, whom to pay.
type Remittance struct {
	Fields []Field
	PayTo  []string // "Make checks payable to ...", the address lines
}

// Doc is one document to render.
type Doc struct {
	Kind     string // "Invoice", "Quote", "Receipt", "Statement": the big title
	Number   string // "INV-2001"; printed after Kind and in the running header
	Subject  string
	Status   string // "Paid", "Past due"; "" for none
	Paper    string // A4 or Letter
	Lang     string // "en-US", for the PDF's /Lang
	Date     time.Time
	Business Business
	To       Party
	Facts    []Field
	// Highlight is the figure that matters most ("Balance due", "Amount
	// paid"), shown in a tinted panel; Detail follows it in small type.
	Highlight *Field
	Detail    string
	Tables    []Table
	Totals    []Row // label and amount; Strong rows are ruled and bold
	After     []Table
	Sections  []Section
	// Signature is a drawn signature (PNG) printed after the sections,
	// above SignatureLabel (the signer's name and date).
	Signature      []byte
	SignatureLabel string
	Acceptance     *Acceptance // a quote's signature block
	Remittance     *Remittance // a statement's tear-off slip, at the foot of the last page
	Closing        string      // a last line: "Thank you for your payment."
}

// Key identifies the output of Render for d: equal keys, equal bytes.
func (d *Doc) Key() string {
	h := sha256.New()
	h.Write([]byte(Version + "\n"))
	json.NewEncoder(h).Encode(d) // a Doc has nothing JSON cannot encode
	return hex.EncodeToString(h.Sum(nil))[:32]
}
