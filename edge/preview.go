package edge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Preview is hub serve's staff preview: live reload, content errors shown
// in the browser, and /_preview/ (every client's hub without logging in, and
// the outbox). It exists only in a local dev server: Config.Preview nil (hub
// edge) registers none of it, and nothing of it is ever written to a build.
type Preview struct {
	Outbox string // the outbox folder to list

	mu       sync.Mutex
	problems []string
	subs     map[chan previewEvent]bool
}

type previewEvent struct{ name, data string }

// NewPreview makes a Preview listing the outbox folder.
func NewPreview(outbox string) *Preview {
	return &Preview{Outbox: outbox, subs: map[chan previewEvent]bool{}}
}

// SetProblems shows content errors in every open tab (the last good build
// keeps being served).
func (p *Preview) SetProblems(problems []string) {
	data, _ := json.Marshal(problems)
	p.mu.Lock()
	p.problems = slices.Clone(problems)
	p.mu.Unlock()
	p.broadcast(previewEvent{"problems", string(data)})
}

// Reloaded tells every open tab to reload: a new build is being served.
func (p *Preview) Reloaded() {
	p.mu.Lock()
	p.problems = nil
	p.mu.Unlock()
	p.broadcast(previewEvent{"reload", "{}"})
}

func (p *Preview) broadcast(ev previewEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range p.subs {
		select {
		case ch <- ev:
		default: // a stuck tab misses an event; it reconnects
		}
	}
}

func (s *Server) previewRoutes(mux *http.ServeMux) {
	p := s.cfg.Preview
	mux.HandleFunc("GET /_preview/{$}", s.handlePreviewIndex)
	mux.HandleFunc("GET /_preview/as/{client}", s.handlePreviewAs)
	mux.HandleFunc("GET /_preview/reload.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, reloadJS)
	})
	mux.HandleFunc("GET /_preview/events", func(w http.ResponseWriter, r *http.Request) {
		fl, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		ch := make(chan previewEvent, 8)
		p.mu.Lock()
		p.subs[ch] = true
		cur := p.problems
		p.mu.Unlock()
		defer func() { p.mu.Lock(); delete(p.subs, ch); p.mu.Unlock() }()
		if len(cur) > 0 {
			data, _ := json.Marshal(cur)
			fmt.Fprintf(w, "event: problems\ndata: %s\n\n", data)
		} else {
			fmt.Fprint(w, "event: ok\ndata: {}\n\n")
		}
		fl.Flush()
		tick := time.NewTicker(20 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-ch:
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, ev.data)
				fl.Flush()
			case <-tick.C:
				fmt.Fprint(w, ": keep-alive\n\n")
				fl.Flush()
			}
		}
	})
}

// previewInject adds the live-reload script to every HTML page the dev
// server sends. Pages are asked for uncompressed, so they can be edited.
func previewInject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_preview/events") || strings.HasPrefix(r.URL.Path, "/_checkout/") {
			next.ServeHTTP(w, r)
			return
		}
		r.Header.Del("Accept-Encoding")
		r.Header.Del("If-None-Match")
		r.Header.Del("If-Modified-Since")
		iw := &injectWriter{ResponseWriter: w}
		next.ServeHTTP(iw, r)
		iw.finish()
	})
}

const reloadTag = `<script src="/_preview/reload.js" defer></script>`

type injectWriter struct {
	http.ResponseWriter
	html   bool
	status int
	buf    bytes.Buffer
	wrote  bool
}

func (w *injectWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.status = code
	if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		w.html = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *injectWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.html {
		return w.buf.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *injectWriter) finish() {
	if !w.html {
		return
	}
	page := w.buf.Bytes()
	if i := bytes.LastIndex(page, []byte("</body>")); i >= 0 {
		page = append(page[:i:i], append([]byte(reloadTag), page[i:]...)...)
	} else {
		page = append(page, reloadTag...)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.Header().Set("Cache-Control", "no-store")
	w.ResponseWriter.WriteHeader(w.status)
	w.ResponseWriter.Write(page)
}

// handlePreviewAs opens a client's hub without a login link: a read-only
// delegate session for "preview".
func (s *Server) handlePreviewAs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("client")
	if _, ok := s.build.Load().Client(id); !ok {
		s.notFound(w, r)
		return
	}
	s.startSession(w, r, Claims{Client: id, Staff: "staff preview (hub serve)"}, "preview", "")
}

type outboxMessage struct {
	File, To, Subject string
	Date              time.Time
	Links             []string
}

var linkInText = regexp.MustCompile(`https?://[^\s<>"]+`)

// readOutbox lists the newest messages of the outbox.
func readOutbox(dir string, max int) []outboxMessage {
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	slices.Sort(files)
	slices.Reverse(files)
	var out []outboxMessage
	for _, f := range files[:min(max, len(files))] {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		m, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			continue
		}
		om := outboxMessage{File: filepath.Base(f), To: m.Header.Get("To")}
		dec := new(mime.WordDecoder)
		if subj, err := dec.DecodeHeader(m.Header.Get("Subject")); err == nil {
			om.Subject = subj
		}
		om.Date, _ = m.Header.Date()
		om.Links = linkInText.FindAllString(textPart(m), -1)
		out = append(out, om)
	}
	return out
}

