package money

import (
	"fmt"
	"strings"
	"time"
)

// Currency is an ISO 4217 currency with its number of minor-unit digits.
type Currency struct {
	Code   string
	Digits int
	symbol string // narrow symbol used in the currency's home region
	home   string // region where the narrow symbol is unambiguous ("" = everywhere)
	intl   string // symbol used elsewhere, e.g. "CA$"
}

var currencies = map[string]Currency{
	"USD": {"USD", 2, "$", "US", "US$"},
	"CAD": {"CAD", 2, "$", "CA", "CA$"},
	"AUD": {"AUD", 2, "$", "AU", "A$"},
	"NZD": {"NZD", 2, "$", "NZ", "NZ$"},
	"EUR": {"EUR", 2, "€", "", "€"},
	"GBP": {"GBP", 2, "£", "", "£"},
	"JPY": {"JPY", 0, "¥", "", "¥"},
	"CHF": {"CHF", 2, "CHF", "", "CHF"},
	"SEK": {"SEK", 2, "kr", "SE", "SEK"},
	"NOK": {"NOK", 2, "kr", "NO", "NOK"},
	"DKK": {"DKK", 2, "kr.", "DK", "DKK"},
	"MXN": {"MXN", 2, "$", "MX", "MX$"},
	"ZAR": {"ZAR", 2, "R", "ZA", "ZAR"},
	"INR": {"INR", 2, "₹", "", "₹"},
	"KRW": {"KRW", 0, "₩", "", "₩"},
}

// LookupCurrency returns the currency with the ISO 4217 code (upper case).
func LookupCurrency(code string) (Currency, bool) {
	c, ok := currencies[code]
	return c, ok
}

// Currencies lists the supported currency codes.
func Currencies() []string {
	out := make([]string, 0, len(currencies))
	for k := range currencies {
		out = append(out, k)
	}
	return out
}

// Locale says how numbers, money and dates are written.
type Locale struct {
	Tag         string // BCP 47, e.g. "en-US"
	Region      string // "US"
	decimal     string
	group       string
	symbolAfter bool   // "1 234,56 €" rather than "€1,234.56"
	symbolSpace string // between number and symbol
	dateLayout  string // Go layout with month names replaced by months
	months      [12]string
	// PaperA4 is true where A4 is the usual paper size (everywhere except
	// North America and a few others, which use US Letter).
	PaperA4 bool
}

var enMonths = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
var frMonths = [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
var deMonths = [12]string{"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."}
var esMonths = [12]string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"}
var nlMonths = [12]string{"jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"}

const (
	nbsp  = "\u00a0"
	nnbsp = "\u202f"
)

var locales = map[string]Locale{
	"en-US": {Tag: "en-US", Region: "US", decimal: ".", group: ",", dateLayout: "M d, Y", months: enMonths},
	"en-CA": {Tag: "en-CA", Region: "CA", decimal: ".", group: ",", dateLayout: "M d, Y", months: enMonths},
	"en-GB": {Tag: "en-GB", Region: "GB", decimal: ".", group: ",", dateLayout: "d M Y", months: enMonths, PaperA4: true},
	"en-IE": {Tag: "en-IE", Region: "IE", decimal: ".", group: ",", dateLayout: "d M Y", months: enMonths, PaperA4: true},
	"en-AU": {Tag: "en-AU", Region: "AU", decimal: ".", group: ",", dateLayout: "d M Y", months: enMonths, PaperA4: true},
	"en-NZ": {Tag: "en-NZ", Region: "NZ", decimal: ".", group: ",", dateLayout: "d M Y", months: enMonths, PaperA4: true},
	"fr-FR": {Tag: "fr-FR", Region: "FR", decimal: ",", group: nnbsp, symbolAfter: true, symbolSpace: nbsp, dateLayout: "d M Y", months: frMonths, PaperA4: true},
	"fr-CA": {Tag: "fr-CA", Region: "CA", decimal: ",", group: nbsp, symbolAfter: true, symbolSpace: nbsp, dateLayout: "d M Y", months: frMonths},
	"de-DE": {Tag: "de-DE", Region: "DE", decimal: ",", group: ".", symbolAfter: true, symbolSpace: nbsp, dateLayout: "d. M Y", months: deMonths, PaperA4: true},
	"es-ES": {Tag: "es-ES", Region: "ES", decimal: ",", group: ".", symbolAfter: true, symbolSpace: nbsp, dateLayout: "d M Y", months: esMonths, PaperA4: true},
	"nl-NL": {Tag: "nl-NL", Region: "NL", decimal: ",", group: ".", symbolSpace: nbsp, dateLayout: "d M Y", months: nlMonths, PaperA4: true},
}

// LookupLocale returns the locale with the BCP 47 tag ("en-US").
func LookupLocale(tag string) (Locale, bool) {
	l, ok := locales[tag]
	return l, ok
}

// Locales lists the supported locale tags.
func Locales() []string {
	out := make([]string, 0, len(locales))
	for k := range locales {
		out = append(out, k)
	}
	return out
}

// Symbol is the symbol for cur as written in this locale.
func (l Locale) Symbol(cur Currency) string {
	if cur.home == "" || cur.home == l.Region {
		return cur.symbol
	}
	return cur.intl
}

// Number formats a non-negative integer part with the locale's grouping.
func (l Locale) group3(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(l.group)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Format writes a as money in this locale: "$1,234.56", "1 234,56 €",
// "-£12.00".
func (l Locale) Format(a Amount, cur Currency) string {
	u := abs(int64(a))
	s := fmt.Sprintf("%0*d", cur.Digits+1, u)
	intPart, frac := s[:len(s)-cur.Digits], s[len(s)-cur.Digits:]
	num := l.group3(intPart)
	if cur.Digits > 0 {
		num += l.decimal + frac
	}
	sym := l.Symbol(cur)
	var out string
	if l.symbolAfter {
		out = num + l.symbolSpace + sym
	} else {
		out = sym + l.symbolSpace + num
	}
	if a < 0 {
		out = "-" + out
	}
	return out
}

// FormatDecimal writes d in this locale with as few fractional digits as it needs.
func (l Locale) FormatDecimal(d Decimal) string {
	s := d.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	i, f, hasFrac := strings.Cut(s, ".")
	out := l.group3(i)
	if hasFrac {
		out += l.decimal + f
	}
	if neg {
		out = "-" + out
	}
	return out
}

// Date writes t as a calendar date in this locale ("Nov 23, 2026", "23 Nov 2026").
func (l Locale) Date(t time.Time) string {
	var b strings.Builder
	for _, c := range l.dateLayout {
		switch c {
		case 'd':
			fmt.Fprintf(&b, "%d", t.Day())
		case 'M':
			b.WriteString(l.months[t.Month()-1])
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// DayMonth writes t as a day of the month, without the year, in this
// locale ("Nov 23", "23 Nov").
func (l Locale) DayMonth(t time.Time) string {
	short := l
	short.dateLayout = strings.TrimRight(strings.TrimSuffix(l.dateLayout, "Y"), ", ")
	return short.Date(t)
}

// FormatIn formats minor units of the currency code in the locale tag,
// for callers that hold the codes (the edge, staff commands). Unknown codes
// give the plain number and the code, never an error.
func FormatIn(a Amount, currency, locale string) string {
	cur, ok := LookupCurrency(currency)
	loc, ok2 := LookupLocale(locale)
	if !ok || !ok2 {
		return fmt.Sprintf("%d (minor units) %s", a, currency)
	}
	return loc.Format(a, cur)
}
