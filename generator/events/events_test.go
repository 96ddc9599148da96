package events

import (
	"testing"
	"time"
)

func TestPaymentAdvance(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		from, to string
		moved    bool
		settled  bool
	}{
		{PaymentPending, PaymentProcessing, true, false},
		{PaymentPending, PaymentPaid, true, true},
		{PaymentProcessing, PaymentFailed, true, true},
		{PaymentExpired, PaymentPaid, true, true},
		{PaymentProcessing, PaymentPending, false, false},
		{PaymentPaid, PaymentFailed, false, false},
		{PaymentPaid, PaymentPaid, false, false},
		{PaymentPending, "", false, false},
		{PaymentPending, "refunded", false, false}, // unknown: rank -1
	}
	for _, tt := range tests {
		p := Payment{State: tt.from, Method: "card", Reference: "pi_0"}
		moved := p.Advance(tt.to, "", "pi_1", at)
		if moved != tt.moved || (moved && p.State != tt.to) || (!moved && (p.State != tt.from || p.Reference != "pi_0")) {
			t.Errorf("Advance(%s → %q) = %v, state %s, reference %s; want moved %v", tt.from, tt.to, moved, p.State, p.Reference, tt.moved)
		}
		if moved && (p.Method != "card" || p.Reference != "pi_1") {
			t.Errorf("Advance(%s → %s): method %q reference %q; want card (kept: none given), pi_1", tt.from, tt.to, p.Method, p.Reference)
		}
		if got := !p.Settled.IsZero(); got != tt.settled || (got && !p.Settled.Equal(at)) {
			t.Errorf("Advance(%s → %q): settled %v; want settled %v", tt.from, tt.to, p.Settled, tt.settled)
		}
	}
}
