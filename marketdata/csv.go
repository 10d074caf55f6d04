package marketdata

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReadBarsCSV reads daily bars from CSV with a header row naming the columns
// (case-insensitive): Date (or an unnamed first column), Open, High, Low,
// Close, optional "Adj Close" and Volume. Dates are YYYY-MM-DD. Rows must be
// in ascending date order; the result is oldest first. This is the format of
// Stooq and Yahoo downloads.
func ReadBarsCSV(r io.Reader) ([]Bar, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty CSV", ErrBadData)
		}
		return nil, fmt.Errorf("%w: reading CSV header: %v", ErrBadData, err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "" && i == 0 {
			h = "date"
		}
		col[h] = i
	}
	if _, ok := col["adj close"]; !ok {
		if i, ok := col["adj_close"]; ok {
			col["adj close"] = i
		}
	}
	for _, need := range []string{"date", "close"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%w: CSV has no %q column (header %q)", ErrBadData, need, strings.Join(head, ","))
		}
	}
	var bars []Bar
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: CSV line %d: %v", ErrBadData, line, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		field := func(name string) (float64, bool, error) {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return 0, false, nil
			}
			s := strings.TrimSpace(rec[i])
			if s == "" || s == "null" || s == "N/D" || s == "N/A" {
				return 0, false, nil
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return 0, false, fmt.Errorf("%w: CSV line %d: %s %q", ErrBadData, line, name, s)
			}
			return v, true, nil
		}
		di := col["date"]
		if di >= len(rec) {
			return nil, fmt.Errorf("%w: CSV line %d: missing date", ErrBadData, line)
		}
		ds := strings.TrimSpace(rec[di])
		if len(ds) > 10 {
			ds = ds[:10]
		}
		t, err := time.Parse(time.DateOnly, ds)
		if err != nil {
			return nil, fmt.Errorf("%w: CSV line %d: date %q", ErrBadData, line, rec[di])
		}
		var b Bar
		b.Time = t
		var ok bool
		if b.Close, ok, err = field("close"); err != nil {
			return nil, err
		} else if !ok || b.Close == 0 {
			continue // holiday rows with no close
		}
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"open", &b.Open}, {"high", &b.High}, {"low", &b.Low}, {"adj close", &b.AdjClose}, {"volume", &b.Volume}} {
			v, ok, err := field(f.name)
			if err != nil {
				return nil, err
			}
			if ok {
				*f.dst = v
			}
		}
		if b.Open == 0 {
			b.Open = b.Close
		}
		if b.High == 0 {
			b.High = max(b.Open, b.Close)
		}
		if b.Low == 0 {
			b.Low = min(b.Open, b.Close)
		}
		if b.AdjClose == 0 {
			b.AdjClose = b.Close
		}
		if n := len(bars); n > 0 && !t.After(bars[n-1].Time) {
			return nil, fmt.Errorf("%w: CSV line %d: date %s not after %s", ErrBadData, line, ds, bars[n-1].Time.Format(time.DateOnly))
		}
		bars = append(bars, b)
	}
	if len(bars) == 0 {
		return nil, fmt.Errorf("%w: CSV has no bars", ErrBadData)
	}
	return bars, nil
}
