package main

import (
	"fmt"
	"html/template"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// qrQuietZone is the blank border around a QR code, in modules (the
// standard asks for four).
const qrQuietZone = 4

// qrBitmap encodes text as a QR code (error correction level M) and returns
// its modules, [row][column], true for dark.
func qrBitmap(text string) ([][]bool, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	var w bitmapWriter
	if err := q.Save(&w); err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return w.bits, nil
}

// bitmapWriter is a qrcode.Writer that keeps the matrix.
type bitmapWriter struct{ bits [][]bool }

func (w *bitmapWriter) Write(m qrcode.Matrix) error { w.bits = m.Bitmap(); return nil }
func (w *bitmapWriter) Close() error                { return nil }

// qrSVG renders text as an inline SVG QR code: one path of dark runs per
// row on a white square with the quiet zone, scaled by CSS. It is drawn on
// the server, so the secret in an otpauth:// URI never leaves the page.
func qrSVG(text, label string) (template.HTML, error) {
	bits, err := qrBitmap(text)
	if err != nil {
		return "", err
	}
	n := len(bits) + 2*qrQuietZone
	var path strings.Builder
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", start+qrQuietZone, y+qrQuietZone, x-start, x-start)
		}
	}
	svg := fmt.Sprintf(`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`,
		n, n, template.HTMLEscapeString(label), n, n, path.String())
	return template.HTML(svg), nil // #nosec: built from numbers and an escaped label only
}
