package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

var sessionTests = []test{
	{"Tokens", testTokens},
	{"ConsumeTokenConcurrent", func(t *testing.T, s Store) { consumeRace(t, s, s) }},
	{"CreateTokenForgetsOldTokens", testTokenPruning},
	{"InvitedSurvivesTokenPruning", testInvitedSurvivesPruning},
	{"Epochs", testEpochs},
	{"ContactEpochs", testContactEpochs},
	{"Revocations", testRevocations},
	{"RevocationsConcurrent", testRevocationsConcurrent},
	{"SessionKeys", testSessionKeys},
	{"SessionKeysRetire", testSessionKeysRetire},
	{"SessionKeysConcurrentFirst", testSessionKeysConcurrent},
	{"LoginsActivityDelegations", testLogins},
	{"Times", testTimes},
}

func testTokens(t *testing.T, s Store) {
	ctx := context.Background()
	tok := LoginToken("secret-1", "ada@acme.example", "acme", T0)
	must(t, s.CreateToken(ctx, tok))
	del := edge.Token{Hash: Hash("secret-2"), Purpose: edge.TokenDelegate, Email: "ada@acme.example", ClientID: "acme",
		Staff: "sam@greenleaf.example", Next: "/", Created: T0, Expires: T0.Add(10 * time.Minute)}
	must(t, s.CreateToken(ctx, del))
	// The same hash twice is refused.
	if err := s.CreateToken(ctx, tok); err == nil {
		t.Error("CreateToken accepted a duplicate hash")
	}

	// Peek does not spend, any number of times.
	for range 3 {
		got, err := s.PeekToken(ctx, tok.Hash, T0.Add(time.Minute))
		if err != nil {
			t.Fatalf("PeekToken: %v", err)
		}
		SameToken(t, got, tok)
	}
	got, err := s.PeekToken(ctx, del.Hash, T0)
	must(t, err)
	SameToken(t, got, del)

	// Consume spends once.
	got, err = s.ConsumeToken(ctx, tok.Hash, T0.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("ConsumeToken: %v", err)
	}
	SameToken(t, got, tok)
	tests := []struct {
		what string
		call func() (edge.Token, error)
	}{
		{"second ConsumeToken", func() (edge.Token, error) { return s.ConsumeToken(ctx, tok.Hash, T0.Add(2*time.Minute)) }},
		{"PeekToken after ConsumeToken", func() (edge.Token, error) { return s.PeekToken(ctx, tok.Hash, T0.Add(2*time.Minute)) }},
		{"PeekToken(unknown)", func() (edge.Token, error) { return s.PeekToken(ctx, Hash("nope"), T0) }},
		{"ConsumeToken(unknown)", func() (edge.Token, error) { return s.ConsumeToken(ctx, Hash("nope"), T0) }},
		{`ConsumeToken("")`, func() (edge.Token, error) { return s.ConsumeToken(ctx, "", T0) }},
	}
	for _, tt := range tests {
		_, err := tt.call()
		WantCode(t, tt.what, err, edge.ENotFound)
		if msg := edge.ErrorMessage(err); msg != "This link has expired or was already used." {
			t.Errorf("%s: message %q", tt.what, msg)
		}
	}

	// Expiry: usable strictly before Expires, not at or after it.
	exp := LoginToken("secret-3", "bob@acme.example", "acme", T0)
	must(t, s.CreateToken(ctx, exp))
	if _, err := s.PeekToken(ctx, exp.Hash, exp.Expires.Add(-time.Millisecond)); err != nil {
		t.Errorf("PeekToken 1ms before expiry: %v", err)
	}
	for _, at := range []time.Time{exp.Expires, exp.Expires.Add(time.Hour)} {
		_, err = s.PeekToken(ctx, exp.Hash, at)
		WantCode(t, fmt.Sprintf("PeekToken at expiry+%v", at.Sub(exp.Expires)), err, edge.ENotFound)
		_, err = s.ConsumeToken(ctx, exp.Hash, at)
		WantCode(t, fmt.Sprintf("ConsumeToken at expiry+%v", at.Sub(exp.Expires)), err, edge.ENotFound)
	}
	// A failed consume of an expired token did not spend it.
	if _, err := s.PeekToken(ctx, exp.Hash, T0); err != nil {
		t.Errorf("expired-consume attempt changed the token: %v", err)
	}
	if _, err := s.ConsumeToken(ctx, exp.Hash, T0.Add(14*time.Minute)); err != nil {
		t.Errorf("ConsumeToken before expiry: %v", err)
	}
	_, err = s.ConsumeToken(ctx, exp.Hash, T0.Add(14*time.Minute))
	WantCode(t, "ConsumeToken twice", err, edge.ENotFound)
}

