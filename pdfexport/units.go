package pdfexport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Length is a length on paper, stored in inches, the unit of the DevTools
// protocol. Build one with [Millimeters], [Centimeters], [Inches], [Points] or
// [Pixels], or parse text such as "10mm" with [ParseLength].
type Length float64

// Millimeters returns a Length of mm millimetres.
func Millimeters(mm float64) Length { return Length(mm / 25.4) }

// Centimeters returns a Length of cm centimetres.
func Centimeters(cm float64) Length { return Length(cm / 2.54) }

// Inches returns a Length of in inches.
func Inches(in float64) Length { return Length(in) }

// Points returns a Length of pt typographic points (1/72 inch), the unit
// of PDF page sizes.
func Points(pt float64) Length { return Length(pt / 72) }

// Pixels returns a Length of px CSS pixels (1/96 inch).
func Pixels(px float64) Length { return Length(px / 96) }

// Inches returns l in inches.
func (l Length) Inches() float64 { return float64(l) }

// Millimeters returns l in millimetres.
func (l Length) Millimeters() float64 { return float64(l) * 25.4 }

// Points returns l in typographic points (1/72 inch).
func (l Length) Points() float64 { return float64(l) * 72 }

// String formats l in millimetres, for example "10mm".
func (l Length) String() string {
	return strconv.FormatFloat(math.Round(l.Millimeters()*1000)/1000, 'f', -1, 64) + "mm"
}

// unitsPerInch says how many of each unit make an inch.
var unitsPerInch = map[string]float64{
	"mm": 25.4,
	"cm": 2.54,
	"in": 1,
	"pt": 72,
	"px": 96,
}

// maxLength is the longest length ParseLength accepts: 5 metres is far beyond
// any paper, and keeps every value finite.
const maxLength = Length(5000 / 25.4)

// ParseLength parses a length with a unit: mm, cm, in, pt or px, as in
// "10mm", "0.5in", "1.2 cm" or "72pt". The number must not be negative. A bare
// "0" is accepted without a unit; any other number needs one, because a
// guessed unit would print silently wrong pages.
func ParseLength(s string) (Length, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "0" {
		return 0, nil
	}
	if len(t) < 3 {
		return 0, fmt.Errorf("%w: length %q needs a unit (mm, cm, in, pt, px)", ErrInvalidOption, s)
	}
	unit := t[len(t)-2:]
	perInch, ok := unitsPerInch[unit]
	if !ok {
		return 0, fmt.Errorf("%w: length %q needs a unit (mm, cm, in, pt, px)", ErrInvalidOption, s)
	}
	num := strings.TrimSpace(t[:len(t)-2])
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: length %q: %q is not a number", ErrInvalidOption, s, num)
	}
	if v < 0 {
		return 0, fmt.Errorf("%w: length %q is negative", ErrInvalidOption, s)
	}
	l := Length(v / perInch)
	if l > maxLength {
		return 0, fmt.Errorf("%w: length %q is too long", ErrInvalidOption, s)
	}
	return l, nil
}

// PaperSize is the size of a sheet in portrait orientation; landscape swaps
// the sides when printing.
type PaperSize struct {
	Width, Height Length
}

// The paper sizes that [ParsePaperSize] knows by name. They are functions,
// not variables, so no code in the process can change what "A4" means for
// another caller.

// A3 returns the ISO A3 size, 297mm x 420mm.
func A3() PaperSize { return PaperSize{Millimeters(297), Millimeters(420)} }

// A4 returns the ISO A4 size, 210mm x 297mm.
func A4() PaperSize { return PaperSize{Millimeters(210), Millimeters(297)} }

// A5 returns the ISO A5 size, 148mm x 210mm.
func A5() PaperSize { return PaperSize{Millimeters(148), Millimeters(210)} }

// Letter returns the US Letter size, 8.5in x 11in.
func Letter() PaperSize { return PaperSize{Inches(8.5), Inches(11)} }

// Legal returns the US Legal size, 8.5in x 14in.
func Legal() PaperSize { return PaperSize{Inches(8.5), Inches(14)} }

