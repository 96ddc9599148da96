package money_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/generator/money"
)

func currency(t testing.TB, code string) money.Currency {
	t.Helper()
	c, ok := money.LookupCurrency(code)
	if !ok {
		t.Fatalf("LookupCurrency(%q) not found", code)
	}
	return c
}

func locale(t testing.TB, tag string) money.Locale {
	t.Helper()
	l, ok := money.LookupLocale(tag)
	if !ok {
		t.Fatalf("LookupLocale(%q) not found", tag)
	}
	return l
}

func TestParseDecimal(t *testing.T) {
	valid := []struct {
		in   string
		want money.Decimal
	}{
		{"2", 20000},
		{"1.5", 15000},
		{"-0.25", -2500},
		{"8.875", 88750},
		{"+3", 30000},
		{"0012.50", 125000},
		{"0", 0},
		{"-0", 0},
		{"0.0001", 1},
		{"-0.0001", -1},
		{"1.2345", 12345},
		{"100", 1000000},
		{"922337203685477.5", 9223372036854775000},
	}
	for _, tt := range valid {
		t.Run(tt.in, func(t *testing.T) {
			got, err := money.ParseDecimal(tt.in)
			if err != nil {
				t.Fatalf("ParseDecimal(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDecimal(%q) = %d; want %d", tt.in, got, tt.want)
			}
		})
	}

	invalid := []struct {
		in      string
		errText string // substring of the error
	}{
		{"", "empty number"},
		{".5", "is not a number"},
		{"5.", "is not a number"},
		{"-", "is not a number"},
		{"+", "is not a number"},
		{"-.5", "is not a number"},
		{"1e3", "is not a number"},
		{"1,000", "is not a number"},
		{"1,5", "is not a number"},
		{"1.23456", "more than 4 digits after the decimal point"},
		{"99999999999999999999", "is too large"},
		{"922337203685477.5808", "is too large"},
		{"--1", "is not a number"},
		{"+-1", "is not a number"},
		{"1-", "is not a number"},
		{"1.2.3", "is not a number"},
		{" 1", "is not a number"},
		{"1 ", "is not a number"},
		{"0x10", "is not a number"},
		{"١", "is not a number"}, // Arabic-Indic digit one
		{"NaN", "is not a number"},
		{"Inf", "is not a number"},
		{"1_000", "is not a number"},
	}
	for _, tt := range invalid {
		t.Run("invalid/"+tt.in, func(t *testing.T) {
			got, err := money.ParseDecimal(tt.in)
			if err == nil {
				t.Fatalf("ParseDecimal(%q) = %d; want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("ParseDecimal(%q) error = %q; want it to contain %q", tt.in, err, tt.errText)
			}
		})
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		cur  string
		want money.Amount
	}{
		{"2", "USD", 200},
		{"1.5", "USD", 150},
		{"-0.25", "USD", -25},
		{"+3", "USD", 300},
		{"0012.50", "USD", 1250},
		{"1250", "EUR", 125000},
		{"1250.5", "EUR", 125050},
		{"1250.50", "GBP", 125050},
		{"0.01", "USD", 1},
		{"1500", "JPY", 1500},
		{"-7", "KRW", -7},
	}
	for _, tt := range tests {
		t.Run(tt.cur+"/"+tt.in, func(t *testing.T) {
			got, err := money.ParseAmount(tt.in, currency(t, tt.cur))
			if err != nil {
				t.Fatalf("ParseAmount(%q, %s) error: %v", tt.in, tt.cur, err)
			}
			if got != tt.want {
				t.Errorf("ParseAmount(%q, %s) = %d; want %d", tt.in, tt.cur, got, tt.want)
			}
		})
	}

	invalid := []struct {
		in, cur string
		errText string
	}{
		{"", "USD", "empty number"},
		{".5", "USD", "is not a number"},
		{"5.", "USD", "is not a number"},
		{"1e3", "USD", "is not a number"},
		{"1,000", "USD", "is not a number"},
		{"$10", "USD", "is not a number"},
		{"10.005", "USD", `"10.005" has more than 2 digits after the decimal point`},
		{"1.5", "JPY", `"1.5" has a fractional part, but this currency has none`},
		{"1.0", "JPY", `"1.0" has a fractional part, but this currency has none`},
		{"99999999999999999999", "USD", `"99999999999999999999" is too large`},
		{"99999999999999999", "USD", "is too large"}, // fits as a number, not once in cents
	}
	for _, tt := range invalid {
		t.Run("invalid/"+tt.cur+"/"+tt.in, func(t *testing.T) {
			got, err := money.ParseAmount(tt.in, currency(t, tt.cur))
			if err == nil {
				t.Fatalf("ParseAmount(%q, %s) = %d; want an error", tt.in, tt.cur, got)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("ParseAmount(%q, %s) error = %q; want it to contain %q", tt.in, tt.cur, err, tt.errText)
			}
		})
	}
}

func TestDecimalString(t *testing.T) {
	tests := []struct {
		d    money.Decimal
		want string
	}{
		{0, "0"},
		{money.One, "1"},
		{15000, "1.5"},
		{88750, "8.875"},
		{-2500, "-0.25"},
		{1, "0.0001"},
		{-1, "-0.0001"},
		{1230000, "123"},
		{12345, "1.2345"},
		{math.MaxInt64, "922337203685477.5807"},
		{math.MinInt64, "-922337203685477.5808"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("Decimal(%d).String() = %q; want %q", int64(tt.d), got, tt.want)
		}
	}
}

// dec parses a Decimal in a test table.
func dec(t testing.TB, s string) money.Decimal {
	t.Helper()
	d, err := money.ParseDecimal(s)
	if err != nil {
		t.Fatalf("ParseDecimal(%q): %v", s, err)
	}
	return d
}

func TestMul(t *testing.T) {
	tests := []struct {
		a    money.Amount
		q    string
		want money.Amount
	}{
		{1001, "1.5", 1502},   // 15.015 rounds up to 15.02
		{-1001, "1.5", -1502}, // half away from zero, also below zero
		{1001, "-1.5", -1502},
		{-1001, "-1.5", 1502},
		{1, "0.5", 1},   // 0.5 cent → 1 cent
		{-1, "0.5", -1}, // −0.5 cent → −1 cent
		{1, "0.4999", 0},
		{-1, "0.4999", 0},
		{3, "0.5", 2},        // 1.5 → 2
		{5, "0.5", 3},        // 2.5 → 3 (not banker's rounding)
		{333, "0.3333", 111}, // 110.9889 → 111
		{10000, "2", 20000},
		{12345, "0", 0},
		{0, "1.5", 0},
		{1999, "3", 5997},
		{99, "0.0001", 0},   // 0.0099 → 0
		{5000, "0.0001", 1}, // 0.5 → 1
		{math.MaxInt64, "1", math.MaxInt64},
		{math.MinInt64 + 1, "1", math.MinInt64 + 1},
	}
	for _, tt := range tests {
		q := dec(t, tt.q)
		got, err := money.Mul(tt.a, q)
		if err != nil {
			t.Errorf("Mul(%d, %s) error: %v", tt.a, tt.q, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Mul(%d, %s) = %d; want %d", tt.a, tt.q, got, tt.want)
		}
	}
}

func TestMulOverflow(t *testing.T) {
	tests := []struct {
		a money.Amount
		q string
	}{
		{math.MaxInt64, "2"},
		{math.MaxInt64, "1.0001"},
		{math.MaxInt64 / 2, "3"},
		{math.MinInt64, "2"},
		{math.MinInt64, "-1"}, // the result, 2^63, does not fit
		{1 << 62, "100000000"},
	}
	for _, tt := range tests {
		got, err := money.Mul(tt.a, dec(t, tt.q))
		if !errors.Is(err, money.ErrOverflow) {
			t.Errorf("Mul(%d, %s) = %d, %v; want ErrOverflow", tt.a, tt.q, got, err)
		}
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		a    money.Amount
		p    string
		want money.Amount
	}{
		{10000, "8.875", 888}, // $100.00 × 8.875% = $8.875 → $8.88
		{-10000, "8.875", -888},
		{10000, "10", 1000},
		{10000, "100", 10000},
		{10000, "0", 0},
		{50, "1", 1},   // 0.5 cent → 1 cent
		{-50, "1", -1}, // −0.5 cent → −1 cent
		{49, "1", 0},
		{150, "1", 2},       // 1.5 → 2
		{250, "1", 3},       // 2.5 → 3
		{1999, "8.25", 165}, // 164.9175 → 165
		{12345, "7.5", 926}, // 925.875 → 926
		{1, "50", 1},        // 0.5 → 1
		{1, "49.9999", 0},
		{10000, "-10", -1000},
		{math.MaxInt64, "100", math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := money.Percent(tt.a, dec(t, tt.p))
		if err != nil {
			t.Errorf("Percent(%d, %s) error: %v", tt.a, tt.p, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Percent(%d, %s) = %d; want %d", tt.a, tt.p, got, tt.want)
		}
	}
}

func TestPercentOverflow(t *testing.T) {
	for _, tt := range []struct {
		a money.Amount
		p string
	}{
		{math.MaxInt64, "100.0001"},
		{math.MaxInt64, "200"},
		{math.MinInt64, "200"},
		{math.MaxInt64 / 10, "1000000"},
	} {
		got, err := money.Percent(tt.a, dec(t, tt.p))
		if !errors.Is(err, money.ErrOverflow) {
			t.Errorf("Percent(%d, %s) = %d, %v; want ErrOverflow", tt.a, tt.p, got, err)
		}
	}
}

// TestMulMatchesBigRat checks Mul and Percent against exact rational
// arithmetic for many random inputs.
func TestMulMatchesBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// roundHalfAway rounds the rational num/den half away from zero.
	roundHalfAway := func(num, den *big.Int) *big.Int {
		q, m := new(big.Int).QuoRem(num, den, new(big.Int))
		twice := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
		if twice.Cmp(new(big.Int).Abs(den)) >= 0 {
			if num.Sign()*den.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
		return q
	}
	for range 2000 {
		a := money.Amount(r.Int64N(2_000_000_000) - 1_000_000_000)
		q := money.Decimal(r.Int64N(20_000_000) - 10_000_000)
		prod := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(q)))

		want := roundHalfAway(prod, big.NewInt(money.DecimalScale)).Int64()
		got, err := money.Mul(a, q)
		if err != nil || int64(got) != want {
			t.Fatalf("Mul(%d, %s) = %d, %v; want %d", a, q, got, err, want)
		}

		want = roundHalfAway(prod, big.NewInt(100*money.DecimalScale)).Int64()
		got, err = money.Percent(a, q)
		if err != nil || int64(got) != want {
			t.Fatalf("Percent(%d, %s) = %d, %v; want %d", a, q, got, err, want)
		}
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		a, b, want money.Amount
		overflow   bool
	}{
		{1, 2, 3, false},
		{-1, -2, -3, false},
		{5, -7, -2, false},
		{0, 0, 0, false},
		{math.MaxInt64, 0, math.MaxInt64, false},
		{math.MaxInt64, -1, math.MaxInt64 - 1, false},
		{math.MinInt64, 0, math.MinInt64, false},
		{math.MinInt64, math.MaxInt64, -1, false},
		{math.MaxInt64 - 1, 1, math.MaxInt64, false},
		{math.MaxInt64, 1, 0, true},
		{1, math.MaxInt64, 0, true},
		{math.MaxInt64, math.MaxInt64, 0, true},
		{math.MinInt64, -1, 0, true},
		{-1, math.MinInt64, 0, true},
		{math.MinInt64, math.MinInt64, 0, true},
	}
	for _, tt := range tests {
		got, err := money.Add(tt.a, tt.b)
		switch {
		case tt.overflow && !errors.Is(err, money.ErrOverflow):
			t.Errorf("Add(%d, %d) = %d, %v; want ErrOverflow", tt.a, tt.b, got, err)
		case !tt.overflow && (err != nil || got != tt.want):
			t.Errorf("Add(%d, %d) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
}

func TestSub(t *testing.T) {
	tests := []struct {
		a, b, want money.Amount
		overflow   bool
	}{
		{3, 2, 1, false},
		{-1, -2, 1, false},
		{5, 7, -2, false},
		{0, 0, 0, false},
		{math.MaxInt64, 0, math.MaxInt64, false},
		{math.MaxInt64, 1, math.MaxInt64 - 1, false},
		{math.MinInt64, 0, math.MinInt64, false},
		{-1, math.MaxInt64, math.MinInt64, false},
		{math.MinInt64 + 1, 1, math.MinInt64, false},
		{0, math.MinInt64 + 1, math.MaxInt64, false},
		{math.MaxInt64, -1, 0, true},
		{0, math.MinInt64, 0, true},
		{math.MinInt64, 1, 0, true},
		{math.MaxInt64, math.MinInt64, 0, true},
		{math.MinInt64, math.MaxInt64, 0, true},
	}
	for _, tt := range tests {
		got, err := money.Sub(tt.a, tt.b)
		switch {
		case tt.overflow && !errors.Is(err, money.ErrOverflow):
			t.Errorf("Sub(%d, %d) = %d, %v; want ErrOverflow", tt.a, tt.b, got, err)
		case !tt.overflow && (err != nil || got != tt.want):
			t.Errorf("Sub(%d, %d) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		name    string
		total   money.Amount
		weights []money.Amount
		want    []money.Amount
	}{
		{"empty", 100, nil, []money.Amount{}},
		{"one line", 100, []money.Amount{7}, []money.Amount{100}},
		{"even", 100, []money.Amount{1, 1}, []money.Amount{50, 50}},
		// 100/3 = 33.33 each; the one left over goes to the first (ties go to earlier lines).
		{"thirds", 100, []money.Amount{1, 1, 1}, []money.Amount{34, 33, 33}},
		{"two left over", 200, []money.Amount{1, 1, 1}, []money.Amount{67, 67, 66}},
		// 10 × 1/6 = 1.667, 10 × 2/6 = 3.333, 10 × 3/6 = 5: remainder to the largest fraction (the first).
		{"largest remainder", 10, []money.Amount{1, 2, 3}, []money.Amount{2, 3, 5}},
		{"negative total", -100, []money.Amount{1, 1, 1}, []money.Amount{-34, -33, -33}},
		{"negative proportional", -10, []money.Amount{1, 2, 3}, []money.Amount{-2, -3, -5}},
		{"zero weights", 100, []money.Amount{0, 0, 0}, []money.Amount{100, 0, 0}},
		{"zero weights negative", -5, []money.Amount{0, 0}, []money.Amount{-5, 0}},
		{"some zero weights", 100, []money.Amount{0, 3, 0, 1}, []money.Amount{0, 75, 0, 25}},
		{"zero weight gets nothing", 1, []money.Amount{0, 1, 1}, []money.Amount{0, 1, 0}},
		{"zero total", 0, []money.Amount{5, 7}, []money.Amount{0, 0}},
		{"discount example", 1000, []money.Amount{3333, 3333, 3334}, []money.Amount{333, 333, 334}},
		{"tie later is larger", 5, []money.Amount{1, 1, 1, 1}, []money.Amount{2, 1, 1, 1}},
		{"huge", math.MaxInt64, []money.Amount{1, 1}, []money.Amount{math.MaxInt64/2 + 1, math.MaxInt64 / 2}},
		{"huge weights", 3, []money.Amount{math.MaxInt64 / 2, math.MaxInt64 / 2}, []money.Amount{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.Allocate(tt.total, tt.weights)
			if err != nil {
				t.Fatalf("Allocate(%d, %v) error: %v", tt.total, tt.weights, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Allocate(%d, %v) = %v; want %v", tt.total, tt.weights, got, tt.want)
			}
		})
	}
}

func TestAllocateErrors(t *testing.T) {
	if got, err := money.Allocate(100, []money.Amount{1, -1}); err == nil {
		t.Errorf("Allocate(100, [1 -1]) = %v; want an error for a negative weight", got)
	}
	if got, err := money.Allocate(100, []money.Amount{math.MaxInt64, 1}); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("Allocate(100, [MaxInt64 1]) = %v, %v; want ErrOverflow", got, err)
	}
	if got, err := money.Allocate(100, []money.Amount{math.MaxInt64, math.MaxInt64, math.MaxInt64}); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("Allocate(100, [MaxInt64 ×3]) = %v, %v; want ErrOverflow", got, err)
	}
}

// TestAllocateRandom checks Allocate's promises on many random cases: the
// shares add up to the total exactly, each is within one unit of its exact
// proportional value, and lines of zero weight get nothing.
func TestAllocateRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(20261123, 42))
	for i := range 5000 {
		n := 1 + r.IntN(12)
		weights := make([]money.Amount, n)
		var sum int64
		for j := range weights {
			switch r.IntN(4) {
			case 0:
				weights[j] = 0
			case 1:
				weights[j] = money.Amount(r.Int64N(10))
			default:
				weights[j] = money.Amount(r.Int64N(10_000_000))
			}
			sum += int64(weights[j])
		}
		total := money.Amount(r.Int64N(2_000_000) - 1_000_000)
		if i%10 == 0 {
			total = money.Amount(r.Int64N(1 << 50))
		}
		got, err := money.Allocate(total, weights)
		if err != nil {
			t.Fatalf("Allocate(%d, %v) error: %v", total, weights, err)
		}
		if len(got) != n {
			t.Fatalf("Allocate(%d, %v) = %v; want %d shares", total, weights, got, n)
		}
		var s money.Amount
		for _, a := range got {
			s += a
		}
		if s != total {
			t.Fatalf("Allocate(%d, %v) = %v; shares add up to %d, want %d", total, weights, got, s, total)
		}
		if sum == 0 {
			if got[0] != total {
				t.Fatalf("Allocate(%d, %v) = %v; want the first share to take the whole total", total, weights, got)
			}
			continue
		}
		for j, a := range got {
			// |a·sum − total·w| < sum  ⟺  the share is within one unit of total·w/sum.
			exact := new(big.Int).Mul(big.NewInt(int64(total)), big.NewInt(int64(weights[j])))
			diff := new(big.Int).Sub(new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(sum)), exact)
			if diff.Abs(diff).Cmp(big.NewInt(sum)) >= 0 {
				t.Fatalf("Allocate(%d, %v) = %v; share %d (%d) is a unit or more from %d×%d/%d", total, weights, got, j, a, total, weights[j], sum)
			}
			if weights[j] == 0 && a != 0 {
				t.Fatalf("Allocate(%d, %v) = %v; share %d has zero weight but got %d", total, weights, got, j, a)
			}
			if (a < 0 && total > 0) || (a > 0 && total < 0) {
				t.Fatalf("Allocate(%d, %v) = %v; share %d has the wrong sign", total, weights, got, j)
			}
		}
	}
}

func TestFormat(t *testing.T) {
	const (
		nbsp  = "\u00a0"
		nnbsp = "\u202f"
	)
	tests := []struct {
		locale, cur string
		a           money.Amount
		want        string
	}{
		{"en-US", "USD", 123456, "$1,234.56"},
		{"en-US", "USD", -1200, "-$12.00"},
		{"en-US", "USD", 5, "$0.05"},
		{"en-US", "USD", 0, "$0.00"},
		{"en-US", "USD", 100, "$1.00"},
		{"en-US", "USD", 99999, "$999.99"},
		{"en-US", "USD", 100000, "$1,000.00"},
		{"en-US", "USD", 123456789012, "$1,234,567,890.12"},
		{"en-US", "USD", -5, "-$0.05"},
		{"en-US", "USD", math.MaxInt64, "$92,233,720,368,547,758.07"},
		{"en-US", "USD", math.MinInt64, "-$92,233,720,368,547,758.08"},
		{"en-US", "EUR", 123456, "€1,234.56"},
		{"en-US", "CAD", 123456, "CA$1,234.56"},
		{"en-GB", "GBP", 123456, "£1,234.56"},
		{"en-GB", "GBP", -1200, "-£12.00"},
		{"en-GB", "USD", 500, "US$5.00"},
		{"fr-FR", "EUR", 123456, "1" + nnbsp + "234,56" + nbsp + "€"},
		{"fr-FR", "EUR", -1200, "-12,00" + nbsp + "€"},
		{"fr-FR", "EUR", 123456789, "1" + nnbsp + "234" + nnbsp + "567,89" + nbsp + "€"},
		{"fr-CA", "CAD", 123456, "1" + nbsp + "234,56" + nbsp + "$"},
		{"de-DE", "EUR", 123456, "1.234,56" + nbsp + "€"},
		{"de-DE", "EUR", 5, "0,05" + nbsp + "€"},
		{"de-DE", "CHF", 123456, "1.234,56" + nbsp + "CHF"},
		{"nl-NL", "EUR", 123456, "€" + nbsp + "1.234,56"},
		{"en-US", "JPY", 1500, "¥1,500"},
		{"en-US", "JPY", 5, "¥5"},
		{"en-US", "JPY", 0, "¥0"},
		{"en-US", "JPY", -1234567, "-¥1,234,567"},
		{"de-DE", "JPY", 1234, "1.234" + nbsp + "¥"},
		{"en-CA", "USD", 123456, "US$1,234.56"},
		{"en-CA", "CAD", 123456, "$1,234.56"},
		{"en-US", "USD", 123456, "$1,234.56"},
		{"en-AU", "AUD", 1000, "$10.00"},
		{"en-AU", "NZD", 1000, "NZ$10.00"},
		{"en-GB", "KRW", 1000, "₩1,000"},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+tt.cur, func(t *testing.T) {
			got := locale(t, tt.locale).Format(tt.a, currency(t, tt.cur))
			if got != tt.want {
				t.Errorf("%s.Format(%d, %s) = %q; want %q", tt.locale, tt.a, tt.cur, got, tt.want)
			}
		})
	}
}

func TestFormatDecimal(t *testing.T) {
	const nnbsp = "\u202f"
	tests := []struct {
		locale string
		d      string
		want   string
	}{
		{"en-US", "8.875", "8.875"},
		{"en-US", "2", "2"},
		{"en-US", "1234.5", "1,234.5"},
		{"en-US", "-1234567.25", "-1,234,567.25"},
		{"en-US", "0", "0"},
		{"en-US", "-0.25", "-0.25"},
		{"fr-FR", "8.875", "8,875"},
		{"fr-FR", "1234.5", "1" + nnbsp + "234,5"},
		{"de-DE", "1234.5", "1.234,5"},
		{"de-DE", "-0.0001", "-0,0001"},
	}
	for _, tt := range tests {
		got := locale(t, tt.locale).FormatDecimal(dec(t, tt.d))
		if got != tt.want {
			t.Errorf("%s.FormatDecimal(%s) = %q; want %q", tt.locale, tt.d, got, tt.want)
		}
	}
}

func TestDayMonth(t *testing.T) {
	nov23 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct{ locale, want string }{
		{"en-US", "Nov 23"},
		{"en-GB", "23 Nov"},
		{"fr-FR", "23 nov."},
		{"de-DE", "23. Nov."},
	}
	for _, tt := range tests {
		if got := locale(t, tt.locale).DayMonth(nov23); got != tt.want {
			t.Errorf("%s.DayMonth(2026-11-23) = %q; want %q", tt.locale, got, tt.want)
		}
	}
}

func TestDate(t *testing.T) {
	nov23 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		locale string
		t      time.Time
		want   string
	}{
		{"en-US", nov23, "Nov 23, 2026"},
		{"en-CA", nov23, "Nov 23, 2026"},
		{"en-GB", nov23, "23 Nov 2026"},
		{"en-AU", time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC), "5 Jan 2027"},
		{"fr-FR", nov23, "23 nov. 2026"},
		{"fr-FR", time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), "1 août 2026"},
		{"fr-CA", time.Date(2026, 2, 14, 0, 0, 0, 0, time.UTC), "14 févr. 2026"},
		{"de-DE", nov23, "23. Nov. 2026"},
		{"de-DE", time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), "9. März 2026"},
		{"es-ES", time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), "31 dic 2026"},
		{"nl-NL", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), "2 mrt 2026"},
		// The date is read in the time's own location.
		{"en-US", time.Date(2026, 11, 23, 23, 30, 0, 0, time.FixedZone("UTC-8", -8*3600)), "Nov 23, 2026"},
	}
	for _, tt := range tests {
		if got := locale(t, tt.locale).Date(tt.t); got != tt.want {
			t.Errorf("%s.Date(%s) = %q; want %q", tt.locale, tt.t.Format(time.DateOnly), got, tt.want)
		}
	}
}

