package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/mailer"
	"github.com/hubhq/hub/edge/stripepay"
	"github.com/hubhq/hub/edge/testcheckout"
	"github.com/hubhq/hub/generator"
	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/site"
	"github.com/hubhq/hub/generator/watch"
	"github.com/hubhq/hub/themes"
)

// edgeFlags are the settings shared by the edge and the staff commands.
// Secrets (the SMTP URL with its password) come from the environment, never
// from files in git.
type edgeFlags struct {
	site, state, keys, baseURL, smtp, outbox, from *string
	stripeAPI, files                               *string
	sessionTTL, mailRetry                          *time.Duration
	uploadQuota                                    *int64
	trustedProxies                                 *string
	trustProxy                                     *bool // deprecated: -trusted-proxies with the loopback addresses
	verbose                                        *bool
	// isEdge: hub edge itself, whose links never follow a local hub serve's address.
	isEdge bool
}

// filesDir is the folder for uploads and the file outbox.
func (f edgeFlags) filesDir() string { return filesDir(*f.state, *f.files) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// addEdgeFlags defines the flags every command on a built site has (the
// site, its keys, the state, the base URL); with a build's flags (hub
// serve), the built site and the keys are the build's. The others keep
// their defaults unless addMailFlags and addServerFlags define them, so
// that "hub COMMAND -h" lists only what the command uses.
func addEdgeFlags(fs *flag.FlagSet, b *buildFlags) edgeFlags {
	f := edgeFlags{
		baseURL:        fs.String("base-url", os.Getenv("HUB_BASE_URL"), "the hub's public origin, used in emailed links (env HUB_BASE_URL; default: the running hub serve's address, else site.yaml's base_url)"),
		stripeAPI:      ptr(os.Getenv("HUB_STRIPE_API_URL")),
		smtp:           ptr(os.Getenv("HUB_SMTP_URL")),
		outbox:         ptr(""),
		from:           ptr(os.Getenv("HUB_MAIL_FROM")),
		sessionTTL:     ptr(30 * 24 * time.Hour),
		trustedProxies: ptr(""),
		trustProxy:     ptr(false),
		mailRetry:      ptr(30 * time.Second),
		uploadQuota:    ptr(int64(edge.DefaultUploadQuota >> 20)),
		verbose:        ptr(false),
		files:          fs.String("files", os.Getenv("HUB_FILES"), filesUsage),
	}
	if b != nil {
		f.site, f.keys, f.state = b.out, b.keys, b.state
	} else {
		f.site = fs.String("site", "public", "the built site (hub build's -out)")
		f.keys = fs.String("keys", defaultKeys(), "keys folder; only the public keys (*.pub) are read (env HUB_KEYS)")
		f.state = fs.String("state", envOr("HUB_STATE", filepath.Join(".hub", "state")), stateUsage)
	}
	return f
}

func ptr[T any](v T) *T { return &v }

// addMailFlags defines the flags of commands that send email.
func (f *edgeFlags) addMailFlags(fs *flag.FlagSet) {
	env := *f.smtp // not shown as the default: -h would print its password
	fs.StringVar(f.smtp, "smtp", "", "SMTP server, e.g. smtp://user:pass@mail.example.com:587 (env HUB_SMTP_URL); without it mail goes to the outbox")
	*f.smtp = env
	fs.StringVar(f.outbox, "outbox", "", "folder for outgoing mail when no SMTP server is set (default: FILES/outbox)")
	fs.StringVar(f.from, "mail-from", *f.from, "sender address of emails (env HUB_MAIL_FROM; default: site.yaml's email)")
}

// addServerFlags defines the flags of the server (hub edge, hub serve), and its mail's.
func (f *edgeFlags) addServerFlags(fs *flag.FlagSet) {
	f.addMailFlags(fs)
	fs.StringVar(f.stripeAPI, "stripe-api", *f.stripeAPI, "Stripe API address, e.g. a local stripe-mock (env HUB_STRIPE_API_URL; default Stripe's)")
	fs.DurationVar(f.sessionTTL, "session-ttl", *f.sessionTTL, "how long a client stays signed in")
	fs.StringVar(f.trustedProxies, "trusted-proxies", "", "CIDRs of your reverse proxies, e.g. 127.0.0.1/32,10.0.0.0/8: requests from them get their client IP from X-Forwarded-For (the rightmost address that is not one of them)")
	fs.BoolVar(f.trustProxy, "trust-proxy", false, "deprecated: the same as -trusted-proxies 127.0.0.0/8,::1/128 (a proxy on this machine)")
	fs.DurationVar(f.mailRetry, "mail-retry", *f.mailRetry, "wait before retrying an email that could not be sent; it doubles at each failure (up to 6h, 8 attempts)")
	fs.Int64Var(f.uploadQuota, "upload-quota", *f.uploadQuota, "MB of request photos each client may store (negative: no limit)")
	fs.BoolVar(f.verbose, "v", false, "log every request")
}

// edgeEnv is what the edge and staff commands work with.
type edgeEnv struct {
	keys  *bundle.KeySet
	build *edge.Build
	store stateStore
	mail  edge.Mailer
	base  *url.URL
	log   *slog.Logger
	msgs  *edge.Messages
	// shared: the store belongs to the caller (hub serve), not Close's.
	shared bool
}

func (e *edgeEnv) Close() {
	if e.store != nil && !e.shared {
		e.store.Close()
	}
}

// open loads the build, the store and the mailer. localBase, when set, is
// the base URL of a local server (it wins over site.yaml's).
func (f edgeFlags) open(localBase string, stdout, stderr io.Writer) (*edgeEnv, error) {
	return f.openWith(nil, localBase, stdout, stderr)
}

// loadBuild loads the built site with the keys that check it.
func (f edgeFlags) loadBuild(log *slog.Logger) (*bundle.KeySet, *edge.Build, error) {
	keys, err := bundle.LoadKeySet(*f.keys)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (the build's public keys are needed to check it)", err)
	}
	b, err := edge.LoadBuild(*f.site, keys, log)
	return keys, b, err
}

// openWith is open with a store already opened (owned by the caller).
func (f edgeFlags) openWith(st stateStore, localBase string, stdout, stderr io.Writer) (*edgeEnv, error) {
	level := slog.LevelInfo
	if *f.verbose {
		level = slog.LevelDebug
	}
	e := &edgeEnv{log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	var err error
	if e.keys, e.build, err = f.loadBuild(e.log); err != nil {
		return nil, err
	}
	site := e.build.Directory.Site
	base := *f.baseURL
	if base == "" {
		base = localBase
	}
	if base == "" && !f.isEdge {
		base = servedBase(*f.state) // a hub serve running on this state: links to what it serves
	}
	if base == "" {
		base = site.BaseURL
	}
	if base == "" {
		return nil, errors.New("no base URL: set base_url in site.yaml, -base-url or HUB_BASE_URL (links in emails are built from it)")
	}
	if e.base, err = url.Parse(base); err != nil || (e.base.Scheme != "https" && e.base.Scheme != "http") || e.base.Host == "" {
		return nil, fmt.Errorf("base URL %q must be like https://hub.example.com", base)
	}
	from := *f.from
	if from == "" {
		from = site.Email
	}
	if from == "" {
		from = "hub@" + e.base.Hostname()
	}
	if *f.smtp != "" {
		if e.mail, err = mailer.ParseURL(*f.smtp, from); err != nil {
			return nil, err
		}
	} else {
		dir := *f.outbox
		if dir == "" {
			dir = filepath.Join(f.filesDir(), "outbox")
		}
		e.mail = &mailer.Outbox{Dir: dir, From: from, Log: stdout}
	}
	if st != nil {
		e.store, e.shared = st, true
	} else if e.store, err = openState(context.Background(), *f.state, false); err != nil {
		return nil, err
	}
	// Staff commands' emails go through the outbox too: queued, then sent
	// at once (a failure stays queued for the edge to retry).
	e.msgs = edge.NewMessages(site, e.base, e.store, edge.NewQueuedSender(e.store, e.mail, e.base, e.log), time.Now, 0)
	e.msgs.Files = &edge.FileStore{Dir: filepath.Join(f.filesDir(), "uploads"), Ops: edge.OSFiles{}} // hub reply -attach
	return e, nil
}

func (f edgeFlags) config(e *edgeEnv) (edge.Config, error) {
	proxies, err := edge.ParseProxies(*f.trustedProxies)
	if err != nil {
		return edge.Config{}, fmt.Errorf("-trusted-proxies: %w", err)
	}
	if *f.trustProxy {
		e.log.Warn("-trust-proxy is deprecated: it trusts X-Forwarded-For from this machine only; say which proxies to trust with -trusted-proxies 127.0.0.1/32,...")
		proxies = append(proxies, edge.LoopbackProxies()...)
	}
	cfg := edge.Config{Out: *f.site, Keys: e.keys, Loaded: e.build, BaseURL: e.base, SessionTTL: *f.sessionTTL, Log: e.log, TrustedProxies: proxies,
		Uploads: filepath.Join(f.filesDir(), "uploads"), MailRetry: *f.mailRetry, UploadQuota: *f.uploadQuota << 20}
	co, err := f.checkout()
	if err != nil {
		return cfg, err
	}
	if co != nil {
		cfg.Checkout = co
	}
	return cfg, nil
}

// checkout is the Stripe adapter when keys are set (environment only:
// secrets stay out of flags and files in git), else nil.
func (f edgeFlags) checkout() (*stripepay.Checkout, error) {
	key := os.Getenv("HUB_STRIPE_SECRET_KEY")
	if key == "" {
		return nil, nil
	}
	return stripepay.New(stripepay.Config{SecretKey: key, WebhookSecret: os.Getenv("HUB_STRIPE_WEBHOOK_SECRET"), APIURL: *f.stripeAPI})
}

// clientDirs are the content folders of clients, for a Builder's hint.
func clientDirs(content string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		d, err := filepath.Abs(filepath.Join(content, "clients", id))
		if err != nil {
			d = filepath.Join(content, "clients", id)
		}
		out[i] = d
	}
	return out
}

// cmdEdge runs the edge in front of a built site.
func cmdEdge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("edge", stderr)
	ef := addEdgeFlags(fs, nil)
	ef.addServerFlags(fs)
	ef.isEdge = true
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	content := fs.String("content", "", "content folder: when set, the edge rebuilds it daily so dates stay true")
	cdn := addCDNFlags(fs)
	rf := addReplyFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := ef.open("", stdout, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	cfg, err := ef.config(e)
	if err != nil {
		return err
	}
	if cfg.CloudFront, err = cdn.cloudFront(e.base); err != nil {
		return err
	}
	published, err := cdn.publisher(ctx, *ef.site, *ef.keys, e.log)
	if err != nil {
		return err
	}
	if published != nil && *content == "" {
		return fmt.Errorf("-publish needs -content: the edge publishes what it rebuilds")
	}
	if cfg.Checkout == nil && e.build.Directory.Site.OnlinePayments {
		e.log.Warn("online payments are on in site.yaml but HUB_STRIPE_SECRET_KEY is not set: Pay buttons will say paying online is not available")
	}
	if *content != "" {
		builder := generator.NewBuilder(generator.Options{Content: *content, Out: *ef.site, Keys: *ef.keys, Theme: themes.Default(), Events: e.store, CollectLater: true})
		defer builder.Wait()
		var mu sync.Mutex
		build := func(ctx context.Context, dirs []string) error {
			mu.Lock()
			defer mu.Unlock()
			_, err := builder.Build(ctx, dirs)
			if err == nil && published != nil {
				published()
			}
			return err
		}
		cfg.Rebuild = func(ctx context.Context) error { return build(ctx, nil) }
		cfg.RebuildClient = func(ctx context.Context, ids []string) error { return build(ctx, clientDirs(*content, ids)) }
	} else {
		e.log.Info("no -content: payments, approvals and requests reach the pages at the next hub build")
	}
	// The edge's live heap is small (manifests of the clients in use, and
	// cached pages): collect less often, within a memory limit, unless
	// GOGC/GOMEMLIMIT say otherwise. (Not for hub serve, which also builds.)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
	replies, err := rf.listen(ctx, ef, e, &cfg, stdout)
	if err != nil {
		return err
	}
	return serveEdge(ctx, cfg, e, *addr, stdout, replies)
}

// serveEdge starts the server on addr and runs it until ctx ends.
func serveEdge(ctx context.Context, cfg edge.Config, e *edgeEnv, addr string, stdout io.Writer, ready func(*edge.Server, string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv, err := edge.New(ctx, cfg, e.store, e.mail)
	if err != nil {
		ln.Close()
		return err
	}
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "hub edge serving %s (build %s, %d clients) on %s\n", cfg.Out, srv.Build().Gen, srv.Build().NumClients(), url)
	if ready != nil {
		ready(srv, url)
	}
	return srv.Run(ctx, ln)
}

// cmdServe builds the content and runs the edge locally with embedded
// defaults (state and keys in .hub/, mail to an outbox, nothing external),
// then watches the content: each save rebuilds what changed, swaps it in,
// and reloads open tabs; content errors show in the browser and here.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	bf := addBuildFlags(fs)
	ef := addEdgeFlags(fs, &bf)
	ef.addServerFlags(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	watchContent := fs.Bool("watch", true, "rebuild when the content changes, and reload open browser tabs")
	settle := fs.Duration("checkout-settle", testcheckout.DefaultSettle, "the test checkout (no Stripe keys): how long a bank debit takes to settle")
	if err := parse(fs, args); err != nil {
		return err
	}
	if inside(*bf.out, *bf.content) {
		return fmt.Errorf("-out %s is inside the content folder %s; choose an output outside it", *bf.out, *bf.content)
	}
	opt := bf.options(time.Time{}) // each build uses the time it runs
	st, err := openState(ctx, *bf.state, false)
	if err != nil {
		return err
	}
	defer st.Close()
	opt.Events = st
	if _, err := ef.checkout(); err != nil {
		return err
	}
	p := newProgress(stderr)
	opt.Progress = p.update
	opt.CollectLater = true // the new build is served before the old one's files go
	builder := generator.NewBuilder(opt)
	defer builder.Wait()
	var mu sync.Mutex // one build at a time: the watcher's or the daily one
	rebuild := func(ctx context.Context, changed []string) (*generator.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		res, err := builder.Build(ctx, changed)
		p.finish()
		return res, err
	}
	res, firstErr := rebuild(ctx, nil)
	var ps site.Problems
	switch {
	case errors.As(firstErr, &ps):
		printProblems(stderr, ps)
		if _, err := os.Readlink(*bf.out); err != nil {
			return errors.New("fix the content and run hub serve again (there is no earlier build to serve)")
		}
		fmt.Fprintln(stderr, "serving the last good build; fix the content and save")
	case firstErr != nil:
		return firstErr
	default:
		summarize(res, opt, stdout, stderr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("%w (is another hub running? try -addr 127.0.0.1:8081)", err)
	}
	local := "http://" + ln.Addr().String()
	ln.Close()
	e, err := ef.openWith(st, local, stdout, stderr)
	if err != nil {
		return err
	}
	outbox := *ef.outbox
	if outbox == "" {
		outbox = filepath.Join(ef.filesDir(), "outbox")
	}
	preview := edge.NewPreview(outbox)
	if len(ps) > 0 {
		preview.SetProblems(problemLines(ps))
	}
	cfg, err := ef.config(e)
	if err != nil {
		return err
	}
	cfg.Preview = preview
	if err := localCheckout(&cfg, e, local, *settle); err != nil {
		return err
	}
	cfg.Rebuild = func(ctx context.Context) error { _, err := rebuild(ctx, nil); return err }
	cfg.RebuildClient = func(ctx context.Context, ids []string) error {
		_, err := rebuild(ctx, clientDirs(*bf.content, ids))
		return err
	}
	stopNote := func() {}
	defer func() { stopNote() }()
	return serveEdge(ctx, cfg, e, ln.Addr().String(), stdout, func(srv *edge.Server, url string) {
		b := srv.Build()
		// The first client with someone to sign in and something to see,
		// decoding entries one by one: Clients would decode every one.
		for _, id := range b.IDs() {
			c, ok := b.Client(id)
			if !ok || len(c.Contacts) == 0 || len(c.Documents) == 0 {
				continue
			}
			ct := c.Contacts[0]
			link, err := e.msgs.LoginLinkFor(ctx, b, ct.Email, c.ID)
			if err != nil {
				break
			}
			fmt.Fprintf(stdout, "\nSign in as %s (%s) with this one-time link (valid %s):\n  %s\n", ct.Name, c.DisplayName, edge.Lifetime(e.msgs.TokenTTL), link)
			break
		}
		fmt.Fprintf(stdout, "Or open %s and enter any contact's email from %s:\nsign-in emails are written to %s and their links printed here.\n", url, filepath.Join(*bf.content, "clients", "*", "client.yaml"), outbox)
		fmt.Fprintf(stdout, "Staff preview (every client's hub without logging in, and the outbox): %s_preview/\n", url)
		if cfg.TestCheckout != nil {
			fmt.Fprintf(stdout, "Payments: no HUB_STRIPE_SECRET_KEY, so Pay opens this server's test checkout (nothing is charged);\n"+
				"it sends signed Stripe events to %sstripe/webhook. Or: hub payments simulate SESSION-ID paid|processing|failed\n", url)
		}
		stopNote = noteServed(*bf.state, strings.TrimSuffix(url, "/"))
		if *watchContent {
			if err := startWatch(ctx, *bf.content, rebuild, srv, preview, stdout, stderr); err != nil {
				fmt.Fprintf(stderr, "not watching %s: %v\n", *bf.content, err)
			} else {
				fmt.Fprintf(stdout, "Watching %s: saved changes rebuild and reload open tabs.\n", *bf.content)
			}
		}
		fmt.Fprint(stdout, "Press Ctrl+C to stop.\n\n")
	})
}

// startWatch rebuilds on every batch of content changes.
func startWatch(ctx context.Context, content string, rebuild func(context.Context, []string) (*generator.Result, error), srv *edge.Server, preview *edge.Preview, stdout, stderr io.Writer) error {
	w, err := watch.New(content, 40*time.Millisecond)
	if err != nil {
		return err
	}
	batches := make(chan []string)
	go w.Run(ctx, batches)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-w.Errors:
				fmt.Fprintf(stderr, "watching: %v\n", err)
			case batch := <-batches:
				start := time.Now()
				res, err := rebuild(ctx, batch)
				var ps site.Problems
				switch {
				case errors.As(err, &ps):
					printProblems(stderr, ps)
					preview.SetProblems(problemLines(ps))
				case err != nil:
					fmt.Fprintf(stderr, "build failed: %v\n", err)
					preview.SetProblems([]string{err.Error()})
				default:
					if err := srv.Reload(); err != nil {
						fmt.Fprintf(stderr, "loading the new build: %v\n", err)
						continue
					}
					preview.Reloaded()
					if !res.UpToDate {
						fmt.Fprintf(stdout, "%s changed: %d client(s) rebuilt, %d pages, served after %s\n",
							describe(batch, content), res.Rendered, res.Pages, time.Since(start).Round(time.Millisecond))
					}
				}
			}
		}
	}()
	return nil
}