// Tabloid returns the US Tabloid size, 11in x 17in.
func Tabloid() PaperSize { return PaperSize{Inches(11), Inches(17)} }

// paperByName maps the lower-case names of the standard sizes.
func paperByName(name string) (PaperSize, bool) {
	switch name {
	case "a3":
		return A3(), true
	case "a4":
		return A4(), true
	case "a5":
		return A5(), true
	case "letter":
		return Letter(), true
	case "legal":
		return Legal(), true
	case "tabloid":
		return Tabloid(), true
	}
	return PaperSize{}, false
}

// minPaper is the smallest side Chromium prints reliably (about 2.5 mm less
// than an inch would still work, but a tenth of an inch is already useless).
const minPaper = Length(0.1)

// ParsePaperSize parses a paper size: a name (A3, A4, A5, Letter, Legal,
// Tabloid, case-insensitive) or WIDTHxHEIGHT with units, such as
// "210mm x 297mm" or "4in*6in".
func ParsePaperSize(s string) (PaperSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if p, ok := paperByName(t); ok {
		return p, nil
	}
	sep := strings.IndexAny(t, "x*×")
	if sep < 0 {
		return PaperSize{}, fmt.Errorf("%w: paper %q: want A3, A4, A5, Letter, Legal, Tabloid or WIDTHxHEIGHT such as 210mmx297mm", ErrInvalidOption, s)
	}
	_, size := firstRune(t[sep:])
	w, err := ParseLength(t[:sep])
	if err != nil {
		return PaperSize{}, fmt.Errorf("paper %q width: %w", s, err)
	}
	h, err := ParseLength(t[sep+size:])
	if err != nil {
		return PaperSize{}, fmt.Errorf("paper %q height: %w", s, err)
	}
	p := PaperSize{Width: w, Height: h}
	if err := p.validate(); err != nil {
		return PaperSize{}, err
	}
	return p, nil
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

func (p PaperSize) validate() error {
	if p.Width < minPaper || p.Height < minPaper {
		return fmt.Errorf("%w: paper %s x %s is too small (at least 0.1in per side)", ErrInvalidOption, p.Width, p.Height)
	}
	if p.Width > maxLength || p.Height > maxLength {
		return fmt.Errorf("%w: paper %s x %s is too large", ErrInvalidOption, p.Width, p.Height)
	}
	return nil
}

// Margins are the four page margins. The header and footer templates are
// drawn inside the top and bottom margins, so those must be tall enough for
// them (about 15mm for one line of 10px text).
type Margins struct {
	Top, Right, Bottom, Left Length
}

// UniformMargins returns margins of l on all four sides.
func UniformMargins(l Length) *Margins {
	return &Margins{Top: l, Right: l, Bottom: l, Left: l}
}

// DefaultMargins returns the margins used when PageOptions.Margins is nil:
// 10mm on every side, close to Chromium's own default of 1cm, but sent
// explicitly.
func DefaultMargins() Margins { return *UniformMargins(Millimeters(10)) }

// ParseMargins parses one to four lengths separated by spaces or commas, in
// the CSS order: "10mm" (all sides), "10mm 5mm" (vertical, horizontal),
// "10mm 5mm 8mm" (top, horizontal, bottom) or "10mm 5mm 8mm 5mm" (top, right,
// bottom, left).
func ParseMargins(s string) (*Margins, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	ls := make([]Length, 0, 4)
	for _, f := range fields {
		l, err := ParseLength(f)
		if err != nil {
			return nil, fmt.Errorf("margins %q: %w", s, err)
		}
		ls = append(ls, l)
	}
	switch len(ls) {
	case 1:
		return UniformMargins(ls[0]), nil
	case 2:
		return &Margins{Top: ls[0], Right: ls[1], Bottom: ls[0], Left: ls[1]}, nil
	case 3:
		return &Margins{Top: ls[0], Right: ls[1], Bottom: ls[2], Left: ls[1]}, nil
	case 4:
		return &Margins{Top: ls[0], Right: ls[1], Bottom: ls[2], Left: ls[3]}, nil
	default:
		return nil, fmt.Errorf("%w: margins %q: want 1 to 4 lengths", ErrInvalidOption, s)
	}
}
