package sqlstore

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/edge/storetest"
)

// The store's behaviour is checked by storetest (suite_test.go); these
// tests are SQLite's own: the file, its pragmas, reopening, old files.

var t0 = storetest.T0

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenPragmas(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "nested") // created by Open
	s := open(t, dir)
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	ctx := context.Background()
	// Every pooled connection must be in WAL mode with synchronous=FULL.
	conns := make([]interface{ Close() error }, 0, 4)
	for i := range 4 {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		var sync, busy int
		if err := c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != 2 || busy <= 0 {
			t.Errorf("connection %d: journal_mode=%s synchronous=%d busy_timeout=%d, want wal, 2 (FULL), > 0", i, mode, sync, busy)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestDurabilityAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok := storetest.LoginToken("durable", "ada@acme.example", "acme", t0)
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	spent := storetest.LoginToken("spent", "ada@acme.example", "acme", t0)
	if err := s.CreateToken(ctx, spent); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeToken(ctx, spent.Hash, t0); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.BumpEpoch(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordLogin(ctx, edge.Login{Email: "ada@acme.example", ClientID: "acme", At: t0}); err != nil {
		t.Fatal(err)
	}
	keys, err := s.SessionKeys(ctx, t0, time.Hour, 1000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	got, err := s.PeekToken(ctx, tok.Hash, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("token lost across reopen: %v", err)
	}
	storetest.SameToken(t, got, tok)
	_, err = s.ConsumeToken(ctx, spent.Hash, t0)
	storetest.WantCode(t, "spent token after reopen", err, edge.ENotFound)
	ep, err := s.Epochs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ep["acme"] != 2 {
		t.Errorf("epoch after reopen = %d, want 2", ep["acme"])
	}
	if e, err := s.BumpEpoch(ctx, "acme"); err != nil || e != 3 {
		t.Errorf("BumpEpoch after reopen = %d, %v; want 3", e, err)
	}
	acts, err := s.Activity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logins := 0
	for _, a := range acts {
		logins += a.Logins
	}
	if logins != 1 {
		t.Errorf("activity after reopen = %+v, want 1 login", acts)
	}
	keys2, err := s.SessionKeys(ctx, t0.Add(time.Minute), time.Hour, 1000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys2) != 1 || keys2[0].ID != keys[0].ID || string(keys2[0].Secret) != string(keys[0].Secret) {
		t.Errorf("session keys after reopen = %v, want the same key %v", keys2, keys)
	}
}

// TestOpenOldState: a state file made before contact epochs and revoked
// sessions existed opens, keeps its rows and gets the new tables.
func TestOpenOldState(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE epochs (client_id TEXT PRIMARY KEY, epoch INTEGER NOT NULL);
		INSERT INTO epochs VALUES ('acme', 4);
		CREATE TABLE session_keys (id TEXT PRIMARY KEY, secret BLOB NOT NULL, created INTEGER NOT NULL);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, dir)
	ctx := context.Background()
	if ep, err := s.Epochs(ctx); err != nil || ep["acme"] != 4 {
		t.Errorf("Epochs of an old state file = %v, %v; want acme:4", ep, err)
	}
	if _, err := s.BumpContactEpoch(ctx, edge.ContactKey{Client: "acme", Email: "ada@acme.example"}); err != nil {
		t.Errorf("BumpContactEpoch on an old state file: %v", err)
	}
	if err := s.RevokeSession(ctx, edge.Revocation{ID: "x", Expires: t0.Add(time.Hour)}, t0); err != nil {
		t.Errorf("RevokeSession on an old state file: %v", err)
	}
}

// TestOpenStateWithoutPeriods: a state file whose payments table predates
// subscriptions gets its period column, and its payments read as before.
func TestOpenStateWithoutPeriods(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE payments (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, client_id TEXT NOT NULL, kind TEXT NOT NULL,
		doc TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, state TEXT NOT NULL, method TEXT NOT NULL DEFAULT '',
		reference TEXT NOT NULL DEFAULT '', email TEXT NOT NULL, url TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,
		settled INTEGER NOT NULL DEFAULT 0);
		INSERT INTO payments (id, seq, client_id, kind, doc, amount, currency, state, email, url, created, expires)
		VALUES ('cs_old', 1, 'acme', 'invoice', 'INV-1', 500, 'USD', 'paid', 'a@example.com', 'u', 1, 2);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, dir)
	p, err := s.Payment(context.Background(), "cs_old")
	if err != nil || p.Amount != 500 || !p.Period.IsZero() {
		t.Errorf("Payment of an old state file = %+v, %v", p, err)
	}
	s.Close()
	open(t, dir) // and again, the column there
}

// TestOpenStateWithoutCards: a state file whose customers table predates
// saved cards gets their columns, and its customers read as before.
func TestOpenStateWithoutCards(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE customers (client_id TEXT PRIMARY KEY, customer TEXT NOT NULL);
		INSERT INTO customers VALUES ('acme', 'cus_old');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, dir)
	b, err := s.Billing(context.Background(), "acme")
	if err != nil || b.Customer != "cus_old" || b.SavedCard() != nil || b.Autopay {
		t.Errorf("Billing of an old state file = %+v, %v", b, err)
	}
	if _, err := s.SetAutopay(context.Background(), "acme", true, time.Now()); err != nil {
		t.Errorf("SetAutopay on an old state file: %v", err)
	}
	s.Close()
	open(t, dir)
}