// consumeRace spends each of three tokens from 20 goroutines spread over
// a and b: exactly one wins each time, the others are told not found.
func consumeRace(t *testing.T, a, b Store) {
	ctx := context.Background()
	for round := range 3 {
		tok := LoginToken(fmt.Sprintf("race-%d", round), "ada@acme.example", "acme", T0)
		must(t, a.CreateToken(ctx, tok))
		const n = 20
		var wg sync.WaitGroup
		start := make(chan struct{})
		var mu sync.Mutex
		ok, notFound := 0, 0
		var other []error
		for i := range n {
			st := []Store{a, b}[i%2]
			wg.Go(func() {
				<-start
				_, err := st.ConsumeToken(ctx, tok.Hash, T0.Add(time.Minute))
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
			})
		}
		close(start)
		wg.Wait()
		if ok != 1 || notFound != n-1 || len(other) > 0 {
			t.Fatalf("round %d: %d concurrent ConsumeToken: %d succeeded, %d not found, other errors %v; want exactly 1 success",
				round, n, ok, notFound, other)
		}
	}
}

// stored tells whether a token is still stored, spent or not: a Peek at a
// time before it was created finds it unless it was deleted or spent.
func stored(t *testing.T, s Store, tk edge.Token) bool {
	t.Helper()
	_, err := s.PeekToken(context.Background(), tk.Hash, tk.Created)
	if err != nil && edge.ErrorCode(err) != edge.ENotFound {
		t.Fatal(err)
	}
	return err == nil
}

func testTokenPruning(t *testing.T, s Store) {
	ctx := context.Background()
	old := LoginToken("old", "ada@acme.example", "acme", T0)                        // expires T0+15m
	recent := LoginToken("recent", "bob@acme.example", "acme", T0.Add(2*time.Hour)) // expires T0+2h15m
	must(t, s.CreateToken(ctx, old))
	must(t, s.CreateToken(ctx, recent))
	// A token created 24h after "old" expired, to the millisecond: none deleted.
	n1 := LoginToken("n1", "cy@acme.example", "acme", old.Expires.Add(24*time.Hour))
	must(t, s.CreateToken(ctx, n1))
	if !stored(t, s, old) || !stored(t, s, recent) || !stored(t, s, n1) {
		t.Errorf("a token created exactly 24h after another expired deleted it (old %v, recent %v, n1 %v)",
			stored(t, s, old), stored(t, s, recent), stored(t, s, n1))
	}
	// 1ms more: the old one is deleted, the recent one (expired < 24h ago) is kept.
	n2 := LoginToken("n2", "cy@acme.example", "acme", old.Expires.Add(24*time.Hour+time.Millisecond))
	must(t, s.CreateToken(ctx, n2))
	if stored(t, s, old) || !stored(t, s, recent) || !stored(t, s, n1) || !stored(t, s, n2) {
		t.Errorf("after a token 24h+1ms later: old stored %v (want false), recent %v, n1 %v, n2 %v (want true)",
			stored(t, s, old), stored(t, s, recent), stored(t, s, n1), stored(t, s, n2))
	}
	// Spent tokens are deleted the same way: recreating the spent hash works once it is forgotten.
	if _, err := s.ConsumeToken(ctx, n1.Hash, n1.Created); err != nil {
		t.Fatal(err)
	}
	must(t, s.CreateToken(ctx, LoginToken("n3", "cy@acme.example", "acme", old.Expires.Add(100*time.Hour))))
	again := LoginToken("n1", "cy@acme.example", "acme", old.Expires.Add(100*time.Hour))
	if err := s.CreateToken(ctx, again); err != nil {
		t.Errorf("a spent token expired > 24h ago is still stored: %v", err)
	}
	if stored(t, s, recent) || stored(t, s, n2) {
		t.Errorf("tokens expired > 24h ago still stored")
	}
}

