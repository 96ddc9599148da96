package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hubhq/hub/edge"
)

// cmdMessages lists threads: each with its latest message and whether
// the business has answered it.
func cmdMessages(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("messages", stderr)
	ef := addEdgeFlags(fs, nil)
	client := fs.String("client", "", "only this client's threads")
	limit := fs.Int("n", 1000, "how many of the newest messages to look through")
	st, err := listingStore(fs, ef, args)
	if err != nil {
		return err
	}
	defer st.Close()
	ms, err := st.Messages(ctx, *client, *limit)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintln(stdout, "No messages.")
		return nil
	}
	type thread struct {
		latest edge.MessageRecord
		count  int
	}
	var order []string
	threads := map[string]*thread{}
	for _, m := range ms { // newest first: the first of each thread is its latest
		k := m.ClientID + " " + m.Thread
		if threads[k] == nil {
			threads[k] = &thread{latest: m}
			order = append(order, k)
		}
		threads[k].count++
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LATEST\tCLIENT\tTHREAD\tMESSAGES\tANSWERED\tFROM\tMESSAGE")
	for _, k := range order {
		th := threads[k]
		m := th.latest
		answered, from := "yes", m.Staff
		if !m.FromStaff() {
			answered, from = "NO", m.Email
		}
		text := truncateText(oneLine(m.Body), 60)
		if n := len(m.Files); n > 0 {
			text += fmt.Sprintf(" [+%d %s]", n, plural(n, "file"))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", when(m.At), m.ClientID, m.Thread, th.count, answered, from, text)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nAnswer one: hub reply CLIENT THREAD -m TEXT")
	return nil
}

// oneLine joins a text's lines with spaces.
func oneLine(s string) string {
	b := []rune(s)
	for i, r := range b {
		if r == '\n' || r == '\r' || r == '\t' {
			b[i] = ' '
		}
	}
	return string(b)
}

// cmdReply records a staff answer in a client's thread; the running edge
// rebuilds the client's pages and sends each contact the email (a link
// that lands on the thread) from the outbox.
func cmdReply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reply", stderr)
	ef := addEdgeFlags(fs, nil)
	text := fs.String("m", "", "the answer (plain text; - reads it from standard input)")
	as := fs.String("as", envOr("HUB_STAFF", os.Getenv("USER")), "who is answering, for the record (env HUB_STAFF; default $USER)")
	var attach fileList
	fs.Var(&attach, "attach", fmt.Sprintf("a file to attach (repeat for more, up to %d of %d MB: PDF, pictures, text, CSV, Word, Excel, PowerPoint)", edge.MaxAttachments, edge.MaxAttachmentSize>>20))
	pos, err := parseArgs(fs, args, 2, "CLIENT THREAD -m TEXT [-attach FILE]...   (THREAD: general, quote/NUMBER, invoice/NUMBER, request/ID, portal/SLUG)")
	if err != nil {
		return err
	}
	files, err := readAttachments(attach)
	if err != nil {
		return err
	}
	body := *text
	if body == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			return err
		}
		body = string(b)
	}
	if *as == "" {
		*as = "staff"
	}
	e, err := ef.open("", stdout, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	m, to, err := e.msgs.Reply(ctx, e.build, e.store, pos[0], pos[1], *as, body, "", files...)
	if err != nil {
		if edge.ErrorCode(err) == edge.EInternal {
			return err
		}
		return errors.New(edge.ErrorMessage(err))
	}
	with := ""
	if n := len(m.Files); n > 0 {
		with = fmt.Sprintf(" with %d %s", n, plural(n, "attachment"))
	}
	fmt.Fprintf(stdout, "recorded %s%s in %s %s; the edge rebuilds the client's pages and emails %d %s\n", m.ID, with, pos[0], pos[1], len(to), plural(len(to), "contact"))
	return nil
}

// fileList is a flag that may be given several times.
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ", ") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

// readAttachments reads the files of hub reply -attach, refusing (before
// reading it) one too large or not a file, and more than a message takes.
func readAttachments(paths []string) ([]edge.Attachment, error) {
	if len(paths) > edge.MaxAttachments {
		return nil, fmt.Errorf("-attach: %d files; a message takes at most %d", len(paths), edge.MaxAttachments)
	}
	var out []edge.Attachment
	for _, p := range paths {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			return nil, fmt.Errorf("-attach: %w", err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("-attach %s: not a file", p)
		case st.Size() > edge.MaxAttachmentSize:
			return nil, fmt.Errorf("-attach %s: %.1f MB, larger than the %d MB an attachment may be", p, float64(st.Size())/(1<<20), edge.MaxAttachmentSize>>20)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("-attach: %w", err)
		}
		out = append(out, edge.Attachment{Name: filepath.Base(p), Data: b})
	}
	return out, nil
}

