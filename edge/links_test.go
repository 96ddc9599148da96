package edge_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

// documentLink sends invoice number's email (hub send) and returns the
// link and the text of the email to the client's first contact.
func (f *fixture) documentLink(number string) (string, edge.Message) {
	f.t.Helper()
	m := edge.NewMessages(f.srv.Build().Directory.Site, mustURL(f.url), f.store, f.mail, f.clock.Now, 0)
	sent, err := m.Document(context.Background(), f.srv.Build(), "invoice", number)
	if err != nil {
		f.t.Fatal(err)
	}
	var first edge.Message
	for i := range sent { // one per contact; the first contact's is returned
		select {
		case msg := <-f.mail.sent:
			if i == 0 {
				first = msg
			}
		case <-time.After(5 * time.Second):
			f.t.Fatal("no document email")
		}
	}
	u, _ := url.Parse(first.Links[0])
	return u.RequestURI(), first
}

// TestDocumentEmail: a document's email opens the document for 7 days
// (and says so) without the sign-in email's "if you did not ask" line.
// Within the sign-in lifetime (15 minutes) its link signs in, once; later
// it signs no one in (security: no sign-in link lives longer) but emails
// the contact a fresh sign-in link that lands on the document, or, for a
// browser signed in to the client, opens it.
func TestDocumentEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link, msg := f.documentLink("INV-2001")
	for _, body := range []string{msg.Text, msg.HTML} {
		if !strings.Contains(body, "opens the invoice for 7 days") || !strings.Contains(body, "In the first 15 minutes it also signs") ||
			strings.Contains(body, "did not ask") || !strings.Contains(body, f.url+"/</a> with your email") && !strings.Contains(body, "sign in at "+f.url+"/ with your email") {
			t.Errorf("document email:\n%s", body)
		}
	}
	if !strings.Contains(link, "?next=%2Fc%2Fwhitfield-dental%2Finvoices%2FINV-2001%2F") {
		t.Errorf("document link %q does not name the invoice", link)
	}
	invoice := "/c/whitfield-dental/invoices/INV-2001/"

	// Six days on: no session from the link, a fresh link by email instead.
	f.clock.Add(6 * 24 * time.Hour)
	r := f.do(f.client(), "POST", link, url.Values{})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login/sent/" {
		t.Fatalf("document link after 6 days = %d %q; want /login/sent/", r.StatusCode, r.Header.Get("Location"))
	}
	for _, ck := range r.Cookies() {
		if strings.Contains(ck.Name, "session") && ck.Value != "" {
			t.Errorf("document link after 6 days set a session cookie %s", ck.Name)
		}
	}
	fresh, m := f.awaitLink()
	if !strings.Contains(m.Text, "expires in 15 minutes") {
		t.Errorf("the fresh link's email:\n%s", m.Text)
	}
	c := f.client()
	if r := f.do(c, "POST", fresh, url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != invoice {
		t.Fatalf("the fresh sign-in link = %d %q; want the invoice", r.StatusCode, r.Header.Get("Location"))
	}
	// Signed in: the old document link opens the invoice.
	if r := f.do(c, "POST", link, url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != invoice {
		t.Errorf("the document link in a signed-in browser = %d %q; want the invoice", r.StatusCode, r.Header.Get("Location"))
	}

	// Within 15 minutes a document link signs in, once.
	link2, _ := f.documentLink("INV-2001")
	f.clock.Add(10 * time.Minute)
	if r := f.do(f.client(), "POST", link2, url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != invoice {
		t.Fatalf("document link after 10 minutes = %d %q; want the invoice", r.StatusCode, r.Header.Get("Location"))
	}
	if r := f.do(f.client(), "POST", link2, url.Values{}); r.Header.Get("Location") != "/login/invalid/" {
		t.Errorf("the document link used twice = %q; want /login/invalid/", r.Header.Get("Location"))
	}

	f.do(f.client(), "POST", "/login", url.Values{"email": {dana}})
	_, login := f.awaitLink()
	if !strings.Contains(login.Text, "expires in 15 minutes") || !strings.Contains(login.Text, "If you did not ask for it") {
		t.Errorf("sign-in email:\n%s", login.Text)
	}
}

// TestExpiredDocumentLink: an expired document link opens the document
// when the browser is signed in to its client; otherwise the new link
// asked for on the page lands on it.
func TestExpiredDocumentLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link, _ := f.documentLink("INV-2001")
	f.clock.Add(8 * 24 * time.Hour)
	signedIn := f.login("whitfield-dental")
	for _, m := range []string{"GET", "POST"} {
		var form url.Values
		if m == "POST" {
			form = url.Values{}
		}
		if r := f.do(signedIn, m, link, form); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/c/whitfield-dental/invoices/INV-2001/" {
			t.Errorf("%s expired link, signed in = %d %q; want the invoice", m, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// Signed in to another client: the link is not theirs to follow.
	other := f.login("okafor-residence")
	if r := f.do(other, "GET", link, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("expired link, signed in to another client = %d; want the invalid page (404)", r.StatusCode)
	}
	// Not signed in: the invalid page, and the new link lands on the invoice.
	anon := f.client()
	r := f.do(anon, "GET", link, nil)
	if body := readBody(t, r); r.StatusCode != http.StatusNotFound || !strings.Contains(body, "Get a new link") {
		t.Fatalf("expired link, not signed in = %d\n%.300s", r.StatusCode, body)
	}
	f.do(anon, "POST", "/login", url.Values{"email": {dana}})
	fresh, msg := f.awaitLink()
	if !strings.Contains(msg.Subject, "sign-in link") {
		t.Fatalf("the new link came in %q", msg.Subject)
	}
	if r := f.do(anon, "POST", fresh, url.Values{}); r.Header.Get("Location") != "/c/whitfield-dental/invoices/INV-2001/" {
		t.Errorf("the new link went to %q; want the invoice", r.Header.Get("Location"))
	}
	// A forged destination leads nowhere else.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/c/okafor-residence/../x"} {
		if r := f.do(signedIn, "GET", "/login/t/expired?next="+url.QueryEscape(next), nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("next=%q = %d %q; want the invalid page", next, r.StatusCode, r.Header.Get("Location"))
		}
	}
}

// TestSignedOutPage: after Sign out the landing page says so.
func TestSignedOutPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.login("okafor-residence")
	r := f.do(c, "POST", "/logout", url.Values{})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signed-out/" {
		t.Fatalf("logout = %d %q; want 303 to /signed-out/", r.StatusCode, r.Header.Get("Location"))
	}
	r = f.do(c, "GET", "/signed-out/", nil)
	if body := readBody(t, r); r.StatusCode != 200 || !strings.Contains(body, "signed out") || !strings.Contains(body, `action="/login"`) {
		t.Errorf("/signed-out/ = %d\n%.500s", r.StatusCode, body)
	}
	if body := readBody(t, f.do(c, "GET", "/", nil)); strings.Contains(body, "signed out") {
		t.Error("the landing page says signed out to everyone")
	}
}

func TestLifetime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute: "15 minutes", time.Minute: "1 minute", 30 * time.Second: "1 minute", 2 * time.Hour: "2 hours",
		90 * time.Minute: "90 minutes", 24 * time.Hour: "1 day", 7 * 24 * time.Hour: "7 days", 36 * time.Hour: "36 hours",
	} {
		if got := edge.Lifetime(d); got != want {
			t.Errorf("Lifetime(%v) = %q; want %q", d, got, want)
		}
	}
}
