package papertrade

import (
	"context"
	"testing"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromHistory(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	h := marketdata.History{Symbol: "X", Live: true, Bars: []marketdata.Bar{
		{Time: t0, Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 5.5, Volume: 100},
		{Time: t0.AddDate(0, 0, 1), Open: 11, High: 13, Low: 10, Close: 12, AdjClose: 6, Volume: 200},
		{Time: t0.AddDate(0, 0, 2), Open: 12, High: 12, Low: 12, Close: 12},
	}}
	bars, err := FromHistory(h, false)
	require.NoError(t, err)
	require.Len(t, bars, 2, "the live bar is dropped")
	assert.Equal(t, Bar{Time: t0, Open: 10, High: 12, Low: 9, Close: 11, AdjClose: 5.5, Volume: 100}, bars[0])
	adj, err := FromHistory(h, true)
	require.NoError(t, err)
	assert.Equal(t, Bar{Time: t0, Open: 5, High: 6, Low: 4.5, Close: 5.5, AdjClose: 5.5, Volume: 100}, adj[0])

	h.Bars[1].Time = t0
	_, err = FromHistory(h, false)
	assert.ErrorIs(t, err, ErrDuplicateTime)
}

func TestHoldingsDecimalMatchesFloat(t *testing.T) {
	bars := loadGOOG(t)
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{Commission: RelativeCommission(0.002)})
	require.NoError(t, err)
	cash, pos := res.Holdings()
	assert.True(t, pos.IsZero())
	f, _ := cash.Float64()
	assert.InDelta(t, res.Stats.EquityFinal, f, 1e-6)
}
