// Package storetest is the conformance suite of the edge's stores: every
// adapter (edge/sqlstore, edge/pgstore) runs Run from its tests and so
// keeps the same guarantees, as the interfaces' doc comments state them.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

// Store is all an adapter implements: what the edge, staff commands and
// the generator use, and the counters the tests read.
type Store interface {
	edge.Store
	edge.StaffStore
	events.Source
	// EventCount counts the recorded changes of facts.
	EventCount(ctx context.Context) (int, error)
	// WebhookEventCount counts the Stripe events recorded.
	WebhookEventCount(ctx context.Context) (int, error)
	Close() error
}

// T0 is the suite's fixed clock, whole milliseconds (stores keep milliseconds).
var T0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

type test struct {
	name string
	fn   func(t *testing.T, s Store)
}

// Run runs the suite, each test on a new, empty store from open (which
// Run closes when the test ends).
func Run(t *testing.T, open func(t *testing.T) Store) {
	var tests []test
	for _, part := range [][]test{sessionTests, paymentTests, subscriptionTests, billingTests, responseTests, threadTests, uploadTests, outboxTests, rebuildTests, viewTests} {
		tests = append(tests, part...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

// RunShared checks that two stores on the same database (two edges, or an
// edge and a staff command) see each other's writes and keep the
// single-use guarantees between them.
func RunShared(t *testing.T, a, b Store) {
	ctx := context.Background()
	t.Run("TokenSpentOnOneIsSpentOnBoth", func(t *testing.T) {
		tok := edge.Token{Hash: Hash("delegate"), Purpose: edge.TokenDelegate, Email: "ada@acme.example", ClientID: "acme",
			Staff: "sam@greenleaf.example", Next: "/c/acme/", Created: T0, Expires: T0.Add(10 * time.Minute)}
		must(t, b.CreateToken(ctx, tok))
		got, err := a.ConsumeToken(ctx, tok.Hash, T0.Add(time.Minute))
		if err != nil {
			t.Fatalf("a does not see b's token: %v", err)
		}
		SameToken(t, got, tok)
		_, err = b.PeekToken(ctx, tok.Hash, T0.Add(time.Minute))
		WantCode(t, "b.PeekToken of the token a spent", err, edge.ENotFound)
	})
	t.Run("ConsumeTokenConcurrent", func(t *testing.T) { consumeRace(t, a, b) })
	t.Run("EpochsShared", func(t *testing.T) {
		if e, err := b.BumpEpoch(ctx, "acme"); err != nil || e != 1 {
			t.Fatalf("BumpEpoch = %d, %v", e, err)
		}
		if ep, err := a.Epochs(ctx); err != nil || ep["acme"] != 1 {
			t.Errorf("a sees epochs %v, %v; want acme:1", ep, err)
		}
		seen := Parallel(t, 10, func(i int) (int64, error) {
			return []Store{a, b}[i%2].BumpEpoch(ctx, "globex")
		})
		want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
		if fmt.Sprint(sorted(seen)) != fmt.Sprint(want) {
			t.Errorf("concurrent BumpEpoch returned %v, want 1..10 once each", seen)
		}
	})
	t.Run("CustomerSetOnceOnBoth", func(t *testing.T) {
		got := Parallel(t, 10, func(i int) (string, error) {
			return []Store{a, b}[i%2].SetCustomer(ctx, "acme", fmt.Sprintf("cus_%d", i))
		})
		for _, id := range got {
			if id != got[0] {
				t.Fatalf("SetCustomer on two stores at once returned %v; want one customer", got)
			}
		}
		if id, err := b.Customer(ctx, "acme"); err != nil || id != got[0] {
			t.Errorf("b.Customer = %q, %v; want %q", id, err, got[0])
		}
	})
	t.Run("WebhookOnBoth", func(t *testing.T) {
		must(t, a.CreatePayment(ctx, payment("cs_shared", "acme", "INV-9", 500)))
		res := Parallel(t, 10, func(i int) (edge.WebhookResult, error) {
			return []Store{a, b}[i%2].RecordWebhook(ctx, edge.WebhookRecord{EventID: "evt_shared", Type: "checkout.session.completed",
				Received: T0, PaymentID: "cs_shared", To: events.PaymentPaid}, nil)
		})
		fresh := 0
		for _, r := range res {
			if !r.Duplicate {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("one event delivered to two stores 10 times: %d recorded; want 1", fresh)
		}
	})
}

// Hash is the hex SHA-256 of a token's secret.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// LoginToken is a login token for email at client, created at created.
func LoginToken(secret, email, client string, created time.Time) edge.Token {
	return edge.Token{
		Hash:     Hash(secret),
		Purpose:  edge.TokenLogin,
		Email:    email,
		ClientID: client,
		Next:     "/c/" + client + "/quotes/Q-1/",
		Created:  created,
		Expires:  created.Add(15 * time.Minute),
	}
}

// WantCode checks that err is an *edge.Error with code.
func WantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, code)
	} else if c := edge.ErrorCode(err); c != code {
		t.Errorf("%s: error %v has code %q, want %q", what, err, c, code)
	}
}

// SameToken checks that a token came back as it was created.
func SameToken(t *testing.T, got, want edge.Token) {
	t.Helper()
	if got.Hash != want.Hash || got.Purpose != want.Purpose || got.Email != want.Email || got.ClientID != want.ClientID ||
		got.Staff != want.Staff || got.Next != want.Next || !got.Created.Equal(want.Created) || !got.Expires.Equal(want.Expires) {
		t.Errorf("token = %+v, want %+v", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Parallel runs fn n times at once (released together) and returns the
// results; any error fails the test.
func Parallel[T any](t *testing.T, n int, fn func(i int) (T, error)) []T {
	t.Helper()
	out := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i], errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d of %d: %v", i, n, err)
		}
	}
	return out
}

// count counts the true ones.
func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func sorted(v []int64) []int64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v
}
