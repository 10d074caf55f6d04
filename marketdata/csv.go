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

// CSVOptions selects how ReadBarsCSVOptions reads rows. The zero value is
// the lenient mode of ReadBarsCSV.
type CSVOptions struct {
	// Strict requires Open, High, Low and Close columns and a number in
	// each of them on every row; Volume may be absent or empty (0), and Adj
	// Close is kept when it is a number, else left 0. Timestamps keep their
	// time of day (in UTC). The values are returned as written: they are not
	// checked for sign, finiteness or date order, no row is skipped and a
	// file with no rows is not an error, so the caller must validate the
	// bars (papertrade.ReadCSV does).
	Strict bool
	// MonthFirst also accepts US-style "01/02/2006" dates (January 2),
	// which are ambiguous and therefore refused by default.
	MonthFirst bool
}

// ReadBarsCSV reads daily bars from CSV with a header row naming the columns
// (case-insensitive): Date (or an unnamed first column), Open, High, Low,
// Close, optional "Adj Close" and Volume. This is the format of Stooq and
// Yahoo downloads; the other layouts and timestamp forms described at
// ReadBarsCSVOptions are understood too. Only the date and the close are
// required: rows whose close is empty, "null", "N/D" or "N/A" (holidays) are
// skipped, a missing open defaults to the close, high and low to the larger
// and smaller of open and close, AdjClose to Close. Each bar's time is the
// calendar date as written, at midnight UTC. Prices must be finite and not
// negative, and dates strictly ascending; the result is oldest first.
func ReadBarsCSV(r io.Reader) ([]Bar, error) {
	return ReadBarsCSVOptions(r, CSVOptions{})
}

// ReadBarsCSVOptions reads bars from CSV as ReadBarsCSV does, in the mode
// opts selects. The header is detected by name, case-insensitively and
// ignoring a byte-order mark and <> or quotes around names: the timestamp
// column is Date, Datetime, Timestamp, Day, Index, "Unnamed: 0" or an
// unnamed first column (pandas and backtesting.py files), or a lone Time
// column; a Time column next to a date column (Stooq bulk <DATE>,<TIME>) is
// joined to it. Open/O, High/H, Low/L, Close/C/Last/Price, "Adj Close" or
// adj_close and Volume/Vol/V are the value columns; the first column of a
// role wins and unknown columns are ignored. Timestamps may be
// "2006-01-02", "2006-01-02 15:04[:05]", "2006-01-02T15:04:05", RFC 3339,
// "2006-01-02 15:04:05-07:00", "20060102", "20060102 150405", "2006/01/02"
// or Unix seconds; those without a zone are UTC. Errors wrap ErrBadData
// and name the CSV line.
func ReadBarsCSVOptions(r io.Reader, opts CSVOptions) ([]Bar, error) {
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
	col := csvColumns(head)
	need := []string{"date", "close"}
	if opts.Strict {
		need = []string{"date", "open", "high", "low", "close"}
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("%w: CSV has no %q column (header %q)", ErrBadData, n, strings.Join(head, ","))
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
		var b Bar
		var ok bool
		if opts.Strict {
			b, err = strictCSVRow(rec, col, opts)
			ok = true
		} else {
			b, ok, err = lenientCSVRow(rec, col, opts)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: CSV line %d: %v", ErrBadData, line, err)
		}
		if !ok {
			continue
		}
		if n := len(bars); !opts.Strict && n > 0 && !b.Time.After(bars[n-1].Time) {
			return nil, fmt.Errorf("%w: CSV line %d: date %s not after %s", ErrBadData, line, b.Time.Format(time.DateOnly), bars[n-1].Time.Format(time.DateOnly))
		}
		bars = append(bars, b)
	}
	if len(bars) == 0 && !opts.Strict {
		return nil, fmt.Errorf("%w: CSV has no bars", ErrBadData)
	}
	return bars, nil
}

// csvColumns maps each column role ("date", "time", "open", "high", "low",
// "close", "adj close", "volume") to the index of its first column.
func csvColumns(head []string) map[string]int {
	col := map[string]int{}
	for i, h := range head {
		n := strings.ToLower(strings.TrimSpace(h))
		n = strings.TrimSpace(strings.Trim(n, "<>\"'\ufeff"))
		role := ""
		switch n {
		case "":
			if i == 0 {
				role = "date"
			}
		case "date", "datetime", "timestamp", "unnamed: 0", "index", "day":
			role = "date"
		case "time":
			role = "time"
		case "open", "o":
			role = "open"
		case "high", "h":
			role = "high"
		case "low", "l":
			role = "low"
		case "close", "c", "last", "price":
			role = "close"
		case "adj close", "adj_close":
			role = "adj close"
		case "volume", "vol", "v":
			role = "volume"
		}
		if _, dup := col[role]; role != "" && !dup {
			col[role] = i
		}
	}
	if _, ok := col["date"]; !ok {
		if t, ok := col["time"]; ok { // a lone "time" column holds the timestamp
			col["date"] = t
			delete(col, "time")
		}
	}
	return col
}