// Activity's Invited is "the last login email; zero if never": it must
// outlive the token, which CreateToken prunes a day after expiry.
func testInvitedSurvivesPruning(t *testing.T, s Store) {
	ctx := context.Background()
	must(t, s.CreateToken(ctx, LoginToken("inv", "cy@acme.example", "acme", T0)))
	must(t, s.CreateToken(ctx, LoginToken("other", "bob@acme.example", "acme", T0.Add(48*time.Hour))))
	acts, err := s.Activity(ctx)
	must(t, err)
	if a := merged(acts)[ck{"cy@acme.example", "acme"}]; !a.Invited.Equal(T0) {
		t.Errorf("Activity reports cy@acme.example invited at %v after another contact's link was created 2 days later, want %v", a.Invited, T0)
	}
}

func testEpochs(t *testing.T, s Store) {
	ctx := context.Background()
	ep, err := s.Epochs(ctx)
	if err != nil || len(ep) != 0 {
		t.Fatalf("Epochs on a new store = %v, %v; want empty", ep, err)
	}
	for want := int64(1); want <= 3; want++ {
		if e, err := s.BumpEpoch(ctx, "acme"); err != nil || e != want {
			t.Fatalf("BumpEpoch(acme) = %d, %v; want %d", e, err, want)
		}
	}
	if e, err := s.BumpEpoch(ctx, "globex"); err != nil || e != 1 {
		t.Fatalf("BumpEpoch(globex) = %d, %v; want 1", e, err)
	}
	ep, err = s.Epochs(ctx)
	must(t, err)
	if len(ep) != 2 || ep["acme"] != 3 || ep["globex"] != 1 {
		t.Errorf("Epochs = %v, want acme:3 globex:1", ep)
	}
	// Concurrent bumps: each number once.
	seen := Parallel(t, 10, func(int) (int64, error) { return s.BumpEpoch(ctx, "initech") })
	if got := sorted(seen); fmt.Sprint(got) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Errorf("concurrent BumpEpoch returned %v, want 1..10 once each", got)
	}
}

func testContactEpochs(t *testing.T, s Store) {
	ctx := context.Background()
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
	must(t, err)
	if len(m) != 2 || m[ada] != 2 || m[adaGlobex] != 1 || m[bob] != 0 {
		t.Errorf("ContactEpochs = %v; want ada@acme 2, ada@globex 1 (lower-cased), bob absent", m)
	}
	if ep, err := s.Epochs(ctx); err != nil || len(ep) != 0 {
		t.Errorf("client Epochs = %v, %v; want none bumped", ep, err)
	}
}

