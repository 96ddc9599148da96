package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// loginJob is a login request waiting to be answered by email. Looking the
// email up, making the token and sending happen off the request, so the
// answer to POST /login is the same, and as fast, for any email.
type loginJob struct {
	email string
	next  string
}

// handleLogin takes an email and always answers the same way: 303 to the
// "check your email" page. Only a known contact gets a link.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.ipLimit.allow(s.clientIP(r), s.now()) {
		s.errorPage(w, r, Errorf(ETooMany, "Too many sign-in attempts from your network. Please wait a few minutes and try again."))
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	if s.storeDown.Load() {
		// The link could not be recorded: say so to everyone alike rather
		// than promise an email that will not come.
		s.errorPage(w, r, Errorf(EUnavailable, "We cannot send sign-in links just now. Please try again in a minute."))
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	next := ""
	if ck, err := r.Cookie(s.cookies.next); err == nil {
		next, _ = safeNext(ck.Value)
	}
	if n := r.PostForm.Get("next"); n != "" {
		next, _ = safeNext(n)
	}
	if a, err := mail.ParseAddress(email); err == nil && a.Address == email && len(email) <= 254 && s.mailLimit.allow(email, s.now()) {
		select {
		case s.jobs <- loginJob{email: email, next: next}:
		default:
			s.log.Error("login mail queue full; a login request was dropped")
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, "/login/sent/", http.StatusSeeOther)
}

func (s *Server) mailWorker(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.jobs:
			if err := s.sendLoginLink(ctx, j.email, "", j.next); err != nil {
				s.log.Error("sending login email", "err", err)
			}
		}
	}
}

// hashToken is how tokens are stored: only their SHA-256.
func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// newToken records a new single-use link token (256 random bits, stored
// only as its hash) and returns the link.
func newToken(ctx context.Context, st TokenStore, base *url.URL, now time.Time, ttl time.Duration, t Token) (string, error) {
	tok := randomToken(32) // 256 bits
	t.Hash = hashToken(tok)
	t.Created = now
	t.Expires = now.Add(ttl)
	if err := st.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return strings.TrimSuffix(base.String(), "/") + "/login/t/" + tok, nil
}

// sendLoginLink emails a login link to email if it is a contact of a
// client (of client, when given). Unknown emails get nothing.
func (s *Server) sendLoginLink(ctx context.Context, email, client, next string) error {
	return s.messages().LoginLink(ctx, s.build.Load(), email, client, next)
}

// handleLinkGet shows the Continue page for a usable link: nothing is spent
// (mail scanners open links). HEAD does the same without a body.
func (s *Server) handleLinkGet(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if len(tok) > 100 {
		s.linkInvalid(w, r)
		return
	}
	if _, err := s.store.PeekToken(r.Context(), hashToken(tok), s.now()); err != nil {
		if ErrorCode(err) != ENotFound {
			s.errorPage(w, r, err) // the link may be good: do not call it expired
			return
		}
		s.linkInvalid(w, r)
		return
	}
	s.serveStatic(w, r, "login/continue/index.html", http.StatusOK)
}

// signInTTL is how long after it was made a link may sign in.
func (s *Server) signInTTL() time.Duration {
	if s.cfg.TokenTTL > 0 {
		return s.cfg.TokenTTL
	}
	return DefaultTokenTTL
}

// documentLinkLate answers a document link used after the sign-in
// lifetime: a browser signed in to its client goes to the document;
// another gets a fresh sign-in link to it by email (the contact's own
// mailbox, rate-limited like any request for a link), and is told so.
func (s *Server) documentLinkLate(w http.ResponseWriter, r *http.Request, t Token) {
	if c := s.session(r); c != nil && c.Client == t.ClientID {
		http.Redirect(w, r, t.Next, http.StatusSeeOther)
		return
	}
	if s.mailLimit.allow(t.Email, s.now()) {
		select {
		case s.jobs <- loginJob{email: t.Email, next: t.Next}:
		default:
			s.log.Error("login mail queue full; a fresh link for a document email was dropped")
		}
	}
	http.Redirect(w, r, "/login/sent/", http.StatusSeeOther)
}

