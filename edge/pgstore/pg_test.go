package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/storetest"
	"github.com/hubhq/hub/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestOpenConcurrent: edges starting together on an empty database: every
// Open succeeds and each migration is applied once.
func TestOpenConcurrent(t *testing.T) {
	url := pgtest.Start(t)
	stores := storetest.Parallel(t, 4, func(int) (*Store, error) { return Open(context.Background(), url) })
	for _, s := range stores {
		defer s.Close()
	}
	list, err := readMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var rows, top int
	if err := stores[0].pool.QueryRow(context.Background(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&rows, &top); err != nil {
		t.Fatal(err)
	}
	if rows != len(list) || top != list[len(list)-1].version {
		t.Errorf("schema_migrations has %d rows up to version %d; want %d, once each", rows, top, len(list))
	}
	// And again, on a migrated database: nothing to do.
	s := open(t, url)
	if _, err := s.Epochs(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestOpenNewerSchema: a hub older than the database's schema refuses it.
func TestOpenNewerSchema(t *testing.T) {
	url := pgtest.Start(t)
	s := open(t, url)
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO schema_migrations VALUES (999, '999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(context.Background(), url); err == nil {
		s2.Close()
		t.Error("Open of a database migrated by a newer hub succeeded")
	}
}

// TestRevocationSeqIsCommitOrder: while one revocation is recorded but
// not committed, another waits for it rather than committing a higher seq
// first (a reader between the two commits would read the higher seq and
// never see the lower one).
func TestRevocationSeqIsCommitOrder(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Start(t))
	t0 := storetest.T0
	slow, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	if err := revoke(ctx, slow, edge.Revocation{ID: "slow", Expires: t0.Add(time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	fast := make(chan error, 1)
	go func() { fast <- s.RevokeSession(ctx, edge.Revocation{ID: "fast", Expires: t0.Add(time.Hour)}, t0) }()
	// Wait until the second writer waits on the lock (or, wrongly, is done).
	for waiting := false; !waiting; {
		select {
		case err := <-fast:
			t.Fatalf("RevokeSession committed (err %v) while an earlier revocation was uncommitted: seq order is not commit order", err)
		default:
		}
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if rs, err := s.Revocations(ctx, 0); err != nil || len(rs) != 0 {
		t.Errorf("Revocations while both are uncommitted = %+v, %v; want none", rs, err)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-fast; err != nil {
		t.Fatal(err)
	}
	rs, err := s.Revocations(ctx, 0)
	if err != nil || len(rs) != 2 || rs[0].ID != "slow" || rs[1].ID != "fast" || rs[0].Seq >= rs[1].Seq {
		t.Errorf("Revocations = %+v, %v; want slow then fast", rs, err)
	}
}

// TestUnavailable: a database that cannot be reached gives errors that
// are edge.ErrUnavailable, and a store whose connections were cut says so
// (or has reconnected).
func TestUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://hub@127.0.0.1:1/none?sslmode=disable&connect_timeout=5")
	if !errors.Is(err, edge.ErrUnavailable) {
		t.Errorf("Open of a closed port = %v; want edge.ErrUnavailable", err)
	}
	if _, err := Open(ctx, "postgres://%zz"); err == nil || errors.Is(err, edge.ErrUnavailable) {
		t.Errorf("Open of a bad URL = %v; want an error that is not ErrUnavailable", err)
	}

	url := pgtest.Start(t)
	s := open(t, url)
	if _, err := s.Epochs(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_, err := s.Epochs(ctx)
		t.Logf("call %d after the connections were cut: %v", i, err)
		if err != nil && !errors.Is(err, edge.ErrUnavailable) {
			t.Errorf("call %d after the connections were cut = %v; want edge.ErrUnavailable", i, err)
		}
	}
	// Errors of the request are not unavailability.
	_, err = s.PeekToken(ctx, "x", storetest.T0)
	if errors.Is(err, edge.ErrUnavailable) || edge.ErrorCode(err) != edge.ENotFound {
		t.Errorf("PeekToken(unknown) = %v; want not found", err)
	}
	if err := s.CreateToken(ctx, storetest.LoginToken("a", "a@b.example", "acme", storetest.T0)); err != nil {
		t.Fatal(err)
	}
	err = s.CreateToken(ctx, storetest.LoginToken("a", "a@b.example", "acme", storetest.T0))
	if err == nil || errors.Is(err, edge.ErrUnavailable) {
		t.Errorf("CreateToken of a duplicate = %v; want an error that is not ErrUnavailable", err)
	}
}

// TestDurableCommits: every connection waits for its commits to reach
// the disk, whatever the server's default.
func TestDurableCommits(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Start(t)
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+admin.Config().Database+` SET synchronous_commit = off`); err != nil {
		t.Fatal(err)
	}
	s := open(t, url)
	var v string
	if err := s.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil || v != "on" {
		t.Errorf("synchronous_commit = %q, %v; want on", v, err)
	}
}
