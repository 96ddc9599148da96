package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
)

// Messages composes and sends the hub's emails. It is used by the server
// and by staff commands (hub link, hub send), which run without a server.
// NewMessages makes one.
type Messages struct {
	Site     bundle.DirSite
	Base     *url.URL
	Tokens   TokenStore // where the links' tokens are recorded
	Sends    SendLog    // where documents emailed are recorded
	Files    *FileStore // where attachments are stored; nil: none taken
	Mail     Mailer
	Now      func() time.Time
	TokenTTL time.Duration // sign-in links asked for (the login form, hub link)
	// DocTokenTTL is how long the link in an email about a quote or an
	// invoice lasts (hub send): longer, as such an email is read when the
	// client gets to it. Still single-use.
	DocTokenTTL time.Duration
}

// DefaultTokenTTL is how long a sign-in link lasts unless configured;
// DefaultDocTokenTTL, the link of an email about a document.
const (
	DefaultTokenTTL    = 15 * time.Minute
	DefaultDocTokenTTL = 7 * 24 * time.Hour
)

// MessageStore is what Messages records: the links' tokens and the
// documents sent.
type MessageStore interface {
	TokenStore
	SendLog
}

// SendLog records the documents emailed to contacts. Part of Store.
type SendLog interface {
	// RecordSends records that documents of a client were emailed (facts
	// its pages show: "Sent Nov 16"), with an events row and the client's
	// rebuild, in one durable write.
	RecordSends(ctx context.Context, clientID string, ss []events.Send) error
}

// NewMessages makes the Messages of a site, with links to base whose
// tokens (and the documents sent) are recorded in st and last ttl (0:
// DefaultTokenTTL; document links last DefaultDocTokenTTL).
func NewMessages(site bundle.DirSite, base *url.URL, st MessageStore, mail Mailer, now func() time.Time, ttl time.Duration) *Messages {
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	return &Messages{Site: site, Base: base, Tokens: st, Sends: st, Mail: mail, Now: now, TokenTTL: ttl, DocTokenTTL: max(ttl, DefaultDocTokenTTL)}
}