// handleLinkPost spends the token and starts a fresh session.
func (s *Server) handleLinkPost(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	noStore(w)
	if len(tok) > 100 {
		s.linkInvalid(w, r)
		return
	}
	// A document link past the sign-in lifetime is not spent: it opens the
	// document for a browser signed in to its client, or emails a fresh
	// sign-in link to it.
	if t, err := s.store.PeekToken(r.Context(), hashToken(tok), s.now()); err == nil && t.Purpose == TokenDocument && s.now().Sub(t.Created) > s.signInTTL() {
		s.documentLinkLate(w, r, t)
		return
	}
	t, err := s.store.ConsumeToken(r.Context(), hashToken(tok), s.now())
	if err != nil {
		if ErrorCode(err) != ENotFound {
			s.errorPage(w, r, err) // the link may be good (and unspent): do not call it expired
			return
		}
		s.linkInvalid(w, r)
		return
	}
	b := s.build.Load()
	switch t.Purpose {
	case TokenDelegate:
		if _, ok := b.Client(t.ClientID); !ok {
			http.Redirect(w, r, "/login/invalid/", http.StatusSeeOther)
			return
		}
		s.startSession(w, r, Claims{Client: t.ClientID, Staff: t.Staff}, t.Email, t.Next)
		return
	case TokenLogin, TokenDocument:
	default:
		http.Redirect(w, r, "/login/invalid/", http.StatusSeeOther)
		return
	}
	clients := b.ClientsOf(t.Email)
	switch {
	case t.ClientID != "":
		if !slices.Contains(clients, t.ClientID) {
			http.Redirect(w, r, "/login/invalid/", http.StatusSeeOther)
			return
		}
		clients = []string{t.ClientID}
	case len(clients) == 0:
		http.Redirect(w, r, "/login/invalid/", http.StatusSeeOther)
		return
	}
	if len(clients) == 1 {
		s.startSession(w, r, Claims{Client: clients[0]}, t.Email, t.Next)
		return
	}
	// A contact of several clients chooses which hub to open.
	c := Claims{Clients: clients}
	c.Subject = t.Email
	c.Audience = []string{AudChoose}
	ck, err := s.sess.mint(c, 10*time.Minute)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	http.SetCookie(w, s.cookies.cookie(s.cookies.choose, ck, 10*time.Minute))
	http.Redirect(w, r, "/login/choose", http.StatusSeeOther)
}

