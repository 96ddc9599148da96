package edge

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Body limits.
const (
	maxFormBody = 16 << 10
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Public pages and assets.
	mux.HandleFunc("GET /{$}", s.handlePublic("index.html"))
	mux.HandleFunc("GET /signed-out/{$}", s.handlePublic("signed-out/index.html"))
	mux.HandleFunc("GET /login/sent/{$}", s.handleLinkPage("login/sent/index.html", http.StatusOK))
	mux.HandleFunc("GET /login/invalid/{$}", s.handleLinkPage("login/invalid/index.html", http.StatusOK))
	mux.HandleFunc("GET /assets/{file}", s.handleAsset)
	// Login.
	post := func(path string, h http.Handler) {
		mux.Handle("POST "+path, h)
		mux.HandleFunc("GET "+path, methodNotAllowed) // a GET to a state change is 405
	}
	post("/login", http.HandlerFunc(s.handleLogin))
	mux.HandleFunc("GET /login/t/{token}", s.handleLinkGet)
	mux.HandleFunc("POST /login/t/{token}", s.handleLinkPost)
	mux.HandleFunc("GET /login/choose", s.handleChooseGet)
	mux.HandleFunc("POST /login/choose", s.handleChoosePost)
	post("/logout", http.HandlerFunc(s.handleLogout))
	post("/logout/all", s.mutating(s.handleLogoutAll))
	// Payments.
	post("/c/{client}/invoices/{number}/pay", s.mutating(s.handlePayInvoice))
	post("/c/{client}/quotes/{number}/deposit", s.mutating(s.handlePayDeposit))
	mux.HandleFunc("GET /c/{client}/paid/{session}", s.handlePaid)
	post("/c/{client}/subscriptions/{number}/start", s.mutating(s.handleStartSubscription))
	post("/c/{client}/subscriptions/{number}/manage", s.mutating(s.handleManageSubscription))
	mux.HandleFunc("GET /c/{client}/subscribed/{number}", s.handleSubscribed)
	post("/c/{client}/billing/card/remove", s.mutating(s.handleRemoveCard))
	post("/c/{client}/billing/autopay", s.mutating(s.handleAutopay))
	// Quotes.
	post("/c/{client}/quotes/{number}/approve", s.mutatingCap(s.handleApprove, maxApproveBody))
	post("/c/{client}/quotes/{number}/changes", s.mutating(s.handleChanges))
	// Messages (threads.go).
	post("/c/{client}/messages", s.mutatingCap(s.handleMessage, maxMessageBody))
	post("/c/{client}/messages/read", s.mutating(s.handleRead))
	mux.HandleFunc("GET /c/{client}/messages/unread", s.handleUnread)
	// Client uploads to portals (portaluploads.go).
	post("/c/{client}/portals/{portal}/uploads", s.mutatingCap(s.handlePortalUpload, maxUploadBody))
	// Work requests (their own body cap: photos).
	post("/c/{client}/requests/new", s.mutatingCap(s.handleRequest, maxRequestBody))
	mux.HandleFunc("GET /request/{$}", s.handlePublic("request/index.html"))
	mux.HandleFunc("GET /request/sent/{$}", s.handlePublic("request/sent/index.html"))
	post("/request", http.HandlerFunc(s.handlePublicRequest))
	post("/stripe/webhook", http.HandlerFunc(s.handleWebhook))
	// Client bundles, and the question a cache in front asks before serving one.
	mux.HandleFunc("GET /c/{client}/{path...}", s.handleBundle)
	mux.HandleFunc("GET /_hub/auth", s.handleAuth)
	mux.HandleFunc("GET /_hub/cdn", s.handleCDNRefresh)
	if s.cfg.Preview != nil {
		s.previewRoutes(mux)
		if s.cfg.TestCheckout != nil {
			mux.Handle("/_checkout/", s.cfg.TestCheckout)
		}
	}
	// Everything else is 404 (GET) or 405 (other methods on known paths, by the mux).
	mux.HandleFunc("/", s.handleNotFound)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, Errorf(EForbidden, "This form was sent from another site, so it was refused. Go back to the hub and try again."))
	}))
	h := s.logRequests(s.secureHeaders(cop.Handler(mux)))
	if s.cfg.Preview != nil {
		h = previewInject(h)
	}
	return h
}

