package events

import "strings"

// AddressParts is an address a form gave in parts (the public request
// form's street, city, region and postal code). PendingClient.Address
// keeps them one a line, in this order; an address typed in one field
// has no line break (form fields cannot hold one).
type AddressParts struct {
	Street, City, Region, PostalCode string
}

// Join is how the parts are kept in PendingClient.Address.
func (a AddressParts) Join() string {
	return strings.Join([]string{a.Street, a.City, a.Region, a.PostalCode}, "\n")
}

// OneLine is the address for people: "12 Elm St, Portland OR 97201".
func (a AddressParts) OneLine() string {
	var place, parts []string
	for _, p := range []string{a.City, a.Region, a.PostalCode} {
		if p != "" {
			place = append(place, p)
		}
	}
	for _, p := range []string{a.Street, strings.Join(place, " ")} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// SplitAddress reads PendingClient.Address: its parts when it was given in
// parts, else false (the address as typed is all street).
func SplitAddress(s string) (AddressParts, bool) {
	p := strings.Split(s, "\n")
	if len(p) != 4 {
		return AddressParts{}, false
	}
	return AddressParts{Street: p[0], City: p[1], Region: p[2], PostalCode: p[3]}, true
}
