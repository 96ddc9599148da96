package site

import (
	"bytes"
	"encoding/xml"
	"image"
	_ "image/gif" // image.DecodeConfig knows GIF
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// ImageSize reads an image's size: an SVG's width and height attributes
// (or its viewBox), a PNG's, JPEG's or GIF's header. ok is false when it
// cannot tell (a WebP, an SVG sized only in percent). Pages write it on
// the <img>, so they do not shift when it loads.
func ImageSize(name string, b []byte) (w, h int, ok bool) {
	if strings.HasSuffix(strings.ToLower(name), ".svg") {
		return svgSize(b)
	}
	c, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || c.Width <= 0 || c.Height <= 0 {
		return 0, 0, false
	}
	return c.Width, c.Height, true
}

// svgSize is the size of the root <svg> element.
func svgSize(b []byte) (int, int, bool) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	for {
		tok, err := d.Token()
		if err != nil {
			return 0, 0, false
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if el.Name.Local != "svg" {
			return 0, 0, false
		}
		var w, h float64
		var box []string
		for _, a := range el.Attr {
			switch a.Name.Local {
			case "width":
				w = svgLength(a.Value)
			case "height":
				h = svgLength(a.Value)
			case "viewBox":
				box = strings.Fields(strings.ReplaceAll(a.Value, ",", " "))
			}
		}
		if (w == 0 || h == 0) && len(box) == 4 {
			bw, h1 := svgLength(box[2]), svgLength(box[3])
			switch {
			case w == 0 && h == 0:
				w, h = bw, h1
			case w == 0 && h1 > 0:
				w = h * bw / h1
			case bw > 0:
				h = w * h1 / bw
			}
		}
		if w <= 0 || h <= 0 {
			return 0, 0, false
		}
		return int(math.Round(w)), int(math.Round(h)), true
	}
}

// svgLength is a length in pixels ("240", "240px"); 0 for other units.
func svgLength(s string) float64 {
	s = strings.TrimSuffix(strings.TrimSpace(s), "px")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0
	}
	return f
}

// fileImageSize is ImageSize of a file, from its first 64 KiB (0, 0 when
// it cannot tell).
func fileImageSize(name string) (w, h int) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	w, h, _ = ImageSize(name, b)
	return w, h
}