func problemLines(ps site.Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func describe(batch []string, root string) string {
	if len(batch) == 1 {
		if rel, err := filepath.Rel(root, batch[0]); err == nil {
			return rel
		}
		return batch[0]
	}
	return fmt.Sprintf("%d files", len(batch))
}

// inside reports whether path is inside dir.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// cmdLink sends (or prints) a login link: Jobber's "Send Login Email".
func cmdLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("link", stderr)
	ef := addEdgeFlags(fs, nil)
	ef.addMailFlags(fs)
	print := fs.Bool("print", false, "print the link instead of emailing it")
	pos, err := parseArgs(fs, args, 1, "CLIENT-ID or EMAIL")
	if err != nil {
		return err
	}
	e, err := ef.open("", stdout, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	who := pos[0]
	type target struct{ email, client string }
	var targets []target
	if strings.Contains(who, "@") {
		ids := e.build.ClientsOf(who)
		if len(ids) == 0 {
			return fmt.Errorf("%s is not a contact of any client in the current build", who)
		}
		targets = append(targets, target{who, ""})
	} else {
		c, ok := e.build.Client(who)
		if !ok {
			return fmt.Errorf("no client %q in the current build", who)
		}
		for _, ct := range c.Contacts {
			targets = append(targets, target{ct.Email, c.ID})
		}
	}
	for _, t := range targets {
		if *print {
			link, err := e.msgs.LoginLinkFor(ctx, e.build, t.email, t.client)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\t%s\n", t.email, link)
			continue
		}
		if err := e.msgs.LoginLink(ctx, e.build, t.email, t.client, ""); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sent a login email to %s\n", t.email)
	}
	fmt.Fprintf(stdout, "The hub's address for your website: %s/\n", strings.TrimSuffix(e.base.String(), "/"))
	return nil
}

// cmdDelegate prints a one-time link that signs staff in as a client, read-only.
func cmdDelegate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("delegate", stderr)
	ef := addEdgeFlags(fs, nil)
	staff := fs.String("staff", "", "your name or email (recorded with the login)")
	pos, err := parseArgs(fs, args, 1, "CLIENT-ID")
	if err != nil {
		return err
	}
	e, err := ef.open("", stdout, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	link, err := e.msgs.DelegateLink(ctx, e.build, pos[0], *staff)
	if err != nil {
		return errors.New(edge.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "Read-only link to %s's hub for %s (one use, 15 minutes):\n%s\n", pos[0], *staff, link)
	return nil
}

// cmdSend emails a client's contacts about a quote or an invoice.
func cmdSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("send", stderr)
	ef := addEdgeFlags(fs, nil)
	ef.addMailFlags(fs)
	pos, err := parseArgs(fs, args, 2, "quote|invoice NUMBER")
	if err != nil {
		return err
	}
	if pos[0] != "quote" && pos[0] != "invoice" {
		fmt.Fprintf(stderr, "hub send: say quote or invoice, not %q\n", pos[0])
		return errUsage
	}
	e, err := ef.open("", stdout, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	sent, err := e.msgs.Document(ctx, e.build, pos[0], pos[1])
	for _, to := range sent {
		fmt.Fprintf(stdout, "sent %s %s to %s\n", pos[0], pos[1], to)
	}
	if err != nil {
		return errors.New(edge.ErrorMessage(err))
	}
	return nil
}

// cmdClients lists each client's contacts with invited/joined and last login.
func cmdClients(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("clients", stderr)
	ef := addEdgeFlags(fs, nil)
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	e, err := ef.open("", io.Discard, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	rows, err := edge.ClientsReport(ctx, e.build, e.store)
	if err != nil {
		return err
	}
	// Each contact's most recent document view (hub activity has them all).
	views, err := e.store.Views(ctx, "")
	if err != nil {
		return err
	}
	lastView := map[[2]string]edge.View{}
	for _, v := range views {
		k := [2]string{v.Client, strings.ToLower(v.Email)}
		if v.Last.After(lastView[k].Last) {
			lastView[k] = v
		}
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tCONTACT\tEMAIL\tSTATUS\tLAST LOGIN\tLAST OPENED")
	for _, r := range rows {
		opened := "-"
		if v, ok := lastView[[2]string{r.Client, strings.ToLower(r.Email)}]; ok {
			opened = v.Doc + " " + when(v.Last)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Client, r.Name, r.Email, r.State(), when(r.LastLogin), opened)
	}
	return tw.Flush()
}

// parseArgs parses flags that may come before or after n positional
// arguments (any number for n < 0; what names them, for the usage line -h
// prints first).
func parseArgs(fs *flag.FlagSet, args []string, n int, what string) ([]string, error) {
	if fs.Usage == nil {
		line := fs.Name()
		if what != "" {
			line += " " + what
		}
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: %s [flags]\n\nflags:\n", line)
			fs.PrintDefaults()
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if n >= 0 && len(pos) != n {
		fmt.Fprintf(fs.Output(), "usage: %s %s\n", fs.Name(), what)
		return nil, errUsage
	}
	return pos, nil
}
