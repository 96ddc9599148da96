package generator

import (
	"fmt"
	"math"
	"strconv"
)

// Colors are the brand colours given to style.css.
type Colors struct {
	Brand     string // as configured
	BrandInk  string // brand adjusted to at least 4.5:1 contrast on white, for text and links
	OnBrand   string // text colour on a Brand background (#ffffff or #111111)
	BrandSoft string // a light tint of the brand for backgrounds
}

// BrandColors derives the palette from a brand colour "#rrggbb", adjusting
// where needed so that text keeps WCAG AA contrast (4.5:1).
func BrandColors(hex string) Colors {
	r, g, b := parseHex(hex)
	c := Colors{Brand: hex}
	// Darken in small steps until the colour reads on white.
	ir, ig, ib := r, g, b
	for i := 0; i < 100 && contrast(lum(ir, ig, ib), 1) < 4.5; i++ {
		ir, ig, ib = ir*0.95, ig*0.95, ib*0.95
	}
	c.BrandInk = toHex(ir, ig, ib)
	lb := lum(r, g, b)
	if contrast(1, lb) >= contrast(lum(0x11/255.0, 0x11/255.0, 0x11/255.0), lb) {
		c.OnBrand = "#ffffff"
	} else {
		c.OnBrand = "#111111"
	}
	c.BrandSoft = toHex(r*0.08+0.92, g*0.08+0.92, b*0.08+0.92)
	return c
}

// ContrastRatio is the WCAG contrast ratio of two "#rrggbb" colours.
func ContrastRatio(a, b string) float64 {
	ar, ag, ab := parseHex(a)
	br, bg, bb := parseHex(b)
	return contrast(lum(ar, ag, ab), lum(br, bg, bb))
}

func parseHex(s string) (r, g, b float64) {
	if len(s) != 7 || s[0] != '#' {
		return 0, 0, 0
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return 0, 0, 0
	}
	return float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255
}

func toHex(r, g, b float64) string {
	c := func(v float64) int { return int(math.Round(math.Max(0, math.Min(1, v)) * 255)) }
	return fmt.Sprintf("#%02x%02x%02x", c(r), c(g), c(b))
}

func lum(r, g, b float64) float64 {
	ch := func(v float64) float64 {
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(r) + 0.7152*ch(g) + 0.0722*ch(b)
}

func contrast(l1, l2 float64) float64 {
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}
