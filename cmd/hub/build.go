package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/hubhq/hub/generator"
	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/site"
	"github.com/hubhq/hub/themes"
	"golang.org/x/term"
)

// defaultKeys is where signing keys live unless -keys or HUB_KEYS says
// otherwise: inside a git-ignored folder of the working directory.
func defaultKeys() string {
	if k := os.Getenv("HUB_KEYS"); k != "" {
		return k
	}
	return filepath.Join(".hub", "keys")
}

type buildFlags struct {
	content, out, keys, state *string
	full, noPDF               *bool
	workers                   *int
}

func addBuildFlags(fs *flag.FlagSet) buildFlags {
	return buildFlags{
		content: fs.String("content", "content", "content folder"),
		out:     fs.String("out", "public", "output path (a link to the current build)"),
		keys:    fs.String("keys", defaultKeys(), "signing keys folder (env HUB_KEYS); keep it out of git"),
		full:    fs.Bool("full", false, "render every client, ignoring what earlier builds recorded"),
		workers: fs.Int("j", 0, "clients built in parallel (default: number of CPUs)"),
		state:   fs.String("state", envOr("HUB_STATE", filepath.Join(".hub", "state")), stateUsage+"; the pages show its payments, approvals and requests"),
		noPDF:   fs.Bool("no-pdf", false, "leave out PDFs, document zips and the links to them; for measuring what they cost"),
	}
}

func (b buildFlags) options(now time.Time) generator.Options {
	return generator.Options{Content: *b.content, Out: *b.out, Keys: *b.keys, Theme: themes.Default(), Now: now, Full: *b.full, Workers: *b.workers, NoPDF: *b.noPDF}
}

func cmdBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("build", stderr)
	bf := addBuildFlags(fs)
	pf := addPublishFlags(fs, "publish", "after the build, publish it to s3://BUCKET/PREFIX (see hub publish)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the build to this file (for measuring; go tool pprof reads it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	tuneGC()
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	opt := bf.options(time.Now())
	opt.Waiting = func() {
		fmt.Fprintf(stderr, "waiting for another build of %s to finish (the edge's, or hub serve's)\n", opt.Out)
	}
	st, err := openState(ctx, *bf.state, true)
	if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
		opt.Events = st
	}
	if _, err = build(ctx, opt, stdout, stderr); err != nil || *pf.to == "" {
		return err
	}
	b, r, err := pf.open(ctx, "publish")
	if err != nil {
		return err
	}
	return publishBuild(ctx, pf, b, r, opt.Out, opt.Keys, stdout)
}

// A build allocates and drops a client's pages, PDFs and sidecars over and
// over while it keeps little: the default GOGC of 100 spends about a third
// of its CPU collecting. Collecting at 5× the live heap instead (about 250
// MB at 1,000 clients rather than 85 MB) saves about 30% of the CPU; the
// (soft) memory limit makes the collector run sooner as the heap nears the
// 400 MB budget, so a bigger site costs CPU rather than memory.
const (
	buildGCPercent   = 400
	buildMemoryLimit = 350 << 20
)

// tuneGC sets the collector for a build, unless GOGC or GOMEMLIMIT say
// otherwise.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(buildGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(buildMemoryLimit)
	}
}

// startCPUProfile profiles the process's CPU into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// build runs a build with progress and a summary.
func build(ctx context.Context, opt generator.Options, stdout, stderr io.Writer) (*generator.Result, error) {
	p := newProgress(stderr)
	opt.Progress = p.update
	res, err := generator.Build(ctx, opt)
	p.finish()
	var ps site.Problems
	if errors.As(err, &ps) {
		printProblems(stderr, ps)
		fmt.Fprintln(stderr, "build stopped: nothing was written; the previous output is unchanged")
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	summarize(res, opt, stdout, stderr)
	return res, nil
}

// summarize prints what a build did.
func summarize(res *generator.Result, opt generator.Options, stdout, stderr io.Writer) {
	if res.NewKey {
		fmt.Fprintf(stderr, "made a new signing key %s in %s (keep that folder out of git; see docs/architecture.md)\n", res.KeyID, opt.Keys)
	}
	if res.UpToDate {
		fmt.Fprintf(stdout, "%s is up to date: %d clients, nothing changed (%s)\n", opt.Out, res.Clients, res.Elapsed.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(stdout, "built %s: %d clients (%d rendered), %d pages, %d PDFs (%d reused, %s rendering), %d files, %s in %s\n",
		opt.Out, res.Clients, res.Rendered, res.Pages, res.PDFs, res.PDFsReused, res.PDFTime.Round(time.Millisecond), res.Files, sizeString(res.Bytes), res.Elapsed.Round(time.Millisecond))
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progress draws a bar on a terminal, and a plain line per tenth otherwise.
type progress struct {
	w      io.Writer
	tty    bool
	mu     sync.Mutex
	last   time.Time
	decile int
	drawn  bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if total < 20 {
		return
	}
	if p.tty {
		if time.Since(p.last) < 100*time.Millisecond && done != total {
			return
		}
		p.last = time.Now()
		const width = 30
		n := done * width / total
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d clients", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total)
		p.drawn = true
		return
	}
	if d := done * 10 / total; d > p.decile {
		p.decile = d
		fmt.Fprintf(p.w, "built %d/%d clients\n", done, total)
	}
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	out := fs.String("out", "public", "output path of hub build")
	keysDir := fs.String("keys", defaultKeys(), "keys folder (only the public keys, *.pub, are read)")
	pf := addStoreFlags(fs, "from", "check what is published at s3://BUCKET/PREFIX instead of -out")
	full := fs.Bool("full", false, "with -from: read every blob and check its SHA-256 (else sizes from the listing)")
	if err := parse(fs, args); err != nil {
		return err
	}
	keys, err := bundle.LoadKeySet(*keysDir)
	if err != nil {
		return err
	}
	if *pf.to != "" {
		return verifyPublished(ctx, pf, keys, *full, stdout, stderr)
	}
	rep, err := generator.Verify(*out, keys)
	if err != nil {
		return err
	}
	printFailures(stderr, rep.Failures)
	if len(rep.Failures) > 0 {
		return fmt.Errorf("%d of %d bundles (and public files) failed verification", len(rep.Failures), rep.Bundles+1)
	}
	fmt.Fprintf(stdout, "%s: generation %s ok: %d bundles and the public files, %d files, all signatures and hashes match\n", *out, rep.Generation, rep.Bundles, rep.Files)
	return nil
}

// printFailures writes one FAIL line per failure, its further lines indented.
func printFailures(w io.Writer, fails []error) {
	for _, f := range fails {
		fmt.Fprintf(w, "FAIL %s\n", strings.ReplaceAll(f.Error(), "\n", "\n     "))
	}
}

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys", stderr)
	dir := fs.String("keys", defaultKeys(), "keys folder (env HUB_KEYS); keep it out of git")
	if err := parse(fs, args); err != nil {
		return err
	}
	k, err := bundle.GenerateKey(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s in %s; the next build signs with it (older public keys stay trusted until you delete them)\n", k.ID, *dir)
	return nil
}
