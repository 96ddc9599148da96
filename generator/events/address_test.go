package events

import "testing"

func TestAddressParts(t *testing.T) {
	for _, tt := range []struct {
		a       AddressParts
		oneLine string
	}{
		{AddressParts{"14 Elm St", "Portland", "OR", "97214"}, "14 Elm St, Portland OR 97214"},
		{AddressParts{"14 Elm St", "Portland", "", "97214"}, "14 Elm St, Portland 97214"},
		{AddressParts{Street: "14 Elm St"}, "14 Elm St"},
		{AddressParts{City: "Portland"}, "Portland"},
	} {
		if got := tt.a.OneLine(); got != tt.oneLine {
			t.Errorf("%+v.OneLine() = %q; want %q", tt.a, got, tt.oneLine)
		}
		if got, ok := SplitAddress(tt.a.Join()); !ok || got != tt.a {
			t.Errorf("SplitAddress(%q) = %+v, %v; want %+v", tt.a.Join(), got, ok, tt.a)
		}
	}
	if _, ok := SplitAddress("14 Elm St, Portland"); ok {
		t.Error("an address typed in one field was split")
	}
}
