package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
)

// Saved cards and autopay. A client paying an invoice may tick "Save this
// card for future invoices": the Checkout Session is made on the client's
// Stripe customer with setup_future_usage off_session, and Stripe's
// payment_method.attached event (verified, deduplicated and ordered like
// every event) records the card beside the customer; the build folds it
// into the account page. POST /c/{client}/billing/card/remove detaches it;
// POST /c/{client}/billing/autopay turns autopay on or off. With autopay
// on, the daily rebuild (and hub charge, on demand) charges the saved card
// off-session for each invoice that fell due while it was on: once per
// invoice, client and amount (the idempotency key is made of them), the
// outcome recorded through RecordWebhook like any payment's state.

// Site switches, from the signed directory.
func (s *Server) saveCardsOn() bool {
	site := s.build.Load().Directory.Site
	return s.cfg.Checkout != nil && site.OnlinePayments && site.SaveCards
}

func (s *Server) autopayOn() bool {
	return s.saveCardsOn() && s.build.Load().Directory.Site.Autopay
}

// accountPath is the client's account page, where the saved card is shown.
func accountPath(client string) string { return "/c/" + client + "/account/" }

// billingClient is the session's client, for the billing forms.
func (s *Server) billingClient(r *http.Request) (*Claims, error) {
	c := SessionFrom(r.Context())
	if c == nil || c.Client != r.PathValue("client") {
		return nil, Errorf(ENotFound, "There is no such page in your hub.")
	}
	return c, nil
}

func (s *Server) handleRemoveCard(w http.ResponseWriter, r *http.Request) {
	if err := s.removeCard(w, r); err != nil {
		s.errorPage(w, r, err)
	}
}

// removeCard detaches the client's saved card in Stripe, records that at
// once (the webhook that follows changes nothing more) and turns autopay
// off: there is nothing left to charge.
func (s *Server) removeCard(w http.ResponseWriter, r *http.Request) error {
	c, err := s.billingClient(r)
	if err != nil {
		return err
	}
	if s.cfg.Checkout == nil {
		return Errorf(EUnavailable, "Saved cards are not available.")
	}
	ctx := r.Context()
	unlock := s.payLocks.lock(c.Client + "\x00card")
	defer unlock()
	b, err := s.store.Billing(ctx, c.Client)
	if err != nil {
		return err
	}
	card := b.SavedCard()
	if card == nil {
		http.Redirect(w, r, accountPath(c.Client), http.StatusSeeOther) // removed already (a double click)
		return nil
	}
	if err := s.cfg.Checkout.DetachCard(ctx, card.ID); err != nil {
		s.log.Error("removing a saved card", "client", c.Client, "err", err)
		return Errorf(EUnavailable, "The card could not be removed just now. Please try again in a minute.")
	}
	now := s.now()
	// Removed as of now, or of the card's own event if the clocks differ
	// (Stripe's is the one its events carry): never older than the card.
	at := now
	if at.Before(card.At) {
		at = card.At
	}
	if _, err := s.store.RecordWebhook(ctx, WebhookRecord{EventID: "remove:" + card.ID, Type: "card.remove", Received: now,
		Card: &CardChange{ClientID: c.Client, Card: events.Card{ID: card.ID, At: at}, Detached: true}}, nil); err != nil {
		return err
	}
	if b.Autopay {
		if _, err := s.store.SetAutopay(ctx, c.Client, false, now); err != nil {
			return err
		}
	}
	if err := s.rebuildWithin(ctx, c.Client); err != nil {
		s.log.Error("rebuilding after removing a card", "client", c.Client, "err", err)
	}
	http.Redirect(w, r, accountPath(c.Client), http.StatusSeeOther)
	return nil
}

func (s *Server) handleAutopay(w http.ResponseWriter, r *http.Request) {
	if err := s.setAutopay(w, r); err != nil {
		s.errorPage(w, r, err)
	}
}

// setAutopay records the client's choice: autopay=on (a card must be
// saved) or autopay=off. Setting it as it is changes nothing (a double
// click, or a form sent twice).
func (s *Server) setAutopay(w http.ResponseWriter, r *http.Request) error {
	c, err := s.billingClient(r)
	if err != nil {
		return err
	}
	if !s.parseForm(w, r) {
		return nil
	}
	var on bool
	switch r.PostForm.Get("autopay") {
	case "on":
		on = true
	case "off":
	default:
		return Errorf(EInvalid, "Choose whether to pay invoices automatically.")
	}
	ctx := r.Context()
	if on && !s.autopayOn() {
		return Errorf(EUnavailable, "Paying invoices automatically is not available.")
	}
	b, err := s.store.Billing(ctx, c.Client)
	if err != nil {
		return err
	}
	if on && b.SavedCard() == nil {
		return Errorf(EConflict, "Save a card first: tick \"Save this card for future invoices\" when you next pay an invoice.")
	}
	if b.Customer != "" {
		if _, err := s.store.SetAutopay(ctx, c.Client, on, s.now()); err != nil {
			return err
		}
		if err := s.rebuildWithin(ctx, c.Client); err != nil {
			s.log.Error("rebuilding after an autopay choice", "client", c.Client, "err", err)
		}
	}
	http.Redirect(w, r, accountPath(c.Client), http.StatusSeeOther)
	return nil
}