func TestLookups(t *testing.T) {
	for _, code := range money.Currencies() {
		c, ok := money.LookupCurrency(code)
		if !ok || c.Code != code {
			t.Errorf("LookupCurrency(%q) = %+v, %v; want the currency %s", code, c, ok, code)
		}
		if c.Digits < 0 || c.Digits > 4 {
			t.Errorf("LookupCurrency(%q).Digits = %d; want 0..4", code, c.Digits)
		}
	}
	for _, tag := range money.Locales() {
		l, ok := money.LookupLocale(tag)
		if !ok || l.Tag != tag || !strings.HasSuffix(tag, "-"+l.Region) {
			t.Errorf("LookupLocale(%q) = %+v, %v; want the locale %s", tag, l, ok, tag)
		}
	}
	for _, bad := range []string{"usd", "XXX", ""} {
		if _, ok := money.LookupCurrency(bad); ok {
			t.Errorf("LookupCurrency(%q) found; want not found", bad)
		}
	}
	for _, bad := range []string{"en_US", "en-us", "en", ""} {
		if _, ok := money.LookupLocale(bad); ok {
			t.Errorf("LookupLocale(%q) found; want not found", bad)
		}
	}
	if l := locale(t, "en-US"); l.PaperA4 {
		t.Errorf("en-US PaperA4 = true; want false (US Letter)")
	}
	if l := locale(t, "fr-FR"); !l.PaperA4 {
		t.Errorf("fr-FR PaperA4 = false; want true")
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"2", "1.5", "-0.25", "8.875", "+3", "0012.50", "", ".5", "5.", "1e3", "1,000", "1.23456", "99999999999999999999", "-", "922337203685477.5807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := money.ParseDecimal(s)
		if err != nil {
			if d != 0 {
				t.Errorf("ParseDecimal(%q) = %d, %v; want 0 with an error", s, d, err)
			}
			return
		}
		back, err := money.ParseDecimal(d.String())
		if err != nil {
			t.Fatalf("ParseDecimal(%q) = %s, but ParseDecimal(%q) failed: %v", s, d, d.String(), err)
		}
		if back != d {
			t.Errorf("ParseDecimal(%q) = %d; String() = %q re-parses to %d", s, d, d.String(), back)
		}
		// Any locale can write it.
		_ = locale(t, "fr-FR").FormatDecimal(d)
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"2", "1250.50", "-0.25", "10.005", "1.5", "", "1e3", "99999999999999999999", "+0", "0.01"} {
		f.Add(s, "USD")
		f.Add(s, "JPY")
	}
	f.Fuzz(func(t *testing.T, s, code string) {
		cur, ok := money.LookupCurrency(code)
		if !ok {
			cur = currency(t, "EUR")
		}
		a, err := money.ParseAmount(s, cur)
		if err != nil {
			if a != 0 {
				t.Errorf("ParseAmount(%q, %s) = %d, %v; want 0 with an error", s, cur.Code, a, err)
			}
			return
		}
		// Formatting never panics, and in en-US, after removing the
		// symbol and grouping, it parses back to the same amount.
		out := locale(t, "en-US").Format(a, cur)
		_ = locale(t, "de-DE").Format(a, cur)
		plain := strings.Map(func(r rune) rune {
			if r == '-' || r == '.' || (r >= '0' && r <= '9') {
				return r
			}
			return -1
		}, out)
		back, err := money.ParseAmount(plain, cur)
		if err != nil || back != a {
			t.Errorf("ParseAmount(%q, %s) = %d; formatted %q, which parses back as %d, %v", s, cur.Code, a, out, back, err)
		}
	})
}

