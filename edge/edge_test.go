package edge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/sqlstore"
	"github.com/hubhq/hub/generator"
	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/themes"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memMailer keeps sent messages.
type memMailer struct {
	mu   sync.Mutex
	msgs []edge.Message
	sent chan edge.Message
}

func (m *memMailer) Send(ctx context.Context, msg edge.Message) error {
	m.mu.Lock()
	m.msgs = append(m.msgs, msg)
	m.mu.Unlock()
	select {
	case m.sent <- msg:
	default:
	}
	return nil
}

func (m *memMailer) count() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.msgs) }

func (m *memMailer) all() []edge.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

// unread puts back an email taken from sent that its taker did not want.
func (m *memMailer) unread(msg edge.Message) {
	select {
	case m.sent <- msg:
	default:
	}
}

// fixture is an edge serving a build of the sample content on 127.0.0.1.
type fixture struct {
	t       testing.TB
	content string
	out     string
	keysDir string
	srv     *edge.Server
	url     string
	store   *sqlstore.Store
	mail    *memMailer
	clock   *clock
	logs    *syncBuffer
	cancel  context.CancelFunc
	// checkout, when set before start, takes payments; builder rebuilds
	// clients after the edge records something.
	checkout edge.Checkout
	builder  *generator.Builder
	// tune, when set before start, edits the edge's configuration.
	tune func(*edge.Config)
	// wrap, when set before start, stands between the edge and the store.
	wrap    func(edge.Store) edge.Store
	proxies edge.Proxies // trusted proxies, when set before start
}

// syncBuffer collects the edge's log; changed is signalled (without
// blocking) after every write, so a test can wait for what the edge does.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var buildNow = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

// newFixture builds a copy of the sample content (edited by edit, if set)
// and starts an edge on it.
func newFixture(t testing.TB, edit func(content string)) *fixture {
	t.Helper()
	return newFixtureWith(t, edit, nil)
}

// sampleBuild is the sample content built once per test binary (content,
// output and keys under one folder): a fixture without edits starts from
// a copy of it instead of building again.
var sampleBuild = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "edge-sample-")
	if err != nil {
		return "", err
	}
	if err := os.CopyFS(filepath.Join(dir, "content"), os.DirFS("../content")); err != nil {
		return "", err
	}
	opt := generator.Options{Content: filepath.Join(dir, "content"), Out: filepath.Join(dir, "public"), Keys: filepath.Join(dir, "keys"), Theme: themes.Default(), Now: buildNow}
	_, err = generator.Build(context.Background(), opt)
	return dir, err
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := sampleBuild(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// copyTree copies a folder, keeping symbolic links as links (a build's
// output is links to generations and bundles).
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newFixtureWith is newFixture with setup run before the edge starts.
func newFixtureWith(t testing.TB, edit func(content string), setup func(*fixture)) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, content: filepath.Join(dir, "content"), out: filepath.Join(dir, "public"), keysDir: filepath.Join(dir, "keys"),
		mail: &memMailer{sent: make(chan edge.Message, 100)}, clock: &clock{t: buildNow}, logs: newSyncBuffer()}
	if edit == nil {
		sample, err := sampleBuild()
		if err != nil {
			t.Fatalf("building the sample: %v", err)
		}
		copyTree(t, sample, dir)
	} else {
		copyTree(t, "../content", f.content)
		edit(f.content)
	}
	var err error
	if f.store, err = sqlstore.Open(filepath.Join(dir, "state")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	f.builder = generator.NewBuilder(f.buildOptions())
	if edit != nil {
		f.rebuild()
	}
	if setup != nil {
		setup(f)
	}
	f.start()
	return f
}

