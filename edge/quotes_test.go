package edge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, h/2, color.Black)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func signatureURL(b []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
}

func (f *fixture) quoteDoc(number string) (version string, state string) {
	_, d, ok := f.srv.Build().Document(number)
	if !ok {
		f.t.Fatalf("no quote %s", number)
	}
	return d.Version, d.State
}

func editFile(t *testing.T, p, old, new string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", p, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestApproveQuoteWithSignature(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	version, state := f.quoteDoc("Q-1002")
	if state != "awaiting_response" || version == "" {
		t.Fatalf("Q-1002 = %q %q", version, state)
	}
	page := readBody(t, f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/", nil))
	for _, want := range []string{`action="/c/okafor-residence/quotes/Q-1002/approve"`, `name="version" value="` + version + `"`, `id="sig-name"`, "data-signature-pad", `action="/c/okafor-residence/quotes/Q-1002/changes"`} {
		if !strings.Contains(page, want) {
			t.Errorf("quote page lacks %q", want)
		}
	}
	sig := pngBytes(t, 300, 100)
	path := "/c/okafor-residence/quotes/Q-1002/approve"
	bad := map[string]url.Values{
		"stale version": {"version": {"0000"}, "name": {"Grace Okafor"}},
		"no name":       {"version": {version}, "name": {" "}},
		"control chars": {"version": {version}, "name": {"Grace\x00"}},
		"foreign line":  {"version": {version}, "name": {"Grace Okafor"}, "opt": {"0"}},
		"bad signature": {"version": {version}, "name": {"Grace Okafor"}, "signature": {"data:image/png;base64,AAAA"}},
		"not png":       {"version": {version}, "name": {"Grace Okafor"}, "signature": {"data:image/svg+xml;base64,PHN2Zz4="}},
	}
	want := map[string]int{"stale version": 409}
	for name, form := range bad {
		code := want[name]
		if code == 0 {
			code = 400
		}
		if r := f.do(c, "POST", path, form); r.StatusCode != code {
			t.Errorf("%s: approve = %d; want %d", name, r.StatusCode, code)
		}
	}
	form := url.Values{"version": {version}, "name": {"Grace Okafor"}, "signature": {signatureURL(sig)}, "opt": {"4"}, "nonce": {"n1"}}
	r := f.do(c, "POST", path, form, "User-Agent", "TestBrowser/1.0")
	if r.StatusCode != 303 || r.Header.Get("Location") != "/c/okafor-residence/quotes/Q-1002/" {
		t.Fatalf("approve = %d %q; want 303 back to the quote\n%s", r.StatusCode, r.Header.Get("Location"), readBody(t, r))
	}
	// The same form again (a double submit) records nothing more.
	if r := f.do(c, "POST", path, form); r.StatusCode != 303 && r.StatusCode != 409 {
		t.Errorf("second approve = %d", r.StatusCode)
	}
	facts, err := f.store.Facts(context.Background(), "okafor-residence")
	if err != nil || len(facts.Approvals) != 1 {
		t.Fatalf("approvals = %+v, %v; want one", facts, err)
	}
	a := facts.Approvals[0]
	if a.Version != version || a.Name != "Grace Okafor" || !bytes.Equal(a.Signature, sig) || len(a.Options) != 1 || a.Options[0] != 4 ||
		a.IP != "127.0.0.1" || a.UA != "TestBrowser/1.0" || a.Email != f.contactEmail("okafor-residence") || a.PageSHA == "" {
		t.Errorf("approval = %+v", a)
	}
	_, state = f.quoteDoc("Q-1002")
	if state != "approved" {
		t.Errorf("Q-1002 after approval = %s; want approved", state)
	}
	_, d, _ := f.srv.Build().Document("Q-1002")
	if d.Amount != "$6,253.71" || d.Deposit != 187611 {
		t.Errorf("approved Q-1002 total %s, deposit %d; want the chosen options' $6,253.71 and $1,876.11", d.Amount, d.Deposit)
	}
	page = readBody(t, f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/", nil))
	for _, want := range []string{">Approved<", "Approved by <strong>Grace Okafor</strong>", "signature.png", "Western red cedar bench"} {
		if !strings.Contains(page, want) {
			t.Errorf("approved quote page lacks %q", want)
		}
	}
	if strings.Contains(page, `action="/c/okafor-residence/quotes/Q-1002/approve"`) {
		t.Error("the approved quote still has an approve form")
	}
	if r := f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/signature.png", nil); r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("signature image = %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	r = f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/approval-Q-1002.pdf", nil)
	if pdfBody := readBody(t, r); r.StatusCode != 200 || !strings.HasPrefix(pdfBody, "%PDF") {
		t.Errorf("approval PDF = %d", r.StatusCode)
	} else if text := pdfText(t, []byte(pdfBody)); text != "" {
		for _, want := range []string{"Quote approval", "Grace Okafor", version, a.PageSHA, "127.0.0.1"} {
			if !strings.Contains(text, want) {
				t.Errorf("approval PDF text lacks %q", want)
			}
		}
	}
	mails := f.awaitMail("approval", func(m edge.Message) bool { return strings.Contains(m.Subject, "You approved quote Q-1002") },
		func(m edge.Message) bool { return strings.Contains(m.Subject, "Quote Q-1002 approved by") })
	var toClient, toBusiness bool
	for _, m := range mails {
		switch {
		case strings.Contains(m.Subject, "You approved quote Q-1002") && strings.Contains(m.Text, "Grace Okafor") && strings.Contains(m.Text, "$6,253.71") && strings.Contains(m.Text, a.PageSHA) &&
			regexp.MustCompile(`Optional items chosen\W+Western red cedar bench`).MatchString(m.Text) && regexp.MustCompile(`Optional items left out\W+Low-voltage path lighting`).MatchString(m.Text):
			toClient = true
		case strings.Contains(m.Subject, "Quote Q-1002 approved by") && m.To[0].Email == f.srv.Build().Directory.Site.Email:
			toBusiness = true
		}
	}
	if !toClient || !toBusiness {
		t.Errorf("emails after approval: client %v, business %v (%d sent)", toClient, toBusiness, len(mails))
	}
	if r := f.do(c, "POST", path, url.Values{"version": {version}, "name": {"Grace Okafor"}}); r.StatusCode != 409 {
		t.Errorf("approving an approved quote = %d; want 409", r.StatusCode)
	}
	// Terms must be accepted; an expired quote cannot be approved.
	p := f.login("pearl-commons-hoa")
	v6, _ := f.quoteDoc("Q-1006")
	if r := f.do(p, "POST", "/c/pearl-commons-hoa/quotes/Q-1006/approve", url.Values{"version": {v6}, "name": {"Pat Lee"}}); r.StatusCode != 400 {
		t.Errorf("approve without accepting terms = %d; want 400", r.StatusCode)
	}
	l := f.login("lindqvist")
	v8, _ := f.quoteDoc("Q-1008")
	if r := f.do(l, "POST", "/c/lindqvist/quotes/Q-1008/approve", url.Values{"version": {v8}, "name": {"Erik Lindqvist"}}); r.StatusCode != 409 {
		t.Errorf("approving an expired quote = %d; want 409", r.StatusCode)
	}
}

func TestRequestChangesThenNewVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("whitfield-dental")
	version, _ := f.quoteDoc("Q-1009")
	path := "/c/whitfield-dental/quotes/Q-1009/changes"
	if r := f.do(c, "POST", path, url.Values{"version": {version}, "message": {"  "}}); r.StatusCode != 400 {
		t.Errorf("empty change request = %d; want 400", r.StatusCode)
	}
	if r := f.do(c, "POST", path, url.Values{"version": {version}, "message": {strings.Repeat("a", 2001)}}); r.StatusCode != 400 {
		t.Errorf("long change request = %d; want 400", r.StatusCode)
	}
	form := url.Values{"version": {version}, "message": {"Could the planters be\nterracotta instead?"}, "nonce": {"same"}}
	for range 2 {
		if r := f.do(c, "POST", path, form); r.StatusCode != 303 {
			t.Fatalf("change request = %d", r.StatusCode)
		}
	}
	facts, _ := f.store.Facts(context.Background(), "whitfield-dental")
	if len(facts.Changes) != 1 {
		t.Errorf("change requests recorded = %d; want 1 (the same form twice)", len(facts.Changes))
	}
	if _, state := f.quoteDoc("Q-1009"); state != "changes_requested" {
		t.Errorf("state = %s; want changes_requested", state)
	}
	page := readBody(t, f.do(c, "GET", "/c/whitfield-dental/quotes/Q-1009/", nil))
	if !strings.Contains(page, "Changes requested") || !strings.Contains(page, "terracotta instead?") {
		t.Error("the quote page does not show the change request")
	}
	var told bool
	for _, m := range f.awaitMail("change request", func(m edge.Message) bool { return strings.Contains(m.Subject, "Changes requested on quote Q-1009") }) {
		told = told || strings.Contains(m.Subject, "Changes requested on quote Q-1009") && strings.Contains(m.Text, "terracotta")
	}
	if !told {
		t.Error("the business was not emailed the change request")
	}
	// Staff change the quote in git: a new version, awaiting a response, with its history.
	matches, _ := filepath.Glob(filepath.Join(f.content, "clients/whitfield-dental/quotes/Q-1009*.yaml"))
	editFile(t, matches[0], "title:", "title: Terracotta")
	f.rebuildFresh()
	v2, state := f.quoteDoc("Q-1009")
	if state != "awaiting_response" || v2 == version {
		t.Errorf("after the edit: state %s, version %s (was %s); want awaiting_response and a new version", state, v2, version)
	}
	page = readBody(t, f.do(c, "GET", "/c/whitfield-dental/quotes/Q-1009/", nil))
	if !strings.Contains(page, "Quote updated in answer") || !strings.Contains(page, "terracotta instead?") {
		t.Error("the new version does not show its history")
	}
	// The old version's form is refused.
	if r := f.do(c, "POST", path, url.Values{"version": {version}, "message": {"again"}}); r.StatusCode != 409 {
		t.Errorf("change request on the old version = %d; want 409", r.StatusCode)
	}
}

func TestQuoteSettingsOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(content string) {
		site := filepath.Join(content, "site.yaml")
		editFile(t, site, "require_signature: true", "require_signature: false")
		editFile(t, site, "change_requests: true", "change_requests: false")
		editFile(t, site, "requests: true", "requests: false")
	})
	c := f.login("okafor-residence")
	page := readBody(t, f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/", nil))
	for _, no := range []string{"sig-name", "data-signature-pad", "/changes"} {
		if strings.Contains(page, no) {
			t.Errorf("with the setting off, the quote page has %q", no)
		}
	}
	version, _ := f.quoteDoc("Q-1002")
	if r := f.do(c, "POST", "/c/okafor-residence/quotes/Q-1002/changes", url.Values{"version": {version}, "message": {"x"}}); r.StatusCode != 403 {
		t.Errorf("change request with change requests off = %d; want 403", r.StatusCode)
	}
	if body := readBody(t, f.do(c, "GET", "/c/okafor-residence/requests/", nil)); strings.Contains(body, "requests/new") {
		t.Error("with requests off the requests page has a form")
	}
	if r := f.do(c, "POST", "/c/okafor-residence/requests/new", url.Values{"title": {"x"}}); r.StatusCode != 404 {
		t.Errorf("request with requests off = %d; want 404", r.StatusCode)
	}
	// Without a signature requirement, approving needs no name.
	if r := f.do(c, "POST", "/c/okafor-residence/quotes/Q-1002/approve", url.Values{"version": {version}}); r.StatusCode != 303 {
		t.Errorf("approve with signatures off = %d; want 303", r.StatusCode)
	}
}

