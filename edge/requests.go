package edge

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/mail"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubhq/hub/generator/events"
)

// Work requests: POST /c/{client}/requests/new from a signed-in client.
// The request and its photos are durable before the answer; the business
// is emailed; the client's bundle is rebuilt so "Requests" lists it.

// Limits of the request form.
const (
	maxPhotos       = 6
	maxPhotoSize    = 10 << 20
	maxRequestBody  = maxPhotos*maxPhotoSize + 1<<20
	maxRequestTitle = 200
	maxRequestText  = 5000
)

// photoTypes are the pictures a request may carry, by sniffed type.
var photoTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic"}

// sniffPhoto says what kind of picture b starts with ("" for none we take).
func sniffPhoto(b []byte) string {
	if t := http.DetectContentType(b); photoTypes[t] != "" {
		return t
	}
	// HEIC (iPhone photos): an ISO-BMFF "ftyp" box with a HEIF brand.
	if len(b) >= 12 && string(b[4:8]) == "ftyp" {
		switch string(b[8:12]) {
		case "heic", "heix", "heim", "heis", "mif1", "msf1":
			return "image/heic"
		}
	}
	return ""
}

// requestForm is a work request as sent, checked.
type requestForm struct {
	title, details, time, property string
	dates                          []string
	photos                         []*multipart.FileHeader
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func readRequestForm(r *http.Request) (requestForm, error) {
	var rf requestForm
	get := r.PostForm.Get // multipart values are in PostForm too
	var ok bool
	if rf.title, ok = cleanText(get("title"), false); !ok {
		return rf, Errorf(EInvalid, "“What do you need?” has characters we cannot keep. Please type it again.")
	}
	if rf.title == "" {
		return rf, Errorf(EInvalid, "Please say what you need, in a few words.")
	}
	if utf8.RuneCountInString(rf.title) > maxRequestTitle {
		return rf, Errorf(EInvalid, "“What do you need?” is longer than %d characters; put the rest under Details.", maxRequestTitle)
	}
	if rf.details, ok = cleanText(get("details"), true); !ok || utf8.RuneCountInString(rf.details) > maxRequestText {
		return rf, Errorf(EInvalid, "Details must be plain text of at most %d characters.", maxRequestText)
	}
	for _, k := range []string{"date1", "date2"} {
		v := strings.TrimSpace(get(k))
		if v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil || !dateRE.MatchString(v) {
			return rf, Errorf(EInvalid, "%q is not a date; choose one from the calendar (YYYY-MM-DD).", v)
		}
		rf.dates = append(rf.dates, v)
	}
	switch rf.time = get("time"); rf.time {
	case "", "any", "morning", "afternoon", "evening":
	default:
		return rf, Errorf(EInvalid, "Choose a preferred time from the list.")
	}
	if rf.property, ok = cleanText(get("property"), false); !ok || utf8.RuneCountInString(rf.property) > 300 {
		return rf, Errorf(EInvalid, "The property must be one of yours, or an address of at most 300 characters.")
	}
	var err error
	rf.photos, err = formPhotos(r, "photos", maxPhotos)
	return rf, err
}

// formPhotos are the photos of a form's file input field, at most max,
// each checked for its size and type now, before anything is recorded (a
// pending client, a request, a message); savePhotos checks them again.
func formPhotos(r *http.Request, field string, max int) ([]*multipart.FileHeader, error) {
	return formFiles(r, field, max, photoFiles)
}

// formFiles are the files of a form's file input field, at most max, each
// checked for its size and type (k).
func formFiles(r *http.Request, field string, max int, k fileKind) ([]*multipart.FileHeader, error) {
	var photos []*multipart.FileHeader
	if f := r.MultipartForm; f != nil {
		for _, fh := range f.File[field] {
			if fh.Size == 0 && fh.Filename == "" {
				continue // the empty file input of a form sent without photos
			}
			photos = append(photos, fh)
		}
	}
	if len(photos) > max {
		return nil, Errorf(EInvalid, "Attach at most %d %ss.", max, k.noun)
	}
	for i, fh := range photos {
		if err := checkFile(fh, cleanFileName(fh.Filename, i), k); err != nil {
			return nil, err
		}
	}
	return photos, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// cleanFileName keeps an uploaded file's name to safe characters.
func cleanFileName(n string, i int) string {
	n = filepath.Base(strings.ReplaceAll(n, "\\", "/"))
	n = strings.Trim(unsafeName.ReplaceAllString(n, "-"), "-.")
	if len(n) > 60 {
		n = n[len(n)-60:]
	}
	if n == "" {
		n = fmt.Sprintf("photo-%d", i+1)
	}
	return n
}

// newRequestID is a short id staff can say on the phone: "R-7KQ3XM".
func newRequestID() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	b := make([]byte, 6)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "R-" + string(b)
}

// parseRequestBody reads a request form (multipart or urlencoded) within maxRequestBody.
func (s *Server) parseRequestBody(w http.ResponseWriter, r *http.Request) bool {
	return s.parseUploadBody(w, r, maxRequestBody, maxPhotos)
}

// parseUploadBody reads a form that may carry up to photos photos
// (multipart or urlencoded) within limit bytes.
func (s *Server) parseUploadBody(w http.ResponseWriter, r *http.Request, limit int64, photos int) bool {
	return s.parseFilesBody(w, r, limit, photos, photoFiles)
}

// parseFilesBody reads a form that may carry up to n files of kind k
// (multipart or urlencoded) within limit bytes.
func (s *Server) parseFilesBody(w http.ResponseWriter, r *http.Request, limit int64, n int, k fileKind) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.errorPage(w, r, Errorf(ETooLarge, "The form is too large: attach at most %d %ss of up to %d MB each.", n, k.noun, k.max>>20))
			return false
		}
		s.errorPage(w, r, Errorf(EInvalid, "The form could not be read."))
		return false
	}
	return true
}

