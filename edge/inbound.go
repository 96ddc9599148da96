package edge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
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
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
)

// Replies by email: the edge's SMTP listener (hub edge -smtp-listen)
// accepts mail only for signed reply addresses (ReplyAddresses), keeps
// the text of the reply without the history it quotes, and records it in
// the thread as the business's answer (Messages.Reply): the client's
// pages are rebuilt and the client is emailed, as after hub reply.

// MaxInboundMail caps a reply's size, attachments included (base64 takes
// a third more: about 11 MB of files).
const MaxInboundMail = 16 << 20

var (
	errNoSuchAddress = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox: reply to the email you received"}
	errExpired       = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "This reply address has expired: answer with hub reply"}
	errNoText        = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "No text found to record: write your answer above the quoted message"}
	errTempFailure   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Could not record the reply now; try again later"}
)

// SMTPConfig is how the inbound mail server guards itself.
type SMTPConfig struct {
	// TLS, when set, is offered with STARTTLS (a sender may still send
	// in the clear: a reply address is signed, and an MX is not told
	// apart from an attacker by TLS).
	TLS *tls.Config
	// MaxConns caps the connections served at once (default
	// DefaultSMTPConns); one more is answered 421 and closed.
	MaxConns int
	// PerIP is how many connections one address may open in a burst
	// (default DefaultSMTPPerIP), regaining one every PerIPEvery (default
	// a minute / DefaultSMTPPerIP); past it, 421 and closed.
	PerIP      int
	PerIPEvery time.Duration
}

// Defaults of SMTPConfig: each connection may hold a message of
// MaxInboundMail in memory, so 8 at once is at most 128 MiB.
const (
	DefaultSMTPConns = 8
	DefaultSMTPPerIP = 20
)

// InboundSMTP is the edge's inbound mail server for replies, on its
// listener: Serve it, Close it to stop.
type InboundSMTP struct {
	srv *smtp.Server
	ln  net.Listener
}

// Serve answers connections until Close.
func (i *InboundSMTP) Serve() error { return i.srv.Serve(i.ln) }

// Close stops the server and closes its connections.
func (i *InboundSMTP) Close() error { return i.srv.Close() }

// SMTPServer makes the inbound mail server on ln: connections past the
// limits (SMTPConfig) are refused before the greeting, messages past
// MaxInboundMail with 552, and STARTTLS is offered with a certificate.
func (s *Server) SMTPServer(ln net.Listener) (*InboundSMTP, error) {
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
	srv.TLSConfig = s.cfg.SMTP.TLS
	c := s.cfg.SMTP
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultSMTPConns
	}
	if c.PerIP <= 0 {
		c.PerIP = DefaultSMTPPerIP
	}
	if c.PerIPEvery <= 0 {
		c.PerIPEvery = time.Minute / time.Duration(c.PerIP)
	}
	return &InboundSMTP{srv: srv, ln: &limitListener{Listener: ln, s: s, host: srv.Domain,
		slots: make(chan struct{}, c.MaxConns), perIP: newLimiter(c.PerIP, c.PerIPEvery)}}, nil
}

// limitListener refuses connections past the server's limits: it answers
// them 421 itself (in a goroutine, with a short deadline) and accepts the
// next, so a flood never reaches the SMTP server or holds the accept loop.
type limitListener struct {
	net.Listener
	s     *Server
	host  string
	slots chan struct{} // one per connection served
	perIP *limiter
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(conn.RemoteAddr())
		if !l.perIP.allow(ip, l.s.now()) {
			l.s.log.Info("smtp: too many connections from one address; refused", "remote", ip)
			go refuseConn(conn, l.host+" Too many connections from your address; try again later")
			continue
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: conn, release: func() { <-l.slots }}, nil
		default:
			l.s.log.Warn("smtp: at the connection limit; refused one", "remote", ip, "limit", cap(l.slots))
			go refuseConn(conn, l.host+" Too busy; try again later")
		}
	}
}

// refuseConn answers a connection 421 (RFC 5321 3.1: a server may refuse
// one with it instead of the greeting) and closes it.
func refuseConn(c net.Conn, why string) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "421 4.7.0 %s\r\n", why)
	c.Close()
}