func TestDelegateCannotRespond(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.delegate("okafor-residence", "Sam")
	version, _ := f.quoteDoc("Q-1002")
	for _, p := range []string{"/c/okafor-residence/quotes/Q-1002/approve", "/c/okafor-residence/quotes/Q-1002/changes", "/c/okafor-residence/requests/new", "/c/okafor-residence/quotes/Q-1002/deposit"} {
		if r := f.do(c, "POST", p, url.Values{"version": {version}, "name": {"Sam"}, "message": {"x"}, "title": {"x"}}); r.StatusCode != 403 {
			t.Errorf("delegate POST %s = %d; want 403", p, r.StatusCode)
		}
	}
	if facts, _ := f.store.Facts(context.Background(), "okafor-residence"); len(facts.Approvals)+len(facts.Changes)+len(facts.Requests) != 0 {
		t.Errorf("a delegate recorded %+v", facts)
	}
}

func TestApproveAndPayDeposit(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, nil)
	c := f.login("whitfield-dental")
	version, _ := f.quoteDoc("Q-1009")
	_, d, _ := f.srv.Build().Document("Q-1009")
	r := f.do(c, "POST", "/c/whitfield-dental/quotes/Q-1009/approve", url.Values{"version": {version}, "name": {"Dana Whitfield"}, "pay_deposit": {"yes"}})
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "https://checkout.stripe.com/") {
		t.Fatalf("approve & pay deposit = %d %q; want 303 to Stripe", r.StatusCode, r.Header.Get("Location"))
	}
	if got := fs.last().Get("line_items[0][price_data][unit_amount]"); got != strconv.FormatInt(d.Deposit, 10) {
		t.Errorf("deposit asked %s; want %d", got, d.Deposit)
	}
	if fs.last().Get("metadata[kind]") != events.ForDeposit {
		t.Errorf("payment kind = %s", fs.last().Get("metadata[kind]"))
	}
	// The quote page shows the deposit due, with a way to pay it.
	page := readBody(t, f.do(c, "GET", "/c/whitfield-dental/quotes/Q-1009/", nil))
	if !strings.Contains(page, "Deposit due") || !strings.Contains(page, `action="/c/whitfield-dental/quotes/Q-1009/deposit"`) {
		t.Error("the approved quote does not offer to pay its deposit")
	}
	id := r.Header.Get("Location")[strings.LastIndex(r.Header.Get("Location"), "/")+1:]
	p, _ := f.store.Payment(context.Background(), id)
	if w := f.sendWebhook(event{ID: "evt_dep", Type: edge.EventSessionCompleted, Status: "paid"}.forPayment(p).payload(), time.Time{}); w.StatusCode != 200 {
		t.Fatalf("webhook = %d", w.StatusCode)
	}
	f.waitUntil("the quote page shows the deposit paid", func() bool {
		page = readBody(t, f.do(c, "GET", "/c/whitfield-dental/quotes/Q-1009/", nil))
		return strings.Contains(page, "Deposit paid")
	})
	if r := f.do(c, "POST", "/c/whitfield-dental/quotes/Q-1009/deposit", url.Values{}); r.StatusCode != 409 {
		t.Errorf("paying a paid deposit = %d; want 409", r.StatusCode)
	}
}