// recordRequest saves a work request's photos and the request, with the
// email that tells the business, durably; a request not recorded (refused,
// failed, or a duplicate) leaves no photos behind. The client's lock holds
// from the quota check to the commit, so concurrent requests cannot pass
// the quota together.
func (s *Server) recordRequest(ctx context.Context, clientID, email, nonce string, req events.Request, photos []*multipart.FileHeader) (bool, error) {
	if len(photos) == 0 {
		mails, err := s.requestNotice(clientID, email, req, 0)
		if err != nil {
			return false, err
		}
		return s.store.RecordRequest(ctx, clientID, nonce, req, mails)
	}
	return s.withPhotos(clientID, req.ID, "request", photos, func(ps []events.Photo) (bool, error) {
		req.Photos = ps
		mails, err := s.requestNotice(clientID, email, req, len(ps))
		if err != nil {
			return false, err
		}
		return s.store.RecordRequest(ctx, clientID, nonce, req, mails)
	})
}

// withPhotos stores the photos of a fact (a request, a message: what) in
// UPLOADS/<client>/<id>/ and then records the fact with record; a fact not
// recorded (refused, failed, or a duplicate) leaves no photos behind (the
// first of duplicates keeps its own). The client's lock holds from the
// quota check to the commit, so concurrent uploads cannot pass the quota
// together.
func (s *Server) withPhotos(clientID, id, what string, photos []*multipart.FileHeader, record func([]events.Photo) (bool, error)) (bool, error) {
	if s.cfg.Uploads == "" {
		return false, Errorf(EUnavailable, "Photos cannot be attached right now; please send the %s without them.", what)
	}
	return s.withFiles(clientID, id, photoFiles, photos, record)
}