// textPart returns the text/plain body of a message.
func textPart(m *mail.Message) string {
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(decodeBody(m.Body, m.Header.Get("Content-Transfer-Encoding")))
		return string(b)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(decodeBody(part, part.Header.Get("Content-Transfer-Encoding")))
			return string(b)
		}
	}
}

func decodeBody(r io.Reader, enc string) io.Reader {
	switch strings.ToLower(enc) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r)
	}
	return r
}

var previewTmpl = template.Must(template.New("preview").Parse(`<p>This page exists only in <code>hub serve</code>: open any client's hub without a login link, and read the mail the hub has "sent".</p>
{{if .Problems}}<section class="panel"><h2>Content problems</h2><p>The last good build is still being served.</p><ul>{{range .Problems}}<li><code>{{.}}</code></li>{{end}}</ul></section>{{end}}
<section><h2>Clients</h2><ul class="rows">{{range .Clients}}<li class="row"><div class="row-main"><a class="row-title" href="/_preview/as/{{.ID}}">{{.DisplayName}}</a><p class="meta">{{.ID}} · {{len .Contacts}} contact{{if ne (len .Contacts) 1}}s{{end}}{{range .Contacts}} · {{.Email}}{{end}}</p></div></li>{{end}}</ul></section>
<section><h2>Outbox</h2>{{if .Outbox}}<ul class="rows">{{range .Outbox}}<li class="row"><div class="row-main"><span class="row-title">{{.Subject}}</span><p class="meta">to {{.To}}{{if not .Date.IsZero}} · {{.Date.Format "Jan 2 15:04:05"}}{{end}} · {{.File}}</p>{{range .Links}}<p><a href="{{.}}">{{.}}</a></p>{{end}}</div></li>{{end}}</ul>{{else}}<p>No mail yet. Sign-in emails and notices appear here.</p>{{end}}</section>`))

func (s *Server) handlePreviewIndex(w http.ResponseWriter, r *http.Request) {
	p := s.cfg.Preview
	p.mu.Lock()
	problems := slices.Clone(p.problems)
	p.mu.Unlock()
	s.renderPage(w, r, http.StatusOK, "Staff preview", previewTmpl, struct {
		Problems []string
		Clients  any
		Outbox   []outboxMessage
	}{problems, s.build.Load().Clients(), readOutbox(p.Outbox, 50)})
}

// reloadJS reloads the page when a new build is served and shows content
// problems over the page (CSP-safe: no inline script or style attributes;
// styles are set through the CSSOM).
const reloadJS = `(function () {
  var overlay = null;
  function hide() { if (overlay) { overlay.remove(); overlay = null; } }
  function show(problems) {
    hide();
    overlay = document.createElement("div");
    overlay.id = "hub-preview-problems";
    overlay.setAttribute("role", "alert");
    // At the bottom, at most half the screen: the header and Sign out stay in reach.
    var s = overlay.style;
    s.position = "fixed"; s.left = "0"; s.right = "0"; s.bottom = "0"; s.maxHeight = "50vh"; s.overflow = "auto";
    s.zIndex = "2147483647"; s.background = "#2b0a0a"; s.color = "#ffecec"; s.padding = "16px 20px";
    s.font = "14px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace"; s.boxShadow = "0 -4px 24px rgba(0,0,0,.4)";
    var close = document.createElement("button");
    close.type = "button"; close.textContent = "Dismiss";
    close.setAttribute("aria-label", "Dismiss the content problems");
    var c = close.style;
    c.float = "right"; c.marginLeft = "12px"; c.font = "inherit"; c.color = "#2b0a0a"; c.background = "#ffecec";
    c.border = "0"; c.borderRadius = "4px"; c.padding = "4px 10px"; c.cursor = "pointer";
    close.addEventListener("click", hide);
    overlay.appendChild(close);
    var h = document.createElement("strong");
    h.textContent = "Content problems — the last good build is still shown. Fix the file and save:";
    overlay.appendChild(h);
    problems.forEach(function (p) {
      var line = document.createElement("pre");
      line.style.margin = "8px 0 0"; line.style.whiteSpace = "pre-wrap";
      line.textContent = p;
      overlay.appendChild(line);
    });
    document.body.appendChild(overlay);
  }
  var es = new EventSource("/_preview/events");
  es.addEventListener("reload", function () { location.reload(); });
  es.addEventListener("problems", function (e) { show(JSON.parse(e.data)); });
  es.addEventListener("ok", hide);
})();
`
