package pdf

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
)

// OpaquePNG is a PNG that Render can embed as it is: 8 bits, not interlaced,
// no alpha channel. fpdf refuses 16-bit and interlaced PNGs, and splits and
// recompresses one with an alpha channel for every PDF (BenchmarkRenderLogo:
// about 7 ms a page against 1 ms with the sample's logo), so those are laid on white and written again,
// once (call it once per image, not per document). A PNG that is fine, or that does not decode, is
// returned as it is.
func OpaquePNG(b []byte) []byte {
	// The IHDR chunk follows the 8-byte signature: length, "IHDR", width,
	// height, bit depth (24), colour type (25), ..., interlace (28).
	if len(b) < 29 || string(b[12:16]) != "IHDR" {
		return b
	}
	if depth, ctype, interlaced := b[24], b[25], b[28]; depth <= 8 && ctype != 4 && ctype != 6 && interlaced == 0 {
		return b
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return b
	}
	flat := image.NewRGBA(img.Bounds())
	draw.Draw(flat, flat.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(flat, flat.Bounds(), img, img.Bounds().Min, draw.Over)
	var out bytes.Buffer
	if err := png.Encode(&out, flat); err != nil { // opaque: written as 8-bit RGB
		return b
	}
	return out.Bytes()
}
