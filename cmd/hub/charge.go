package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
	"github.com/hubhq/hub/generator/money"
)

// cmdCharge charges a client's saved card for what an invoice has due now,
// as autopay does on the due date: only for a client who opted in.
func cmdCharge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("charge", stderr)
	ef := addEdgeFlags(fs, nil)
	ef.addMailFlags(fs)
	fs.StringVar(ef.stripeAPI, "stripe-api", *ef.stripeAPI, "Stripe API address, e.g. a local stripe-mock (env HUB_STRIPE_API_URL; default Stripe's)")
	pos, err := parseArgs(fs, args, 1, "INVOICE")
	if err != nil {
		return err
	}
	e, err := ef.open("", stdout, stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	cfg, err := ef.config(e)
	if err != nil {
		return err
	}
	if cfg.Checkout == nil {
		return errors.New("hub charge charges through Stripe: set HUB_STRIPE_SECRET_KEY and HUB_STRIPE_WEBHOOK_SECRET (hub serve's test checkout charges by itself: autopay runs when it starts)")
	}
	srv, err := edge.New(ctx, cfg, e.store, e.mail)
	if err != nil {
		return err
	}
	p, err := srv.ChargeInvoice(ctx, pos[0])
	if err != nil {
		return errors.New(edge.ErrorMessage(err))
	}
	site := srv.Build().Directory.Site
	amount := money.FormatIn(money.Amount(p.Amount), p.Currency, site.Locale)
	switch p.State {
	case events.PaymentPaid:
		fmt.Fprintf(stdout, "charged %s to %s's saved card for invoice %s: paid (%s)\n", amount, p.ClientID, p.Document, p.ID)
	case events.PaymentProcessing:
		fmt.Fprintf(stdout, "charged %s to %s's saved card for invoice %s: processing (%s); Stripe's webhook says when it settles\n", amount, p.ClientID, p.Document, p.ID)
	default:
		fmt.Fprintf(stdout, "the charge of %s to %s's saved card for invoice %s did not go through (%s, %s): the client is emailed a link to pay by hand\n", amount, p.ClientID, p.Document, p.State, p.ID)
	}
	fmt.Fprintln(stdout, "The emails about it are queued: a running edge sends them once it has rebuilt the client's pages (hub mail lists them).")
	return nil
}
