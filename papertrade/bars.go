package papertrade

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/finkit/finkit/marketdata"
)

// Bar is one OHLCV candle, marketdata's Bar: Time is the bar's opening
// time (the date for daily bars); prices and volume are float64, analytics,
// not money. The engine trades Open, High, Low and Close and ignores
// AdjClose: FromHistory converts a marketdata history into bars for a
// backtest (complete bars only, adjusted for splits and dividends if asked,
// validated).
type Bar = marketdata.Bar

// Sentinel errors for bad market data.
var (
	// ErrNoBars is returned when a series has no bars.
	ErrNoBars = errors.New("papertrade: no bars")
	// ErrInvalidBar is returned for NaN, infinite, zero or negative prices,
	// negative volume, or High below Low / outside Open and Close.
	ErrInvalidBar = errors.New("papertrade: invalid bar")
	// ErrUnsorted is returned when bar times go backwards.
	ErrUnsorted = errors.New("papertrade: bars not sorted by time")
	// ErrDuplicateTime is returned when two bars share a timestamp.
	ErrDuplicateTime = errors.New("papertrade: duplicate bar time")
	// ErrBadCSV is returned when a CSV file cannot be read as OHLCV bars.
	ErrBadCSV = errors.New("papertrade: bad CSV")
)

// ValidateBar checks one bar's prices: finite and positive prices,
// Low <= min(Open, Close) <= max(Open, Close) <= High, and non-negative volume
// (NaN volume is allowed: some sources have none).
func ValidateBar(b Bar) error {
	return validateBar(&b)
}

// validateBar is ValidateBar without copying the bar: one combined test
// for the common valid bar, the detailed checks only to explain an error.
func validateBar(b *Bar) error {
	ok := func(v float64) bool { return v > 0 && v <= math.MaxFloat64 }                // false for NaN, ±Inf, <= 0
	volumeOK := (b.Volume >= 0 && b.Volume <= math.MaxFloat64) || b.Volume != b.Volume // NaN allowed
	if ok(b.Open) && ok(b.High) && ok(b.Low) && ok(b.Close) && volumeOK &&
		b.Low <= b.Open && b.Low <= b.Close && b.Open <= b.High && b.Close <= b.High {
		return nil
	}
	if !ok(b.Open) || !ok(b.High) || !ok(b.Low) || !ok(b.Close) {
		for _, p := range [...]struct {
			name string
			v    float64
		}{{"open", b.Open}, {"high", b.High}, {"low", b.Low}, {"close", b.Close}} {
			if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
				return fmt.Errorf("%w: %s is %v", ErrInvalidBar, p.name, p.v)
			}
			if p.v <= 0 {
				return fmt.Errorf("%w: %s %v is not positive", ErrInvalidBar, p.name, p.v)
			}
		}
	}
	if b.High < b.Low {
		return fmt.Errorf("%w: high %v < low %v", ErrInvalidBar, b.High, b.Low)
	}
	if b.Open > b.High || b.Close > b.High || b.Open < b.Low || b.Close < b.Low {
		return fmt.Errorf("%w: open %v / close %v outside [low %v, high %v]", ErrInvalidBar, b.Open, b.Close, b.Low, b.High)
	}
	if b.Volume < 0 || math.IsInf(b.Volume, 0) {
		return fmt.Errorf("%w: volume %v", ErrInvalidBar, b.Volume)
	}
	return nil
}

// ValidateBars checks a whole series: not empty, every bar valid (see
// ValidateBar), times strictly increasing. The error names the first bad bar
// by index.
func ValidateBars(bars []Bar) error {
	if len(bars) == 0 {
		return ErrNoBars
	}
	for i := range bars {
		b := &bars[i]
		if err := validateBar(b); err != nil {
			return fmt.Errorf("bar %d (%s): %w", i, b.Time.Format(time.RFC3339), err)
		}
		if i > 0 {
			prev := bars[i-1].Time
			if b.Time.After(prev) {
				continue
			}
			if b.Time.Equal(prev) {
				return fmt.Errorf("bar %d: %w: %s", i, ErrDuplicateTime, b.Time.Format(time.RFC3339))
			}
			return fmt.Errorf("bar %d: %w: %s before %s", i, ErrUnsorted, b.Time.Format(time.RFC3339), prev.Format(time.RFC3339))
		}
	}
	return nil
}

// Closes returns the closing prices of bars (marketdata.Closes, unadjusted).
func Closes(bars []Bar) []float64 {
	return marketdata.Closes(make([]float64, 0, len(bars)), bars, false)
}
