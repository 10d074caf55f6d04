package papertrade

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStrategiesDescribeThemselves(t *testing.T) {
	infos := Strategies()
	require.Len(t, infos, len(StrategyNames()))
	for _, info := range infos {
		assert.NotEmpty(t, info.Label, info.Name)
		assert.NotEmpty(t, info.Description, info.Name)
		defaults := Params{}
		for _, p := range info.Params {
			assert.Contains(t, []ParamType{ParamInt, ParamFloat, ParamBool}, p.Type, "%s.%s", info.Name, p.Name)
			assert.NotEmpty(t, p.Label, "%s.%s", info.Name, p.Name)
			assert.NotEmpty(t, p.Description, "%s.%s", info.Name, p.Name)
			require.NoError(t, p.Check(p.Default), "%s.%s default", info.Name, p.Name)
			back, err := p.Parse(p.Format(p.Default))
			require.NoError(t, err, "%s.%s", info.Name, p.Name)
			assert.Equal(t, p.Default, back, "%s.%s: Parse(Format(default))", info.Name, p.Name)
			defaults[p.Name] = p.Default
		}
		// Defaults given explicitly build what no parameters build.
		a, err := NewStrategy(info.Name, nil)
		require.NoError(t, err, info.Name)
		b, err := NewStrategy(info.Name, defaults)
		require.NoError(t, err, info.Name)
		assert.Equal(t, a, b, info.Name)
		for _, alias := range info.Aliases {
			c, err := NewStrategy(alias, nil)
			require.NoError(t, err, alias)
			assert.Equal(t, a, c, alias)
		}
		// Every built-in strategy runs with its defaults.
		_, err = Run(context.Background(), syntheticBars(300, 2), a, Options{})
		require.NoError(t, err, info.Name)
	}
	_, err := json.Marshal(infos)
	require.NoError(t, err)
}

// TestNewStrategyRefusesWhatItDoesNotKnow: an unknown parameter, a
// fraction for a whole number and a fraction for a flag are errors; they
// used to be accepted (bogus=1 silently ignored, longonly=0.5 true).
func TestNewStrategyRefusesWhatItDoesNotKnow(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Params
	}{
		{"smacross", Params{"bogus": 1}},
		{"buyhold", Params{"fast": 10}},
		{"smacross", Params{"fast": 10.5}},
		{"smacross", Params{"long-only": 0.5}},
		{"smacross", Params{"long-only": 2}},
		{"smacross", Params{"slow": 0}},
		{"rsi", Params{"lower": 120}},
		{"random", Params{"prob": 1.5}},
		{"random", Params{"seed": -1}},
		{"breakout", Params{"lookback": 1}},
	} {
		_, err := NewStrategy(tc.name, tc.p)
		assert.ErrorIs(t, err, ErrInvalidStrategy, "%s %v", tc.name, tc.p)
	}
	_, err := NewStrategy("smacross", Params{"bogus": 1})
	assert.ErrorContains(t, err, `no parameter "bogus"`)
	assert.ErrorContains(t, err, "fast, slow, long-only, no-close")

	// Optimize over an unknown parameter fails instead of running the
	// default strategy once per grid value.
	_, err = Optimize(context.Background(), syntheticBars(300, 2), func(p Params) (Strategy, error) { return NewStrategy("smacross", p) },
		OptimizeOptions{Grid: map[string][]float64{"bogus": {1, 2}}})
	assert.ErrorIs(t, err, ErrInvalidStrategy)
}

func TestParamParse(t *testing.T) {
	info, ok := LookupStrategy("SMA")
	require.True(t, ok)
	fast, _ := info.Param("fast")
	long, _ := info.Param("long-only")
	v, err := fast.Parse(" 12 ")
	require.NoError(t, err)
	assert.Equal(t, 12.0, v)
	for _, bad := range []string{"12.5", "1e3", "abc", "", "0", "100001"} {
		_, err := fast.Parse(bad)
		assert.ErrorIs(t, err, ErrInvalidStrategy, bad)
	}
	for in, want := range map[string]float64{"on": 1, "true": 1, "1": 1, "yes": 1, "off": 0, "false": 0, "0": 0, "": 0} {
		v, err := long.Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, v, in)
	}
	_, err = long.Parse("maybe")
	assert.ErrorIs(t, err, ErrInvalidStrategy)
	assert.Equal(t, "true", long.Format(1))
	assert.Equal(t, "10", fast.Format(10))
	rsi, _ := LookupStrategy("rsi")
	lower, _ := rsi.Param("lower")
	_, err = lower.Parse("NaN")
	assert.ErrorIs(t, err, ErrInvalidStrategy)
}
