package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

// The browser tests drive Debian's Chromium (headless) through the real hub
// binary: a person's journey through a client's hub at a phone and a desktop
// viewport, with a full-page screenshot and an axe-core accessibility check
// of every page. Without Chromium or axe-core they skip, unless
// HUB_REQUIRE_BROWSER is set (as .ci/run does), when they fail instead.

// viewport is a screen a journey runs at.
type viewport struct {
	name          string
	width, height int64
	scale         float64
	mobile        bool // mobile emulation: touch, the meta viewport honoured
}

var viewports = []viewport{
	{name: "phone", width: 390, height: 844, scale: 2, mobile: true},
	{name: "desktop", width: 1366, height: 900, scale: 1},
}

// journey is people's sessions, one after another, in one tab, against a
// hub of the journey's own (its payments and approvals are its own).
type journey struct {
	t      *testing.T      // the step's
	ctx    context.Context // the tab
	touch  bool            // the tab has a touch screen (a finger draws the signature)
	hub    *proc
	dir    string // the hub's working folder (its outbox and state are under .hub/state)
	base   string // http://127.0.0.1:PORT
	email  string // the contact signed in (or signing in)
	client string // their client ID; the hub is at /c/CLIENT/

	payment edge.PaymentRecord // the last payment made through Stripe Checkout
	deposit string             // the deposit the quote form showed before approving
}

// root is the client's hub, as a path.
func (j *journey) root() string { return "/c/" + j.client + "/" }

// open navigates to a URL (a path on the hub, or absolute) and waits for it to load.
func (j *journey) open(u string) error {
	if strings.HasPrefix(u, "/") {
		u = j.base + u
	}
	resp, err := chromedp.RunResponse(j.ctx, chromedp.Navigate(u))
	if err == nil && resp.Status != 200 {
		err = fmt.Errorf("GET %s = %d", u, resp.Status)
	}
	return err
}

