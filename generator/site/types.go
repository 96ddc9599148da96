// Package site is the content model: the YAML and Markdown files staff keep
// in git, loaded, validated and computed (totals, balances, derived states).
//
// Everything here is pure data plus the rules about it; rendering lives in
// the generator package.
package site

import (
	"time"

	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
)

// Site is a whole content folder, loaded.
type Site struct {
	Dir     string // content folder
	Config  Config
	Clients []*Client // sorted by ID
	Shared  []*Portal // portals shared with every client, sorted by order then title
}

// Config is site.yaml.
type Config struct {
	Name                string   `yaml:"name"`
	Logo                string   `yaml:"logo"`        // path relative to the content folder
	Icon                string   `yaml:"icon"`        // square image for the browser tab; default the logo
	Description         string   `yaml:"description"` // the public pages' meta description
	Address             Address  `yaml:"address"`
	Phone               string   `yaml:"phone"`
	Email               string   `yaml:"email"`
	Website             string   `yaml:"website"`
	Color               string   `yaml:"color"`   // brand colour, #rrggbb
	Cover               string   `yaml:"cover"`   // path relative to the content folder
	Landing             string   `yaml:"landing"` // Markdown shown to visitors who are not logged in
	BaseURL             string   `yaml:"base_url"`
	CurrencyCode        string   `yaml:"currency"`
	LocaleTag           string   `yaml:"locale"`
	TimeZone            string   `yaml:"timezone"`
	Taxes               []Tax    `yaml:"taxes"`
	Settings            Settings `yaml:"settings"`
	PaymentInstructions string   `yaml:"payment_instructions"` // Markdown, shown when paying online is off

	Currency money.Currency `yaml:"-"`
	Locale   money.Locale   `yaml:"-"`
	Location *time.Location `yaml:"-"`
}

// Settings are the business's switches (Jobber's client hub settings).
type Settings struct {
	Hub              *bool `yaml:"hub"`               // the client hub is on (default true)
	Requests         *bool `yaml:"requests"`          // clients may send work requests (default true)
	RequireSignature *bool `yaml:"require_signature"` // approving a quote needs a signature (default true)
	ChangeRequests   *bool `yaml:"change_requests"`   // clients may ask for changes to a quote (default true)
	Deposits         *bool `yaml:"deposits"`          // quotes may ask for a deposit, invoices may be paid in part (default true)
	OnlinePayments   *bool `yaml:"online_payments"`   // pay through Stripe (default true)
	MinimumPayment   Money `yaml:"minimum_payment"`   // smallest partial payment
	Subscriptions    *bool `yaml:"subscriptions"`     // clients see subscriptions and start them online (default true)
	SaveCards        *bool `yaml:"save_cards"`        // a client paying an invoice may save the card (default true)
	Autopay          *bool `yaml:"autopay"`           // a client with a saved card may have invoices charged on their due dates (default true)
}

// CardsOn reports whether clients may save a card: paying online and
// saving cards both on.
func (s Settings) CardsOn() bool { return On(s.OnlinePayments) && On(s.SaveCards) }

// AutopayOn reports whether clients may opt in to autopay.
func (s Settings) AutopayOn() bool { return s.CardsOn() && On(s.Autopay) }

// On reports a switch, defaulting to true when it is not set.
func On(b *bool) bool { return b == nil || *b }

// Tax is a named tax rate that lines and documents refer to by ID.
type Tax struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	Rate Number `yaml:"rate"` // percent
}

// Address is a postal address.
type Address struct {
	Label      string `yaml:"label"` // e.g. "Lake house"; for properties
	Street     string `yaml:"street"`
	Street2    string `yaml:"street2"`
	City       string `yaml:"city"`
	Region     string `yaml:"region"`
	PostalCode string `yaml:"postal_code"`
	Country    string `yaml:"country"`
}

// IsZero reports whether no part of the address is set.
func (a Address) IsZero() bool { return a == Address{} }