// linkInvalid answers a link that no longer works. A link from an email
// about a document names it (?next=): when this browser is signed in to
// that client already, the document opens anyway; otherwise it is
// remembered, so the new link asked for on the page lands on it. (The
// destination only says where to go: the session decides what opens.)
func (s *Server) linkInvalid(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if next, ok := safeNext(r.URL.Query().Get("next")); ok {
		if c := s.session(r); c != nil && strings.HasPrefix(next, "/c/"+c.Client+"/") {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		http.SetCookie(w, s.cookies.cookie(s.cookies.next, next, time.Hour))
	}
	if r.Method == http.MethodPost {
		http.Redirect(w, r, "/login/invalid/", http.StatusSeeOther)
		return
	}
	s.serveStatic(w, r, "login/invalid/index.html", http.StatusNotFound)
}

// startSession sets a new session cookie and redirects into the hub. Any
// session the browser brought is replaced.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, c Claims, email, next string) {
	ttl := s.cfg.SessionTTL
	c.Subject = email
	c.Epoch = s.epoch(c.Client)
	c.Contact = s.contactEpoch(c.Client, email)
	c.Audience = []string{AudClient}
	if c.Staff != "" {
		c.Audience = []string{AudDelegate}
		ttl = s.cfg.DelegateTTL
	}
	tok, err := s.sess.mint(c, ttl)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	l := Login{Email: email, ClientID: c.Client, Staff: c.Staff, At: s.now(), IP: s.clientIP(r), UA: truncate(r.UserAgent(), 300)}
	if err := s.store.RecordLogin(r.Context(), l); err != nil {
		s.errorPage(w, r, err)
		return
	}
	http.SetCookie(w, s.cookies.cookie(s.cookies.session, tok, ttl))
	c.ExpiresAt = jwt.NewNumericDate(s.now().Add(ttl))
	s.setCDNCookies(w, r, &c, true)
	http.SetCookie(w, s.cookies.cookie(s.cookies.next, "", 0))
	http.SetCookie(w, s.cookies.cookie(s.cookies.choose, "", 0))
	dest := "/c/" + c.Client + "/"
	if next != "" && strings.HasPrefix(next, dest) {
		dest = next
	}
	noStore(w)
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

func (s *Server) chooser(r *http.Request) *Claims {
	ck, err := r.Cookie(s.cookies.choose)
	if err != nil {
		return nil
	}
	c, err := s.sess.parse(ck.Value, AudChoose)
	if err != nil || len(c.Clients) == 0 {
		return nil
	}
	return c
}

func (s *Server) handleChooseGet(w http.ResponseWriter, r *http.Request) {
	c := s.chooser(r)
	if c == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	b := s.build.Load()
	var opts []chooseOption
	for _, id := range c.Clients {
		if cl, ok := b.Client(id); ok {
			opts = append(opts, chooseOption{ID: id, Name: cl.DisplayName})
		}
	}
	noStore(w)
	s.renderPage(w, r, http.StatusOK, "Choose a hub", chooseTmpl, opts)
}

func (s *Server) handleChoosePost(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	c := s.chooser(r)
	id := r.PostForm.Get("client")
	if c == nil || !slices.Contains(c.Clients, id) || !slices.Contains(s.build.Load().ClientsOf(c.Subject), id) {
		http.Redirect(w, r, "/login/invalid/", http.StatusSeeOther)
		return
	}
	s.startSession(w, r, Claims{Client: id}, c.Subject, "")
}

// handleLogout ends this browser's session: the cookie is cleared, and
// its id is revoked on the server, so a copy of the cookie kept elsewhere
// no longer opens the hub either.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	client := ""
	if c := s.session(r); c != nil {
		if err := s.revokeSession(r.Context(), c); err != nil {
			s.log.Error("revoking a session at logout", "err", err)
			s.errorPage(w, r, Errorf(EInternal, "You could not be signed out just now. Please try again."))
			return
		}
		client = c.Client
	}
	s.signedOut(w, r, client)
}

// signedOut clears the session cookie (and client's CloudFront cookies)
// and sends the browser to the landing page that says so (a build from
// before it had one: the start).
func (s *Server) signedOut(w http.ResponseWriter, r *http.Request, client string) {
	s.clearCDNCookies(w, client)
	http.SetCookie(w, s.cookies.cookie(s.cookies.session, "", 0))
	noStore(w)
	to := "/"
	if _, ok := s.build.Load().public.m.Lookup("signed-out/index.html"); ok {
		to = "/signed-out/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// revokeSession records the session's id as revoked until it expires, and
// applies it on this edge at once (others read it within a second).
func (s *Server) revokeSession(ctx context.Context, c *Claims) error {
	if c.ExpiresAt == nil {
		return errors.New("revoking a session without an expiry")
	}
	if err := s.store.RevokeSession(ctx, Revocation{ID: c.ID, Expires: c.ExpiresAt.Time}, s.now()); err != nil {
		return err
	}
	return s.refreshRevocations(ctx)
}

// handleLogoutAll signs the contact out of every device: their sessions of
// every client they belong to end; other contacts of the client stay
// signed in.
func (s *Server) handleLogoutAll(w http.ResponseWriter, r *http.Request) {
	c := SessionFrom(r.Context())
	clients := s.build.Load().ClientsOf(c.Subject)
	if !slices.Contains(clients, c.Client) {
		clients = append(clients, c.Client)
	}
	if _, err := RevokeContact(r.Context(), s.store, c.Subject, clients); err != nil {
		s.log.Error("signing a contact out everywhere", "err", err)
		s.errorPage(w, r, Errorf(EInternal, "You could not be signed out of every device just now. Please try again."))
		return
	}
	if err := s.refreshRevocations(r.Context()); err != nil {
		s.log.Error("reading session epochs", "err", err)
	}
	s.signedOut(w, r, c.Client)
}

// safeNext accepts only same-origin relative paths into a client's hub.
func safeNext(p string) (string, bool) {
	if len(p) > 512 || !strings.HasPrefix(p, "/c/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return "", false
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.Contains(u.Path, "..") {
		return "", false
	}
	return u.Path, true
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
}
