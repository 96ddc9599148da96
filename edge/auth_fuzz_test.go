package edge

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzAuthTarget: whatever X-Original-URI says, an accepted one names a
// client, and the path nginx will serve after decoding and normalising it
// stays in that client's folder.
func FuzzAuthTarget(f *testing.F) {
	for _, s := range []string{"/c/acme/", "/c/acme/invoices/INV-1/?x=1", "/c/acme/../b/", "/c/acme/%2e%2e/b", "/c/acme//x", "/c/a%63me/", "http://x/c/a/", "/c/acme/a%5cb", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		client, file, ok := authTarget(uri)
		if !ok {
			return
		}
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			t.Fatalf("authTarget(%q) accepted an unparsable URI", uri)
		}
		clean := path.Clean(u.Path)
		if clean != "/c/"+client && !strings.HasPrefix(clean, "/c/"+client+"/") {
			t.Fatalf("authTarget(%q) = %q, but nginx would serve %q", uri, client, clean)
		}
		if strings.Contains(client, "/") || strings.HasPrefix(client, ".") || strings.Contains("/"+file, "/.") {
			t.Fatalf("authTarget(%q) = %q", uri, client)
		}
	})
}

// FuzzPolicyExpiry: a CloudFront-Policy cookie from a browser never panics the edge.
func FuzzPolicyExpiry(f *testing.F) {
	f.Add("eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiaHR0cHM6Ly9jZG4uZXhhbXBsZS5jb20vYy9hY21lLyoiLCJDb25kaXRpb24iOnsiRGF0ZUxlc3NUaGFuIjp7IkFXUzpFcG9jaFRpbWUiOjE3OTU5NjQ0MDB9fX1dfQ__")
	f.Add("")
	f.Add("~~~")
	f.Fuzz(func(t *testing.T, v string) {
		PolicyExpiry(v)
	})
}
