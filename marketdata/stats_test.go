package marketdata_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

func loadGOOG(t testing.TB) []marketdata.Bar {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "GOOG.csv"))
	require.NoError(t, err)
	defer f.Close()
	bars, err := marketdata.ReadBarsCSV(f)
	require.NoError(t, err)
	return bars
}

// expected holds the numbers printed once by testdata/stats_reference.py,
// an independent Python implementation run over the same CSV.
type expected struct {
	Bars           int
	First, Last    string
	LastClose      float64 `json:"last_close"`
	PrevClose      float64 `json:"prev_close"`
	Change         float64
	ChangePct      float64 `json:"change_pct"`
	UpDays         int     `json:"up_days"`
	DownDays       int     `json:"down_days"`
	FlatDays       int     `json:"flat_days"`
	UpPct          float64 `json:"up_pct"`
	AvgGain        float64 `json:"avg_gain"`
	AvgLoss        float64 `json:"avg_loss"`
	MaxGain        float64 `json:"max_gain"`
	MaxGainDate    string  `json:"max_gain_date"`
	MaxLoss        float64 `json:"max_loss"`
	MaxLossDate    string  `json:"max_loss_date"`
	LongestUp      int     `json:"longest_up"`
	LongestUpEnd   string  `json:"longest_up_end"`
	LongestDown    int     `json:"longest_down"`
	LongestDownEnd string  `json:"longest_down_end"`
	MeanReturn     float64 `json:"mean_return"`
	StdDev         float64 `json:"std_dev"`
	Volatility     float64
	Sharpe         float64
	MaxDrawdown    float64 `json:"max_drawdown"`
	DrawdownPeak   string  `json:"drawdown_peak"`
	DrawdownTrough string  `json:"drawdown_trough"`
	Recovery       string
	Years, CAGR    float64
	Periods        map[string]*struct {
		From      string
		FromClose float64 `json:"from_close"`
		ChangePct float64 `json:"change_pct"`
	}
	SMA20     float64 `json:"sma20_last"`
	EMA20     float64 `json:"ema20_last"`
	RSI14     float64 `json:"rsi14_last"`
	Bollinger struct {
		Mid, Upper, Lower float64
	} `json:"bollinger20_last"`
	Histogram10  []int   `json:"histogram10"`
	LogReturnSum float64 `json:"log_return_sum"`
}