// Lines returns the address as lines for display.
func (a Address) Lines() []string {
	var out []string
	for _, s := range []string{a.Street, a.Street2} {
		if s != "" {
			out = append(out, s)
		}
	}
	city := a.City
	if a.Region != "" {
		if city != "" {
			city += ", "
		}
		city += a.Region
	}
	if a.PostalCode != "" {
		if city != "" {
			city += " "
		}
		city += a.PostalCode
	}
	if city != "" {
		out = append(out, city)
	}
	if a.Country != "" {
		out = append(out, a.Country)
	}
	return out
}

// Client is clients/<id>/client.yaml and everything in that folder.
type Client struct {
	ID             string    `yaml:"-"` // the folder name
	Name           string    `yaml:"name"`
	Company        string    `yaml:"company"`
	Language       string    `yaml:"language"`
	Contacts       []Contact `yaml:"contacts"`
	BillingAddress Address   `yaml:"billing_address"`
	Properties     []Address `yaml:"properties"`

	Dir      string           `yaml:"-"`
	File     string           `yaml:"-"`
	Quotes   []*Quote         `yaml:"-"` // sorted by issued date, newest first
	Invoices []*Invoice       `yaml:"-"` // sorted by issued date, newest first
	Subs     []*Subscription  `yaml:"-"` // subscriptions, sorted by start date, newest first
	Portals  []*Portal        `yaml:"-"` // this client's own portals
	Requests []events.Request `yaml:"-"` // work requests sent through the hub (see Fold), oldest first
	Messages []events.Message `yaml:"-"` // messages of every thread (see Fold), in the order written
	Uploads  []events.Upload  `yaml:"-"` // files the client added to its portals (see Fold), in the order added
	// Documents emailed and contacts' first views of them (see Fold),
	// oldest first: the documents' histories.
	Sends []events.Send      `yaml:"-"`
	Views []events.FirstView `yaml:"-"`
	// Card is the card the client saved for paying invoices, and Autopay
	// whether it opted in (since AutopaySince) to their being charged to
	// it on their due dates (see Fold).
	Card         *events.Card `yaml:"-"`
	Autopay      bool         `yaml:"-"`
	AutopaySince time.Time    `yaml:"-"`
}

// DisplayName is the company when there is one, else the name.
func (c *Client) DisplayName() string {
	if c.Company != "" {
		return c.Company
	}
	return c.Name
}

// Contact is a person who may log in to a client's hub.
type Contact struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	Phone string `yaml:"phone"`
}

// Line is one line item of a quote or an invoice.
type Line struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"` // Markdown
	Quantity    Number `yaml:"quantity"`    // default 1
	Unit        string `yaml:"unit"`        // "hours", "m²"; optional
	UnitPrice   Money  `yaml:"unit_price"`
	Tax         string `yaml:"tax"`      // tax ID, "none", or "" for the document's
	Optional    bool   `yaml:"optional"` // the client may choose it (quotes)
	Selected    *bool  `yaml:"selected"` // for optional lines: chosen by default?
}

// Discount is taken off a document's subtotal: a percentage or a fixed amount.
type Discount struct {
	Description string `yaml:"description"`
	Percent     Number `yaml:"percent"`
	Amount      Money  `yaml:"amount"`
}

// Deposit is what a quote asks to be paid on approval.
type Deposit struct {
	Percent Number `yaml:"percent"`
	Amount  Money  `yaml:"amount"`
}

// Payment is a payment already received, entered by staff.
type Payment struct {
	Date      Date   `yaml:"date"`
	Amount    Money  `yaml:"amount"`
	Method    string `yaml:"method"` // "check", "bank transfer", "cash", "card"
	Reference string `yaml:"reference"`
}

// Quote statuses.
const (
	QuoteDraft            = "draft"
	QuoteAwaitingResponse = "awaiting_response"
	QuoteApproved         = "approved"
	QuoteChangesRequested = "changes_requested"
	QuoteConverted        = "converted"
	QuoteArchived         = "archived"
)

// Invoice statuses as written in content; past due is derived.
const (
	InvoiceDraft           = "draft"
	InvoiceAwaitingPayment = "awaiting_payment"
	InvoicePaid            = "paid"
	InvoiceBadDebt         = "bad_debt"
	InvoicePastDue         = "past_due" // derived, never written
)