// multipartRequest builds a request form with photos.
func multipartRequest(t *testing.T, fields map[string]string, photos map[string][]byte) (string, *bytes.Buffer) {
	t.Helper()
	var ps [][2]any
	for _, name := range slices.Sorted(maps.Keys(photos)) {
		ps = append(ps, [2]any{name, photos[name]})
	}
	return photoForm(t, fields, ps...)
}

func (f *fixture) postMultipart(c *http.Client, path, ctype string, body *bytes.Buffer) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.url+path, body)
	req.Header.Set("Content-Type", ctype)
	r, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { r.Body.Close() })
	return r
}

func TestWorkRequestWithPhoto(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	photo := pngBytes(t, 40, 30)
	fields := map[string]string{"title": "Fix the downspout", "details": "It overflows\nin heavy rain.", "date1": "2026-12-01", "time": "morning", "property": "1", "nonce": "req-1"}
	ct, body := multipartRequest(t, fields, map[string][]byte{"downspout.png": photo})
	r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/c/okafor-residence/requests/" {
		t.Fatalf("request = %d %q\n%s", r.StatusCode, r.Header.Get("Location"), readBody(t, r))
	}
	facts, _ := f.store.Facts(context.Background(), "okafor-residence")
	if len(facts.Requests) != 1 || len(facts.Requests[0].Photos) != 1 || facts.Requests[0].Title != "Fix the downspout" {
		t.Fatalf("requests = %+v", facts.Requests)
	}
	req := facts.Requests[0]
	if b, err := os.ReadFile(req.Photos[0].Path); err != nil || !bytes.Equal(b, photo) {
		t.Errorf("stored photo: %v", err)
	}
	page := readBody(t, f.do(c, "GET", "/c/okafor-residence/requests/", nil))
	for _, want := range []string{"Fix the downspout", req.ID, "in heavy rain", "Morning", "Received"} {
		if !strings.Contains(page, want) {
			t.Errorf("requests page lacks %q", want)
		}
	}
	photoURL := "/c/okafor-residence/requests/" + req.ID + "/1-downspout.png"
	if !strings.Contains(page, photoURL) {
		t.Errorf("requests page does not show the photo %s", photoURL)
	}
	if r := f.do(c, "GET", photoURL, nil); r.StatusCode != 200 {
		t.Errorf("photo = %d", r.StatusCode)
	}
	// Another client cannot see it.
	o := f.login("whitfield-dental")
	if r := f.do(o, "GET", photoURL, nil); r.StatusCode == 200 {
		t.Error("another client opened the photo")
	}
	var told bool
	for _, m := range f.awaitMail("work request", func(m edge.Message) bool { return strings.Contains(m.Subject, "New work request") }) {
		told = told || strings.Contains(m.Subject, "New work request "+req.ID)
	}
	if !told {
		t.Error("the business was not told about the request")
	}
	// Same nonce again: recorded once. Not a photo, too many: refused.
	ct, body = multipartRequest(t, fields, nil)
	f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body)
	if facts, _ := f.store.Facts(context.Background(), "okafor-residence"); len(facts.Requests) != 1 {
		t.Errorf("a resent form recorded %d requests; want 1", len(facts.Requests))
	}
	ct, body = multipartRequest(t, map[string]string{"title": "x"}, map[string][]byte{"evil.png": []byte("<script>alert(1)</script>")})
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 400 {
		t.Errorf("a non-image photo = %d; want 400", r.StatusCode)
	}
	many := map[string][]byte{}
	for i := range 7 {
		many[string(rune('a'+i))+".png"] = photo
	}
	ct, body = multipartRequest(t, map[string]string{"title": "x"}, many)
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 400 {
		t.Errorf("7 photos = %d; want 400", r.StatusCode)
	}
	ct, body = multipartRequest(t, map[string]string{"title": ""}, nil)
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 400 {
		t.Errorf("no title = %d; want 400", r.StatusCode)
	}
	ct, body = multipartRequest(t, map[string]string{"title": "big"}, map[string][]byte{"big.png": bytes.Repeat([]byte{0}, 70<<20)})
	if r := f.postMultipart(c, "/c/okafor-residence/requests/new", ct, body); r.StatusCode != 413 {
		t.Errorf("a 70 MB upload = %d; want 413", r.StatusCode)
	}
}

