package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchEdge measures the edge serving an authenticated client page against
// nginx serving the same file without authentication, with wrk: edgeRounds
// alternating rounds (nginx, then the edge, then the -hub-compare edge when
// there is one), reporting the medians of the ratios.
func benchEdge(hub, dir, store string, conns int, dur time.Duration) error {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		fmt.Println("\nedge: skipped (needs wrk and nginx: apt-get install wrk nginx-light)")
		return nil
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		fmt.Println("\nedge: skipped (needs nginx: apt-get install nginx-light)")
		return nil
	}
	args := []string{"-site", filepath.Join(dir, "public"), "-keys", filepath.Join(dir, "keys"), "-state", filepath.Join(dir, "state")}
	base, stopEdge, edgePid, err := startEdge(hub, args, "")
	if err != nil {
		return err
	}
	defer stopEdge()
	// The edge to compare with (another binary on the same site and state)
	// gets the same base URL: sessions name it as their issuer.
	compareBase := ""
	if hubCompare != "" {
		b, stop, _, err := startEdge(hubCompare, args, base)
		if err != nil {
			return fmt.Errorf("-hub-compare: %w", err)
		}
		defer stop()
		compareBase = b
	}
	client := clientID(0)
	cookie, err := sessionCookie(hub, base, append(args, "-base-url", base))
	if err != nil {
		return err
	}
	page := "/c/" + client + "/invoices/"
	bundleDir, err := filepath.EvalSymlinks(filepath.Join(dir, "public", "c", client))
	if err != nil {
		return err
	}
	st, _ := os.Stat(filepath.Join(bundleDir, "invoices", "index.html"))

	// nginx over the same bundle folder, no authentication.
	nport, _ := freePort()
	ndir := filepath.Join(dir, "nginx")
	os.MkdirAll(filepath.Join(ndir, "logs"), 0o755)
	conf := fmt.Sprintf(`worker_processes auto;
daemon off;
pid %s/nginx.pid;
error_log %s/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  open_file_cache max=1000;
  types { text/html html; }
  gzip_static on;
  server { listen 127.0.0.1:%d; root %s; location /c/%s/ { alias %s/; } }
}
`, ndir, ndir, nport, dir, client, bundleDir)
	os.WriteFile(filepath.Join(ndir, "nginx.conf"), []byte(conf), 0o644)
	// nginx's workers run as nobody: the folders they read must be readable.
	for d := bundleDir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o005 != 0o005 {
			os.Chmod(d, st.Mode().Perm()|0o005)
		}
	}
	ng := exec.Command(nginx, "-p", ndir, "-c", filepath.Join(ndir, "nginx.conf"))
	ng.Stdout, ng.Stderr = os.Stderr, os.Stderr
	if err := ng.Start(); err != nil {
		return err
	}
	// SIGTERM: the master stops its workers too.
	defer func() { ng.Process.Signal(syscall.SIGTERM); ng.Wait() }()
	if err := waitHTTP(fmt.Sprintf("http://127.0.0.1:%d%sindex.html", nport, page)); err != nil {
		return fmt.Errorf("nginx did not start: %v", err)
	}

	fmt.Printf("\nedge vs nginx: GET %s (%d bytes), wrk -t2 -c%d -d%s on 127.0.0.1\n", page, st.Size(), conns, dur)
	fmt.Printf("%-60s %12s %10s %10s\n", "server", "req/s", "p50", "p99")
	run := func(name, url string, hdr ...string) (wrkResult, error) {
		a := []string{"-t2", fmt.Sprintf("-c%d", conns), "-d" + dur.String(), "--latency"}
		for _, h := range hdr {
			a = append(a, "-H", h)
		}
		out, err := exec.Command(wrk, append(a, url)...).CombinedOutput()
		if err != nil {
			return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
		}
		r := parseWrk(string(out))
		if r.non2xx > 0 {
			return r, fmt.Errorf("%s: %d responses were not 2xx", name, r.non2xx)
		}
		fmt.Printf("%-60s %12.0f %10s %10s\n", name, r.rps, r.p50, r.p99)
		return r, nil
	}
	type contender struct{ name, url string }
	edges := []contender{{"hub edge", base}}
	if compareBase != "" {
		edges = append(edges, contender{"hub edge (-hub-compare)", compareBase})
	}
	for _, enc := range []string{"identity", "gzip"} {
		ratios := make([][]float64, len(edges))
		p99s := make([][]float64, len(edges))
		for range max(edgeRounds, 1) {
			ngr, err := run("nginx, no auth (Accept-Encoding: "+enc+")", fmt.Sprintf("http://127.0.0.1:%d%sindex.html", nport, page), "Accept-Encoding: "+enc)
			if err != nil {
				return err
			}
			for i, e := range edges {
				er, err := run(e.name+", session (Accept-Encoding: "+enc+")", e.url+page, "Cookie: "+cookie, "Accept-Encoding: "+enc)
				if err != nil {
					return err
				}
				ratios[i] = append(ratios[i], er.rps/ngr.rps)
				p99s[i] = append(p99s[i], er.p99d.Seconds()/ngr.p99d.Seconds())
			}
		}
		for i, e := range edges {
			fmt.Printf("  %s/nginx (%s), median of %d: %.0f%% of the requests per second; p99 %.2fx (each round: %s; p99 %s)\n",
				e.name, enc, len(ratios[i]), 100*median(ratios[i]), median(p99s[i]), percents(ratios[i]), times(p99s[i]))
		}
	}
	if authRounds <= 0 {
		fmt.Printf("edge peak RSS: %s\n", peakRSS(edgePid))
		return nil
	}
	if err := benchAuth(nginx, dir, base, page, cookie, store, nport, run); err != nil {
		return err
	}
	fmt.Printf("edge peak RSS: %s\n", peakRSS(edgePid))
	return nil
}

