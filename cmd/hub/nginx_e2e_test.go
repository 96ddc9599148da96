package main

import (
	"context"
	"crypto/md5"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/publish/s3bucket/s3test"
)

// nginxBin finds nginx; without it the test is skipped, unless
// HUB_REQUIRE_NGINX=1 or CI=true, where it fails.
func nginxBin(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("HUB_REQUIRE_NGINX") == "1" || os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed (apt-get install nginx-light); HUB_REQUIRE_NGINX or CI is set")
	}
	t.Skip("nginx is not installed; skipping the nginx tests")
	return ""
}

// nginxConfig fills in a shipped config (deploy/nginx/NAME): vars are
// pairs of placeholder names and values; @STATE@ is state.
func nginxConfig(t *testing.T, name, state string, vars ...string) string {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join("../../deploy/nginx", name))
	if err != nil {
		t.Fatal(err)
	}
	pairs := []string{"@STATE@", state, "@MIME@", "/etc/nginx/mime.types"}
	for i := 0; i+1 < len(vars); i += 2 {
		pairs = append(pairs, "@"+vars[i]+"@", vars[i+1])
	}
	conf := strings.NewReplacer(pairs...).Replace(string(tmpl))
	if m := regexp.MustCompile(`@[A-Z0-9]+@`).FindString(conf); m != "" {
		t.Fatalf("deploy/nginx/%s has a placeholder the test does not fill: %s", name, m)
	}
	file := filepath.Join(state, name)
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// startNginx runs nginx with the shipped hub.conf on listen, in front of
// the edge at edge, serving bundles from the disk mirror site or, with
// store (http://HOST:PORT/BUCKET/PREFIX), from the published bucket.
func startNginx(t *testing.T, bin, listen, edge, site, store string) {
	t.Helper()
	snippet := "hub-bundles-disk.conf"
	if store != "" {
		snippet = "hub-bundles-s3.conf"
	}
	bundles := nginxConfig(t, snippet, t.TempDir(), "STORE", store)
	runNginx(t, bin, "hub.conf", listen, "LISTEN", listen, "EDGE", edge, "SITE", site, "BUNDLES", bundles, "CACHE", t.TempDir())
}

// runNginx runs nginx with a shipped config (vars as for nginxConfig)
// until the test ends, and waits for it to listen. One process (no
// master: as root, workers would switch to a user that cannot read the
// test's folders).
func runNginx(t *testing.T, bin, name, listen string, vars ...string) {
	t.Helper()
	state := t.TempDir()
	conf := nginxConfig(t, name, state, vars...)
	args := []string{"-p", state, "-c", conf, "-g", "daemon off; master_process off;"}
	if out, err := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(state, "error.log"))
			t.Logf("nginx error.log:\n%s", log)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", listen); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(state, "error.log"))
			t.Fatalf("nginx exited: %v\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not listen within 10 s")
		}
		time.Sleep(10 * time.Millisecond) // polling for the listener, with a deadline
	}
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

// TestNginxAuthRequest: the real edge behind real nginx with the shipped
// config, serving bundles from the built site (disk) and from the bucket
// hub publish wrote (store, a real S3 server). nginx serves a signed-in
// client's pages; another client's are refused; without a session the
// edge asks to sign in; Range and conditional requests get nothing before
// authorisation; a logout takes effect within the stated cache time.
func TestNginxAuthRequest(t *testing.T) {
	bin := nginxBin(t)
	t.Run("disk", func(t *testing.T) { testNginx(t, bin, false) })
	t.Run("store", func(t *testing.T) { testNginx(t, bin, true) })
}