func TestPublicRequestForm(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	if r := f.do(f.client(), "GET", "/request/", nil); r.StatusCode != 200 {
		t.Fatalf("GET /request/ = %d", r.StatusCode)
	}
	form := func(name, email, title, honeypot string) url.Values {
		return url.Values{"name": {name}, "email": {email}, "title": {title}, "details": {"Front yard"}, "property": {"9 Oak St, Portland"}, "website": {honeypot}}
	}
	ctx := context.Background()
	// A robot fills the honeypot: it is told all is well, nothing is recorded.
	if r := f.do(f.client(), "POST", "/request", form("Bot", "bot@example.com", "Buy now", "http://spam.example")); r.StatusCode != 303 || r.Header.Get("Location") != "/request/sent/" {
		t.Errorf("honeypot = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if rs, _ := f.store.Requests(ctx, "", 10); len(rs) != 0 {
		t.Fatalf("the honeypot recorded %d requests", len(rs))
	}
	// A new person lands in a hub of their own.
	c := f.client()
	r := f.do(c, "POST", "/request", form("Jane Q. Doe", "jane@example.com", "New hedge", ""))
	loc := r.Header.Get("Location")
	if r.StatusCode != 303 || !strings.HasPrefix(loc, "/c/new-jane-q-doe-") || !strings.HasSuffix(loc, "/requests/") {
		t.Fatalf("new person's request = %d %q; want 303 into their hub\n%s", r.StatusCode, loc, readBody(t, r))
	}
	page := readBody(t, f.do(c, "GET", loc, nil))
	if !strings.Contains(page, "New hedge") || !strings.Contains(page, "Jane Q. Doe") {
		t.Errorf("the pending client's hub does not show the request:\n%.500s", page)
	}
	var link, told bool
	for _, m := range f.awaitMail("public request", func(m edge.Message) bool { return m.To[0].Email == "jane@example.com" },
		func(m edge.Message) bool { return strings.Contains(m.Subject, "New work request") }) {
		link = link || m.To[0].Email == "jane@example.com" && strings.Contains(m.Text, "/login/t/")
		told = told || strings.Contains(m.Subject, "New work request") && strings.Contains(m.Subject, "New hedge")
		if strings.Contains(m.Subject, "New work request") && (strings.Contains(m.Subject+m.Text, "new-jane") || !strings.Contains(m.Text, "Jane Q. Doe sent")) {
			t.Errorf("the notice of a new person's request names them by id, not by name:\n%s\n%s", m.Subject, m.Text)
		}
	}
	if !link || !told {
		t.Errorf("emails: sign-in link to the person %v, notice to the business %v", link, told)
	}
	// The same email again: no session without the emailed link.
	r = f.do(f.client(), "POST", "/request", form("Jane Doe", "jane@example.com", "Also the fence", ""))
	if r.StatusCode != 303 || r.Header.Get("Location") != "/request/sent/" || len(r.Cookies()) != 0 {
		t.Errorf("second request from the same email = %d %q, cookies %v; want /request/sent/ without a session", r.StatusCode, r.Header.Get("Location"), r.Cookies())
	}
	// A client's contact: filed with that client.
	r = f.do(f.client(), "POST", "/request", form("Dana", dana, "Winter check", ""))
	if r.Header.Get("Location") != "/request/sent/" {
		t.Errorf("contact's public request = %q", r.Header.Get("Location"))
	}
	if facts, _ := f.store.Facts(ctx, "whitfield-dental"); len(facts.Requests) != 1 || facts.Requests[0].Title != "Winter check" {
		t.Errorf("whitfield-dental requests = %+v", facts.Requests)
	}
	// Bad input; rate limits.
	if r := f.do(f.client(), "POST", "/request", form("X", "not-an-email", "t", "")); r.StatusCode != 400 {
		t.Errorf("bad email = %d; want 400", r.StatusCode)
	}
	limited := false
	for i := range 8 {
		r := f.do(f.client(), "POST", "/request", form("Spam", "s"+strconv.Itoa(i)+"@example.com", "x", ""))
		limited = limited || r.StatusCode == 429
	}
	if !limited {
		t.Error("public requests are not rate-limited per IP")
	}
	if r := f.do(f.client(), "GET", "/request", nil); r.StatusCode != 405 {
		t.Errorf("GET /request = %d; want 405", r.StatusCode)
	}
}

func TestPublicRequestOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(content string) {
		editFile(t, filepath.Join(content, "site.yaml"), "requests: true", "requests: false")
	})
	if r := f.do(f.client(), "GET", "/request/", nil); r.StatusCode != 404 {
		t.Errorf("GET /request/ with requests off = %d; want 404", r.StatusCode)
	}
	if r := f.do(f.client(), "POST", "/request", url.Values{"name": {"A"}, "email": {"a@example.com"}, "title": {"x"}}); r.StatusCode != 404 {
		t.Errorf("POST /request with requests off = %d; want 404", r.StatusCode)
	}
}

