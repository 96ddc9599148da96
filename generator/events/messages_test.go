package events

import (
	"strings"
	"testing"
)

func TestThreads(t *testing.T) {
	cases := []struct {
		thread string
		path   string // "" when not a thread
	}{
		{"general", "messages/#messages"},
		{"quote/Q-1002", "quotes/Q-1002/#messages"},
		{"invoice/INV-2001", "invoices/INV-2001/#messages"},
		{"request/R-7KQ3XM", "requests/#R-7KQ3XM"},
		{"portal/rain-garden", "portals/rain-garden/#messages"},
		{"portal/v1.2", "portals/v1.2/#messages"},
		{"", ""},
		{"General", ""},
		{"quote/", ""},
		{"quote/../x", ""},
		{"portal/a..b", ""},
		{"portal/.hidden", ""},
		{"receipt/INV-1-P1", ""},
		{"quote/Q 1", ""},
		{"quote/Q-1/x", ""},
		{"quote/" + strings.Repeat("a", 81), ""},
	}
	for _, tc := range cases {
		if got := ThreadPath(tc.thread); got != tc.path {
			t.Errorf("ThreadPath(%q) = %q; want %q", tc.thread, got, tc.path)
		}
		if got := ValidThread(tc.thread); got != (tc.path != "") {
			t.Errorf("ValidThread(%q) = %v; want %v", tc.thread, got, tc.path != "")
		}
	}
	if !(Message{Staff: "Sam"}).FromStaff() || (Message{Email: "a@x"}).FromStaff() {
		t.Error("FromStaff: a message without an email is the business's")
	}
}