// start runs a new edge server (on a new port) over the fixture's build and store.
func (f *fixture) start() {
	t := f.t
	t.Helper()
	keys, err := bundle.LoadKeySet(f.keysDir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.url = "http://" + ln.Addr().String()
	var st edge.Store = f.store
	if f.wrap != nil {
		st = f.wrap(st)
	}
	f.srv, err = edge.New(context.Background(), f.config(keys, mustURL(f.url)), st, f.mail)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	done := make(chan struct{})
	go func() { f.srv.Run(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// config is the fixture's edge configuration.
func (f *fixture) config(keys *bundle.KeySet, base *url.URL) edge.Config {
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := edge.Config{Out: f.out, Keys: keys, BaseURL: base, Now: f.clock.Now, Log: log, Checkout: f.checkout, TrustedProxies: f.proxies, Uploads: filepath.Join(filepath.Dir(f.out), "uploads"),
		RebuildClient: func(ctx context.Context, ids []string) error {
			var dirs []string
			for _, id := range ids {
				d, _ := filepath.Abs(filepath.Join(f.content, "clients", id))
				dirs = append(dirs, d)
			}
			_, err := f.builder.Build(ctx, dirs)
			return err
		}}
	if f.tune != nil {
		f.tune(&cfg)
	}
	return cfg
}

func (f *fixture) buildOptions() generator.Options {
	return generator.Options{Content: f.content, Out: f.out, Keys: f.keysDir, Theme: themes.Default(), Now: buildNow, Events: f.store}
}

// rebuildFresh builds as hub build does: a new Builder, reading what
// the last build recorded from disk; the edge then loads the result.
func (f *fixture) rebuildFresh() {
	f.t.Helper()
	f.builder = generator.NewBuilder(f.buildOptions())
	f.rebuild()
	if err := f.srv.Reload(); err != nil {
		f.t.Fatal(err)
	}
}

// messages composes emails as staff commands do, sending to the fixture's mailer.
func (f *fixture) messages() *edge.Messages {
	m := edge.NewMessages(f.srv.Build().Directory.Site, mustURL(f.url), f.store, f.mail, f.clock.Now, 0)
	m.Files = &edge.FileStore{Dir: f.uploads(), Ops: edge.OSFiles{}}
	return m
}

// rebuild builds the content with the fixture's Builder.
func (f *fixture) rebuild() {
	f.t.Helper()
	if _, err := f.builder.Build(context.Background(), nil); err != nil {
		f.t.Fatal(err)
	}
}

// client is a browser without redirects followed, keeping cookies.
func (f *fixture) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *fixture) do(c *http.Client, method, path string, body url.Values, hdr ...string) *http.Response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t testing.TB, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitUntil waits until cond holds, looking again each time the edge logs
// something (it logs every build it swaps in) and each time an email goes.
func (f *fixture) waitUntil(what string, cond func() bool) {
	f.t.Helper()
	timeout := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-f.logs.changed:
		case m := <-f.mail.sent:
			f.mail.unread(m)
		case <-timeout:
			f.t.Fatalf("%s: not within 10 s", what)
		}
	}
}

// awaitMail waits until, for each of want, an email sent so far satisfies
// it, and returns every email sent so far.
func (f *fixture) awaitMail(what string, want ...func(edge.Message) bool) []edge.Message {
	f.t.Helper()
	var msgs []edge.Message
	f.waitUntil("emails: "+what, func() bool {
		msgs = f.mail.all()
		for _, w := range want {
			if !slices.ContainsFunc(msgs, w) {
				return false
			}
		}
		return true
	})
	return msgs
}

// barrier returns once the edge's login worker has handled every login
// posted before: logins are handled in order, so it posts one more (for a
// contact the test does not use, after the rate limits' window) and waits
// for its email.
func (f *fixture) barrier() {
	f.t.Helper()
	f.clock.Add(time.Hour)
	email := f.contactEmail("sellwood-yoga")
	f.do(f.client(), "POST", "/login", url.Values{"email": {email}})
	f.awaitMail("the barrier's sign-in link", func(m edge.Message) bool { return m.To[0].Email == email })
}

var linkRE = regexp.MustCompile(`/login/t/([A-Za-z0-9_-]+)`)

// awaitLink waits for the next email and returns its login link's path.
func (f *fixture) awaitLink() (string, edge.Message) {
	f.t.Helper()
	select {
	case m := <-f.mail.sent:
		p := linkRE.FindString(m.Text)
		if p == "" {
			f.t.Fatalf("email %q has no login link:\n%s", m.Subject, m.Text)
		}
		return p, m
	case <-time.After(5 * time.Second):
		f.t.Fatal("no email sent")
	}
	return "", edge.Message{}
}

const dana = "dana@whitfield-dental.example"

func (f *fixture) contactEmail(client string) string {
	c, ok := f.srv.Build().Client(client)
	if !ok || len(c.Contacts) == 0 {
		f.t.Fatalf("no client %s with contacts in the sample", client)
	}
	return c.Contacts[0].Email
}

// linkFor makes a login link for a contact (of client, or of any).
func (f *fixture) linkFor(email, client string) string {
	f.t.Helper()
	m := f.messages()
	link, err := m.LoginLinkFor(context.Background(), f.srv.Build(), email, client)
	if err != nil {
		f.t.Fatal(err)
	}
	return link
}

// login signs a new browser in as the first contact of client.
func (f *fixture) login(client string) *http.Client {
	f.t.Helper()
	return f.loginAs(f.contactEmail(client), client)
}

// loginAs signs a new browser in as a contact of client.
func (f *fixture) loginAs(email, client string) *http.Client {
	f.t.Helper()
	link := f.linkFor(email, client)
	u, _ := url.Parse(link)
	c := f.client()
	r := f.do(c, "POST", u.Path, url.Values{})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/"+client+"/" {
		f.t.Fatalf("POST link = %d to %q; want 303 to the hub", r.StatusCode, r.Header.Get("Location"))
	}
	return c
}

func TestLoginFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	email := f.contactEmail("whitfield-dental")
	c := f.client()

	r := f.do(c, "POST", "/login", url.Values{"email": {strings.ToUpper(email)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login/sent/" {
		t.Fatalf("POST /login = %d %q; want 303 to /login/sent/", r.StatusCode, r.Header.Get("Location"))
	}
	link, msg := f.awaitLink()
	if msg.To[0].Email != email || !strings.Contains(msg.HTML, link) || !strings.HasPrefix(msg.Links[0], f.url+"/login/t/") {
		t.Errorf("login email = %+v; want it to %s with the link in both parts, built from the base URL", msg.To, email)
	}

	// Opening the link (GET, HEAD) shows Continue and spends nothing.
	for i := 0; i < 2; i++ {
		for _, m := range []string{"GET", "HEAD"} {
			r = f.do(c, m, link, nil)
			if r.StatusCode != 200 || len(r.Cookies()) != 0 {
				t.Fatalf("%s link = %d with cookies %v; want 200 and no cookie", m, r.StatusCode, r.Cookies())
			}
			if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("%s link headers: Cache-Control %q, Referrer-Policy %q; want no-store, no-referrer", m, r.Header.Get("Cache-Control"), r.Header.Get("Referrer-Policy"))
			}
		}
	}
	if body := readBody(t, f.do(c, "GET", link, nil)); !strings.Contains(body, `method="post"`) && !strings.Contains(body, `method=post`) {
		t.Errorf("continue page has no POST form:\n%.500s", body)
	}

	// POST spends it: a session cookie, 303 to the hub, without the token.
	r = f.do(c, "POST", link, url.Values{})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/whitfield-dental/" {
		t.Fatalf("POST link = %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == "hub_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Domain != "" {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax, Path=/, no Domain", sess)
	}
	r = f.do(c, "GET", "/c/whitfield-dental/", nil)
	if r.StatusCode != 200 || !strings.Contains(readBody(t, r), "Whitfield") {
		t.Fatalf("GET hub after login = %d", r.StatusCode)
	}
	// Used: a second POST or GET gets the invalid page.
	if r = f.do(f.client(), "POST", link, url.Values{}); r.Header.Get("Location") != "/login/invalid/" {
		t.Errorf("second POST of a link = %d %q; want /login/invalid/", r.StatusCode, r.Header.Get("Location"))
	}
	if r = f.do(f.client(), "GET", link, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a used link = %d; want 404 with the invalid page", r.StatusCode)
	}
	// The first login is recorded.
	rows, err := edge.ClientsReport(context.Background(), f.srv.Build(), f.store)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if strings.EqualFold(row.Email, email) && row.State() != "joined" {
			t.Errorf("after login, %s is %q; want joined", email, row.State())
		}
	}
	// Tokens never reach the logs.
	tok := strings.TrimPrefix(link, "/login/t/")
	if strings.Contains(f.logs.String(), tok) {
		t.Error("a login token appears in the logs")
	}
}