// cardRecord works out what a payment_method event does: the card of the
// client whose recorded customer it is attached to (or was detached from).
func (s *Server) cardRecord(ctx context.Context, ev WebhookEvent, rec WebhookRecord) WebhookRecord {
	pm := ev.Card
	if pm.Type != "card" || pm.Customer == "" || (ev.Type != EventCardAttached && ev.Type != EventCardDetached) {
		return rec // not a card saved on a customer: recorded, ignored
	}
	client, err := s.store.CustomerClient(ctx, pm.Customer)
	if err != nil || client == "" {
		return rec // another customer of the Stripe account
	}
	if pm.ID == "" {
		rec.Problem = "payment method without an id"
		return rec
	}
	rec.Card = &CardChange{ClientID: client, Detached: ev.Type == EventCardDetached,
		Card: events.Card{ID: pm.ID, Brand: pm.Brand, Last4: pm.Last4, ExpMonth: pm.ExpMonth, ExpYear: pm.ExpYear, At: ev.Created}}
	return rec
}

// intentRecord works out what a payment_intent event about a charge the
// edge made (metadata auto) does to its payment: succeeded → paid,
// processing → processing, payment_failed → failed, forward only. A charge
// not recorded yet (the edge stopped between asking Stripe and recording
// the answer) is recorded from the event, checked against the signed
// directory and the client's recorded customer.
func (s *Server) intentRecord(ctx context.Context, ev WebhookEvent, rec WebhookRecord) WebhookRecord {
	pi := ev.Intent
	md := pi.Metadata
	switch ev.Type {
	case EventIntentSucceeded:
		rec.To = events.PaymentPaid
	case EventIntentProcessing:
		rec.To = events.PaymentProcessing
	case EventIntentFailed:
		rec.To = events.PaymentFailed
	default:
		return rec
	}
	rec.PaymentID, rec.Method, rec.Reference = pi.ID, "card", pi.ID
	fail := func(format string, a ...any) WebhookRecord {
		rec.Problem, rec.To = fmt.Sprintf(format, a...), ""
		return rec
	}
	if pi.ID == "" {
		return fail("PaymentIntent without an id")
	}
	p, err := s.store.Payment(ctx, pi.ID)
	switch {
	case err == nil:
	case ErrorCode(err) != ENotFound:
		return fail("reading the payment: %v", err)
	default:
		b, err := s.store.Billing(ctx, md["client"])
		owner, doc, ok := s.build.Load().Document(md["document"])
		switch {
		case err != nil || b.Customer == "" || b.Customer != pi.Customer:
			return fail("customer %q is not the one recorded for client %q", pi.Customer, md["client"])
		case !ok || owner != md["client"] || doc.Kind != "invoice":
			return fail("no invoice %s of client %q", md["document"], md["client"])
		case pi.Amount <= 0 || pi.Amount > doc.Due:
			return fail("amount %d is not what invoice %s has due (%d)", pi.Amount, doc.Number, doc.Due)
		}
		p = PaymentRecord{ClientID: owner, Payment: events.Payment{ID: pi.ID, Kind: events.ForInvoice, Document: doc.Number,
			Amount: pi.Amount, Currency: doc.Currency, Email: s.billingEmail(owner), Created: rec.Received, Auto: true}}
		rec.NewPayment = &p
	}
	switch {
	case !p.Auto || md["client"] != p.ClientID || md["document"] != p.Document:
		return fail("metadata (client %q, document %q) does not match the charge recorded (client %q, document %q)", md["client"], md["document"], p.ClientID, p.Document)
	case pi.Amount != p.Amount:
		return fail("amount %d does not match the %d recorded", pi.Amount, p.Amount)
	case !strings.EqualFold(pi.Currency, p.Currency):
		return fail("currency %s does not match the %s recorded", pi.Currency, p.Currency)
	}
	return rec
}

// billingEmail is who hears about a client's automatic payments: its
// first contact.
func (s *Server) billingEmail(client string) string {
	if dc, ok := s.build.Load().Client(client); ok && len(dc.Contacts) > 0 {
		return dc.Contacts[0].Email
	}
	return ""
}

