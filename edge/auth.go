package edge

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hubhq/hub/generator/bundle"
)

// AuthURIHeader carries the original request's URI (path and query, as the
// browser sent it) to GET /_hub/auth; nginx sets it from $request_uri.
const AuthURIHeader = "X-Original-URI"

// handleAuth is nginx's auth_request (or any cache's) question: may the
// cookie this request carries read the URI in X-Original-URI? It is
// answered from the cookie alone (the verified-cookie cache, the epochs
// and revocations the edge keeps in memory), never from disk or the store:
//
//	204  serve it: the session's own client's bundle
//	401  not for the cache to serve: no valid session (the edge then asks
//	     them to sign in), or a staff delegate (the edge serves the page
//	     with its "viewing as" banner)
//	403  another client's bundle, or a path no bundle can hold
//
// Every answer carries the edge's Content-Security-Policy, which the cache
// copies onto the file it serves, and Cache-Control: no-store.
func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	client, ok := authTarget(r.Header.Get(AuthURIHeader))
	if !ok {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	c := s.session(r)
	switch {
	case c == nil || c.Delegate():
		w.WriteHeader(http.StatusUnauthorized)
	case c.Client != client:
		w.WriteHeader(http.StatusForbidden)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// authTarget returns the client whose bundle uri names: /c/<client>/<path>
// with a path a bundle may hold (the same rules as serving: no encoded
// slashes, backslashes or dots, no dot segments or dotfiles).
func authTarget(uri string) (string, bool) {
	if uri == "" || len(uri) > 4096 {
		return "", false
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "", false
	}
	rest, ok := strings.CutPrefix(u.Path, "/c/")
	if !ok {
		return "", false
	}
	client, p, _ := strings.Cut(rest, "/")
	if !bundle.CleanPath(client) {
		return "", false
	}
	if _, ok := cleanBundlePath(u.EscapedPath(), p); !ok {
		return "", false
	}
	return client, true
}