// click clicks the element that a CSS selector finds and waits for the page
// it leads to.
func (j *journey) click(css string) error {
	_, err := chromedp.RunResponse(j.ctx, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
	return err
}

// follow clicks the link with this text, as a person would, inside the
// first element named scope ("nav", "main"), and waits for the page it
// leads to.
func (j *journey) follow(scope, text string) error {
	xpath := fmt.Sprintf(`//%s//a[normalize-space(.)=%q]`, scope, text)
	_, err := chromedp.RunResponse(j.ctx, chromedp.Click(xpath, chromedp.NodeVisible))
	return err
}

// page is what a check looks at: the facts of the page shown, read in one go.
type page struct {
	Path     string   `json:"path"`
	Title    string   `json:"title"`
	H1       string   `json:"h1"`
	Nav      string   `json:"nav"`    // the main menu's current item
	Badges   []string `json:"badges"` // status badges in <main>, in order
	Main     string   `json:"main"`   // the text of <main>, spaces collapsed
	Forms    []string `json:"forms"`  // every form's action, resolved to a path
	Overflow int      `json:"overflow"`
	// The main menu (none on public pages): how many rows its items take,
	// its height, and how far it scrolls sideways (items out of sight).
	NavRows   int     `json:"navRows"`
	NavHeight float64 `json:"navHeight"`
	NavHidden int     `json:"navHidden"`
	// The letterhead of a document page: shown (false when folded away).
	Letterhead string `json:"letterhead"` // "", "shown", "folded"
}

const pageFacts = `(() => {
	const text = s => (document.querySelector(s)?.innerText ?? '').replace(/\s+/g, ' ').trim();
	const root = document.documentElement;
	return {
		path: location.pathname,
		title: document.title,
		h1: text('h1'),
		nav: text('nav [aria-current=page]'),
		badges: [...document.querySelectorAll('main .badge')].map(e => e.innerText.trim()),
		main: text('main'),
		forms: [...document.forms].map(f => new URL(f.action).pathname),
		overflow: root.scrollWidth - root.clientWidth,
		navRows: new Set([...document.querySelectorAll('.site-nav li')].map(li => Math.round(li.getBoundingClientRect().top))).size,
		navHeight: document.querySelector('.site-nav ul')?.getBoundingClientRect().height ?? 0,
		navHidden: (ul => ul ? ul.scrollWidth - ul.clientWidth : 0)(document.querySelector('.site-nav ul')),
		letterhead: (p => !p ? '' : p.checkVisibility() ? 'shown' : 'folded')(document.querySelector('.letterhead .parties')),
	};
})()`

// has reports whether the page has a form posting to path.
func (pg page) has(form string) bool {
	for _, f := range pg.Forms {
		if f == form {
			return true
		}
	}
	return false
}

// step is one thing a person does and what they should then see. do runs
// the actions and waits for the page they lead to; check asserts on that
// page (with j.t.Errorf: a wrong page is reported, and the journey goes on).
type step struct {
	name  string
	do    func(j *journey) error
	check func(j *journey, pg page)
}

// clientJourney: a client signs in through the landing page's form and the
// emailed link, looks at a quote awaiting their response and approves it
// with a drawn signature, downloads an invoice's PDF and pays its balance
// (through stripe-mock), sees the receipt, a portal, sends a request with a
// photo and signs out. Then a second client approves a quote and pays its
// deposit in one go, and a third asks for changes to a quote.
//
// To add a journey step, insert it after the page it starts from: open or
// follow to get there, act with chromedp actions on j.ctx, and check the
// page it leads to. Each step gets its screenshot and accessibility check
// without more code. Each viewport's journey has a hub of its own, so each
// approves and pays the same documents.
var clientJourney = []step{
	{
		name: "landing",
		do:   func(j *journey) error { return j.open("/") },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, "/")
			j.want("heading", pg.H1, "Greenleaf Gardens")
			j.contains("page", pg.Main, "Log in to your hub")
			j.signedIn(pg, false)
		},
	},
	{
		name: "login-sent",
		do: func(j *journey) error {
			if err := chromedp.Do(j.ctx, chromedp.SendKeys(chromedp.ID("email"), j.email)); err != nil {
				return err
			}
			return j.click(`form[action="/login"] button`)
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, "/login/sent/")
			j.want("heading", pg.H1, "Check your email")
		},
	},
	{
		name: "login-continue",
		do: func(j *journey) error {
			return j.open(outboxLink(j.t, j.hub, j.dir, j.email))
		},
		check: func(j *journey, pg page) {
			if !strings.HasPrefix(pg.Path, "/login/t/") {
				j.t.Errorf("path = %q; want the login link /login/t/…", pg.Path)
			}
			j.want("heading", pg.H1, "Sign in to Greenleaf Gardens")
			j.contains("page", pg.Main, "Continue")
		},
	},
	{
		name: "home",
		do:   func(j *journey) error { return j.click(`main form button`) },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root())
			j.want("heading", pg.H1, "Welcome, Whitfield Family Dental")
			j.want("menu item", pg.Nav, "Home")
			j.contains("page", pg.Main, "Needs your attention", "Winter planters and holiday lighting", "Balance due")
			j.signedIn(pg, true)
		},
	},
	menuPage("Quotes", "quotes/", "Quote Q-1009", "Quote Q-1001"),
	actionFirst(document("quote", "Winter planters and holiday lighting", "quotes/Q-1009/", "Quote Q-1009", "Awaiting response",
		"Valid until", "Winter planter refresh", "Deposit due on approval", "Approve this quote", "Request changes"), "Approve & pay deposit"),
	{
		// Approve with the typed name and a drawn signature; the deposit is
		// left to pay later.
		name: "quote-approved",
		do: func(j *journey) error {
			if err := chromedp.Do(j.ctx, chromedp.SendKeys(chromedp.ID("sig-name"), "Dana Whitfield")); err != nil {
				return err
			}
			if err := j.drawSignature(); err != nil {
				return err
			}
			return j.clickButton("Approve, pay later")
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"quotes/Q-1009/")
			j.want("badges", strings.Join(pg.Badges, ", "), "Approved")
			j.contains("page", pg.Main, "Approved by Dana Whitfield (dana@whitfield-dental.example)", "Deposit due", "Pay ")
			if pg.has(j.root() + "quotes/Q-1009/approve") {
				j.t.Error("the approved quote still has the approval form")
			}
			if loaded, src := j.imageLoaded(`main img.signature`); !loaded {
				j.t.Errorf("the drawn signature is not shown (img.signature src %.80q)", src)
			}
		},
	},
	menuPage("Invoices", "invoices/", "Subscriptions", "Grounds care plan", "Invoice INV-2001", "Invoice INV-2005"),
	document("subscription", "Grounds care plan", "subscriptions/SUB-3001/", "Grounds care plan", "Active",
		"Every month", "$785.00", "next charge", "After 12 charges", "Maintenance visits"),
	{
		name: "billing",
		do:   func(j *journey) error { return j.follow("nav", "Invoices") },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"invoices/")
			j.want("menu item", pg.Nav, "Invoices")
		},
	},
	actionFirst(document("invoice", "Front courtyard renovation", "invoices/INV-2001/", "Invoice INV-2001", "Partially paid",
		"Balance due", "$5,806.25", "Payments"), "Pay online"),
	{
		name: "invoice-pdf",
		do:   func(j *journey) error { return nil }, // fetched in check, from the invoice page
		check: func(j *journey, pg page) {
			d, err := j.fetchDownload()
			if err != nil {
				j.t.Fatal(err)
			}
			j.want("PDF link", d.Path, j.root()+"invoices/INV-2001/INV-2001.pdf")
			if !d.Download || d.Status != 200 || d.Type != "application/pdf" || d.Magic != "%PDF-" || d.Size < 2000 {
				j.t.Errorf("Download PDF = %+v; want a download link to a PDF (200, application/pdf, %%PDF-, 2 kB or more)", d)
			}
		},
	},
	{
		name: "invoice-paid",
		do: func(j *journey) error {
			return j.pay(`//main//form[contains(@action, "/pay")]//button[normalize-space(.)="Pay online"]`, "INV-2001", "invoices/INV-2001/")
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"invoices/INV-2001/")
			j.want("badges", strings.Join(pg.Badges, ", "), "Paid")
			j.want("amount paid", fmt.Sprint(j.payment.Amount), "580625")
			j.contains("page", pg.Main, "Balance due $0.00", "$5,806.25")
			if pg.has(j.root() + "invoices/INV-2001/pay") {
				j.t.Error("the paid invoice still has the Pay online form")
			}
		},
	},
	{
		name: "receipt",
		do: func(j *journey) error {
			href := fmt.Sprintf("%sreceipts/INV-2001-P%d/", j.root(), j.payment.Seq)
			links, err := chromedp.Run(j.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main a[href*="/receipts/"]')].map(a => a.getAttribute('href'))`))
			if err != nil {
				return err
			}
			if !slices.Contains(links, href) {
				return fmt.Errorf("the invoice links to the receipts %q; want %s", links, href)
			}
			// The date is what shows of the link (the rest is for screen readers).
			return j.click(fmt.Sprintf(`main a[href=%q] time`, href))
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, fmt.Sprintf("%sreceipts/INV-2001-P%d/", j.root(), j.payment.Seq))
			j.want("heading", pg.H1, "Receipt for INV-2001")
			j.contains("page", pg.Main, "Amount paid $5,806.25", "pi_"+j.payment.ID, "Front courtyard renovation")
		},
	},
	menuPage("Portals", "portals/", "Front courtyard renovation", "Seasonal care guide"),
	{
		name: "portal",
		do:   func(j *journey) error { return j.follow("main", "Front courtyard renovation") },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"portals/courtyard-renovation/")
			j.want("heading", pg.H1, "Front courtyard renovation")
		},
	},
	{
		name: "portal-message",
		do: func(j *journey) error {
			err := chromedp.Do(j.ctx,
				chromedp.SendKeys(chromedp.ID("thread-portal-courtyard-renovation-body"), "Can the crew start at 8 on Monday?"),
				chromedp.SetUploadFiles(chromedp.ID("thread-portal-courtyard-renovation-photos"), []string{photo(j.t, "driveway.png")}),
			)
			if err != nil {
				return err
			}
			return j.clickButton("Send message")
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"portals/courtyard-renovation/")
			j.contains("page", pg.Main, "Questions or comments?", "Dana Whitfield", "Can the crew start at 8 on Monday?")
			if loaded, src := j.imageLoaded(`main .message img[alt="Photo: driveway.png"]`); !loaded {
				j.t.Errorf("the message's photo is not shown (src %q)", src)
			}
		},
	},
	{
		name: "messages",
		do: func(j *journey) error {
			if err := j.follow("nav", "Home"); err != nil {
				return err
			}
			return j.follow("main", "See all messages")
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"messages/")
			j.want("heading", pg.H1, "Messages")
			j.want("badges", strings.Join(pg.Badges, ", "), "Sent")
			j.contains("page", pg.Main, "Front courtyard renovation", "Dana Whitfield: Can the crew start at 8 on Monday?", "Write to Greenleaf Gardens")
		},
	},
	{
		// Staff answer with hub reply; the home page then counts the thread
		// unread for this contact (the edge says so, hub.js shows it).
		name: "message-answered",
		do: func(j *journey) error {
			if r := hub(j.t, j.dir, "reply", j.client, "portal/courtyard-renovation", "-m", "Yes, 8 is fine.", "-as", "Sam"); r.code != 0 {
				return fmt.Errorf("hub reply = %d: %s", r.code, r.stderr)
			}
			// The edge emails the client once the rebuilt page shows the answer.
			j.hub.await(j.t, `mail to `+regexp.QuoteMeta(j.email)+`: "Greenleaf Gardens answered you about portal courtyard-renovation"`)
			if err := j.open(j.root()); err != nil {
				return err
			}
			return chromedp.Do(j.ctx, chromedp.WaitVisible(`[data-unread-count]`))
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root())
			j.contains("page", pg.Main, "Messages 1 unread", "Greenleaf Gardens: Yes, 8 is fine.", "New reply")
		},
	},
	menuPage("Requests", "requests/", "New request"),
	{
		name: "request-sent",
		do: func(j *journey) error {
			err := chromedp.Do(j.ctx,
				chromedp.SendKeys(chromedp.ID("r-title"), "Side gate latch is broken"),
				chromedp.SendKeys(chromedp.ID("r-details"), "The latch on the side gate by the bins no longer catches. Photo attached."),
				chromedp.SetValue(chromedp.ID("r-date1"), "2026-12-07"),
				chromedp.SetValue(chromedp.ID("r-time"), "morning"),
				chromedp.SetUploadFiles(chromedp.ID("r-photos"), []string{photo(j.t, "gate-latch.png")}),
			)
			if err != nil {
				return err
			}
			return j.clickButton("Send request")
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"requests/")
			j.contains("page", pg.Main, "Your requests", "Side gate latch is broken", "no longer catches", "Preferred: Dec 7, 2026 · Morning")
			j.want("badges", strings.Join(pg.Badges, ", "), "Received")
			if loaded, src := j.imageLoaded(`main .request img[alt="Photo: gate-latch.png"]`); !loaded {
				j.t.Errorf("the request's photo is not shown (src %q)", src)
			}
		},
	},
	menuPage("Account", "account/", "Sign out of every device", "Other people who use this hub stay signed in."),
	signedOut("signed-out"),

	// A second client approves a quote, with an optional item, and pays its
	// deposit in one go.
	signIn("ngozi.okafor@example.com", "okafor-residence", "Backyard rain garden and native planting"),
	{
		name: "quote-options",
		do: func(j *journey) error {
			if err := j.openQuote("Backyard rain garden and native planting"); err != nil {
				return err
			}
			j.primaryInView("Approve & pay deposit") // before a click may scroll the page
			before, err := chromedp.Run(j.ctx, chromedp.Text(chromedp.CSS(`form [data-deposit]`), chromedp.NodeVisible))
			if err != nil {
				return err
			}
			if err := chromedp.Do(j.ctx, chromedp.Click(`//main//label[contains(., "Western red cedar bench")]/input`, chromedp.NodeVisible)); err != nil {
				return err
			}
			// hub.js updates the deposit to include the bench.
			j.deposit, err = chromedp.Run(j.ctx, chromedp.Poll[string](fmt.Sprintf(
				`(d => d !== %q && d)(document.querySelector('form [data-deposit]').textContent)`, before), chromedp.WithPollingTimeout(5*time.Second)))
			return err
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"quotes/Q-1002/")
			j.want("badges", strings.Join(pg.Badges, ", "), "Awaiting response")
			j.contains("page", pg.Main, "deposit on approval: "+j.deposit)
			if !pg.has(j.root() + "quotes/Q-1002/approve") {
				j.t.Errorf("forms = %v; want the approval form", pg.Forms)
			}
		},
	},
	{
		name: "deposit-paid",
		do: func(j *journey) error {
			if err := chromedp.Do(j.ctx, chromedp.SendKeys(chromedp.ID("sig-name"), "Ngozi Okafor")); err != nil {
				return err
			}
			return j.pay(`//main//button[normalize-space(.)="Approve & pay deposit"]`, "Q-1002", "quotes/Q-1002/")
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"quotes/Q-1002/")
			j.want("badges", strings.Join(pg.Badges, ", "), "Approved")
			j.want("payment", j.payment.Kind, events.ForDeposit)
			j.contains("page", pg.Main, "Deposit paid "+j.deposit, "Approved by Ngozi Okafor", "Optional items chosen:", "Western red cedar bench")
			if pg.has(j.root() + "quotes/Q-1002/deposit") {
				j.t.Error("the quote whose deposit is paid still has a Pay form")
			}
		},
	},
	{
		name: "receipts",
		do:   func(j *journey) error { return j.follow("nav", "Receipts") },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"receipts/")
			j.want("heading", pg.H1, "Receipts")
			j.contains("page", pg.Main, "Deposit on quote Q-1002 · Card, paid online "+j.deposit)
		},
	},
	signedOut("signed-out-okafor"),

	// A third client asks for changes to a quote.
	signIn("board@pearl-commons.example.org", "pearl-commons-hoa", "2027 grounds maintenance agreement"),
	{
		name: "quote-changes",
		do:   func(j *journey) error { return j.openQuote("2027 grounds maintenance agreement") },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"quotes/Q-1006/")
			j.want("badges", strings.Join(pg.Badges, ", "), "Awaiting response")
			j.contains("page", pg.Main, "Request changes")
			j.primaryInView("Approve quote")
		},
	},
	{
		name: "changes-requested",
		do: func(j *journey) error {
			err := chromedp.Do(j.ctx,
				chromedp.Click(`//main//summary[normalize-space(.)="Request changes"]`, chromedp.NodeVisible),
				chromedp.SendKeys(chromedp.ID("changes-message"), "Please quote the spring cleanup as a separate option."))
			if err != nil {
				return err
			}
			return j.clickButton("Send change request")
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"quotes/Q-1006/")
			j.want("badges", strings.Join(pg.Badges, ", "), "Changes requested")
			j.contains("page", pg.Main, "History", "Changes requested by board@pearl-commons.example.org",
				"Please quote the spring cleanup as a separate option.")
			// The request's date, for machines too.
			tm, err := chromedp.Run(j.ctx, chromedp.Evaluate[struct{ Text, ISO string }](
				`(t => t ? {Text: t.innerText, ISO: t.dateTime} : {})(document.querySelector('main .history time'))`))
			if err != nil {
				j.t.Fatal(err)
			}
			if d, err := time.Parse("2006-01-02", tm.ISO); err != nil || !strings.HasPrefix(tm.Text, d.Format("Jan 2, 2006")) {
				j.t.Errorf("the change request's date is %q with datetime=%q; want the same day", tm.Text, tm.ISO)
			}
		},
	},
	signedOut("signed-out-pearl-commons"),
}