func loadExpected(t *testing.T) expected {
	raw, err := os.ReadFile(filepath.Join("testdata", "stats_expected.json"))
	require.NoError(t, err)
	var e expected
	require.NoError(t, json.Unmarshal(raw, &e))
	return e
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

func near(t *testing.T, want, got float64, name string) {
	t.Helper()
	assert.InDelta(t, want, got, 1e-9*math.Max(1, math.Abs(want)), name)
}

func TestAnalyzeMatchesIndependentReference(t *testing.T) {
	bars := loadGOOG(t)
	want := loadExpected(t)
	s, err := marketdata.Analyze(bars, marketdata.StatsOptions{RiskFree: 0.02})
	require.NoError(t, err)

	assert.Equal(t, want.Bars, s.Bars)
	assert.Equal(t, want.First, day(s.First))
	assert.Equal(t, want.Last, day(s.Last))
	near(t, want.LastClose, s.LastClose, "last close")
	near(t, want.PrevClose, s.PrevClose, "prev close")
	near(t, want.Change, s.Change, "change")
	near(t, want.ChangePct, s.ChangePct, "change %")
	assert.Equal(t, want.UpDays, s.UpDays)
	assert.Equal(t, want.DownDays, s.DownDays)
	assert.Equal(t, want.FlatDays, s.FlatDays)
	near(t, want.UpPct, s.UpPct, "up %")
	near(t, want.AvgGain, s.AvgGain, "avg gain")
	near(t, want.AvgLoss, s.AvgLoss, "avg loss")
	near(t, want.MaxGain, s.MaxGain, "max gain")
	assert.Equal(t, want.MaxGainDate, day(s.MaxGainDate))
	near(t, want.MaxLoss, s.MaxLoss, "max loss")
	assert.Equal(t, want.MaxLossDate, day(s.MaxLossDate))
	assert.Equal(t, want.LongestUp, s.LongestUp)
	assert.Equal(t, want.LongestUpEnd, day(s.LongestUpEnd))
	assert.Equal(t, want.LongestDown, s.LongestDown)
	assert.Equal(t, want.LongestDownEnd, day(s.LongestDownEnd))
	near(t, want.MeanReturn, s.MeanReturn, "mean")
	near(t, want.StdDev, s.StdDev, "sd")
	near(t, want.Volatility, s.Volatility, "vol")
	near(t, want.Sharpe, s.Sharpe, "sharpe")
	near(t, want.MaxDrawdown, s.MaxDrawdown, "max dd")
	assert.Equal(t, want.DrawdownPeak, day(s.DrawdownPeak))
	assert.Equal(t, want.DrawdownTrough, day(s.DrawdownLow))
	assert.True(t, s.Recovered)
	assert.Equal(t, want.Recovery, day(s.Recovery))
	near(t, want.Years, s.Years, "years")
	near(t, want.CAGR, s.CAGR, "cagr")
	assert.False(t, s.Flat)
	for _, pc := range s.Periods {
		w := want.Periods[pc.Period.String()]
		require.NotNil(t, w, pc.Period.String())
		assert.True(t, pc.OK, pc.Period.String())
		assert.Equal(t, w.From, day(pc.From), pc.Period.String())
		near(t, w.FromClose, pc.FromClose, pc.Period.String())
		near(t, w.ChangePct, pc.ChangePct, pc.Period.String())
	}

	closes := marketdata.Closes(nil, bars, false)
	sma, err := marketdata.SMA(nil, closes, 20)
	require.NoError(t, err)
	require.Len(t, sma, len(closes)-19)
	near(t, want.SMA20, sma[len(sma)-1], "sma")
	ema, err := marketdata.EMA(nil, closes, 20)
	require.NoError(t, err)
	near(t, want.EMA20, ema[len(ema)-1], "ema")
	rsi, err := marketdata.RSI(nil, closes, 14)
	require.NoError(t, err)
	require.Len(t, rsi, len(closes)-14)
	near(t, want.RSI14, rsi[len(rsi)-1], "rsi")
	bb, err := marketdata.Bollinger(nil, closes, 20, 2)
	require.NoError(t, err)
	last := bb[len(bb)-1]
	near(t, want.Bollinger.Mid, last.Mid, "bb mid")
	near(t, want.Bollinger.Upper, last.Upper, "bb upper")
	near(t, want.Bollinger.Lower, last.Lower, "bb lower")
	rets, err := marketdata.Returns(nil, closes)
	require.NoError(t, err)
	h, err := marketdata.ReturnHistogram(rets, 10)
	require.NoError(t, err)
	assert.Equal(t, want.Histogram10, h.Counts)
	lr, err := marketdata.LogReturns(nil, closes)
	require.NoError(t, err)
	var sum float64
	for _, r := range lr {
		sum += r
	}
	near(t, want.LogReturnSum, sum, "log returns")

	assert.Contains(t, s.Summary(), "2148 bars")
	assert.Contains(t, s.Table(), "YTD")
}

func mk(closes ...float64) []marketdata.Bar {
	bars := make([]marketdata.Bar, len(closes))
	t := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range closes {
		bars[i] = marketdata.Bar{Time: t.AddDate(0, 0, i), Open: c, High: c, Low: c, Close: c, AdjClose: c}
	}
	return bars
}

func TestAnalyzeShortFlatAndBad(t *testing.T) {
	_, err := marketdata.Analyze(nil, marketdata.StatsOptions{})
	require.ErrorIs(t, err, marketdata.ErrTooFewBars)
	_, err = marketdata.Analyze(mk(1), marketdata.StatsOptions{})
	require.ErrorIs(t, err, marketdata.ErrTooFewBars)
	for _, bad := range [][]float64{{1, 0}, {1, -2}, {math.NaN(), 1}, {1, math.Inf(1)}} {
		_, err = marketdata.Analyze(mk(bad...), marketdata.StatsOptions{})
		require.ErrorIs(t, err, marketdata.ErrBadData, "%v", bad)
	}
	unsorted := mk(1, 2, 3)
	unsorted[2].Time = unsorted[0].Time
	_, err = marketdata.Analyze(unsorted, marketdata.StatsOptions{})
	require.ErrorIs(t, err, marketdata.ErrBadData)

	flat, err := marketdata.Analyze(mk(10, 10, 10, 10), marketdata.StatsOptions{RiskFree: 0.03})
	require.NoError(t, err)
	assert.True(t, flat.Flat)
	assert.Zero(t, flat.Sharpe)
	assert.Zero(t, flat.StdDev)
	assert.Equal(t, 3, flat.FlatDays)
	assert.Zero(t, flat.MaxDrawdown)
	assert.Zero(t, flat.CAGR, "3 days is too short for a CAGR")
	two, err := marketdata.Analyze(mk(10, 11), marketdata.StatsOptions{})
	require.NoError(t, err)
	assert.InDelta(t, 10.0, two.ChangePct, 1e-12)
	assert.False(t, two.Periods[marketdata.Period1Y].OK, "history shorter than a year")
	assert.True(t, two.Periods[marketdata.Period1D].OK)
	assertFinite(t, two)
	assertFinite(t, flat)

	// Hand-checked small series: 10 → 12 → 9 → 9 → 13.
	s, err := marketdata.Analyze(mk(10, 12, 9, 9, 13), marketdata.StatsOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, s.UpDays)
	assert.Equal(t, 1, s.DownDays)
	assert.Equal(t, 1, s.FlatDays)
	assert.InDelta(t, 0.25, s.MaxDrawdown, 1e-12) // 12 → 9
	assert.Equal(t, "2024-01-05", day(s.Recovery))
	assert.InDelta(t, 4.0/9, s.MaxGain, 1e-12)
	assert.InDelta(t, -0.25, s.MaxLoss, 1e-12)
}

func assertFinite(t *testing.T, s marketdata.Stats) {
	t.Helper()
	b, err := json.Marshal(s) // encoding/json refuses NaN and Inf
	require.NoError(t, err)
	assert.NotContains(t, string(b), "NaN")
}

func TestIndicatorsSmall(t *testing.T) {
	p := []float64{1, 2, 3, 4, 5}
	sma, err := marketdata.SMA(nil, p, 3)
	require.NoError(t, err)
	assert.Equal(t, []float64{2, 3, 4}, sma)
	ema, err := marketdata.EMA(nil, p, 3)
	require.NoError(t, err)
	assert.Equal(t, []float64{2, 3, 4}, ema) // linear input: EMA lags by the same amount
	rsi, err := marketdata.RSI(nil, p, 2)
	require.NoError(t, err)
	assert.Equal(t, []float64{100, 100, 100}, rsi)
	rsi, err = marketdata.RSI(nil, []float64{5, 5, 5}, 2)
	require.NoError(t, err)
	assert.Equal(t, []float64{50}, rsi)
	bb, err := marketdata.Bollinger(nil, []float64{2, 4, 4, 4, 5, 5, 7, 9}, 8, 2)
	require.NoError(t, err)
	assert.Equal(t, []marketdata.Band{{Mid: 5, Upper: 9, Lower: 1}}, bb) // population sd = 2
	h, err := marketdata.ReturnHistogram([]float64{0.01, 0.01}, 5)
	require.NoError(t, err)
	assert.Equal(t, []int{2}, h.Counts)

	_, err = marketdata.SMA(nil, p, 6)
	require.ErrorIs(t, err, marketdata.ErrTooFewBars)
	_, err = marketdata.SMA(nil, p, 0)
	require.ErrorIs(t, err, marketdata.ErrBadData)
	_, err = marketdata.RSI(nil, p, 0)
	require.ErrorIs(t, err, marketdata.ErrBadData)
	_, err = marketdata.Returns(nil, []float64{1, -1})
	require.ErrorIs(t, err, marketdata.ErrBadData)
	_, err = marketdata.ReturnHistogram(nil, 3)
	require.ErrorIs(t, err, marketdata.ErrTooFewBars)
	_, err = marketdata.ReturnHistogram([]float64{math.NaN()}, 3)
	require.ErrorIs(t, err, marketdata.ErrBadData)
	_, err = marketdata.Bollinger(nil, p, 2, -1)
	require.ErrorIs(t, err, marketdata.ErrBadData)
}

// Property: on random positive series every output is finite, RSI stays in
// [0,100], drawdown in [0,1), up+down+flat = bars−1, and the SMA equals the
// window mean.
func TestStatsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		n := 2 + rng.IntN(300)
		closes := make([]float64, n)
		p := 1 + rng.Float64()*100
		for i := range closes {
			if rng.IntN(10) > 0 { // sometimes flat days
				p *= math.Exp(rng.NormFloat64() * 0.05)
			}
			closes[i] = p
		}
		s, err := marketdata.Analyze(mk(closes...), marketdata.StatsOptions{RiskFree: 0.01})
		require.NoError(t, err, iter)
		assertFinite(t, s)
		assert.Equal(t, n-1, s.UpDays+s.DownDays+s.FlatDays)
		assert.GreaterOrEqual(t, s.MaxDrawdown, 0.0)
		assert.Less(t, s.MaxDrawdown, 1.0)
		assert.GreaterOrEqual(t, s.MaxGain, s.MaxLoss)
		if n > 15 {
			rsi, err := marketdata.RSI(nil, closes, 14)
			require.NoError(t, err)
			for _, v := range rsi {
				assert.True(t, v >= 0 && v <= 100, "rsi %v", v)
			}
			k := 1 + rng.IntN(n)
			sma, err := marketdata.SMA(nil, closes, k)
			require.NoError(t, err)
			var sum float64
			for _, c := range closes[n-k:] {
				sum += c
			}
			assert.InDelta(t, sum/float64(k), sma[len(sma)-1], 1e-9*sum)
		}
	}
}