// Quote is clients/<id>/quotes/*.yaml.
type Quote struct {
	Number     string     `yaml:"number"`
	Title      string     `yaml:"title"`
	Status     string     `yaml:"status"`
	Issued     Date       `yaml:"issued"`
	ValidUntil Date       `yaml:"valid_until"`
	Request    string     `yaml:"request"`  // the work request this answers
	Portal     string     `yaml:"portal"`   // the client's portal (slug) whose Billing lists it
	Property   *int       `yaml:"property"` // index into the client's properties
	Tax        string     `yaml:"tax"`      // default tax ID for its lines
	Lines      []Line     `yaml:"lines"`
	Discounts  []Discount `yaml:"discounts"`
	Deposit    *Deposit   `yaml:"deposit"`
	Notes      string     `yaml:"notes"` // Markdown
	Terms      string     `yaml:"terms"` // Markdown

	File       string       `yaml:"-"`
	Version    string       `yaml:"-"` // hash of the quote's file: changes whenever staff change the quote
	Totals     Totals       `yaml:"-"`
	DepositDue money.Amount `yaml:"-"`
	Expired    bool         `yaml:"-"` // awaiting response past valid_until

	// Folded in from what the edge recorded (see Fold).
	Approval        *events.Approval
	Chosen          map[int]bool           // the optional lines as approved (index → chosen); nil: staff's defaults
	Changes         []events.ChangeRequest // requests for changes, oldest first
	DepositPayments []events.Payment       // online deposit payments, processing or paid
	DepositPaid     money.Amount           // settled deposit payments
	DepositPending  money.Amount           // deposit payments still processing
}

// Invoice is clients/<id>/invoices/*.yaml.
type Invoice struct {
	Number    string     `yaml:"number"`
	Subject   string     `yaml:"subject"`
	Status    string     `yaml:"status"`
	Issued    Date       `yaml:"issued"`
	Due       Date       `yaml:"due"`
	Quote     string     `yaml:"quote"`  // number of the quote it came from
	Portal    string     `yaml:"portal"` // the client's portal (slug) whose Billing lists it
	Tax       string     `yaml:"tax"`
	Lines     []Line     `yaml:"lines"`
	Discounts []Discount `yaml:"discounts"`
	Payments  []Payment  `yaml:"payments"`
	Notes     string     `yaml:"notes"` // Markdown

	File    string       `yaml:"-"`
	Totals  Totals       `yaml:"-"`
	Paid    money.Amount `yaml:"-"` // sum of payments, online ones included
	Balance money.Amount `yaml:"-"` // total - paid (negative: paid too much, a credit)
	State   string       `yaml:"-"` // effective status: awaiting_payment, past_due, paid, ...

	// Folded in from what the edge recorded (see Fold).
	Online []events.Payment // online payments, paid or processing, oldest first
	// AutopayFailed: a charge of the saved card for it did not go through
	// (the client pays it by hand; autopay does not try again).
	AutopayFailed bool
	Processing    money.Amount // paid online by a method that has not settled yet
}

// Subscription statuses as written in content; "ended" is derived.
const (
	SubscriptionDraft     = "draft"
	SubscriptionActive    = "active"
	SubscriptionPaused    = "paused"
	SubscriptionCancelled = "cancelled"
	SubscriptionEnded     = "ended" // derived: active, past its last period
)

// Billing intervals of subscriptions.
const (
	IntervalWeek    = "week"
	IntervalMonth   = "month"
	IntervalQuarter = "quarter"
	IntervalYear    = "year"
)

