package generator

import (
	"cmp"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/site"
)

// threads makes a client's conversations from its recorded messages; each
// page asks for its own with thread, which makes an empty one (with the
// form) when nobody wrote yet.
type threads struct {
	p       *presenter
	root    string
	biz     string
	names   map[string]string // contact emails (lower case) to names
	byKey   map[string]*ThreadView
	ordered []*ThreadView // in the order first asked for
	files   []outFile     // the messages' photos, files of the bundle
}

func (p *presenter) threads(root string, c *site.Client, biz string) *threads {
	ts := &threads{p: p, root: root, biz: biz, names: map[string]string{}, byKey: map[string]*ThreadView{}}
	for _, ct := range c.Contacts {
		ts.names[strings.ToLower(ct.Email)] = ct.Name
	}
	for i, m := range c.Messages {
		if !events.ValidThread(m.Thread) {
			continue
		}
		t := ts.thread(m.Thread, "", "")
		v := MessageView{Author: ts.author(m), Staff: m.FromStaff(), Date: p.dateTime(m.At) + ", " + m.At.In(p.cfg.Location).Format("15:04"),
			DateISO: m.At.In(p.cfg.Location).Format(time.RFC3339), Body: m.Body}
		for _, ph := range m.Files {
			if _, err := os.Stat(ph.Path); err != nil || strings.ContainsAny(m.ID, "/\\.") {
				continue // kept by an edge on another machine
			}
			rel := "messages/" + m.ID + "/" + path.Base(ph.Path)
			ts.files = append(ts.files, outFile{path: rel, src: ph.Path})
			if strings.HasPrefix(ph.Type, "image/") || ph.Type == "" {
				v.Photos = append(v.Photos, PhotoView{Name: ph.Name, URL: root + escapePath(rel)})
			} else {
				v.Files = append(v.Files, FileView{Name: ph.Name, URL: root + escapePath(rel), Size: humanSize(ph.Size)})
			}
		}
		t.Messages = append(t.Messages, v)
		t.Seen, t.last = len(t.Messages), i+1
		t.Last, t.LastISO, t.Replied = p.dateTime(m.At), p.isoDate(m.At), v.Staff
		t.Latest, t.LatestBy = shorten(m.Body, 140), v.Author
	}
	return ts
}

func (ts *threads) author(m events.Message) string {
	if m.FromStaff() {
		return ts.biz
	}
	if n := ts.names[strings.ToLower(m.Email)]; n != "" {
		return n
	}
	return m.Email
}

// thread returns the conversation key, titled and described (when the
// page that shows it says so).
func (ts *threads) thread(key, title, subject string) *ThreadView {
	t := ts.byKey[key]
	if t == nil {
		id := strings.NewReplacer("/", "-", ".", "-").Replace(key)
		t = &ThreadView{Thread: key, URL: ts.root + events.ThreadPath(key), HeadingID: "thread-" + id, Anchor: "messages", Action: ts.root + "messages"}
		if strings.HasPrefix(key, "request/") {
			t.Anchor, t.Nested = "", true
		}
		ts.byKey[key] = t
		ts.ordered = append(ts.ordered, t)
	}
	if title != "" {
		t.Title, t.Subject = title, subject
	}
	return t
}

// page is the Messages page: the general thread, and every thread with
// messages, newest activity first.
func (ts *threads) page() *MessagesView {
	g := ts.thread(events.GeneralThread, "Write to "+ts.biz, "General")
	g.HeadingID = "thread-general"
	g.Main = true
	v := &MessagesView{URL: ts.root + "messages/", General: g}
	for _, t := range ts.ordered {
		if len(t.Messages) == 0 {
			continue
		}
		if t.Title == "" { // about something no longer shown (a quote archived since)
			t.Subject, t.URL = t.Thread, g.URL
		}
		v.Threads = append(v.Threads, t)
		v.Count += len(t.Messages)
		v.NewReply = v.NewReply || t.Replied
	}
	slices.SortStableFunc(v.Threads, func(a, b *ThreadView) int { return cmp.Compare(b.last, a.last) })
	return v
}

// shorten cuts s to n characters on one line.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return strings.TrimSpace(string(r[:n-1])) + "…"
	}
	return s
}
