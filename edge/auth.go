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

// AuthBlobHeader, on a 204, names the object a cache in front of a
// published bucket serves: bundle.Manifest.BlobName of the file (or of
// the sidecar the request's Accept-Encoding takes), under PREFIX/blobs/.
// It is absent when the bundle has no such file (the edge answers then).
const AuthBlobHeader = "X-Hub-Blob"

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
// copies onto the file it serves, and Cache-Control: no-store; a 204 also
// names the file's blob (AuthBlobHeader) from the bundle's manifest, which
// the edge keeps in memory once its client has asked for a page.
func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	client, p, ok := authTarget(r.Header.Get(AuthURIHeader))
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
		if blob := s.blobFor(client, p, r.Header.Get("Accept-Encoding")); blob != "" {
			w.Header().Set(AuthBlobHeader, blob)
		}
		s.views.add(c, p, s.now()) // nginx serves it
		w.WriteHeader(http.StatusNoContent)
	}
}

// blobFor names the blob of path p of client's bundle, or "" when there is
// no such file (or the bundle failed verification: the edge says so).
func (s *Server) blobFor(client, p, accept string) string {
	sv, ok := s.build.Load().bundle(client)
	if !ok {
		return ""
	}
	m, err := sv.manifest()
	if err != nil {
		return ""
	}
	f, ok := m.Lookup(p)
	if !ok {
		return ""
	}
	send, _ := sv.meta(m, f).pick(accept)
	return m.BlobName(send.f)
}

// authTarget returns the client whose bundle uri names, /c/<client>/<path>,
// and the file's path inside the bundle, when the path is one a bundle may
// hold (the same rules as serving: no encoded slashes, backslashes or dots,
// no dot segments or dotfiles).
func authTarget(uri string) (client, file string, ok bool) {
	if uri == "" || len(uri) > 4096 {
		return "", "", false
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(u.Path, "/c/")
	if !ok {
		return "", "", false
	}
	client, p, _ := strings.Cut(rest, "/")
	if !bundle.CleanPath(client) {
		return "", "", false
	}
	file, ok = cleanBundlePath(u.EscapedPath(), p)
	if !ok {
		return "", "", false
	}
	return client, file, true
}
