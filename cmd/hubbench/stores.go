package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// A state store the edges run on: a SQLite folder, or a PostgreSQL URL.
type benchStore struct {
	name, state string
}

const benchWebhookSecret = "whsec_hubbench"

// benchStores measures the edge with each store, one edge and two behind
// nginx (deploy/nginx/edges.conf): requests per second for an
// authenticated page (wrk), for POST /login (wrk, a contact's email and a
// client address per request, so neither rate limit is what is measured),
// and Stripe webhook events recorded per second (signed events, each new).
func benchStores(hub, dir string, n, conns int, dur time.Duration, stores []benchStore) error {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		fmt.Println("\nstores: skipped (needs wrk: apt-get install wrk)")
		return nil
	}
	nginx, _ := exec.LookPath("nginx")
	script := filepath.Join(dir, "login.lua")
	// Each request a contact's email (some clients' contacts get a link:
	// a token and an email written to the store) from its own address.
	lua := fmt.Sprintf(`math.randomseed(os.time())
request = function()
  local i = math.random(0, %d)
  local body = "email=contact" .. i .. "%%40bench.example"
  return wrk.format("POST", "/login", {["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)}, body)
end
`, n-1)
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nedges and stores: wrk -t2 -c%d -d%s on 127.0.0.1; webhooks: %d senders for %s\n", conns, dur, conns, dur)
	fmt.Printf("%-34s %14s %9s %14s %12s %14s\n", "setup", "page req/s", "page p99", "POST /login/s", "links/s", "webhooks/s")
	for _, st := range stores {
		for _, two := range []bool{false, true} {
			name := st.name + ", one edge"
			if two {
				if nginx == "" {
					fmt.Printf("%-34s skipped (needs nginx)\n", st.name+", two edges + nginx")
					continue
				}
				name = st.name + ", two edges + nginx"
			}
			if err := benchSetup(hub, dir, nginx, wrk, script, name, st, two, conns, dur); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	fmt.Println("links/s: sign-in links recorded (token and email in the store) per second while POST /login ran.")
	return nil
}

// benchSetup runs one line of benchStores.
func benchSetup(hub, dir, nginx, wrk, script, name string, st benchStore, two bool, conns int, dur time.Duration) error {
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	edges := 1
	if two {
		edges = 2
	}
	var addrs []string
	for range edges {
		port, err := freePort()
		if err != nil {
			return err
		}
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	front := "http://" + addrs[0]
	if two {
		port, err := freePort()
		if err != nil {
			return err
		}
		front = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	args := []string{"-site", filepath.Join(dir, "public"), "-keys", filepath.Join(dir, "keys"), "-state", st.state,
		"-files", filepath.Join(dir, "files"), "-base-url", front, "-trusted-proxies", "127.0.0.1/32"}
	env := append(os.Environ(), "HUB_STRIPE_SECRET_KEY=sk_test_hubbench", "HUB_STRIPE_WEBHOOK_SECRET="+benchWebhookSecret, "HUB_STRIPE_API_URL=http://127.0.0.1:9")
	var procs []*exec.Cmd
	for _, a := range addrs {
		e := exec.Command(hub, append([]string{"edge", "-addr", a}, args...)...)
		var out bytes.Buffer
		e.Stdout, e.Stderr, e.Env = &out, &out, env
		if err := e.Start(); err != nil {
			return err
		}
		procs = append(procs, e)
		stops = append(stops, func() { e.Process.Kill(); e.Wait() })
		if err := waitHTTP("http://" + a + "/"); err != nil {
			return fmt.Errorf("edge did not start: %v\n%s", err, out.String())
		}
	}
	if two {
		stop, err := startBalancer(nginx, dir, front, addrs)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}
	cookie, err := sessionCookie(hub, front, args)
	if err != nil {
		return err
	}
	page, err := runWrk(wrk, conns, dur, front+"/c/"+clientID(0)+"/invoices/", "-H", "Cookie: "+cookie, "-H", "Accept-Encoding: gzip")
	if err != nil {
		return err
	}
	before, err := countLinks(hub, args)
	if err != nil {
		return err
	}
	login, err := runWrk(wrk, conns, dur, front, "-s", script)
	if err != nil {
		return err
	}
	after, err := countLinks(hub, args)
	if err != nil {
		return err
	}
	hooks, err := sendWebhooks(front, conns, dur)
	if err != nil {
		return err
	}
	fmt.Printf("%-34s %14.0f %9s %14.0f %12.0f %14.0f\n", name, page.rps, page.p99, login.rps, float64(after-before)/dur.Seconds(), hooks)
	return nil
}

// startBalancer runs nginx with the shipped edges.conf in front of two edges.
func startBalancer(nginx, dir, front string, addrs []string) (func(), error) {
	tmpl, err := os.ReadFile(filepath.Join("deploy", "nginx", "edges.conf"))
	if err != nil {
		return nil, fmt.Errorf("run make bench from the repository: %w", err)
	}
	ndir, err := os.MkdirTemp(dir, "nginx-")
	if err != nil {
		return nil, err
	}
	conf := strings.NewReplacer("@LISTEN@", strings.TrimPrefix(front, "http://"), "@EDGE1@", addrs[0], "@EDGE2@", addrs[1], "@STATE@", ndir).Replace(string(tmpl))
	file := filepath.Join(ndir, "edges.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	ng := exec.Command(nginx, "-p", ndir, "-c", file, "-g", "daemon off;")
	ng.Stdout, ng.Stderr = os.Stderr, os.Stderr
	if err := ng.Start(); err != nil {
		return nil, err
	}
	stop := func() { ng.Process.Signal(syscall.SIGTERM); ng.Wait() }
	if err := waitHTTP(front + "/"); err != nil {
		stop()
		return nil, fmt.Errorf("nginx did not start: %v", err)
	}
	return stop, nil
}

// sessionCookie signs in through a printed link, as a browser would.
func sessionCookie(hub, base string, args []string) (string, error) {
	out, err := exec.Command(hub, append([]string{"link", clientID(0), "-print"}, args...)...).Output()
	if err != nil {
		return "", fmt.Errorf("hub link: %v", err)
	}
	m := regexp.MustCompile(`/login/t/\S+`).Find(out)
	if m == nil {
		return "", fmt.Errorf("hub link printed no link: %s", out)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(base+string(m), "application/x-www-form-urlencoded", nil)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "hub_session" {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", fmt.Errorf("no session cookie from the login link (%s)", resp.Status)
}

func runWrk(wrk string, conns int, dur time.Duration, url string, extra ...string) (wrkResult, error) {
	a := append([]string{"-t2", fmt.Sprintf("-c%d", conns), "-d" + dur.String(), "--latency"}, extra...)
	out, err := exec.Command(wrk, append(a, url)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	return parseWrk(string(out)), nil
}

// countLinks counts the sign-in emails in the outbox (hub mail's counts).
func countLinks(hub string, args []string) (int, error) {
	out, err := exec.Command(hub, append([]string{"mail", "-n", "0"}, args...)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("hub mail: %v\n%s", err, out)
	}
	var q, s, f int
	if _, err := fmt.Sscanf(string(out), "%d queued, %d sent, %d failed", &q, &s, &f); err != nil {
		return 0, fmt.Errorf("hub mail printed %q", out)
	}
	return q + s + f, nil
}

// sendWebhooks posts signed Stripe events, each with a new id, from conns
// senders for dur, and returns the events answered 200 per second. The
// events are about Checkout Sessions the store does not know: each is
// verified, deduplicated and recorded (as refused) in one write.
func sendWebhooks(base string, conns int, dur time.Duration) (float64, error) {
	var ok, bad atomic.Int64
	var seq atomic.Int64
	stamp := time.Now().UnixNano()
	deadline := time.Now().Add(dur)
	tr := &http.Transport{MaxIdleConnsPerHost: conns}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := seq.Add(1)
				obj := map[string]any{"id": fmt.Sprintf("cs_bench_%d_%d", stamp, i), "object": "checkout.session", "payment_status": "paid",
					"amount_total": 1000, "currency": "usd", "metadata": map[string]string{"client": clientID(0), "document": "INV-0-1", "kind": "invoice"}}
				b, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("evt_bench_%d_%d", stamp, i), "object": "event", "api_version": "2023-10-16",
					"created": time.Now().Unix(), "type": "checkout.session.completed", "data": map[string]any{"object": obj}})
				sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: b, Secret: benchWebhookSecret})
				req, _ := http.NewRequest("POST", base+"/stripe/webhook", bytes.NewReader(sp.Payload))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Stripe-Signature", sp.Header)
				resp, err := c.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	tr.CloseIdleConnections()
	if ok.Load() == 0 {
		return 0, fmt.Errorf("no webhook event was answered 200 (%d failed)", bad.Load())
	}
	return float64(ok.Load()) / dur.Seconds(), nil
}
