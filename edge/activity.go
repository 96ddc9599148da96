package edge

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hubhq/hub/generator/events"
)

// Document activity: the edge authorises every request for a client's
// bundle (itself, or for nginx through /_hub/auth), so it sees when a
// contact opens a document. Views are counted in memory, per contact and
// document, and written to the store in one batch every viewFlush (and
// when the server stops): serving does a map update under a mutex, never
// a write. A crash loses at most the last viewFlush of views, which are
// activity, not facts; except a contact's first view of a quote, invoice
// or receipt, which the store keeps as a fact (events.FirstView) that the
// document's history shows ("Viewed by Dana Nov 17"). A batch with first
// views costs each client in it one rebuild; a batch of views of documents
// already viewed costs none.

// ViewLog records and lists document views. Part of Store.
type ViewLog interface {
	// RecordViews adds views to what is recorded: per client, contact and
	// document, the first view is the earliest ever given, the last the
	// latest, and the counts add up. A view with Document set is also a
	// candidate for that contact's first view of the document (a fact the
	// client's pages show, events.FirstView): when it is the first recorded
	// or earlier than the one recorded, it is kept, and its client's facts
	// change (an events row and a queued rebuild, once per client per
	// call); a later view of a document already viewed changes no fact.
	RecordViews(ctx context.Context, vs []View) error
}

// View is a contact's views of one document, over a while.
type View struct {
	Client string
	Email  string // lower-cased
	Doc    string // the document's path in the bundle: "quotes/Q-1002/", "invoices/INV-2001/INV-2001.pdf"
	// Document is the document with a history the path belongs to
	// (events.DocKey: "quote/Q-1002"), "" for others (portals, the
	// statement). FlushViews sets it.
	Document string
	First    time.Time
	Last     time.Time
	Count    int
}

// viewFlush is how often counted views are written.
const viewFlush = 5 * time.Second

// docPage matches the bundle path of a document's page: a quote,
// invoice, receipt, subscription or portal, or the statement.
var docPage = regexp.MustCompile(`^((quotes|invoices|receipts|subscriptions|portals)/[^/]+/|statement/)index\.html$`)

// docPath says whether a bundle path is a document a contact opens (a
// document's page or a PDF), and the path it is recorded as: the page's
// folder ("quotes/Q-1002/"), or the PDF's path.
func docPath(p string) (string, bool) {
	if strings.HasSuffix(p, ".pdf") {
		return p, true
	}
	if docPage.MatchString(p) {
		return strings.TrimSuffix(p, "index.html"), true
	}
	return "", false
}

// viewCounter counts views in memory until they are flushed.
type viewCounter struct {
	mu    sync.Mutex
	views map[[3]string]*View
}

// add counts a view by a contact (delegates' views are not the client's).
func (vc *viewCounter) add(c *Claims, p string, at time.Time) {
	if c == nil || c.Delegate() {
		return
	}
	doc, ok := docPath(p)
	if !ok {
		return
	}
	vc.addDoc(c, doc, at)
}

// addDoc is add for a path whose docPath is doc (worked out beforehand).
func (vc *viewCounter) addDoc(c *Claims, doc string, at time.Time) {
	if c == nil || c.Delegate() {
		return
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.merge(View{Client: c.Client, Email: strings.ToLower(c.Subject), Doc: doc, First: at, Last: at, Count: 1})
}

// merge adds v to what is counted, as the store adds batches: the
// earliest first view, the latest last, the counts summed. vc.mu is held.
func (vc *viewCounter) merge(v View) {
	if vc.views == nil {
		vc.views = map[[3]string]*View{}
	}
	k := [3]string{v.Client, v.Email, v.Doc}
	cur := vc.views[k]
	if cur == nil {
		nv := v // only a new entry is allocated
		vc.views[k] = &nv
		return
	}
	if v.First.Before(cur.First) {
		cur.First = v.First
	}
	if v.Last.After(cur.Last) {
		cur.Last = v.Last
	}
	cur.Count += v.Count
}

// take empties the counter.
func (vc *viewCounter) take() []View {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	out := make([]View, 0, len(vc.views))
	for _, v := range vc.views {
		out = append(out, *v)
	}
	vc.views = nil
	return out
}

// putBack returns views whose write failed, to be written with the next.
func (vc *viewCounter) putBack(vs []View) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	for _, v := range vs {
		vc.merge(v)
	}
}

// FlushViews writes the views counted so far (the server does every
// viewFlush and when it stops).
func (s *Server) FlushViews(ctx context.Context) error {
	vs := s.views.take()
	if len(vs) == 0 {
		return nil
	}
	for i := range vs {
		vs[i].Document, _ = events.BundleDoc(vs[i].Doc)
	}
	if err := s.store.RecordViews(ctx, vs); err != nil {
		s.views.putBack(vs)
		return err
	}
	return nil
}

// viewWriter flushes counted views every viewFlush until ctx ends, then
// once more.
func (s *Server) viewWriter(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(viewFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.FlushViews(context.WithoutCancel(ctx)); err != nil {
				s.log.Warn("recording document views at shutdown", "err", err)
			}
			return
		case <-t.C:
			if err := s.FlushViews(ctx); err != nil {
				s.log.Warn("recording document views; trying again", "err", err)
			}
		}
	}
}