// signIn is a step in which another client signs in through the landing
// page's form and the emailed link, and lands on their home page, which
// shows the texts.
func signIn(email, client string, texts ...string) step {
	return step{
		name: "sign-in-" + client,
		do: func(j *journey) error {
			j.email, j.client = email, client
			if err := j.open("/"); err != nil {
				return err
			}
			if err := chromedp.Do(j.ctx, chromedp.SendKeys(chromedp.ID("email"), email)); err != nil {
				return err
			}
			if err := j.click(`form[action="/login"] button`); err != nil {
				return err
			}
			if err := j.open(outboxLink(j.t, j.hub, j.dir, email)); err != nil {
				return err
			}
			return j.click(`main form button`)
		},
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root())
			if !strings.HasPrefix(pg.H1, "Welcome, ") {
				j.t.Errorf("heading = %q; want the client greeted by name (Welcome, …)", pg.H1)
			}
			j.contains("page", pg.Main, texts...)
			j.signedIn(pg, true)
		},
	}
}

// signedOut is a step (named name) that signs out, back to the landing
// page, which says so.
func signedOut(name string) step {
	return step{
		name: name,
		do:   func(j *journey) error { return j.click(`form[action="/logout"] button`) },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, "/signed-out/")
			j.want("heading", pg.H1, "Greenleaf Gardens")
			j.contains("page", pg.Main, "You're signed out.")
			j.signedIn(pg, false)
		},
	}
}

