package site

import (
	"strings"
	"testing"
)

// TestValidIDAsRegexp: ValidID accepts what idRE matches, and nothing else.
func TestValidIDAsRegexp(t *testing.T) {
	for _, id := range []string{"", "a", "-", "a-", "-a", "acme", "acme-co", "Acme", "ac me", "ac_me", "ä", "0", "9z", "a.b", "a/b",
		strings.Repeat("a", 63), strings.Repeat("a", 64), "a\n", "\na", "acme-2026"} {
		if got, want := ValidID(id), idRE.MatchString(id); got != want {
			t.Errorf("ValidID(%q) = %v; want %v (as idRE)", id, got, want)
		}
	}
}

func FuzzValidID(f *testing.F) {
	f.Add("acme-co")
	f.Add("-x")
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := ValidID(id), idRE.MatchString(id); got != want {
			t.Errorf("ValidID(%q) = %v; want %v (as idRE)", id, got, want)
		}
	})
}