// csvField returns the trimmed field of role in rec and whether the row has
// that column.
func csvField(rec []string, col map[string]int, role string) (string, bool) {
	i, ok := col[role]
	if !ok || i >= len(rec) {
		return "", false
	}
	return strings.TrimSpace(rec[i]), true
}

// csvTimestamp returns the row's timestamp text: the date column, joined
// with a non-empty time column.
func csvTimestamp(rec []string, col map[string]int) (string, error) {
	ds, ok := csvField(rec, col, "date")
	if !ok {
		return "", errors.New("missing date")
	}
	if ts, ok := csvField(rec, col, "time"); ok && ts != "" {
		ds += " " + ts
	}
	return ds, nil
}

// csvLayouts are the timestamp layouts read, tried in order.
var csvLayouts = [...]string{
	time.DateOnly,
	time.DateTime,
	"2006-01-02 15:04",
	"2006-01-02T15:04:05",
	time.RFC3339,
	time.RFC3339Nano,
	"2006-01-02 15:04:05-07:00",
	"2006-01-02 15:04:05Z07:00",
	"20060102",
	"20060102 150405",
	"2006/01/02",
}

// parseCSVTime parses s in the first matching layout, keeping the zone it
// was written in (UTC when none), or as Unix seconds.
func parseCSVTime(s string, monthFirst bool) (time.Time, error) {
	for _, layout := range csvLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if monthFirst {
		if t, err := time.Parse("01/02/2006", s); err == nil {
			return t, nil
		}
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil && sec > 1e8 {
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unrecognized date %q", s)
}

// strictCSVRow reads a row that must hold every OHLC value, as written.
func strictCSVRow(rec []string, col map[string]int, opts CSVOptions) (Bar, error) {
	var b Bar
	ds, err := csvTimestamp(rec, col)
	if err != nil {
		return b, err
	}
	t, err := parseCSVTime(ds, opts.MonthFirst)
	if err != nil {
		return b, err
	}
	b.Time = t.UTC()
	for _, f := range []struct {
		role string
		dst  *float64
	}{{"open", &b.Open}, {"high", &b.High}, {"low", &b.Low}, {"close", &b.Close}, {"volume", &b.Volume}, {"adj close", &b.AdjClose}} {
		s, ok := csvField(rec, col, f.role)
		optional := f.role == "volume" || f.role == "adj close"
		if !ok && optional || s == "" && f.role == "volume" {
			continue
		}
		if !ok {
			return b, fmt.Errorf("missing %s field", f.role)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			if f.role == "adj close" {
				continue
			}
			return b, fmt.Errorf("%s %q is not a number", f.role, s)
		}
		*f.dst = v
	}
	return b, nil
}

// lenientCSVRow reads a daily row that needs only a date and a close; ok is
// false for a row without a close, which is skipped.
func lenientCSVRow(rec []string, col map[string]int, opts CSVOptions) (b Bar, ok bool, err error) {
	field := func(role string) (float64, bool, error) {
		s, ok := csvField(rec, col, role)
		if !ok || s == "" || s == "null" || s == "N/D" || s == "N/A" {
			return 0, false, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, false, fmt.Errorf("%s %q", role, s)
		}
		return v, true, nil
	}
	ds, err := csvTimestamp(rec, col)
	if err != nil {
		return b, false, err
	}
	t, err := parseCSVTime(ds, opts.MonthFirst)
	if err != nil {
		// The calendar date of a longer timestamp in another form.
		if len(ds) <= 10 {
			return b, false, fmt.Errorf("date %q", ds)
		}
		if t, err = time.Parse(time.DateOnly, ds[:10]); err != nil {
			return b, false, fmt.Errorf("date %q", ds)
		}
	}
	b.Time = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if b.Close, ok, err = field("close"); err != nil || !ok || b.Close == 0 {
		return b, false, err // holiday rows have no close
	}
	for _, f := range []struct {
		role string
		dst  *float64
	}{{"open", &b.Open}, {"high", &b.High}, {"low", &b.Low}, {"adj close", &b.AdjClose}, {"volume", &b.Volume}} {
		v, ok, err := field(f.role)
		if err != nil {
			return b, false, err
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
	return b, true, nil
}
