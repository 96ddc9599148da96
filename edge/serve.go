package edge

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/bundle"
)

// handleBundle serves a client's bundle to that client's session only. The
// session is checked before anything about the file (so no 304 or 206
// reveals anything without one), and only paths listed in the bundle's
// signed manifest exist.
func (s *Server) handleBundle(w http.ResponseWriter, r *http.Request) {
	client := r.PathValue("client")
	b := s.build.Load()
	c := s.session(r)
	if c == nil {
		// Remember where they were going, then ask them to sign in.
		if next, ok := safeNext(r.URL.Path); ok {
			http.SetCookie(w, s.cookies.cookie(s.cookies.next, next, time.Hour))
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if c.Client != client {
		s.notFound(w, r) // another client's hub does not exist for this session
		return
	}
	sv, ok := b.bundle(client)
	if !ok {
		s.notFound(w, r)
		return
	}
	m, err := sv.manifest()
	if err != nil {
		s.log.Error("bundle failed verification; not served", "client", client, "err", err)
		s.errorPage(w, r, Errorf(EUnavailable, "Your hub is being updated. Please try again in a few minutes."))
		return
	}
	p, ok := bundlePath(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f, ok := m.Lookup(p)
	if !ok {
		// A folder without its slash: /c/acme/quotes → /c/acme/quotes/
		if _, dir := m.Lookup(strings.TrimSuffix(p, "/") + "/index.html"); dir && !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		s.notFound(w, r)
		return
	}
	h := w.Header()
	h["Cache-Control"] = privateNoCache
	fm := sv.meta(m, f)
	if r.Method == http.MethodGet && fm.doc != "" {
		s.views.addDoc(c, fm.doc, s.now())
	}
	if c.Delegate() && strings.HasSuffix(p, ".html") {
		s.serveDelegate(w, r, sv, f, c)
		return
	}
	s.serveFile(w, r, sv, fm)
}

// bundlePath maps a request to a file path inside a bundle: "" and "x/"
// name index.html files. Encoded slashes or backslashes, dot segments,
// dotfiles and empty segments are refused.
func bundlePath(r *http.Request) (string, bool) {
	return cleanBundlePath(r.URL.EscapedPath(), r.PathValue("path"))
}

// cleanBundlePath is bundlePath for a request's escaped path and its
// decoded path inside the bundle, p.
func cleanBundlePath(escaped, p string) (string, bool) {
	raw := strings.ToLower(escaped)
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(raw, "%00") || strings.Contains(raw, "%2e") {
		return "", false
	}
	if p == "" || strings.HasSuffix(p, "/") {
		p += "index.html"
	}
	if !bundle.CleanPath(p) {
		return "", false
	}
	return p, true
}

// serveFile writes a file of the manifest: a precompressed sidecar when the
// client accepts it, with the ETag from the content hash, conditional and
// Range requests by http.ServeContent. Header values come from fm, worked
// out on the file's first request.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, sv *served, fm *fileMeta) {
	h := w.Header()
	h["Content-Type"] = fm.ctype
	send := fm.encode(h, r.Header.Get("Accept-Encoding"))
	h["Etag"] = send.etag
	if fm.download {
		h["Content-Disposition"] = attachment
	}
	data, file, err := sv.open(send.f)
	if err != nil {
		s.log.Error("file does not match its signed manifest; not served", "dir", sv.dir, "path", send.f.Path, "err", err)
		h.Del("Content-Encoding")
		h.Del("Content-Disposition")
		s.errorPage(w, r, Errorf(EUnavailable, "This page is being updated. Please try again in a few minutes."))
		return
	}
	if file != nil {
		defer file.Close()
		http.ServeContent(w, r, "", time.Time{}, file)
		return
	}
	if plainGet(r) {
		// The common case: no Range, no validators. Write it in one go.
		h["Content-Length"] = send.length
		h["Accept-Ranges"] = acceptRanges
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(data)
		}
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// Shared header values: read-only slices with no room to append into.
var (
	privateNoCache = []string{"private, no-cache"}[:1:1]
	varyAccept     = []string{"Accept-Encoding"}[:1:1]
	attachment     = []string{"attachment"}[:1:1]
	encBrotli      = []string{"br"}[:1:1]
	encGzip        = []string{"gzip"}[:1:1]
)

// addShared adds a shared value to a header, as h.Add would.
func addShared(h http.Header, key string, v []string) {
	if len(h[key]) == 0 {
		h[key] = v
		return
	}
	h[key] = append(h[key], v...)
}

// fileMeta is what serving a file of a manifest takes besides its bytes:
// its header values, its sidecars, and the document it is (for the view
// count). It is worked out on the file's first request and kept with the
// bundle (served.metas), so a request does no lookups, concatenations or
// matching for it.
type fileMeta struct {
	ctype    []string
	download bool
	doc      string   // docPath: the document a view of it counts for, "" for none
	plain    variant  // the file itself
	br, gz   *variant // its sidecars, nil when there are none
}

// variant is a file or a sidecar of it, with its header values.
type variant struct {
	f      bundle.File
	enc    []string // Content-Encoding; nil for the file itself
	etag   []string
	length []string
}

func newVariant(f bundle.File, enc []string) variant {
	return variant{f: f, enc: enc, etag: []string{f.ETag()}[:1:1], length: []string{strconv.FormatInt(f.Size, 10)}[:1:1]}
}

// meta is f's fileMeta (f is a file of m, this folder's manifest).
func (sv *served) meta(m *bundle.Manifest, f bundle.File) *fileMeta {
	if v, ok := sv.metas.Load(f.Path); ok {
		return v.(*fileMeta)
	}
	ctype := contentType(f.Path)
	fm := &fileMeta{ctype: []string{ctype}[:1:1], download: download(ctype), plain: newVariant(f, nil)}
	fm.doc, _ = docPath(f.Path)
	if side, ok := m.Lookup(f.Path + ".br"); ok {
		v := newVariant(side, encBrotli)
		fm.br = &v
	}
	if side, ok := m.Lookup(f.Path + ".gz"); ok {
		v := newVariant(side, encGzip)
		fm.gz = &v
	}
	v, _ := sv.metas.LoadOrStore(f.Path, fm)
	return v.(*fileMeta)
}

// pick chooses what to send of the file for an Accept-Encoding header:
// its brotli sidecar when the client takes brotli and there is one, else
// its gzip sidecar when the client takes gzip and there is one, else the
// file itself; vary says whether the answer depends on that header.
func (fm *fileMeta) pick(accept string) (send *variant, vary bool) {
	_, ext := pickEncoding(accept)
	switch {
	case ext == "":
		return &fm.plain, fm.gz != nil
	case ext == ".br" && fm.br != nil:
		return fm.br, true
	case fm.gz != nil && acceptsEncoding(accept, "gzip"):
		return fm.gz, true
	}
	return &fm.plain, true
}

// encode is pick, setting Vary and Content-Encoding on h as it says.
func (fm *fileMeta) encode(h http.Header, accept string) *variant {
	send, vary := fm.pick(accept)
	if vary {
		addShared(h, "Vary", varyAccept)
	}
	if send.enc != nil {
		h["Content-Encoding"] = send.enc
	}
	return send
}

var acceptRanges = []string{"bytes"}[:1:1]

// plainGet reports a GET or HEAD without Range or conditional headers,
// which http.ServeContent would answer with the whole file anyway.
func plainGet(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	for _, k := range []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// pickEncoding chooses brotli over gzip when both are accepted.
func pickEncoding(accept string) (enc, ext string) {
	switch {
	case acceptsEncoding(accept, "br"):
		return "br", ".br"
	case acceptsEncoding(accept, "gzip"):
		return "gzip", ".gz"
	}
	return "", ""
}

func acceptsEncoding(header, enc string) bool {
	for rest := header; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), enc) {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
	}
	return false
}

// download reports whether a file of a type is sent as an attachment,
// whatever its size (small files come from memory, large ones from disk:
// the headers are the same). Documents (PDFs, zips, office files) are
// downloads, as the pages' links to them ("Download PDF", with the
// download attribute) ask; pages, styles, scripts, images and fonts are
// shown in place.
func download(ctype string) bool {
	for _, inline := range []string{"text/", "image/", "font/", "application/javascript"} {
		if strings.HasPrefix(ctype, inline) {
			return false
		}
	}
	return true
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	case ".csv":
		return "text/csv; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// handlePublic serves one of the public pages.
func (s *Server) handlePublic(file string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b := s.build.Load()
		f, ok := b.public.m.Lookup(file)
		if !ok {
			s.notFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		s.serveFile(w, r, b.public, b.public.meta(b.public.m, f))
	}
}

// handleLinkPage serves a login page: never stored, never sent as a referrer.
func (s *Server) handleLinkPage(file string, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.serveStatic(w, r, file, status)
	}
}

// serveStatic writes a public page with a given status, uncached.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request, name string, status int) {
	b := s.build.Load()
	f, ok := b.public.m.Lookup(name)
	if !ok {
		http.Error(w, http.StatusText(status), status)
		return
	}
	h := w.Header()
	m, _ := b.public.manifest() // f came from it, so it is loaded
	send := b.public.meta(m, f).encode(h, r.Header.Get("Accept-Encoding")).f
	data, fl, err := b.public.open(send)
	if err != nil {
		s.log.Error("public page does not match its signed manifest; not served", "path", send.Path, "err", err)
		h.Del("Content-Encoding")
		http.Error(w, http.StatusText(status), status)
		return
	}
	if fl != nil {
		// A large page is served from disk.
		defer fl.Close()
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.FormatInt(send.Size, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if fl != nil {
		if _, err := io.Copy(w, fl); err != nil {
			s.log.Debug("writing a public page", "path", f.Path, "err", err)
		}
		return
	}
	w.Write(data)
}

// handleAsset serves fingerprinted public assets: cached for a year.
func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	b := s.build.Load()
	p := "assets/" + r.PathValue("file")
	f, ok := b.public.m.Lookup(p)
	if !ok || !bundle.CleanPath(p) {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	s.serveFile(w, r, b.public, b.public.meta(b.public.m, f))
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.notFound(w, r)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.serveStatic(w, r, "404.html", http.StatusNotFound)
}
