package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

// Bench measures a store with 4 callers per CPU (requests on several
// edges): Stripe events recorded per second (each op makes a payment,
// then records the event that moves it to paid and queues its receipt),
// batches of counted views written per second (RecordViews, off the
// serving path), and login links made and spent per second (CreateToken +
// ConsumeToken).
func Bench(b *testing.B, open func(b *testing.B) Store) {
	ctx := context.Background()
	receipt := func(p edge.PaymentRecord) ([]edge.Message, error) {
		return []edge.Message{{ID: "r-" + p.ID + "@hub.example", Subject: "Receipt"}}, nil
	}
	benchParallel(b, "RecordWebhook", "events/s", open, func(s Store, id string, i int) error {
		p := payment("cs_"+id, fmt.Sprintf("c%d", i%50), "INV-1", 100)
		if err := s.CreatePayment(ctx, p); err != nil {
			return err
		}
		_, err := s.RecordWebhook(ctx, edge.WebhookRecord{EventID: "evt_" + p.ID, Type: "checkout.session.completed",
			Received: T0, PaymentID: p.ID, To: events.PaymentPaid}, receipt)
		return err
	})
	// A flush of counted views: 50 views of 10 clients' documents, most of
	// them already viewed (no fact), a new document every few batches (a
	// first view: an event and a queued rebuild).
	benchParallel(b, "RecordViews50", "batches/s", open, func(s Store, id string, i int) error {
		vs := make([]edge.View, 0, 50)
		for j := range 50 {
			doc := fmt.Sprintf("Q-%d", j%5+i/8*5)
			vs = append(vs, edge.View{Client: fmt.Sprintf("c%d", j%10), Email: "ada@acme.example", Doc: "quotes/" + doc + "/",
				Document: "quote/" + doc, First: T0, Last: T0, Count: 1})
		}
		return s.RecordViews(ctx, vs)
	})
	benchParallel(b, "CreateConsumeToken", "logins/s", open, func(s Store, id string, _ int) error {
		tok := LoginToken(id, "ada@acme.example", "acme", T0)
		if err := s.CreateToken(ctx, tok); err != nil {
			return err
		}
		_, err := s.ConsumeToken(ctx, tok.Hash, T0)
		return err
	})
}

var benchSeq atomic.Int64

// benchParallel runs op from parallel callers on a new store, each call
// with an id of its own, and reports the calls per second as unit.
func benchParallel(b *testing.B, name, unit string, open func(b *testing.B) Store, op func(s Store, id string, i int) error) {
	b.Run(name, func(b *testing.B) {
		s := open(b)
		defer s.Close()
		b.SetParallelism(4)
		b.ResetTimer() // not the opening (and migrating) of the store
		b.RunParallel(func(pb *testing.PB) {
			caller := benchSeq.Add(1)
			for i := 0; pb.Next(); i++ {
				if err := op(s, fmt.Sprintf("%d-%d", caller, i), i); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	})
}
