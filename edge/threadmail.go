package edge

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
)

// The emails of conversations: the business hears of each client message
// (with the thread's recent messages), and the client's contacts of each
// answer (with a sign-in link that lands on the thread).

// ThreadSubject names what a thread is about, for emails and lists:
// "quote Q-1002", "request R-7KQ3XM", "portal rain-garden", "your messages".
func ThreadSubject(thread string) string {
	kind, name, ok := strings.Cut(thread, "/")
	if !ok {
		return "your messages"
	}
	return kind + " " + name
}

// threadText is a thread's messages as plain text, oldest first.
func threadText(ms []events.Message, names map[string]string, business string) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString("\n\n")
		}
		who := business
		if !m.FromStaff() {
			who = names[strings.ToLower(m.Email)]
			if who == "" {
				who = m.Email
			}
		}
		fmt.Fprintf(&b, "%s, %s:\n%s", who, m.At.UTC().Format("2006-01-02 15:04 MST"), m.Body)
	}
	return b.String()
}

// contactNames maps a client's contacts' emails (lower case) to names.
func contactNames(c *bundle.DirClient) map[string]string {
	names := map[string]string{}
	if c != nil {
		for _, ct := range c.Contacts {
			names[strings.ToLower(ct.Email)] = ct.Name
		}
	}
	return names
}

// messageNotice is the email that tells the business of a client's
// message m: the thread's recent messages, m last, and how to answer.
func (s *Server) messageNotice(ctx context.Context, client string, m events.Message) ([]Message, error) {
	site := s.build.Load().Directory.Site
	cl, _ := s.build.Load().Client(client)
	name := client
	if cl != nil {
		name = cl.DisplayName
	}
	names := contactNames(cl)
	recent, err := s.store.Thread(ctx, client, m.Thread, threadHistory-1)
	if err != nil {
		return nil, err
	}
	who := names[m.Email]
	if who == "" {
		who = m.Email
	}
	about := ThreadSubject(m.Thread)
	how := fmt.Sprintf("Answer with “hub reply %s %s -m TEXT”", client, m.Thread)
	replyTo := ""
	if s.cfg.Replies != nil {
		if replyTo, err = s.cfg.Replies.Address(client, m.Thread, s.now()); err == nil {
			how = "Reply to this email (above the quoted text), or answer with “hub reply " + client + " " + m.Thread + " -m TEXT”"
		}
	}
	rows := [][2]string{{"Client", name}, {"From", who + " <" + m.Email + ">"}, {"About", about}}
	if len(m.Files) > 0 {
		rows = append(rows, [2]string{"Photos", fmt.Sprintf("%d, on the page", len(m.Files))})
	}
	mails, err := s.mails(Notice{To: Address{Name: site.Name, Email: site.Email},
		Subject: fmt.Sprintf("Message from %s about %s", name, about),
		Intro:   fmt.Sprintf("%s (%s) wrote about %s in the client hub. %s; the client sees it on the page and is emailed.", who, name, about, how),
		Rows:    rows,
		Quote:   threadText(append(recent, m), names, site.Name),
		Path:    "/c/" + client + "/" + pagePath(events.ThreadPath(m.Thread)), Button: "Open the thread"})
	for i := range mails {
		if replyTo != "" {
			mails[i].ReplyTo = replyTo
		}
	}
	return mails, err
}

// captureMail keeps the emails Messages would send, to queue them instead.
type captureMail struct{ msgs []Message }

func (c *captureMail) Send(_ context.Context, m Message) error {
	c.msgs = append(c.msgs, m)
	return nil
}

// Reply records a message from the business (staff names who wrote it) in
// a client's thread, with an email to each of the client's contacts that
// signs them in on the thread, queued in the same write; the client's
// bundle is rebuilt by whichever edge takes the queued rebuild. nonce
// makes a reply sent twice (an email delivered twice) record once. Its
// files (CheckAttachments) are stored durably (m.Files) before the write,
// and removed if it fails or is a duplicate.
func (m *Messages) Reply(ctx context.Context, b *Build, st ThreadStore, client, thread, staff, body, nonce string, files ...Attachment) (events.Message, []string, error) {
	c, ok := b.Client(client)
	if !ok {
		return events.Message{}, nil, Errorf(ENotFound, "no client %q in the current build", client)
	}
	if !events.ValidThread(thread) {
		return events.Message{}, nil, Errorf(EInvalid, "%q is not a thread: say general, quote/NUMBER, invoice/NUMBER, request/ID or portal/SLUG", thread)
	}
	body, err := readMessageBody(body)
	if err != nil {
		return events.Message{}, nil, err
	}
	if err := CheckAttachments(files); err != nil {
		return events.Message{}, nil, err
	}
	msg := events.Message{ID: newMessageFactID(), Thread: thread, Staff: staff, Body: body, At: m.Now()}
	if nonce == "" {
		nonce = "reply:" + msg.ID
	}
	if len(files) > 0 {
		if m.Files == nil {
			return msg, nil, Errorf(EUnavailable, "attachments cannot be stored here (no files folder); send the reply without them")
		}
		var dir string
		if msg.Files, dir, err = m.Files.save(client, msg.ID, files, attachmentFiles); err != nil {
			return msg, nil, fmt.Errorf("storing the attachments: %w", err)
		}
		recorded := false
		msg, to, err := m.reply(ctx, c, st, client, nonce, msg, &recorded)
		if !recorded {
			m.Files.Ops.RemoveAll(dir) // what a failure leaves, the edge's start-up sweep removes
		}
		return msg, to, err
	}
	return m.reply(ctx, c, st, client, nonce, msg, nil)
}

// reply emails the contacts and records msg; recorded (when set) says
// whether the message was recorded (not a duplicate).
func (m *Messages) reply(ctx context.Context, c *bundle.DirClient, st ThreadStore, client, nonce string, msg events.Message, recorded *bool) (events.Message, []string, error) {
	thread, body := msg.Thread, msg.Body
	next := "/c/" + client + "/" + events.ThreadPath(thread)
	about := ThreadSubject(thread)
	capture := &captureMail{}
	mm := *m
	mm.Mail = capture
	var to []string
	for _, ct := range c.Contacts {
		link, err := m.lastingLink(ctx, ct.Email, client, next)
		if err != nil {
			return msg, nil, err
		}
		intro := fmt.Sprintf("%s answered you about %s: “%s”", m.Site.Name, about, truncate(body, 600))
		if n := len(msg.Files); n == 1 {
			intro += " They attached a file: " + msg.Files[0].Name + ", on the page."
		} else if n > 1 {
			intro += fmt.Sprintf(" They attached %d files, on the page.", n)
		}
		if err := mm.send(ctx, ct, fmt.Sprintf("%s answered you about %s", m.Site.Name, about), m.DocTokenTTL, mailData{Link: link, Button: "Read and answer", Intro: intro, Opens: "the conversation"}); err != nil {
			return msg, nil, err
		}
		to = append(to, ct.Email)
	}
	dup, err := st.RecordMessage(ctx, client, nonce, msg, capture.msgs)
	if err != nil {
		return msg, nil, err
	}
	if dup {
		return msg, nil, Errorf(EConflict, "this reply was recorded before")
	}
	if recorded != nil {
		*recorded = true
	}
	return msg, to, nil
}

// pagePath is a bundle path without its fragment (a notice's link is a
// path; the page's thread is near its end).
func pagePath(p string) string {
	p, _, _ = strings.Cut(p, "#")
	return p
}
