package testcheckout_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hubhq/hub/edge"
)

// TestCustomersAndPortal: the same idempotency key gives the same
// customer, another key another; the portal is a page of this server that
// answers only for a customer whose portal session was made in this run.
func TestCustomersAndPortal(t *testing.T) {
	_, co, srv := setup(t)
	ctx := context.Background()
	a, _ := co.CreateCustomer(ctx, edge.CustomerRequest{ClientID: "acme", IdempotencyKey: "hub-customer-acme"})
	b, _ := co.CreateCustomer(ctx, edge.CustomerRequest{ClientID: "acme", IdempotencyKey: "hub-customer-acme"})
	c, _ := co.CreateCustomer(ctx, edge.CustomerRequest{ClientID: "globex", IdempotencyKey: "hub-customer-globex"})
	if a != b || a == c || !strings.HasPrefix(a, "cus_test_local_") {
		t.Errorf("customers %q %q %q; want the first two equal, the third another", a, b, c)
	}
	u, err := co.PortalSession(ctx, a, srv.URL+"/c/acme/subscriptions/SUB-1/")
	if err != nil || u != srv.URL+"/_checkout/portal/"+a {
		t.Fatalf("PortalSession = %q, %v", u, err)
	}
	h := co.Handler()
	for path, want := range map[string]int{"/_checkout/portal/" + a: 200, "/_checkout/portal/" + c: 404} {
		req, _ := http.NewRequest("GET", path, nil)
		req.RemoteAddr = "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("GET %s = %d; want %d", path, rec.Code, want)
		}
		if want == 200 && !strings.Contains(rec.Body.String(), "/c/acme/subscriptions/SUB-1/") {
			t.Errorf("the portal page does not lead back to the hub:\n%s", rec.Body)
		}
	}
}
