package marketdata_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

func TestReadBarsCSVLayouts(t *testing.T) {
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in         string
		lenient, strict  marketdata.Bar
		strictErrContain string
	}{
		{"yahoo", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,12,9,11,10.5,500\n",
			marketdata.Bar{Time: day, Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 10.5, Volume: 500},
			marketdata.Bar{Time: day, Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 10.5, Volume: 500}, ""},
		{"pandas unnamed index, intraday", ",Open,High,Low,Close,Volume\n2024-01-02 15:00:00,10,12,9,11,7\n",
			marketdata.Bar{Time: day, Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 11, Volume: 7},
			marketdata.Bar{Time: day.Add(15 * time.Hour), Open: 10, High: 12, Low: 9, Close: 11, Volume: 7}, ""},
		{"stooq bulk", "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\nAAPL.US,D,20240102,093000,10,12,9,11,100,0\n",
			marketdata.Bar{Time: day, Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 11, Volume: 100},
			marketdata.Bar{Time: day.Add(9*time.Hour + 30*time.Minute), Open: 10, High: 12, Low: 9, Close: 11, Volume: 100}, ""},
		{"rfc3339 keeps the written date when lenient", "timestamp,open,high,low,close\n2024-01-02T23:00:00-05:00,10,12,9,11\n",
			marketdata.Bar{Time: day, Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 11},
			marketdata.Bar{Time: time.Date(2024, 1, 3, 4, 0, 0, 0, time.UTC), Open: 10, High: 12, Low: 9, Close: 11}, ""},
		{"lone time column, unix seconds", "time,open,high,low,close\n1704189600,10,12,9,11\n",
			marketdata.Bar{Time: day, Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 11},
			marketdata.Bar{Time: time.Unix(1704189600, 0).UTC(), Open: 10, High: 12, Low: 9, Close: 11}, ""},
		{"close only", "Day,Price\n2024/01/02,11\n",
			marketdata.Bar{Time: day, Open: 11, High: 11, Low: 11, Close: 11, AdjClose: 11},
			marketdata.Bar{}, `no "open" column`},
		{"bom and quotes", "\ufeffDate,'<Close>'\n2024-01-02,11\n",
			marketdata.Bar{Time: day, Open: 11, High: 11, Low: 11, Close: 11, AdjClose: 11},
			marketdata.Bar{}, `no "open" column`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bars, err := marketdata.ReadBarsCSV(strings.NewReader(tc.in))
			require.NoError(t, err)
			require.Len(t, bars, 1)
			assert.Equal(t, tc.lenient, bars[0])
			bars, err = marketdata.ReadBarsCSVOptions(strings.NewReader(tc.in), marketdata.CSVOptions{Strict: true})
			if tc.strictErrContain != "" {
				require.ErrorIs(t, err, marketdata.ErrBadData)
				assert.Contains(t, err.Error(), tc.strictErrContain)
				return
			}
			require.NoError(t, err)
			require.Len(t, bars, 1)
			assert.Equal(t, tc.strict, bars[0])
		})
	}
}

func TestReadBarsCSVOptionsStrict(t *testing.T) {
	strict := marketdata.CSVOptions{Strict: true}
	// Values come back as written, unsorted, for the caller to validate.
	bars, err := marketdata.ReadBarsCSVOptions(strings.NewReader("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-03,0,-1,NaN,2,null,\n2024-01-02,1,1,1,1,1,1\n"), strict)
	require.NoError(t, err)
	require.Len(t, bars, 2)
	assert.Equal(t, time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC), bars[0].Time)
	assert.Equal(t, []float64{0, -1, 2, 0, 0}, []float64{bars[0].Open, bars[0].High, bars[0].Close, bars[0].AdjClose, bars[0].Volume})
	assert.True(t, math.IsNaN(bars[0].Low))

	bars, err = marketdata.ReadBarsCSVOptions(strings.NewReader("Date,Open,High,Low,Close\n"), strict)
	require.NoError(t, err, "no rows is the caller's to judge")
	assert.Empty(t, bars)

	in := "Date,Close\n01/02/2024,5\n"
	_, err = marketdata.ReadBarsCSV(strings.NewReader(in))
	require.ErrorIs(t, err, marketdata.ErrBadData, "month-first dates are ambiguous")
	bars, err = marketdata.ReadBarsCSVOptions(strings.NewReader(in), marketdata.CSVOptions{MonthFirst: true})
	require.NoError(t, err)
	assert.Equal(t, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), bars[0].Time)

	for name, in := range map[string]string{
		"null close":   "Date,Open,High,Low,Close\n2024-01-02,1,1,1,null\n",
		"short row":    "Date,Open,High,Low,Close\n2024-01-02,1,1\n",
		"bad volume":   "Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,1,lots\n",
		"bad date":     "Date,Open,High,Low,Close\n2024-13-02,1,1,1,1\n",
		"quote in row": "Date,Open,High,Low,Close\n2024-01-02,\"1,1,1,1\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := marketdata.ReadBarsCSVOptions(strings.NewReader(in), strict)
			require.ErrorIs(t, err, marketdata.ErrBadData)
			assert.Contains(t, err.Error(), "line 2")
		})
	}
}

// FuzzReadBarsCSVOptions checks the promises of both modes on any input:
// never a panic; lenient bars are finite, not negative, at midnight UTC and
// strictly ascending; strict bars are in UTC.
func FuzzReadBarsCSVOptions(f *testing.F) {
	f.Add("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,12,9,11,10.5,500\n2024-01-03,null,null,null,null,null,null\n", false)
	f.Add("<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>\n20240102,000000,1,2,0.5,1.5\n", true)
	f.Add(",Open,High,Low,Close,Volume\n2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1413\n", true)
	f.Add("time,close\n1704189600,1\n1704276000,2\n", false)
	f.Fuzz(func(t *testing.T, in string, strict bool) {
		bars, err := marketdata.ReadBarsCSVOptions(strings.NewReader(in), marketdata.CSVOptions{Strict: strict, MonthFirst: strict})
		if err != nil {
			require.ErrorIs(t, err, marketdata.ErrBadData)
			return
		}
		for i, b := range bars {
			require.Equal(t, time.UTC, b.Time.Location())
			if strict {
				continue
			}
			require.True(t, b.Time.Equal(b.Time.Truncate(24*time.Hour)))
			for _, v := range []float64{b.Open, b.High, b.Low, b.Close, b.AdjClose, b.Volume} {
				require.False(t, math.IsNaN(v) || math.IsInf(v, 0) || v < 0, "bar %d: %v", i, b)
			}
			require.Positive(t, b.Close)
			if i > 0 {
				require.True(t, b.Time.After(bars[i-1].Time))
			}
		}
		if !strict {
			require.NotEmpty(t, bars)
		}
	})
}
