package edge_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

var testRSA = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func testCloudFront() *edge.CloudFront {
	return &edge.CloudFront{KeyPairID: "K2JCJMDEHXQW5F", Key: testRSA, URL: mustURL("https://cdn.example.com"), TTL: time.Hour}
}

// cfPolicy is what CloudFront reads from the cookies: it undoes its base64
// variant, checks the RSA-SHA1 signature of the policy's exact bytes with
// the public key of the key pair named, and decodes the policy.
type cfPolicy struct {
	Statement []struct {
		Resource  string
		Condition struct {
			DateLessThan struct {
				EpochTime int64 `json:"AWS:EpochTime"`
			}
		}
	}
}

func cfDecode(t *testing.T, s string) []byte {
	t.Helper()
	if strings.ContainsAny(s, "+=/") {
		t.Fatalf("cookie value %q uses characters CloudFront's base64 replaces", s)
	}
	b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("-", "+", "_", "=", "~", "/").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verifyLikeCloudFront(t *testing.T, cks map[string]*http.Cookie, pub *rsa.PublicKey, keyID string) (cfPolicy, error) {
	t.Helper()
	if cks["CloudFront-Key-Pair-Id"] == nil || cks["CloudFront-Key-Pair-Id"].Value != keyID {
		t.Fatalf("CloudFront-Key-Pair-Id = %v; want %s", cks["CloudFront-Key-Pair-Id"], keyID)
	}
	policy := cfDecode(t, cks["CloudFront-Policy"].Value)
	sig := cfDecode(t, cks["CloudFront-Signature"].Value)
	sum := sha1.Sum(policy)
	var p cfPolicy
	if err := json.Unmarshal(policy, &p); err != nil {
		t.Fatal(err)
	}
	return p, rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig)
}

// cfMatch is CloudFront's resource wildcard: * any characters, ? one.
func cfMatch(pattern, u string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(u)
}

func byName(cks []*http.Cookie) map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range cks {
		m[c.Name] = c
	}
	return m
}

func TestCloudFrontCookies(t *testing.T) {
	cf := testCloudFront()
	now := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	cks, err := cf.Cookies("acme", now, now.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := byName(cks)
	for _, name := range []string{"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"} {
		c := m[name]
		if c == nil || c.Path != "/c/acme/" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 3600 || c.Domain != "" {
			t.Errorf("cookie %s = %+v; want Path=/c/acme/, Secure, HttpOnly, Lax, Max-Age=3600", name, c)
		}
	}
	p, err := verifyLikeCloudFront(t, m, &testRSA.PublicKey, "K2JCJMDEHXQW5F")
	if err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if len(p.Statement) != 1 || p.Statement[0].Resource != "https://cdn.example.com/c/acme/*" || p.Statement[0].Condition.DateLessThan.EpochTime != now.Add(time.Hour).Unix() {
		t.Errorf("policy = %+v; want the client's prefix until the TTL", p)
	}

	// A's policy opens A's files only.
	res := p.Statement[0].Resource
	for u, want := range map[string]bool{
		"https://cdn.example.com/c/acme/":                 true,
		"https://cdn.example.com/c/acme/invoices/x.pdf":   true,
		"https://cdn.example.com/c/acme2/":                false,
		"https://cdn.example.com/c/acme":                  false,
		"https://cdn.example.com/c/acm/":                  false,
		"https://cdn.example.com/c/other/c/acme/":         false,
		"https://other.example.com/c/acme/":               false,
		"http://cdn.example.com/c/acme/":                  false,
		"https://cdn.example.com/assets/style.abc.css":    false,
		"https://cdn.example.com/c/acme-bistro/index.htm": false,
	} {
		if got := cfMatch(res, u); got != want {
			t.Errorf("resource %q matches %q = %v; want %v", res, u, got, want)
		}
	}

	// Another key, or a policy edited to another client, fails.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, err := verifyLikeCloudFront(t, m, &other.PublicKey, "K2JCJMDEHXQW5F"); err == nil {
		t.Error("the signature verifies with another key")
	}
	forged := byName(cks)
	pol := strings.Replace(string(cfDecode(t, m["CloudFront-Policy"].Value)), "/c/acme/", "/c/acme2/", 1)
	forged["CloudFront-Policy"] = &http.Cookie{Name: "CloudFront-Policy", Value: strings.NewReplacer("+", "-", "=", "_", "/", "~").Replace(base64.StdEncoding.EncodeToString([]byte(pol)))}
	if _, err := verifyLikeCloudFront(t, forged, &testRSA.PublicKey, "K2JCJMDEHXQW5F"); err == nil {
		t.Error("a policy edited to another client verifies")
	}

	// Never past the session's expiry.
	cks, _ = cf.Cookies("acme", now, now.Add(10*time.Minute))
	p, _ = verifyLikeCloudFront(t, byName(cks), &testRSA.PublicKey, "K2JCJMDEHXQW5F")
	if got := p.Statement[0].Condition.DateLessThan.EpochTime; got != now.Add(10*time.Minute).Unix() {
		t.Errorf("expiry with a session ending in 10 minutes = %d; want %d", got, now.Add(10*time.Minute).Unix())
	}
	if exp, err := edge.PolicyExpiry(byName(cks)["CloudFront-Policy"].Value); err != nil || !exp.Equal(now.Add(10*time.Minute)) {
		t.Errorf("PolicyExpiry = %v, %v", exp, err)
	}
	if _, err := cf.Cookies("acme", now, now.Add(-time.Second)); err == nil {
		t.Error("cookies for an ended session")
	}
	for _, bad := range []*edge.CloudFront{
		{Key: testRSA, URL: mustURL("https://cdn.example.com")},
		{KeyPairID: "K", URL: mustURL("https://cdn.example.com")},
		{KeyPairID: "K", Key: testRSA, URL: mustURL("http://cdn.example.com")},
		{KeyPairID: "K", Key: testRSA, URL: mustURL("https://cdn.example.com/c/")},
	} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) = nil; want an error", bad)
		}
	}
}