// secureHeaders sets the headers every response carries.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	// Values are shared, read-only slices (full slice expressions, so an
	// Add elsewhere cannot write into them); keys are canonical already.
	// (Framing is refused by the CSP's frame-ancestors; X-Frame-Options
	// would only repeat it, and every byte of headers counts: a page and
	// its headers that fit in 4 KiB go out in one write.)
	fixed := [][2]string{
		{"X-Content-Type-Options", "nosniff"},
		{"Referrer-Policy", "strict-origin-when-cross-origin"},
		{"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
	}
	if s.cookies.secure {
		fixed = append(fixed, [2]string{"Strict-Transport-Security", "max-age=31536000"})
	}
	vals := make([][]string, len(fixed))
	for i, kv := range fixed {
		vals[i] = []string{kv[1]}[:1:1]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = s.build.Load().cspHeader
		for i, kv := range fixed {
			h[kv[0]] = vals[i]
		}
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// logRequests logs each request at debug level (hub edge -v), 5xx at warn. Login
// link paths are logged without their token.
func (s *Server) logRequests(next http.Handler) http.Handler {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		// Not logging requests: no wrapper on the hot path. Failures are
		// logged where they happen (errorPage, bundle checks).
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		if s.log.Enabled(r.Context(), level) {
			s.log.Log(r.Context(), level, "request", "method", r.Method, "path", redactPath(r.URL.Path), "status", sw.status, "bytes", sw.bytes, "dur", time.Since(start))
		}
	})
}

// redactPath hides login tokens.
func redactPath(p string) string {
	if strings.HasPrefix(p, "/login/t/") {
		return "/login/t/[redacted]"
	}
	return p
}

// session returns the request's valid session, or nil. A session is not
// valid once its client's epoch was bumped (staff revocation), its
// contact's epoch was bumped (sign out of every device) or its id was
// revoked (logout).
func (s *Server) session(r *http.Request) *Claims {
	tok, ok := cookieValue(r.Header, s.cookies.session)
	if !ok {
		return nil
	}
	c := s.verified.get(tok, s.now())
	if c == nil {
		var err error
		if c, err = s.sess.parse(tok, AudClient, AudDelegate); err != nil || c.Client == "" {
			return nil
		}
		if hasAud(c.Audience, AudDelegate) && c.Staff == "" {
			return nil
		}
		s.verified.put(tok, c)
	}
	if c.ID == "" || c.Epoch != s.epoch(c.Client) || c.Contact != s.contactEpoch(c.Client, c.Subject) || s.revoked.has(c.ID) {
		return nil
	}
	return c
}

type ctxKey struct{}

// SessionFrom returns the session a mutating handler runs with.
func SessionFrom(ctx context.Context) *Claims {
	c, _ := ctx.Value(ctxKey{}).(*Claims)
	return c
}

// mutating wraps a state-changing handler: it needs a client's own session
// (a staff delegate is read-only: 403), and its body is capped.
func (s *Server) mutating(h http.HandlerFunc) http.Handler { return s.mutatingCap(h, maxFormBody) }

// mutatingCap is mutating with a body cap of limit bytes.
func (s *Server) mutatingCap(h http.HandlerFunc, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := s.session(r)
		if c == nil {
			s.errorPage(w, r, Errorf(EUnauthorized, "Your session has ended. Please sign in again."))
			return
		}
		if c.Delegate() {
			s.errorPage(w, r, Errorf(EForbidden, "You are viewing %s's hub on behalf of staff; viewing is read-only.", s.clientName(c.Client, "this client")))
			return
		}
		s.setCDNCookies(w, r, c, false)
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

// parseForm parses a capped form body, answering 413 when it is too big.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	return s.parseFormCap(w, r, maxFormBody)
}

// parseFormCap is parseForm with a cap of limit bytes.
func (s *Server) parseFormCap(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return false
		}
		s.errorPage(w, r, Errorf(EInvalid, "The form could not be read."))
		return false
	}
	return true
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "POST")
	http.Error(w, "method not allowed: use the form", http.StatusMethodNotAllowed)
}

// Flush lets streaming responses (the preview's events) through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
