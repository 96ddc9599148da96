package edge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
)

// Replies by email: the edge's SMTP listener (hub edge -smtp-listen)
// accepts mail only for signed reply addresses (ReplyAddresses), keeps
// the text of the reply without the history it quotes, and records it in
// the thread as the business's answer (Messages.Reply): the client's
// pages are rebuilt and the client is emailed, as after hub reply.

// MaxInboundMail caps a reply's size (attachments are not kept).
const MaxInboundMail = 1 << 20

var (
	errNoSuchAddress = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox: reply to the email you received"}
	errExpired       = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "This reply address has expired: answer with hub reply"}
	errNoText        = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "No text found to record: write your answer above the quoted message"}
	errTempFailure   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Could not record the reply now; try again later"}
)

// SMTPServer is the edge's inbound mail server for replies; Serve it on a
// listener, Close it to stop.
func (s *Server) SMTPServer() (*smtp.Server, error) {
	if s.cfg.Replies == nil {
		return nil, errors.New("no reply addresses configured")
	}
	srv := smtp.NewServer(inboundBackend{s})
	srv.Domain = s.cfg.Replies.Host
	srv.MaxMessageBytes = MaxInboundMail
	srv.MaxRecipients = 10
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = smtpLog{s}
	return srv, nil
}

type smtpLog struct{ s *Server }

func (l smtpLog) Printf(format string, v ...any) { l.s.log.Warn("smtp: " + fmt.Sprintf(format, v...)) }
func (l smtpLog) Println(v ...any)               { l.s.log.Warn("smtp: " + fmt.Sprintln(v...)) }

type inboundBackend struct{ s *Server }

func (b inboundBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &inboundSession{s: b.s, remote: addrString(c.Conn().RemoteAddr())}, nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

type inboundSession struct {
	s              *Server
	remote         string
	client, thread string
}

func (ss *inboundSession) Mail(string, *smtp.MailOptions) error { return nil }

func (ss *inboundSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	client, thread, err := ss.s.cfg.Replies.Parse(to, ss.s.now())
	switch {
	case errors.Is(err, ErrReplyExpired):
		ss.s.log.Info("reply to an expired address refused", "remote", ss.remote)
		return errExpired
	case err != nil:
		ss.s.log.Info("mail to an unsigned address refused", "remote", ss.remote, "why", err)
		return errNoSuchAddress
	case ss.client != "" && (client != ss.client || thread != ss.thread):
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "One thread per message"}
	}
	ss.client, ss.thread = client, thread
	return nil
}

func (ss *inboundSession) Data(r io.Reader) error {
	if ss.client == "" {
		return errNoSuchAddress
	}
	raw, err := io.ReadAll(io.LimitReader(r, MaxInboundMail+1))
	if err != nil {
		return err // the server answers a size overrun itself
	}
	if len(raw) > MaxInboundMail {
		return smtp.ErrDataTooLarge
	}
	staff, body, id, err := ReadReply(raw)
	if err != nil {
		ss.s.log.Info("reply without text refused", "client", ss.client, "thread", ss.thread, "err", err)
		return errNoText
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, _, err := ss.s.messages().Reply(ctx, ss.s.build.Load(), ss.s.store, ss.client, ss.thread, staff, body, "smtp:"+id)
	switch {
	case ErrorCode(err) == EConflict: // the same email delivered again
		return nil
	case ErrorCode(err) == EInvalid || ErrorCode(err) == ENotFound:
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: ErrorMessage(err)}
	case err != nil:
		ss.s.log.Error("recording a reply by email", "client", ss.client, "thread", ss.thread, "err", err)
		return errTempFailure
	}
	ss.s.log.Info("reply by email recorded", "client", ss.client, "thread", ss.thread, "message", m.ID)
	ss.s.rebuildSoon()
	return nil
}

func (ss *inboundSession) Reset()        { ss.client, ss.thread = "", "" }
func (ss *inboundSession) Logout() error { return nil }

// ReadReply reads a reply email: who sent it (the From's name, else its
// address), its text without the quoted history, and an id for it (its
// Message-ID, else a hash of it) so a delivery twice records once.
func ReadReply(raw []byte) (from, body, id string, err error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", "", "", fmt.Errorf("not an email: %w", err)
	}
	if a, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
		from = a.Name
		if from == "" {
			from = a.Address
		}
	}
	if from == "" {
		from = "staff"
	}
	id = strings.Trim(msg.Header.Get("Message-Id"), "<> ")
	if id == "" || len(id) > 200 {
		h := sha256.Sum256(raw)
		id = hex.EncodeToString(h[:16])
	}
	text, err := plainText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if err != nil {
		return "", "", "", err
	}
	body = StripQuoted(text)
	if body == "" {
		return "", "", "", errors.New("no text above the quoted message")
	}
	return from, body, id, nil
}

// plainText finds the first text/plain part of a body and decodes it.
func plainText(ctype, cte string, r io.Reader, depth int) (string, error) {
	if ctype == "" {
		ctype = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return "", fmt.Errorf("content type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") && depth < 5 {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return "", errors.New("no text/plain part")
			}
			t, err := plainText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if err == nil {
				return t, nil
			}
		}
	}
	if mt != "text/plain" {
		return "", fmt.Errorf("a %s part", mt)
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxInboundMail))
	if err != nil {
		return "", err
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		b = latin1(b) // the usual other one; anything else comes out as it can
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), nil
}

// latin1 reads ISO 8859-1 bytes as UTF-8.
func latin1(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