// TestCloudFrontLogin: the edge sets the cookies at login, refreshes them
// at /_hub/cdn, and clears them at logout.
func TestCloudFrontLogin(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(f *fixture) {
		f.tune = func(c *edge.Config) { c.CloudFront = testCloudFront() }
	})
	link := f.linkFor(f.contactEmail("whitfield-dental"), "whitfield-dental")
	c := f.client()
	r := f.do(c, "POST", mustURL(link).Path, url.Values{})
	m := byName(r.Cookies())
	if _, err := verifyLikeCloudFront(t, m, &testRSA.PublicKey, "K2JCJMDEHXQW5F"); err != nil || m["CloudFront-Policy"].Path != "/c/whitfield-dental/" {
		t.Fatalf("login cookies = %v, %v; want CloudFront cookies for the client's prefix", r.Cookies(), err)
	}
	r = f.do(c, "GET", "/_hub/cdn?next=/c/whitfield-dental/invoices/", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/whitfield-dental/invoices/" || byName(r.Cookies())["CloudFront-Signature"] == nil {
		t.Errorf("GET /_hub/cdn = %d %q %v; want new cookies and back to the page", r.StatusCode, r.Header.Get("Location"), r.Cookies())
	}
	if r := f.do(c, "GET", "/_hub/cdn?next=/c/hawthorne-bistro/", nil); r.Header.Get("Location") != "/c/whitfield-dental/" {
		t.Errorf("GET /_hub/cdn with another client's next went to %q; want the hub's home", r.Header.Get("Location"))
	}
	if r := f.do(f.client(), "GET", "/_hub/cdn", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" || len(r.Cookies()) != 0 {
		t.Errorf("GET /_hub/cdn without a session = %d %q %v; want 303 to sign in, no cookies", r.StatusCode, r.Header.Get("Location"), r.Cookies())
	}
	r = f.do(c, "POST", "/logout", url.Values{})
	cleared := 0
	for _, ck := range r.Cookies() {
		if strings.HasPrefix(ck.Name, "CloudFront-") && ck.Path == "/c/whitfield-dental/" && ck.MaxAge < 0 {
			cleared++
		}
	}
	if cleared != 3 {
		t.Errorf("logout cookies = %v; want the three CloudFront cookies cleared", r.Cookies())
	}
}
