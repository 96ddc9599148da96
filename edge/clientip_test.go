package edge_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/hubhq/hub/edge"
)

func TestParseProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "", want: ""},
		{in: "127.0.0.1/32, 10.0.0.0/8", want: "127.0.0.1/32,10.0.0.0/8"},
		{in: "192.0.2.7,2001:db8::1", want: "192.0.2.7/32,2001:db8::1/128"},
		{in: "10.1.2.3/8", want: "10.0.0.0/8"},                       // masked
		{in: "::ffff:10.0.0.0/104", want: "10.0.0.0/8"},              // IPv4-mapped: the IPv4 range
		{in: "::ffff:192.0.2.7", want: "192.0.2.7/32"},               // likewise
		{in: "2001:db8::/32,::1/128", want: "2001:db8::/32,::1/128"}, // IPv6
		{in: "10.0.0.0/33", err: true},
		{in: "proxy.internal", err: true},
		{in: "10.0.0.0/8;", err: true},
		{in: "fe80::1%eth0", err: true},
		{in: "::ffff:0:0/95", err: true},
	}
	for _, tc := range tests {
		got, err := edge.ParseProxies(tc.in)
		switch {
		case tc.err && err == nil:
			t.Errorf("ParseProxies(%q) = %q; want an error", tc.in, got)
		case !tc.err && err != nil:
			t.Errorf("ParseProxies(%q): %v", tc.in, err)
		case !tc.err && got.String() != tc.want:
			t.Errorf("ParseProxies(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestClientIP: the client is the rightmost X-Forwarded-For address that
// is not a trusted proxy, and only when the peer itself is one; whatever
// the client writes into the header (left of what the proxies appended)
// is never taken.
func TestClientIP(t *testing.T) {
	t.Parallel()
	proxies, err := edge.ParseProxies("127.0.0.1/32,10.0.0.0/8,2001:db8:cafe::/48")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		proxies edge.Proxies
		peer    string
		xff     []string
		want    string
	}{
		{name: "no proxy, no header", proxies: proxies, peer: "198.51.100.4:5000", want: "198.51.100.4"},
		{name: "untrusted peer: header ignored", proxies: proxies, peer: "198.51.100.4:5000", xff: []string{"203.0.113.9"}, want: "198.51.100.4"},
		{name: "untrusted peer forging a trusted one", proxies: proxies, peer: "198.51.100.4:5000", xff: []string{"10.0.0.1"}, want: "198.51.100.4"},
		{name: "no proxies trusted", proxies: nil, peer: "127.0.0.1:5000", xff: []string{"203.0.113.9"}, want: "127.0.0.1"},
		{name: "one trusted hop", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "trusted peer, no header", proxies: proxies, peer: "127.0.0.1:5000", want: "127.0.0.1"},
		{name: "trusted peer, empty header", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{""}, want: "127.0.0.1"},
		{name: "leftmost forged", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"1.2.3.4, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "many forged entries", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"1.1.1.1, 2.2.2.2, 3.3.3.3,203.0.113.9"}, want: "203.0.113.9"},
		{name: "forged trusted address left of the client", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"10.9.9.9, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "several trusted hops", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"6.6.6.6, 203.0.113.9, 10.0.0.7, 10.1.0.2"}, want: "203.0.113.9"},
		{name: "hops in several headers", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"6.6.6.6, 203.0.113.9", "10.0.0.7", "10.1.0.2"}, want: "203.0.113.9"},
		{name: "untrusted hop in the middle", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"203.0.113.9, 198.51.100.77, 10.0.0.7"}, want: "198.51.100.77"},
		{name: "every hop trusted: the leftmost", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"10.0.0.9, 10.0.0.7"}, want: "10.0.0.9"},
		{name: "addresses with ports", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"1.2.3.4:99, 203.0.113.9:4711"}, want: "203.0.113.9"},
		{name: "garbage left of the client", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"<script>, unknown, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "garbage appended after the proxies", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"203.0.113.9, 10.0.0.7, not-an-ip"}, want: "127.0.0.1"},
		{name: "garbage between trusted hops", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"203.0.113.9, junk, 10.0.0.7"}, want: "10.0.0.7"},
		{name: "empty entry", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"203.0.113.9,,"}, want: "127.0.0.1"},
		{name: "obfuscated entry (RFC 7239 style)", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"_hidden"}, want: "127.0.0.1"},
		{name: "IPv6 client", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"2001:db8:1::5"}, want: "2001:db8:1::5"},
		{name: "IPv6 client in brackets with a port", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"[2001:db8:1::5]:443"}, want: "2001:db8:1::5"},
		{name: "IPv6 client in brackets", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"[2001:db8:1::5]"}, want: "2001:db8:1::5"},
		{name: "IPv6 trusted proxy peer", proxies: proxies, peer: "[2001:db8:cafe::1]:5000", xff: []string{"1.2.3.4, 203.0.113.9, 2001:db8:cafe::2"}, want: "203.0.113.9"},
		{name: "IPv6 untrusted peer", proxies: proxies, peer: "[2001:db8:beef::1]:5000", xff: []string{"203.0.113.9"}, want: "2001:db8:beef::1"},
		{name: "IPv4-mapped peer and hop", proxies: proxies, peer: "[::ffff:127.0.0.1]:5000", xff: []string{"::ffff:10.0.0.3, ::ffff:203.0.113.9"}, want: "203.0.113.9"},
		{name: "zone dropped", proxies: proxies, peer: "127.0.0.1:5000", xff: []string{"fe80::1%eth0"}, want: "fe80::1"},
		{name: "loopback alias", proxies: edge.LoopbackProxies(), peer: "[::1]:5000", xff: []string{"1.2.3.4, 203.0.113.9, 127.0.0.1"}, want: "203.0.113.9"},
		{name: "unparsable peer", proxies: proxies, peer: "@", xff: []string{"203.0.113.9"}, want: "@"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.proxies.ClientIP(tc.peer, tc.xff); got != tc.want {
				t.Errorf("ClientIP(%q, %q) = %q; want %q", tc.peer, tc.xff, got, tc.want)
			}
		})
	}
}

// TestForgedForwardedForLimited: behind a trusted proxy (the test's
// loopback peer), a client that writes a new address at the left of
// X-Forwarded-For on every login is still limited by its own address, the
// one the proxy appended; another client behind the same proxy is not.
func TestForgedForwardedForLimited(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(f *fixture) { f.proxies = edge.LoopbackProxies() })
	post := func(xff string) int {
		return f.do(f.client(), "POST", "/login", url.Values{"email": {"nobody@example.com"}}, "X-Forwarded-For", xff).StatusCode
	}
	limited := false
	for i := range 20 {
		if post(fmt.Sprintf("198.51.100.%d, 203.0.113.9", i+1)) == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("20 logins from 203.0.113.9 with a forged leftmost X-Forwarded-For were never limited (429)")
	}
	if code := post("203.0.113.10"); code != http.StatusSeeOther {
		t.Errorf("a login from another client behind the proxy = %d; want 303", code)
	}
}
