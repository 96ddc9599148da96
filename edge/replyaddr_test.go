package edge_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/edge"
)

var testReplies = edge.ReplyAddresses{Key: []byte("0123456789abcdef0123456789abcdef"), Host: "hub.greenleaf.example"}

func TestReplyAddress(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	addr, err := testReplies.Address("okafor-residence", "quote/Q-1002", now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "reply+okafor-residence.quote=Q-1002.") || !strings.HasSuffix(addr, "@hub.greenleaf.example") {
		t.Fatalf("Address = %q", addr)
	}
	local, _, _ := strings.Cut(addr, "@")
	other := edge.ReplyAddresses{Key: []byte("another key, also 32 bytes long!"), Host: testReplies.Host}
	cases := []struct {
		name, addr string
		at         time.Time
		ra         edge.ReplyAddresses
		want       error
	}{
		{"as made", addr, now, testReplies, nil},
		{"in angle brackets, host in capitals", "<" + local + "@HUB.greenleaf.example>", now, testReplies, nil},
		{"a day before it expires", addr, now.Add(edge.ReplyAddressTTL - 24*time.Hour), testReplies, nil},
		{"expired", addr, now.Add(edge.ReplyAddressTTL + 48*time.Hour), testReplies, edge.ErrReplyExpired},
		{"another key", addr, now, other, edge.ErrReplyBadMAC},
		{"another thread", strings.Replace(addr, "Q-1002", "Q-1003", 1), now, testReplies, edge.ErrReplyBadMAC},
		{"another client", strings.Replace(addr, "okafor-residence", "okafor-residencf", 1), now, testReplies, edge.ErrReplyBadMAC},
		{"a later expiry", strings.Replace(addr, "."+strings.Split(local, ".")[2]+".", ".zzzz.", 1), now, testReplies, edge.ErrReplyBadMAC},
		{"unsigned", "reply+okafor-residence.general@hub.greenleaf.example", now, testReplies, edge.ErrNotReplyAddress},
		{"another host", local + "@evil.example", now, testReplies, edge.ErrNotReplyAddress},
		{"not a reply address", "office@hub.greenleaf.example", now, testReplies, edge.ErrNotReplyAddress},
		{"a path as thread", "reply+okafor-residence.portal=...x.1.abc@hub.greenleaf.example", now, testReplies, edge.ErrNotReplyAddress},
		{"empty", "", now, testReplies, edge.ErrNotReplyAddress},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, thread, err := tc.ra.Parse(tc.addr, tc.at)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%q) = %q, %q, %v; want %v", tc.addr, client, thread, err, tc.want)
			}
			if err == nil && (client != "okafor-residence" || thread != "quote/Q-1002") {
				t.Errorf("Parse(%q) = %q, %q; want okafor-residence, quote/Q-1002", tc.addr, client, thread)
			}
		})
	}
	// Thread names with dots and the general thread survive the trip.
	for _, th := range []string{"general", "portal/v1.2-plans", "request/R-7KQ3XM", "invoice/INV-2001"} {
		a, err := testReplies.Address("acme", th, now)
		if err != nil {
			t.Fatal(err)
		}
		if c, got, err := testReplies.Parse(a, now); err != nil || c != "acme" || got != th {
			t.Errorf("Parse(Address(acme, %q)) = %q, %q, %v", th, c, got, err)
		}
	}
	if _, err := testReplies.Address("Acme.Corp", "general", now); err == nil {
		t.Error("Address of a client ID with a dot succeeded")
	}
}

func FuzzReplyAddress(f *testing.F) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	good, _ := testReplies.Address("okafor-residence", "quote/Q-1002", now)
	for _, s := range []string{good, "reply+a.b.c.d@hub.greenleaf.example", "reply+...@x", "<>", "reply+a.general.zz.zz@hub.greenleaf.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		client, thread, err := testReplies.Parse(addr, now)
		if err != nil {
			return
		}
		// Whatever is accepted is what some signed address says.
		again, err := testReplies.Address(client, thread, now)
		if err != nil {
			t.Fatalf("Parse(%q) accepted %q, %q, which Address refuses: %v", addr, client, thread, err)
		}
		if c, th, err := testReplies.Parse(again, now); err != nil || c != client || th != thread {
			t.Fatalf("round trip of %q, %q: %q, %q, %v", client, thread, c, th, err)
		}
		if strings.Contains(thread, "..") || strings.ContainsAny(client, "./") {
			t.Fatalf("Parse(%q) accepted a path: %q, %q", addr, client, thread)
		}
	})
}

func TestStripQuoted(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Yes, cedar.\n\nSam", "Yes, cedar.\n\nSam"},
		{"quoted lines", "Yes.\n> Can the bench\n> be cedar?\nThanks", "Yes.\nThanks"},
		{"gmail", "Yes, cedar.\r\n\r\nOn Fri, Nov 20, 2026 at 10:00 AM Greenleaf Gardens <hello@greenleaf.example> wrote:\r\n> Ngozi wrote...\r\n", "Yes, cedar."},
		{"wrote on two lines", "Fine.\nOn Fri, Nov 20, 2026 at 10:00 AM Greenleaf Gardens\n<hello@greenleaf.example> wrote:\n\n> old", "Fine."},
		{"outlook", "Sure.\n\n-----Original Message-----\nFrom: hub\nSubject: x\n\nold text", "Sure."},
		{"signature", "OK then.\n-- \nSam Reyes\nGreenleaf", "OK then."},
		{"only quotes", "> a\n> b", ""},
		{"a line starting with On that is not a header", "On Monday we start.\nBring the keys.", "On Monday we start.\nBring the keys."},
		{"indented quote", "Yes.\n  > quoted", "Yes."},
	}
	for _, tc := range cases {
		if got := edge.StripQuoted(tc.in); got != tc.want {
			t.Errorf("%s: StripQuoted(%q) = %q; want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func FuzzStripQuoted(f *testing.F) {
	for _, s := range []string{"Yes.\n> no", "a\nOn x 1 wrote:\nb", "-- \nsig", "On 1\nwrote:", "\r\n\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := edge.StripQuoted(in)
		if len(out) > len(in) {
			t.Fatalf("StripQuoted(%q) = %q: longer than its input", in, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, " \t"), ">") {
				t.Fatalf("StripQuoted(%q) kept a quoted line %q", in, l)
			}
		}
		if out != strings.TrimSpace(out) {
			t.Fatalf("StripQuoted(%q) = %q: not trimmed", in, out)
		}
		if again := edge.StripQuoted(out); again != out {
			t.Fatalf("StripQuoted is not idempotent on %q: %q then %q", in, out, again)
		}
	})
}