// AutopayRun is what one autopay run did.
type AutopayRun struct {
	Charged []PaymentRecord // the charges made (or found made), as recorded
	Errors  []error         // charges that could not be asked or recorded
}

// Autopay charges, for every client with autopay on and a saved card, each
// invoice whose due date has come (in the site's time zone) and that fell
// due while autopay was on, unless a charge of the amount due was made for
// it already: the daily rebuild runs it, and so does the edge at start (an
// edge that was down on a due date charges the day it comes back).
func (s *Server) Autopay(ctx context.Context) AutopayRun {
	var run AutopayRun
	if !s.autopayOn() {
		return run
	}
	bs, err := s.store.AutopayClients(ctx)
	if err != nil {
		run.Errors = append(run.Errors, fmt.Errorf("reading who pays automatically: %w", err))
		return run
	}
	b := s.build.Load()
	today := s.today()
	for _, bill := range bs {
		dc, ok := b.Client(bill.ClientID)
		if !ok || bill.SavedCard() == nil {
			continue
		}
		since := s.day(bill.AutopaySince)
		for _, doc := range dc.Documents {
			if doc.Kind != "invoice" || doc.DueDate == "" || doc.DueDate > today || doc.DueDate < since || doc.State == "paid" || doc.Due <= 0 {
				continue
			}
			p, err := s.chargeInvoice(ctx, bill, doc, false)
			switch {
			case errors.Is(err, errCharged):
			case err != nil:
				run.Errors = append(run.Errors, fmt.Errorf("client %s, invoice %s: %w", bill.ClientID, doc.Number, err))
			default:
				run.Charged = append(run.Charged, p)
			}
		}
	}
	for _, err := range run.Errors {
		s.log.Error("AUTOPAY: an invoice due today was not charged; the next run tries again", "err", err)
	}
	return run
}

// ChargeInvoice charges a client's saved card for what its invoice has
// due now (hub charge): only for a client who opted in to autopay. A
// charge of that amount that failed before is tried again (a new
// idempotency key); one that is paid or processing is a conflict.
func (s *Server) ChargeInvoice(ctx context.Context, number string) (PaymentRecord, error) {
	owner, doc, ok := s.build.Load().Document(number)
	if !ok || doc.Kind != "invoice" {
		return PaymentRecord{}, Errorf(ENotFound, "There is no invoice %s in the built site (is it a draft, or not built yet?).", number)
	}
	if !s.autopayOn() {
		return PaymentRecord{}, Errorf(EUnavailable, "Autopay is off: site.yaml's settings (online_payments, save_cards, autopay) or no Stripe keys.")
	}
	b, err := s.store.Billing(ctx, owner)
	switch {
	case err != nil:
		return PaymentRecord{}, err
	case !b.Autopay:
		return PaymentRecord{}, Errorf(EForbidden, "Client %s has not opted in to paying invoices automatically, so its card is not charged; send it the invoice to pay.", owner)
	case b.SavedCard() == nil:
		return PaymentRecord{}, Errorf(EConflict, "Client %s has no saved card.", owner)
	case doc.State == "paid" || doc.Due <= 0:
		return PaymentRecord{}, Errorf(EConflict, "Invoice %s has nothing due.", number)
	}
	p, err := s.chargeInvoice(ctx, b, doc, true)
	if errors.Is(err, errCharged) {
		return p, Errorf(EConflict, "Invoice %s: a charge of %s is %s already.", number, s.money(p.Amount), p.State)
	}
	return p, err
}

// errCharged: the invoice's amount due was charged already (or is being).
var errCharged = errors.New("charged already")