// startEdge starts hub edge on a free port with args; its base URL is
// baseURL, or its own address when that is empty. It returns the address,
// how to stop it, and its process id.
func startEdge(hub string, args []string, baseURL string) (string, func(), int, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, 0, err
	}
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	if baseURL == "" {
		baseURL = addr
	}
	edge := exec.Command(hub, append([]string{"edge", "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-base-url", baseURL}, args...)...)
	var out bytes.Buffer
	edge.Stdout, edge.Stderr = &out, &out
	if err := edge.Start(); err != nil {
		return "", nil, 0, err
	}
	stop := func() { edge.Process.Kill(); edge.Wait() }
	if err := waitHTTP(addr + "/"); err != nil {
		stop()
		return "", nil, 0, fmt.Errorf("edge did not start: %v\n%s", err, out.String())
	}
	return addr, stop, edge.Process.Pid, nil
}

// benchAuth measures nginx with the shipped deploy/nginx/hub.conf (each
// request asks the edge GET /_hub/auth, decisions cached 2 s), serving
// from the disk mirror and, with store (http://HOST:PORT/BUCKET/PREFIX),
// from the published bucket, against the plain nginx on the same file,
// alternating; then the edge's auth decisions alone.
func benchAuth(nginx, dir, edgeBase, page, cookie, store string, plainPort int, run func(string, string, ...string) (wrkResult, error)) error {
	if _, err := os.Stat(filepath.Join("deploy", "nginx", "hub.conf")); err != nil {
		fmt.Printf("\nnginx auth_request: skipped (%v; run from the repository's root)\n", err)
		return nil
	}
	site, err := filepath.EvalSymlinks(filepath.Join(dir, "public"))
	if err != nil {
		return err
	}
	for d := site; d != filepath.Dir(d); d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o005 != 0o005 {
			os.Chmod(d, st.Mode().Perm()|0o005)
		}
	}
	modes := []struct{ name, store string }{{"disk mirror", ""}}
	if store != "" {
		modes = append(modes, struct{ name, store string }{"the bucket, through nginx's cache", store})
	}
	for _, mode := range modes {
		url, stop, err := startHubNginx(nginx, dir, edgeBase, mode.store)
		if err != nil {
			return err
		}
		fmt.Printf("\nnginx auth_request (deploy/nginx/hub.conf, bundles from %s) vs nginx without auth, same file, %d alternating rounds\n", mode.name, authRounds)
		for _, enc := range []string{"identity", "gzip"} {
			var ratios, p99s []float64
			for range max(authRounds, 1) {
				plain, err := run("nginx, no auth (Accept-Encoding: "+enc+")", fmt.Sprintf("http://127.0.0.1:%d%sindex.html", plainPort, page), "Accept-Encoding: "+enc)
				if err != nil {
					stop()
					return err
				}
				auth, err := run("nginx + auth_request (Accept-Encoding: "+enc+")", url+page, "Cookie: "+cookie, "Accept-Encoding: "+enc)
				if err != nil {
					stop()
					return err
				}
				ratios = append(ratios, auth.rps/plain.rps)
				p99s = append(p99s, auth.p99d.Seconds()/plain.p99d.Seconds())
			}
			r := median(ratios)
			fmt.Printf("  auth hop (%s), median of %d: %.0f%% of nginx's unauthenticated requests per second (costs %.0f%%); p99 %.2fx (each round: %s)\n", enc, len(ratios), 100*r, 100-100*r, median(p99s), percents(ratios))
		}
		stop()
	}
	fmt.Println()
	if _, err := run("edge alone: GET /_hub/auth (decisions)", edgeBase+"/_hub/auth", "Cookie: "+cookie, "X-Original-URI: "+page); err != nil {
		return err
	}
	return nil
}