// Subscription is clients/<id>/subscriptions/*.yaml: recurring billing,
// the same line items every period.
type Subscription struct {
	Number    string     `yaml:"number"`
	Title     string     `yaml:"title"`
	Status    string     `yaml:"status"`
	Interval  string     `yaml:"interval"` // week, month, quarter, year
	Every     int        `yaml:"every"`    // interval count: every 2 weeks (default 1)
	Start     Date       `yaml:"start"`    // the first period's first day (its charge date)
	End       Date       `yaml:"end"`      // optional: no period starts after it
	Periods   int        `yaml:"periods"`  // optional: how many periods in all (not with end)
	Tax       string     `yaml:"tax"`
	Lines     []Line     `yaml:"lines"`
	Discounts []Discount `yaml:"discounts"`
	Notes     string     `yaml:"notes"`  // Markdown
	Portal    string     `yaml:"portal"` // the client's portal (slug) whose Billing lists it

	File   string    `yaml:"-"`
	Totals Totals    `yaml:"-"` // of one period
	State  string    `yaml:"-"` // the status a client sees: the written one, or "ended"
	Next   time.Time `yaml:"-"` // the next charge, on or after today; zero when none
	NextK  int       `yaml:"-"` // the next charge's period, from 0
	Soon   bool      `yaml:"-"` // the next charge is within SoonDays
	// Billing is the subscription as started online (from the recorded
	// facts), nil when it was not; Periods its periods' payments, paid or
	// failed, oldest first.
	Billing  *events.Subscription `yaml:"-"`
	Payments []events.Payment     `yaml:"-"`
}

// Portal is a project, client or shared portal: portal.md and its folder.
type Portal struct {
	Slug  string `yaml:"-"` // folder name
	Title string `yaml:"title"`
	Kind  string `yaml:"kind"`  // "project" (default) or "client"; shared portals live in portals/
	Cover string `yaml:"cover"` // file in the portal folder
	// CoverWidth and CoverHeight are the cover image's size, 0 when not known.
	CoverWidth, CoverHeight int     `yaml:"-"`
	Order                   int     `yaml:"order"`
	Links                   []Link  `yaml:"links"`
	Embeds                  []Embed `yaml:"embeds"`
	Summary                 string  `yaml:"summary"` // one line for lists
	// Titles are documents' titles by their path below documents/
	// ("Plans/planting-plan.pdf": "Planting plan"); a document without
	// one is titled by its file name made readable.
	Titles map[string]string `yaml:"documents"`
	// Uploads lets the client add files to the portal from its page
	// (a client's own portals only: not shared ones).
	Uploads bool `yaml:"uploads"`

	Shared    bool        `yaml:"-"`
	Dir       string      `yaml:"-"`
	File      string      `yaml:"-"`
	Body      string      `yaml:"-"` // Markdown after the front matter
	Updates   []*Update   `yaml:"-"` // newest first
	Documents []*Document `yaml:"-"` // sorted by folder, then name
}

// Link is a labelled URL in a portal.
type Link struct {
	Title       string `yaml:"title"`
	URL         string `yaml:"url"`
	Description string `yaml:"description"`
}

// Embed is an allowlisted third-party frame in a portal.
type Embed struct {
	Title string `yaml:"title"`
	URL   string `yaml:"url"`

	Provider string `yaml:"-"` // e.g. "YouTube"
	Src      string `yaml:"-"` // the frame URL
}

// Update is portals/<slug>/updates/*.md.
type Update struct {
	Title string `yaml:"title"`
	Date  Date   `yaml:"date"`

	File string `yaml:"-"`
	Body string `yaml:"-"`
}

// Document is a file in a portal's documents/ folder.
type Document struct {
	Folder string // path of its folder below documents/, "" at the top
	Name   string // file name
	Title  string // from the portal's documents: front matter, else the file name made readable
	Path   string // path below documents/
	Size   int64
	Type   string // human type: "PDF", "JPEG image"
	File   string // absolute path on disk
}

// Totals are a document's computed amounts.
type Totals struct {
	Lines     []money.Amount // each line's total (0 for unselected optional lines)
	Subtotal  money.Amount
	Discounts []money.Amount // each discount, positive
	Discount  money.Amount   // sum of discounts
	Taxes     []TaxTotal
	Tax       money.Amount
	Total     money.Amount
}

// TaxTotal is the tax due at one rate.
type TaxTotal struct {
	Tax    Tax
	Base   money.Amount // discounted amount taxed at this rate
	Amount money.Amount
}

// PortalsOrNil returns the client's portals, or nil for a nil client.
func (c *Client) PortalsOrNil() []*Portal {
	if c == nil {
		return nil
	}
	return c.Portals
}