// openQuote opens the quote with this title from the Quotes page, as a
// person would.
func (j *journey) openQuote(title string) error {
	if err := j.follow("nav", "Quotes"); err != nil {
		return err
	}
	return j.follow("main", title)
}

// clickButton clicks the button with this text in <main>, as a person
// would, and waits for the page it leads to.
func (j *journey) clickButton(text string) error {
	_, err := chromedp.RunResponse(j.ctx, chromedp.Click(fmt.Sprintf(`//main//button[normalize-space(.)=%q]`, text), chromedp.NodeVisible))
	return err
}

// menuPage is a step that opens a page of the hub's main menu: its path
// (under the hub), heading and current menu item are the label's, and it
// shows the texts.
func menuPage(label, path string, texts ...string) step {
	return step{
		name: strings.ToLower(label),
		do:   func(j *journey) error { return j.follow("nav", label) },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+path)
			j.want("heading", pg.H1, label)
			j.want("menu item", pg.Nav, label)
			j.contains("page", pg.Main, texts...)
		},
	}
}

// document is a step that follows a link (by its text) in <main> to a quote
// or an invoice: its path (under the hub), heading, status badge and texts.
func document(name, link, path, heading, badge string, texts ...string) step {
	return step{
		name: name,
		do:   func(j *journey) error { return j.follow("main", link) },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+path)
			j.want("heading", pg.H1, heading)
			j.want("badges", strings.Join(pg.Badges, ", "), badge)
			j.contains("page", pg.Main, texts...)
		},
	}
}