func TestReadBarsCSVErrors(t *testing.T) {
	tests := []struct{ name, csv string }{
		{"empty", ""},
		{"no close column", "Date,Open\n2020-01-01,1\n"},
		{"bad date", "Date,Close\n01/02/2020,1\n"},
		{"bad number", "Date,Close\n2020-01-01,abc\n"},
		{"negative", "Date,Close\n2020-01-01,-5\n"},
		{"descending", "Date,Close\n2020-01-02,1\n2020-01-01,2\n"},
		{"header only", "Date,Close\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := marketdata.ReadBarsCSV(strings.NewReader(tt.csv))
			require.ErrorIs(t, err, marketdata.ErrBadData)
		})
	}
	bars, err := marketdata.ReadBarsCSV(strings.NewReader("Date,Open,High,Low,Close,Adj Close,Volume\r\n2020-01-02,1,2,0.5,1.5,1.4,100\r\n2020-01-03,null,null,null,null,null,null\r\n"))
	require.NoError(t, err)
	require.Len(t, bars, 1, "null row skipped")
	assert.Equal(t, 1.4, bars[0].AdjClose)
}

func FuzzReadBarsCSVAndAnalyze(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "GOOG.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw[:2000])
	f.Add([]byte("Date,Close\n2020-01-01,1\n2020-01-02,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bars, err := marketdata.ReadBarsCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		s, err := marketdata.Analyze(bars, marketdata.StatsOptions{RiskFree: 0.02})
		if err != nil {
			return
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("non-finite stats: %v", err)
		}
	})
}

