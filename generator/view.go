package generator

import (
	"html/template"
	"strings"

	"github.com/hubhq/hub/generator/money"
)

// The view model: what templates see. Everything is formatted in Go (money
// in the site's locale, dates, sizes), so templates only lay things out.
// URLs are absolute paths ("/c/acme/quotes/Q-1001/").

// Page is the data of every template.
type Page struct {
	Site   *SiteView
	Client *ClientView // nil on public pages
	Title  string      // the page's <title> and <h1>
	// Description is the meta description of a public page ("" on a client's).
	Description string
	Nav         string // the section for the nav's aria-current: home, quotes, invoices, portals, receipts, requests, account, messages
	Root        string // the client's bundle root ("/c/acme/"), "" on public pages
	CSS         string // URL of the fingerprinted stylesheet
	JS          string // URL of hub.js on client pages (forms work without it)
	Doc         bool   // a printable document (quote, invoice, receipt, statement): print styles apply
	// SignedOut marks the landing page the edge shows after Sign out.
	SignedOut bool

	Home      *HomeView
	Quotes    []*QuoteView
	Quote     *QuoteView
	Invoices  []*InvoiceView
	Invoice   *InvoiceView
	Subs      []*SubscriptionView // on the invoices page (billing): the client's subscriptions
	Sub       *SubscriptionView
	Receipts  []*ReceiptView
	Receipt   *ReceiptView
	Portals   []*PortalView
	Portal    *PortalView
	Requests  *RequestsView
	Statement *StatementView
	Messages  *MessagesView
}

// HeadTitle is the page's <title>: its title, then the business's name
// unless the title already says it.
func (pg *Page) HeadTitle() string {
	if pg.Site == nil || pg.Site.Name == "" || strings.Contains(pg.Title, pg.Site.Name) {
		return pg.Title
	}
	return pg.Title + " · " + pg.Site.Name
}

// Size is an image's width and height in CSS pixels, written on its <img>
// so the page does not shift when it loads.
type Size struct{ W, H int }

// SiteView is the business, from site.yaml.
type SiteView struct {
	Name        string
	Phone       string
	PhoneHref   template.URL // "tel:+15035550142", made only of digits and "+"
	Email       string
	Website     string
	WebsiteHost string // "greenleaf.example" for display
	Address     []string
	Logo        string // URL, "" when none
	LogoSize    *Size  // nil when not known
	CoverSize   *Size
	Icon        string // URL of the favicon: the icon, else the logo; "" when neither
	Brand       string // brand colour "#rrggbb" as configured, "" when none
	Cover       string // URL, "" when none
	Landing     template.HTML
	Description string        // the public pages' meta description
	PayOffline  template.HTML // how to pay when paying online is off
	Lang        string        // "en"
	Hub         bool          // the hub is on (off: landing page without a login form)
	Requests    bool
	// RequestForm: the hub shows the "New request" form (requests on, hub on).
	RequestForm bool
	Signature   bool
	ChangeReqs  bool
	Deposits    bool
	PayOnline   bool
	SaveCards   bool // a client paying an invoice may save the card (settings.save_cards, paying online on)
	Autopay     bool // a client may have invoices charged to the saved card (settings.autopay)
	Subs        bool // subscriptions are on (settings.subscriptions)
	Year        int
}

// ClientView is the client whose hub this is.
type ClientView struct {
	ID          string
	Name        string
	Company     string
	DisplayName string
	Contacts    []ContactView
	Billing     []string // address lines
	Properties  []PropertyView
	Statement   string // URL of the statement page
	Archive     string // URL of the zip of every document, "" when PDFs are off
	// Card is the card saved for paying invoices (nil: none, or saving
	// cards is off); Autopay whether invoices are charged to it on their
	// due dates, since AutopaySince (a date as written).
	Card         *CardView
	Autopay      bool
	AutopaySince string
}

// CardView is a saved card: never its number.
type CardView struct {
	Brand      string // "Visa"
	Last4      string
	Expires    string // "12/29"
	ExpiresISO string // "2029-12", for <time>
}

// ContactView is one contact of a client.
type ContactView struct{ Name, Email, Phone string }

// PropertyView is one of a client's service addresses.
type PropertyView struct {
	ID      string // "1", "2"...: the number a quote's property: refers to
	Label   string
	Lines   []string
	OneLine string // "12 Elm St, Portland, OR 97201"
}

// Badge is a status for display; Class is one of ok, warn, danger, info, muted.
type Badge struct{ Label, Class string }

// LineView is a line item.
type LineView struct {
	Name        string
	Description template.HTML
	Quantity    string
	Unit        string
	UnitPrice   string
	Total       string
	Tax         string // tax name, "" when untaxed
	Optional    bool
	Selected    bool
}

