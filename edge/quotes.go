package edge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image/png"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
)

// Responding to a quote: POST /c/{client}/quotes/{number}/approve and
// /c/{client}/quotes/{number}/changes. Both check that the quote is the
// version the client saw (the signed directory's), record durably, email
// both sides, and rebuild the client's bundle before answering so the
// page the client lands on already shows it.

// Limits of the quote forms.
const (
	maxApproveBody   = 512 << 10 // the form with a drawn signature
	maxSignature     = 256 << 10 // the PNG, decoded
	maxSignatureSide = 4000      // pixels
	maxName          = 120
	maxChangeMessage = 2000
)

// rebuildWait bounds how long a form waits for its client's rebuild.
const rebuildWait = 15 * time.Second

// cleanText trims s and refuses control characters (but newlines where multiline).
func cleanText(s string, multiline bool) (string, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return "", false
		}
	}
	return s, true
}

// quoteOpen checks that a quote can be answered now, as the version the
// client saw.
func quoteOpen(doc bundle.DirDocument, version string) error {
	switch {
	case doc.State == "approved" || doc.State == "converted":
		return Errorf(EConflict, "Quote %s is already approved.", doc.Number)
	case doc.Expired:
		return Errorf(EConflict, "Quote %s has expired. Please get in touch if you'd still like to go ahead.", doc.Number)
	case doc.State != "awaiting_response" && doc.State != "changes_requested":
		return Errorf(EConflict, "Quote %s is not open for a response.", doc.Number)
	case version != doc.Version:
		return Errorf(EConflict, "Quote %s was updated since you opened it. Please go back to the quote, reload it and review the new version.", doc.Number)
	}
	return nil
}

