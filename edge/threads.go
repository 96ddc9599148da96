package edge

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hubhq/hub/generator/events"
)

// Messages: POST /c/{client}/messages from a signed-in contact (never a
// delegate: Server.mutating). The message is durable, with the email that
// tells the business, before the answer; the client's bundle is rebuilt so
// the thread the client lands on shows it.

// Limits of the message form: MaxMessage characters of up to 4 bytes,
// percent-encoded, the other fields, and up to maxMessagePhotos photos.
const (
	maxMessagePhotos = 4
	maxMessageText   = events.MaxMessage*4*3 + 4<<10 // a form without photos
	maxMessageBody   = maxMessagePhotos*maxPhotoSize + maxMessageText
)

// threadHistory is how many of a thread's messages its emails quote.
const threadHistory = 5

var requestIDRE = regexp.MustCompile(`^R-[0-9A-Z]{6}$`)

// threadOpen tells whether client may write in thread: the general one,
// a visible quote or invoice of its own, one of its portals, or a request.
func (s *Server) threadOpen(client, thread string) bool {
	if !events.ValidThread(thread) {
		return false
	}
	b := s.build.Load()
	kind, name, _ := strings.Cut(thread, "/")
	switch kind {
	case "quote", "invoice":
		owner, doc, ok := b.Document(name)
		return ok && owner == client && doc.Kind == kind
	case "portal":
		_, ok := b.PageSHA(client, "portals/"+name+"/index.html")
		return ok
	case "request":
		return requestIDRE.MatchString(name)
	}
	return thread == events.GeneralThread
}

// newMessageFactID is a message's id: "M-" and 16 random characters.
func newMessageFactID() string {
	return "M-" + strings.ToUpper(rand.Text()[:16])
}

// readMessageBody checks a message as typed.
func readMessageBody(v string) (string, error) {
	body, ok := cleanText(v, true)
	switch {
	case !ok:
		return "", Errorf(EInvalid, "The message has characters we cannot keep. Please type it again.")
	case body == "":
		return "", Errorf(EInvalid, "Please write a message.")
	case utf8.RuneCountInString(body) > events.MaxMessage:
		return "", Errorf(EInvalid, "The message is longer than %d characters; please shorten it or send it in parts.", events.MaxMessage)
	}
	return body, nil
}

func (s *Server) handleMessage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := SessionFrom(ctx)
	if c.Client != r.PathValue("client") {
		s.errorPage(w, r, Errorf(ENotFound, "This page does not exist."))
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if !s.parseUploadBody(w, r, maxMessageBody, maxMessagePhotos) {
			return
		}
	} else if !s.parseFormCap(w, r, maxMessageText) {
		return
	}
	thread := r.PostForm.Get("thread")
	if !s.threadOpen(c.Client, thread) {
		s.errorPage(w, r, Errorf(ENotFound, "There is no such conversation in your hub."))
		return
	}
	body, err := readMessageBody(r.PostForm.Get("body"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	photos, err := formPhotos(r, "photos", maxMessagePhotos)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	m := events.Message{ID: newMessageFactID(), Thread: thread, Email: strings.ToLower(c.Subject), Body: body, At: s.now()}
	// Without a script's nonce, the same text sent again to the same
	// thread as the client saw it is the same form sent twice.
	nonce := formNonce(r, "message", c.Client, m.Email, thread, r.PostForm.Get("seen"), body)
	if _, err := s.recordMessage(ctx, c.Client, nonce, m, photos); err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.outbox.poke()
	// Writing in a thread is having read it.
	if err := s.store.MarkRead(ctx, c.Client, m.Email, thread, m.At); err != nil {
		s.log.Warn("marking a thread read", "client", c.Client, "thread", thread, "err", err)
	}
	if err := s.rebuildWithin(ctx, c.Client); err != nil {
		s.log.Error("rebuilding after a message", "client", c.Client, "err", err)
	}
	http.Redirect(w, r, "/c/"+c.Client+"/"+events.ThreadPath(thread), http.StatusSeeOther)
}

// recordMessage stores a client's message, its photos and the business's
// notice durably.
func (s *Server) recordMessage(ctx context.Context, client, nonce string, m events.Message, photos []*multipart.FileHeader) (bool, error) {
	record := func(ps []events.Photo) (bool, error) {
		m.Files = ps
		mails, err := s.messageNotice(ctx, client, m)
		if err != nil {
			return false, err
		}
		return s.store.RecordMessage(ctx, client, nonce, m, mails)
	}
	if len(photos) == 0 {
		return record(nil)
	}
	return s.withPhotos(client, m.ID, "message", photos, record)
}

// Unread markers. A bundle is the same for every contact of a client, so
// which threads hold an answer this person has not read comes from the
// edge: GET /c/{client}/messages/unread lists them for the session's
// contact (hub.js shows their "Unread" badges), and POST …/messages/read
// marks a thread read when its page is shown (hub.js, for unread threads).
// Without the script the pages say "New reply" when the business wrote last.

// unreadThreads are the threads of client with a message from the
// business after email last read them, sorted.
func (s *Server) unreadThreads(ctx context.Context, client, email string) ([]string, error) {
	ms, err := s.store.Messages(ctx, client, 1000)
	if err != nil {
		return nil, err
	}
	marks, err := s.store.ReadMarks(ctx, client, email)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	unread := []string{}
	for _, m := range ms { // newest first: the first staff message of a thread is its latest
		if !m.FromStaff() || seen[m.Thread] {
			continue
		}
		seen[m.Thread] = true
		if m.At.After(marks[m.Thread]) {
			unread = append(unread, m.Thread)
		}
	}
	slices.Sort(unread)
	return unread, nil
}

func (s *Server) handleUnread(w http.ResponseWriter, r *http.Request) {
	c := s.session(r)
	if c == nil || c.Client != r.PathValue("client") {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	unread := []string{}
	if !c.Delegate() { // staff viewing as the client read nothing for them
		var err error
		if unread, err = s.unreadThreads(r.Context(), c.Client, c.Subject); err != nil {
			s.log.Error("listing unread threads", "client", c.Client, "err", err)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-store")
	json.NewEncoder(w).Encode(struct {
		Unread []string `json:"unread"`
	}{unread})
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	c := SessionFrom(r.Context())
	if c.Client != r.PathValue("client") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	thread := r.PostForm.Get("thread")
	if !events.ValidThread(thread) {
		http.Error(w, "no such thread", http.StatusNotFound)
		return
	}
	if err := s.store.MarkRead(r.Context(), c.Client, c.Subject, thread, s.now()); err != nil {
		s.errorPage(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
