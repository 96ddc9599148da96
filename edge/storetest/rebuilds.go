package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

var rebuildTests = []test{
	{"RebuildQueuedWithFact", testRebuildQueued},
	{"ClaimRebuild", testClaimRebuild},
	{"ClaimRebuildsConcurrent", testClaimRebuildsConcurrent},
	{"FinishRebuild", testFinishRebuild},
}

func jobs(t *testing.T, s Store) map[string]edge.RebuildJob {
	t.Helper()
	js, err := s.Rebuilds(context.Background())
	must(t, err)
	m := map[string]edge.RebuildJob{}
	for _, j := range js {
		m[j.Client] = j
	}
	return m
}

func record(t *testing.T, s Store, client, nonce string, at time.Time) {
	t.Helper()
	if _, err := s.RecordRequest(context.Background(), client, nonce, request("R-"+nonce, at), nil); err != nil {
		t.Fatal(err)
	}
}

func testRebuildQueued(t *testing.T, s Store) {
	ctx := context.Background()
	if js, err := s.Rebuilds(ctx); err != nil || len(js) != 0 {
		t.Fatalf("Rebuilds on a new store = %v, %v", js, err)
	}
	// A fact that is not recorded queues nothing.
	if _, err := s.RecordRequest(ctx, "acme", "n0", request("R-0", T0), []edge.Message{{}}); err == nil {
		t.Fatal("RecordRequest with a bad email succeeded")
	}
	if js := jobs(t, s); len(js) != 0 {
		t.Errorf("a fact rolled back queued a rebuild: %v", js)
	}
	record(t, s, "globex", "n1", T0.Add(time.Minute))
	record(t, s, "acme", "n2", T0)
	record(t, s, "acme", "n3", T0.Add(time.Hour))
	js, err := s.Rebuilds(ctx)
	must(t, err)
	v, err := s.Versions(ctx)
	must(t, err)
	if len(js) != 2 || js[0].Client != "acme" || js[1].Client != "globex" {
		t.Fatalf("Rebuilds = %+v; want acme then globex (oldest first)", js)
	}
	for _, j := range js {
		if j.Version != v[j.Client] || j.Owner != "" || !j.Lease.IsZero() || j.Attempts != 0 || j.Problem != "" {
			t.Errorf("job %+v; want version %d, unclaimed", j, v[j.Client])
		}
	}
	if a := js[0]; !a.Since.Equal(T0) || !a.Due.Equal(T0) {
		t.Errorf("acme's job since %v due %v; want both %v (its oldest fact)", a.Since, a.Due, T0)
	}
	// Every kind of fact queues its client.
	must(t, s.CreatePayment(ctx, payment("cs_1", "initech", "INV-1", 100)))
	if _, ok := jobs(t, s)["initech"]; ok {
		t.Error("a pending payment queued a rebuild")
	}
	hook(t, s, "evt_1", "cs_1", events.PaymentPaid, T0)
	_, err = s.RecordApproval(ctx, "umbrella", "a1", approval("Q-1", T0), nil)
	must(t, err)
	_, err = s.RecordChangeRequest(ctx, "hooli", "c1", events.ChangeRequest{Quote: "Q-1", At: T0}, nil)
	must(t, err)
	_, _, err = s.CreatePending(ctx, events.PendingClient{ID: "new-cy", Email: "cy@example.com", At: T0})
	must(t, err)
	for _, c := range []string{"initech", "umbrella", "hooli", "new-cy"} {
		if _, ok := jobs(t, s)[c]; !ok {
			t.Errorf("no rebuild queued for %s's fact", c)
		}
	}
}