// decodeSignature reads a drawn signature sent as a PNG data URL.
func decodeSignature(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	data, ok := strings.CutPrefix(v, "data:image/png;base64,")
	if !ok {
		return nil, Errorf(EInvalid, "The drawn signature could not be read. Clear it and draw it again, or leave it empty: your typed name is your signature.")
	}
	if base64.StdEncoding.DecodedLen(len(data)) > maxSignature {
		return nil, Errorf(EInvalid, "The drawn signature is too large. Clear it and draw it again.")
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, Errorf(EInvalid, "The drawn signature could not be read. Clear it and draw it again.")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxSignatureSide || cfg.Height > maxSignatureSide {
		return nil, Errorf(EInvalid, "The drawn signature is not an image we can keep. Clear it and draw it again.")
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		return nil, Errorf(EInvalid, "The drawn signature is not an image we can keep. Clear it and draw it again.")
	}
	return b, nil
}

// formNonce is the form's nonce, or (sent without JavaScript) one made
// from what the form says, so the same form sent twice records once.
func formNonce(r *http.Request, parts ...string) string {
	if n := r.PostForm.Get("nonce"); n != "" && len(n) <= 64 {
		return "form:" + n
	}
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "content:" + hex.EncodeToString(h[:16])
}

func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := SessionFrom(ctx)
	doc, err := s.clientDoc(r, "quote")
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if !s.parseFormCap(w, r, maxApproveBody) {
		return
	}
	f := r.PostForm
	if err := quoteOpen(doc, f.Get("version")); err != nil {
		s.errorPage(w, r, err)
		return
	}
	site := s.build.Load().Directory.Site
	a := events.Approval{Quote: doc.Number, Version: doc.Version, Email: c.Subject, IP: s.clientIP(r), UA: truncate(r.UserAgent(), 400), At: s.now()}
	name, ok := cleanText(f.Get("name"), false)
	switch {
	case !ok:
		s.errorPage(w, r, Errorf(EInvalid, "Your name has characters we cannot keep. Please type it again."))
		return
	case site.Signature && utf8.RuneCountInString(name) < 2:
		s.errorPage(w, r, Errorf(EInvalid, "Please type your full name: it is your signature on this quote."))
		return
	case utf8.RuneCountInString(name) > maxName:
		s.errorPage(w, r, Errorf(EInvalid, "Your name is longer than %d characters; please shorten it.", maxName))
		return
	}
	a.Name = name
	if site.Signature {
		if a.Signature, err = decodeSignature(f.Get("signature")); err != nil {
			s.errorPage(w, r, err)
			return
		}
	}
	if doc.Terms {
		if f.Get("terms") != "yes" {
			s.errorPage(w, r, Errorf(EInvalid, "Please read the quote's terms and tick “I accept the terms” to approve it."))
			return
		}
		a.Terms = true
	}
	for _, o := range f["opt"] {
		i, err := strconv.Atoi(o)
		if err != nil || !slices.Contains(doc.Optional, i) {
			s.errorPage(w, r, Errorf(EInvalid, "One of the optional items chosen is not part of this quote. Please reload the quote and choose again."))
			return
		}
		if !slices.Contains(a.Options, i) {
			a.Options = append(a.Options, i)
		}
	}
	slices.Sort(a.Options)
	// The hash of the page the client saw is the evidence of what was
	// approved: without it, nothing is recorded.
	sha, ok := s.build.Load().PageSHA(c.Client, doc.Path+"index.html")
	if !ok || sha == "" {
		s.log.Error("approval refused: the quote page's hash is not in the client's signed manifest", "client", c.Client, "quote", doc.Number, "path", doc.Path+"index.html")
		s.errorPage(w, r, Errorf(EUnavailable, "Your approval of quote %s was not recorded: we could not confirm which version of the quote you were shown. Please reload the quote in a few minutes and approve it again.", doc.Number))
		return
	}
	a.PageSHA = sha
	// The emails are queued with the approval, held until the rebuild gives
	// the totals of the options chosen, then rewritten with them; if the
	// edge dies first they go as they are, pointing to the quote for totals.
	mails, err := s.approvalNotices(c, a, doc, false)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	// A duplicate (the same form sent again) records and queues nothing.
	dup, err := s.store.RecordApproval(ctx, c.Client, formNonce(r, "approve", c.Client, doc.Number, doc.Version), a, mails)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	rebuilt := s.cfg.RebuildClient != nil
	if err := s.rebuildWithin(ctx, c.Client); err != nil {
		s.log.Error("rebuilding after an approval", "client", c.Client, "err", err)
		rebuilt = false
	}
	_, now, _ := s.build.Load().Document(doc.Number)
	if !dup {
		s.releaseApprovalMail(ctx, c, a, now, mails, rebuilt)
	}
	back := "/c/" + c.Client + "/" + doc.Path
	if f.Get("pay_deposit") == "yes" && now.Due > 0 && s.cfg.Checkout != nil && site.OnlinePayments {
		if err := s.startCheckout(ctx, w, r, c, now, events.ForDeposit, "full", "", false); err != nil {
			s.log.Warn("deposit payment after approval", "client", c.Client, "quote", doc.Number, "err", err)
			s.renderPage(w, r, StatusOf(ErrorCode(err)), "Quote approved", depositNotStartedTmpl, struct{ Doc, Back, Why string }{doc.Number, back, ErrorMessage(err)})
		}
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// truncate cuts s to at most n bytes, on a character boundary.
var depositNotStartedTmpl = mustPage(`<div class="panel stack">
<p><strong>Quote {{.Doc}} is approved.</strong> Thank you! We have emailed you the details.</p>
<p>The deposit payment could not be started: {{.Why}} You can pay the deposit from the quote page.</p>
<p><a class="btn" href="{{.Back}}">Back to quote {{.Doc}}</a></p>
</div>`)

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// releaseApprovalMail makes an approval's held emails due: rewritten with
// the rebuilt quote's totals when the rebuild succeeded, else as first written.
func (s *Server) releaseApprovalMail(ctx context.Context, c *Claims, a events.Approval, doc bundle.DirDocument, mails []Message, rebuilt bool) {
	final := mails
	if rebuilt {
		if ms, err := s.approvalNotices(c, a, doc, true); err != nil {
			s.log.Error("writing the emails of an approval; they go as first written", "quote", doc.Number, "err", err)
		} else if len(ms) == len(mails) {
			for i := range ms {
				ms[i].ID = mails[i].ID
			}
			final = ms
		}
	}
	for i := range final {
		final[i].NotBefore = time.Time{}
	}
	if err := s.store.RewriteMail(context.WithoutCancel(ctx), s.now(), final...); err != nil {
		s.log.Error("releasing the emails of an approval; they go when their hold ends", "quote", doc.Number, "err", err)
	}
	s.outbox.poke()
}

// approvalNotices are the emails an approval sends: the client's copy and
// the business's notice, queued with the approval. Before the rebuild
// (built false) a quote with optional items does not know its total yet:
// the emails point to the quote for it, and are held for the rebuild.
func (s *Server) approvalNotices(c *Claims, a events.Approval, doc bundle.DirDocument, built bool) ([]Message, error) {
	site := s.build.Load().Directory.Site
	name := s.clientName(c.Client, c.Subject)
	signed := a.Name
	if len(a.Signature) > 0 {
		signed += " (typed and drawn)"
	}
	rows := [][2]string{{"Quote", doc.Number + " — " + doc.Title}}
	switch {
	case built || len(doc.Optional) == 0:
		rows = append(rows, [2]string{"Total", doc.Amount})
		if doc.Deposit > 0 {
			rows = append(rows, [2]string{"Deposit", s.money(doc.Deposit)})
		}
	default:
		rows = append(rows, [2]string{"Total", "with the options you chose: see the quote"})
	}
	var chosen, left []string
	for j, i := range doc.Optional {
		if j >= len(doc.OptionNames) {
			break
		}
		if slices.Contains(a.Options, i) {
			chosen = append(chosen, doc.OptionNames[j])
		} else {
			left = append(left, doc.OptionNames[j])
		}
	}
	if len(chosen) > 0 {
		rows = append(rows, [2]string{"Optional items chosen", strings.Join(chosen, ", ")})
	}
	if len(left) > 0 {
		rows = append(rows, [2]string{"Optional items left out", strings.Join(left, ", ")})
	}
	rows = append(rows, [2]string{"Signed by", signed}, [2]string{"Email", a.Email},
		[2]string{"When", a.At.UTC().Format("2006-01-02 15:04 MST")}, [2]string{"From", a.IP},
		[2]string{"Version", a.Version}, [2]string{"Page SHA-256", a.PageSHA})
	if a.Terms {
		rows = append(rows, [2]string{"Terms", "accepted"})
	}
	path := "/c/" + c.Client + "/" + doc.Path
	ms, err := s.mails(Notice{To: Address{Email: a.Email}, Subject: fmt.Sprintf("You approved quote %s from %s", doc.Number, site.Name),
		Intro: fmt.Sprintf("Thank you for approving quote %s. Here is what you approved; keep this email as your copy.", doc.Number),
		Rows:  rows, Path: path, Button: "View the quote"},
		Notice{To: Address{Name: site.Name, Email: site.Email}, Subject: fmt.Sprintf("Quote %s approved by %s", doc.Number, name),
			Intro: fmt.Sprintf("%s approved quote %s in the client hub.", name, doc.Number), Rows: rows})
	if !built && s.cfg.RebuildClient != nil {
		for i := range ms {
			ms[i].NotBefore = s.now().Add(rebuildWait + 5*time.Second)
		}
	}
	return ms, err
}

func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := SessionFrom(ctx)
	doc, err := s.clientDoc(r, "quote")
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	site := s.build.Load().Directory.Site
	if !site.ChangeRequests {
		s.errorPage(w, r, Errorf(EForbidden, "%s takes change requests by phone or email rather than here.", site.Name))
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	if err := quoteOpen(doc, r.PostForm.Get("version")); err != nil {
		s.errorPage(w, r, err)
		return
	}
	msg, ok := cleanText(r.PostForm.Get("message"), true)
	switch {
	case !ok:
		s.errorPage(w, r, Errorf(EInvalid, "Your message has characters we cannot keep. Please type it again."))
		return
	case msg == "":
		s.errorPage(w, r, Errorf(EInvalid, "Please say what you would like changed."))
		return
	case utf8.RuneCountInString(msg) > maxChangeMessage:
		s.errorPage(w, r, Errorf(EInvalid, "Your message is longer than %d characters; please shorten it.", maxChangeMessage))
		return
	}
	ch := events.ChangeRequest{Quote: doc.Number, Version: doc.Version, Message: msg, Email: c.Subject, At: s.now()}
	name := s.clientName(c.Client, c.Subject)
	mails, err := s.mails(Notice{To: Address{Name: site.Name, Email: site.Email}, Subject: fmt.Sprintf("Changes requested on quote %s by %s", doc.Number, name),
		Intro: fmt.Sprintf("%s (%s) asked for changes to quote %s, %s. Edit the quote in git and rebuild: the client sees the new version, awaiting their response.", name, c.Subject, doc.Number, doc.Title),
		Quote: msg, Rows: [][2]string{{"Quote", doc.Number}, {"Version", doc.Version}}})
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	// A duplicate (the same form sent again) records and queues nothing.
	if _, err := s.store.RecordChangeRequest(ctx, c.Client, formNonce(r, "changes", c.Client, doc.Number, doc.Version, msg), ch, mails); err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.outbox.poke()
	if err := s.rebuildWithin(ctx, c.Client); err != nil {
		s.log.Error("rebuilding after a change request", "client", c.Client, "err", err)
	}
	http.Redirect(w, r, "/c/"+c.Client+"/"+doc.Path, http.StatusSeeOther)
}