// withFiles is withPhotos for files of kind k.
func (s *Server) withFiles(clientID, id string, k fileKind, photos []*multipart.FileHeader, record func([]events.Photo) (bool, error)) (bool, error) {
	defer s.uploadLocks.lock(clientID)()
	if err := s.checkQuota(clientID, photos, k); err != nil {
		return false, err
	}
	ps, dir, err := s.savePhotos(clientID, id, photos, k)
	if err != nil {
		return false, err
	}
	dup, err := record(ps)
	if err != nil || dup {
		s.removeUploads(dir)
	}
	return dup, err
}

func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := SessionFrom(ctx)
	site := s.build.Load().Directory.Site
	if !site.Requests || c.Client != r.PathValue("client") {
		s.errorPage(w, r, Errorf(ENotFound, "This page does not exist."))
		return
	}
	if !s.parseRequestBody(w, r) {
		return
	}
	rf, err := readRequestForm(r)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	req := events.Request{ID: newRequestID(), Title: rf.title, Details: rf.details, Dates: rf.dates, Time: rf.time, Property: rf.property,
		Email: c.Subject, Status: events.RequestNew, At: s.now()}
	nonce := formNonce(r, append([]string{"request", c.Client, rf.title, rf.details, rf.time, rf.property}, rf.dates...)...)
	if _, err := s.recordRequest(ctx, c.Client, c.Subject, nonce, req, rf.photos); err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.outbox.poke()
	if err := s.rebuildWithin(ctx, c.Client); err != nil {
		s.log.Error("rebuilding after a work request", "client", c.Client, "err", err)
	}
	http.Redirect(w, r, "/c/"+c.Client+"/requests/", http.StatusSeeOther)
}

// requestNotice is the email that tells the business of a work request.
func (s *Server) requestNotice(client, email string, req events.Request, photos int) ([]Message, error) {
	site := s.build.Load().Directory.Site
	fallback := req.Name // a new person, not in the build yet
	if fallback == "" {
		fallback = email
	}
	name := s.clientName(client, fallback)
	rows := [][2]string{{"Request", req.ID}, {"From", name + " <" + email + ">"}, {"What", req.Title}}
	if len(req.Dates) > 0 {
		rows = append(rows, [2]string{"Preferred dates", strings.Join(req.Dates, ", ")})
	}
	if req.Time != "" && req.Time != "any" {
		rows = append(rows, [2]string{"Preferred time", req.Time})
	}
	if req.Property != "" {
		rows = append(rows, [2]string{"Property", req.Property})
	}
	if photos > 0 {
		rows = append(rows, [2]string{"Photos", fmt.Sprint(photos)})
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s sent a work request through the client hub. See it with “hub requests”, and turn it into content with “hub requests import %s”.", name, req.ID)
	return s.mails(Notice{To: Address{Name: site.Name, Email: site.Email}, Subject: fmt.Sprintf("New work request %s from %s: %s", req.ID, name, req.Title),
		Intro: b.String(), Rows: rows, Quote: req.Details})
}

// The public request form (POST /request, from /request/ or the
// business's own website): a person who is not signed in. A contact of a
// client files it with that client and gets a sign-in link; anyone else
// becomes a pending client with a hub of their own: the first time, they
// land in it at once (it holds nothing but what they just sent); after
// that, only through the emailed link. A honeypot field and rate limits
// keep robots out without a third-party captcha.

// pendingID makes a pending client's ID from the name and email.
func pendingID(name, email string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 24 {
			break
		}
	}
	slug := strings.Trim(b.String(), "-")
	h := sha256.Sum256([]byte(strings.ToLower(email)))
	if slug == "" {
		return "new-" + hex.EncodeToString(h[:4])
	}
	return "new-" + slug + "-" + hex.EncodeToString(h[:3])
}