// MoneyRow is a labelled amount in a totals table.
type MoneyRow struct{ Label, Amount string }

// TotalsView is a document's totals table.
type TotalsView struct {
	Subtotal  string
	Discounts []MoneyRow // "Returning client (10%)", "-$45.00"
	Taxes     []MoneyRow // "Sales tax 8.5% on $1,200.00", "$102.00"
	Total     string
}

// QuoteView is a quote.
type QuoteView struct {
	Number        string
	Title         string
	URL           string
	Status        Badge
	Awaiting      bool // awaiting response: the client can act on it
	Issued        string
	IssuedISO     string
	ValidUntil    string // "" when none
	ValidUntilISO string
	Expired       bool
	Property      *PropertyView
	Lines         []LineView
	HasOptional   bool
	Totals        TotalsView
	Total         string
	Deposit       string // amount due on approval, "" when none
	DepositRule   string // "25% of the total", "" for a fixed deposit
	Notes         template.HTML
	Terms         template.HTML
	Request       string // the request it answers
	PDF           string // URL of the PDF, "" when PDFs are off

	Version    string        // the version shown; the approve and change forms send it back
	Approve    *ApproveView  // the approval form; nil unless the client can approve now
	ChangesURL string        // where "Request changes" posts; "" when not offered
	Approval   *ApprovalView // how it was approved through the hub; nil otherwise
	History    []HistoryView // change requests and the versions that answered them, oldest first
	// Deposit payments made online.
	DepositPaid       string // "" when none
	DepositProcessing string // "" when none
	DepositReceipts   []*ReceiptView
	PayDeposit        *PayView // the deposit can be paid now; nil otherwise
	Thread            *ThreadView
	Activity          *ActivityView // sent, viewed, approved; nil when there is nothing to tell
}

// ApproveView is a quote's approval form.
type ApproveView struct {
	Action    string
	Signature bool // a typed name (and optionally a drawn signature) is required
	Terms     bool // the client must accept the terms
	Options   []OptionView
	// Choices maps each combination of optional lines (a bit per entry
	// of Options, as a decimal string) to the total and deposit, as JSON
	// for the page's script; "" when there are too many combinations.
	Choices string
	Deposit string // due on approval with the default options, "" when none
}

// OptionView is an optional line the client may choose.
type OptionView struct {
	Index    int // the line's index in the quote
	Name     string
	Amount   string
	Selected bool
}

// ApprovalView is an approval made in the hub: the evidence, for the client.
type ApprovalView struct {
	Name      string
	Email     string
	Date      string
	DateISO   string
	Signature string // URL of the drawn signature image, "" when typed only
	Terms     bool
	Options   []string // the optional lines chosen
	NotChosen []string // the optional lines left out
	Version   string
	At        string // date and time, for the record
	IP        string
	PageSHA   string // SHA-256 of the quote page the client saw
	PDF       string // URL of the approval's PDF, "" when PDFs are off
	sig       []byte // the drawn signature (PNG)
}

// HistoryView is one entry of a quote's history.
type HistoryView struct {
	Date, DateISO string
	Text          string // "You asked for changes", "Quote updated"
	Message       string // what the client wrote
}

// InvoiceView is an invoice.
type InvoiceView struct {
	// Autopay, when set, is the saved card and day autopay charges it on:
	// "Visa •••• 4242 on Dec 14, 2026".
	Autopay string
	// AutopayFailed: the automatic charge did not go through; pay by hand.
	AutopayFailed bool
	Number        string
	Subject       string
	URL           string
	Status        Badge
	PastDue       bool
	Issued        string
	IssuedISO     string
	Due           string
	DueISO        string
	Lines         []LineView
	Totals        TotalsView
	Total         string
	Payments      []*ReceiptView
	Paid          string // sum of payments, "" when none
	Balance       string
	HasBalance    bool
	QuoteNumber   string
	QuoteURL      string // "" when the quote is not visible
	Notes         template.HTML
	PDF           string // URL of the PDF, "" when PDFs are off
	// Online payments that have not settled (bank debits): shown, but
	// not yet taken off the balance.
	Processing      []ProcessingView
	ProcessingTotal string   // "" when none
	Credit          string   // paid more than the total: the difference, "" when not
	Pay             *PayView // nil when nothing can be paid online now
	Thread          *ThreadView
	Activity        *ActivityView // sent, viewed, paid; nil when there is nothing to tell
}

// ProcessingView is an online payment still settling.
type ProcessingView struct{ Date, DateISO, Amount, Method string }

// PayView is the "Pay" form of an invoice (or a quote's deposit). The
// amount is the edge's to work out from the signed directory; the form
// only says which choice the client made.
type PayView struct {
	Action string // where the form posts
	Amount string // the full amount due now, formatted
	// Part: the client may pay part of it, at least Min (MinValue and
	// MaxValue bound the number field, Step its precision).
	Part                     bool
	Min                      string
	MinValue, MaxValue, Step string
	// SaveCard: the form offers "Save this card for future invoices".
	SaveCard bool
}