// actionFirst adds to a document step the check that the page, loaded at
// the top, shows its primary action (labelled label) whole in the first
// screen.
func actionFirst(s step, label string) step {
	check := s.check
	s.check = func(j *journey, pg page) {
		check(j, pg)
		j.primaryInView(label)
	}
	return s
}

// primaryBox finds the primary action of a document's summary card and
// where it is on the screen.
const primaryBox = `(() => {
	const b = document.querySelector('main .action-card .btn-primary');
	if (!b) return {Found: false, ScrollY: window.scrollY};
	const r = b.getBoundingClientRect();
	return {Found: true, Text: b.innerText.replace(/\s+/g, ' ').trim(), ScrollY: window.scrollY,
		Top: r.top, Bottom: r.bottom, Left: r.left, Right: r.right, Width: window.innerWidth, Height: window.innerHeight};
})()`

// primaryInView checks that the page is at the top and that its summary
// card's primary action, labelled label (any label for ""), is wholly
// inside the viewport: what a client sees first without scrolling.
func (j *journey) primaryInView(label string) {
	j.t.Helper()
	b, err := chromedp.Run(j.ctx, chromedp.Evaluate[actionBox](primaryBox))
	if err != nil {
		j.t.Errorf("finding the primary action: %v", err)
		return
	}
	j.t.Logf("primary action %q: top %.0f, bottom %.0f, left %.0f, right %.0f in %.0f×%.0f, scrollY %v", b.Text, b.Top, b.Bottom, b.Left, b.Right, b.Width, b.Height, b.ScrollY)
	switch {
	case !b.Found:
		j.t.Error("the page has no primary action in a summary card (main .action-card .btn-primary)")
	case b.ScrollY != 0:
		j.t.Errorf("window.scrollY = %v; want the page at the top", b.ScrollY)
	case label != "" && b.Text != label:
		j.t.Errorf("primary action = %q; want %q", b.Text, label)
	case b.Top < 0 || b.Left < 0 || b.Bottom > b.Height || b.Right > b.Width:
		j.t.Errorf("the primary action %q is at top %.0f, bottom %.0f, left %.0f, right %.0f; want it inside the first %.0f×%.0f screen",
			b.Text, b.Top, b.Bottom, b.Left, b.Right, b.Width, b.Height)
	}
}

