package edge

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
)

// CloudFront makes the edge set CloudFront signed cookies at login, so
// that a distribution holding the bundles serves a client's /c/<id>/ pages
// to that client's browser only (the distribution trusts the key's public
// half through a key group). The cookies are scoped to /c/<id>/ and their
// custom policy's resource is exactly https://CDN/c/<id>/* (never
// /c/<id>*, which would match /c/<id>2/ too).
type CloudFront struct {
	KeyPairID string          // the public key's ID in CloudFront
	Key       *rsa.PrivateKey // its private half
	URL       *url.URL        // the distribution's origin as viewers see it, e.g. https://hub.example.com
	// TTL caps the cookies' life (default 1 hour; never past the session's
	// expiry). A cookie cannot be taken back: after a logout or revocation
	// it opens the client's files at the CDN until it expires.
	TTL time.Duration
	// Domain, when set, is the cookies' Domain attribute: for a
	// distribution on another host of the same site (cdn.example.com
	// beside hub.example.com: Domain=example.com).
	Domain string
}

// cdnDefaultTTL is the CloudFront cookies' life when CloudFront.TTL is 0.
const cdnDefaultTTL = time.Hour

// Validate says what is wrong with the configuration.
func (cf *CloudFront) Validate() error {
	switch {
	case cf.KeyPairID == "":
		return errors.New("CloudFront: the key pair ID (-cdn-key-id) is required")
	case cf.Key == nil:
		return errors.New("CloudFront: the private key (-cdn-key) is required")
	case cf.URL == nil || cf.URL.Scheme != "https" || cf.URL.Host == "" || strings.Trim(cf.URL.Path, "/") != "":
		return errors.New("CloudFront: the distribution's address (-cdn-url) must be https://HOST, without a path")
	case cf.TTL < 0:
		return errors.New("CloudFront: the cookies' lifetime must not be negative")
	}
	return nil
}

// Resource is the policy's resource for a client: its bundle's files only.
func (cf *CloudFront) Resource(client string) string {
	return cf.URL.Scheme + "://" + cf.URL.Host + "/c/" + client + "/*"
}

// Policy is the custom policy of a client's cookies, valid until expires.
func (cf *CloudFront) Policy(client string, expires time.Time) *sign.Policy {
	return &sign.Policy{Statements: []sign.Statement{{
		Resource:  cf.Resource(client),
		Condition: sign.Condition{DateLessThan: sign.NewAWSEpochTime(expires)},
	}}}
}

// Cookies are the three signed cookies for client, expiring at the
// session's expiry or after TTL, whichever is first.
func (cf *CloudFront) Cookies(client string, now, session time.Time) ([]*http.Cookie, error) {
	ttl := cf.TTL
	if ttl == 0 {
		ttl = cdnDefaultTTL
	}
	exp := now.Add(ttl)
	if session.Before(exp) {
		exp = session
	}
	exp = exp.Truncate(time.Second)
	if !exp.After(now) {
		return nil, errors.New("CloudFront cookies for a session that has ended")
	}
	signer := sign.NewCookieSigner(cf.KeyPairID, cf.Key)
	cks, err := signer.SignWithPolicy(cf.Policy(client, exp), func(o *sign.CookieOptions) {
		o.Path = "/c/" + client + "/"
		o.Domain = cf.Domain
		o.Secure = true
		o.SameSite = http.SameSiteLaxMode
	})
	if err != nil {
		return nil, fmt.Errorf("signing CloudFront cookies: %w", err)
	}
	for _, c := range cks {
		c.MaxAge = int(exp.Sub(now) / time.Second)
	}
	return cks, nil
}

// Clear are the cookies that delete client's CloudFront cookies.
func (cf *CloudFront) Clear(client string) []*http.Cookie {
	var out []*http.Cookie
	for _, name := range []string{sign.CookiePolicyName, sign.CookieSignatureName, sign.CookieKeyIDName} {
		out = append(out, &http.Cookie{Name: name, Path: "/c/" + client + "/", Domain: cf.Domain, MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	return out
}

// cdnDecode undoes CloudFront's base64 variant (- for +, _ for =, ~ for /).
func cdnDecode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.NewReplacer("-", "+", "_", "=", "~", "/").Replace(s))
}

// PolicyExpiry reads the expiry of a CloudFront-Policy cookie's value.
func PolicyExpiry(value string) (time.Time, error) {
	data, err := cdnDecode(value)
	if err != nil {
		return time.Time{}, err
	}
	var p sign.Policy
	if err := json.Unmarshal(data, &p); err != nil {
		return time.Time{}, err
	}
	if len(p.Statements) != 1 || p.Statements[0].Condition.DateLessThan == nil {
		return time.Time{}, errors.New("not a policy of this edge")
	}
	return p.Statements[0].Condition.DateLessThan.Time, nil
}

// setCDNCookies gives a session's browser its CloudFront cookies when the
// edge has a distribution and the browser's are missing or past half
// their life.
func (s *Server) setCDNCookies(w http.ResponseWriter, r *http.Request, c *Claims, force bool) {
	cf := s.cfg.CloudFront
	if cf == nil || c == nil || c.ExpiresAt == nil {
		return
	}
	now := s.now()
	if !force {
		if ck, err := r.Cookie(sign.CookiePolicyName); err == nil {
			ttl := cf.TTL
			if ttl == 0 {
				ttl = cdnDefaultTTL
			}
			if exp, err := PolicyExpiry(ck.Value); err == nil && exp.Sub(now) > ttl/2 {
				return
			}
		}
	}
	cks, err := cf.Cookies(c.Client, now, c.ExpiresAt.Time)
	if err != nil {
		s.log.Error("CloudFront cookies", "client", c.Client, "err", err)
		return
	}
	for _, ck := range cks {
		http.SetCookie(w, ck)
	}
}

// clearCDNCookies deletes client's CloudFront cookies (at logout).
func (s *Server) clearCDNCookies(w http.ResponseWriter, client string) {
	if s.cfg.CloudFront == nil || client == "" {
		return
	}
	for _, ck := range s.cfg.CloudFront.Clear(client) {
		http.SetCookie(w, ck)
	}
}

// handleCDNRefresh (GET /_hub/cdn) is where the distribution's 403 page
// sends a browser whose CloudFront cookies expired: with a session, new
// cookies and back to next (a path of its own hub) or its home; without,
// to sign in.
func (s *Server) handleCDNRefresh(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	c := s.session(r)
	if c == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.setCDNCookies(w, r, c, true)
	dest := "/c/" + c.Client + "/"
	if next, ok := safeNext(r.URL.Query().Get("next")); ok && strings.HasPrefix(next, dest) {
		dest = next
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}