// startHubNginx runs nginx with deploy/nginx/hub.conf in front of the edge,
// bundles from the disk mirror or (store set) the bucket; it returns
// nginx's address and how to stop it.
func startHubNginx(nginx, dir, edgeBase, store string) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	state, err := os.MkdirTemp(dir, "nginx-auth-")
	if err != nil {
		return "", nil, err
	}
	os.Chmod(state, 0o755)
	cache := filepath.Join(state, "auth-cache")
	shm, err := os.MkdirTemp("/dev/shm", "hub-auth-") // a tmpfs, as docs/deploy.md advises
	if err == nil {
		os.Chmod(shm, 0o755) // nginx's workers run as nobody
		cache = shm
	}
	snippet := "hub-bundles-disk.conf"
	if store != "" {
		snippet = "hub-bundles-s3.conf"
	}
	r := strings.NewReplacer("@LISTEN@", fmt.Sprintf("127.0.0.1:%d", port), "@EDGE@", strings.TrimPrefix(edgeBase, "http://"),
		"@SITE@", filepath.Join(dir, "public"), "@STATE@", state, "@CACHE@", cache, "@MIME@", "/etc/nginx/mime.types",
		"@BUNDLES@", filepath.Join(state, snippet), "@STORE@", store)
	for _, name := range []string{"hub.conf", snippet} {
		tmpl, err := os.ReadFile(filepath.Join("deploy", "nginx", name))
		if err != nil {
			return "", nil, err
		}
		os.WriteFile(filepath.Join(state, name), []byte(r.Replace(string(tmpl))), 0o644)
	}
	ng := exec.Command(nginx, "-p", state, "-c", filepath.Join(state, "hub.conf"), "-g", "daemon off;")
	ng.Stdout, ng.Stderr = os.Stderr, os.Stderr
	if err := ng.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		ng.Process.Signal(syscall.SIGTERM)
		ng.Wait()
		if shm != "" {
			os.RemoveAll(shm)
		}
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(url + "/"); err != nil {
		stop()
		return "", nil, fmt.Errorf("nginx (hub.conf) did not start: %v", err)
	}
	return url, stop, nil
}