// actionBox is what primaryBox reports.
type actionBox struct {
	Found                    bool
	Text                     string
	ScrollY                  float64
	Top, Bottom, Left, Right float64 // the button's bounding box, in CSS pixels from the viewport's corner
	Width, Height            float64 // the viewport's
}

// signedIn checks that the page offers signing out and not the login form,
// or the reverse.
func (j *journey) signedIn(pg page, in bool) {
	j.t.Helper()
	if pg.has("/logout") != in || pg.has("/login") == in {
		j.t.Errorf("forms = %v; want %s", pg.Forms, map[bool]string{true: "sign-out and no login form", false: "the login form and no sign-out"}[in])
	}
}

func (j *journey) want(what, got, want string) {
	j.t.Helper()
	if got != want {
		j.t.Errorf("%s = %q; want %q", what, got, want)
	}
}

func (j *journey) contains(what, got string, wants ...string) {
	j.t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			j.t.Errorf("%s lacks %q: %.300q", what, w, got)
		}
	}
}

// TestBrowserJourneys runs clientJourney in headless Chromium at each
// viewport, at the same time, each in a tab of its own (its own cookies) of
// one browser and against a hub of its own: `hub edge -content` serving a
// build of content/, with online payments through stripe-mock.
func TestBrowserJourneys(t *testing.T) {
	axe := axeScript(t)
	stripeAPI := startStripeMock(t)
	browser := startChromium(t)
	shots := screenshotsDir(t)
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			t.Parallel()
			p, dir, base := startJourneyHub(t, stripeAPI)
			tab := vp.tab(t, browser)
			console := watchConsole(t, tab, base)
			stubCheckout(t, tab)
			folder := filepath.Join(shots, vp.name)
			if err := os.MkdirAll(folder, 0o755); err != nil {
				t.Fatal(err)
			}
			j := &journey{ctx: tab, touch: vp.mobile, hub: p, dir: dir, base: base, email: "dana@whitfield-dental.example", client: "whitfield-dental"}
			for i, s := range clientJourney {
				stuck := false // the step's actions failed: later steps cannot start
				t.Run(s.name, func(t *testing.T) {
					// A step that waits for what never comes fails alone.
					ctx, cancel := context.WithTimeout(tab, time.Minute)
					defer cancel()
					j.t, j.ctx = t, ctx
					if err := s.do(j); err != nil {
						stuck = true
						t.Fatal(err)
					}
					pg, err := chromedp.Run(tab, chromedp.Evaluate[page](pageFacts))
					if err != nil {
						t.Fatal(err)
					}
					png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(folder, fmt.Sprintf("%02d-%s.png", i+1, s.name)), png, 0o644); err != nil {
						t.Fatal(err)
					}
					s.check(j, pg)
					if pg.Overflow > 0 {
						t.Errorf("%s is %dpx wider than the %s viewport (scrolls sideways)", pg.Path, pg.Overflow, vp.name)
					}
					checkChrome(t, vp, pg)
					checkAccessibility(t, tab, axe)
					for _, e := range console.take() {
						t.Errorf("browser console: %s", e)
					}
				})
				if stuck {
					break
				}
			}
			// What the journey did, the edge did without an error.
			for _, l := range strings.Split(p.output(), "\n") {
				if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
					t.Errorf("hub edge logged: %s", l)
				}
			}
		})
	}
}

