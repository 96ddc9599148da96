package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
	"github.com/hubhq/hub/generator/site"
	"gopkg.in/yaml.v3"
)

// formatMoney writes minor units in the site's currency and locale.
func formatMoney(site bundle.DirSite, amount int64, currency string) string {
	return money.FormatIn(money.Amount(amount), currency, site.Locale)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// cmdPayments lists online payments and the webhook events that were
// refused or did not match a payment.
func cmdPayments(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "simulate" {
		return cmdPaymentsSimulate(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("payments", stderr)
	ef := addEdgeFlags(fs, nil)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: hub payments [flags]\n       hub payments simulate SESSION-ID paid|processing|failed   (hub serve's test checkout; -h for more)\n\nflags:\n")
		fs.PrintDefaults()
	}
	limit := fs.Int("n", 50, "how many payments to list, newest first")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	e, err := ef.open("", io.Discard, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	ps, err := e.store.Payments(ctx, *limit)
	if err != nil {
		return err
	}
	site := e.build.Directory.Site
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tCLIENT\tFOR\tAMOUNT\tSTATE\tSETTLED\tMETHOD\tSESSION\tPAYMENT INTENT")
	for _, p := range ps {
		what := p.Document
		switch p.Kind {
		case events.ForDeposit:
			what = "deposit " + p.Document
		case events.ForSubscription:
			what = "subscription " + p.Document
			if !p.Period.IsZero() {
				what += " from " + p.Period.Format(time.DateOnly)
			}
		}
		if p.Auto {
			what += " (autopay)" // charged to the saved card: its id is the PaymentIntent's
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", when(p.Created), p.ClientID, what, formatMoney(site, p.Amount, p.Currency),
			p.State, when(p.Settled), dash(p.Method), p.ID, dash(p.Reference))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(stdout, "No online payments yet.")
	}
	probs, err := e.store.WebhookProblems(ctx, *limit)
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		fmt.Fprintf(stdout, "\n%d Stripe event(s) refused or not matching a payment:\n", len(probs))
		tw = tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RECEIVED\tEVENT\tTYPE\tSESSION\tPROBLEM")
		for _, w := range probs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", when(w.Received), w.EventID, w.Type, dash(w.PaymentID), w.Problem)
		}
		return tw.Flush()
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cmdMail lists the outbox: emails queued (waiting, or retrying after a
// failure), sent and failed (given up after every attempt).
func cmdMail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("mail", stderr)
	ef := addEdgeFlags(fs, nil)
	status := fs.String("status", "", "only emails with this status: queued, sent, failed")
	limit := fs.Int("n", 50, "how many to list, newest first")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	switch *status {
	case "", edge.MailQueued, edge.MailSent, edge.MailFailed:
	default:
		return fmt.Errorf("-status %s: use queued, sent or failed", *status)
	}
	st, err := openStore(*ef.state)
	if err != nil {
		return err
	}
	defer st.Close()
	counts, err := st.MailCounts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d queued, %d sent, %d failed\n", counts[edge.MailQueued], counts[edge.MailSent], counts[edge.MailFailed])
	ms, err := st.Mails(ctx, *status, *limit)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUED\tSTATUS\tATTEMPTS\tNEXT/DONE\tTO\tSUBJECT\tMESSAGE-ID\tLAST ERROR")
	for _, m := range ms {
		at := when(m.Done)
		if m.Status == edge.MailQueued {
			at = "next " + when(m.Next)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", when(m.Created), m.Status, m.Attempts, at, m.Recipients, m.Subject, m.ID, dash(truncateText(m.Error, 80)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if counts[edge.MailFailed] > 0 {
		fmt.Fprintln(stdout, "\nFailed emails were not delivered: check the SMTP settings (HUB_SMTP_URL) and tell the recipients yourself.")
	}
	return nil
}

// cmdRebuilds lists the clients whose pages are behind their facts: a
// payment, approval or request recorded, its rebuild waiting, running on
// an edge, or failing (with the error).
func cmdRebuilds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rebuilds", stderr)
	ef := addEdgeFlags(fs, nil)
	st, err := listingStore(fs, ef, args)
	if err != nil {
		return err
	}
	defer st.Close()
	jobs, err := st.Rebuilds(ctx)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		fmt.Fprintln(stdout, "no rebuilds waiting: every client's pages show its recorded facts")
		return nil
	}
	failing := 0
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT	SINCE	STATE	ATTEMPTS	NEXT	LAST ERROR")
	now := time.Now()
	for _, j := range jobs {
		state := "waiting"
		switch {
		case j.Owner != "" && j.Lease.After(now):
			state = "rebuilding on " + j.Owner
		case j.Attempts > 0:
			state, failing = "failing", failing+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", j.Client, when(j.Since), state, j.Attempts, when(j.Due), dash(truncateText(j.Problem, 80)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failing > 0 {
		fmt.Fprintf(stdout, "\n%d client(s) failing to rebuild: their pages do not show their latest payments, approvals or requests yet. Fix the error (often the content: see hub check); the edge tries again at the time shown.\n", failing)
	}
	return nil
}

// truncateText cuts s to at most n runes.
func truncateText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// cmdRequests lists work requests, or imports one into the content.
func cmdRequests(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "import" {
		return cmdRequestsImport(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("requests", stderr)
	ef := addEdgeFlags(fs, nil)
	status := fs.String("status", "", "only requests with this status: new, imported")
	limit := fs.Int("n", 100, "how many to list, newest first")
	st, err := listingStore(fs, ef, args)
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := st.Requests(ctx, *status, *limit)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		fmt.Fprintln(stdout, "No work requests.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSENT\tCLIENT\tSTATUS\tFROM\tPHOTOS\tWHAT")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, when(r.At), r.ClientID, r.Status, r.Email, len(r.Photos), r.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nTurn one into content (a YAML file in the client's folder, ready for a quote): hub requests import ID")
	return nil
}

// importedRequest is a request as written into the content.
type importedRequest struct {
	ID       string   `yaml:"id"`
	Title    string   `yaml:"title"`
	Details  string   `yaml:"details,omitempty"`
	Sent     string   `yaml:"sent"`
	From     string   `yaml:"from"`
	Name     string   `yaml:"name,omitempty"`
	Phone    string   `yaml:"phone,omitempty"`
	Dates    []string `yaml:"preferred_dates,omitempty"`
	Time     string   `yaml:"preferred_time,omitempty"`
	Property string   `yaml:"property,omitempty"`
	Photos   []string `yaml:"photos,omitempty"`
}

func cmdRequestsImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("requests import", stderr)
	ef := addEdgeFlags(fs, nil)
	content := fs.String("content", "content", "content folder")
	pos, err := parseArgs(fs, args, 1, "REQUEST-ID")
	if err != nil {
		return err
	}
	st, err := openStore(*ef.state)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := st.Request(ctx, strings.ToUpper(pos[0]))
	if err != nil {
		return errors.New(edge.ErrorMessage(err))
	}
	clientDir := filepath.Join(*content, "clients", r.ClientID)
	if _, err := os.Stat(filepath.Join(clientDir, "client.yaml")); err != nil {
		if err := writePendingClient(ctx, st, r.ClientID, clientDir, stdout); err != nil {
			return err
		}
	}
	dir := filepath.Join(clientDir, "requests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	file := filepath.Join(dir, r.ID+".yaml")
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("%s exists already: request %s was imported before", file, r.ID)
	}
	ir := importedRequest{ID: r.ID, Title: r.Title, Details: r.Details, Sent: r.At.Format(time.RFC3339), From: r.Email, Name: r.Name, Phone: r.Phone,
		Dates: r.Dates, Time: r.Time, Property: r.Property}
	for _, ph := range r.Photos {
		b, err := os.ReadFile(ph.Path)
		if err != nil {
			return fmt.Errorf("photo %s of request %s: %w (run the import where the edge keeps its state)", ph.Name, r.ID, err)
		}
		rel := filepath.Join(r.ID, filepath.Base(ph.Path))
		if err := os.MkdirAll(filepath.Join(dir, r.ID), 0o755); err != nil {
			return err
		}
		if err := bundle.WriteFileAtomic(filepath.Join(dir, rel), b, 0o644); err != nil {
			return err
		}
		ir.Photos = append(ir.Photos, filepath.ToSlash(rel))
	}
	body, err := yaml.Marshal(ir)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Work request %s, sent through the client hub and imported by hub requests import.\n", r.ID)
	b.Write(body)
	fmt.Fprintf(&b, `
# To quote it, copy this into quotes/ as a new file and fill it in:
#
# number: Q-XXXX
# title: %s
# status: draft              # awaiting_response once it is ready for the client
# issued: %s
# request: %s             # links the quote to this request: the client sees "Quoted"
# lines:
#   - name: ...
#     quantity: 1
#     unit_price: "0.00"
`, r.Title, time.Now().Format(time.DateOnly), r.ID)
	if err := bundle.WriteFileAtomic(file, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := st.SetRequestStatus(ctx, r.ID, events.RequestImported); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\nrequest %s is now \"in review\" for the client (after the next build)\n", file, r.ID)
	return nil
}

// listingStore parses a staff listing's flags (no arguments) and opens the
// state store, which must exist.
func listingStore(fs *flag.FlagSet, ef edgeFlags, args []string) (stateStore, error) {
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return nil, err
	}
	return openStore(*ef.state)
}

// openStore opens the state store, which must exist (an edge has run).
func openStore(state string) (stateStore, error) {
	st, err := openState(context.Background(), state, true)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("no state database in %s: run this where the edge keeps its state (-state or HUB_STATE)", state)
	}
	return st, nil
}

// pendingClientFile is the client.yaml written for a person who asked for
// work through the public form.
type pendingClientFile struct {
	Name     string `yaml:"name"`
	Contacts []struct {
		Name  string `yaml:"name"`
		Email string `yaml:"email"`
		Phone string `yaml:"phone,omitempty"`
	} `yaml:"contacts"`
	Properties []pendingAddress `yaml:"properties,omitempty"`
}

type pendingAddress struct {
	Street     string `yaml:"street"`
	City       string `yaml:"city,omitempty"`
	Region     string `yaml:"region,omitempty"`
	PostalCode string `yaml:"postal_code,omitempty"`
}

// writePendingClient makes the client folder of a pending client (same ID,
// so its hub, requests and sign-ins carry on).
func writePendingClient(ctx context.Context, st stateStore, id, dir string, stdout io.Writer) error {
	pcs, err := st.Pending(ctx)
	if err != nil {
		return err
	}
	for _, pc := range pcs {
		if pc.ID != id {
			continue
		}
		var f pendingClientFile
		f.Name = pc.Name
		f.Contacts = append(f.Contacts, struct {
			Name  string `yaml:"name"`
			Email string `yaml:"email"`
			Phone string `yaml:"phone,omitempty"`
		}{pc.Name, pc.Email, pc.Phone})
		note := ""
		if a, ok := events.SplitAddress(pc.Address); ok {
			f.Properties = append(f.Properties, pendingAddress{a.Street, a.City, a.Region, a.PostalCode})
		} else if pc.Address != "" {
			f.Properties = append(f.Properties, pendingAddress{Street: pc.Address})
			note = "# Check the property: split it into street, city, region and postal_code.\n"
		}
		body, err := yaml.Marshal(f)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		text := "# A new client, from the public request form (hub requests import).\n" + note + string(body)
		if err := bundle.WriteFileAtomic(filepath.Join(dir, "client.yaml"), []byte(text), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (a new client from the public request form)\n", filepath.Join(dir, "client.yaml"))
		return nil
	}
	return fmt.Errorf("client %s has no folder %s: create it (client.yaml) and run the import again", id, dir)
}

// cmdRevoke signs sessions out on the server: every contact of a client
// (the client's epoch), or one contact on every device, in every client
// they belong to (the contact's epoch). A running edge applies it within a
// second.
func cmdRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("revoke", stderr)
	ef := addEdgeFlags(fs, nil)
	pos, err := parseArgs(fs, args, 1, "CLIENT-ID or EMAIL")
	if err != nil {
		return err
	}
	_, b, err := ef.loadBuild(slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	st, err := openStore(*ef.state)
	if err != nil {
		return err
	}
	defer st.Close()
	who := pos[0]
	if strings.Contains(who, "@") {
		ids, err := edge.ClientsOfContact(ctx, b, st, who)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("%s is not a contact of any client in the current build and never signed in", who)
		}
		rs, err := edge.RevokeContact(ctx, st, who, ids)
		if err != nil {
			return err
		}
		for _, r := range rs {
			fmt.Fprintf(stdout, "signed %s out of every device in the hub of %s (contact epoch %d)\n", r.Email, r.Client, r.Epoch)
		}
	} else {
		c, ok := b.Client(who)
		if !ok {
			return fmt.Errorf("no client %q in the current build", who)
		}
		e, err := st.BumpEpoch(ctx, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "signed every contact of %s (%d) out of every device (client epoch %d)\n", c.ID, len(c.Contacts), e)
	}
	fmt.Fprintln(stdout, "A running edge applies it within a second; signing in again with a new link works as before.")
	return nil
}

// cmdSubscriptions lists every client's subscriptions from the content:
// status as clients see it, amount per period, the next charge.
func cmdSubscriptions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("subscriptions", stderr)
	content := fs.String("content", "content", "content folder")
	all := fs.Bool("all", false, "list drafts, cancelled and ended subscriptions too")
	state := fs.String("state", os.Getenv("HUB_STATE"), stateUsage+"; with it, each subscription's billing online, last payment and failed payments")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	s, ps := site.Load(*content, time.Now())
	if len(ps) > 0 {
		printProblems(stderr, ps)
		return ps
	}
	var st stateStore
	if *state != "" {
		var err error
		if st, err = openState(ctx, *state, true); err != nil {
			return err
		}
		if st != nil {
			defer st.Close()
		}
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	head := "CLIENT\tNUMBER\tTITLE\tSTATUS\tEACH\tEVERY\tNEXT CHARGE\tENDS"
	if *state != "" {
		head += "\tONLINE\tLAST PAYMENT\tFAILED"
	}
	fmt.Fprintln(tw, head)
	n, hidden := 0, 0
	for _, c := range s.Clients {
		var facts *events.Facts
		if st != nil && len(c.Subs) > 0 {
			var err error
			if facts, err = st.Facts(ctx, c.ID); err != nil {
				return err
			}
		}
		for _, sub := range c.Subs {
			if !*all && sub.State != site.SubscriptionActive && sub.State != site.SubscriptionPaused {
				hidden++
				continue
			}
			n++
			next, ends := "-", "when cancelled"
			if !sub.Next.IsZero() {
				next = sub.Next.Format(time.DateOnly)
			}
			if last := sub.LastPeriod(); last >= 0 {
				ends = fmt.Sprintf("after %d, on %s", last+1, sub.PeriodStart(last).Format(time.DateOnly))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", c.ID, sub.Number, truncateText(sub.Title, 40), sub.State,
				s.Config.Locale.Format(sub.Totals.Total, s.Config.Currency), sub.Cadence(), next, ends)
			if *state != "" {
				fmt.Fprintf(tw, "\t%s", subscriptionBilling(facts, sub.Number, &s.Config))
			}
			fmt.Fprintln(tw)
		}
	}
	if n == 0 {
		fmt.Fprintf(stdout, "no active or paused subscriptions in %s", *content)
		if hidden > 0 {
			fmt.Fprintf(stdout, " (%d others: hub subscriptions -all)", hidden)
		}
		fmt.Fprintln(stdout)
		return nil
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if hidden > 0 {
		fmt.Fprintf(stdout, "\n%d draft, cancelled or ended not listed: hub subscriptions -all\n", hidden)
	}
	return nil
}

// cmdActivity lists who opened which document, and when: the views the
// edges recorded, per client and contact.
func cmdActivity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("activity", stderr)
	ef := addEdgeFlags(fs, nil)
	rest, err := parseArgs(fs, args, -1, "[CLIENT-ID]")
	if err != nil {
		return err
	}
	client := ""
	if len(rest) > 1 {
		return fmt.Errorf("hub activity takes at most one client ID, not %q", strings.Join(rest, " "))
	} else if len(rest) == 1 {
		client = rest[0]
	}
	st, err := openStore(*ef.state)
	if err != nil {
		return err
	}
	defer st.Close()
	vs, err := st.Views(ctx, client)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		fmt.Fprintf(stdout, "no document views recorded%s\n", map[bool]string{true: " for " + client, false: ""}[client != ""])
	} else {
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT\tCONTACT\tDOCUMENT\tFIRST VIEWED\tLAST VIEWED\tVIEWS")
		for _, v := range vs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", v.Client, v.Email, v.Doc, when(v.First), when(v.Last), v.Count)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return documentHistories(ef, client, stdout, stderr)
}

// documentHistories prints each document's history as its client sees it
// in the current build (sent, viewed, approved, paid); nothing when there
// is no build to read (hub activity then lists the views only).
func documentHistories(ef edgeFlags, client string, stdout, stderr io.Writer) error {
	_, b, err := ef.loadBuild(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		fmt.Fprintf(stderr, "hub activity: no document histories (%v)\n", err)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	n := 0
	for _, c := range b.Clients() {
		if client != "" && c.ID != client {
			continue
		}
		for _, d := range c.Documents {
			if d.History == "" {
				continue
			}
			if n == 0 {
				fmt.Fprintln(tw, "\nCLIENT\tDOCUMENT\tHISTORY (as the client's page shows it)")
			}
			n++
			fmt.Fprintf(tw, "%s\t%s %s\t%s\n", c.ID, d.Kind, d.Number, d.History)
		}
	}
	return tw.Flush()
}

// subscriptionBilling is what the store recorded of a subscription online,
// as hub subscriptions' last columns: its state, the last paid period's
// payment and the failed ones.
func subscriptionBilling(f *events.Facts, number string, cfg *site.Config) string {
	online, last, failed := "not started", "-", 0
	if f == nil {
		return online + "\t" + last + "\t0"
	}
	for _, b := range f.Subscriptions {
		if strings.EqualFold(b.Number, number) {
			online = strings.ReplaceAll(b.State, "_", " ") + " online"
		}
	}
	for _, p := range f.Payments {
		if p.Kind != events.ForSubscription || !strings.EqualFold(p.Document, number) {
			continue
		}
		switch p.State {
		case events.PaymentPaid:
			last = fmt.Sprintf("%s %s", p.Settled.Format(time.DateOnly), cfg.Locale.Format(money.Amount(p.Amount), cfg.Currency))
		case events.PaymentFailed:
			failed++
		}
	}
	return fmt.Sprintf("%s\t%s\t%d", online, last, failed)
}
