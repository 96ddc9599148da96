package edge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Rebuilds after a fact. Every fact the store records (a payment, an
// approval, a change request, a work request) marks its client in the
// store's rebuild queue, in the fact's own transaction. An edge claims the
// client for a lease, rebuilds its bundle, and finishes the job; so of any
// number of edges sharing a store exactly one rebuilds each client, a
// rebuild that fails is retried with backoff (and listed by hub rebuilds),
// and a fact recorded by an edge killed before it rebuilt is rebuilt by
// another edge (or by the same one when it starts again) once the lease
// lapses.

// RebuildQueue is the store's queue of clients whose bundles are behind
// their facts. Part of Store.
type RebuildQueue interface {
	// ClaimRebuild claims one client's job for owner until now+lease, due
	// or not. When it cannot (no job, or another owner's lease holds), ok
	// is false and job is the client's job if there is one.
	ClaimRebuild(ctx context.Context, client, owner string, now time.Time, lease time.Duration) (job RebuildJob, ok bool, err error)
	// ClaimRebuilds claims up to limit due jobs that no lease holds, for
	// owner until now+lease, oldest first. Of several callers at once,
	// each job goes to one.
	ClaimRebuilds(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]RebuildJob, error)
	// FinishRebuild ends owner's claim. With problem "" the job is done:
	// deleted, unless a fact was recorded since the claim (its Version
	// moved), which leaves it due. Otherwise the attempt and problem are
	// recorded and the job is due again at retry (or at once, if a fact
	// came since).
	FinishRebuild(ctx context.Context, job RebuildJob, now time.Time, problem string, retry time.Time) error
}

// RebuildJob is a client waiting for a rebuild.
type RebuildJob struct {
	Client   string
	Version  int64     // the client's facts version (events.Source) when claimed or listed
	Since    time.Time // when the oldest fact not yet built was recorded
	Due      time.Time // when it may next be tried
	Attempts int       // failed attempts so far
	Problem  string    // the last failure
	Owner    string    // the edge holding the lease, "" if none
	Lease    time.Time // when the owner's lease lapses
}

// Rebuild timing: a lease is longer than a client's rebuild takes, and
// short, so that a crashed edge's client is rebuilt by another soon; a
// rebuild that outlives its lease may run twice, which costs time and
// changes nothing (builds are serialised by the build lock, and the second
// finds nothing to do). A failed rebuild is tried again after
// rebuildRetry, doubling to rebuildMaxRetry.
const (
	rebuildLease    = 30 * time.Second
	rebuildRetry    = 30 * time.Second
	rebuildMaxRetry = time.Hour
	rebuildBatch    = 64
	rebuildPoll     = time.Second // other edges' jobs and lapsed leases
)

// newOwnerID names this edge in the store's leases: host, process and a
// random part (two edges on one host in one container have the same pid).
func newOwnerID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomToken(4))
}

// rebuildSoon wakes the rebuild worker: a fact was recorded.
func (s *Server) rebuildSoon() {
	select {
	case s.rebuildWake <- struct{}{}:
	default:
	}
}

// rebuildWorker rebuilds the clients the queue holds, several at once
// when they come together, and loads the new build: when woken, and every
// rebuildPoll for what other edges recorded or left.
func (s *Server) rebuildWorker(ctx context.Context) {
	defer s.wg.Done()
	if s.cfg.RebuildClient == nil {
		return
	}
	t := time.NewTicker(rebuildPoll)
	defer t.Stop()
	for {
		if err := s.rebuildDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("rebuilding after recording; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.rebuildWake:
		case <-t.C:
		}
	}
}

// rebuildDue claims the due jobs and rebuilds them.
func (s *Server) rebuildDue(ctx context.Context) error {
	for {
		jobs, err := s.store.ClaimRebuilds(ctx, s.owner, s.now(), rebuildLease, rebuildBatch)
		if err != nil {
			return fmt.Errorf("reading the rebuild queue: %w", err)
		}
		if len(jobs) == 0 {
			return nil
		}
		err = s.runRebuilds(ctx, jobs)
		// A fact another process recorded (hub reply) came with its
		// emails: they go now, once the pages show the fact.
		s.outbox.poke()
		if err != nil {
			return err
		}
	}
}

// runRebuilds rebuilds claimed jobs' clients in one build and finishes
// each job with the outcome, which it returns.
func (s *Server) runRebuilds(ctx context.Context, jobs []RebuildJob) error {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.Client
	}
	berr := s.rebuildNow(ctx, ids)
	if berr != nil && ctx.Err() != nil {
		berr = ctx.Err()
	}
	now := s.now()
	fctx := context.WithoutCancel(ctx) // the outcome is recorded even when stopping
	errs := []error{berr}
	for _, j := range jobs {
		problem, retry := "", time.Time{}
		if berr != nil {
			problem, retry = berr.Error(), now.Add(rebuildBackoff(j.Attempts+1))
			s.log.Error("rebuild failed; the pages show the fact after the retry", "client", j.Client, "attempt", j.Attempts+1, "retry", retry, "err", berr)
		}
		if err := s.store.FinishRebuild(fctx, j, now, problem, retry); err != nil {
			errs = append(errs, fmt.Errorf("finishing the rebuild of %s: %w", j.Client, err))
		}
	}
	return errors.Join(errs...)
}

// rebuildBackoff is the wait after the n-th failed rebuild of a client.
func rebuildBackoff(n int) time.Duration {
	d := rebuildRetry
	for i := 1; i < n && d < rebuildMaxRetry; i++ {
		d *= 2
	}
	return min(d, rebuildMaxRetry)
}

// rebuildWithin rebuilds a client now (a form's answer shows the fact),
// waiting at most rebuildWait: it claims the client's job, or waits for
// the edge that holds it to finish.
func (s *Server) rebuildWithin(ctx context.Context, client string) error {
	if s.cfg.RebuildClient == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rebuildWait)
	defer cancel()
	for {
		job, ok, err := s.store.ClaimRebuild(ctx, client, s.owner, s.now(), rebuildLease)
		switch {
		case err != nil:
			return fmt.Errorf("claiming the rebuild of %s: %w", client, err)
		case ok:
			return s.runRebuilds(ctx, []RebuildJob{job})
		case job.Client == "":
			return s.Reload() // done, here or by another edge
		}
		// Another edge is rebuilding it: wait for it to finish.
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to rebuild %s: %w", job.Owner, client, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rebuildNow rebuilds clients and loads the result.
func (s *Server) rebuildNow(ctx context.Context, ids []string) error {
	if err := s.cfg.RebuildClient(ctx, ids); err != nil {
		return err
	}
	return s.Reload()
}
