package edge

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubhq/hub/generator/bundle"
)

// Config is the edge's configuration.
type Config struct {
	Out         string         // the build output path (a link to the current generation)
	Keys        *bundle.KeySet // trusted build signing keys
	BaseURL     *url.URL       // the hub's public origin; links in emails are built from it
	SessionTTL  time.Duration  // client sessions (default 30 days)
	DelegateTTL time.Duration  // staff delegate sessions (default 8 hours)
	TokenTTL    time.Duration  // login links (default 15 minutes)
	// Rebuild, when set, rebuilds the site; the edge calls it every RebuildEvery
	// (default 24h) so that dates (past due, expired quotes) stay true.
	Rebuild      func(ctx context.Context) error
	RebuildEvery time.Duration
	Now          func() time.Time
	Log          *slog.Logger
	// TrustedProxies are the reverse proxies in front of the edge: only a
	// request from one of them has its client address taken from
	// X-Forwarded-For (see Proxies.ClientIP). Empty: the peer is the client.
	TrustedProxies Proxies
	// CloudFront, when set, makes the edge set CloudFront signed cookies
	// for the client's bundle at login (see CloudFront).
	CloudFront *CloudFront
	// Preview turns on hub serve's staff preview (live reload, /_preview/).
	// Never set in production.
	Preview *Preview
	// Checkout takes payments (Stripe); nil turns paying online off.
	Checkout Checkout
	// TestCheckout serves the payment pages of hub serve's local test
	// checkout (edge/testcheckout, then also the Checkout) under
	// /_checkout/. It exists only with Preview: never in production.
	TestCheckout http.Handler
	// RebuildClient, when set, rebuilds the bundles of the given clients
	// (after a payment, an approval or a request was recorded) so their
	// pages show it; the edge then loads the new build.
	RebuildClient func(ctx context.Context, ids []string) error
	// Uploads is the folder where request photos are kept (default: none, photos refused).
	Uploads string
	// MailRetry is the wait before retrying an email that failed (default
	// 30s); it doubles at each failure, up to 6 hours. MailAttempts (default
	// 8) is how many attempts an email gets before it is marked failed.
	MailRetry    time.Duration
	MailAttempts int
	// UploadQuota caps each client's stored photos, in bytes (default
	// DefaultUploadQuota, 200 MB; negative for no cap).
	UploadQuota int64
	// Files stores uploads (default OSFiles); tests inject faults.
	Files FileOps
	// Replies, when set, signs the Reply-To of the business's message
	// notices, and checks the addresses of replies to them (SMTPServer).
	Replies *ReplyAddresses
	// SMTP limits the inbound mail server (SMTPServer): STARTTLS, how
	// many connections at once, how many from one address.
	SMTP SMTPConfig
	// Loaded, when set, is Out's build already loaded with Keys (hub edge
	// reads the site's settings from it first); New then serves it rather
	// than loading it again. A newer build is picked up as any other.
	Loaded *Build
}

// Server is the edge's HTTP service.
type Server struct {
	cfg   Config
	store Store
	// ending holds the subscriptions (client/number) Stripe is being or
	// has been told to end by this process, so that two payments seen
	// as the last period (the one before, processed late) ask once.
	ending  sync.Map
	mail    Mailer
	log     *slog.Logger
	now     func() time.Time
	build   atomic.Pointer[Build]
	sess    *sessions
	cookies cookieNames
	epochs  atomic.Pointer[map[string]int64]
	// contactEpochs and revoked are the store's per-contact epochs and
	// revoked session ids, re-read every second (like epochs).
	contactEpochs atomic.Pointer[map[ContactKey]int64]
	revoked       revokedSet
	keysRead      atomic.Int64 // when the session keys were last read (Unix ms, injected clock)
	// storeDown is set while the store cannot be reached (its once-a-second
	// read failed with ErrUnavailable): sign-in requests get 503 at once.
	storeDown atomic.Bool
	ipLimit   *limiter
	mailLimit *limiter
	// requestLimit bounds public work requests per IP.
	requestLimit *limiter
	jobs         chan loginJob
	wg           sync.WaitGroup
	handler      http.Handler
	verified     sessionCache // cookies that verified
	payLocks     keyedMutex
	uploadLocks  keyedMutex // per client: the uploads quota
	outbox       *mailSender
	rebuildWake  chan struct{} // a fact was recorded
	views        viewCounter   // document views not yet written
	owner        string        // this edge, in the store's leases
}