// ReceiptView is one recorded payment and its receipt page.
type ReceiptView struct {
	ID             string
	URL            string
	Date           string
	DateISO        string
	Amount         string
	Method         string // for display: "Check", "Bank transfer"
	Reference      string
	InvoiceNumber  string
	InvoiceSubject string
	InvoiceURL     string
	InvoiceTotal   string
	BalanceAfter   string // the invoice's balance once this and earlier payments are counted
	Online         bool   // paid online (confirmed by the payment provider)
	amount         money.Amount
	QuoteNumber    string // a deposit on a quote not invoiced yet
	QuoteURL       string
	// A subscription's period: the subscription and the period's first day.
	SubscriptionNumber string
	SubscriptionTitle  string
	SubscriptionURL    string
	Period             string
	PDF                string        // URL of the PDF, "" when PDFs are off
	Activity           *ActivityView // who viewed it; nil when no one has
}

// StatementView is a client's account: every visible invoice and payment in
// date order with a running balance. It covers all activity to date; its
// period runs from the first entry to the last (not to the build day, so a
// bundle's bytes depend on its inputs only).
type StatementView struct {
	Date, DateISO string // the day it was built
	From, FromISO string // first entry's date, "" when there are none
	To, ToISO     string // last entry's date
	Entries       []StatementEntry
	Charges       string // sum of invoice totals
	Payments      string // sum of payments and settlements
	Less          string // the same taken off: "-$9,466.75" ("$0.00" when none)
	Owed          string // what the client owes now
	HasOwed       bool
	PDF           string // URL of the PDF, "" when there is none
	// Aging is what is owed by how long past due: Current, 1–30 days,
	// 31–60, 61–90, Over 90 days.
	Aging []MoneyRow
}

// StatementEntry is one line of a statement: an invoice (a charge) or a
// payment (a credit).
type StatementEntry struct {
	Date, DateISO string
	Kind          string // "invoice", "subscription" (a period paid), "payment", "settled" (marked paid without a recorded payment)
	Ref           string // the invoice's (or subscription's) number
	URL           string // the invoice or the receipt
	Detail        string // "Courtyard renovation", "Check #1021"
	Charge        string // "" for a credit
	Credit        string // "" for a charge
	Balance       string // running balance after this entry
}

// PortalView is a project, client or shared portal.
type PortalView struct {
	Slug          string
	Title         string
	URL           string
	Kind          string // project, client, shared
	KindLabel     string // "Project", "Your portal", "For all clients"
	Summary       string
	Cover         string // URL, "" when none
	CoverSize     *Size  // nil when not known
	Body          template.HTML
	Updates       []UpdateView
	Folders       []FolderView
	DocCount      int
	Links         []LinkView
	Embeds        []EmbedView
	LastUpdate    string // date of the newest update, "" when none
	LastUpdateISO string
	Billing       []AttentionItem // the quotes, invoices and subscriptions that name this portal
	Thread        *ThreadView
	// TakesUploads: the client may add files here (uploads: true), with
	// the form posting to UploadAction; Uploads are the files added,
	// newest first.
	TakesUploads bool
	UploadAction string
	Uploads      []UploadView
}

// UploadView is a file the client added to a portal.
type UploadView struct {
	Name    string
	URL     string
	Size    string
	By      string // the contact's name (or email)
	Date    string
	DateISO string
}

// UpdateView is a dated portal update.
type UpdateView struct {
	Title   string
	Date    string
	DateISO string
	Body    template.HTML
}

// FolderView groups a portal's documents; Name is "" for the top level.
type FolderView struct {
	Name      string
	Documents []DocumentView
}

// DocumentView is a downloadable file.
type DocumentView struct {
	Title string // "Planting plan"
	Name  string // the file's name, "planting-plan.pdf"
	URL   string
	Size  string
	Type  string // "PDF", "CSV spreadsheet"
	Icon  string // the file-type icon's label, "PDF", "CSV" ("" for a file without an extension)
	Kind  string // the icon's colour: pdf, sheet, doc, slides, image, text, archive, media, file
}

// LinkView is a labelled external link.
type LinkView struct{ Title, URL, Host, Description string }

// EmbedView is an allowlisted frame.
type EmbedView struct {
	Title, Provider, Src string
	Link                 string // the same content as a plain link, as staff wrote it
}

// AttentionItem is something on the home page that needs the client.
type AttentionItem struct {
	Kind   string // "quote", "invoice" or "subscription"
	Number string
	Title  string
	URL    string
	Detail string // "Due Nov 30, 2026", "Valid until Dec 2, 2026"
	Amount string
	Badge  Badge
	Action string // the row's call to action ("Pay", "Review & approve"), "" when none
}