func TestExtremesBugs(t *testing.T) {
	t.Run("ParseDecimal max", func(t *testing.T) {
		s := money.Decimal(math.MaxInt64).String()
		if got, err := money.ParseDecimal(s); err != nil || got != math.MaxInt64 {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d", s, got, err, int64(math.MaxInt64))
		}
	})
	t.Run("ParseDecimal min", func(t *testing.T) {
		s := money.Decimal(math.MinInt64).String()
		if got, err := money.ParseDecimal(s); err != nil || got != math.MinInt64 {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d", s, got, err, int64(math.MinInt64))
		}
		for _, s := range []string{"-922337203685477.5809", "922337203685477.5808", "9223372036854775808", "-9223372036854775809"} {
			if got, err := money.ParseDecimal(s); err == nil || !strings.Contains(err.Error(), "too large") {
				t.Errorf("ParseDecimal(%q) = %d, %v; want a too large error", s, got, err)
			}
		}
		if got, err := money.ParseAmount("92233720368547758.07", currency(t, "USD")); err != nil || got != math.MaxInt64 {
			t.Errorf("ParseAmount(max) = %d, %v; want %d", got, err, int64(math.MaxInt64))
		}
	})
	t.Run("Mul min", func(t *testing.T) {
		if got, err := money.Mul(math.MinInt64, money.One); err != nil || got != math.MinInt64 {
			t.Errorf("Mul(%d, 1) = %d, %v; want %d", int64(math.MinInt64), got, err, int64(math.MinInt64))
		}
		if got, err := money.Mul(math.MinInt64, -money.One); !errors.Is(err, money.ErrOverflow) {
			t.Errorf("Mul(%d, -1) = %d, %v; want ErrOverflow", int64(math.MinInt64), got, err)
		}
		if got, err := money.Mul(math.MaxInt64, -money.One); err != nil || got != -math.MaxInt64 {
			t.Errorf("Mul(%d, -1) = %d, %v; want %d", int64(math.MaxInt64), got, err, int64(-math.MaxInt64))
		}
	})
}