// pdfText extracts a PDF's text with pdftotext ("" when it is not installed).
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		return ""
	}
	cmd := exec.Command("pdftotext", "-", "-")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestApproveDepositWhenStripeFails: the approval stands and the client is
// told the deposit payment did not start.
func TestApproveDepositWhenStripeFails(t *testing.T) {
	t.Parallel()
	f, fs := newPayFixture(t, nil)
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	c := f.login("whitfield-dental")
	version, _ := f.quoteDoc("Q-1009")
	r := f.do(c, "POST", "/c/whitfield-dental/quotes/Q-1009/approve", url.Values{"version": {version}, "name": {"Dana Whitfield"}, "pay_deposit": {"yes"}})
	body := readBody(t, r)
	if r.StatusCode != 503 || !strings.Contains(body, "is approved") || !strings.Contains(body, "could not be started") {
		t.Errorf("approve & pay with Stripe down = %d\n%.600s", r.StatusCode, body)
	}
	if _, state := f.quoteDoc("Q-1009"); state != "approved" {
		t.Errorf("Q-1009 = %s; want approved", state)
	}
}

// TestApproveRefusedWithoutPageHash: the SHA-256 of the quote page the
// client saw is the evidence of what was approved. When it cannot be had
// (here the client's bundle manifest no longer verifies), the approval is
// refused with a 503 that says so, and nothing is recorded.
func TestApproveRefusedWithoutPageHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence") // the bundle's manifest is not read yet
	version, _ := f.quoteDoc("Q-1002")
	dir, err := filepath.EvalSymlinks(filepath.Join(f.out, "c", "okafor-residence"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.sig"), []byte("AAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.do(c, "POST", "/c/okafor-residence/quotes/Q-1002/approve", url.Values{"version": {version}, "name": {"Grace Okafor"}, "opt": {"4"}})
	if body := readBody(t, r); r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "was not recorded") {
		t.Errorf("approve without the page hash = %d; want 503 saying it was not recorded\n%s", r.StatusCode, body)
	}
	facts, err := f.store.Facts(context.Background(), "okafor-residence")
	if err != nil {
		t.Fatal(err)
	}
	if facts != nil && len(facts.Approvals) > 0 {
		t.Errorf("approvals = %+v; want none recorded without the page hash", facts.Approvals)
	}
	if !strings.Contains(f.logs.String(), "approval refused") {
		t.Error("the refused approval was not logged")
	}
}