func testRevocations(t *testing.T, s Store) {
	ctx := context.Background()
	hour := func(h int) time.Time { return T0.Add(time.Duration(h) * time.Hour) }
	if all, err := s.Revocations(ctx, 0); err != nil || len(all) != 0 {
		t.Fatalf("Revocations on a new store = %v, %v", all, err)
	}
	for _, r := range []edge.Revocation{{ID: "a", Expires: hour(2)}, {ID: "b", Expires: hour(10)}, {ID: "a", Expires: hour(2)}} {
		must(t, s.RevokeSession(ctx, r, T0))
	}
	all, err := s.Revocations(ctx, 0)
	must(t, err)
	if len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" || all[0].Seq >= all[1].Seq || !all[1].Expires.Equal(hour(10)) {
		t.Fatalf("Revocations(0) = %+v; want a then b, once each, in order", all)
	}
	// Incremental: only what came after the last seq seen.
	must(t, s.RevokeSession(ctx, edge.Revocation{ID: "c", Expires: hour(20)}, hour(3)))
	next, err := s.Revocations(ctx, all[1].Seq)
	if err != nil || len(next) != 1 || next[0].ID != "c" || next[0].Seq <= all[1].Seq {
		t.Errorf("Revocations(after b) = %+v, %v; want c only", next, err)
	}
	if none, err := s.Revocations(ctx, next[0].Seq); err != nil || len(none) != 0 {
		t.Errorf("Revocations(after c) = %+v, %v; want none", none, err)
	}
	// Recording at hour 3 pruned a (expired at hour 2).
	all, err = s.Revocations(ctx, 0)
	if err != nil || len(all) != 2 || all[0].ID != "b" || all[1].ID != "c" {
		t.Errorf("Revocations after pruning = %+v, %v; want b, c", all, err)
	}
}

// testRevocationsConcurrent: a reader following Revocations by seq while
// writers revoke concurrently misses none and sees each once, in order.
func testRevocationsConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const writers, each = 6, 15
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.RevokeSession(ctx, edge.Revocation{ID: fmt.Sprintf("w%d-%d", w, i), Expires: T0.Add(time.Hour)}, T0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	seen := map[string]int{}
	var after int64
	read := func() {
		rs, err := s.Revocations(ctx, after)
		must(t, err)
		for _, r := range rs {
			if r.Seq <= after {
				t.Fatalf("Revocations(%d) returned seq %d", after, r.Seq)
			}
			after = r.Seq
			seen[r.ID]++
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		read()
	}
	read()
	if len(seen) != writers*each {
		t.Errorf("a reader following by seq saw %d of %d revocations", len(seen), writers*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("revocation %s seen %d times", id, n)
		}
	}
}

func testSessionKeys(t *testing.T, s Store) {
	ctx := context.Background()
	const rotate = 24 * time.Hour
	k1, err := s.SessionKeys(ctx, T0, rotate, 100*rotate)
	must(t, err)
	if len(k1) != 1 || len(k1[0].Secret) < 32 || k1[0].ID == "" || !k1[0].Created.Equal(T0) {
		t.Fatalf("first SessionKeys = %+v, want one fresh key of ≥32 bytes created at %v", k1, T0)
	}
	// Younger than rotateAfter: the same key.
	for _, at := range []time.Time{T0, T0.Add(time.Hour), T0.Add(rotate - time.Millisecond)} {
		k, err := s.SessionKeys(ctx, at, rotate, 100*rotate)
		must(t, err)
		if len(k) != 1 || k[0].ID != k1[0].ID || string(k[0].Secret) != string(k1[0].Secret) {
			t.Errorf("SessionKeys at +%v = %+v, want the first key only", at.Sub(T0), k)
		}
	}
	// Older: a new key first, the old one kept for sessions it signed.
	k2, err := s.SessionKeys(ctx, T0.Add(rotate), rotate, 100*rotate)
	must(t, err)
	if len(k2) != 2 || k2[1].ID != k1[0].ID || k2[0].ID == k1[0].ID || string(k2[0].Secret) == string(k1[0].Secret) ||
		!k2[0].Created.Equal(T0.Add(rotate)) {
		t.Fatalf("SessionKeys after rotateAfter = %+v, want [new, first]", k2)
	}
	k3, err := s.SessionKeys(ctx, T0.Add(rotate+time.Hour), rotate, 100*rotate)
	must(t, err)
	if len(k3) != 2 || k3[0].ID != k2[0].ID {
		t.Errorf("SessionKeys soon after rotation = %+v, want the same two", k3)
	}
	k4, err := s.SessionKeys(ctx, T0.Add(3*rotate), rotate, 100*rotate)
	must(t, err)
	if len(k4) != 3 || k4[1].ID != k2[0].ID || k4[2].ID != k1[0].ID {
		t.Errorf("third key: %+v, want newest first", k4)
	}
}

func testSessionKeysRetire(t *testing.T, s Store) {
	ctx := context.Background()
	const rotate, retire = 30 * 24 * time.Hour, 60 * 24 * time.Hour
	day := func(d int) time.Time { return T0.Add(time.Duration(d) * 24 * time.Hour) }
	ids := map[int]string{} // the key made on each day
	for _, d := range []int{0, 30, 60, 90} {
		k, err := s.SessionKeys(ctx, day(d), rotate, retire)
		must(t, err)
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
		must(t, err)
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
		if !slices.Equal(got, want) {
			t.Errorf("SessionKeys on day %d = %v; want %v (days %v)", tt.at, got, want, tt.want)
		}
	}
}

// testSessionKeysConcurrent: edges starting together on an empty store
// all get the same key list (one key), not one each.
func testSessionKeysConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	for round, at := range []time.Time{T0, T0.Add(48 * time.Hour)} { // first key, then a rotation
		lists := Parallel(t, 8, func(int) ([]edge.SessionKey, error) { return s.SessionKeys(ctx, at, 24*time.Hour, 100*24*time.Hour) })
		want := keyIDs(lists[0])
		if len(want) != round+1 {
			t.Errorf("round %d: SessionKeys = %v; want %d keys", round, want, round+1)
		}
		for i, l := range lists {
			if got := keyIDs(l); !slices.Equal(got, want) {
				t.Errorf("round %d: caller %d got keys %v, caller 0 %v; want one list", round, i, got, want)
			}
		}
		after, err := s.SessionKeys(ctx, at, 24*time.Hour, 100*24*time.Hour)
		must(t, err)
		if got := keyIDs(after); !slices.Equal(got, want) {
			t.Errorf("round %d: SessionKeys after the race = %v; want %v", round, got, want)
		}
	}
}