// FuzzAnalyzeFiniteOnExtremePrices feeds raw float64 bit patterns (tiny,
// huge, subnormal, NaN, Inf, flat runs) straight into Analyze and the
// indicators, bypassing the CSV parser's formats: every result is either an
// error or entirely finite (json.Marshal rejects NaN and ±Inf).
func FuzzAnalyzeFiniteOnExtremePrices(f *testing.F) {
	seed := func(ps ...float64) []byte {
		var b []byte
		for _, p := range ps {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p))
		}
		return b
	}
	f.Add(seed(1, 1, 1, 1))
	f.Add(seed(1, 2))
	f.Add(seed(math.SmallestNonzeroFloat64, math.MaxFloat64, 1))
	f.Add(seed(1e-300, 1e300, 1e-300, 1e300))
	f.Add(seed(5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6))
	f.Fuzz(func(t *testing.T, data []byte) {
		var bars []marketdata.Bar
		at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		for len(data) >= 8 && len(bars) < 400 {
			p := math.Float64frombits(binary.LittleEndian.Uint64(data))
			data = data[8:]
			bars = append(bars, marketdata.Bar{Time: at, Open: p, High: p, Low: p, Close: p, AdjClose: p})
			at = at.AddDate(0, 0, 1)
		}
		finite := func(what string, v any) {
			t.Helper()
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("%s: non-finite output: %v", what, err)
			}
		}
		if s, err := marketdata.Analyze(bars, marketdata.StatsOptions{RiskFree: 0.02}); err == nil {
			finite("Analyze", s)
		}
		prices := marketdata.Closes(nil, bars, false)
		if r, err := marketdata.Returns(nil, prices); err == nil {
			finite("Returns", r)
			if h, err := marketdata.ReturnHistogram(r, 10); err == nil {
				finite("ReturnHistogram", h)
			}
		}
		if r, err := marketdata.LogReturns(nil, prices); err == nil {
			finite("LogReturns", r)
		}
		if v, err := marketdata.SMA(nil, prices, 3); err == nil {
			finite("SMA", v)
		}
		if v, err := marketdata.EMA(nil, prices, 3); err == nil {
			finite("EMA", v)
		}
		if v, err := marketdata.RSI(nil, prices, 3); err == nil {
			finite("RSI", v)
		}
		if v, err := marketdata.Bollinger(nil, prices, 3, 2); err == nil {
			finite("Bollinger", v)
		}
	})
}
