package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

// t0 is a fixed clock, whole milliseconds (the store keeps milliseconds).
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func loginToken(secret, email, client string, created time.Time) edge.Token {
	return edge.Token{
		Hash:     hash(secret),
		Purpose:  edge.TokenLogin,
		Email:    email,
		ClientID: client,
		Next:     "/c/" + client + "/quotes/Q-1/",
		Created:  created,
		Expires:  created.Add(15 * time.Minute),
	}
}

func countTokens(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM tokens`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, edge.ENotFound)
	} else if c := edge.ErrorCode(err); c != edge.ENotFound {
		t.Errorf("%s: error %v has code %q, want %q", what, err, c, edge.ENotFound)
	}
}

func sameToken(t *testing.T, got, want edge.Token) {
	t.Helper()
	if got.Hash != want.Hash || got.Purpose != want.Purpose || got.Email != want.Email || got.ClientID != want.ClientID ||
		got.Staff != want.Staff || got.Next != want.Next || !got.Created.Equal(want.Created) || !got.Expires.Equal(want.Expires) {
		t.Errorf("token = %+v, want %+v", got, want)
	}
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

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	tok := loginToken("secret-1", "ada@acme.example", "acme", t0)
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	del := edge.Token{Hash: hash("secret-2"), Purpose: edge.TokenDelegate, Email: "ada@acme.example", ClientID: "acme",
		Staff: "sam@greenleaf.example", Next: "/", Created: t0, Expires: t0.Add(10 * time.Minute)}
	if err := s.CreateToken(ctx, del); err != nil {
		t.Fatal(err)
	}
	// The same hash twice is refused.
	if err := s.CreateToken(ctx, tok); err == nil {
		t.Error("CreateToken accepted a duplicate hash")
	}

	// Peek does not spend, any number of times.
	for range 3 {
		got, err := s.PeekToken(ctx, tok.Hash, t0.Add(time.Minute))
		if err != nil {
			t.Fatalf("PeekToken: %v", err)
		}
		sameToken(t, got, tok)
	}
	got, err := s.PeekToken(ctx, del.Hash, t0)
	if err != nil {
		t.Fatal(err)
	}
	sameToken(t, got, del)

	// Consume spends once.
	got, err = s.ConsumeToken(ctx, tok.Hash, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("ConsumeToken: %v", err)
	}
	sameToken(t, got, tok)
	_, err = s.ConsumeToken(ctx, tok.Hash, t0.Add(2*time.Minute))
	wantNotFound(t, "second ConsumeToken", err)
	_, err = s.PeekToken(ctx, tok.Hash, t0.Add(2*time.Minute))
	wantNotFound(t, "PeekToken after ConsumeToken", err)

	// Unknown hash.
	_, err = s.PeekToken(ctx, hash("nope"), t0)
	wantNotFound(t, "PeekToken(unknown)", err)
	_, err = s.ConsumeToken(ctx, hash("nope"), t0)
	wantNotFound(t, "ConsumeToken(unknown)", err)
	_, err = s.ConsumeToken(ctx, "", t0)
	wantNotFound(t, "ConsumeToken(\"\")", err)

	// Expiry: usable strictly before Expires, not at or after it.
	exp := loginToken("secret-3", "bob@acme.example", "acme", t0)
	if err := s.CreateToken(ctx, exp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PeekToken(ctx, exp.Hash, exp.Expires.Add(-time.Millisecond)); err != nil {
		t.Errorf("PeekToken 1ms before expiry: %v", err)
	}
	_, err = s.PeekToken(ctx, exp.Hash, exp.Expires)
	wantNotFound(t, "PeekToken at expiry", err)
	_, err = s.PeekToken(ctx, exp.Hash, exp.Expires.Add(time.Hour))
	wantNotFound(t, "PeekToken after expiry", err)
	_, err = s.ConsumeToken(ctx, exp.Hash, exp.Expires)
	wantNotFound(t, "ConsumeToken at expiry", err)
	_, err = s.ConsumeToken(ctx, exp.Hash, exp.Expires.Add(time.Hour))
	wantNotFound(t, "ConsumeToken after expiry", err)
	// A failed consume of an expired token does not spend it for an earlier clock
	// (it was not spent: the row is untouched).
	if _, err := s.PeekToken(ctx, exp.Hash, t0); err != nil {
		t.Errorf("expired-consume attempt changed the token: %v", err)
	}
	// Consume with the token still valid works, then never again.
	if _, err := s.ConsumeToken(ctx, exp.Hash, t0.Add(14*time.Minute)); err != nil {
		t.Errorf("ConsumeToken before expiry: %v", err)
	}
	_, err = s.ConsumeToken(ctx, exp.Hash, t0.Add(14*time.Minute))
	wantNotFound(t, "ConsumeToken twice", err)
}

func TestConsumeTokenConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Two stores on one file: the edge and a staff command, or two edge
	// processes during a restart. Each has its own connection pool.
	s1 := open(t, dir)
	s2 := open(t, dir)
	for round := range 3 {
		tok := loginToken(fmt.Sprintf("race-%d", round), "ada@acme.example", "acme", t0)
		if err := s1.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		const n = 20
		var wg sync.WaitGroup
		start := make(chan struct{})
		var mu sync.Mutex
		ok, notFound := 0, 0
		var other []error
		for i := range n {
			st := s1
			if i%2 == 1 {
				st = s2
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := st.ConsumeToken(ctx, tok.Hash, t0.Add(time.Minute))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case edge.ErrorCode(err) == edge.ENotFound:
					notFound++
				default:
					other = append(other, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok != 1 || notFound != n-1 || len(other) > 0 {
			t.Fatalf("round %d: %d concurrent ConsumeToken: %d succeeded, %d not found, other errors %v; want exactly 1 success",
				round, n, ok, notFound, other)
		}
	}
}

func TestDurabilityAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok := loginToken("durable", "ada@acme.example", "acme", t0)
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	spent := loginToken("spent", "ada@acme.example", "acme", t0)
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
	sameToken(t, got, tok)
	_, err = s.ConsumeToken(ctx, spent.Hash, t0)
	wantNotFound(t, "spent token after reopen", err)
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
	if a := merged(acts)[ck{"ada@acme.example", "acme"}]; a.Logins != 1 {
		t.Errorf("logins after reopen = %d, want 1", a.Logins)
	}
	keys2, err := s.SessionKeys(ctx, t0.Add(time.Minute), time.Hour, 1000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys2) != 1 || keys2[0].ID != keys[0].ID || string(keys2[0].Secret) != string(keys[0].Secret) {
		t.Errorf("session keys after reopen = %v, want the same key %v", keys2, keys)
	}
}

func TestTwoStoresSameDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	edgeStore := open(t, dir)
	staff := open(t, dir) // a staff command while the edge runs

	// Staff creates a delegate link; the edge sees it.
	tok := edge.Token{Hash: hash("delegate"), Purpose: edge.TokenDelegate, Email: "ada@acme.example", ClientID: "acme",
		Staff: "sam@greenleaf.example", Next: "/c/acme/", Created: t0, Expires: t0.Add(10 * time.Minute)}
	if err := staff.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err := edgeStore.ConsumeToken(ctx, tok.Hash, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("edge does not see the staff's token: %v", err)
	}
	sameToken(t, got, tok)
	_, err = staff.PeekToken(ctx, tok.Hash, t0.Add(time.Minute))
	wantNotFound(t, "staff store sees the token the edge spent", err)

	// Staff bumps an epoch; the edge sees it.
	if e, err := staff.BumpEpoch(ctx, "acme"); err != nil || e != 1 {
		t.Fatalf("BumpEpoch = %d, %v", e, err)
	}
	ep, err := edgeStore.Epochs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ep["acme"] != 1 {
		t.Errorf("edge sees epoch %d, want 1", ep["acme"])
	}

	// The edge records a login; staff sees it.
	if err := edgeStore.RecordLogin(ctx, edge.Login{Email: "ada@acme.example", ClientID: "acme", Staff: "sam@greenleaf.example", At: t0}); err != nil {
		t.Fatal(err)
	}
	ds, err := staff.Delegations(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Errorf("staff sees %d delegations, want 1", len(ds))
	}

	// Concurrent bumps from both stores: every bump counted, each number once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var seen []int64
	for i := range 10 {
		st := edgeStore
		if i%2 == 1 {
			st = staff
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := st.BumpEpoch(ctx, "globex")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen = append(seen, e)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(seen)
	if !slices.Equal(seen, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("concurrent BumpEpoch returned %v, want 1..10 once each", seen)
	}
}

func TestEpochs(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	ep, err := s.Epochs(ctx)
	if err != nil || len(ep) != 0 {
		t.Fatalf("Epochs on a new store = %v, %v; want empty", ep, err)
	}
	for want := int64(1); want <= 3; want++ {
		e, err := s.BumpEpoch(ctx, "acme")
		if err != nil || e != want {
			t.Fatalf("BumpEpoch(acme) = %d, %v; want %d", e, err, want)
		}
	}
	if e, err := s.BumpEpoch(ctx, "globex"); err != nil || e != 1 {
		t.Fatalf("BumpEpoch(globex) = %d, %v; want 1", e, err)
	}
	ep, err = s.Epochs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ep) != 2 || ep["acme"] != 3 || ep["globex"] != 1 {
		t.Errorf("Epochs = %v, want acme:3 globex:1", ep)
	}
	if _, ok := ep["initech"]; ok {
		t.Error("a never-bumped client is present")
	}
}

type ck struct{ email, client string }

// merged folds Activity's rows per contact, as edge.ClientsReport does.
func merged(acts []edge.ContactActivity) map[ck]edge.ContactActivity {
	m := map[ck]edge.ContactActivity{}
	for _, a := range acts {
		k := ck{a.Email, a.ClientID}
		cur := m[k]
		cur.Email, cur.ClientID = a.Email, a.ClientID
		if !a.Joined.IsZero() {
			cur.Joined, cur.LastLogin, cur.Logins = a.Joined, a.LastLogin, a.Logins
		}
		if a.Invited.After(cur.Invited) {
			cur.Invited = a.Invited
		}
		m[k] = cur
	}
	return m
}

func TestLoginsActivityDelegations(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())

	acts, err := s.Activity(ctx)
	if err != nil || len(acts) != 0 {
		t.Fatalf("Activity on a new store = %v, %v", acts, err)
	}
	ds, err := s.Delegations(ctx, 10)
	if err != nil || len(ds) != 0 {
		t.Fatalf("Delegations on a new store = %v, %v", ds, err)
	}

	// Invitations: login tokens (not delegate tokens), latest per contact.
	for _, tk := range []edge.Token{
		loginToken("inv-1", "ada@acme.example", "acme", t0),
		loginToken("inv-2", "ada@acme.example", "acme", t0.Add(time.Hour)),
		loginToken("inv-3", "cy@acme.example", "acme", t0.Add(2*time.Hour)),
		loginToken("inv-4", "ada@acme.example", "", t0.Add(3*time.Hour)), // contact chooses the client
		{Hash: hash("del-1"), Purpose: edge.TokenDelegate, Email: "dee@acme.example", ClientID: "acme", Staff: "sam@greenleaf.example",
			Created: t0.Add(4 * time.Hour), Expires: t0.Add(4*time.Hour + 10*time.Minute)},
	} {
		if err := s.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}

	logins := []edge.Login{
		{Email: "ada@acme.example", ClientID: "acme", At: t0.Add(5 * time.Minute), IP: "192.0.2.1", UA: "A"},
		{Email: "ada@acme.example", ClientID: "acme", At: t0.Add(48 * time.Hour), IP: "192.0.2.1", UA: "A"},
		{Email: "ada@acme.example", ClientID: "acme", At: t0.Add(24 * time.Hour), IP: "192.0.2.2", UA: "B"}, // recorded out of order
		{Email: "ada@acme.example", ClientID: "globex", At: t0.Add(30 * time.Hour)},
		{Email: "bob@acme.example", ClientID: "acme", At: t0.Add(6 * time.Hour)},
		// Staff logins as a contact: not the contact's activity.
		{Email: "dee@acme.example", ClientID: "acme", Staff: "sam@greenleaf.example", At: t0.Add(4*time.Hour + time.Minute), IP: "198.51.100.7", UA: "S"},
		{Email: "ada@acme.example", ClientID: "acme", Staff: "kim@greenleaf.example", At: t0.Add(50 * time.Hour), IP: "198.51.100.8", UA: "K"},
		{Email: "ada@acme.example", ClientID: "acme", Staff: "sam@greenleaf.example", At: t0.Add(10 * time.Hour), IP: "198.51.100.7", UA: "S"},
	}
	for _, l := range logins {
		if err := s.RecordLogin(ctx, l); err != nil {
			t.Fatal(err)
		}
	}

	acts, err = s.Activity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := merged(acts)
	check := func(k ck, invited, joined, last time.Time, n int) {
		t.Helper()
		a, ok := m[k]
		if !ok {
			t.Errorf("no activity for %v", k)
			return
		}
		if !a.Invited.Equal(invited) || !a.Joined.Equal(joined) || !a.LastLogin.Equal(last) || a.Logins != n {
			t.Errorf("%v: invited %v joined %v last %v logins %d; want %v %v %v %d",
				k, a.Invited, a.Joined, a.LastLogin, a.Logins, invited, joined, last, n)
		}
	}
	var zero time.Time
	check(ck{"ada@acme.example", "acme"}, t0.Add(time.Hour), t0.Add(5*time.Minute), t0.Add(48*time.Hour), 3)
	check(ck{"ada@acme.example", "globex"}, zero, t0.Add(30*time.Hour), t0.Add(30*time.Hour), 1)
	check(ck{"ada@acme.example", ""}, t0.Add(3*time.Hour), zero, zero, 0)
	check(ck{"bob@acme.example", "acme"}, zero, t0.Add(6*time.Hour), t0.Add(6*time.Hour), 1)
	check(ck{"cy@acme.example", "acme"}, t0.Add(2*time.Hour), zero, zero, 0)
	if a, ok := m[ck{"dee@acme.example", "acme"}]; ok {
		t.Errorf("delegate-only contact has activity %+v (staff logins and delegate links are not the contact's)", a)
	}
	if len(m) != 5 {
		t.Errorf("activity for %d contacts, want 5: %v", len(m), m)
	}
	for _, a := range acts {
		if a.Joined.Location() != time.UTC && !a.Joined.IsZero() {
			t.Errorf("Joined %v not in UTC", a.Joined)
		}
	}

	// Delegations: staff logins only, newest first, limited.
	ds, err = s.Delegations(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []edge.Login{logins[6], logins[7], logins[5]}
	if len(ds) != len(want) {
		t.Fatalf("Delegations = %+v, want %+v", ds, want)
	}
	for i := range want {
		if ds[i].Email != want[i].Email || ds[i].ClientID != want[i].ClientID || ds[i].Staff != want[i].Staff ||
			!ds[i].At.Equal(want[i].At) || ds[i].IP != want[i].IP || ds[i].UA != want[i].UA {
			t.Errorf("Delegations[%d] = %+v, want %+v", i, ds[i], want[i])
		}
	}
	ds, err = s.Delegations(ctx, 2)
	if err != nil || len(ds) != 2 || !ds[0].At.Equal(logins[6].At) {
		t.Errorf("Delegations(2) = %+v, %v; want the 2 newest", ds, err)
	}
}

func TestSessionKeys(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	const rotate = 24 * time.Hour

	k1, err := s.SessionKeys(ctx, t0, rotate, 100*rotate)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 1 || len(k1[0].Secret) < 32 || k1[0].ID == "" || !k1[0].Created.Equal(t0) {
		t.Fatalf("first SessionKeys = %+v, want one fresh key of ≥32 bytes created at %v", k1, t0)
	}
	// Younger than rotateAfter: the same key.
	for _, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(rotate - time.Millisecond)} {
		k, err := s.SessionKeys(ctx, at, rotate, 100*rotate)
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != 1 || k[0].ID != k1[0].ID || string(k[0].Secret) != string(k1[0].Secret) {
			t.Errorf("SessionKeys at +%v = %+v, want the first key only", at.Sub(t0), k)
		}
	}
	// Older: a new key first, the old one kept for sessions it signed.
	k2, err := s.SessionKeys(ctx, t0.Add(rotate), rotate, 100*rotate)
	if err != nil {
		t.Fatal(err)
	}
	if len(k2) != 2 || k2[1].ID != k1[0].ID || k2[0].ID == k1[0].ID || string(k2[0].Secret) == string(k1[0].Secret) ||
		!k2[0].Created.Equal(t0.Add(rotate)) {
		t.Fatalf("SessionKeys after rotateAfter = %+v, want [new, first]", k2)
	}
	k3, err := s.SessionKeys(ctx, t0.Add(rotate+time.Hour), rotate, 100*rotate)
	if err != nil {
		t.Fatal(err)
	}
	if len(k3) != 2 || k3[0].ID != k2[0].ID {
		t.Errorf("SessionKeys soon after rotation = %+v, want the same two", k3)
	}
	k4, err := s.SessionKeys(ctx, t0.Add(3*rotate), rotate, 100*rotate)
	if err != nil {
		t.Fatal(err)
	}
	if len(k4) != 3 || k4[1].ID != k2[0].ID || k4[2].ID != k1[0].ID {
		t.Errorf("third key: %+v, want newest first", k4)
	}
}

func TestCreateTokenForgetsOldTokens(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	old := loginToken("old", "ada@acme.example", "acme", t0)                        // expires t0+15m
	recent := loginToken("recent", "bob@acme.example", "acme", t0.Add(2*time.Hour)) // expires t0+2h15m
	for _, tk := range []edge.Token{old, recent} {
		if err := s.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	// New token created 24h after "old" expired, to the millisecond: kept.
	if err := s.CreateToken(ctx, loginToken("n1", "cy@acme.example", "acme", old.Expires.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if n := countTokens(t, s); n != 3 {
		t.Errorf("%d tokens after a token created exactly 24h after expiry, want 3 (none deleted)", n)
	}
	// 1ms more: the old one is deleted, the recent one (expired < 24h ago) is kept.
	if err := s.CreateToken(ctx, loginToken("n2", "cy@acme.example", "acme", old.Expires.Add(24*time.Hour+time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if n := countTokens(t, s); n != 3 {
		t.Errorf("%d tokens, want 3 (old deleted, recent, n1, n2 kept)", n)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM tokens WHERE hash = ?`, old.Hash).Scan(&n); err != nil || n != 0 {
		t.Errorf("old token still stored (%d, %v)", n, err)
	}
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM tokens WHERE hash = ?`, recent.Hash).Scan(&n); err != nil || n != 1 {
		t.Errorf("recent token deleted (%d, %v)", n, err)
	}
	// Spent tokens are deleted the same way.
	if _, err := s.ConsumeToken(ctx, hash("n1"), old.Expires.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, loginToken("n3", "cy@acme.example", "acme", old.Expires.Add(100*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if n := countTokens(t, s); n != 1 {
		t.Errorf("%d tokens after all others expired > 24h ago, want 1", n)
	}
}

// Activity's Invited is "the last login email; zero if never". It comes
// from the tokens table, which CreateToken prunes a day after expiry, so a
// contact who was emailed a link and has not logged in yet drops back to
// "not invited" as soon as anyone asks for a link a day later.
func TestInvitedSurvivesTokenPruning(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	if err := s.CreateToken(ctx, loginToken("inv", "cy@acme.example", "acme", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, loginToken("other", "bob@acme.example", "acme", t0.Add(48*time.Hour))); err != nil {
		t.Fatal(err)
	}
	acts, err := s.Activity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a := merged(acts)[ck{"cy@acme.example", "acme"}]; !a.Invited.Equal(t0) {
		t.Errorf("Activity reports cy@acme.example invited at %v after another contact's link was created 2 days later, want %v: "+
			"CreateToken deletes tokens expired > 24h, and Activity derives Invited from those tokens only", a.Invited, t0)
	}
}
