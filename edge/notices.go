package edge

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/url"
	texttemplate "text/template"
)

// Notices are the emails that tell someone what happened: a payment
// received, a quote approved, a change or work request sent. They carry a
// plain link to the page (no sign-in token: a forwarded notice opens
// nothing), and the facts as label–value rows.

// Notice is one such email.
type Notice struct {
	To      Address
	Subject string
	Intro   string      // first paragraph
	Rows    [][2]string // "Amount", "$120.00"
	Quote   string      // a message quoted in full (a change request), "" when none
	Path    string      // the page to link to, e.g. "/c/acme/receipts/INV-1-P1/"
	Button  string
}

var noticeHTML = template.Must(template.New("notice").Parse(`<!doctype html><html><body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1d2430">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0"><tr><td align="center">
<table role="presentation" width="100%" style="max-width:560px;background:#ffffff;border-radius:8px;padding:28px" cellspacing="0" cellpadding="0"><tr><td>
<p style="margin:0 0 20px;font-size:18px;font-weight:600;color:{{.Color}}">{{.SiteName}}</p>
<p style="margin:0 0 16px;font-size:16px">Hello {{.Name}},</p>
<p style="margin:0 0 16px;font-size:16px;line-height:1.5">{{.N.Intro}}</p>
{{with .N.Rows}}<table role="presentation" cellspacing="0" cellpadding="0" style="margin:0 0 16px;font-size:15px;line-height:1.5">{{range .}}<tr><td style="padding:2px 16px 2px 0;color:#5b6472;vertical-align:top">{{index . 0}}</td><td style="padding:2px 0;font-weight:600">{{index . 1}}</td></tr>{{end}}</table>{{end}}
{{with .N.Quote}}<blockquote style="margin:0 0 16px;padding:8px 12px;border-left:3px solid #d5d9df;white-space:pre-wrap;font-size:15px">{{.}}</blockquote>{{end}}
{{with .Link}}<p style="margin:24px 0"><a href="{{.}}" style="display:inline-block;background:{{$.Color}};color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:600">{{$.N.Button}}</a></p>{{end}}
<p style="margin:16px 0 0;font-size:13px;color:#5b6472">{{.SiteName}}{{if .Phone}} · {{.Phone}}{{end}}{{if .Email}} · {{.Email}}{{end}}</p>
</td></tr></table></td></tr></table></body></html>`))

var noticeText = texttemplate.Must(texttemplate.New("notice").Parse(`Hello {{.Name}},

{{.N.Intro}}
{{range .N.Rows}}
{{index . 0}}: {{index . 1}}{{end}}
{{with .N.Quote}}
"{{.}}"
{{end}}{{with .Link}}
{{$.N.Button}}:
{{.}}
{{end}}
{{.SiteName}}{{if .Phone}} · {{.Phone}}{{end}}{{if .Email}} · {{.Email}}{{end}}
`))

// Notify sends a notice.
func (m *Messages) Notify(ctx context.Context, n Notice) error {
	msg, err := m.notice(n)
	if err != nil {
		return err
	}
	return m.Mail.Send(ctx, msg)
}

// notice renders a notice as an email.
func (m *Messages) notice(n Notice) (Message, error) {
	d := struct {
		N                                  Notice
		Name, Link, SiteName, Color, Phone string
		Email                              string
	}{N: n, Name: firstName(n.To.Name), SiteName: m.Site.Name, Color: m.Site.Color, Phone: m.Site.Phone, Email: m.Site.Email}
	if d.Name == "" {
		d.Name = "there"
	}
	if d.Color == "" {
		d.Color = "#1f5f8b"
	}
	if n.Path != "" {
		d.Link = m.Base.ResolveReference(&url.URL{Path: n.Path}).String()
	}
	var h, t bytes.Buffer
	if err := noticeHTML.Execute(&h, d); err != nil {
		return Message{}, fmt.Errorf("notice %q: %w", n.Subject, err)
	}
	if err := noticeText.Execute(&t, d); err != nil {
		return Message{}, fmt.Errorf("notice %q: %w", n.Subject, err)
	}
	var links []string
	if d.Link != "" {
		links = []string{d.Link}
	}
	return Message{
		ID:       newMessageID(m.Base),
		FromName: m.Site.Name, ReplyTo: m.Site.Email, To: []Address{n.To}, Subject: n.Subject,
		Text: t.String(), HTML: h.String(), Links: links,
	}, nil
}
