// Package money does exact arithmetic on amounts of money and formats them
// for a locale.
//
// Amounts are integers of a currency's minor unit (cents for USD). Quantities,
// percentages and tax rates are Decimals: fixed-point numbers with four
// fractional digits. No float64 is involved anywhere.
//
// Rounding rule (stated once, used everywhere): whenever a product or a
// percentage lands between two minor units, it is rounded half away from
// zero to the nearest minor unit, at the point where it is computed (each
// line total, each discount, each tax, each deposit). Sums of rounded values
// are exact. A document-level discount is spread over its lines by the
// largest-remainder method, so the shares add up to the discount exactly.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"unicode"
)

// Amount is a quantity of money in a currency's minor unit.
type Amount int64

// DecimalScale is the number of units of a Decimal that make 1.
const DecimalScale = 10000

// Decimal is a fixed-point number with four fractional digits:
// Decimal(15000) is 1.5.
type Decimal int64

// One is the Decimal 1.
const One Decimal = DecimalScale

// ErrOverflow is returned when a result does not fit in 63 bits.
var ErrOverflow = errors.New("amount too large")

// ParseDecimal parses a plain decimal number such as "2", "1.5", "-0.25" or
// "8.875". At most four fractional digits are accepted; exponents, signs in
// the middle, grouping separators and empty parts are rejected.
func ParseDecimal(s string) (Decimal, error) {
	v, err := parseFixed(s, 4)
	return Decimal(v), err
}

// ParseAmount parses a decimal number of major units ("1250", "1250.5",
// "1250.50") into minor units of cur. More fractional digits than the
// currency has are an error, never a silent rounding.
func ParseAmount(s string, cur Currency) (Amount, error) {
	v, err := parseFixed(s, cur.Digits)
	return Amount(v), err
}

func parseFixed(s string, digits int) (int64, error) {
	orig := s
	if s == "" {
		return 0, errors.New("empty number")
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	if hint := amountHint(s); hint != "" {
		return 0, fmt.Errorf("%q is not a number: %s", orig, hint)
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("%q is not a number", orig)
	}
	if len(frac) > digits {
		if digits == 0 {
			return 0, fmt.Errorf("%q has a fractional part, but this currency has none", orig)
		}
		return 0, fmt.Errorf("%q has more than %d digits after the decimal point", orig, digits)
	}
	// Accumulate the magnitude in a uint64 and compare it exactly against
	// the largest representable one: MaxInt64, or MaxInt64+1 for a
	// negative number (MinInt64).
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var v uint64
	tooLarge := false
	for _, part := range []string{intPart, frac + strings.Repeat("0", digits-len(frac))} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%q is not a number", orig)
			}
			d := uint64(c - '0')
			if tooLarge || v > (limit-d)/10 {
				// Keep scanning so that a later non-digit is still
				// reported as "not a number".
				tooLarge = true
				continue
			}
			v = v*10 + d
		}
	}
	if tooLarge {
		return 0, fmt.Errorf("%q is too large", orig)
	}
	if neg {
		return -int64(v), nil // v == 1<<63 gives MinInt64
	}
	return int64(v), nil
}

// String formats d with as few fractional digits as it needs ("1.5", "8.875", "2").
func (d Decimal) String() string {
	neg := d < 0
	u := uint64(d)
	if neg {
		u = uint64(-d)
	}
	s := fmt.Sprintf("%d", u/DecimalScale)
	if f := u % DecimalScale; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%04d", f), "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// mulDivRound returns round(a*b/div), rounding half away from zero, without
// intermediate overflow.
func mulDivRound(a, b int64, div uint64) (int64, error) {
	neg := (a < 0) != (b < 0)
	ua, ub := abs(a), abs(b)
	hi, lo := bits.Mul64(ua, ub)
	if hi >= div {
		return 0, ErrOverflow
	}
	q, r := bits.Div64(hi, lo, div)
	if r >= div-r { // r*2 >= div, written without overflow
		q++
	}
	if neg {
		if q > 1<<63 {
			return 0, ErrOverflow
		}
		return -int64(q), nil // q == 1<<63 gives MinInt64
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return int64(q), nil
}

func abs(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// Mul returns a×q rounded to the minor unit: a unit price times a quantity.
func Mul(a Amount, q Decimal) (Amount, error) {
	v, err := mulDivRound(int64(a), int64(q), DecimalScale)
	return Amount(v), err
}

// Percent returns p percent of a, rounded to the minor unit.
func Percent(a Amount, p Decimal) (Amount, error) {
	v, err := mulDivRound(int64(a), int64(p), 100*DecimalScale)
	return Amount(v), err
}

// Add returns a+b, or ErrOverflow.
func Add(a, b Amount) (Amount, error) {
	s := a + b
	if (s > a) != (b > 0) {
		return 0, ErrOverflow
	}
	return s, nil
}

// Sub returns a-b, or ErrOverflow.
func Sub(a, b Amount) (Amount, error) {
	s := a - b
	if (s < a) != (b > 0) {
		return 0, ErrOverflow
	}
	return s, nil
}

// Allocate splits total into len(weights) shares proportional to weights
// using the largest-remainder method: the shares add up to total exactly,
// and each differs from its exact proportional value by less than one minor
// unit. Weights must be non-negative; if they add to zero, every share is 0
// except the first, which takes the whole total.
func Allocate(total Amount, weights []Amount) ([]Amount, error) {
	shares := make([]Amount, len(weights))
	if len(weights) == 0 {
		return shares, nil
	}
	var sum int64
	for _, w := range weights {
		if w < 0 {
			return nil, errors.New("negative weight")
		}
		sum += int64(w)
		if sum < 0 {
			return nil, ErrOverflow
		}
	}
	if sum == 0 {
		shares[0] = total
		return shares, nil
	}
	neg := total < 0
	t := abs(int64(total))
	type rem struct {
		i int
		r uint64
	}
	rems := make([]rem, len(weights))
	var given uint64
	for i, w := range weights {
		hi, lo := bits.Mul64(t, uint64(w))
		if hi >= uint64(sum) {
			return nil, ErrOverflow
		}
		q, r := bits.Div64(hi, lo, uint64(sum))
		shares[i] = Amount(q)
		given += q
		rems[i] = rem{i, r}
	}
	// Hand out what is left, one unit each, to the largest remainders
	// (earlier lines first on ties, so the result is deterministic).
	left := t - given
	for ; left > 0; left-- {
		best := -1
		for j, r := range rems {
			if best < 0 || r.r > rems[best].r {
				best = j
			}
		}
		shares[rems[best].i]++
		rems[best].r = 0
	}
	if neg {
		for i := range shares {
			shares[i] = -shares[i]
		}
	}
	return shares, nil
}

// amountHint says how to write an amount written as people write money:
// with a currency sign or code, or with thousands separators.
func amountHint(s string) string {
	digits := strings.TrimFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
	if digits == "" {
		return ""
	}
	plain := strings.ReplaceAll(digits, ",", "")
	switch {
	case digits != s && strings.Trim(strings.TrimSpace(strings.Replace(s, digits, "", 1)), "$€£¥₹₩₽¤ ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == "":
		return "write amounts without the currency sign, like " + plain
	case strings.Contains(digits, ",") && strings.Count(digits, ".") <= 1:
		return "write amounts without thousands separators, like " + plain
	}
	return ""
}
