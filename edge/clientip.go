package edge

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the addresses of the reverse proxies in front of the edge
// that are trusted to report, in X-Forwarded-For, whom they forwarded
// for. The edge takes a request's client address from that header only
// when the request comes from one of them.
type Proxies []netip.Prefix

// LoopbackProxies are proxies on the edge's own machine (127.0.0.0/8, ::1).
func LoopbackProxies() Proxies {
	return Proxies{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// ParseProxies reads a comma-separated list of CIDRs or single addresses:
// "127.0.0.1/32,10.0.0.0/8,2001:db8::/32,192.0.2.7". An empty list trusts
// no proxy.
func ParseProxies(s string) (Proxies, error) {
	var out Proxies
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR such as 10.0.0.0/8", part)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not a CIDR such as 10.0.0.0/8: %w", part, err)
		}
		if p.Addr().Is4In6() {
			// ::ffff:10.0.0.0/104 is 10.0.0.0/8: addresses are compared unmapped.
			if p.Bits() < 96 {
				return nil, fmt.Errorf("trusted proxy %q mixes IPv4-mapped and other IPv6 addresses; write the IPv4 range itself", part)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// String is the list as ParseProxies reads it.
func (ps Proxies) String() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (ps Proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the address a request came from. The direct peer is the
// client unless it is a trusted proxy; then X-Forwarded-For (every such
// header, in order) is read from the right, where each proxy appended the
// address it was connected from, skipping trusted proxies: the first
// address that is not one is the client. Entries left of it were written
// by the client (or an untrusted hop) and are never used. When every entry
// is a trusted proxy, the leftmost one is the client; an entry that is not
// an address stops the walk at the last good one (a proxy's, never one the
// client wrote).
func (ps Proxies) ClientIP(remoteAddr string, forwardedFor []string) string {
	peer, ok := parseHop(remoteAddr)
	if !ok {
		return remoteAddr
	}
	if !ps.trusted(peer) {
		return peer.String()
	}
	client := peer
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		hops := strings.Split(forwardedFor[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop := strings.TrimSpace(hops[j])
			if hop == "" && (len(hops) == 1) {
				continue // an empty header adds no hop
			}
			a, ok := parseHop(hop)
			if !ok {
				return client.String()
			}
			client = a
			if !ps.trusted(a) {
				return a.String()
			}
		}
	}
	return client.String()
}

// parseHop reads one address as proxies write it: "192.0.2.1",
// "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:443".
// IPv4-mapped IPv6 addresses are taken as IPv4, zones dropped.
func parseHop(s string) (netip.Addr, bool) {
	if len(s) > 64 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		host := s
		if h, _, err := net.SplitHostPort(s); err == nil {
			host = h
		} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		} else {
			return netip.Addr{}, false
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

// clientIP is the address a request came from (see Proxies.ClientIP).
func (s *Server) clientIP(r *http.Request) string {
	return s.cfg.TrustedProxies.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}
