package papertrade

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadCSVReferenceFiles(t *testing.T) {
	goog := loadGOOG(t)
	require.Len(t, goog, 2148)
	assert.Equal(t, Bar{Time: time.Date(2004, 8, 19, 0, 0, 0, 0, time.UTC), Open: 100, High: 104.06, Low: 95.96, Close: 100.34, Volume: 22351900}, goog[0])
	eur, err := ReadCSVFile("testdata/EURUSD.csv")
	require.NoError(t, err)
	require.Len(t, eur, 5000)
	assert.Equal(t, time.Date(2017, 4, 19, 9, 0, 0, 0, time.UTC), eur[0].Time)
	assert.Equal(t, 1.07219, eur[0].Close)
}

func TestReadCSVStyles(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Bar
	}{
		{"stooq", "Date,Open,High,Low,Close,Volume\n2024-01-02,10,12,9,11,500\n",
			Bar{Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Open: 10, High: 12, Low: 9, Close: 11, Volume: 500}},
		{"yahoo adj close", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,12,9,11,10.5,500\n",
			Bar{Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 10.5, Volume: 500}},
		{"pandas unnamed index", ",Open,High,Low,Close,Volume\n2024-01-02 15:00:00,10,12,9,11,7\n",
			Bar{Time: time.Date(2024, 1, 2, 15, 0, 0, 0, time.UTC), Open: 10, High: 12, Low: 9, Close: 11, Volume: 7}},
		{"stooq bulk", "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\nAAPL.US,D,20240102,000000,10,12,9,11,100,0\n",
			Bar{Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Open: 10, High: 12, Low: 9, Close: 11, Volume: 100}},
		{"lowercase no volume, rfc3339", "timestamp,open,high,low,close\n2024-01-02T10:00:00+02:00,10,12,9,11\n",
			Bar{Time: time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC), Open: 10, High: 12, Low: 9, Close: 11}},
		{"unix seconds", "time,open,high,low,close\n1704189600,10,12,9,11\n",
			Bar{Time: time.Unix(1704189600, 0).UTC(), Open: 10, High: 12, Low: 9, Close: 11}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bars, err := ReadCSV(strings.NewReader(tc.in))
			require.NoError(t, err)
			require.Len(t, bars, 1)
			assert.Equal(t, tc.want, bars[0])
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name, in, contains string
		want               error
	}{
		{"empty", "", "empty", ErrBadCSV},
		{"no close column", "Date,Open,High,Low\n2024-01-02,1,1,1\n", "close", ErrBadCSV},
		{"header only", "Date,Open,High,Low,Close\n", "no bars", ErrNoBars},
		{"bad number", "Date,Open,High,Low,Close\n2024-01-02,1,x,1,1\n", "line 2", ErrBadCSV},
		{"bad date", "Date,Open,High,Low,Close\nyesterday,1,1,1,1\n", "yesterday", ErrBadCSV},
		{"short row", "Date,Open,High,Low,Close\n2024-01-02,1,1\n", "line 2", ErrBadCSV},
		{"high below low", "Date,Open,High,Low,Close\n2024-01-02,1,1,2,1\n", "high", ErrInvalidBar},
		{"unsorted", "Date,Open,High,Low,Close\n2024-01-03,1,1,1,1\n2024-01-02,1,1,1,1\n", "bar 1", ErrUnsorted},
		{"duplicate", "Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-02,1,1,1,1\n", "bar 1", ErrDuplicateTime},
		{"nan", "Date,Open,High,Low,Close\n2024-01-02,NaN,1,1,1\n", "NaN", ErrInvalidBar},
		{"zero", "Date,Open,High,Low,Close\n2024-01-02,0,1,0,1\n", "positive", ErrInvalidBar},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in))
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.contains)
		})
	}
	_, err := ReadCSVFile("testdata/missing.csv")
	assert.Error(t, err)
}

func FuzzReadCSV(f *testing.F) {
	f.Add("Date,Open,High,Low,Close,Volume\n2024-01-02,10,12,9,11,500\n2024-01-03,11,13,10,12,400\n")
	f.Add(",Open,High,Low,Close,Volume\n2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1413\n")
	f.Add("<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>\n20240102,000000,1,2,0.5,1.5\n")
	f.Add("Date,Open,High,Low,Close\n2024-01-02,1e308,1e308,1e308,1e308\n2024-01-03,-0,0,0,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		bars, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		require.NoError(t, ValidateBars(bars))
		// Whatever loads must also backtest without panicking.
		res, err := Run(context.Background(), bars, &SMACross{Fast: 2, Slow: 3}, Options{})
		require.NoError(t, err)
		require.False(t, math.IsNaN(res.Stats.EquityFinal))
	})
}

func TestReadCSVMoreDateForms(t *testing.T) {
	for _, in := range []string{
		"Date,Open,High,Low,Close\n01/02/2024,10,12,9,11\n",
		"Date,Open,High,Low,Close\n2024/01/02,10,12,9,11\n",
		"Date,Open,High,Low,Close\n20240102,10,12,9,11\n",
	} {
		bars, err := ReadCSV(strings.NewReader(in))
		require.NoError(t, err, in)
		require.Len(t, bars, 1)
		assert.Equal(t, Bar{Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Open: 10, High: 12, Low: 9, Close: 11}, bars[0])
	}
}
