package edge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

// TestMessageThread: a contact writes on a quote's thread; the message is
// recorded with the business's email, the answer lands on the thread,
// which shows it; a staff reply is recorded, emails the client a link to
// the thread, and shows after the rebuild.
func TestMessageThread(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	r := f.do(c, "POST", "/c/okafor-residence/messages", url.Values{"thread": {"quote/Q-1002"}, "seen": {"0"}, "body": {"Can the bench be cedar?\nThanks."}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/c/okafor-residence/quotes/Q-1002/#messages" {
		t.Fatalf("message = %d to %q; want 303 to the quote's thread\n%s", r.StatusCode, r.Header.Get("Location"), readBody(t, r))
	}
	page := readBody(t, f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/", nil))
	if !strings.Contains(page, "Can the bench be cedar?") || !strings.Contains(page, "Ngozi Okafor") {
		t.Errorf("the quote page does not show the message and who wrote it")
	}
	// The same form again (no script, so no nonce): recorded once.
	f.do(c, "POST", "/c/okafor-residence/messages", url.Values{"thread": {"quote/Q-1002"}, "seen": {"0"}, "body": {"Can the bench be cedar?\nThanks."}})
	facts, _ := f.store.Facts(context.Background(), "okafor-residence")
	if len(facts.Messages) != 1 || facts.Messages[0].Email != "ngozi.okafor@example.com" || facts.Messages[0].Thread != "quote/Q-1002" {
		t.Fatalf("messages = %+v; want the one", facts.Messages)
	}
	if marks, err := f.store.ReadMarks(context.Background(), "okafor-residence", "ngozi.okafor@example.com"); err != nil || marks["quote/Q-1002"].IsZero() {
		t.Errorf("read marks after writing = %v, %v; want the thread marked read", marks, err)
	}
	site := f.srv.Build().Directory.Site
	f.awaitMail("the business's notice", func(m edge.Message) bool {
		return m.To[0].Email == site.Email && strings.Contains(m.Subject, "Message from Ngozi Okafor about quote Q-1002") &&
			strings.Contains(m.Text, "Can the bench be cedar?") && strings.Contains(m.Text, "hub reply okafor-residence quote/Q-1002")
	})

	msg, to, err := f.messages().Reply(context.Background(), f.srv.Build(), f.store, "okafor-residence", "quote/Q-1002", "Sam", "Yes, cedar is the same price.", "")
	if err != nil || len(to) != 1 {
		t.Fatalf("Reply = %v, %v", to, err)
	}
	mails := f.awaitMail("the client's copy of the reply", func(m edge.Message) bool {
		return m.To[0].Email == "ngozi.okafor@example.com" && strings.Contains(m.Text, "cedar is the same price")
	})
	var link string
	for _, m := range mails {
		if strings.Contains(m.Text, "cedar is the same price") {
			link = linkRE.FindString(m.Text)
		}
	}
	// The link signs in and lands on the thread.
	nc := f.client()
	if r := f.do(nc, "POST", link, url.Values{}); r.StatusCode != 303 || r.Header.Get("Location") != "/c/okafor-residence/quotes/Q-1002/#messages" {
		t.Errorf("the reply's link = %d to %q; want the thread", r.StatusCode, r.Header.Get("Location"))
	}
	f.waitUntil("the reply on the page", func() bool {
		return strings.Contains(readBody(t, f.do(c, "GET", "/c/okafor-residence/quotes/Q-1002/", nil)), "Yes, cedar is the same price.")
	})
	home := readBody(t, f.do(c, "GET", "/c/okafor-residence/", nil))
	if !strings.Contains(home, "New reply") || !strings.Contains(home, "cedar is the same price") {
		t.Errorf("the home page does not show the new reply")
	}
	if msg.Staff != "Sam" || msg.Email != "" {
		t.Errorf("reply = %+v; want Sam's, as staff", msg)
	}
}

// TestMessageRefused: threads a client may not write in, bad bodies, and
// delegates.
func TestMessageRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	long := strings.Repeat("a", 5001)
	cases := []struct {
		name, client, thread, body string
		status                     int
	}{
		{"another client's quote", "okafor-residence", "quote/Q-1009", "hi", 404},
		{"a quote that does not exist", "okafor-residence", "quote/Q-9999", "hi", 404},
		{"another client's hub", "whitfield-dental", "general", "hi", 404},
		{"no thread", "okafor-residence", "", "hi", 404},
		{"a path", "okafor-residence", "portal/../../x", "hi", 404},
		{"a portal of another client", "okafor-residence", "portal/courtyard-renovation", "hi", 404},
		{"empty", "okafor-residence", "general", "  \n", 400},
		{"too long", "okafor-residence", "general", long, 400},
		{"control characters", "okafor-residence", "general", "a\x00b", 400},
	}
	for _, tc := range cases {
		r := f.do(c, "POST", "/c/"+tc.client+"/messages", url.Values{"thread": {tc.thread}, "body": {tc.body}})
		if r.StatusCode != tc.status {
			t.Errorf("%s: %d; want %d", tc.name, r.StatusCode, tc.status)
		}
	}
	if r := f.do(c, "POST", "/c/okafor-residence/messages", url.Values{"thread": {"general"}, "body": {strings.Repeat("é", 40000)}}); r.StatusCode != 413 {
		t.Errorf("an oversized body = %d; want 413", r.StatusCode)
	}
	if r := f.do(c, "GET", "/c/okafor-residence/messages", nil); r.StatusCode != 405 {
		t.Errorf("GET of the form's address = %d; want 405", r.StatusCode)
	}
	link, _ := f.messages().DelegateLink(context.Background(), f.srv.Build(), "okafor-residence", "Sam")
	d := f.client()
	f.do(d, "POST", mustURL(link).Path, url.Values{})
	if r := f.do(d, "POST", "/c/okafor-residence/messages", url.Values{"thread": {"general"}, "body": {"hi"}}); r.StatusCode != 403 {
		t.Errorf("a delegate's message = %d; want 403", r.StatusCode)
	}
	if r := f.do(d, "GET", "/c/okafor-residence/messages/", nil); r.StatusCode != 200 {
		t.Errorf("a delegate reading the Messages page = %d; want 200", r.StatusCode)
	}
	if r := f.do(c, "POST", "/c/okafor-residence/messages", url.Values{"thread": {"portal/rain-garden"}, "body": {"ok"}}); r.StatusCode != 303 {
		t.Errorf("a message on the client's own portal = %d; want 303", r.StatusCode)
	}
	if facts, _ := f.store.Facts(context.Background(), "okafor-residence"); len(facts.Messages) != 1 {
		t.Errorf("messages = %+v; want only the portal's", facts.Messages)
	}
}

// TestMessagePhotos: a message with photos stores them durably and shows
// them to that client only; too many photos, or a file that is not a
// photo, are refused with nothing stored; the upload sweep at start keeps
// a recorded message's photos however old.
func TestMessagePhotos(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	photo := pngBytes(t, 40, 30)
	ct, body := photoForm(t, map[string]string{"thread": "general", "body": "The downspout, see photo."}, [2]any{"spout.png", photo})
	if r := f.postMultipart(c, "/c/okafor-residence/messages", ct, body); r.StatusCode != 303 || r.Header.Get("Location") != "/c/okafor-residence/messages/#messages" {
		t.Fatalf("message with a photo = %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), readBody(t, r))
	}
	facts, _ := f.store.Facts(context.Background(), "okafor-residence")
	if len(facts.Messages) != 1 || len(facts.Messages[0].Files) != 1 || facts.Messages[0].Files[0].Type != "image/png" {
		t.Fatalf("messages = %+v; want one with its photo", facts.Messages)
	}
	m := facts.Messages[0]
	url := "/c/okafor-residence/messages/" + m.ID + "/1-spout.png"
	if page := readBody(t, f.do(c, "GET", "/c/okafor-residence/messages/", nil)); !strings.Contains(page, url) {
		t.Errorf("the Messages page does not show the photo %s", url)
	}
	if r := f.do(c, "GET", url, nil); r.StatusCode != 200 || readBody(t, r) != string(photo) {
		t.Errorf("photo = %d", r.StatusCode)
	}
	if r := f.do(f.login("whitfield-dental"), "GET", url, nil); r.StatusCode == 200 {
		t.Error("another client opened the photo")
	}
	f.awaitMail("the notice says there is a photo", func(em edge.Message) bool {
		return strings.Contains(em.Subject, "Message from Ngozi Okafor") && strings.Contains(em.Text, "Photos: 1")
	})

	before := f.uploadEntries("okafor-residence")
	five := make([][2]any, 5)
	for i := range five {
		five[i] = [2]any{fmt.Sprintf("p%d.png", i), photo}
	}
	refused := []struct {
		name   string
		photos [][2]any
	}{
		{"five photos", five},
		{"not a photo", [][2]any{{"notes.txt", []byte("plain text, not a picture")}}},
	}
	for _, tc := range refused {
		ct, body := photoForm(t, map[string]string{"thread": "general", "body": "x " + tc.name}, tc.photos...)
		if r := f.postMultipart(c, "/c/okafor-residence/messages", ct, body); r.StatusCode != 400 {
			t.Errorf("%s: %d; want 400", tc.name, r.StatusCode)
		}
	}
	if got := f.uploadEntries("okafor-residence"); len(got) != len(before) {
		t.Errorf("refused messages stored %v (was %v)", got, before)
	}
	if facts, _ := f.store.Facts(context.Background(), "okafor-residence"); len(facts.Messages) != 1 {
		t.Errorf("messages = %d; want 1", len(facts.Messages))
	}

	dir := filepath.Join(f.uploads(), "okafor-residence", m.ID)
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	f.start()
	if got := f.uploadEntries("okafor-residence"); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Errorf("after a restart: %v; want %v (a recorded message's photos kept)", got, before)
	}
}

// TestUnreadPerContact: an answer from the business is unread for each
// contact of the client until that contact's page marks it read; a
// delegate sees nothing unread and cannot mark anything read.
func TestUnreadPerContact(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.srv.Build()
	cl, _ := b.Client("whitfield-dental")
	if len(cl.Contacts) < 2 {
		t.Fatal("the sample's whitfield-dental has fewer than two contacts")
	}
	a, other := f.loginAs(cl.Contacts[0].Email, "whitfield-dental"), f.loginAs(cl.Contacts[1].Email, "whitfield-dental")
	unread := func(c *http.Client) string {
		t.Helper()
		r := f.do(c, "GET", "/c/whitfield-dental/messages/unread", nil)
		if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "private, no-store" {
			t.Fatalf("unread = %d %q", r.StatusCode, r.Header.Get("Cache-Control"))
		}
		return strings.TrimSpace(readBody(t, r))
	}
	if got := unread(a); got != `{"unread":[]}` {
		t.Errorf("unread before any message = %s", got)
	}
	if r := f.do(a, "POST", "/c/whitfield-dental/messages", url.Values{"thread": {"invoice/INV-2001"}, "body": {"Is this paid?"}}); r.StatusCode != 303 {
		t.Fatalf("message = %d", r.StatusCode)
	}
	f.clock.Add(time.Minute)
	if _, _, err := f.messages().Reply(context.Background(), f.srv.Build(), f.store, "whitfield-dental", "invoice/INV-2001", "Sam", "Yes, thank you.", ""); err != nil {
		t.Fatal(err)
	}
	want := `{"unread":["invoice/INV-2001"]}`
	if got := unread(a); got != want {
		t.Errorf("unread for the writer after the answer = %s; want %s", got, want)
	}
	if got := unread(other); got != want {
		t.Errorf("unread for the other contact = %s; want %s", got, want)
	}
	f.clock.Add(time.Minute)
	if r := f.do(a, "POST", "/c/whitfield-dental/messages/read", url.Values{"thread": {"invoice/INV-2001"}}); r.StatusCode != 204 {
		t.Errorf("read = %d; want 204", r.StatusCode)
	}
	if got := unread(a); got != `{"unread":[]}` {
		t.Errorf("unread after reading = %s", got)
	}
	if got := unread(other); got != want {
		t.Errorf("the other contact's unread after the first read = %s; want %s", got, want)
	}
	if r := f.do(f.client(), "GET", "/c/whitfield-dental/messages/unread", nil); r.StatusCode != 401 {
		t.Errorf("unread without a session = %d; want 401", r.StatusCode)
	}
	if r := f.do(a, "GET", "/c/okafor-residence/messages/unread", nil); r.StatusCode != 401 {
		t.Errorf("another client's unread = %d; want 401", r.StatusCode)
	}
	link, _ := f.messages().DelegateLink(context.Background(), f.srv.Build(), "whitfield-dental", "Sam")
	d := f.client()
	f.do(d, "POST", mustURL(link).Path, url.Values{})
	if got := unread(d); got != `{"unread":[]}` {
		t.Errorf("a delegate's unread = %s", got)
	}
	if r := f.do(d, "POST", "/c/whitfield-dental/messages/read", url.Values{"thread": {"invoice/INV-2001"}}); r.StatusCode != 403 {
		t.Errorf("a delegate's read = %d; want 403", r.StatusCode)
	}
}
