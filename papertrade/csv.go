package papertrade

import (
	"fmt"
	"io"
	"os"

	"github.com/finkit/finkit/marketdata"
)

// ReadCSV reads OHLCV bars from CSV text with marketdata.ReadBarsCSVOptions
// in strict mode, so every row needs a date, open, high, low and close. The
// header is detected by name, case-insensitively:
// Date,Open,High,Low,Close,Volume (Stooq), Yahoo's extra "Adj Close"
// column (ignored), backtesting.py/pandas files whose first,
// unnamed column holds the timestamp, and Stooq bulk files with <DATE> and
// <TIME> columns. Volume is optional (0 when absent). Timestamps without a
// zone are read as UTC; dates may be "2006-01-02", "2006-01-02 15:04:05",
// RFC 3339, "20060102", "01/02/2006" (month first) or Unix seconds. Errors
// reading the file wrap ErrBadCSV and name the line; the bars are then
// validated with ValidateBars (ErrInvalidBar, ErrUnsorted, ...).
func ReadCSV(r io.Reader) ([]Bar, error) {
	mb, err := marketdata.ReadBarsCSVOptions(r, marketdata.CSVOptions{Strict: true, MonthFirst: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSV, err)
	}
	if len(mb) == 0 {
		return nil, fmt.Errorf("%w: %w", ErrBadCSV, ErrNoBars)
	}
	return FromHistory(marketdata.History{Symbol: "CSV", Bars: mb}, false)
}

// ReadCSVFile opens path and reads it with ReadCSV.
func ReadCSVFile(path string) ([]Bar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("papertrade: %w", err)
	}
	defer f.Close()
	bars, err := ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return bars, nil
}