func testNginx(t *testing.T, bin string, fromStore bool) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	store := ""
	served := regexp.MustCompile(`^"[0-9a-f]+-[0-9a-f]+"$`) // nginx's ETag of a file: mtime-size
	if fromStore {
		srv := s3test.Start(t)
		srv.Bucket(t, "nginx-store", "")
		if err := srv.AllowBlobReads(context.Background(), "nginx-store", "site/"); err != nil {
			t.Fatal(err)
		}
		if r := hubEnv(t, dir, srv.Env(), "build", "-publish", "s3://nginx-store/site", "-endpoint", srv.Endpoint); r.code != 0 {
			t.Fatal(r.stderr)
		}
		store = srv.Endpoint + "/nginx-store/site"
		served = regexp.MustCompile(`^"[0-9a-f]{32}"$`) // the store's (checked against the body below)
	} else if r := hub(t, dir, "build"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	listen := freeAddr(t)
	base := "http://" + listen
	p := startHub(t, dir, "edge", "-addr", "127.0.0.1:0", "-base-url", base, "-trusted-proxies", "127.0.0.1/32")
	edgeURL := p.await(t, `on (http://127\.0\.0\.1:\d+)/`)
	startNginx(t, bin, listen, strings.TrimPrefix(edgeURL, "http://"), filepath.Join(dir, "public"), store)

	// Sign in through nginx with a printed link.
	r := hub(t, dir, "link", "whitfield-dental", "-print", "-base-url", base)
	link := regexp.MustCompile(`http://\S+/login/t/\S+`).FindString(r.stdout)
	if r.code != 0 || !strings.HasPrefix(link, base) {
		t.Fatalf("hub link -print = %d %q", r.code, r.stdout)
	}
	c := browser()
	u, _ := url.Parse(link)
	resp, _ := fetch(t, c, "POST", base+u.Path, url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/c/whitfield-dental/" {
		t.Fatalf("POST link through nginx = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Pages come from nginx's disk or the store (by the ETag: not the edge's hash).
	for _, page := range []string{"/c/whitfield-dental/", "/c/whitfield-dental/invoices/", "/c/whitfield-dental/quotes/"} {
		resp, body := get(t, c, base+page, "Accept-Encoding", "identity")
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || !strings.Contains(body, "<main") || !served.MatchString(etag) || (fromStore && etag != fmt.Sprintf(`"%x"`, md5.Sum([]byte(body)))) {
			t.Errorf("GET %s through nginx = %d ETag %q; want 200 from nginx (store: %v)", page, resp.StatusCode, etag, fromStore)
		}
		h := resp.Header
		if h.Get("Cache-Control") != "private, no-cache" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") || h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s headers = %v; want private, the edge's CSP, nosniff, text/html", page, h)
		}
	}
	resp, _ = get(t, c, base+"/c/whitfield-dental/", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("GET with gzip = %v; want the .gz sidecar", resp.Header)
	}
	resp, _ = get(t, c, base+"/c/whitfield-dental/invoices", "Range", "bytes=0-9")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/c/whitfield-dental/invoices/" {
		t.Errorf("GET a folder without its slash = %d %q; want 301 to the folder", resp.StatusCode, resp.Header.Get("Location"))
	}
	// (Identity, so that the ETag is the same file's in both requests.)
	resp, body := get(t, c, base+"/c/whitfield-dental/", "Range", "bytes=0-9", "Accept-Encoding", "identity")
	if resp.StatusCode != http.StatusPartialContent || len(body) != 10 {
		t.Errorf("signed-in Range = %d (%d bytes); want 206 with 10", resp.StatusCode, len(body))
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := get(t, c, base+"/c/whitfield-dental/", "If-None-Match", etag, "Accept-Encoding", "identity"); resp.StatusCode != http.StatusNotModified {
		t.Errorf("signed-in If-None-Match = %d; want 304", resp.StatusCode)
	}

	// Another client's hub, and paths that try to reach it.
	// (From the store, a refusal goes to the edge like a missing blob: its 404.)
	refused := http.StatusForbidden
	if fromStore {
		refused = http.StatusNotFound
	}
	for _, page := range []string{"/c/hawthorne-bistro/", "/c/hawthorne-bistro/invoices/", "/c/whitfield-dental/%2e%2e/hawthorne-bistro/", "/c/whitfield-dental/..%2fhawthorne-bistro/"} {
		if resp, body := get(t, c, base+page); resp.StatusCode != refused || strings.Contains(body, "Hawthorne") {
			t.Errorf("GET %s as whitfield-dental = %d; want %d", page, resp.StatusCode, refused)
		}
	}
	for _, page := range []string{"/c/whitfield-dental/manifest.json", "/c/whitfield-dental/.x"} {
		if resp, _ := get(t, c, base+page); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d; want 404", page, resp.StatusCode)
		}
	}

	// Without a session: the edge asks to sign in; no byte, no 206, no 304.
	anon := browser()
	for _, hdr := range [][]string{nil, {"Range", "bytes=0-9"}, {"If-None-Match", etag}} {
		resp, body := get(t, anon, base+"/c/whitfield-dental/", hdr...)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || strings.Contains(body, "<main") {
			t.Errorf("anonymous GET %v = %d %q; want 303 to sign in", hdr, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The public pages and assets still work through nginx.
	resp, home := get(t, anon, base+"/")
	css := regexp.MustCompile(`/assets/style\.[0-9a-f]+\.css`).FindString(home)
	if resp.StatusCode != 200 || css == "" {
		t.Fatalf("GET / through nginx = %d; no stylesheet link", resp.StatusCode)
	}
	if resp, _ := get(t, anon, base+css); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s = %d %q; want 200 immutable", css, resp.StatusCode, resp.Header.Get("Cache-Control"))
	}

	// Forms under /c/ reach the edge (online payments are off here: 503).
	if resp, _ := fetch(t, c, "POST", base+"/c/whitfield-dental/invoices/INV-2001/pay", url.Values{}); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST pay through nginx = %d; want the edge's 503 (payments off)", resp.StatusCode)
	}
	// A staff delegate's pages come from the edge, with its banner.
	r = hub(t, dir, "delegate", "whitfield-dental", "-staff", "Sam", "-base-url", base)
	dlink, _ := url.Parse(regexp.MustCompile(`http://\S+/login/t/\S+`).FindString(r.stdout))
	d := browser()
	if resp, _ := fetch(t, d, "POST", base+dlink.Path, url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST delegate link through nginx = %d", resp.StatusCode)
	}
	if resp, body := get(t, d, base+"/c/whitfield-dental/invoices/"); resp.StatusCode != 200 || !strings.Contains(body, "Viewing as") {
		t.Errorf("delegate GET through nginx = %d; want the page with the edge's banner", resp.StatusCode)
	}

	// Logout: refused within the auth cache's 2 s.
	bu, _ := url.Parse(base)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(bu) {
		if ck.Name == "hub_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no hub_session cookie after signing in through nginx")
	}
	if resp, _ := get(t, c, base+"/c/whitfield-dental/"); resp.StatusCode != 200 {
		t.Fatalf("GET before logout = %d", resp.StatusCode) // and the decision is cached
	}
	resp, _ = fetch(t, c, "POST", base+"/logout", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /logout through nginx = %d", resp.StatusCode)
	}
	// The browser dropped the cookie; a copy of it must stop working too.
	start := time.Now()
	stolen := browser()
	stolen.Jar.SetCookies(bu, []*http.Cookie{{Name: "hub_session", Value: session.Value}})
	for {
		resp, _ := get(t, stolen, base+"/c/whitfield-dental/")
		if resp.StatusCode == http.StatusSeeOther {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("a copy of the cookie still reads pages %s after logout; want refused within the 2 s cache", time.Since(start))
		}
		time.Sleep(50 * time.Millisecond) // polling for the cache entry to expire, with a deadline
	}
	t.Logf("logout took effect through nginx after %s", time.Since(start).Round(time.Millisecond))
}
