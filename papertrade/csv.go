package papertrade

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// csvLayouts are the timestamp layouts ReadCSV accepts, tried in order.
var csvLayouts = [...]string{
	"2006-01-02",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04:05",
	time.RFC3339,
	time.RFC3339Nano,
	"2006-01-02 15:04:05-07:00",
	"2006-01-02 15:04:05Z07:00",
	"20060102",
	"20060102 150405",
	"2006/01/02",
	"01/02/2006",
}

// csvColumns maps a normalized header name to a column role.
func csvRole(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.Trim(n, "<>\"'\ufeff")
	switch n {
	case "", "date", "datetime", "timestamp", "unnamed: 0", "index", "day":
		return "date"
	case "time":
		return "time"
	case "open", "o":
		return "open"
	case "high", "h":
		return "high"
	case "low", "l":
		return "low"
	case "close", "c", "last", "price":
		return "close"
	case "volume", "vol", "v":
		return "volume"
	}
	return ""
}

// ReadCSV reads OHLCV bars from CSV text. The header is detected by name,
// case-insensitively: Date,Open,High,Low,Close,Volume (Stooq), Yahoo's extra
// "Adj Close" column (ignored), backtesting.py/pandas files whose first,
// unnamed column holds the timestamp, and Stooq bulk files with <DATE> and
// <TIME> columns. Volume is optional (0 when absent). Timestamps without a
// zone are read as UTC; dates may be "2006-01-02", "2006-01-02 15:04:05",
// RFC 3339, "20060102" or Unix seconds. The bars are validated with
// ValidateBars; the first bad row is reported by line number.
func ReadCSV(r io.Reader) ([]Bar, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrBadCSV)
		}
		return nil, fmt.Errorf("%w: header: %v", ErrBadCSV, err)
	}
	col := map[string]int{}
	for i, h := range header {
		role := csvRole(h)
		if role == "" {
			continue
		}
		if _, dup := col[role]; !dup {
			col[role] = i
		}
	}
	if _, ok := col["date"]; !ok {
		if t, ok := col["time"]; ok { // a lone "time" column holds the timestamp
			col["date"] = t
			delete(col, "time")
		}
	}
	for _, need := range []string{"date", "open", "high", "low", "close"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%w: no %q column in header %q", ErrBadCSV, need, strings.Join(header, ","))
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
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadCSV, line, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		b, err := parseCSVRow(rec, col)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadCSV, line, err)
		}
		bars = append(bars, b)
	}
	if len(bars) == 0 {
		return nil, fmt.Errorf("%w: %w", ErrBadCSV, ErrNoBars)
	}
	if err := ValidateBars(bars); err != nil {
		return nil, err
	}
	return bars, nil
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

func parseCSVRow(rec []string, col map[string]int) (Bar, error) {
	field := func(role string) (string, bool) {
		i, ok := col[role]
		if !ok || i >= len(rec) {
			return "", false
		}
		return strings.TrimSpace(rec[i]), true
	}
	var b Bar
	ds, ok := field("date")
	if !ok {
		return b, errors.New("missing date field")
	}
	if ts, ok := field("time"); ok && ts != "" {
		ds = ds + " " + ts
	}
	t, err := parseCSVTime(ds)
	if err != nil {
		return b, err
	}
	b.Time = t
	for _, f := range []struct {
		role string
		dst  *float64
	}{{"open", &b.Open}, {"high", &b.High}, {"low", &b.Low}, {"close", &b.Close}, {"volume", &b.Volume}} {
		s, ok := field(f.role)
		if !ok {
			if f.role == "volume" {
				continue
			}
			return b, fmt.Errorf("missing %s field", f.role)
		}
		if f.role == "volume" && s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return b, fmt.Errorf("%s %q is not a number", f.role, s)
		}
		*f.dst = v
	}
	return b, nil
}

func parseCSVTime(s string) (time.Time, error) {
	for _, layout := range csvLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	// Stooq bulk "20240102 000000" is covered above; Unix seconds last.
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil && sec > 1e8 {
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unrecognized timestamp %q", s)
}