// replyFlags are hub edge's flags for replies by email.
type replyFlags struct {
	addr, host      *string
	tlsCert, tlsKey *string
	maxConns, perIP *int
}

func addReplyFlags(fs *flag.FlagSet) replyFlags {
	return replyFlags{
		addr:     fs.String("smtp-listen", os.Getenv("HUB_SMTP_LISTEN"), "address to receive replies to message notices on, e.g. :25 (env HUB_SMTP_LISTEN; default: off)"),
		host:     fs.String("reply-host", os.Getenv("HUB_REPLY_HOST"), "the domain of reply addresses, whose MX is this edge (env HUB_REPLY_HOST; default: the base URL's host)"),
		tlsCert:  fs.String("smtp-tls-cert", os.Getenv("HUB_SMTP_TLS_CERT"), "PEM certificate (chain) for STARTTLS on -smtp-listen, with -smtp-tls-key (env HUB_SMTP_TLS_CERT; default: no STARTTLS)"),
		tlsKey:   fs.String("smtp-tls-key", os.Getenv("HUB_SMTP_TLS_KEY"), "PEM private key of -smtp-tls-cert (env HUB_SMTP_TLS_KEY)"),
		maxConns: fs.Int("smtp-max-conns", edge.DefaultSMTPConns, "connections -smtp-listen serves at once; more are answered 421"),
		perIP:    fs.Int("smtp-per-ip", edge.DefaultSMTPPerIP, "connections one address may open per minute on -smtp-listen; more are answered 421"),
	}
}

// smtpConfig is the inbound mail server's limits and certificate.
func (rf replyFlags) smtpConfig() (edge.SMTPConfig, error) {
	c := edge.SMTPConfig{MaxConns: *rf.maxConns, PerIP: *rf.perIP}
	switch {
	case *rf.maxConns < 1 || *rf.perIP < 1:
		return c, errors.New("-smtp-max-conns and -smtp-per-ip must be at least 1")
	case (*rf.tlsCert == "") != (*rf.tlsKey == ""):
		return c, errors.New("-smtp-tls-cert and -smtp-tls-key go together: give both, or neither")
	case *rf.tlsCert != "":
		cert, err := tls.LoadX509KeyPair(*rf.tlsCert, *rf.tlsKey)
		if err != nil {
			return c, fmt.Errorf("-smtp-tls-cert/-smtp-tls-key: %w", err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return c, nil
}

// listen sets up replies by email when -smtp-listen is set: it signs
// notices' reply addresses with the key in the files folder, listens, and
// returns what starts the SMTP server once the edge is up (nil when off).
func (rf replyFlags) listen(ctx context.Context, ef edgeFlags, e *edgeEnv, cfg *edge.Config, stdout io.Writer) (func(*edge.Server, string), error) {
	if *rf.addr == "" {
		return nil, nil
	}
	key, err := edge.LoadReplyKey(ef.filesDir())
	if err != nil {
		return nil, fmt.Errorf("reply key: %w", err)
	}
	host := *rf.host
	if host == "" {
		host = e.base.Hostname()
	}
	cfg.Replies = &edge.ReplyAddresses{Key: key, Host: host}
	if cfg.SMTP, err = rf.smtpConfig(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", *rf.addr)
	if err != nil {
		return nil, fmt.Errorf("-smtp-listen: %w", err)
	}
	return func(srv *edge.Server, _ string) {
		s, err := srv.SMTPServer(ln)
		if err != nil {
			e.log.Error("replies by email are off", "err", err)
			ln.Close()
			return
		}
		starttls := ""
		if cfg.SMTP.TLS != nil {
			starttls = " (STARTTLS)"
		}
		fmt.Fprintf(stdout, "hub edge receiving replies for *@%s on smtp://%s%s\n", host, ln.Addr(), starttls)
		go s.Serve()
		go func() { <-ctx.Done(); s.Close() }()
	}, nil
}
