package edge

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzCookieValue: the session cookie is read as net/http reads it
// (Request.Cookie), whatever Cookie headers a request carries.
func FuzzCookieValue(f *testing.F) {
	for _, seed := range []string{
		"hub_session=abc",
		"a=1; hub_session=abc; b=2",
		`hub_session="abc"`,
		`hub_session="`,
		"hub_session=bad\\value; hub_session=good",
		"hub_session=a b",
		" hub_session = abc ",
		"hub_session",
		"hub_session=;hub_session=x",
		"x=1\nhub_session=2",
		strings.Repeat("a=1;", 3001) + "hub_session=x",
	} {
		f.Add(seed, "")
		f.Add(seed, "hub_session=second")
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		h := http.Header{"Cookie": {line1}}
		if line2 != "" {
			h["Cookie"] = append(h["Cookie"], line2)
		}
		got, ok := cookieValue(h, "hub_session")
		ck, err := (&http.Request{Header: h}).Cookie("hub_session")
		if ok != (err == nil) || (ok && got != ck.Value) {
			t.Errorf("cookieValue(%q) = %q, %v; Request.Cookie gives %v, %v", h["Cookie"], got, ok, ck, err)
		}
	})
}