// slotConn gives its slot back once, when closed, before the connection
// is (so a peer that sees it closed may connect again at once).
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(addrString(a))
	if err != nil {
		return addrString(a)
	}
	return host
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
	reply, err := ReadReply(raw)
	if err != nil {
		ss.s.log.Info("reply without text refused", "client", ss.client, "thread", ss.thread, "err", err)
		if errors.Is(err, errUndecodable) {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Reply not recorded: " + err.Error()}
		}
		return errNoText
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, _, err := ss.s.messages().Reply(ctx, ss.s.build.Load(), ss.s.store, ss.client, ss.thread, reply.From, reply.Body, "smtp:"+reply.ID, reply.Files...)
	switch {
	case ErrorCode(err) == EConflict: // the same email delivered again
		return nil
	case ErrorCode(err) == EInvalid || ErrorCode(err) == ENotFound:
		ss.s.log.Info("reply by email refused", "client", ss.client, "thread", ss.thread, "why", ErrorMessage(err))
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Reply not recorded: " + ErrorMessage(err)}
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

// EmailReply is what a reply email holds for the thread.
type EmailReply struct {
	From  string       // the From's name, else its address; "staff" without one
	Body  string       // the text, without the quoted history
	ID    string       // its Message-ID, else a hash of it: a delivery twice records once
	Files []Attachment // its attachments (not yet checked: Messages.Reply does)
}

// ReadReply reads a reply email: who sent it, its text without the quoted
// history, an id for it, and the files attached (see mailBody.walk).
func ReadReply(raw []byte) (EmailReply, error) {
	var r EmailReply
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return r, fmt.Errorf("not an email: %w", err)
	}
	if a, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
		r.From = a.Name
		if r.From == "" {
			r.From = a.Address
		}
	}
	if r.From == "" {
		r.From = "staff"
	}
	r.ID = strings.Trim(msg.Header.Get("Message-Id"), "<> ")
	if r.ID == "" || len(r.ID) > 200 {
		h := sha256.Sum256(raw)
		r.ID = hex.EncodeToString(h[:16])
	}
	var mb mailBody
	if err := mb.walk(msg.Header, msg.Body, 0, false); err != nil {
		return r, err
	}
	if !mb.hasText {
		return r, errors.New("no text/plain part")
	}
	r.Body, r.Files = StripQuoted(mb.text), mb.files
	if r.Body == "" {
		return r, errors.New("no text above the quoted message")
	}
	return r, nil
}

// mailBody is what a reply's MIME tree holds: its first text/plain part
// that is not a file, and its files.
type mailBody struct {
	text    string
	hasText bool
	files   []Attachment
}

// header is a MIME header (an email's or a part's).
type header interface{ Get(string) string }

var wordDecoder = &mime.WordDecoder{}

// errUndecodable is an attachment whose transfer encoding is broken.
var errUndecodable = errors.New("could not be decoded")

// walk reads one part of a reply (depth: how deep in multiparts; related:
// inside a multipart/related, whose inline parts are the HTML's pictures,
// a signature's logo, not files). A part is a file when its disposition is
// attachment, or when it has a file name and is neither a text part nor a
// related part's inline picture; its bytes are decoded (base64, quoted-
// printable), at most MaxAttachmentSize+1 of them (CheckAttachments then
// refuses a larger one), and no more than MaxAttachments+1 files are
// kept. A part that cannot be parsed is skipped, except the email's own.
func (mb *mailBody) walk(h header, r io.Reader, depth int, related bool) error {
	ctype := h.Get("Content-Type")
	if ctype == "" {
		ctype = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		if depth == 0 {
			return fmt.Errorf("content type %q: %w", ctype, err)
		}
		return nil
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if dn, err := wordDecoder.DecodeHeader(name); err == nil {
		name = dn
	}
	if strings.HasPrefix(mt, "multipart/") {
		if depth >= 5 {
			return nil
		}
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return nil // the end, or a broken part: what was read stands
			}
			if err := mb.walk(p.Header, p, depth+1, mt == "multipart/related"); err != nil {
				return err
			}
		}
	}
	isFile := disp == "attachment" || (name != "" && !strings.HasPrefix(mt, "text/") && !(related && disp != "attachment"))
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	switch {
	case isFile:
		if len(mb.files) > MaxAttachments {
			return nil // CheckAttachments refuses them by their number
		}
		b, err := io.ReadAll(io.LimitReader(r, MaxAttachmentSize+1))
		if err != nil {
			return fmt.Errorf("attachment %q %w (%v)", name, errUndecodable, err)
		}
		if name == "" {
			name = "attachment"
		}
		mb.files = append(mb.files, Attachment{Name: name, Data: b})
	case mt == "text/plain" && !mb.hasText:
		b, err := io.ReadAll(io.LimitReader(r, MaxInboundMail))
		if err != nil {
			if depth == 0 {
				return err
			}
			return nil
		}
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
			b = latin1(b) // the usual other one; anything else comes out as it can
		}
		mb.text, mb.hasText = strings.ToValidUTF8(string(b), "\uFFFD"), true
	}
	return nil
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