// checkChrome checks what surrounds a page's content at a viewport: the
// main menu in one row of at most 48px with every item in sight, and a
// document's letterhead folded on a phone and shown on a desktop.
func checkChrome(t *testing.T, vp viewport, pg page) {
	t.Helper()
	if pg.NavRows > 0 && (pg.NavRows != 1 || pg.NavHeight > 48 || pg.NavHidden > 0) {
		t.Errorf("the main menu takes %d rows, %.0fpx high, %dpx of it out of sight at %d×%d; want one row of at most 48px, all in sight",
			pg.NavRows, pg.NavHeight, pg.NavHidden, vp.width, vp.height)
	}
	if want := map[bool]string{true: "folded", false: "shown"}[vp.mobile]; pg.Letterhead != "" && pg.Letterhead != want {
		t.Errorf("the letterhead is %s on the %s; want it %s", pg.Letterhead, vp.name, want)
	}
}

// startChromium starts headless Chromium for a test (stopped by its
// cleanups, so parallel subtests can use it after the test function returns).
func startChromium(t *testing.T) context.Context {
	t.Helper()
	chromium := browserPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		// Only the hub is reached: other hosts (a portal's video and
		// calendar embeds) fail at once instead of going out.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // about a minute on an idle machine
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancel)
	browser, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(browser); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return browser
}

// tab opens a tab of its own (own cookies) at the viewport.
func (vp viewport) tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	emulate := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.scale)}
	if vp.mobile {
		emulate = append(emulate, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(vp.width, vp.height, emulate...)); err != nil {
		t.Fatal(err)
	}
	return tab
}

// screenshotsDir is where browser tests write screenshots: $HUB_ARTIFACTS/screenshots, else a temporary folder.
func screenshotsDir(t *testing.T) string {
	shots := filepath.Join(t.TempDir(), "screenshots")
	if a := os.Getenv("HUB_ARTIFACTS"); a != "" {
		shots = filepath.Join(a, "screenshots")
	}
	t.Logf("screenshots in %s", shots)
	return shots
}

// browserPath is Debian's Chromium, or a skip (a failure with
// HUB_REQUIRE_BROWSER set) when it is not installed.
func browserPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		missing(t, "chromium is not installed (apt-get install chromium)")
	}
	return path
}