// New makes a Server and loads the current build.
func New(ctx context.Context, cfg Config, store Store, mailer Mailer) (*Server, error) {
	if cfg.CloudFront != nil {
		if err := cfg.CloudFront.Validate(); err != nil {
			return nil, err
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.DelegateTTL == 0 {
		cfg.DelegateTTL = 8 * time.Hour
	}
	if cfg.RebuildEvery == 0 {
		cfg.RebuildEvery = 24 * time.Hour
	}
	if cfg.UploadQuota == 0 {
		cfg.UploadQuota = DefaultUploadQuota
	}
	if cfg.Files == nil {
		cfg.Files = OSFiles{}
	}
	if cfg.MailRetry <= 0 {
		cfg.MailRetry = defaultMailRetry
	}
	if cfg.MailAttempts <= 0 {
		cfg.MailAttempts = defaultMailAttempts
	}
	if cfg.BaseURL == nil || cfg.BaseURL.Host == "" {
		return nil, errors.New("edge: a base URL is required (links in emails are built from it)")
	}
	if cfg.TestCheckout != nil && cfg.Preview == nil {
		return nil, errors.New("edge: the test checkout is for hub serve's local preview only")
	}
	s := &Server{
		cfg: cfg, store: store, mail: mailer, log: cfg.Log, now: cfg.Now,
		sess: &sessions{issuer: strings.TrimSuffix(cfg.BaseURL.String(), "/"), now: cfg.Now,
			retireAfter: keyRotation + max(cfg.SessionTTL, cfg.DelegateTTL)},
		cookies:      newCookieNames(cfg.BaseURL.Scheme == "https"),
		ipLimit:      newLimiter(10, time.Minute),
		mailLimit:    newLimiter(5, 12*time.Minute),
		requestLimit: newLimiter(5, 10*time.Minute),
		jobs:         make(chan loginJob, 1024),
		rebuildWake:  make(chan struct{}, 1),
		owner:        newOwnerID(),
	}
	s.outbox = &mailSender{queue: store, mail: mailer, now: cfg.Now, log: cfg.Log, retry: cfg.MailRetry, attempts: cfg.MailAttempts, wake: make(chan struct{}, 1)}
	if err := s.refreshKeys(ctx); err != nil {
		return nil, err
	}
	if err := s.refreshRevocations(ctx); err != nil {
		return nil, err
	}
	if err := s.sweepUploads(ctx); err != nil {
		return nil, err
	}
	b := cfg.Loaded
	if b == nil {
		var err error
		if b, err = LoadBuild(cfg.Out, cfg.Keys, s.log); err != nil {
			return nil, err
		}
	}
	s.build.Store(b)
	s.handler = s.routes()
	return s, nil
}

// Build is the build being served.
func (s *Server) Build() *Build { return s.build.Load() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Run serves on ln until ctx ends, with the background work: answering
// login requests, sending the outbox's email, picking up new builds, refreshing epochs and keys, daily rebuilds.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.wg.Add(5)
	go s.mailWorker(ctx)
	go s.watch(ctx)
	go s.rebuilder(ctx)
	go func() { defer s.wg.Done(); s.outbox.run(ctx) }()
	go s.rebuildWorker(ctx)
	s.wg.Add(1)
	go s.viewWriter(ctx)
	errc := make(chan error, 1)
	// Responses over net/http's 4 KiB buffer leave in one write (edge/conn.go).
	go func() { errc <- srv.Serve(coalescingListener{ln}) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		cancel()
		s.wg.Wait()
		return err
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	err := srv.Shutdown(sctx)
	s.wg.Wait()
	return err
}

// Reload loads the build out points to now, if it changed.
func (s *Server) Reload() error {
	cur := s.build.Load()
	stamp, err := buildStamp(s.cfg.Out)
	if err != nil {
		return err
	}
	if stamp == cur.stamp {
		return nil
	}
	b, err := loadBuild(s.cfg.Out, s.cfg.Keys, s.log, cur)
	if err != nil {
		return err
	}
	s.build.Store(b)
	cur.release(b)
	s.log.Info("serving new build", "generation", b.Gen, "clients", b.NumClients())
	return nil
}

// watch picks up new builds (the output link changing), refreshes the
// session epochs and revocations that staff commands, logouts and other
// edges may have recorded, and rotates and retires session keys.
func (s *Server) watch(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Reload(); err != nil {
				s.log.Error("loading new build", "err", err)
			}
			// The flag is set before the log line (tests wait for it).
			err := s.refreshRevocations(ctx)
			was := s.storeDown.Swap(errors.Is(err, ErrUnavailable))
			switch {
			case err != nil:
				s.log.Error("reading session epochs and revocations; serving with what was read before", "err", err)
			case was:
				s.log.Info("the state store is reachable again")
			}
			if s.keysDue() {
				if err := s.refreshKeys(ctx); err != nil {
					s.log.Error("rotating session keys", "err", err)
				}
			}
		}
	}
}

func (s *Server) rebuilder(ctx context.Context) {
	defer s.wg.Done()
	// Autopay runs at start (an edge down on a due date charges the day
	// it is back) and after each daily rebuild: the day's build is its
	// clock. Each invoice is charged once, whatever the runs.
	s.Autopay(ctx)
	t := time.NewTicker(s.cfg.RebuildEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.cfg.Rebuild != nil {
				if err := s.cfg.Rebuild(ctx); err != nil {
					s.log.Error("scheduled rebuild failed; still serving the previous build", "err", err)
				} else if err := s.Reload(); err != nil {
					s.log.Error("loading rebuilt site", "err", err)
				}
			}
			s.Autopay(ctx) // the invoices due today, on the day's build
		}
	}
}