func keyIDs(keys []edge.SessionKey) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
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

func testLogins(t *testing.T, s Store) {
	ctx := context.Background()
	acts, err := s.Activity(ctx)
	if err != nil || len(acts) != 0 {
		t.Fatalf("Activity on a new store = %v, %v", acts, err)
	}
	ds, err := s.Delegations(ctx, 10)
	if err != nil || len(ds) != 0 {
		t.Fatalf("Delegations on a new store = %v, %v", ds, err)
	}
	// Invitations: login and document tokens (not delegate tokens), latest per contact.
	for _, tk := range []edge.Token{
		LoginToken("inv-1", "ada@acme.example", "acme", T0),
		LoginToken("inv-2", "ada@acme.example", "acme", T0.Add(time.Hour)),
		LoginToken("inv-3", "cy@acme.example", "acme", T0.Add(2*time.Hour)),
		LoginToken("inv-4", "ada@acme.example", "", T0.Add(3*time.Hour)),        // contact chooses the client
		LoginToken("inv-5", "ada@acme.example", "acme", T0.Add(30*time.Minute)), // older than inv-2: Invited stays
		{Hash: Hash("del-1"), Purpose: edge.TokenDelegate, Email: "dee@acme.example", ClientID: "acme", Staff: "sam@greenleaf.example",
			Created: T0.Add(4 * time.Hour), Expires: T0.Add(4*time.Hour + 10*time.Minute)},
		// A document email invites too.
		{Hash: Hash("doc-1"), Purpose: edge.TokenDocument, Email: "eve@acme.example", ClientID: "acme", Next: "/c/acme/invoices/I-1/",
			Created: T0.Add(90 * time.Minute), Expires: T0.Add(90*time.Minute + 7*24*time.Hour)},
	} {
		must(t, s.CreateToken(ctx, tk))
	}
	logins := []edge.Login{
		{Email: "ada@acme.example", ClientID: "acme", At: T0.Add(5 * time.Minute), IP: "192.0.2.1", UA: "A"},
		{Email: "ada@acme.example", ClientID: "acme", At: T0.Add(48 * time.Hour), IP: "192.0.2.1", UA: "A"},
		{Email: "ada@acme.example", ClientID: "acme", At: T0.Add(24 * time.Hour), IP: "192.0.2.2", UA: "B"}, // recorded out of order
		{Email: "ada@acme.example", ClientID: "globex", At: T0.Add(30 * time.Hour)},
		{Email: "bob@acme.example", ClientID: "acme", At: T0.Add(6 * time.Hour)},
		// Staff logins as a contact: not the contact's activity.
		{Email: "dee@acme.example", ClientID: "acme", Staff: "sam@greenleaf.example", At: T0.Add(4*time.Hour + time.Minute), IP: "198.51.100.7", UA: "S"},
		{Email: "ada@acme.example", ClientID: "acme", Staff: "kim@greenleaf.example", At: T0.Add(50 * time.Hour), IP: "198.51.100.8", UA: "K"},
		{Email: "ada@acme.example", ClientID: "acme", Staff: "sam@greenleaf.example", At: T0.Add(10 * time.Hour), IP: "198.51.100.7", UA: "S"},
	}
	for _, l := range logins {
		must(t, s.RecordLogin(ctx, l))
	}
	acts, err = s.Activity(ctx)
	must(t, err)
	m := merged(acts)
	var zero time.Time
	tests := []struct {
		k                     ck
		invited, joined, last time.Time
		n                     int
	}{
		{ck{"ada@acme.example", "acme"}, T0.Add(time.Hour), T0.Add(5 * time.Minute), T0.Add(48 * time.Hour), 3},
		{ck{"ada@acme.example", "globex"}, zero, T0.Add(30 * time.Hour), T0.Add(30 * time.Hour), 1},
		{ck{"ada@acme.example", ""}, T0.Add(3 * time.Hour), zero, zero, 0},
		{ck{"bob@acme.example", "acme"}, zero, T0.Add(6 * time.Hour), T0.Add(6 * time.Hour), 1},
		{ck{"cy@acme.example", "acme"}, T0.Add(2 * time.Hour), zero, zero, 0},
		{ck{"eve@acme.example", "acme"}, T0.Add(90 * time.Minute), zero, zero, 0},
	}
	for _, tt := range tests {
		a, ok := m[tt.k]
		if !ok {
			t.Errorf("no activity for %v", tt.k)
			continue
		}
		if !a.Invited.Equal(tt.invited) || !a.Joined.Equal(tt.joined) || !a.LastLogin.Equal(tt.last) || a.Logins != tt.n {
			t.Errorf("%v: invited %v joined %v last %v logins %d; want %v %v %v %d",
				tt.k, a.Invited, a.Joined, a.LastLogin, a.Logins, tt.invited, tt.joined, tt.last, tt.n)
		}
	}
	if a, ok := m[ck{"dee@acme.example", "acme"}]; ok {
		t.Errorf("delegate-only contact has activity %+v (staff logins and delegate links are not the contact's)", a)
	}
	if len(m) != len(tests) {
		t.Errorf("activity for %d contacts, want %d: %v", len(m), len(tests), m)
	}
	for _, a := range acts {
		for _, tm := range []time.Time{a.Invited, a.Joined, a.LastLogin} {
			checkTime(t, "Activity", tm)
		}
	}
	// Delegations: staff logins only, newest first, limited.
	ds, err = s.Delegations(ctx, 10)
	must(t, err)
	want := []edge.Login{logins[6], logins[7], logins[5]}
	if len(ds) != len(want) {
		t.Fatalf("Delegations = %+v, want %+v", ds, want)
	}
	for i := range want {
		if ds[i].Email != want[i].Email || ds[i].ClientID != want[i].ClientID || ds[i].Staff != want[i].Staff ||
			!ds[i].At.Equal(want[i].At) || ds[i].IP != want[i].IP || ds[i].UA != want[i].UA {
			t.Errorf("Delegations[%d] = %+v, want %+v", i, ds[i], want[i])
		}
		checkTime(t, "Delegations", ds[i].At)
	}
	ds, err = s.Delegations(ctx, 2)
	if err != nil || len(ds) != 2 || !ds[0].At.Equal(logins[6].At) {
		t.Errorf("Delegations(2) = %+v, %v; want the 2 newest", ds, err)
	}
}

