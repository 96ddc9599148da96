package edge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/bundle"
)

const day = 24 * time.Hour

// TestRetiredSessionKey: a key older than the rotation (30 days) plus the
// session lifetime (30 days) verifies nothing and is deleted from the
// store; a key within that overlap still verifies.
func TestRetiredSessionKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var old, mid edge.SessionKey
	f := newFixtureWith(t, nil, func(f *fixture) {
		// Keys made 100 and 45 days ago, as an edge rotating every 30 days would have.
		for _, age := range []time.Duration{100 * day, 45 * day} {
			keys, err := f.store.SessionKeys(ctx, f.clock.Now().Add(-age), 30*day, 1000*day)
			if err != nil {
				t.Fatal(err)
			}
			old, mid = mid, keys[0]
		}
	})
	now := f.clock.Now()
	cur, err := f.store.SessionKeys(ctx, now, 30*day, 1000*day) // what the edge made at start
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"iss": f.url, "aud": []string{edge.AudClient}, "sub": "ngozi.okafor@example.com", "cid": "okafor-residence",
		"ep": 0, "jti": "forged", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	tests := []struct {
		name string
		key  edge.SessionKey
		ok   bool
	}{
		{"key made 100 days ago", old, false},
		{"key made 45 days ago (within the overlap)", mid, true},
		{"current key", cur[0], true},
	}
	for _, tt := range tests {
		r := f.do(f.withCookie(f.forge(jwt.SigningMethodHS256, claims, tt.key.ID, tt.key.Secret)), "GET", "/c/okafor-residence/", nil)
		if got := r.StatusCode == http.StatusOK; got != tt.ok {
			t.Errorf("GET with a session signed by the %s = %d; want ok=%v", tt.name, r.StatusCode, tt.ok)
		}
	}
	ids := map[string]bool{}
	for _, k := range cur {
		ids[k.ID] = true
	}
	if ids[old.ID] || !ids[mid.ID] || len(cur) != 2 {
		t.Errorf("store keys = %v; want the current and the 45-day key, the 100-day key deleted (%s)", ids, old.ID)
	}
}

// sessionCookie is the session cookie a browser holds.
func (f *fixture) sessionCookie(c *http.Client) string {
	f.t.Helper()
	u, _ := url.Parse(f.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "hub_session" {
			return ck.Value
		}
	}
	f.t.Fatal("no session cookie")
	return ""
}

// TestLogoutRevokes: a copy of the cookie kept after POST /logout no
// longer opens the hub, on this edge and on another sharing the store.
func TestLogoutRevokes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	copied := f.sessionCookie(c)
	other := f.login("okafor-residence")
	if r := f.do(f.withCookie(copied), "GET", "/c/okafor-residence/", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("copied cookie before logout = %d; want 200", r.StatusCode)
	}
	if r := f.do(c, "POST", "/logout", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /logout = %d; want 303", r.StatusCode)
	}
	if r := f.do(f.withCookie(copied), "GET", "/c/okafor-residence/", nil); r.StatusCode == http.StatusOK {
		t.Error("the copied cookie still opens the hub after logout")
	}
	if r := f.do(f.withCookie(copied), "POST", "/logout/all", url.Values{}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST with the copied cookie after logout = %d; want 401", r.StatusCode)
	}
	if r := f.do(other, "GET", "/c/okafor-residence/", nil); r.StatusCode != http.StatusOK {
		t.Errorf("another device after logout = %d; want 200 (only that session ends)", r.StatusCode)
	}
	// Another edge sharing the store (same base URL) refuses it too.
	keys, err := bundle.LoadKeySet(f.keysDir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := edge.New(context.Background(), f.config(keys, mustURL(f.url)), f.store, f.mail)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cookie string
		want   int
	}{{copied, http.StatusSeeOther}, {f.sessionCookie(other), http.StatusOK}} {
		req := httptest.NewRequest("GET", f.url+"/c/okafor-residence/", nil)
		req.AddCookie(&http.Cookie{Name: "hub_session", Value: tt.cookie})
		rec := httptest.NewRecorder()
		second.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("another edge: GET with the %s cookie = %d; want %d", map[bool]string{true: "revoked", false: "other device's"}[tt.cookie == copied], rec.Code, tt.want)
		}
	}
}

// TestSignOutEverywhereOneContact: "sign out of every device" ends that
// contact's sessions (in every client they belong to), not those of the
// client's other contacts.
func TestSignOutEverywhereOneContact(t *testing.T) {
	t.Parallel()
	const marcus = "marcus.lee@whitfield-dental.example"
	f := newFixture(t, func(content string) {
		// Dana is also a contact of the Okafors.
		editFile(t, content+"/clients/okafor-residence/client.yaml", "    phone: (360) 555-0124\n",
			"    phone: (360) 555-0124\n  - name: Dana Whitfield\n    email: "+dana+"\n")
	})
	danaA := f.loginAs(dana, "whitfield-dental")
	danaB := f.loginAs(dana, "whitfield-dental") // another device
	danaOkafor := f.loginAs(dana, "okafor-residence")
	marcusW := f.loginAs(marcus, "whitfield-dental")
	ngozi := f.login("okafor-residence")
	if r := f.do(danaA, "POST", "/logout/all", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /logout/all = %d; want 303", r.StatusCode)
	}
	tests := []struct {
		name   string
		c      *http.Client
		client string
		open   bool
	}{
		{"dana, the device that signed out", danaA, "whitfield-dental", false},
		{"dana, another device", danaB, "whitfield-dental", false},
		{"dana, in her other client's hub", danaOkafor, "okafor-residence", false},
		{"marcus, of the same client", marcusW, "whitfield-dental", true},
		{"ngozi, of the other client", ngozi, "okafor-residence", true},
	}
	for _, tt := range tests {
		r := f.do(tt.c, "GET", "/c/"+tt.client+"/", nil)
		if got := r.StatusCode == http.StatusOK; got != tt.open {
			t.Errorf("%s after dana signed out everywhere: GET = %d; want open=%v", tt.name, r.StatusCode, tt.open)
		}
	}
	if r := f.do(f.loginAs(dana, "whitfield-dental"), "GET", "/c/whitfield-dental/", nil); r.StatusCode != http.StatusOK {
		t.Errorf("dana signing in again = %d; want 200", r.StatusCode)
	}
}

// TestAccountPage: the hub's account page offers both ways of signing out.
func TestAccountPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.do(f.login("okafor-residence"), "GET", "/c/okafor-residence/account/", nil)
	body := readBody(t, r)
	for _, want := range []string{`action="/logout"`, `action="/logout/all"`, "Sign out of every device", `href="/c/okafor-residence/account/"`} {
		if r.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /c/okafor-residence/account/ = %d; want 200 with %s", r.StatusCode, want)
		}
	}
}