// refreshKeys reads the session keys, making a new one every keyRotation
// and retiring (refusing, and deleting) those older than the rotation plus
// the longest session lifetime.
func (s *Server) refreshKeys(ctx context.Context) error {
	now := s.now()
	keys, err := s.store.SessionKeys(ctx, now, keyRotation, s.sess.retireAfter)
	if err != nil {
		return fmt.Errorf("session keys: %w", err)
	}
	if s.sess.setKeys(keys) {
		s.verified.reset() // what a retired key verified is checked again
	}
	s.keysRead.Store(now.UnixMilli())
	return nil
}

// keysDue says whether the keys should be read again: the current key is
// due for rotation, or a minute has passed (another edge may have rotated).
func (s *Server) keysDue() bool {
	now := s.now()
	return now.Sub(s.sess.current().Created) >= keyRotation || now.UnixMilli()-s.keysRead.Load() >= time.Minute.Milliseconds()
}

// refreshRevocations reads the client and contact epochs and the session
// revocations recorded since the last read.
func (s *Server) refreshRevocations(ctx context.Context) error {
	m, err := s.store.Epochs(ctx)
	if err != nil {
		return fmt.Errorf("session epochs: %w", err)
	}
	cm, err := s.store.ContactEpochs(ctx)
	if err != nil {
		return fmt.Errorf("contact session epochs: %w", err)
	}
	vs, err := s.store.Revocations(ctx, s.revoked.last())
	if err != nil {
		return fmt.Errorf("session revocations: %w", err)
	}
	prev, prevC := s.epochs.Swap(&m), s.contactEpochs.Swap(&cm)
	s.revoked.add(vs, s.now())
	// Logged once applied (a test waits for it).
	if prev != nil && prevC != nil && (!maps.Equal(*prev, m) || !maps.Equal(*prevC, cm)) {
		s.log.Info("session epochs changed: sessions signed out", "clients", len(m), "contacts", len(cm))
	}
	if len(vs) > 0 {
		s.log.Debug("sessions revoked", "count", len(vs))
	}
	return nil
}

func (s *Server) epoch(client string) int64 { return (*s.epochs.Load())[client] }

func (s *Server) contactEpoch(client, email string) int64 {
	return (*s.contactEpochs.Load())[ContactKey{client, strings.ToLower(email)}]
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func csp(frames []string) string {
	f := "'none'"
	if len(frames) > 0 {
		f = strings.Join(frames, " ")
	}
	return "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src " + f +
		"; form-action 'self' https://checkout.stripe.com https://billing.stripe.com; frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
}

// messages composes the server's emails; they go through the outbox.
// clientName is how people are shown a client: its name in the build,
// else fallback (a person's name or email), never its internal id.
func (s *Server) clientName(id, fallback string) string {
	if cl, ok := s.build.Load().Client(id); ok && cl.DisplayName != "" {
		return cl.DisplayName
	}
	return fallback
}

func (s *Server) messages() *Messages {
	m := NewMessages(s.build.Load().Directory.Site, s.cfg.BaseURL, s.store, outboxMailer{s}, s.now, s.cfg.TokenTTL)
	if s.cfg.Uploads != "" {
		m.Files = &FileStore{Dir: s.cfg.Uploads, Ops: s.cfg.Files}
	}
	return m
}