// chargeInvoice charges the saved card for doc's amount due now and
// records the outcome. retry (hub charge) tries again an amount whose
// charge failed; the daily run does not (the client was emailed to pay by
// hand).
func (s *Server) chargeInvoice(ctx context.Context, b BillingRecord, doc bundle.DirDocument, retry bool) (PaymentRecord, error) {
	unlock := s.payLocks.lock(b.ClientID + "\x00" + doc.Number)
	defer unlock()
	due, err := s.dueNow(ctx, b.ClientID, doc)
	if err != nil {
		return PaymentRecord{}, err
	}
	if due <= 0 {
		return PaymentRecord{}, errCharged
	}
	prior, err := s.store.AutoPayments(ctx, b.ClientID, doc.Number)
	if err != nil {
		return PaymentRecord{}, err
	}
	tries := 0
	for _, p := range prior {
		if p.Amount != due {
			continue
		}
		if p.State != events.PaymentFailed || !retry {
			return p, errCharged
		}
		tries++
	}
	// The same charge asked twice (two edges, hub charge while the daily
	// run charges, a retry after a crash) is one PaymentIntent at Stripe.
	key := fmt.Sprintf("%s\x00autopay\x00%s\x00%d", b.ClientID, doc.Number, due)
	if tries > 0 {
		key += fmt.Sprintf("\x00retry %d", tries)
	}
	h := sha256.Sum256([]byte(key))
	ikey := "hub-autopay-" + hex.EncodeToString(h[:16])
	card := b.SavedCard()
	email := s.billingEmail(b.ClientID)
	res, err := s.cfg.Checkout.Charge(ctx, ChargeRequest{ClientID: b.ClientID, Document: doc.Number, Email: email,
		Description: fmt.Sprintf("Invoice %s — %s", doc.Number, doc.Title), Customer: b.Customer, PaymentMethod: card.ID,
		Amount: due, Currency: doc.Currency, IdempotencyKey: ikey})
	if err != nil {
		return PaymentRecord{}, err
	}
	id := res.ID
	if id == "" { // declined before Stripe made a PaymentIntent
		id = "pi_none_" + hex.EncodeToString(h[:12])
	}
	to := events.PaymentFailed
	switch res.Status {
	case ChargeSucceeded:
		to = events.PaymentPaid
	case ChargeProcessing:
		to = events.PaymentProcessing
	}
	now := s.now()
	p := PaymentRecord{ClientID: b.ClientID, Payment: events.Payment{ID: id, Kind: events.ForInvoice, Document: doc.Number,
		Amount: due, Currency: doc.Currency, Email: email, Created: now, Auto: true}}
	out, err := s.store.RecordWebhook(ctx, WebhookRecord{EventID: "charge:" + id + ":" + res.Status, Type: "autopay.charge", Received: now,
		PaymentID: id, To: to, Method: "card", Reference: id, NewPayment: &p}, func(p PaymentRecord) ([]Message, error) {
		if p.Auto && p.State == events.PaymentFailed {
			return s.autopayFailedMails(p, res.Status) // the emails say why
		}
		return s.paymentMails(p)
	})
	if err != nil {
		return PaymentRecord{}, fmt.Errorf("recording the charge %s (%s): %w", id, res.Status, err)
	}
	if res.Status != ChargeSucceeded {
		s.log.Warn("autopay charge did not go through; the client is emailed a link to pay by hand", "client", b.ClientID, "invoice", doc.Number, "status", res.Status, "reason", res.Reason)
	}
	if out.Changed {
		s.rebuildSoon()
		s.outbox.poke()
	}
	if out.Payment.ID == "" {
		out.Payment = p
	}
	return out.Payment, nil
}

// today is the date now in the site's time zone (YYYY-MM-DD).
func (s *Server) today() string { return s.day(s.now()) }

// day is t's date in the site's time zone ("" for a zero t).
func (s *Server) day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if loc, err := time.LoadLocation(s.build.Load().Directory.Site.TimeZone); err == nil {
		t = t.In(loc)
	}
	return t.Format(time.DateOnly)
}

// autopayFailedMails tell the client that the saved card was not charged
// (with a link to pay by hand) and the business that it was not; outcome
// (a Charge* status, "" when a later event said it) says why.
func (s *Server) autopayFailedMails(p PaymentRecord, outcome string) ([]Message, error) {
	site := s.build.Load().Directory.Site
	amount := s.money(p.Amount)
	path := "/c/" + p.ClientID + "/"
	if _, doc, ok := s.build.Load().Document(p.Document); ok {
		path += doc.Path
	}
	rows := [][2]string{{"Amount", amount}, {"For", "invoice " + p.Document}, {"Reference", p.Reference}}
	name := s.clientName(p.ClientID, p.Email)
	why := "your bank declined it, or asked you to confirm the payment yourself"
	switch outcome {
	case ChargeRequiresAction:
		why = "your bank asks you to confirm payments like this one yourself"
	case ChargeDeclined:
		why = "your card was declined"
	}
	return s.mails(Notice{To: Address{Email: p.Email}, Subject: fmt.Sprintf("Action needed: %s for invoice %s was not charged", amount, p.Document),
		Intro: fmt.Sprintf("We tried to charge your saved card %s for invoice %s on its due date, and it did not go through: %s. Nothing was charged. Please pay the invoice by hand.", amount, p.Document, why),
		Rows:  rows, Path: path, Button: "Pay invoice " + p.Document},
		Notice{To: Address{Name: site.Name, Email: site.Email}, Subject: fmt.Sprintf("Autopay failed: %s from %s (%s)", amount, name, p.Document),
			Intro: fmt.Sprintf("The automatic charge of %s to %s's saved card for invoice %s did not go through. They have been emailed a link to pay it by hand.", amount, name, p.Document), Rows: append(rows, [2]string{"Contact", p.Email})})
}