func (s *Server) handlePublicRequest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	site := s.build.Load().Directory.Site
	if !site.Requests || !site.Hub {
		s.errorPage(w, r, Errorf(ENotFound, "This page does not exist."))
		return
	}
	ip := s.clientIP(r)
	if !s.requestLimit.allow(ip, s.now()) {
		s.errorPage(w, r, Errorf(ETooMany, "Too many requests from your network. Please wait a few minutes and try again, or call us."))
		return
	}
	if !s.parseRequestBody(w, r) {
		return
	}
	get := r.PostForm.Get     // multipart values are in PostForm too
	if get("website") != "" { // the honeypot: people never see it, robots fill it in
		s.log.Info("public request dropped by the honeypot", "ip", ip)
		http.Redirect(w, r, "/request/sent/", http.StatusSeeOther)
		return
	}
	name, ok := cleanText(get("name"), false)
	if !ok || name == "" || utf8.RuneCountInString(name) > maxName {
		s.errorPage(w, r, Errorf(EInvalid, "Please give your name (at most %d characters).", maxName))
		return
	}
	email := strings.ToLower(strings.TrimSpace(get("email")))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		s.errorPage(w, r, Errorf(EInvalid, "%q is not an email address we can write to. Please check it.", email))
		return
	}
	phone, ok := cleanText(get("phone"), false)
	if !ok || utf8.RuneCountInString(phone) > 40 {
		s.errorPage(w, r, Errorf(EInvalid, "Please give a phone number of at most 40 characters, or none."))
		return
	}
	rf, err := readRequestForm(r)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	// The address in parts (this form, or a website's), else as typed in
	// one field ("property").
	address := rf.property
	var parts events.AddressParts
	for _, f := range []struct {
		name string
		to   *string
	}{{"street", &parts.Street}, {"city", &parts.City}, {"region", &parts.Region}, {"postal_code", &parts.PostalCode}} {
		v, ok := cleanText(get(f.name), false)
		if !ok || utf8.RuneCountInString(v) > 120 {
			s.errorPage(w, r, Errorf(EInvalid, "Please give the address of at most 120 characters a line, or none."))
			return
		}
		*f.to = v
	}
	if parts != (events.AddressParts{}) {
		address = parts.Join()
		if rf.property == "" {
			rf.property = parts.OneLine()
		}
	}
	if !s.mailLimit.allow("request:"+email, s.now()) {
		s.errorPage(w, r, Errorf(ETooMany, "We already have several requests from %s just now. Please wait a few minutes.", email))
		return
	}
	req := events.Request{ID: newRequestID(), Title: rf.title, Details: rf.details, Dates: rf.dates, Time: rf.time, Property: rf.property,
		Email: email, Name: name, Phone: phone, Status: events.RequestNew, At: s.now()}
	nonce := formNonce(r, append([]string{"public-request", email, rf.title, rf.details, rf.time, rf.property}, rf.dates...)...)
	b := s.build.Load()
	client, fresh := "", false
	if ids := b.ClientsOf(email); len(ids) > 0 {
		client = ids[0]
	} else {
		pc, created, err := s.store.CreatePending(ctx, events.PendingClient{ID: pendingID(name, email), Name: name, Email: email, Phone: phone, Address: address, At: s.now()})
		if err != nil {
			s.errorPage(w, r, err)
			return
		}
		client, fresh = pc.ID, created
	}
	if _, err := s.recordRequest(ctx, client, email, nonce, req, rf.photos); err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.outbox.poke()
	if err := s.rebuildWithin(ctx, client); err != nil {
		s.log.Error("rebuilding after a public request", "client", client, "err", err)
	}
	if _, ok := s.build.Load().Client(client); fresh && ok {
		// A new person: their hub holds only what they just sent.
		s.startSession(w, r, Claims{Client: client}, email, "/c/"+client+"/requests/")
		s.queueLoginLink(email, "/c/"+client+"/requests/")
		return
	}
	s.queueLoginLink(email, "/c/"+client+"/requests/")
	http.Redirect(w, r, "/request/sent/", http.StatusSeeOther)
}

// queueLoginLink sends a sign-in link in the background.
func (s *Server) queueLoginLink(email, next string) {
	select {
	case s.jobs <- loginJob{email: email, next: next}:
	default:
		s.log.Error("login mail queue full; a sign-in link after a request was not sent")
	}
}
