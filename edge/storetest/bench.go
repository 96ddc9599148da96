package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

var benchSeq atomic.Int64

// Bench measures a store with 4 callers per CPU (requests on several
// edges): Stripe events recorded per second (each op makes a payment,
// then records the event that moves it to paid and queues its receipt),
// and login links made and spent per second (CreateToken + ConsumeToken).
func Bench(b *testing.B, open func(b *testing.B) Store) {
	ctx := context.Background()
	b.Run("RecordWebhook", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			id := benchSeq.Add(1)
			for i := 0; pb.Next(); i++ {
				p := payment(fmt.Sprintf("cs_%d_%d", id, i), fmt.Sprintf("c%d", i%50), "INV-1", 100)
				if err := s.CreatePayment(ctx, p); err != nil {
					b.Fatal(err)
				}
				_, err := s.RecordWebhook(ctx, edge.WebhookRecord{EventID: "evt_" + p.ID, Type: "checkout.session.completed",
					Received: T0, PaymentID: p.ID, To: events.PaymentPaid}, func(p edge.PaymentRecord) ([]edge.Message, error) {
					return []edge.Message{{ID: "r-" + p.ID + "@hub.example", Subject: "Receipt"}}, nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("CreateConsumeToken", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			id := benchSeq.Add(1)
			for i := 0; pb.Next(); i++ {
				tok := LoginToken(fmt.Sprintf("%d-%d", id, i), "ada@acme.example", "acme", T0)
				if err := s.CreateToken(ctx, tok); err != nil {
					b.Fatal(err)
				}
				if _, err := s.ConsumeToken(ctx, tok.Hash, T0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	})
}
