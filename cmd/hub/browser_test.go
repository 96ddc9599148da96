package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
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

// journey is one person's session in one tab.
type journey struct {
	t      *testing.T
	ctx    context.Context // the tab
	hub    *proc
	dir    string // the hub's working folder (its outbox is under .hub/state)
	base   string // http://127.0.0.1:PORT
	email  string // the contact who signs in
	client string // their client ID; the hub is at /c/CLIENT/
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
// emailed link, looks at a quote awaiting their response, an invoice with a
// balance, a portal and the requests page, and signs out.
//
// To add a journey step (approving the quote with a drawn signature, paying
// the invoice through stripe-mock, downloading a PDF, sending a request),
// insert a step after the page it starts from: open or follow to get there,
// act with chromedp actions on j.ctx, and check the page it leads to. Each
// step gets its screenshot and accessibility check without more code.
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
			j.want("heading", pg.H1, "Home")
			j.want("menu item", pg.Nav, "Home")
			j.contains("page", pg.Main, "Needs your attention", "Winter planters and holiday lighting", "Balance due")
			j.signedIn(pg, true)
		},
	},
	menuPage("Quotes", "quotes/", "Quote Q-1009", "Quote Q-1001"),
	document("quote", "Winter planters and holiday lighting", "quotes/Q-1009/", "Quote Q-1009", "Awaiting response",
		"Valid until", "Winter planter refresh", "Deposit due on approval"),
	menuPage("Invoices", "invoices/", "Invoice INV-2001", "Invoice INV-2005"),
	document("invoice", "Front courtyard renovation", "invoices/INV-2001/", "Invoice INV-2001", "Partially paid",
		"Balance due", "$5,806.25", "Payments"),
	menuPage("Portals", "portals/", "Front courtyard renovation", "Seasonal care guide"),
	{
		name: "portal",
		do:   func(j *journey) error { return j.follow("main", "Front courtyard renovation") },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, j.root()+"portals/courtyard-renovation/")
			j.want("heading", pg.H1, "Front courtyard renovation")
		},
	},
	menuPage("Requests", "requests/"),
	// More steps go here (see the comment above clientJourney).
	{
		name: "signed-out",
		do:   func(j *journey) error { return j.click(`form[action="/logout"] button`) },
		check: func(j *journey, pg page) {
			j.want("path", pg.Path, "/")
			j.want("heading", pg.H1, "Greenleaf Gardens")
			j.signedIn(pg, false)
		},
	},
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

// TestBrowserJourneys runs clientJourney in headless Chromium against `hub
// edge` serving a build of content/, at each viewport in a tab of its own
// (its own cookies) of one browser.
func TestBrowserJourneys(t *testing.T) {
	chromium := browserPath(t)
	axe := axeScript(t)

	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build"); r.code != 0 {
		t.Fatalf("hub build = %d\n%s", r.code, r.stderr)
	}
	base := "http://" + freeAddr(t)
	p := startHub(t, dir, "edge", "-addr", strings.TrimPrefix(base, "http://"), "-base-url", base)
	p.await(t, `hub edge serving`)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		// Only the hub is reached: other hosts (a portal's video and
		// calendar embeds) fail at once instead of going out.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // about 30s on an idle machine
	defer cancel()
	ctx, cancel = chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	browser, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(browser); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromium, err)
	}

	shots := filepath.Join(t.TempDir(), "screenshots")
	if a := os.Getenv("HUB_ARTIFACTS"); a != "" {
		shots = filepath.Join(a, "screenshots")
	}
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
			defer cancel()
			emulate := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.scale)}
			if vp.mobile {
				emulate = append(emulate, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
			}
			if err := chromedp.Do(tab, chromedp.EmulateViewport(vp.width, vp.height, emulate...)); err != nil {
				t.Fatal(err)
			}
			console := watchConsole(t, tab, base)
			folder := filepath.Join(shots, vp.name)
			if err := os.MkdirAll(folder, 0o755); err != nil {
				t.Fatal(err)
			}
			for i, s := range clientJourney {
				stuck := false // the step's actions failed: later steps cannot start
				t.Run(s.name, func(t *testing.T) {
					j := &journey{t: t, ctx: tab, hub: p, dir: dir, base: base, email: "dana@whitfield-dental.example", client: "whitfield-dental"}
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
					checkAccessibility(t, tab, axe)
					for _, e := range console.take() {
						t.Errorf("browser console: %s", e)
					}
				})
				if stuck {
					break
				}
			}
		})
	}
	t.Logf("screenshots in %s", shots)
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
