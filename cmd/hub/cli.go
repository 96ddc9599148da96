package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hubhq/hub/generator/site"
)

const usage = `hub: a client portal built from content in git

Usage:
  hub check  [-content DIR]                 validate the content; print every problem
  hub build  [-content DIR] [-out DIR]      build the per-client signed bundles
  hub verify [-out DIR]                     check every bundle against its signed manifest
  hub verify -from s3://BUCKET/PREFIX       check what is published against the signed manifests
  hub publish -to s3://BUCKET/PREFIX        upload a build to object storage (only what is not there yet)
  hub keys   [-keys DIR]                    make a new signing key (and keep the old one for verification)
  hub serve  [-content DIR] [-addr ADDR]    build, then run the edge locally (outbox mail, nothing external)
  hub edge   [-site DIR] [-addr ADDR]       serve a built site: logins, sessions, bundles
  hub link CLIENT-ID|EMAIL [-print]         email (or print) a login link
  hub delegate CLIENT-ID -staff NAME        print a one-time, read-only link into a client's hub
  hub send quote|invoice NUMBER             email the client's contacts a link to the document
  hub clients                               list contacts: invited, joined, last login
  hub revoke CLIENT-ID|EMAIL                sign out every contact of a client, or one contact on every device
  hub payments                              list online payments, and Stripe events that were refused
  hub payments simulate SESSION-ID paid|processing|failed
                                            settle a payment of hub serve's test checkout (no Stripe keys)
  hub mail [-status queued|sent|failed]     list the emails in the outbox, with counts
  hub requests [-status new]                list work requests
  hub messages [-client ID]                 list message threads: the latest message, answered or not
  hub reply CLIENT THREAD -m TEXT           answer a thread as the business (-attach FILE, up to 4); the client is emailed a link to it
  hub subscriptions [-all] [-state S]       list subscriptions: status, amount, next charge (-state: online billing, payments)
  hub charge INVOICE                        charge the saved card of a client who opted in to autopay for what the invoice has due
  hub activity [CLIENT-ID]                  who opened which document, first and last, how often; each document's history
  hub rebuilds                              list clients waiting for a rebuild after a fact, and failed rebuilds
  hub requests import REQUEST-ID            write a request into its client's folder, ready for a quote
  hub uploads [-client ID]                  list files clients added to portals
  hub uploads import CLIENT UPLOAD-ID       copy one into the portal's documents folder, ready to commit

Run "hub COMMAND -h" for a command's flags.
`

// plural is word for n of them: "subscription", "subscriptions".
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// errUsage means the command line was wrong; the message was already printed.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"check":         cmdCheck,
		"build":         cmdBuild,
		"verify":        cmdVerify,
		"publish":       cmdPublish,
		"keys":          cmdKeys,
		"serve":         cmdServe,
		"edge":          cmdEdge,
		"link":          cmdLink,
		"delegate":      cmdDelegate,
		"send":          cmdSend,
		"clients":       cmdClients,
		"payments":      cmdPayments,
		"mail":          cmdMail,
		"requests":      cmdRequests,
		"uploads":       cmdUploads,
		"messages":      cmdMessages,
		"reply":         cmdReply,
		"rebuilds":      cmdRebuilds,
		"activity":      cmdActivity,
		"subscriptions": cmdSubscriptions,
		"charge":        cmdCharge,
		"revoke":        cmdRevoke,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "hub: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		var ps site.Problems
		if !errors.As(err, &ps) {
			fmt.Fprintf(stderr, "hub %s: %v\n", args[0], err)
		}
		return 1
	}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hub "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = nil // the flag package's, unless the command (or parseArgs) sets one
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// printProblems writes every problem, then a count.
func printProblems(w io.Writer, ps site.Problems) {
	for _, p := range ps {
		fmt.Fprintln(w, p)
	}
	s := "s"
	if len(ps) == 1 {
		s = ""
	}
	fmt.Fprintf(w, "%d problem%s found\n", len(ps), s)
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	content := fs.String("content", "content", "content folder")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, ps := site.Load(*content, time.Now())
	if len(ps) > 0 {
		printProblems(stderr, ps)
		return ps
	}
	quotes, invoices, subs := 0, 0, 0
	for _, c := range s.Clients {
		quotes += len(c.Quotes)
		invoices += len(c.Invoices)
		subs += len(c.Subs)
	}
	fmt.Fprintf(stdout, "%s: ok (%d clients, %d quotes, %d invoices, %d %s, %d shared portals)\n", *content, len(s.Clients), quotes, invoices, subs, plural(subs, "subscription"), len(s.Shared))
	return nil
}
