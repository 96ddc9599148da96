package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a running hub process whose output is collected.
type proc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	seen  chan string
}

func startHub(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return startHubEnv(t, dir, nil, args...)
}

// startHubEnv is startHub with more environment variables (NAME=value).
func startHubEnv(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(hubBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HUB_KEYS=", "HUB_STATE=", "HUB_SMTP_URL=", "HUB_BASE_URL="), env...)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	p := &proc{cmd: cmd, seen: make(chan string, 1000)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			p.seen <- sc.Text()
		}
		close(p.seen)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("hub did not stop within 10s of SIGTERM")
		}
	})
	return p
}

// await waits for an output line matching re and returns its first group (or the match).
func (p *proc) await(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.seen:
			if !ok {
				t.Fatalf("hub exited before printing %s:\n%s", re, p.output())
			}
			if m := rx.FindStringSubmatch(l); m != nil {
				if len(m) > 1 {
					return m[1]
				}
				return m[0]
			}
		case <-timeout:
			t.Fatalf("hub did not print %s:\n%s", re, p.output())
		}
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestServeLoginJourney runs `hub serve` as make run does, signs in with
// the link it prints and through the login form and outbox, and walks pages.
func TestServeLoginJourney(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	p := startHub(t, dir, "serve", "-addr", "127.0.0.1:0")
	base := strings.TrimSuffix(p.await(t, `on (http://127\.0\.0\.1:\d+/)`), "/")
	link := p.await(t, `^\s+(http://\S+/login/t/\S+)$`)

	c := browser()
	u, _ := url.Parse(link)
	if r, _ := fetch(t, c, "GET", link, nil); r.StatusCode != 200 {
		t.Fatalf("GET printed link = %d", r.StatusCode)
	}
	r, _ := fetch(t, c, "POST", base+u.Path, url.Values{})
	hub := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(hub, "/c/") {
		t.Fatalf("POST printed link = %d %q", r.StatusCode, hub)
	}
	r, body := fetch(t, c, "GET", base+hub, nil)
	if r.StatusCode != 200 || !strings.Contains(body, "<main") {
		t.Fatalf("hub home = %d", r.StatusCode)
	}
	for _, page := range []string{"quotes/", "invoices/", "receipts/", "portals/", "requests/"} {
		if r, _ := fetch(t, c, "GET", base+hub+page, nil); r.StatusCode != 200 {
			t.Errorf("GET %s = %d", hub+page, r.StatusCode)
		}
	}

	// The login form: the email lands in the outbox and its link is printed.
	anon := browser()
	r, _ = fetch(t, anon, "POST", base+"/login", url.Values{"email": {"dana@whitfield-dental.example"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login = %d", r.StatusCode)
	}
	link2 := outboxLink(t, p, dir, "dana@whitfield-dental.example")
	u2, _ := url.Parse(link2)
	r, _ = fetch(t, anon, "POST", base+u2.Path, url.Values{})
	if r.Header.Get("Location") != "/c/whitfield-dental/" {
		t.Errorf("login via outbox link went to %q", r.Header.Get("Location"))
	}
	r, _ = fetch(t, anon, "POST", base+"/logout", url.Values{})
	if r, _ := fetch(t, anon, "GET", base+"/c/whitfield-dental/", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("hub after logout = %d; want 303 to sign in", r.StatusCode)
	}
}

// TestStaffCommands: hub link, send, delegate and clients against a running edge's state.
func TestStaffCommands(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	p := startHub(t, dir, "edge", "-addr", "127.0.0.1:0", "-base-url", "http://127.0.0.1:1")
	p.await(t, `hub edge serving`)

	r := hub(t, dir, "link", "whitfield-dental", "-print")
	if r.code != 0 || strings.Count(r.stdout, "/login/t/") != 2 {
		t.Errorf("hub link whitfield-dental -print = %d\n%s%s; want a link for each of its two contacts", r.code, r.stdout, r.stderr)
	}
	r = hub(t, dir, "link", "dana@whitfield-dental.example")
	if r.code != 0 || !strings.Contains(r.stdout, "sent a login email to dana@whitfield-dental.example") {
		t.Errorf("hub link EMAIL = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = hub(t, dir, "link", "nobody@nowhere.example"); r.code != 1 {
		t.Errorf("hub link for an unknown email = %d; want 1", r.code)
	}
	r = hub(t, dir, "send", "invoice", "INV-2001")
	if r.code != 0 || !strings.Contains(r.stdout, "sent invoice INV-2001 to") {
		t.Errorf("hub send invoice = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	emls, _ := filepath.Glob(filepath.Join(dir, ".hub", "state", "outbox", "*.eml"))
	found := false
	for _, e := range emls {
		b, _ := os.ReadFile(e)
		if strings.Contains(string(b), "Invoice INV-2001 from") {
			found = true
		}
	}
	if !found {
		t.Errorf("no outbox message about INV-2001 among %d", len(emls))
	}
	if r = hub(t, dir, "send", "quote", "Q-1007"); r.code != 1 || !strings.Contains(r.stderr, "no visible quote") {
		t.Errorf("hub send of a draft quote = %d %q; want refused", r.code, r.stderr)
	}
	r = hub(t, dir, "delegate", "whitfield-dental", "-staff", "Sam")
	if r.code != 0 || !strings.Contains(r.stdout, "/login/t/") {
		t.Errorf("hub delegate = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = hub(t, dir, "delegate", "whitfield-dental"); r.code != 1 {
		t.Errorf("hub delegate without -staff = %d; want 1", r.code)
	}
	r = hub(t, dir, "clients")
	if r.code != 0 || !regexp.MustCompile(`whitfield-dental\s+Dana Whitfield\s+dana@whitfield-dental\.example\s+invited`).MatchString(r.stdout) {
		t.Errorf("hub clients = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
