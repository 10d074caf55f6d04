package upload

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombPNG declares a huge image in a valid header; the pixel data is
// never reached because the limit is checked first.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func TestImageProcessor(t *testing.T) {
	e := newEnv(t, Options{Processors: map[string][]Processor{"image/png": {ImageProcessor(1_000_000)}}})
	id := e.upload("pic.png", string(pngOf(t, 64, 48)))
	u := e.wait(id)
	if u.State != StateDone || u.Result != `{"image":{"format":"png","width":64,"height":48}}` {
		t.Fatalf("%+v", u)
	}
	u = e.wait(e.upload("bomb.png", string(bombPNG(100_000, 100_000))))
	if u.State != StateFailed || !strings.Contains(u.Message, "over 1000000 pixels") {
		t.Fatalf("bomb: %+v", u)
	}
	broken := pngOf(t, 20, 20)
	broken = broken[:len(broken)-30]
	u = e.wait(e.upload("broken.png", string(broken)))
	if u.State != StateFailed || !strings.Contains(u.Message, "damaged") {
		t.Fatalf("broken: %+v", u)
	}
}