// SubscriptionView is a subscription: recurring billing of the same lines.
type SubscriptionView struct {
	Number   string
	Title    string
	URL      string
	Badge    Badge
	Amount   string // per period, "$180.00"
	Every    string // "month", "2 weeks"
	Start    string // the first charge's date
	StartISO string
	Ends     string // "After 12 charges, the last on Aug 1, 2027"; "" when it runs until cancelled
	Next     string // the next charge's date, "" when none
	NextISO  string
	Soon     bool     // the next charge is within 7 days
	Upcoming []string // the charge dates after the next, a few
	Lines    []LineView
	Totals   TotalsView
	Notes    template.HTML
	// Online billing: StartAction is where "Start subscription" posts
	// (only while it is not started and paying online is on);
	// once started, Billing is its state (active, past_due, cancelled),
	// ActiveSince the day it started, ManageAction where "Manage payment
	// method or cancel" posts, and Periods each period's payment, newest
	// first.
	StartAction    string
	Billing        string
	ActiveSince    string
	ActiveSinceISO string
	ManageAction   string
	Periods        []PeriodView
}

// PeriodView is one period of a subscription and its payment.
type PeriodView struct {
	Period    string // the period's first day
	PeriodISO string
	Amount    string
	Failed    bool         // its payment failed (Stripe retries it)
	Receipt   *ReceiptView // when paid
}

// HomeView is the client's home page.
type HomeView struct {
	Attention []AttentionItem
	Portals   []*PortalView
	Quotes    []*QuoteView        // most recent few
	Invoices  []*InvoiceView      // most recent few
	Receipts  []*ReceiptView      // most recent few
	Balance   string              // what the client owes in all, "" when nothing
	PastDue   bool                // some of the balance is past due
	PayURL    string              // where the balance's Pay button leads: the oldest due invoice, or the invoices list when several are due
	PayMany   bool                // several invoices are due (PayURL is the invoices list)
	Upcoming  []*SubscriptionView // subscriptions charging within 7 days
	Messages  *MessagesView       // the Messages card
}

// RequestsView is the requests page. Requests are recorded by the edge;
// the generator folds them in.
type RequestsView struct {
	Items      []RequestView
	Properties []PropertyView
	FormAction string // where the "New request" form posts
}

// RequestView is one work request the client sent.
type RequestView struct {
	ID, Title, Date, DateISO string
	Badge                    Badge
	Details                  string   // as written (the template keeps its line breaks)
	Dates                    []string // preferred dates, formatted
	Time                     string   // "Morning", "" for any time
	Property                 string   // the property, as a line
	Photos                   []PhotoView
	QuoteNumber, QuoteURL    string // the quote that answers it, if visible
	Thread                   *ThreadView
}

// PhotoView is a photo attached to a request.
type PhotoView struct{ Name, URL string }

// MessagesView is the Messages page (and the home page's card): every
// thread with messages, newest activity first, and the general thread.
type MessagesView struct {
	URL      string
	General  *ThreadView
	Threads  []*ThreadView // with at least one message, newest activity first (the general one too)
	Count    int           // messages in all
	NewReply bool          // the newest message of some thread is the business's: an answer the client has not answered
}

// ThreadView is a conversation about one thing (a quote, an invoice, a
// request, a portal) or the general one, with the form to write in it.
type ThreadView struct {
	Thread    string // "quote/Q-1002", "general"
	Title     string // "Questions about this quote?"
	Subject   string // what it is about, for lists: "Quote Q-1002 · Patio"
	URL       string // the page (and anchor) it is shown on
	HeadingID string // unique on its page
	Anchor    string // the block's id ("messages"), "" when the page anchors it elsewhere
	Nested    bool   // shown inside a list item (a request): an h3, not an h2
	Main      bool   // the page's main action (the Messages page's own conversation): a primary button
	Action    string // where the form posts
	Seen      int    // messages shown: sent back with the form, so an identical message sent again later is not a duplicate
	Messages  []MessageView
	Last      string // the newest message's date, "" when none
	LastISO   string
	Latest    string // the newest message, shortened, for lists
	LatestBy  string
	Replied   bool // the newest message is the business's
	last      int  // order of the newest message among the client's
}

// MessageView is one message of a thread.
type MessageView struct {
	Author  string // the contact's name, or the business's
	Staff   bool
	Date    string // "Nov 16, 2026, 14:05"
	DateISO string // RFC 3339
	Body    string // as written (the template keeps its line breaks)
	Photos  []PhotoView
	Files   []FileView // attachments that are not pictures: download links
}

// FileView is a file to download: a message's PDF or document.
type FileView struct{ Name, URL, Size string }