func testClaimRebuild(t *testing.T, s Store) {
	ctx := context.Background()
	const lease = 2 * time.Minute
	if j, ok, err := s.ClaimRebuild(ctx, "acme", "edge-1", T0, lease); err != nil || ok || j.Client != "" {
		t.Fatalf("ClaimRebuild with no job = %+v, %v, %v; want nothing", j, ok, err)
	}
	record(t, s, "acme", "n1", T0.Add(time.Hour)) // due in the future: claimed all the same
	j, ok, err := s.ClaimRebuild(ctx, "acme", "edge-1", T0, lease)
	if err != nil || !ok || j.Client != "acme" || j.Owner != "edge-1" || !j.Lease.Equal(T0.Add(lease)) {
		t.Fatalf("ClaimRebuild = %+v, %v, %v; want acme for edge-1 until +2m", j, ok, err)
	}
	j2, ok, err := s.ClaimRebuild(ctx, "acme", "edge-2", T0.Add(lease-time.Millisecond), lease)
	if err != nil || ok || j2.Client != "acme" || j2.Owner != "edge-1" {
		t.Errorf("ClaimRebuild by another edge during the lease = %+v, %v, %v; want refused, edge-1's job", j2, ok, err)
	}
	record(t, s, "beta", "n2", T0)
	if _, ok, err := s.ClaimRebuild(ctx, "beta", "edge-1", T0, lease); err != nil || !ok {
		t.Fatalf("ClaimRebuild(beta) = %v, %v", ok, err)
	}
	if js, err := s.ClaimRebuilds(ctx, "edge-2", T0.Add(lease-time.Millisecond), lease, 10); err != nil || len(js) != 0 {
		t.Errorf("ClaimRebuilds during the lease = %+v, %v; want none", js, err)
	}
	if js, err := s.ClaimRebuilds(ctx, "edge-2", T0.Add(lease), lease, 10); err != nil || len(js) != 1 || js[0].Client != "beta" {
		t.Errorf("ClaimRebuilds once the lease lapsed = %+v, %v; want beta (acme is not due)", js, err)
	}
	// Concurrent claims of one client once the lease lapsed: one wins.
	at := T0.Add(lease)
	wins := Parallel(t, 6, func(i int) (bool, error) {
		_, ok, err := s.ClaimRebuild(ctx, "acme", fmt.Sprintf("edge-%d", i+2), at, lease)
		return ok, err
	})
	if n := count(wins); n != 1 {
		t.Errorf("6 concurrent ClaimRebuild after the lease lapsed: %d won; want 1", n)
	}
}

func testClaimRebuildsConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 24
	for i := range n {
		record(t, s, fmt.Sprintf("c%02d", i), fmt.Sprintf("n%d", i), T0.Add(time.Duration(i)*time.Second))
	}
	record(t, s, "later", "nl", T0.Add(time.Hour))
	// Oldest first, limited, only due ones.
	first, err := s.ClaimRebuilds(ctx, "edge-0", T0.Add(time.Second), time.Minute, 10)
	must(t, err)
	var ids []string
	for _, j := range first {
		ids = append(ids, j.Client)
		if j.Owner != "edge-0" || !j.Lease.Equal(T0.Add(time.Second+time.Minute)) {
			t.Errorf("claimed %+v; want edge-0's until +1m1s", j)
		}
	}
	if fmt.Sprint(ids) != "[c00 c01]" {
		t.Errorf("ClaimRebuilds at +1s = %v; want c00, c01", ids)
	}
	got := Parallel(t, 6, func(i int) ([]edge.RebuildJob, error) {
		var all []edge.RebuildJob
		for {
			js, err := s.ClaimRebuilds(ctx, fmt.Sprintf("edge-%d", i+1), T0.Add(time.Minute), time.Hour, 3)
			if err != nil || len(js) == 0 {
				return all, err
			}
			all = append(all, js...)
		}
	})
	seen := map[string]string{}
	for i, js := range got {
		for _, j := range js {
			if o, ok := seen[j.Client]; ok {
				t.Errorf("%s claimed by %s and edge-%d", j.Client, o, i+1)
			}
			seen[j.Client] = j.Owner
		}
	}
	// Everything due but the two edge-0 holds (c00, c01); not "later".
	if len(seen) != n-2 {
		t.Errorf("concurrent ClaimRebuilds claimed %d jobs; want %d", len(seen), n-2)
	}
	if _, ok := seen["later"]; ok {
		t.Error("a job not yet due was claimed")
	}
}

