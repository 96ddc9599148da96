package edge

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Session audiences: a client's own session, a staff delegate viewing a
// client's hub read-only, and the short-lived cookie of a contact choosing
// which client's hub to open.
const (
	AudClient   = "hub-client"
	AudDelegate = "hub-delegate"
	AudChoose   = "hub-choose"
)

// Claims are a session cookie's JWT claims.
type Claims struct {
	jwt.RegisteredClaims
	Client  string   `json:"cid,omitempty"`
	Epoch   int64    `json:"ep"`             // the client's epoch: staff revocation of a client bumps it
	Contact int64    `json:"cep,omitempty"`  // the contact's epoch (client + email): "sign out of every device" bumps it
	Staff   string   `json:"stf,omitempty"`  // delegate sessions: who is viewing
	Clients []string `json:"cids,omitempty"` // choose cookies: the hubs to choose from
}

// Delegate reports whether the session is a staff member viewing as the client.
func (c *Claims) Delegate() bool { return c.Staff != "" && hasAud(c.Audience, AudDelegate) }

func hasAud(aud jwt.ClaimStrings, want string) bool {
	for _, a := range aud {
		if a == want {
			return true
		}
	}
	return false
}

// maxCookieLen bounds the cookie we parse; anything longer is rejected
// before any decoding.
const maxCookieLen = 2048

// keyRotation is how often a new session key is made. A key signs new
// sessions until the next one is made, and those sessions live up to the
// longest session lifetime after that: so a key older than keyRotation
// plus that lifetime can have signed nothing still valid, and is refused
// (and deleted from the store).
const keyRotation = 30 * 24 * time.Hour

// sessions mints and checks session JWTs (HS256, kid from a local key map).
type sessions struct {
	issuer string
	now    func() time.Time
	// retireAfter: keys older than this are refused (keyRotation plus the
	// longest session lifetime).
	retireAfter time.Duration
	mu          sync.RWMutex
	keys        map[string]SessionKey
	cur         SessionKey
}

// setKeys replaces the key map (keys newest first) and reports whether a
// key that was there before is gone (retired).
func (s *sessions) setKeys(keys []SessionKey) (removed bool) {
	m := make(map[string]SessionKey, len(keys))
	for _, k := range keys {
		m[k.ID] = k
	}
	s.mu.Lock()
	for id := range s.keys {
		if _, ok := m[id]; !ok {
			removed = true
		}
	}
	s.keys, s.cur = m, keys[0]
	s.mu.Unlock()
	return removed
}

// current is the key new sessions are signed with.
func (s *sessions) current() SessionKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

func (s *sessions) mint(c Claims, ttl time.Duration) (string, error) {
	now := s.now()
	c.Issuer = s.issuer
	c.IssuedAt = jwt.NewNumericDate(now)
	c.NotBefore = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	c.ID = randomToken(12)
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	s.mu.RLock()
	t.Header["kid"] = s.cur.ID
	secret := s.cur.Secret
	s.mu.RUnlock()
	return t.SignedString(secret)
}

var errBadSession = errors.New("invalid session")

// parse checks a session token: one algorithm, a known kid, issuer,
// audience, expiry required, a small leeway.
func (s *sessions) parse(tok string, aud ...string) (*Claims, error) {
	if len(tok) > maxCookieLen || strings.Count(tok, ".") != 2 {
		return nil, errBadSession
	}
	var c Claims
	_, err := jwt.ParseWithClaims(tok, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		s.mu.RLock()
		k, ok := s.keys[kid]
		s.mu.RUnlock()
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		if s.retireAfter > 0 && s.now().Sub(k.Created) > s.retireAfter {
			return nil, fmt.Errorf("key %q retired", kid)
		}
		return k.Secret, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(s.issuer),
		jwt.WithAudience(aud...),
		jwt.WithLeeway(30*time.Second),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return nil, errBadSession
	}
	return &c, nil
}

// cookieNames: on https the __Host- prefix (Secure, Path=/, no Domain);
// on plain http (local development only) a plain name without Secure,
// since browsers refuse __Host- and Secure cookies there.
type cookieNames struct {
	secure  bool
	session string
	choose  string
	next    string
}

func newCookieNames(secure bool) cookieNames {
	if secure {
		return cookieNames{secure: true, session: "__Host-hub_session", choose: "__Host-hub_choose", next: "__Host-hub_next"}
	}
	return cookieNames{session: "hub_session", choose: "hub_choose", next: "hub_next"}
}

func (n cookieNames) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: n.secure, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	} else {
		c.MaxAge = -1 // Max-Age=0: delete
	}
	return c
}

// maxCookies is net/http's limit on the cookies of a request (its
// httpcookiemaxnum default): past it, a request has no cookies.
const maxCookies = 3000

// cookieValue is (*http.Request).Cookie(name).Value for the request's
// header h, found without making a Cookie of every cookie the request
// carries: the first cookie of that name whose value is valid (quotes
// stripped), as net/http reads them. name must be a valid cookie name.
func cookieValue(h http.Header, name string) (string, bool) {
	lines := h["Cookie"]
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > maxCookies {
		return "", false
	}
	for _, line := range lines {
		for rest := textproto.TrimString(line); rest != ""; {
			var part string
			part, rest, _ = strings.Cut(rest, ";")
			k, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if textproto.TrimString(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validCookieValue(v) {
				return v, true
			}
		}
	}
	return "", false
}

// validCookieValue is net/http's check of a cookie's value.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// sessionCache remembers cookies that verified, so that a client's every
// request does not pay for decoding and checking the JWT again. Expiry is
// still checked on each use, and the epoch (revocation) is checked by the
// caller; keys are the exact cookie values, so nothing forged can hit.
type sessionCache struct {
	mu sync.RWMutex
	m  map[string]*Claims
}

const sessionCacheMax = 100_000

func (c *sessionCache) get(tok string, now time.Time) *Claims {
	c.mu.RLock()
	cl := c.m[tok]
	c.mu.RUnlock()
	if cl == nil || cl.ExpiresAt == nil || !now.Before(cl.ExpiresAt.Time) {
		return nil
	}
	return cl
}

// reset forgets every cookie (a key retired: what it verified must be checked again).
func (c *sessionCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func (c *sessionCache) put(tok string, cl *Claims) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= sessionCacheMax {
		c.m = make(map[string]*Claims)
	}
	c.m[tok] = cl
	c.mu.Unlock()
}

// revokedSet is the edge's copy of the revoked session ids: read from the
// store incrementally (only rows after the last seq seen), so each edge
// sharing a store learns of a logout within a second; entries are dropped
// once the session would have expired anyway.
type revokedSet struct {
	mu     sync.RWMutex
	m      map[string]time.Time
	seq    int64
	pruned time.Time
}

func (r *revokedSet) has(id string) bool {
	r.mu.RLock()
	_, ok := r.m[id]
	r.mu.RUnlock()
	return ok
}

// last is the seq of the newest revocation seen.
func (r *revokedSet) last() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.seq
}

// add records revocations, and once a minute forgets expired ones.
func (r *revokedSet) add(vs []Revocation, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]time.Time)
	}
	for _, v := range vs {
		if v.Expires.After(now) {
			r.m[v.ID] = v.Expires
		}
		r.seq = max(r.seq, v.Seq)
	}
	if now.Sub(r.pruned) < time.Minute {
		return
	}
	r.pruned = now
	for id, exp := range r.m {
		if !exp.After(now) {
			delete(r.m, id)
		}
	}
}
