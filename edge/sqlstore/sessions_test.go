package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

func TestSessionKeysRetire(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	const rotate, retire = 30 * 24 * time.Hour, 60 * 24 * time.Hour
	day := func(d int) time.Time { return t0.Add(time.Duration(d) * 24 * time.Hour) }
	ids := map[int]string{} // the key made on each day
	for _, d := range []int{0, 30, 60, 90} {
		k, err := s.SessionKeys(ctx, day(d), rotate, retire)
		if err != nil {
			t.Fatal(err)
		}
		ids[d] = k[0].ID
	}
	tests := []struct {
		at   int   // day of the call
		want []int // the keys kept, newest first (by the day they were made)
	}{
		{100, []int{90, 60}},      // the day-30 key is 70 days old: gone
		{120, []int{120, 90, 60}}, // rotation; the day-60 key is exactly 60 days old: kept
		{121, []int{120, 90}},
		{300, []int{300}}, // after a long pause, only the new key
	}
	for _, tt := range tests {
		keys, err := s.SessionKeys(ctx, day(tt.at), rotate, retire)
		if err != nil {
			t.Fatal(err)
		}
		if tt.at == 120 || tt.at == 300 {
			ids[tt.at] = keys[0].ID
		}
		var got, want []string
		for _, k := range keys {
			got = append(got, k.ID)
		}
		for _, d := range tt.want {
			want = append(want, ids[d])
		}
		if len(got) != len(want) {
			t.Fatalf("SessionKeys on day %d = %v; want %v (days %v)", tt.at, got, want, tt.want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("SessionKeys on day %d = %v; want %v (days %v)", tt.at, got, want, tt.want)
			}
		}
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM session_keys`).Scan(&n); err != nil || n != 1 {
		t.Errorf("session_keys rows = %d, %v; want 1 (retired keys deleted)", n, err)
	}
}

func TestContactEpochs(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	ada := edge.ContactKey{Client: "acme", Email: "ada@acme.example"}
	for want := int64(1); want <= 2; want++ {
		if e, err := s.BumpContactEpoch(ctx, edge.ContactKey{Client: "acme", Email: "Ada@Acme.example"}); err != nil || e != want {
			t.Fatalf("BumpContactEpoch(acme, Ada@) = %d, %v; want %d", e, err, want)
		}
	}
	bob := edge.ContactKey{Client: "acme", Email: "bob@acme.example"}
	adaGlobex := edge.ContactKey{Client: "globex", Email: "ada@acme.example"}
	if e, err := s.BumpContactEpoch(ctx, adaGlobex); err != nil || e != 1 {
		t.Fatalf("BumpContactEpoch(globex, ada) = %d, %v; want 1", e, err)
	}
	m, err := s.ContactEpochs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[ada] != 2 || m[adaGlobex] != 1 || m[bob] != 0 {
		t.Errorf("ContactEpochs = %v; want ada@acme 2, ada@globex 1 (lower-cased), bob absent", m)
	}
	if ep, err := s.Epochs(ctx); err != nil || len(ep) != 0 {
		t.Errorf("client Epochs = %v, %v; want none bumped", ep, err)
	}
}

func TestRevocations(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	hour := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, r := range []edge.Revocation{{ID: "a", Expires: hour(2)}, {ID: "b", Expires: hour(10)}, {ID: "a", Expires: hour(2)}} {
		if err := s.RevokeSession(ctx, r, t0); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Revocations(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" || all[0].Seq >= all[1].Seq || !all[1].Expires.Equal(hour(10)) {
		t.Fatalf("Revocations(0) = %+v; want a then b, once each, in order", all)
	}
	// Incremental: only what came after the last seq seen.
	if err := s.RevokeSession(ctx, edge.Revocation{ID: "c", Expires: hour(20)}, hour(3)); err != nil {
		t.Fatal(err)
	}
	next, err := s.Revocations(ctx, all[1].Seq)
	if err != nil || len(next) != 1 || next[0].ID != "c" || next[0].Seq <= all[1].Seq {
		t.Errorf("Revocations(after b) = %+v, %v; want c only", next, err)
	}
	// Recording at hour 3 pruned a (expired at hour 2).
	all, err = s.Revocations(ctx, 0)
	if err != nil || len(all) != 2 || all[0].ID != "b" || all[1].ID != "c" {
		t.Errorf("Revocations after pruning = %+v, %v; want b, c", all, err)
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
