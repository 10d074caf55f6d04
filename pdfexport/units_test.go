package pdfexport

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLength(t *testing.T) {
	tests := []struct {
		in     string
		inches float64
		ok     bool
	}{
		{"10mm", 10 / 25.4, true},
		{"2.54cm", 1, true},
		{"0.5in", 0.5, true},
		{"72pt", 1, true},
		{"96px", 1, true},
		{" 1.5 IN ", 1.5, true},
		{"0", 0, true},
		{"0mm", 0, true},
		{"10", 0, false},
		{"mm", 0, false},
		{"-1mm", 0, false},
		{"1e400mm", 0, false},
		{"NaNmm", 0, false},
		{"infmm", 0, false},
		{"10km", 0, false},
		{"6000mm", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			l, err := ParseLength(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, ErrInvalidOption)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.inches, l.Inches(), 1e-9)
		})
	}
}

func TestLengthConversions(t *testing.T) {
	assert.InDelta(t, 595.28, A4().Width.Points(), 0.01)
	assert.InDelta(t, 841.89, A4().Height.Points(), 0.01)
	assert.InDelta(t, 612, Letter().Width.Points(), 1e-9)
	assert.InDelta(t, 792, Letter().Height.Points(), 1e-9)
	assert.InDelta(t, 10, Millimeters(10).Millimeters(), 1e-9)
	assert.InDelta(t, 1, Centimeters(2.54).Inches(), 1e-9)
	assert.InDelta(t, 1, Pixels(96).Inches(), 1e-9)
	assert.Equal(t, "10mm", Millimeters(10).String())
}

func TestParsePaperSize(t *testing.T) {
	tests := []struct {
		in   string
		want PaperSize
		ok   bool
	}{
		{"A4", A4(), true},
		{"a3", A3(), true},
		{"A5", A5(), true},
		{"letter", Letter(), true},
		{"Legal", Legal(), true},
		{"TABLOID", Tabloid(), true},
		{"210mmx297mm", A4(), true},
		{"210mm x 297mm", A4(), true},
		{"8.5in*11in", Letter(), true},
		{"8.5in×11in", Letter(), true},
		{"B4", PaperSize{}, false},
		{"210x297", PaperSize{}, false},
		{"0mmx10mm", PaperSize{}, false},
		{"10mmx", PaperSize{}, false},
		{"x", PaperSize{}, false},
		{"", PaperSize{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePaperSize(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, ErrInvalidOption)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want.Width.Inches(), p.Width.Inches(), 1e-9)
			assert.InDelta(t, tt.want.Height.Inches(), p.Height.Inches(), 1e-9)
		})
	}
}

func TestParseMargins(t *testing.T) {
	m, err := ParseMargins("10mm")
	require.NoError(t, err)
	assert.Equal(t, *UniformMargins(Millimeters(10)), *m)
	m, err = ParseMargins("10mm 5mm")
	require.NoError(t, err)
	assert.Equal(t, Margins{Millimeters(10), Millimeters(5), Millimeters(10), Millimeters(5)}, *m)
	m, err = ParseMargins("1in,2in,3in")
	require.NoError(t, err)
	assert.Equal(t, Margins{Inches(1), Inches(2), Inches(3), Inches(2)}, *m)
	m, err = ParseMargins("1in 2in 3in 4in")
	require.NoError(t, err)
	assert.Equal(t, Margins{Inches(1), Inches(2), Inches(3), Inches(4)}, *m)
	for _, bad := range []string{"", "1in 2in 3in 4in 5in", "10", "1in -1in"} {
		_, err := ParseMargins(bad)
		assert.ErrorIs(t, err, ErrInvalidOption, bad)
	}
}

// FuzzParsePaperSize checks that parsing never panics and that whatever
// parses is a sane, finite, positive size.
func FuzzParsePaperSize(f *testing.F) {
	for _, s := range []string{"A4", "letter", "210mmx297mm", "8.5in*11in", "1e308inx1in", "×", "-0mmx1mm", "0x0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePaperSize(s)
		if err != nil {
			if !strings.Contains(err.Error(), ErrInvalidOption.Error()) {
				t.Fatalf("error %v does not wrap ErrInvalidOption", err)
			}
			return
		}
		for _, l := range []Length{p.Width, p.Height} {
			if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) || l < minPaper || l > maxLength {
				t.Fatalf("%q parsed to an insane size %v", s, p)
			}
		}
	})
}

// FuzzParseMargins checks that margins are never negative or infinite.
func FuzzParseMargins(f *testing.F) {
	for _, s := range []string{"10mm", "1in 2in", "0 0 0 0", "1e999mm", "-0px"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMargins(s)
		if err != nil {
			return
		}
		for _, l := range []Length{m.Top, m.Right, m.Bottom, m.Left} {
			if l < 0 || l > maxLength || l != l {
				t.Fatalf("%q parsed to %v", s, m)
			}
		}
	})
}
