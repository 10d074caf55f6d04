package upload

import (
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register the decoders ImageProcessor accepts
	_ "image/png"
	"io"
)

// ErrImageTooLarge reports an image whose declared dimensions exceed the
// pixel limit (such as a decompression bomb: a small file that would
// decode to gigabytes).
var ErrImageTooLarge = errors.New("upload: image too large")

// ImageInfo is what ImageProcessor records under the result key "image".
type ImageInfo struct {
	Format string `json:"format"` // "png" or "jpeg"
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// ImageProcessor returns a Processor for PNG and JPEG files: it reads the
// dimensions from the header, refuses images over maxPixels (width ×
// height) before decoding anything, then decodes the whole image to make
// sure it is valid, and records an ImageInfo. maxPixels ≤ 0 means 40
// million.
func ImageProcessor(maxPixels int64) Processor {
	if maxPixels <= 0 {
		maxPixels = 40_000_000
	}
	return ProcessorFunc(func(ctx context.Context, job *Job) error {
		f, err := job.Open(ctx)
		if err != nil {
			return Transient(err)
		}
		defer f.Close()
		info, err := checkImage(f, maxPixels)
		if err != nil {
			return err
		}
		job.Progress(50, fmt.Sprintf("%d×%d %s", info.Width, info.Height, info.Format))
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Transient(err)
		}
		if _, _, err := image.Decode(f); err != nil {
			return fmt.Errorf("the image is damaged: %v", err)
		}
		job.Progress(90, fmt.Sprintf("%d×%d %s", info.Width, info.Height, info.Format))
		return job.SetResult("image", info)
	})
}

func checkImage(r io.Reader, maxPixels int64) (ImageInfo, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("not a readable PNG or JPEG image: %v", err)
	}
	if format != "png" && format != "jpeg" {
		return ImageInfo{}, fmt.Errorf("%w: %s images are not accepted", ErrUnsupportedType, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return ImageInfo{}, fmt.Errorf("%w: %d×%d is over %d pixels", ErrImageTooLarge, cfg.Width, cfg.Height, maxPixels)
	}
	return ImageInfo{Format: format, Width: cfg.Width, Height: cfg.Height}, nil
}
