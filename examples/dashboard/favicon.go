package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// favicon is the app's icon as an ICO file holding one 32×32 PNG (the
// format browsers ask /favicon.ico for): the logo's blue diamond on the
// header's dark blue. Pages also link static/favicon.svg.
var favicon = sync.OnceValue(func() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	bg := color.NRGBA{0x11, 0x1a, 0x33, 0xff}
	fg := color.NRGBA{0x7a, 0xa2, 0xff, 0xff}
	for y := range n {
		for x := range n {
			dx, dy := x-n/2, y-n/2
			if dx < 0 {
				dx = -dx
			}
			if dy < 0 {
				dy = -dy
			}
			c := bg
			if dx+dy <= 11 {
				c = fg
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var pngData bytes.Buffer
	_ = png.Encode(&pngData, img) // cannot fail on an in-memory image
	var ico bytes.Buffer
	// ICONDIR: reserved, type 1 (icon), one image; then its ICONDIRENTRY.
	_ = binary.Write(&ico, binary.LittleEndian, struct {
		Reserved, Type, Count   uint16
		W, H, Colors, Reserved2 uint8
		Planes, BitCount        uint16
		Size, Offset            uint32
	}{0, 1, 1, n, n, 0, 0, 1, 32, uint32(pngData.Len()), 6 + 16})
	ico.Write(pngData.Bytes())
	return ico.Bytes()
})

func serveFavicon(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "image/x-icon", favicon())
}
