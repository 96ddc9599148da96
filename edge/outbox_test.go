package edge_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

// TestApprovalMailWithoutRebuild: when the rebuild after an approval
// fails, the emails queued with it are released as first written: they
// name the quote and point to it for the total of the options chosen,
// rather than a total that leaves them out. Each went through the outbox.
func TestApprovalMailWithoutRebuild(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(f *fixture) {
		f.tune = func(c *edge.Config) {
			c.RebuildClient = func(context.Context, []string) error { return errors.New("rebuild broken on purpose") }
		}
	})
	c := f.login("okafor-residence")
	version, _ := f.quoteDoc("Q-1002")
	r := f.do(c, "POST", "/c/okafor-residence/quotes/Q-1002/approve", url.Values{"version": {version}, "name": {"Grace Okafor"}, "opt": {"4"}, "nonce": {"a1"}})
	if r.StatusCode != 303 {
		t.Fatalf("approve = %d\n%s", r.StatusCode, readBody(t, r))
	}
	var client edge.Message
	for range 2 {
		select {
		case m := <-f.mail.sent:
			if strings.Contains(m.Subject, "You approved quote Q-1002") {
				client = m
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the approval's emails were not sent")
		}
	}
	if !strings.Contains(client.Text, "with the options you chose: see the quote") || !strings.Contains(client.Text, "Grace Okafor") {
		t.Errorf("client's approval email without a rebuild:\n%s", client.Text)
	}
	sent, err := f.store.Mails(context.Background(), edge.MailSent, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range sent {
		found = found || m.ID == client.ID
	}
	if client.ID == "" || !found {
		t.Errorf("the approval email %q is not marked sent in the outbox (%d sent)", client.ID, len(sent))
	}
}
