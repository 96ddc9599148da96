package site

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/hubhq/hub/generator/money"
	"gopkg.in/yaml.v3"
)

// The scalar types below keep the text exactly as written in YAML, so that
// numbers never pass through float64 and every value can be checked with its
// position once the site's currency is known.

func scalarText(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s must be a single value, not a list or mapping", n.Line, what)}}
	}
	if n.Tag == "!!null" {
		return "", nil
	}
	return n.Value, nil
}

// Number is a decimal number such as a quantity, a percentage or a tax rate.
type Number struct {
	Raw string
	Dec money.Decimal
	Set bool
}

// UnmarshalYAML keeps the text of the number.
func (n *Number) UnmarshalYAML(node *yaml.Node) error {
	s, err := scalarText(node, "a number")
	n.Raw, n.Set = s, s != ""
	return err
}

func (n *Number) parse() error {
	if !n.Set {
		return nil
	}
	d, err := money.ParseDecimal(n.Raw)
	n.Dec = d
	return err
}

// Money is an amount written in major units ("1250.00").
type Money struct {
	Raw string
	Amt money.Amount
	Set bool
}

// UnmarshalYAML keeps the text of the amount.
func (m *Money) UnmarshalYAML(node *yaml.Node) error {
	s, err := scalarText(node, "an amount")
	m.Raw, m.Set = s, s != ""
	return err
}

func (m *Money) parse(cur money.Currency) error {
	if !m.Set {
		return nil
	}
	a, err := money.ParseAmount(m.Raw, cur)
	m.Amt = a
	return err
}

// Date is a calendar date written as YYYY-MM-DD.
type Date struct {
	Raw string
	T   time.Time // midnight UTC of the date
	Set bool
}

// UnmarshalYAML keeps the text of the date.
func (d *Date) UnmarshalYAML(node *yaml.Node) error {
	s, err := scalarText(node, "a date")
	d.Raw, d.Set = s, s != ""
	return err
}

func (d *Date) parse() error {
	if !d.Set {
		return nil
	}
	t, err := time.Parse(time.DateOnly, d.Raw)
	if err != nil {
		return fmt.Errorf("%q is not a date; %s", d.Raw, dateHint(d.Raw))
	}
	d.T = t
	return nil
}

var dateShapeRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)

// dateHint says what is wrong with a date that does not parse: a day the
// month does not have ("November has 30 days"), a month that does not
// exist, or else the form dates are written in.
func dateHint(s string) string {
	m := dateShapeRE.FindStringSubmatch(s)
	if m == nil {
		return "write it as YYYY-MM-DD"
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	day, _ := strconv.Atoi(m[3])
	switch {
	case mo < 1 || mo > 12:
		return fmt.Sprintf("there is no month %d (write it as YYYY-MM-DD, the month second)", mo)
	case day < 1:
		return "days start at 01"
	}
	month := time.Month(mo)
	days := time.Date(y, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if month == time.February {
		return fmt.Sprintf("February %d has %d days", y, days)
	}
	return fmt.Sprintf("%s has %d days", month, days)
}

// Valid reports whether d is set and is a date.
func (d Date) Valid() bool { return d.Set && !d.T.IsZero() }

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.T.Before(o.T) }