// axeScript is axe-core's axe.min.js: $HUB_AXE, or where .ci/run installs it.
func axeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv("HUB_AXE")
	if path == "" {
		path = filepath.Join("..", "..", ".ci", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		missing(t, fmt.Sprintf("axe-core is not installed (npm ci --prefix .ci, or set HUB_AXE): %v", err))
	}
	return string(b)
}

func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("HUB_REQUIRE_BROWSER") != "" {
		t.Fatal(why + "; HUB_REQUIRE_BROWSER is set")
	}
	// make test prints the reasons in one loud line at the end.
	if f := os.Getenv("HUB_SKIPS"); f != "" {
		if fl, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(fl, "%s: %s\n", t.Name(), why)
			fl.Close()
		}
	}
	t.Skip(why + "; set HUB_REQUIRE_BROWSER=1 to fail instead")
}

// axeViolation is one failed axe-core rule with the elements that fail it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeRun runs axe-core on the page for WCAG 2.x A and AA. The script is
// evaluated through the DevTools protocol, which the page's CSP
// (script-src 'self') does not govern.
const axeRun = `axe.run(document, {
	runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
	resultTypes: ['violations'],
}).then(r => ({
	passes: r.passes.length,
	violations: r.violations.map(v => ({
		id: v.id, impact: v.impact ?? '', help: v.help,
		targets: v.nodes.map(n => n.target.join(' ')),
	})),
}))`

// checkAccessibility fails the test for every serious or critical axe-core
// violation on the page shown, and logs the others.
func checkAccessibility(t *testing.T, tab context.Context, axe string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	res, err := chromedp.Run(tab, chromedp.Evaluate[struct {
		Passes     int            `json:"passes"`
		Violations []axeViolation `json:"violations"`
	}](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core: %v", err)
	}
	if res.Passes == 0 {
		t.Fatal("axe-core checked nothing on the page")
	}
	for _, v := range res.Violations {
		msg := fmt.Sprintf("accessibility: %s (%s): %s\n\t%s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, "\n\t"))
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}

// consoleErrors collects a tab's errors about the hub's own pages: console
// errors (a resource that failed to load, a CSP violation) and uncaught
// exceptions. Errors about other hosts (embeds, which the test browser
// cannot reach) are left out.
type consoleErrors struct {
	mu   sync.Mutex
	errs []string
}

func watchConsole(t *testing.T, tab context.Context, base string) *consoleErrors {
	t.Helper()
	c := &consoleErrors{}
	ours := func(u string) bool {
		// Browsers ask every site for /favicon.ico; the hub has none (its
		// logo is a wordmark, unreadable at 16px), so that 404 is expected.
		return (u == "" || strings.HasPrefix(u, base+"/")) && u != base+"/favicon.ico"
	}
	err := chromedp.Listen(tab, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if e := ev.Entry; e.Level == log.EntryLevelError && ours(e.URL) {
				msg = fmt.Sprintf("%s: %s %s", e.Source, e.Text, e.URL)
			}
		case *runtime.EventExceptionThrown:
			if d := ev.ExceptionDetails; ours(d.URL) {
				msg = fmt.Sprintf("exception: %s %s:%d", d.Text, d.URL, d.LineNumber+1)
			}
		}
		if msg != "" {
			c.mu.Lock()
			c.errs = append(c.errs, msg)
			c.mu.Unlock()
		}
	})
	if err == nil {
		_, err = chromedp.Call(tab, log.Enable, cdp.Empty{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// take returns the errors collected since the last call.
func (c *consoleErrors) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := c.errs
	c.errs = nil
	return errs
}

// freeAddr is a free address on 127.0.0.1, for a server whose base URL must
// be known before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// outboxLink waits for the hub to write a sign-in email to email in its
// outbox, checks the .eml file, and returns the link the outbox printed.
func outboxLink(t *testing.T, p *proc, dir, email string) string {
	t.Helper()
	eml := p.await(t, `mail to `+regexp.QuoteMeta(email)+`: .*\((\S+\.eml)\)`)
	if !filepath.IsAbs(eml) {
		eml = filepath.Join(dir, eml)
	}
	raw, err := os.ReadFile(eml)
	if err != nil || !strings.Contains(string(raw), "Subject: Your sign-in link") {
		t.Fatalf("outbox message %s: %v\n%.300s", eml, err, raw)
	}
	return p.await(t, `^\s+(http://\S+/login/t/\S+)$`)
}
