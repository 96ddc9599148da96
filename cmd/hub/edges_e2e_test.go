package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/internal/pgtest"
)

// edges is a site served by two hub edge processes sharing one state store
// and one built site, behind nginx (deploy/nginx/edges.conf).
type edges struct {
	dir, state string
	env        []string
	addrs      [2]string
	procs      [2]*proc
	front      string // nginx's origin
	store      stateStore
}

// startEdges builds the sample and starts two edges on state (a folder
// for SQLite, or a PostgreSQL URL) behind nginx.
func startEdges(t *testing.T, state string) *edges {
	t.Helper()
	bin := nginxBin(t)
	api := stripeMock(t)
	e := &edges{dir: t.TempDir(), state: state}
	copyContent(t, filepath.Join(e.dir, "content"))
	if r := hub(t, e.dir, "build", "-state", state); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	front := freeAddr(t)
	e.front = "http://" + front
	e.env = append(stripeEnv(api), "HUB_BASE_URL="+e.front, "HUB_STATE="+state, "HUB_FILES="+filepath.Join(e.dir, "files"))
	for i := range e.addrs {
		e.addrs[i] = freeAddr(t)
		e.start(t, i)
	}
	runNginx(t, bin, "edges.conf", front, "LISTEN", front, "EDGE1", e.addrs[0], "EDGE2", e.addrs[1])
	st, err := openState(context.Background(), state, true)
	if err != nil || st == nil {
		t.Fatalf("opening the edges' state: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	return e
}

// start runs edge i (again, after a kill) and waits for it to listen.
func (e *edges) start(t *testing.T, i int) {
	t.Helper()
	e.procs[i] = startHubEnv(t, e.dir, e.env, "edge", "-site", "public", "-content", "content", "-addr", e.addrs[i], "-trusted-proxies", "127.0.0.1/32")
	e.procs[i].await(t, `on http://127\.0\.0\.1:\d+/`)
}

// url is a path on edge i, or on nginx for i < 0.
func (e *edges) url(i int, path string) string {
	if i < 0 {
		return e.front + path
	}
	return "http://" + e.addrs[i] + path
}

// link prints a fresh sign-in link's path for a client.
func (e *edges) link(t *testing.T, client string) string {
	t.Helper()
	out := hub(t, e.dir, "link", client, "-print", "-state", e.state)
	m := regexp.MustCompile(`http://\S+(/login/t/\S+)`).FindStringSubmatch(out.stdout)
	if m == nil {
		t.Fatalf("hub link printed no link:\n%s%s", out.stdout, out.stderr)
	}
	return m[1]
}

// signIn signs a new browser in to client through edge i (nginx for i < 0).
func (e *edges) signIn(t *testing.T, i int, client string) *http.Client {
	t.Helper()
	c := browser()
	if r, _ := fetch(t, c, "POST", e.url(i, e.link(t, client)), url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/"+client+"/" {
		t.Fatalf("sign in through %d = %d to %q", i, r.StatusCode, r.Header.Get("Location"))
	}
	return c
}

// TestTwoEdgesSQLite: two edges on one machine sharing one SQLite file
// (a rolling restart, or two processes for the cores) behave as one.
func TestTwoEdgesSQLite(t *testing.T) {
	dir := t.TempDir()
	testTwoEdges(t, startEdges(t, filepath.Join(dir, "state")))
}

// TestTwoEdgesPostgres: two edges on one PostgreSQL database behave as one.
func TestTwoEdgesPostgres(t *testing.T) {
	testTwoEdges(t, startEdges(t, pgtest.Start(t)))
}

// testTwoEdges: a login link spent on one edge is spent on both; a session
// minted by one is accepted by the other and revoked on both; a payment
// started through nginx, whose webhook reaches both edges at once, is
// recorded once, emailed once, and shown paid by both.
func testTwoEdges(t *testing.T, e *edges) {
	// 20 concurrent POSTs of one link spread over the two edges: one session.
	link := e.link(t, "okafor-residence")
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	var winner *http.Client
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := browser()
			r, err := c.PostForm(e.url(i%2, link), url.Values{})
			if err != nil {
				t.Error(err)
				return
			}
			r.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			switch loc := r.Header.Get("Location"); {
			case r.StatusCode == http.StatusSeeOther && loc == "/c/okafor-residence/":
				won++
				winner = c
			case r.StatusCode == http.StatusSeeOther && loc == "/login/invalid/":
				lost++
			default:
				t.Errorf("POST link = %d to %q", r.StatusCode, loc)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 19 {
		t.Fatalf("20 concurrent uses of one link over two edges: %d sessions, %d refused; want 1 and 19", won, lost)
	}
	// The session works on both edges and through nginx.
	for i := -1; i < 2; i++ {
		if r, _ := fetch(t, winner, "GET", e.url(i, "/c/okafor-residence/"), nil); r.StatusCode != 200 {
			t.Errorf("the session on edge %d = %d; want 200", i, r.StatusCode)
		}
	}

	// Pay through nginx; Stripe's event reaches both edges at once.
	payer := e.signIn(t, 0, "okafor-residence")
	invoice := "/c/okafor-residence/invoices/INV-2002/"
	r, _ := fetch(t, payer, "POST", e.url(-1, invoice+"pay"), url.Values{"choice": {"full"}})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "https://checkout.stripe.com/") {
		t.Fatalf("pay through nginx = %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	ctx := context.Background()
	ps, err := e.store.Payments(ctx, 10)
	if err != nil || len(ps) != 1 {
		t.Fatalf("payments recorded = %+v, %v", ps, err)
	}
	body, sig := sessionEvent("evt_two_edges", edge.EventSessionCompleted, "paid", ps[0])
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = postWebhook(e.url(i, ""), body, sig)
		}()
	}
	wg.Wait()
	if codes[0] != 200 || codes[1] != 200 {
		t.Fatalf("one event delivered to both edges: %v; want 200 from both", codes)
	}
	for i := range 2 {
		waitFor(t, func() bool {
			_, b := fetch(t, payer, "GET", e.url(i, invoice), nil)
			return strings.Contains(b, ">Paid<")
		})
	}
	f, err := e.store.Facts(ctx, "okafor-residence")
	if err != nil || len(f.Payments) != 1 || f.Payments[0].State != events.PaymentPaid {
		t.Errorf("facts after one event on two edges = %+v, %v; want one paid payment", f, err)
	}
	waitFor(t, func() bool { return countMail(t, e.store, "Receipt") > 0 })
	if n := countMail(t, e.store, "Receipt"); n != 1 {
		t.Errorf("%d receipt emails; want 1", n)
	}

	// Signing out on one edge ends the session on the other too.
	other := browser()
	u, _ := url.Parse(e.front)
	other.Jar.SetCookies(u, winner.Jar.Cookies(u))
	if r, _ := fetch(t, winner, "POST", e.url(1, "/logout"), url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", r.StatusCode)
	}
	waitFor(t, func() bool {
		r, _ := fetch(t, other, "GET", e.url(0, "/c/okafor-residence/"), nil)
		return r.StatusCode != 200
	})
}

// countMail counts the outbox's emails whose subject contains s.
func countMail(t *testing.T, st stateStore, s string) int {
	t.Helper()
	ms, err := st.Mails(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if strings.Contains(m.Subject, s) {
			n++
		}
	}
	return n
}

// TestTwoEdgesKillSQLite: kill -9 one of two edges sharing SQLite under a
// stream of logins, payments and webhooks.
func TestTwoEdgesKillSQLite(t *testing.T) {
	testEdgeKills(t, startEdges(t, filepath.Join(t.TempDir(), "state")))
}

// TestTwoEdgesKillPostgres: kill -9 one of two edges on PostgreSQL under
// a stream of logins, payments and webhooks.
func TestTwoEdgesKillPostgres(t *testing.T) {
	testEdgeKills(t, startEdges(t, pgtest.Start(t)))
}

// kill stops edge i with SIGKILL: no shutdown, no flush, mid-request.
func (e *edges) kill(t *testing.T, i int) {
	t.Helper()
	p := e.procs[i]
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// testEdgeKills kills edge 0 with SIGKILL three times (starting it again
// each time) while clients sign in, start payments and Stripe delivers
// their events through nginx, retrying each event until it is answered
// 200 as Stripe does. Then nothing acknowledged is lost or doubled: every
// sign-in answered with a session has a working session, every payment
// answered with a Checkout page is recorded, every event answered 200 is
// applied once (one paid payment, one receipt email each), and edge 1,
// read directly the whole time, never fails.
func testEdgeKills(t *testing.T, e *edges) {
	const kills, perRound = 3, 6
	client, invoice := "okafor-residence", "/c/okafor-residence/invoices/INV-2002/"
	links := make([]string, kills*perRound)
	for i := range links {
		links[i] = e.link(t, client)
	}
	payer := e.signIn(t, 1, client)
	reader := e.signIn(t, 1, client)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var readFails, reads int
	wg.Add(1)
	go func() { // the survivor keeps answering
		defer wg.Done()
		for ctx.Err() == nil {
			r, err := reader.Get(e.url(1, "/c/"+client+"/"))
			reads++
			if err != nil || r.StatusCode != 200 {
				readFails++
			}
			if r != nil {
				r.Body.Close()
			}
		}
	}()

	var sessions []*http.Client
	var checkouts []string
	amount := 2000
	for round := range kills {
		var rw sync.WaitGroup
		var mu sync.Mutex
		for k := range perRound {
			rw.Add(2)
			go func() { // a sign-in
				defer rw.Done()
				c := browser()
				r, err := c.PostForm(e.url(-1, links[round*perRound+k]), url.Values{})
				if err == nil {
					r.Body.Close()
					if r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/c/"+client+"/" {
						mu.Lock()
						sessions = append(sessions, c)
						mu.Unlock()
					}
				}
			}()
			mu.Lock()
			amount++
			part := fmt.Sprintf("%d.%02d", amount/100, amount%100)
			mu.Unlock()
			go func() { // a payment started
				defer rw.Done()
				r, err := payer.PostForm(e.url(-1, invoice+"pay"), url.Values{"choice": {"part"}, "part": {part}})
				if err == nil {
					r.Body.Close()
					if loc := r.Header.Get("Location"); r.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "https://checkout.stripe.com/") {
						mu.Lock()
						checkouts = append(checkouts, loc)
						mu.Unlock()
					}
				}
			}()
			if k == perRound/2 {
				e.kill(t, 0)
			}
		}
		rw.Wait()
		e.start(t, 0)
	}

	// Every payment answered with a Checkout page is recorded.
	bg := context.Background()
	ps, err := e.store.Payments(bg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]edge.PaymentRecord{}
	for _, p := range ps {
		byURL[p.URL] = p
	}
	for _, loc := range checkouts {
		if _, ok := byURL[loc]; !ok {
			t.Errorf("payment answered with %s is not recorded", loc)
		}
	}
	// Stripe delivers each payment's event through nginx, retrying until
	// answered 200, while edge 0 is killed again midway.
	for i, p := range ps {
		if i == len(ps)/2 {
			e.kill(t, 0)
			e.start(t, 0)
		}
		body, sig := sessionEvent("evt_kill_"+p.ID, edge.EventSessionCompleted, "paid", p)
		ok := false
		for range 20 {
			if code, err := postWebhook(e.front, body, sig); err == nil && code == 200 {
				ok = true
				break
			}
		}
		if !ok {
			t.Fatalf("the event of %s was never answered 200", p.ID)
		}
	}
	stop()
	wg.Wait()

	for i, c := range sessions {
		if r, _ := fetch(t, c, "GET", e.url(-1, "/c/"+client+"/"), nil); r.StatusCode != 200 {
			t.Errorf("session %d (answered with a session) = %d; want 200", i, r.StatusCode)
		}
	}
	f, err := e.store.Facts(bg, client)
	if err != nil {
		t.Fatal(err)
	}
	paid := map[string]int{}
	for _, p := range f.Payments {
		paid[p.ID]++
		if p.State != events.PaymentPaid {
			t.Errorf("payment %s is %s; want paid", p.ID, p.State)
		}
	}
	for _, p := range ps {
		if paid[p.ID] != 1 {
			t.Errorf("payment %s appears %d times in the facts; want once", p.ID, paid[p.ID])
		}
	}
	waitFor(t, func() bool { return countMail(t, e.store, "Receipt") >= len(ps) })
	if n := countMail(t, e.store, "Receipt"); n != len(ps) {
		t.Errorf("%d receipt emails for %d payments; want one each", n, len(ps))
	}
	if readFails > 0 {
		t.Errorf("edge 1 failed %d of %d reads while edge 0 was killed", readFails, reads)
	}
	t.Logf("%d kills: %d of %d sign-ins and %d of %d payments answered, %d events applied once, %d reads of the survivor", kills+1,
		len(sessions), kills*perRound, len(checkouts), kills*perRound, len(ps), reads)
}

// TestPostgresDown: the real edge on a PostgreSQL server that stops (an
// outage) and comes back. While it is down a signed-in client still gets
// their pages, a form is answered 503 with Retry-After saying nothing was
// saved, and asking for a sign-in link is refused the same way; once it
// is back the same form records.
func TestPostgresDown(t *testing.T) {
	if pgtest.BinDir() == "" {
		if pgtest.Required() {
			t.Fatal(pgtest.SkipMessage)
		}
		t.Skip(pgtest.SkipMessage)
	}
	srv, err := pgtest.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	state, err := srv.Database(context.Background(), "outage")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build", "-state", state); r.code != 0 {
		t.Fatalf("hub build: %s", r.stderr)
	}
	addr := freeAddr(t)
	p := startHubEnv(t, dir, []string{"HUB_BASE_URL=http://" + addr, "HUB_STATE=" + state}, "edge", "-content", "content", "-addr", addr)
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	link := regexp.MustCompile(`/login/t/\S+`).FindString(hub(t, dir, "link", "okafor-residence", "-print", "-state", state).stdout)
	c := browser()
	if r, _ := fetch(t, c, "POST", base+link, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in = %d", r.StatusCode)
	}

	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	if r, _ := fetch(t, c, "GET", base+"/c/okafor-residence/", nil); r.StatusCode != 200 {
		t.Errorf("hub page with PostgreSQL down = %d; want 200", r.StatusCode)
	}
	form := url.Values{"title": {"Gutter cleaning"}, "nonce": {"outage-1"}}
	r, body := fetch(t, c, "POST", base+"/c/okafor-residence/requests/new", form)
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(body, "nothing was saved") {
		t.Errorf("work request with PostgreSQL down = %d, Retry-After %q\n%.600s", r.StatusCode, r.Header.Get("Retry-After"), body)
	}
	p.await(t, `reading session epochs and revocations`)
	if r, _ := fetch(t, browser(), "POST", base+"/login", url.Values{"email": {"grace@okafor.example"}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("asking for a sign-in link with PostgreSQL down = %d; want 503", r.StatusCode)
	}

	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	p.await(t, `state store is reachable again`)
	if r, body := fetch(t, c, "POST", base+"/c/okafor-residence/requests/new", form); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the same work request with PostgreSQL back = %d\n%.600s", r.StatusCode, body)
	}
	if r := hub(t, dir, "requests", "-state", state); !strings.Contains(r.stdout, "Gutter cleaning") {
		t.Errorf("hub requests after the outage:\n%s%s", r.stdout, r.stderr)
	}
}