func testFinishRebuild(t *testing.T, s Store) {
	ctx := context.Background()
	const lease = time.Minute
	claim := func(client, owner string, at time.Time) edge.RebuildJob {
		t.Helper()
		j, ok, err := s.ClaimRebuild(ctx, client, owner, at, lease)
		if err != nil || !ok {
			t.Fatalf("ClaimRebuild(%s) = %v, %v", client, ok, err)
		}
		return j
	}
	// Done: deleted.
	record(t, s, "acme", "n1", T0)
	j := claim("acme", "e1", T0)
	must(t, s.FinishRebuild(ctx, j, T0.Add(time.Second), "", time.Time{}))
	if _, ok := jobs(t, s)["acme"]; ok {
		t.Error("a finished rebuild is still queued")
	}
	// Done, but a fact came since the claim: left due, unclaimed, since now.
	record(t, s, "acme", "n2", T0.Add(time.Minute))
	j = claim("acme", "e1", T0.Add(time.Minute))
	record(t, s, "acme", "n3", T0.Add(time.Minute+time.Second))
	must(t, s.FinishRebuild(ctx, j, T0.Add(2*time.Minute), "", time.Time{}))
	left, ok := jobs(t, s)["acme"]
	if !ok || left.Owner != "" || !left.Lease.IsZero() || left.Version == j.Version || !left.Since.Equal(T0.Add(2*time.Minute)) || left.Due.After(T0.Add(2*time.Minute)) {
		t.Errorf("after finishing with a fact since = %+v (ok %v); want queued, unclaimed, due, since %v", left, ok, T0.Add(2*time.Minute))
	}
	if js, _ := s.ClaimRebuilds(ctx, "e2", T0.Add(2*time.Minute), lease, 10); len(js) != 1 {
		t.Errorf("ClaimRebuilds after that = %+v; want acme", js)
	}
	// Failed: attempts, problem, due at retry.
	record(t, s, "globex", "g1", T0)
	g := claim("globex", "e1", T0)
	retry := T0.Add(30 * time.Second)
	must(t, s.FinishRebuild(ctx, g, T0.Add(time.Second), "template broke", retry))
	gj := jobs(t, s)["globex"]
	if gj.Attempts != 1 || gj.Problem != "template broke" || !gj.Due.Equal(retry) || gj.Owner != "" || !gj.Lease.IsZero() {
		t.Errorf("after a failure = %+v; want 1 attempt, the problem, due %v, unclaimed", gj, retry)
	}
	if js, _ := s.ClaimRebuilds(ctx, "e2", retry.Add(-time.Millisecond), lease, 10); len(js) != 0 {
		t.Errorf("ClaimRebuilds before the retry = %+v; want none", js)
	}
	g = claim("globex", "e1", retry)
	if g.Attempts != 1 || g.Problem != "template broke" {
		t.Errorf("claimed again = %+v; want the attempt and problem kept", g)
	}
	must(t, s.FinishRebuild(ctx, g, retry, "still broken", retry.Add(time.Minute)))
	if gj := jobs(t, s)["globex"]; gj.Attempts != 2 || gj.Problem != "still broken" {
		t.Errorf("after a second failure = %+v; want 2 attempts", gj)
	}
	// Failed, but a fact came since the claim: due at once, not at retry.
	g = claim("globex", "e1", retry.Add(time.Minute))
	record(t, s, "globex", "g2", retry.Add(time.Minute))
	must(t, s.FinishRebuild(ctx, g, retry.Add(time.Minute), "broken", retry.Add(time.Hour)))
	if gj := jobs(t, s)["globex"]; gj.Due.After(retry.Add(time.Minute)) || gj.Attempts != 3 {
		t.Errorf("after a failure with a fact since = %+v; want due at once, 3 attempts", gj)
	}
	// Another owner's finish does nothing.
	h := claim("globex", "e3", retry.Add(time.Minute))
	stale := h
	stale.Owner = "e1"
	must(t, s.FinishRebuild(ctx, stale, retry.Add(time.Minute), "", time.Time{}))
	if gj, ok := jobs(t, s)["globex"]; !ok || gj.Owner != "e3" {
		t.Errorf("a finish by an owner who lost the lease changed the job: %+v, %v", gj, ok)
	}
}
