package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Email goes through the store's outbox: an email that reports a fact (a
// receipt, an approval, a request) is queued in the transaction that
// records the fact, so a crash after the commit cannot lose it; the
// outbox worker sends what is due, marks each sent, and retries failures
// with exponential backoff until MailAttempts, then marks it failed. Each
// email keeps the Message-ID it was queued with, so a resend after a crash
// (sent, but killed before it was marked) is recognisably the same email.

// Defaults for the outbox.
const (
	defaultMailRetry    = 30 * time.Second
	defaultMailAttempts = 8
	maxMailBackoff      = 6 * time.Hour
	mailBatch           = 20
)

// newMessageID makes a Message-ID (without angle brackets) on the hub's host.
func newMessageID(base *url.URL) string {
	host := "hub.invalid"
	if base != nil && base.Hostname() != "" {
		host = base.Hostname()
	}
	return randomToken(18) + "@" + host
}

// mailBackoff is the wait before the attempt after the n-th failed one:
// retry, 2×retry, 4×retry, … at most maxMailBackoff.
func mailBackoff(retry time.Duration, n int) time.Duration {
	d := retry
	for i := 1; i < n && d < maxMailBackoff; i++ {
		d *= 2
	}
	return min(d, maxMailBackoff)
}

// mailSender sends the outbox's due emails.
type mailSender struct {
	queue    MailQueue
	mail     Mailer
	now      func() time.Time
	log      *slog.Logger
	retry    time.Duration // the wait after the first failure
	attempts int           // attempts before an email is marked failed
	wake     chan struct{} // a new email was queued
}

// poke wakes the worker without blocking (one pending wake is enough).
func (o *mailSender) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run sends until ctx ends: at once, whenever woken, and when the next
// retry is due.
func (o *mailSender) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait := o.retry
		next, ok, err := o.sendDue(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			o.log.Error("sending queued email; trying again later", "err", err)
		case ok:
			wait = max(next.Sub(o.now()), 0)
		default:
			wait = -1 // nothing queued: wait to be woken
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-timer.C:
		}
	}
}

// sendDue sends every email due now and says when the next one is due.
// An attempt is counted by the claim, which leases the email for the retry
// wait before it is handed to the mailer: another edge sharing the outbox
// leaves it alone, and an edge killed mid-send retries it after the wait
// rather than at once in a loop.
func (o *mailSender) sendDue(ctx context.Context) (time.Time, bool, error) {
	for {
		due, err := o.queue.ClaimMail(ctx, o.now(), o.retry, mailBatch)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("reading the outbox: %w", err)
		}
		if len(due) == 0 {
			break
		}
		for _, q := range due {
			if err := o.attempt(ctx, q); err != nil {
				return time.Time{}, false, err
			}
		}
	}
	return o.queue.NextMailDue(ctx)
}

func (o *mailSender) attempt(ctx context.Context, q QueuedMail) error {
	_, err := o.deliver(ctx, q)
	return err
}

// deliver hands a claimed email to the mailer and records the outcome; it
// returns the mailer's error (the email is then retried or failed, as
// recorded) and any error recording it.
func (o *mailSender) deliver(ctx context.Context, q QueuedMail) (sendErr, err error) {
	n := q.Attempts // counted by the claim
	serr := o.mail.Send(ctx, q.Message)
	if serr != nil && ctx.Err() != nil {
		return serr, ctx.Err() // shutting down: the attempt stays counted, the email queued
	}
	now := o.now()
	u := MailUpdate{Status: MailQueued, Attempts: n, Next: now.Add(mailBackoff(o.retry, n)), At: now, Error: q.Error}
	// Marked even when the server is stopping: a sent email left queued
	// would go again at the next start.
	ctx = context.WithoutCancel(ctx)
	switch {
	case serr == nil:
		u.Status, u.Error = MailSent, ""
	case n >= o.attempts:
		u.Status, u.Error = MailFailed, serr.Error()
		o.log.Error("EMAIL NOT SENT after every attempt; see hub mail", "id", q.ID, "subject", q.Subject, "attempts", n, "err", serr)
	default:
		u.Error = serr.Error()
		o.log.Warn("sending an email failed; it will be retried", "id", q.ID, "attempt", n, "next", u.Next, "err", serr)
	}
	if err := o.queue.MarkMail(ctx, q.ID, u); err != nil {
		return serr, fmt.Errorf("email %s: %w", q.ID, err)
	}
	return serr, nil
}

// StaffQueue is what QueuedSender needs of the store.
type StaffQueue interface {
	MailQueue
	ClaimMailByID(ctx context.Context, id string, now time.Time, lease time.Duration) (QueuedMail, bool, error)
}

// QueuedSender is the Mailer of staff commands (hub link, hub send): each
// email is queued in the store's outbox, like the edge's own, then claimed
// and sent at once. One the mailer refuses stays queued with its retry
// (hub mail lists it), for a running edge to send; one a running edge
// claimed first is left to it.
type QueuedSender struct {
	queue  StaffQueue
	sender mailSender
	base   *url.URL
}

// NewQueuedSender sends through mail, recording in queue.
func NewQueuedSender(queue StaffQueue, mail Mailer, base *url.URL, log *slog.Logger) *QueuedSender {
	return &QueuedSender{queue: queue, base: base, sender: mailSender{queue: queue, mail: mail, now: time.Now, log: log, retry: defaultMailRetry, attempts: defaultMailAttempts}}
}

// Send implements Mailer.
func (q *QueuedSender) Send(ctx context.Context, msg Message) error {
	if msg.ID == "" {
		msg.ID = newMessageID(q.base)
	}
	now := q.sender.now()
	if err := q.queue.QueueMail(ctx, now, msg); err != nil {
		return fmt.Errorf("queueing an email: %w", err)
	}
	qm, ok, err := q.queue.ClaimMailByID(ctx, msg.ID, now, q.sender.retry)
	if err != nil || !ok {
		return err // not claimed: a running edge is sending it
	}
	serr, err := q.sender.deliver(ctx, qm)
	if serr != nil { // for staff: the mailer's own words
		return &Error{Code: EUnavailable, Err: serr, Message: fmt.Sprintf("The email %q could not be sent (%v). It stays in the outbox, and a running edge tries again (see hub mail).", msg.Subject, serr)}
	}
	return err
}

// outboxMailer is the Mailer the server's Messages use: it queues (in a
// write of its own) and wakes the worker.
type outboxMailer struct{ s *Server }

func (m outboxMailer) Send(ctx context.Context, msg Message) error {
	if msg.ID == "" {
		msg.ID = newMessageID(m.s.cfg.BaseURL)
	}
	if err := m.s.store.QueueMail(ctx, m.s.now(), msg); err != nil {
		return fmt.Errorf("queueing an email: %w", err)
	}
	m.s.outbox.poke()
	return nil
}

// mails renders notices as emails to queue with the fact they report;
// notices without a recipient are left out.
func (s *Server) mails(ns ...Notice) ([]Message, error) {
	m := s.messages()
	var out []Message
	for _, n := range ns {
		if n.To.Email == "" {
			continue
		}
		msg, err := m.notice(n)
		if err != nil {
			return nil, fmt.Errorf("rendering an email: %w", err)
		}
		out = append(out, msg)
	}
	return out, nil
}
