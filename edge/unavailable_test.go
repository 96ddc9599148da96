package edge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
	"github.com/hubhq/hub/generator/events"
)

// downStore is a store that can go down: while down, every call the edge
// makes to record or read state fails as an unreachable database's would.
type downStore struct {
	edge.Store
	down atomic.Bool
}

func (d *downStore) err() error {
	if d.down.Load() {
		return fmt.Errorf("dial tcp 127.0.0.1:5432: connection refused: %w", edge.ErrUnavailable)
	}
	return nil
}

func (d *downStore) CreateToken(ctx context.Context, t edge.Token) error {
	if err := d.err(); err != nil {
		return err
	}
	return d.Store.CreateToken(ctx, t)
}

func (d *downStore) ConsumeToken(ctx context.Context, hash string, now time.Time) (edge.Token, error) {
	if err := d.err(); err != nil {
		return edge.Token{}, err
	}
	return d.Store.ConsumeToken(ctx, hash, now)
}

func (d *downStore) RecordRequest(ctx context.Context, client, nonce string, r events.Request, mail []edge.Message) (bool, error) {
	if err := d.err(); err != nil {
		return false, err
	}
	return d.Store.RecordRequest(ctx, client, nonce, r, mail)
}

func (d *downStore) Epochs(ctx context.Context) (map[string]int64, error) {
	if err := d.err(); err != nil {
		return nil, err
	}
	return d.Store.Epochs(ctx)
}

func (d *downStore) Revocations(ctx context.Context, after int64) ([]edge.Revocation, error) {
	if err := d.err(); err != nil {
		return nil, err
	}
	return d.Store.Revocations(ctx, after)
}

// TestStoreDown: with the database unreachable, a signed-in client still
// gets their pages (sessions are checked in memory), while what would be
// recorded (a work request, a sign-in, asking for a link) gets 503 with Retry-After and a
// message that says nothing was saved; once it is back, the same form
// records.
func TestStoreDown(t *testing.T) {
	t.Parallel()
	var ds *downStore
	f := newFixtureWith(t, nil, func(f *fixture) {
		f.wrap = func(s edge.Store) edge.Store { ds = &downStore{Store: s}; return ds }
	})
	c := f.login("okafor-residence")
	link := f.linkFor(f.contactEmail("lindqvist"), "lindqvist")
	ds.down.Store(true)
	if r := f.do(c, "GET", "/c/okafor-residence/", nil); r.StatusCode != 200 {
		t.Errorf("hub page with the store down = %d; want 200", r.StatusCode)
	}
	form := url.Values{"title": {"Gutter cleaning"}, "nonce": {"down-1"}}
	r := f.do(c, "POST", "/c/okafor-residence/requests/new", form)
	body := readBody(t, r)
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(body, "nothing was saved") {
		t.Errorf("work request with the store down = %d, Retry-After %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), body)
	}
	u, _ := url.Parse(link)
	if r := f.do(f.client(), "POST", u.Path, url.Values{}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sign-in with the store down = %d; want 503", r.StatusCode)
	}
	f.waitUntil("the edge's own read of the store fails", func() bool { return strings.Contains(f.logs.String(), "reading session epochs") })
	if r := f.do(f.client(), "POST", "/login", url.Values{"email": {f.contactEmail("lindqvist")}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("asking for a sign-in link with the store down = %d; want 503 (the link could not be recorded)", r.StatusCode)
	}
	ds.down.Store(false)
	f.waitUntil("the edge notices the store is back", func() bool { return strings.Contains(f.logs.String(), "reachable again") })
	if r := f.do(f.client(), "POST", "/login", url.Values{"email": {f.contactEmail("lindqvist")}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("asking for a sign-in link once the store is back = %d; want 303", r.StatusCode)
	}
	if r := f.do(c, "POST", "/c/okafor-residence/requests/new", form); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the same work request once the store is back = %d; want 303", r.StatusCode)
	}
	if r := f.do(f.client(), "POST", u.Path, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the same sign-in link once the store is back = %d; want 303 (it was not spent)", r.StatusCode)
	}
}
