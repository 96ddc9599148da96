package money

import "testing"

func TestFormatIn(t *testing.T) {
	for _, tc := range []struct {
		a        Amount
		cur, loc string
		want     string
	}{
		{123456, "USD", "en-US", "$1,234.56"},
		{5, "XYZ", "en-US", "5 (minor units) XYZ"},
		{5, "USD", "xx-XX", "5 (minor units) USD"},
	} {
		if got := FormatIn(tc.a, tc.cur, tc.loc); got != tc.want {
			t.Errorf("FormatIn(%d, %q, %q) = %q; want %q", tc.a, tc.cur, tc.loc, got, tc.want)
		}
	}
}
