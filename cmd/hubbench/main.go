// Command hubbench measures hub builds of a generated site: a cold full
// build, a no-op rebuild and a rebuild after one invoice changed, each with
// wall time, pages per second and the peak RSS of the hub process, and
// what PDFs cost: the cold build is also run with -no-pdf.
//
//	go run ./cmd/hubbench -n 10000 -hub bin/hub
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/hubhq/hub/internal/pgtest"
)

func main() {
	n := flag.Int("n", 10000, "number of clients")
	hub := flag.String("hub", "bin/hub", "the hub binary")
	dir := flag.String("dir", "", "work folder (default: a temporary folder, removed afterwards)")
	conns := flag.Int("c", 64, "connections for the edge benchmark")
	dur := flag.Duration("d", 10*time.Second, "duration of each edge benchmark run")
	skipEdge := flag.Bool("skip-edge", false, "skip the edge benchmark")
	flag.IntVar(&authRounds, "auth-rounds", 3, "alternating rounds of nginx with and without auth_request (the median is reported; 0 skips the auth hop)")
	flag.IntVar(&edgeRounds, "edge-rounds", 3, "alternating rounds of nginx and the edge (the median is reported)")
	flag.IntVar(&serveSaves, "saves", 7, "saves of one invoice timed in the hub serve benchmark (the median is reported)")
	flag.StringVar(&hubCompare, "hub-compare", "", "another hub binary (say, before a change) to measure in the same edge rounds, on the same site")
	only := flag.String("only", "", `"serve", "edge", "startup", "stores" or "hugo": only that part, on a site left in -dir by an earlier run; "generate": only write the site's content into -dir`)
	pg := flag.String("pg", os.Getenv("HUB_BENCH_POSTGRES"), `a PostgreSQL URL (an empty database) to measure the edges on it too (env HUB_BENCH_POSTGRES); "local" starts a server of its own when PostgreSQL is installed (the default), "none" measures SQLite only`)
	hugo := flag.String("hugo", findHugo(), "a hugo binary: also build the same pages with Hugo and print both (env HUB_BENCH_HUGO; default: hugo on PATH or in GOPATH/bin; GOTOOLCHAIN=local go install github.com/gohugoio/hugo@v0.165.0); \"none\" skips it")
	hugoRounds := flag.Int("hugo-rounds", 3, "alternating rounds of the Hugo comparison (medians are printed)")
	flag.Parse()
	if *only != "" {
		if *dir == "" {
			fmt.Fprintln(os.Stderr, "hubbench: -only needs -dir")
			os.Exit(2)
		}
		abs, _ := filepath.Abs(*hub)
		var err error
		switch *only {
		case "generate":
			err = Generate(filepath.Join(*dir, "content"), *n)
		case "serve":
			err = benchServe(abs, *dir, *n)
		case "edge":
			err = benchEdge(abs, *dir, "", *conns, *dur)
		case "startup":
			err = benchStartup(abs, *dir)
		case "stores":
			stores, stop := storesOf(*dir, *pg)
			err = benchStores(abs, *dir, *n, *conns, *dur, stores)
			stop()
		case "hugo":
			err = onlyHugo(*hugo, abs, *dir, *n, *hugoRounds)
		default:
			err = fmt.Errorf("-only %s: use generate, serve, edge, startup, stores or hugo", *only)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "hubbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*n, *hub, *dir, *conns, *dur, *skipEdge, *pg, *hugo, *hugoRounds); err != nil {
		fmt.Fprintln(os.Stderr, "hubbench:", err)
		os.Exit(1)
	}
}

// storesOf is the stores to measure: a SQLite folder in dir, and
// PostgreSQL: at the URL pg, or a server of its own ("local", or ""; it
// is stopped by the returned func), or none ("none").
func storesOf(dir, pg string) ([]benchStore, func()) {
	st := []benchStore{{"SQLite", filepath.Join(dir, "state")}}
	switch pg {
	case "none":
		return st, func() {}
	case "", "local":
		srv, err := pgtest.StartServer()
		if err != nil {
			fmt.Println("stores: PostgreSQL skipped:", err)
			return st, func() {}
		}
		url, err := srv.Database(context.Background(), "hubbench")
		if err != nil {
			srv.Stop()
			fmt.Println("stores: PostgreSQL skipped:", err)
			return st, func() {}
		}
		return append(st, benchStore{"PostgreSQL", url}), func() { srv.Stop() }
	}
	return append(st, benchStore{"PostgreSQL", pg}), func() {}
}

func run(n int, hub, dir string, conns int, dur time.Duration, skipEdge bool, pg, hugo string, hugoRounds int) error {
	hub, _ = filepath.Abs(hub)
	if dir == "" {
		d, err := os.MkdirTemp("", "hubbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	content := filepath.Join(dir, "content")
	t0 := time.Now()
	if err := Generate(content, n); err != nil {
		return err
	}
	fmt.Printf("generated %d clients (a portal, 3 quotes and 5 invoices each) in %s\n\n", n, time.Since(t0).Round(time.Millisecond))
	fmt.Printf("%-28s %10s %8s %10s %12s %10s %8s %10s\n", "build", "wall", "clients", "pages", "pages/s", "peak RSS", "PDFs", "PDFs/s")
	args := []string{"build", "-content", content, "-out", filepath.Join(dir, "public"), "-keys", filepath.Join(dir, "keys")}
	noPDF := []string{"build", "-content", content, "-out", filepath.Join(dir, "public-nopdf"), "-keys", filepath.Join(dir, "keys"), "-full", "-no-pdf"}
	var cold, coldNoPDF result
	steps := []struct {
		name   string
		before func() error
		extra  []string
		args   []string // instead of args + extra
		keep   *result
		after  string // a hub publish step afterwards
	}{
		{name: "cold full build, no PDFs", args: noPDF, keep: &coldNoPDF},
		{name: "cold full build", extra: []string{"-full"}, keep: &cold, after: "cold"},
		{name: "no-op rebuild"},
		{name: "one invoice changed", before: func() error {
			f := filepath.Join(content, "clients", clientID(n/2), "invoices", "INV-"+strconv.Itoa(n/2)+"-3.yaml")
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			return os.WriteFile(f, bytes.Replace(b, []byte("subject: "), []byte("subject: Revised "), 1), 0o644)
		}, after: "one invoice changed"},
	}
	pb, err := newPublishBench(hub, dir)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if pb != nil {
		defer pb.close()
	}
	for _, s := range steps {
		if s.before != nil {
			if err := s.before(); err != nil {
				return err
			}
		}
		a := s.args
		if a == nil {
			a = append(append([]string{}, args...), s.extra...)
		}
		r, err := measure(hub, a...)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if s.keep != nil {
			*s.keep = r
		}
		pps, pdfps := "-", "-"
		if r.pages > 0 {
			pps = fmt.Sprintf("%.0f", float64(r.pages)/r.wall.Seconds())
		}
		if r.pdfs > 0 {
			pdfps = fmt.Sprintf("%.0f", float64(r.pdfs)/r.wall.Seconds())
		}
		fmt.Printf("%-28s %10s %8d %10d %12s %8.0f MB %8d %10s\n", s.name, r.wall.Round(time.Millisecond), r.rendered, r.pages, pps, float64(r.maxRSS)/1024, r.pdfs, pdfps)
		if s.after != "" && pb != nil {
			if err := pb.step(s.after); err != nil {
				return err
			}
		}
	}
	if cold.pdfs > 0 {
		fmt.Printf("\nPDFs in the cold build: %d rendered (%d reused) in %s of rendering summed over workers (%.0f PDFs/s per worker);\n"+
			"they add %s to the cold build's wall time (%s without them).\n",
			cold.pdfs, cold.pdfsReused, cold.pdfTime.Round(time.Millisecond), float64(cold.pdfs)/cold.pdfTime.Seconds(),
			(cold.wall - coldNoPDF.wall).Round(time.Millisecond), coldNoPDF.wall.Round(time.Millisecond))
	}
	if hugo == "" || hugo == "none" {
		fmt.Println("\nhub vs Hugo: skipped (no hugo binary: GOTOOLCHAIN=local go install github.com/gohugoio/hugo@v0.165.0, or -hugo BIN)")
	} else {
		if err := benchHugo(hugo, hub, dir, content, n, hugoRounds); err != nil {
			return fmt.Errorf("hugo: %w", err)
		}
	}
	r, err := measure(hub, "verify", "-out", filepath.Join(dir, "public"), "-keys", filepath.Join(dir, "keys"))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Printf("%-28s %10s %8s %10s %12s %8.0f MB\n", "hub verify (all bundles)", r.wall.Round(time.Millisecond), "", "", "", float64(r.maxRSS)/1024)
	if err := benchServe(hub, dir, n); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if skipEdge {
		return nil
	}
	store := ""
	if pb != nil {
		if store, err = pb.store(); err != nil {
			return err
		}
	}
	if err := benchEdge(hub, dir, store, conns, dur); err != nil {
		return err
	}
	stores, stop := storesOf(dir, pg)
	defer stop()
	return benchStores(hub, dir, n, conns, dur, stores)
}

type result struct {
	wall       time.Duration
	cpu        time.Duration // user + system
	user       time.Duration // user alone: on a shared disk, system time follows the disk's other work
	maxRSS     int64         // KiB
	rendered   int
	pages      int
	pdfs       int
	pdfsReused int
	pdfTime    time.Duration // rendering, summed over workers
}

var (
	summaryRE = regexp.MustCompile(`\((\d+) rendered\), (\d+) pages`)
	pdfRE     = regexp.MustCompile(`(\d+) PDFs \((\d+) reused, (\S+) rendering\)`)
)

func measure(hub string, args ...string) (result, error) {
	cmd := exec.Command(hub, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{wall: time.Since(start)}
	if err != nil {
		return r, fmt.Errorf("%v\n%s%s", err, out.String(), errb.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		r.user = time.Duration(ru.Utime.Nano())
	}
	if m := summaryRE.FindStringSubmatch(out.String()); m != nil {
		r.rendered, _ = strconv.Atoi(m[1])
		r.pages, _ = strconv.Atoi(m[2])
	}
	if m := pdfRE.FindStringSubmatch(out.String()); m != nil {
		r.pdfs, _ = strconv.Atoi(m[1])
		r.pdfsReused, _ = strconv.Atoi(m[2])
		r.pdfTime, _ = time.ParseDuration(m[3])
	}
	return r, nil
}