// checkTime checks a time the store returned: UTC, whole milliseconds (or zero).
func checkTime(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.IsZero() {
		return
	}
	if tm.Location() != time.UTC || tm.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("%s: time %v is not UTC in whole milliseconds", what, tm)
	}
}

// testTimes: times come back in UTC, cut to whole milliseconds, whatever
// zone they went in with; zero times stay zero.
func testTimes(t *testing.T, s Store) {
	ctx := context.Background()
	zone := time.FixedZone("UTC-5", -5*3600)
	in := time.Date(2026, 3, 2, 4, 30, 0, 123456789, zone)
	want := in.Truncate(time.Millisecond).UTC()
	tok := LoginToken("times", "ada@acme.example", "acme", in)
	must(t, s.CreateToken(ctx, tok))
	got, err := s.PeekToken(ctx, tok.Hash, in)
	must(t, err)
	if !got.Created.Equal(want) || got.Created.Location() != time.UTC || !got.Expires.Equal(want.Add(15*time.Minute)) {
		t.Errorf("token times %v, %v; want %v and 15 minutes later, in UTC", got.Created, got.Expires, want)
	}
	// A token is usable until its expiry to the millisecond.
	if _, err := s.PeekToken(ctx, tok.Hash, tok.Expires.Add(-time.Millisecond)); err != nil {
		t.Errorf("PeekToken 1ms before expiry (sub-millisecond times): %v", err)
	}
	must(t, s.RecordLogin(ctx, edge.Login{Email: "ada@acme.example", ClientID: "acme", Staff: "sam", At: in}))
	ds, err := s.Delegations(ctx, 1)
	must(t, err)
	if len(ds) != 1 || !ds[0].At.Equal(want) || ds[0].At.Location() != time.UTC {
		t.Errorf("Delegations = %+v; want At %v in UTC", ds, want)
	}
	// A payment not yet settled has a zero Settled.
	must(t, s.CreatePayment(ctx, payment("cs_t", "acme", "INV-1", 100)))
	p, err := s.Payment(ctx, "cs_t")
	must(t, err)
	if !p.Settled.IsZero() {
		t.Errorf("Settled of a pending payment = %v; want zero", p.Settled)
	}
	checkTime(t, "Payment.Created", p.Created)
	// A queued email has zero Done; zero Next stays zero once marked sent.
	must(t, s.QueueMail(ctx, in, edge.Message{ID: "t@hub.example", Subject: "x"}))
	ms, err := s.Mails(ctx, "", 10)
	must(t, err)
	if len(ms) != 1 || !ms[0].Done.IsZero() || !ms[0].Created.Equal(want) || !ms[0].Next.Equal(want) {
		t.Errorf("Mails = %+v; want Created = Next = %v, Done zero", ms, want)
	}
	must(t, s.MarkMail(ctx, "t@hub.example", edge.MailUpdate{Status: edge.MailSent, Attempts: 1, At: in}))
	ms, err = s.Mails(ctx, "", 10)
	must(t, err)
	if len(ms) != 1 || !ms[0].Next.IsZero() || !ms[0].Done.Equal(want) {
		t.Errorf("Mails after MarkMail(sent) = %+v; want Next zero, Done %v", ms, want)
	}
}
