package pdf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
)

// Layout, in millimetres and points.
const (
	margin     = 18.0 // left, right and top
	bottom     = 18.0 // room for the footer
	font       = "Helvetica"
	bodySize   = 9.5
	smallSize  = 8.0
	lineH      = 4.6 // body line height
	smallLineH = 3.8
	cellPad    = 1.8 // above and below a table row's text
)

// undated is the creation date of a Doc without one.
var undated = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type rgb struct{ r, g, b int }

func parseColor(hex string, def rgb) rgb {
	if len(hex) != 7 || hex[0] != '#' {
		return def
	}
	v, err := strconv.ParseUint(hex[1:], 16, 32)
	if err != nil {
		return def
	}
	return rgb{int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)}
}

var (
	black = rgb{0x1a, 0x1a, 0x1a}
	grey  = rgb{0x5c, 0x5c, 0x5c} // 6.5:1 on white
	rule  = rgb{0xd0, 0xd0, 0xd0}
)

// Latin converts UTF-8 text to Windows-1252, the encoding of the PDF core
// fonts. Characters it lacks become a close equivalent where there is one
// (narrow no-break space, minus sign, non-breaking hyphen) and "?" otherwise,
// so unusual text never fails a build.
func Latin(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	enc := charmap.Windows1252
	for _, r := range s {
		switch r {
		case '\u202f', '\u2007', '\u2009': // narrow, figure and thin spaces
			r = '\u00a0'
		case '\u2212', '\u2010', '\u2011': // minus sign, hyphens
			r = '-'
		case '\t':
			r = ' '
		}
		if r < 0x80 {
			b.WriteByte(byte(r))
			continue
		}
		if c, ok := enc.EncodeRune(r); ok {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// layout draws one document.
type layout struct {
	f                     *fpdf.Fpdf
	d                     *Doc
	left, right, width    float64 // content box
	limit                 float64 // lowest y a line may reach
	ink, fill, onFill, sf rgb
}

// Render lays d out and returns the PDF.
func Render(d *Doc) ([]byte, error) {
	b, err := render(d, false)
	if err != nil {
		return nil, err
	}
	return deflateStreams(b)
}

// render lays d out; compress is fpdf's compression of streams, which
// Render does itself (see deflateStreams).
func render(d *Doc, compress bool) ([]byte, error) {
	size := A4
	if d.Paper == Letter {
		size = Letter
	}
	f := fpdf.New("P", "mm", size, "")
	f.SetCompression(compress)
	f.SetCatalogSort(true)
	date := d.Date
	if date.IsZero() {
		date = undated // fpdf would take the current time
	}
	f.SetCreationDate(date)
	f.SetModificationDate(date)
	f.SetTitle(strings.TrimSpace(d.Kind+" "+d.Number), true)
	f.SetSubject(d.Subject, true)
	f.SetAuthor(d.Business.Name, true)
	f.SetCreator("hub", true)
	if d.Lang != "" {
		f.SetLang(d.Lang)
	}
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(false, bottom) // rows are kept whole by layout.room
	f.SetCellMargin(0)
	f.AliasNbPages("{nb}")
	pw, ph := f.GetPageSize()
	l := &layout{
		f: f, d: d, left: margin, right: pw - margin, width: pw - 2*margin, limit: ph - bottom,
		ink:    parseColor(d.Business.Ink, black),
		fill:   parseColor(d.Business.Fill, black),
		onFill: parseColor(d.Business.OnFill, rgb{255, 255, 255}),
		sf:     parseColor(d.Business.Soft, rgb{0xf2, 0xf2, 0xf2}),
	}
	f.SetHeaderFunc(l.runningHead)
	f.SetFooterFunc(l.footer)
	f.AddPage()
	l.letterhead()
	l.parties()
	l.highlight()
	for i := range d.Tables {
		keep := 0.0
		if i == len(d.Tables)-1 {
			keep = l.totalsHeight() // the totals stay with the table's last row
		}
		l.table(&d.Tables[i], keep)
	}
	l.totals()
	for i := range d.After {
		l.table(&d.After[i], 0)
	}
	for _, s := range d.Sections {
		l.section(s)
	}
	l.signature()
	l.acceptance()
	if d.Closing != "" {
		l.gap(4)
		l.room(lineH + 2)
		l.text(font, "I", 10, black)
		f.SetX(l.left)
		f.CellFormat(l.width, lineH+1, Latin(d.Closing), "", 1, "L", false, 0, "")
	}
	l.remittance()
	var b bytes.Buffer
	if err := f.Output(&b); err != nil {
		return nil, fmt.Errorf("pdf %s %s: %w", d.Kind, d.Number, err)
	}
	return b.Bytes(), nil
}

func (l *layout) text(family, style string, size float64, c rgb) {
	l.f.SetFont(family, style, size)
	l.f.SetTextColor(c.r, c.g, c.b)
}

func (l *layout) gap(h float64) { l.f.SetY(l.f.GetY() + h) }

// room starts a new page unless h more millimetres fit on this one; it
// reports whether it did.
func (l *layout) room(h float64) bool {
	if l.f.GetY()+h <= l.limit {
		return false
	}
	l.f.AddPage()
	return true
}

// wrap splits UTF-8 text into Windows-1252 lines that fit w at the current font.
func (l *layout) wrap(s string, w float64) []string {
	var out []string
	for _, ln := range l.f.SplitLines([]byte(Latin(s)), w) {
		out = append(out, string(ln))
	}
	if len(out) == 0 && s != "" {
		out = []string{""}
	}
	return out
}

// runningHead is the small heading of every page after the first.
func (l *layout) runningHead() {
	f := l.f
	if f.PageNo() == 1 {
		return
	}
	l.text(font, "", smallSize, grey)
	f.SetXY(l.left, 10)
	f.CellFormat(l.width/2, 5, Latin(l.d.Business.Name), "", 0, "L", false, 0, "")
	f.CellFormat(l.width/2, 5, Latin(strings.TrimSpace(l.d.Kind+" "+l.d.Number)+" (continued)"), "", 0, "R", false, 0, "")
	f.SetDrawColor(rule.r, rule.g, rule.b)
	f.SetLineWidth(0.2)
	f.Line(l.left, 15.5, l.right, 15.5)
	f.SetXY(l.left, margin+2)
}

// footer carries the business's contact details and the page count.
func (l *layout) footer() {
	f := l.f
	_, ph := f.GetPageSize()
	y := ph - 13
	f.SetDrawColor(rule.r, rule.g, rule.b)
	f.SetLineWidth(0.2)
	f.Line(l.left, y, l.right, y)
	b := l.d.Business
	l.text(font, "", 7.5, grey)
	f.SetXY(l.left, y+1.5)
	f.CellFormat(l.width-30, 4, Latin(joinNonEmpty([]string{b.Name, b.Phone, b.Email, b.Website}, "  ·  ")), "", 0, "L", false, 0, "")
	f.CellFormat(30, 4, fmt.Sprintf("Page %d of {nb}", f.PageNo()), "", 0, "R", false, 0, "")
}

// joinNonEmpty joins the strings that are not empty.
func joinNonEmpty(ss []string, sep string) string {
	var parts []string
	for _, s := range ss {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, sep)
}

// letterhead draws the business (logo or name, address, contacts) on the
// left and the document's kind, number and status on the right.
func (l *layout) letterhead() {
	f, d, b := l.f, l.d, l.d.Business
	top := margin
	y := top
	if len(b.Logo) > 0 && (b.LogoType == "png" || b.LogoType == "jpg") {
		info := f.RegisterImageOptionsReader("logo", fpdf.ImageOptions{ImageType: b.LogoType}, bytes.NewReader(b.Logo))
		if f.Ok() && info != nil && info.Height() > 0 {
			h := 11.0
			w := h * info.Width() / info.Height()
			if w > 70 {
				w, h = 70, 70*info.Height()/info.Width()
			}
			f.ImageOptions("logo", l.left, y, w, h, false, fpdf.ImageOptions{ImageType: b.LogoType}, 0, "")
			y += h + 3
		}
	}
	leftW := l.width * 0.58
	if y == top { // no logo: the name in the brand colour
		l.text(font, "B", 17, l.ink)
		for _, ln := range l.wrap(b.Name, leftW) {
			f.SetXY(l.left, y)
			f.CellFormat(leftW, 7.5, ln, "", 0, "L", false, 0, "")
			y += 7.5
		}
		y += 1.5
	} else {
		l.text(font, "B", 10, black)
		f.SetXY(l.left, y)
		f.CellFormat(leftW, lineH, Latin(b.Name), "", 0, "L", false, 0, "")
		y += lineH
	}
	// The address on one line and the contacts on another (each wrapped
	// when long), so the letterhead leaves the page to the document.
	l.text(font, "", 8.5, grey)
	for _, s := range []string{joinNonEmpty(b.Address, ", "), joinNonEmpty([]string{b.Phone, b.Email}, "  ·  ")} {
		for _, ln := range l.wrap(s, leftW) {
			f.SetXY(l.left, y)
			f.CellFormat(leftW, smallLineH, ln, "", 0, "L", false, 0, "")
			y += smallLineH
		}
	}

	ry := top
	rw := l.width - leftW
	l.text(font, "B", 20, l.ink)
	f.SetXY(l.left+leftW, ry)
	f.CellFormat(rw, 9, Latin(d.Kind), "", 0, "R", false, 0, "")
	ry += 9.5
	if d.Number != "" {
		l.text(font, "B", 11, black)
		f.SetXY(l.left+leftW, ry)
		f.CellFormat(rw, 5.5, Latin(d.Number), "", 0, "R", false, 0, "")
		ry += 6
	}
	if d.Status != "" {
		l.text(font, "B", 8.5, l.onFill)
		sw := f.GetStringWidth(Latin(d.Status)) + 5
		f.SetFillColor(l.fill.r, l.fill.g, l.fill.b)
		f.RoundedRect(l.right-sw, ry+0.5, sw, 5.5, 1.2, "1234", "F")
		f.SetXY(l.right-sw, ry+0.5)
		f.CellFormat(sw, 5.5, Latin(d.Status), "", 0, "C", false, 0, "")
		ry += 7
	}
	y = max(y, ry) + 4
	f.SetDrawColor(l.fill.r, l.fill.g, l.fill.b)
	f.SetLineWidth(0.7)
	f.Line(l.left, y, l.right, y)
	f.SetY(y + 5)
	if d.Subject != "" {
		l.text(font, "B", 13, black)
		for _, ln := range l.wrap(d.Subject, l.width) {
			f.SetX(l.left)
			f.CellFormat(l.width, 6, ln, "", 1, "L", false, 0, "")
		}
		l.gap(2)
	}
}

// parties draws the client on the left and the facts on the right.
func (l *layout) parties() {
	f, d := l.f, l.d
	top := f.GetY()
	colW := l.width * 0.5
	y := top
	if len(d.To.Lines) > 0 {
		l.text(font, "B", 7.5, grey)
		f.SetXY(l.left, y)
		f.CellFormat(colW, 4, Latin(strings.ToUpper(d.To.Label)), "", 0, "L", false, 0, "")
		y += 5
		for i, s := range d.To.Lines {
			if i == 0 {
				l.text(font, "B", bodySize+0.5, black)
			} else {
				l.text(font, "", bodySize, black)
			}
			for _, ln := range l.wrap(s, colW-6) {
				f.SetXY(l.left, y)
				f.CellFormat(colW-6, lineH, ln, "", 0, "L", false, 0, "")
				y += lineH
			}
		}
	}
	fy := top
	x := l.left + colW
	labelW := colW * 0.36
	for _, fd := range d.Facts {
		fy = l.field(fd, x, fy, labelW, colW-labelW)
	}
	f.SetY(max(y, fy) + 5)
}

// field draws a labelled value at x, y: the label in grey, the value bold
// and right-aligned (wrapped to valueW), or a line to write on when it is
// empty. It returns the y below it.
func (l *layout) field(fd Field, x, y, labelW, valueW float64) float64 {
	f := l.f
	l.text(font, "", bodySize, grey)
	f.SetXY(x, y)
	f.CellFormat(labelW, lineH+0.6, Latin(fd.Label), "", 0, "L", false, 0, "")
	if fd.Value == "" {
		f.Line(x+labelW+4, y+lineH+0.2, x+labelW+valueW, y+lineH+0.2)
		return y + lineH + 0.6
	}
	l.text(font, "B", bodySize, black)
	for _, ln := range l.wrap(fd.Value, valueW) {
		f.SetXY(x+labelW, y)
		f.CellFormat(valueW, lineH+0.6, ln, "", 0, "R", false, 0, "")
		y += lineH + 0.6
	}
	return y
}

// highlight draws the figure that matters most in a tinted panel.
func (l *layout) highlight() {
	h := l.d.Highlight
	if h == nil {
		return
	}
	f := l.f
	y := f.GetY()
	const ht = 11.0
	f.SetFillColor(l.sf.r, l.sf.g, l.sf.b)
	f.Rect(l.left, y, l.width, ht, "F")
	f.SetFillColor(l.fill.r, l.fill.g, l.fill.b)
	f.Rect(l.left, y, 1.4, ht, "F")
	l.text(font, "B", 10.5, black)
	f.SetXY(l.left+5, y)
	f.CellFormat(l.width*0.4, ht, Latin(h.Label), "", 0, "L", false, 0, "")
	l.text(font, "", smallSize+0.5, grey)
	dw := 0.0
	if l.d.Detail != "" {
		dw = f.GetStringWidth(Latin(l.d.Detail)) + 4
	}
	l.text(font, "B", 15, l.ink)
	aw := f.GetStringWidth(Latin(h.Value))
	f.SetXY(l.right-4-aw-dw, y)
	f.CellFormat(aw, ht, Latin(h.Value), "", 0, "R", false, 0, "")
	if dw > 0 {
		l.text(font, "", smallSize+0.5, grey)
		f.SetXY(l.right-4-dw, y+0.6)
		f.CellFormat(dw, ht, Latin(l.d.Detail), "", 0, "R", false, 0, "")
	}
	f.SetY(y + ht + 5)
}

// widths shares the content width among columns.
func (l *layout) widths(cols []Column) []float64 {
	var sum float64
	for _, c := range cols {
		sum += c.Width
	}
	out := make([]float64, len(cols))
	for i, c := range cols {
		out[i] = l.width * c.Width / sum
	}
	return out
}

const colGap = 3.0 // space between a cell's text and the next column

// cellBox is where the text of a cell at x, w wide, goes: 2 mm in from the
// table's edge side, half the column gap from its neighbours.
func cellBox(x, w float64, right bool) (tx, tw float64, align string) {
	if right {
		return x + colGap/2, w - colGap/2 - 2, "R"
	}
	return x + 2, w - 2 - colGap/2, "L"
}

func (l *layout) tableHead(t *Table, ws []float64) {
	f := l.f
	const h = 7.0
	y := f.GetY()
	f.SetFillColor(l.fill.r, l.fill.g, l.fill.b)
	f.Rect(l.left, y, l.width, h, "F")
	l.text(font, "B", smallSize+0.5, l.onFill)
	x := l.left
	for i, c := range t.Columns {
		tx, tw, align := cellBox(x, ws[i], c.Right)
		f.SetXY(tx, y)
		f.CellFormat(tw, h, Latin(c.Head), "", 0, align, false, 0, "")
		x += ws[i]
	}
	f.SetY(y + h)
}

// rowLines is a row's text laid out per cell.
type rowLines struct {
	cells [][]string
	tag   []string
	sub   []string
	h     float64
}

func (l *layout) measure(t *Table, r *Row, ws []float64) rowLines {
	var rl rowLines
	style := ""
	if r.Strong {
		style = "B"
	}
	tallest := 0.0
	for i := range t.Columns {
		s := ""
		if i < len(r.Cells) {
			s = r.Cells[i]
		}
		st := style
		if i == 0 && r.Sub != "" {
			st = "B" // a line item's name
		}
		l.f.SetFont(font, st, bodySize)
		lines := l.wrap(s, ws[i]-2-colGap/2)
		rl.cells = append(rl.cells, lines)
		h := float64(len(lines)) * lineH
		if i == 0 {
			if r.Tag != "" {
				l.f.SetFont(font, "I", smallSize)
				rl.tag = l.wrap(r.Tag, ws[0]-2-colGap/2)
				h += float64(len(rl.tag)) * smallLineH
			}
			if r.Sub != "" {
				l.f.SetFont(font, "", smallSize+0.5)
				rl.sub = l.wrap(r.Sub, ws[0]-2-colGap/2)
				h += float64(len(rl.sub))*smallLineH + 0.8
			}
		}
		tallest = max(tallest, h)
	}
	rl.h = tallest + 2*cellPad
	return rl
}

// table draws t, breaking pages between rows and repeating the heading.
// keep is the height of what must follow the last row on its page.
func (l *layout) table(t *Table, keep float64) {
	if len(t.Rows) == 0 {
		return
	}
	f := l.f
	ws := l.widths(t.Columns)
	first := l.measure(t, &t.Rows[0], ws)
	titleH := 0.0
	if t.Title != "" {
		titleH += 8
	}
	if t.Note != "" {
		titleH += 5
	}
	// A title is kept with the heading and the first row (and what must
	// follow it, when it is also the last).
	firstNeed := first.h
	if len(t.Rows) == 1 {
		firstNeed += 5 + keep
	}
	l.room(titleH + 7 + firstNeed)
	if t.Title != "" {
		l.text(font, "B", 11.5, l.ink)
		f.SetX(l.left)
		f.CellFormat(l.width, 6, Latin(t.Title), "", 1, "L", false, 0, "")
		l.gap(2)
	}
	if t.Note != "" {
		l.text(font, "", smallSize, grey)
		f.SetX(l.left)
		f.CellFormat(l.width, 4, Latin(t.Note), "", 1, "L", false, 0, "")
		l.gap(1)
	}
	l.tableHead(t, ws)
	for i := range t.Rows {
		r := &t.Rows[i]
		rl := l.measure(t, r, ws)
		need := rl.h
		if i == len(t.Rows)-1 {
			need += 5 + keep
		}
		if l.room(need) {
			l.tableHead(t, ws)
		}
		l.row(t, r, rl, ws)
	}
	l.gap(5)
}

func (l *layout) row(t *Table, r *Row, rl rowLines, ws []float64) {
	f := l.f
	y := f.GetY()
	color := black
	if r.Muted {
		color = grey
	}
	style := ""
	if r.Strong {
		style = "B"
		f.SetFillColor(l.sf.r, l.sf.g, l.sf.b)
		f.Rect(l.left, y, l.width, rl.h, "F")
	}
	x := l.left
	for i, c := range t.Columns {
		tx, tw, align := cellBox(x, ws[i], c.Right)
		st := style
		if i == 0 && r.Sub != "" {
			st = "B"
		}
		l.text(font, st, bodySize, color)
		cy := y + cellPad
		for _, ln := range rl.cells[i] {
			f.SetXY(tx, cy)
			f.CellFormat(tw, lineH, ln, "", 0, align, false, 0, "")
			cy += lineH
		}
		if i == 0 {
			l.text(font, "I", smallSize, l.ink)
			if r.Muted {
				l.text(font, "I", smallSize, grey)
			}
			for _, ln := range rl.tag {
				f.SetXY(tx, cy)
				f.CellFormat(tw, smallLineH, ln, "", 0, "L", false, 0, "")
				cy += smallLineH
			}
			l.text(font, "", smallSize+0.5, grey)
			cy += 0.8
			for _, ln := range rl.sub {
				f.SetXY(tx, cy)
				f.CellFormat(tw, smallLineH, ln, "", 0, "L", false, 0, "")
				cy += smallLineH
			}
		}
		x += ws[i]
	}
	f.SetDrawColor(rule.r, rule.g, rule.b)
	f.SetLineWidth(0.2)
	f.Line(l.left, y+rl.h, l.right, y+rl.h)
	f.SetY(y + rl.h)
}

// totalsRow is the label lines and height of a totals row.
func (l *layout) totalsRow(r Row, labelW float64) (lines []string, h float64) {
	size, style := totalsStyle(r)
	h = lineH + 0.8
	if r.Strong {
		h = 7.5
	}
	label := ""
	if len(r.Cells) > 0 {
		label = r.Cells[0]
	}
	l.text(font, style, size, black)
	lines = l.wrap(label, labelW-2)
	return lines, max(h, float64(len(lines))*lineH+1.5)
}

// totalsStyle is the font size and style of a totals row.
func totalsStyle(r Row) (float64, string) {
	if r.Strong {
		return 11, "B"
	}
	return bodySize, ""
}

// totalsHeight is the height of the totals block.
func (l *layout) totalsHeight() float64 {
	if len(l.d.Totals) == 0 {
		return 0
	}
	w := min(95.0, l.width)
	sum := 6.0
	for _, r := range l.d.Totals {
		_, h := l.totalsRow(r, w*0.62)
		sum += h + 1 // the room asked for each row
	}
	return sum
}

// totals draws the totals block on the right.
func (l *layout) totals() {
	if len(l.d.Totals) == 0 {
		return
	}
	f := l.f
	w := min(95.0, l.width)
	x := l.right - w
	labelW, amountW := w*0.62, w*0.38
	for _, r := range l.d.Totals {
		amount := ""
		if len(r.Cells) > 1 {
			amount = r.Cells[1]
		}
		lines, rh := l.totalsRow(r, labelW)
		size, style := totalsStyle(r)
		l.room(rh + 1)
		y := f.GetY()
		if r.Strong {
			f.SetDrawColor(l.fill.r, l.fill.g, l.fill.b)
			f.SetLineWidth(0.5)
			f.Line(x, y+0.5, l.right, y+0.5)
			y += 1
		}
		ly := y + (rh-float64(len(lines))*lineH)/2
		l.text(font, style, size, black)
		for _, ln := range lines {
			f.SetXY(x, ly)
			f.CellFormat(labelW, lineH, ln, "", 0, "L", false, 0, "")
			ly += lineH
		}
		f.SetXY(x+labelW, y)
		f.CellFormat(amountW, rh, Latin(amount), "", 0, "R", false, 0, "")
		f.SetY(y + rh)
	}
	l.gap(6)
}

// section draws a titled block of plain text, paragraph by paragraph.
func (l *layout) section(s Section) {
	if len(s.Lines) > 0 {
		l.richSection(s)
		return
	}
	f := l.f
	l.text(font, "", bodySize, black)
	lines := l.wrap(s.Text, l.width)
	l.sectionTitle(s.Title, len(lines))
	l.text(font, "", bodySize, black)
	for _, ln := range lines {
		l.room(lineH)
		f.SetX(l.left)
		f.CellFormat(l.width, lineH, ln, "", 1, "L", false, 0, "")
	}
	l.gap(5)
}

// sectionTitle draws a section's title, kept with its first lines (n of
// them): all of them when they fill less than a third of a page (how to
// pay is not split), else three.
func (l *layout) sectionTitle(title string, n int) {
	f := l.f
	_, ph := f.GetPageSize()
	keep := float64(n) * lineH
	if keep > (ph-margin-bottom)/3 {
		keep = min(3, float64(n)) * lineH
	}
	l.room(8 + keep)
	l.text(font, "B", 11.5, l.ink)
	f.SetX(l.left)
	f.CellFormat(l.width, 6, Latin(title), "", 1, "L", false, 0, "")
	l.gap(1.5)
}

// piece is a word of rich text (with the spaces after it) placed on a line.
type piece struct {
	text, style string // Windows-1252 text; "", "B", "I" or "BI"
	w           float64
}

// richLines wraps rich text to width: each visual line's pieces.
func (l *layout) richLines(lines []Line, width float64) [][]piece {
	var out [][]piece
	for _, ln := range lines {
		var cur []piece
		x := 0.0
		for _, sp := range ln {
			style := ""
			if sp.Bold {
				style += "B"
			}
			if sp.Italic {
				style += "I"
			}
			l.f.SetFont(font, style, bodySize)
			for _, word := range words(Latin(sp.Text)) {
				w := l.f.GetStringWidth(word)
				if x+w > width && len(cur) > 0 && strings.TrimSpace(word) != "" {
					out = append(out, cur)
					cur, x = nil, 0
				}
				cur = append(cur, piece{word, style, w})
				x += w
			}
		}
		out = append(out, cur) // an empty Line is a blank line
	}
	return out
}

// words splits s after each run of spaces, keeping the spaces with the
// word before them ("a  b c" is "a  ", "b ", "c").
func words(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] != ' ' && s[i-1] == ' ' {
			out = append(out, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// richSection draws a section whose text has bold and italic words.
func (l *layout) richSection(s Section) {
	f := l.f
	lines := l.richLines(s.Lines, l.width)
	l.sectionTitle(s.Title, len(lines))
	for _, ln := range lines {
		if len(ln) == 0 { // between paragraphs: half a line
			l.gap(lineH / 2)
			continue
		}
		l.room(lineH)
		y, x := f.GetY(), l.left
		for _, p := range ln {
			l.text(font, p.style, bodySize, black)
			f.SetXY(x, y)
			f.CellFormat(p.w, lineH, p.text, "", 0, "L", false, 0, "")
			x += p.w
		}
		f.SetY(y + lineH)
	}
	l.gap(5)
}

// signature prints a drawn signature (PNG) with its label under a rule.
func (l *layout) signature() {
	d, f := l.d, l.f
	if len(d.Signature) == 0 && d.SignatureLabel == "" {
		return
	}
	l.room(40)
	y := f.GetY()
	h := 0.0
	if len(d.Signature) > 0 {
		opt := fpdf.ImageOptions{ImageType: "png"}
		info := f.RegisterImageOptionsReader("signature", opt, bytes.NewReader(d.Signature))
		if f.Ok() && info != nil && info.Width() > 0 {
			w := 60.0
			h = w * info.Height() / info.Width()
			if h > 25 {
				h, w = 25, 25*info.Width()/info.Height()
			}
			f.ImageOptions("signature", l.left, y, w, h, false, opt, 0, "")
		} else {
			f.ClearError() // an unreadable image: the typed name stands
		}
	}
	f.SetY(y + h + 1)
	f.SetDrawColor(120, 120, 120)
	f.Line(l.left, f.GetY(), l.left+80, f.GetY())
	l.gap(1.5)
	l.text(font, "", 9, black)
	f.SetX(l.left)
	f.CellFormat(l.width, lineH, Latin(d.SignatureLabel), "", 1, "L", false, 0, "")
	l.gap(4)
}

// acceptance draws a quote's signature block: what signing means, then
// lines for the signature, the name and the date, filled when approved.
func (l *layout) acceptance() {
	a, f := l.d.Acceptance, l.f
	if a == nil {
		return
	}
	l.text(font, "", bodySize, black)
	lines := l.wrap(a.Text, l.width)
	l.room(8 + float64(len(lines))*lineH + 32)
	l.text(font, "B", 11.5, l.ink)
	f.SetX(l.left)
	f.CellFormat(l.width, 6, "Acceptance", "", 1, "L", false, 0, "")
	l.gap(1.5)
	l.text(font, "", bodySize, black)
	for _, ln := range lines {
		f.SetX(l.left)
		f.CellFormat(l.width, lineH, ln, "", 1, "L", false, 0, "")
	}
	y := f.GetY() + 16 // the lines' baseline: room above for a signature
	sigW := l.width * 0.46
	nameW := l.width * 0.32
	dateW := l.width - sigW - nameW - 8
	if len(a.Signature) > 0 {
		opt := fpdf.ImageOptions{ImageType: "png"}
		info := f.RegisterImageOptionsReader("acceptance", opt, bytes.NewReader(a.Signature))
		if f.Ok() && info != nil && info.Width() > 0 {
			h := 14.0
			w := h * info.Width() / info.Height()
			if w > sigW {
				w, h = sigW, sigW*info.Height()/info.Width()
			}
			f.ImageOptions("acceptance", l.left, y-h-0.5, w, h, false, opt, 0, "")
		} else {
			f.ClearError()
		}
	}
	cols := []struct {
		x, w        float64
		label, text string
	}{
		{l.left, sigW, "Signature", ""},
		{l.left + sigW + 4, nameW, "Name", a.Name},
		{l.left + sigW + nameW + 8, dateW, "Date", a.Date},
	}
	f.SetDrawColor(120, 120, 120)
	f.SetLineWidth(0.3)
	for _, c := range cols {
		if c.text != "" {
			l.text(font, "", 10, black)
			f.SetXY(c.x, y-6)
			f.CellFormat(c.w, 5, Latin(c.text), "", 0, "L", false, 0, "")
		}
		f.Line(c.x, y, c.x+c.w, y)
		l.text(font, "", smallSize, grey)
		f.SetXY(c.x, y+0.8)
		f.CellFormat(c.w, smallLineH, c.label, "", 0, "L", false, 0, "")
	}
	f.SetY(y + 8)
}

// remittance draws the slip a client returns with a payment, below a
// dashed cut line at the foot of the last page (a page of its own when
// the last one is full).
func (l *layout) remittance() {
	r, f := l.d.Remittance, l.f
	if r == nil {
		return
	}
	rows := max(len(r.Fields), len(r.PayTo)+1)
	h := 16 + float64(rows)*(lineH+0.6)
	top := l.limit - h
	if f.GetY()+4 > top {
		f.AddPage()
	}
	f.SetDrawColor(120, 120, 120)
	f.SetLineWidth(0.3)
	f.SetDashPattern([]float64{1.5, 1.2}, 0)
	f.Line(l.left, top, l.right, top)
	f.SetDashPattern([]float64{}, 0)
	l.text(font, "", 7.5, grey)
	f.SetXY(l.left, top+0.8)
	f.CellFormat(l.width, 3.5, "Please detach and return this part with your payment", "", 0, "C", false, 0, "")
	y := top + 7
	l.text(font, "B", 11.5, l.ink)
	f.SetXY(l.left, y)
	f.CellFormat(l.width/2, 6, "Remittance", "", 0, "L", false, 0, "")
	y += 8
	colW := l.width * 0.5
	py := y
	for i, s := range r.PayTo {
		if i == 0 {
			l.text(font, "B", bodySize, black)
		} else {
			l.text(font, "", bodySize, black)
		}
		f.SetXY(l.left, py)
		f.CellFormat(colW-6, lineH+0.6, Latin(s), "", 0, "L", false, 0, "")
		py += lineH + 0.6
	}
	x := l.left + colW
	labelW := colW * 0.5
	for _, fd := range r.Fields {
		y = l.field(fd, x, y, labelW, colW-labelW)
	}
	f.SetY(max(y, py))
}