// Lifetime says how long a link lasts, in words: "15 minutes", "7 days".
func Lifetime(d time.Duration) string {
	plural := func(n time.Duration, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(d/(24*time.Hour), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(d/time.Hour, "hour")
	}
	return plural(max(d/time.Minute, 1), "minute")
}

type mailData struct {
	Site     bundle.DirSite
	Name     string
	Link     string
	Lifetime string // how long the link lasts: "15 minutes"
	SignIn   string // how long a link signs in: "15 minutes"
	Intro    string // first paragraph
	Button   string
	Doc      *bundle.DirDocument
	Opens    string // what a lasting link opens ("the invoice"); "" for a sign-in link
	Base     string // the hub's address, to sign in again once the link has expired
}

var mailHTML = template.Must(template.New("mail").Parse(`<!doctype html><html><body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1d2430">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0"><tr><td align="center">
<table role="presentation" width="100%" style="max-width:520px;background:#ffffff;border-radius:8px;padding:28px" cellspacing="0" cellpadding="0"><tr><td>
<p style="margin:0 0 20px;font-size:18px;font-weight:600;color:{{.Site.Color}}">{{.Site.Name}}</p>
<p style="margin:0 0 16px;font-size:16px">Hello {{.Name}},</p>
<p style="margin:0 0 16px;font-size:16px;line-height:1.5">{{.Intro}}</p>
{{with .Doc}}<p style="margin:0 0 16px;font-size:16px;line-height:1.5"><strong>{{.Title}}</strong><br>{{if eq .Kind "quote"}}Quote{{else}}Invoice{{end}} {{.Number}} · {{.Amount}} · {{.Status}}</p>{{end}}
<p style="margin:24px 0"><a href="{{.Link}}" style="display:inline-block;background:{{.Site.Color}};color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:600">{{.Button}}</a></p>
<p style="margin:0 0 8px;font-size:14px;color:#5b6472;line-height:1.5">{{if .Opens}}The button opens {{.Opens}} for {{.Lifetime}}. In the first {{.SignIn}} it also signs you in, without a password; after that it emails you a fresh sign-in link to it. You can always sign in at <a href="{{.Base}}" style="color:#5b6472">{{.Base}}</a> with your email.{{else}}This link signs you in without a password. It works once and expires in {{.Lifetime}}. If you did not ask for it, you can ignore this email.{{end}}</p>
<p style="margin:16px 0 0;font-size:13px;color:#5b6472">{{.Site.Name}}{{if .Site.Phone}} · {{.Site.Phone}}{{end}}{{if .Site.Email}} · {{.Site.Email}}{{end}}</p>
</td></tr></table></td></tr></table></body></html>`))

var mailText = texttemplate.Must(texttemplate.New("mail").Parse(`Hello {{.Name}},

{{.Intro}}
{{with .Doc}}
{{.Title}}
{{if eq .Kind "quote"}}Quote{{else}}Invoice{{end}} {{.Number}} · {{.Amount}} · {{.Status}}
{{end}}
{{.Button}}:
{{.Link}}

{{if .Opens -}}
The link opens {{.Opens}} for {{.Lifetime}}. In the first {{.SignIn}} it also signs
you in, without a password; after that it emails you a fresh sign-in link to it. You can
always sign in at {{.Base}} with your email.
{{- else -}}
This link signs you in without a password. It works once and expires in {{.Lifetime}}.
If you did not ask for it, you can ignore this email.
{{- end}}

{{.Site.Name}}{{if .Site.Phone}} · {{.Site.Phone}}{{end}}{{if .Site.Email}} · {{.Site.Email}}{{end}}
`))

func (m *Messages) send(ctx context.Context, to bundle.DirContact, subject string, ttl time.Duration, d mailData) error {
	d.Site, d.Name, d.Lifetime, d.SignIn, d.Base = m.Site, firstName(to.Name), Lifetime(ttl), Lifetime(m.TokenTTL), strings.TrimSuffix(m.Base.String(), "/")+"/"
	if d.Site.Color == "" {
		d.Site.Color = "#1f5f8b"
	}
	var h, t bytes.Buffer
	if err := mailHTML.Execute(&h, d); err != nil {
		return err
	}
	if err := mailText.Execute(&t, d); err != nil {
		return err
	}
	return m.Mail.Send(ctx, Message{
		ID:       newMessageID(m.Base),
		Secret:   true,
		FromName: m.Site.Name, ReplyTo: m.Site.Email,
		To: []Address{{Name: to.Name, Email: to.Email}}, Subject: subject,
		Text: t.String(), HTML: h.String(), Links: []string{d.Link},
	})
}

func firstName(n string) string {
	if f, _, ok := strings.Cut(strings.TrimSpace(n), " "); ok {
		return f
	}
	return n
}

// LoginLink emails a login link to email if it belongs to a contact (of
// client, when client is set). It returns nil for unknown emails: callers
// answer the same whatever the email.
func (m *Messages) LoginLink(ctx context.Context, b *Build, email, client, next string) error {
	ct, ok := contactOf(b, email, client)
	if !ok {
		return nil
	}
	link, err := newToken(ctx, m.Tokens, m.Base, m.Now(), m.TokenTTL, Token{Purpose: TokenLogin, Email: strings.ToLower(ct.Email), ClientID: client, Next: next})
	if err != nil {
		return err
	}
	return m.send(ctx, ct, "Your sign-in link for "+m.Site.Name, m.TokenTTL, mailData{
		Link: link, Button: "Sign in to your hub",
		Intro: "Here is your link to sign in to your client hub at " + m.Site.Name + ", where you can see your quotes, invoices and projects.",
	})
}

// lastingLink makes a document link (TokenDocument, see there) for a
// contact to a page of a client's hub: the destination is in the link too,
// so the hub knows where it led once the token has expired or been used.
func (m *Messages) lastingLink(ctx context.Context, email, client, next string) (string, error) {
	link, err := newToken(ctx, m.Tokens, m.Base, m.Now(), m.DocTokenTTL, Token{Purpose: TokenDocument, Email: strings.ToLower(email), ClientID: client, Next: next})
	if err != nil {
		return "", err
	}
	return link + "?next=" + url.QueryEscape(next), nil
}

// Document emails every contact of the document's client a message about a
// quote or invoice, with a link that signs them in and lands on it, and
// records the send (every email queued, sent now or not) as a fact of the
// document's history.
func (m *Messages) Document(ctx context.Context, b *Build, kind, number string) ([]string, error) {
	client, doc, ok := b.Document(number)
	if !ok || doc.Kind != kind {
		return nil, Errorf(ENotFound, "no visible %s numbered %q in the current build (drafts, archived quotes and bad-debt invoices cannot be sent)", kind, number)
	}
	sent, queued, err := m.document(ctx, b, client, kind, doc)
	if len(queued) > 0 && m.Sends != nil {
		ss := make([]events.Send, len(queued))
		for i, email := range queued {
			ss[i] = events.Send{Doc: events.DocKey(kind, doc.Number), Email: strings.ToLower(email), At: m.Now()}
		}
		if rerr := m.Sends.RecordSends(ctx, client, ss); rerr != nil {
			return sent, errors.Join(err, fmt.Errorf("the emails are queued, but the send could not be recorded for the %s's history: %w", kind, rerr))
		}
	}
	return sent, err
}

// document emails the contacts: those it was sent to, and those whose
// email is queued (the sent ones and those that will be retried).
func (m *Messages) document(ctx context.Context, b *Build, client, kind string, doc bundle.DirDocument) (sent, queued []string, _ error) {
	c, _ := b.Client(client)
	var failed []error
	for _, ct := range c.Contacts {
		next := "/c/" + client + "/" + doc.Path
		link, err := m.lastingLink(ctx, ct.Email, client, next)
		if err != nil {
			return sent, queued, err
		}
		what, intro := "quote", fmt.Sprintf("%s has sent you a quote. You can review it, and approve it or ask for changes, in your client hub.", m.Site.Name)
		if kind == "invoice" {
			what, intro = "invoice", fmt.Sprintf("%s has sent you an invoice. You can see it, download it and pay it in your client hub.", m.Site.Name)
		}
		subject := fmt.Sprintf("%s %s from %s: %s", strings.ToUpper(what[:1])+what[1:], doc.Number, m.Site.Name, doc.Title)
		if err := m.send(ctx, ct, subject, m.DocTokenTTL, mailData{Link: link, Button: "View " + what + " " + doc.Number, Intro: intro, Doc: &doc, Opens: "the " + what}); err != nil {
			if ErrorCode(err) != EUnavailable {
				return sent, queued, err
			}
			failed = append(failed, err) // queued: the other contacts' emails are queued too
			queued = append(queued, ct.Email)
			continue
		}
		sent, queued = append(sent, ct.Email), append(queued, ct.Email)
	}
	return sent, queued, errors.Join(failed...)
}

func contactOf(b *Build, email, client string) (bundle.DirContact, bool) {
	for _, id := range b.ClientsOf(email) {
		if client != "" && id != client {
			continue
		}
		c, _ := b.Client(id)
		for _, ct := range c.Contacts {
			if strings.EqualFold(ct.Email, email) {
				return ct, true
			}
		}
	}
	return bundle.DirContact{}, false
}