func TestLoginSameAnswer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	known := f.do(f.client(), "POST", "/login", url.Values{"email": {f.contactEmail("okafor-residence")}})
	f.awaitLink()
	unknown := f.do(f.client(), "POST", "/login", url.Values{"email": {"nobody@nowhere.example"}})
	kb, ub := readBody(t, known), readBody(t, unknown)
	if known.StatusCode != unknown.StatusCode || kb != ub {
		t.Errorf("known: %d %q; unknown: %d %q; want the same", known.StatusCode, kb, unknown.StatusCode, ub)
	}
	for _, h := range []http.Header{known.Header, unknown.Header} {
		h.Del("Date")
	}
	if fmt.Sprint(known.Header) != fmt.Sprint(unknown.Header) {
		t.Errorf("headers differ:\nknown   %v\nunknown %v", known.Header, unknown.Header)
	}
	f.barrier()
	if n := f.mail.count() - 1; n != 1 {
		t.Errorf("%d emails sent; want 1 (none for the unknown address)", n)
	}
}

func TestLoginLinkFromBaseURLNotHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.do(f.client(), "POST", "/login", url.Values{"email": {f.contactEmail("lindqvist")}}, "Host", "evil.example")
	_, msg := f.awaitLink()
	if !strings.HasPrefix(msg.Links[0], f.url) || strings.Contains(msg.Text, "evil.example") {
		t.Errorf("link %q; want it built from the base URL %s", msg.Links[0], f.url)
	}
}

func TestLoginRateLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	email := f.contactEmail("lindqvist")
	codes := map[int]int{}
	for i := 0; i < 12; i++ {
		codes[f.do(f.client(), "POST", "/login", url.Values{"email": {email}}).StatusCode]++
	}
	if codes[http.StatusTooManyRequests] == 0 {
		t.Errorf("12 logins from one IP: %v; want some 429", codes)
	}
	f.barrier()
	if n := f.mail.count() - 1; n > 5 {
		t.Errorf("%d emails to one address in a burst; want at most 5", n)
	}
}

func TestTokenSingleUseConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.linkFor(f.contactEmail("okafor-residence"), "")
	u, _ := url.Parse(link)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sessions := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", f.url+u.Path, strings.NewReader(""))
			resp, err := f.client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if strings.HasPrefix(resp.Header.Get("Location"), "/c/") {
				mu.Lock()
				sessions++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if sessions != 1 {
		t.Errorf("20 concurrent uses of one link made %d sessions; want exactly 1", sessions)
	}
}

func TestTokenExpiresAndIsStoredHashed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.linkFor(f.contactEmail("okafor-residence"), "")
	tok := link[strings.LastIndex(link, "/")+1:]
	if len(tok) < 22 { // 128 bits in base64url
		t.Errorf("token %q is shorter than 128 bits", tok)
	}
	db, err := os.ReadFile(filepath.Join(filepath.Dir(f.out), "state", sqlstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(filepath.Dir(f.out), "state", sqlstore.FileName+"-wal"))
	if bytes.Contains(append(db, wal...), []byte(tok)) {
		t.Error("the raw token is in the database; only its hash may be")
	}
	f.clock.Add(16 * time.Minute)
	if r := f.do(f.client(), "POST", "/login/t/"+tok, url.Values{}); r.Header.Get("Location") != "/login/invalid/" {
		t.Errorf("link after 16 minutes = %q; want /login/invalid/", r.Header.Get("Location"))
	}
}

func TestNextAfterLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.client()
	r := f.do(c, "GET", "/c/whitfield-dental/invoices/", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("GET hub without session = %d %q; want 303 to /", r.StatusCode, r.Header.Get("Location"))
	}
	f.do(c, "POST", "/login", url.Values{"email": {f.contactEmail("whitfield-dental")}})
	link, _ := f.awaitLink()
	r = f.do(c, "POST", link, url.Values{})
	if r.Header.Get("Location") != "/c/whitfield-dental/invoices/" {
		t.Errorf("after login, redirected to %q; want the page asked for", r.Header.Get("Location"))
	}
}

func TestFreshSessionEachLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	u, _ := url.Parse(f.url)
	before := c.Jar.Cookies(u)
	link := f.linkFor(f.contactEmail("whitfield-dental"), "")
	lu, _ := url.Parse(link)
	r := f.do(c, "POST", lu.Path, url.Values{})
	if r.Header.Get("Location") != "/c/whitfield-dental/" {
		t.Fatalf("second login went to %q", r.Header.Get("Location"))
	}
	after := c.Jar.Cookies(u)
	if len(before) == 0 || len(after) == 0 || before[0].Value == after[0].Value {
		t.Error("a login kept the session the browser brought; want a fresh one")
	}
	if f.do(c, "GET", "/c/okafor-residence/", nil).StatusCode == 200 {
		t.Error("the old client's hub is still open after logging in as another client")
	}
}
