// Package mailer sends the edge's email: over SMTP when configured
// (github.com/wneessen/go-mail builds the MIME message and speaks SMTP),
// or into a local outbox folder as RFC 5322 .eml files.
package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/bundle"
	mail "github.com/wneessen/go-mail"
)

// build makes the MIME message.
func build(from string, m edge.Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.FromFormat(m.FromName, from); err != nil {
		return nil, fmt.Errorf("from address %q: %w", from, err)
	}
	for _, to := range m.To {
		if err := msg.AddToFormat(to.Name, to.Email); err != nil {
			return nil, fmt.Errorf("recipient %q: %w", to.Email, err)
		}
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, err
		}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID) // fixed when queued: a resend is the same email
	} else {
		msg.SetMessageID()
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// fileSafe matches what an outbox file name may not hold.
var fileSafe = regexp.MustCompile(`[^A-Za-z0-9._@-]`)

// Outbox writes each message as an .eml file in a folder and prints its
// subject and links: the local, no-network mailer. A message with an ID is
// named by it, so sending it again replaces the file rather than adding one.
type Outbox struct {
	Dir  string
	From string
	Log  io.Writer // where links are printed (a terminal); nil for none
	mu   sync.Mutex
}

// Send implements edge.Mailer.
func (o *Outbox) Send(ctx context.Context, m edge.Message) error {
	msg, err := build(o.From, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return err
	}
	var name string
	if m.ID != "" {
		name = filepath.Join(o.Dir, fileSafe.ReplaceAllString(m.ID, "_")+".eml")
	} else {
		rnd := make([]byte, 4)
		rand.Read(rnd)
		name = filepath.Join(o.Dir, time.Now().UTC().Format("20060102T150405.000")+"-"+hex.EncodeToString(rnd)+".eml")
	}
	if err := bundle.WriteFileAtomic(name, buf.Bytes(), 0o600); err != nil {
		return err
	}
	if o.Log != nil {
		o.mu.Lock()
		defer o.mu.Unlock()
		to := ""
		if len(m.To) > 0 {
			to = m.To[0].Email
		}
		fmt.Fprintf(o.Log, "mail to %s: %q (%s)\n", to, m.Subject, name)
		for _, l := range m.Links {
			fmt.Fprintf(o.Log, "  %s\n", l)
		}
	}
	return nil
}

// SMTP sends through an SMTP server.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      string // "starttls" (required), "opportunistic", "tls" (implicit), "none"
	From     string
}

// ParseURL reads SMTP settings from a URL such as
// smtp://user:password@mail.example.com:587 (STARTTLS required),
// smtps://... (implicit TLS), or smtp://127.0.0.1:2525?tls=none.
func ParseURL(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("SMTP URL: %w", err)
	}
	s := &SMTP{Host: u.Hostname(), From: from}
	switch u.Scheme {
	case "smtp":
		s.TLS, s.Port = "starttls", 587
	case "smtps":
		s.TLS, s.Port = "tls", 465
	default:
		return nil, fmt.Errorf("SMTP URL must start with smtp:// or smtps://")
	}
	if t := u.Query().Get("tls"); t != "" {
		switch t {
		case "none", "opportunistic", "starttls":
			s.TLS = t
		default:
			return nil, fmt.Errorf("SMTP URL: tls=%s; use none, opportunistic or starttls", t)
		}
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port < 1 || s.Port > 65535 {
			return nil, fmt.Errorf("SMTP URL port %q must be a number from 1 to 65535", p)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if s.Host == "" {
		return nil, fmt.Errorf("SMTP URL has no host")
	}
	return s, nil
}

// Send implements edge.Mailer.
func (s *SMTP) Send(ctx context.Context, m edge.Message) error {
	msg, err := build(s.From, m)
	if err != nil {
		return err
	}
	opts := []mail.Option{mail.WithTimeout(20 * time.Second)}
	switch s.TLS {
	case "none":
		opts = append(opts, mail.WithTLSPortPolicy(mail.NoTLS))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSOpportunistic))
	case "tls":
		opts = append(opts, mail.WithSSLPort(false))
	default:
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	}
	// The port goes after the TLS options, which otherwise replace port 25.
	opts = append(opts, mail.WithPort(s.Port))
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}
