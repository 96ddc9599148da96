package cffunc_test

import (
	"testing"

	"github.com/hubhq/hub/internal/cffunc"
)

func TestRouteFunction(t *testing.T) {
	t.Parallel()
	routes := map[string]string{"acme": "k1", "acme2": "k2"}
	withQuery := cffunc.Get("/c/acme")
	withQuery.QueryString = map[string]map[string]any{"from": {"value": "mail"}}
	post := cffunc.Request{Method: "POST", URI: "/c/acme/quotes/Q-1/approve"}
	tests := []struct {
		req  cffunc.Request
		want string
	}{
		{cffunc.Get("/c/acme/"), "to the bucket: GET /paths/acme/k1/index.html"},
		{cffunc.Get("/c/acme2/invoices/INV-1/"), "to the bucket: GET /paths/acme2/k2/invoices/INV-1/index.html"},
		{cffunc.Get("/c/acme/invoices/INV-1/INV-1.pdf"), "to the bucket: GET /paths/acme/k1/invoices/INV-1/INV-1.pdf"},
		{cffunc.Request{Method: "HEAD", URI: "/c/acme/statement/"}, "to the bucket: HEAD /paths/acme/k1/statement/index.html"},
		{cffunc.Get("/c/acme/invoices/INV-1"), `answer 301 location "/c/acme/invoices/INV-1/"`},
		{withQuery, `answer 301 location "/c/acme/?from=mail"`},
		{post, "to origin hub-edge: POST /c/acme/quotes/Q-1/approve"},
		{cffunc.Get("/c/acme/paid/cs_test_1"), "to origin hub-edge: GET /c/acme/paid/cs_test_1"},
		{cffunc.Get("/c/acme/subscribed/SUB-1"), "to origin hub-edge: GET /c/acme/subscribed/SUB-1"},
		{cffunc.Get("/c/acme/messages/unread"), "to origin hub-edge: GET /c/acme/messages/unread"},
		// What the edge refuses, the function refuses.
		{cffunc.Get("/c/acme/%2e%2e/acme2/"), `answer 400 location ""`},
		{cffunc.Get("/c/acme/..%2Facme2/"), `answer 400 location ""`},
		{cffunc.Get("/c/acme/.git/config"), `answer 400 location ""`},
		{cffunc.Get("/c/acme//index.html"), `answer 400 location ""`},
		{cffunc.Get("/c/acme/a\\b.html"), `answer 400 location ""`},
		// No route, or not a client's path.
		{cffunc.Get("/c/bolt/"), `answer 404 location ""`},
		{cffunc.Get("/c/ACME/"), `answer 404 location ""`},
		{cffunc.Get("/c/"), `answer 404 location ""`},
		{cffunc.Get("/assets/x.css"), `answer 404 location ""`},
	}
	reqs := make([]cffunc.Request, len(tests))
	for i, tt := range tests {
		reqs[i] = tt.req
	}
	res := cffunc.Run(t, routes, reqs)
	for i, tt := range tests {
		if got := res[i].String(); got != tt.want {
			t.Errorf("%s %s: %s; want %s", tt.req.Method, tt.req.URI, got, tt.want)
		}
	}
}
