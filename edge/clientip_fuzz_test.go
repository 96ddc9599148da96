package edge

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP: whatever the peer and the header hold, the answer is the
// peer when it is not a trusted proxy; otherwise it is the peer or an
// address of the header with only trusted proxies right of it, unmapped
// and without a zone.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"", "203.0.113.9", "1.2.3.4, 203.0.113.9, 10.0.0.7", "[2001:db8::1]:443", "junk,,10.0.0.1", "::ffff:10.0.0.3", "fe80::1%eth0", strings.Repeat("1.1.1.1,", 100)} {
		f.Add("127.0.0.1:1234", s)
		f.Add("198.51.100.4:1234", s)
		f.Add("[2001:db8:cafe::1]:443", s)
	}
	proxies, err := ParseProxies("127.0.0.1/32,10.0.0.0/8,2001:db8:cafe::/48")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, peer, xff string) {
		got := proxies.ClientIP(peer, []string{xff})
		p, ok := parseHop(peer)
		switch {
		case !ok:
			if got != peer {
				t.Fatalf("ClientIP(%q, %q) = %q; want the unparsable peer as it is", peer, xff, got)
			}
			return
		case !proxies.trusted(p):
			if got != p.String() {
				t.Fatalf("ClientIP(%q, %q) = %q; want the untrusted peer %s", peer, xff, got, p)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("ClientIP(%q, %q) = %q; want an address, unmapped, without a zone", peer, xff, got)
		}
		if a == p {
			return
		}
		hops := strings.Split(xff, ",")
		k := len(hops) - 1
		for ; k >= 0; k-- {
			h, ok := parseHop(strings.TrimSpace(hops[k]))
			if ok && h == a {
				break
			}
			if !ok || !proxies.trusted(h) {
				t.Fatalf("ClientIP(%q, %q) = %q, from left of %q, which is not a trusted proxy", peer, xff, got, hops[k])
			}
		}
		if k < 0 {
			t.Fatalf("ClientIP(%q, %q) = %q: not in the header", peer, xff, got)
		}
	})
}
