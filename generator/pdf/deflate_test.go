package pdf

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"testing"
)

// TestDeflateStreamsAsFpdf: Render's streams, deflated by deflateStreams,
// are the bytes fpdf writes with its own compression on.
func TestDeflateStreamsAsFpdf(t *testing.T) {
	var paletted bytes.Buffer
	img := image.NewPaletted(image.Rect(0, 0, 40, 20), color.Palette{color.White, color.RGBA{0x2f, 0x6b, 0x3a, 0xff}})
	for x := range 40 {
		img.SetColorIndex(x, x/2, 1)
	}
	if err := png.Encode(&paletted, img); err != nil {
		t.Fatal(err)
	}
	tricky := invoice(3)
	tricky.Sections = append(tricky.Sections, Section{Title: "endstream", Text: "endobj\n>>\nstream\nxref\n0 9\nstartxref\n12\n%%EOF"})
	docs := map[string]*Doc{"one line": invoice(1), "three pages": invoice(120), "stream words": tricky}
	withLogo := func(logo []byte) *Doc {
		d := invoice(2)
		d.Business.Logo, d.Business.LogoType = logo, "png"
		return d
	}
	docs["paletted logo"] = withLogo(paletted.Bytes())
	if raw, err := os.ReadFile("../../content/assets/logo.png"); err == nil {
		docs["logo with alpha"] = withLogo(raw)
		docs["opaque logo"] = withLogo(OpaquePNG(raw))
	}
	for name, d := range docs {
		t.Run(name, func(t *testing.T) {
			want, err := render(d, true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Render(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Render = %d bytes; fpdf's compression gives %d, other bytes", len(got), len(want))
			}
		})
	}
}

func TestDeflateStreamsRefusesJunk(t *testing.T) {
	for _, doc := range []string{"", "%PDF-1.4\n", "xref\n0 2\nstartxref\n0\n%%EOF\n", "1 0 obj\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000099 00000 n \ntrailer\n<<>>\nstartxref\n13\n%%EOF\n"} {
		if _, err := deflateStreams([]byte(doc)); err == nil {
			t.Errorf("deflateStreams(%q) succeeded; want an error", doc)
		}
	}
}

// BenchmarkRender: a one-page invoice, its streams compressed by fpdf
// (a new zlib writer each) and by Render (writers reused).
func BenchmarkRender(b *testing.B) {
	d := invoice(5)
	for _, c := range []struct {
		name   string
		render func(*Doc) ([]byte, error)
	}{{"fpdf", func(d *Doc) ([]byte, error) { return render(d, true) }}, {"reused", Render}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.render(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