// authRounds is -auth-rounds (0 skips the auth hop), edgeRounds
// -edge-rounds, hubCompare -hub-compare, serveSaves -saves.
var (
	authRounds = 3
	edgeRounds = 3
	hubCompare string
	serveSaves = 7
)

// median of xs.
func median[T ~int64 | ~float64](xs []T) T {
	xs = slices.Sorted(slices.Values(xs))
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func percents(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f%%", 100*x)
	}
	return strings.Join(parts, " ")
}

func times(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2fx", x)
	}
	return strings.Join(parts, " ")
}

type wrkResult struct {
	rps      float64
	p50, p99 string
	p99d     time.Duration
	non2xx   int
}

func parseWrk(s string) wrkResult {
	var r wrkResult
	if m := regexp.MustCompile(`Requests/sec:\s+([\d.]+)`).FindStringSubmatch(s); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := regexp.MustCompile(`\s50%\s+(\S+)`).FindStringSubmatch(s); m != nil {
		r.p50 = m[1]
	}
	if m := regexp.MustCompile(`\s99%\s+(\S+)`).FindStringSubmatch(s); m != nil {
		r.p99 = m[1]
		r.p99d, _ = time.ParseDuration(strings.Replace(m[1], "us", "µs", 1))
	}
	if m := regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`).FindStringSubmatch(s); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	return r
}

// benchStartup measures the edge's start-up: the time from starting hub
// edge to the first page of a signed-in client served, and the CPU it
// used by then; three starts.
func benchStartup(hub, dir string) error {
	args := []string{"-site", filepath.Join(dir, "public"), "-keys", filepath.Join(dir, "keys"), "-state", filepath.Join(dir, "state")}
	start := func() (*exec.Cmd, string, error) {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		cmd := exec.Command(hub, append([]string{"edge", "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-base-url", base}, args...)...)
		return cmd, base, cmd.Start()
	}
	stop := func(cmd *exec.Cmd) { cmd.Process.Kill(); cmd.Wait() }
	cmd, base, err := start()
	if err != nil {
		return err
	}
	if err := waitHTTP(base + "/"); err != nil {
		stop(cmd)
		return fmt.Errorf("edge did not start: %v", err)
	}
	client := clientID(0)
	cookie, err := sessionCookie(hub, base, append(args, "-base-url", base))
	stop(cmd)
	if err != nil {
		return err
	}
	var times, cpus []time.Duration
	for range 3 {
		t0 := time.Now()
		cmd, base, err := start()
		if err != nil {
			return err
		}
		for {
			req, _ := http.NewRequest("GET", base+"/c/"+client+"/invoices/", nil)
			req.Header.Set("Cookie", cookie)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
				stop(cmd)
				return fmt.Errorf("first page: %s", resp.Status)
			}
			if time.Since(t0) > 5*time.Minute {
				stop(cmd)
				return fmt.Errorf("the edge did not serve within 5 minutes")
			}
			time.Sleep(time.Millisecond)
		}
		times = append(times, time.Since(t0))
		cpus = append(cpus, cpuTime(cmd.Process.Pid))
		stop(cmd)
	}
	slices.Sort(times)
	slices.Sort(cpus)
	fmt.Printf("\nedge start-up: hub edge started → a signed-in client's page served: median %s (best %s, worst %s; CPU by then median %s; 3 starts)\n",
		times[1].Round(time.Millisecond), times[0].Round(time.Millisecond), times[2].Round(time.Millisecond), cpus[1].Round(time.Millisecond))
	return nil
}

func peakRSS(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(sc.Text())[1])
			return fmt.Sprintf("%.0f MB", float64(kb)/1024)
		}
	}
	return "unknown"
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(url string) error {
	var err error
	for i := 0; i < 100; i++ {
		var resp *http.Response
		if resp, err = http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}
