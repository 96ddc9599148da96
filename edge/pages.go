package edge

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/hubhq/hub/generator/bundle"
)

// The few pages the edge makes itself (everything else is in the build):
// errors, choosing a hub, and the banner over a delegate's view. They use
// the build's stylesheet so they look like the rest of the hub.

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · {{.Site.Name}}</title><link rel="stylesheet" href="{{.Site.CSS}}">{{with .Site.Icon}}<link rel="icon" href="{{.}}">{{end}}<meta name="robots" content="noindex, nofollow"></head>
<body><a class="skip" href="#main">Skip to main content</a>
<header class="site-header"><div class="wrap bar"><a class="brand" href="/">{{if .Site.Logo}}<img src="{{.Site.Logo}}" alt="{{.Site.Name}}"{{if .Site.LogoWidth}} width="{{.Site.LogoWidth}}" height="{{.Site.LogoHeight}}"{{end}}>{{else}}<span>{{.Site.Name}}</span>{{end}}</a></div></header>
<main id="main" class="wrap narrow"><div class="page-head"><h1>{{.Title}}</h1></div>{{.Body}}</main>
<footer class="site-footer"><div class="wrap"><address class="contact"><strong>{{.Site.Name}}</strong>{{if .Site.Phone}}<br>{{.Site.Phone}}{{end}}{{if .Site.Email}}<br><a href="mailto:{{.Site.Email}}">{{.Site.Email}}</a>{{end}}</address></div></footer></body></html>`))

type chooseOption struct{ ID, Name string }

var chooseTmpl = template.Must(template.New("choose").Parse(`<p>Your email address has access to more than one hub. Which would you like to open?</p>
<form method="post" action="/login/choose" class="panel stack">{{range .}}
<button class="btn" type="submit" name="client" value="{{.ID}}">{{.Name}}</button>{{end}}
</form>`))

// mustPage parses the body of an edge page.
func mustPage(src string) *template.Template { return template.Must(template.New("").Parse(src)) }

var errorTmpl = template.Must(template.New("error").Parse(`<div class="panel"><p>{{.}}</p><p><a href="/">Go to the start page</a></p></div>`))

// renderPage writes one of the edge's pages. If a template fails, nothing
// of the page is sent: the error is logged and a plain-text 500 is.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, title string, body *template.Template, data any) {
	s.renderPageOr(w, r, status, title, body, data, http.StatusInternalServerError, "Something went wrong showing this page. Please try again in a moment.")
}

// renderPageOr is renderPage with what to answer, as plain text, when the
// page cannot be rendered.
func (s *Server) renderPageOr(w http.ResponseWriter, r *http.Request, status int, title string, body *template.Template, data any, fallbackStatus int, fallback string) {
	page, err := s.page(title, body, data)
	h := w.Header()
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	if err != nil {
		s.log.Error("rendering page", "title", title, "err", err)
		http.Error(w, fallback, fallbackStatus)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(page)
	}
}

// page renders an edge page: body inside the hub's layout.
func (s *Server) page(title string, body *template.Template, data any) ([]byte, error) {
	var inner bytes.Buffer
	if err := body.Execute(&inner, data); err != nil {
		return nil, fmt.Errorf("page %q: %w", title, err)
	}
	var b bytes.Buffer
	err := pageTmpl.Execute(&b, struct {
		Title string
		Site  bundle.DirSite
		Body  template.HTML
	}{title, s.build.Load().Directory.Site, template.HTML(inner.String())})
	if err != nil {
		return nil, fmt.Errorf("page %q: the layout: %w", title, err)
	}
	return b.Bytes(), nil
}

// errorPage answers with err's status and a message a person can read;
// internal details are logged, never shown. Should the page fail to
// render, the message is sent as plain text with the same status.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	code := ErrorCode(err)
	status := StatusOf(code)
	switch {
	case code == EInternal:
		s.log.Error("request failed", "method", r.Method, "path", redactPath(r.URL.Path), "err", err)
	case errors.Is(err, ErrUnavailable):
		s.log.Error("state store unavailable", "method", r.Method, "path", redactPath(r.URL.Path), "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	titles := map[int]string{400: "Please check the form", 401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Already done", 413: "Too large", 429: "Please wait", 503: "Back in a moment"}
	title, ok := titles[status]
	if !ok {
		title = "Something went wrong"
	}
	msg := ErrorMessage(err)
	s.renderPageOr(w, r, status, title, errorTmpl, msg, status, msg)
}

var bannerTmpl = template.Must(template.New("banner").Parse(
	`<div class="delegate-banner" role="status">Viewing as <strong>{{.Client}}</strong> on behalf of {{.Staff}} — read-only: nothing can be paid, approved or sent from this view.</div>`))

// serveDelegate serves a page to a staff delegate with a banner saying whose
// hub it is. It is never cached and never served compressed or in ranges.
func (s *Server) serveDelegate(w http.ResponseWriter, r *http.Request, sv *served, f bundle.File, c *Claims) {
	data, file, err := sv.open(f)
	if file != nil {
		file.Close()
	}
	if err != nil || data == nil {
		s.errorPage(w, r, Errorf(EUnavailable, "This page is being updated. Please try again in a few minutes."))
		return
	}
	name := s.clientName(c.Client, c.Client)
	var banner bytes.Buffer
	bannerTmpl.Execute(&banner, struct{ Client, Staff string }{name, c.Staff})
	page := string(data)
	if i := strings.Index(page, "<body"); i >= 0 {
		if j := strings.IndexByte(page[i:], '>'); j >= 0 {
			page = page[:i+j+1] + banner.String() + page[i+j+1:]
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodHead {
		w.Write([]byte(page))
	}
}
