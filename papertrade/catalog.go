package papertrade

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ParamType is the type of a strategy parameter. Params carries every value
// as a float64; an int parameter must hold a whole number and a bool
// parameter 0 (false) or 1 (true).
type ParamType string

// Parameter types.
const (
	ParamInt   ParamType = "int"
	ParamFloat ParamType = "float"
	ParamBool  ParamType = "bool"
)

// ParamInfo describes one parameter of a built-in strategy.
type ParamInfo struct {
	Name        string    `json:"name"`  // the key in Params: "fast", "long-only"
	Label       string    `json:"label"` // for a form: "Fast SMA"
	Type        ParamType `json:"type"`
	Default     float64   `json:"default"` // 0 or 1 for a bool
	Min         float64   `json:"min"`     // the range a value must lie in, inclusive
	Max         float64   `json:"max"`
	Description string    `json:"description"`
}

// Check reports whether v is a valid value of the parameter: of its type,
// within [Min, Max].
func (p ParamInfo) Check(v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("%w: %s=%v is not a number", ErrInvalidStrategy, p.Name, v)
	case p.Type == ParamBool && v != 0 && v != 1:
		return fmt.Errorf("%w: %s=%v must be 0 (false) or 1 (true)", ErrInvalidStrategy, p.Name, v)
	case p.Type == ParamInt && v != math.Trunc(v):
		return fmt.Errorf("%w: %s=%v must be a whole number", ErrInvalidStrategy, p.Name, v)
	case v < p.Min || v > p.Max:
		return fmt.Errorf("%w: %s=%v must be between %v and %v", ErrInvalidStrategy, p.Name, v, p.Min, p.Max)
	}
	return nil
}

// Parse reads a value of the parameter from text: an integer, a decimal
// number, or for a bool true/false, on/off, yes/no or 1/0 (an HTML
// checkbox sends "on"); the result is checked (Check).
func (p ParamInfo) Parse(s string) (float64, error) {
	s = strings.TrimSpace(s)
	var v float64
	var err error
	switch p.Type {
	case ParamBool:
		switch strings.ToLower(s) {
		case "1", "true", "on", "yes":
			v = 1
		case "0", "false", "off", "no", "":
			v = 0
		default:
			err = strconv.ErrSyntax
		}
	case ParamInt:
		var n int64
		n, err = strconv.ParseInt(s, 10, 64)
		v = float64(n)
	default:
		v, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %q is not %s", ErrInvalidStrategy, p.Name, s, p.Type.article())
	}
	return v, p.Check(v)
}

// Format writes v as Parse reads it: "10", "0.05", "true".
func (p ParamInfo) Format(v float64) string {
	if p.Type == ParamBool {
		return strconv.FormatBool(v != 0)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (t ParamType) article() string {
	switch t {
	case ParamInt:
		return "a whole number"
	case ParamBool:
		return "true or false"
	}
	return "a number"
}

// StrategyInfo describes a built-in strategy: its name for NewStrategy, a
// label and a description for people, and its parameters.
type StrategyInfo struct {
	Name        string      `json:"name"`
	Aliases     []string    `json:"aliases,omitempty"` // other names NewStrategy accepts
	Label       string      `json:"label"`
	Description string      `json:"description"`
	Params      []ParamInfo `json:"params"`

	build func(Params) Strategy
}

// Param returns the parameter named name.
func (s StrategyInfo) Param(name string) (ParamInfo, bool) {
	i := slices.IndexFunc(s.Params, func(p ParamInfo) bool { return p.Name == name })
	if i < 0 {
		return ParamInfo{}, false
	}
	return s.Params[i], true
}

// Resolve checks p against the strategy's parameters (an unknown name is
// an error, so is a value of the wrong type or out of range) and returns
// every parameter's value, defaults filled in.
func (s StrategyInfo) Resolve(p Params) (Params, error) {
	for name := range p {
		if _, ok := s.Param(name); !ok {
			known := make([]string, len(s.Params))
			for i, q := range s.Params {
				known[i] = q.Name
			}
			return nil, fmt.Errorf("%w: %s has no parameter %q (its parameters: %s)", ErrInvalidStrategy, s.Name, name, listOr(known, "none"))
		}
	}
	out := make(Params, len(s.Params))
	for _, q := range s.Params {
		v, ok := p[q.Name]
		if !ok {
			v = q.Default
		}
		if err := q.Check(v); err != nil {
			return nil, err
		}
		out[q.Name] = v
	}
	return out, nil
}

func listOr(names []string, none string) string {
	if len(names) == 0 {
		return none
	}
	return strings.Join(names, ", ")
}

// maxPeriod bounds indicator periods and channel lengths.
const maxPeriod = 100_000

func period(name, label, desc string, def, lo float64) ParamInfo {
	return ParamInfo{Name: name, Label: label, Type: ParamInt, Default: def, Min: lo, Max: maxPeriod, Description: desc}
}

// Strategies lists the built-in strategies, in the order a menu shows them.
// The slice is the caller's.
func Strategies() []StrategyInfo {
	return []StrategyInfo{
		{
			Name: "smacross", Aliases: []string{"sma"}, Label: "SMA crossover",
			Description: "Goes long when the fast SMA of the close crosses above the slow one and short (or flat) when it crosses below (SMACross).",
			Params: []ParamInfo{
				period("fast", "Fast SMA", "bars in the fast moving average", 10, 1),
				period("slow", "Slow SMA", "bars in the slow moving average", 30, 1),
				{Name: "long-only", Label: "Long only", Type: ParamBool, Max: 1, Description: "stay flat instead of going short"},
				{Name: "no-close", Label: "Orders only", Type: ParamBool, Max: 1,
					Description: "only buy on a cross up and sell on a cross down, without closing first (backtesting.py's README SmaCross; use with exclusive orders)"},
			},
			build: func(p Params) Strategy {
				return &SMACross{Fast: int(p["fast"]), Slow: int(p["slow"]), LongOnly: p["long-only"] != 0, NoClose: p["no-close"] != 0}
			},
		},
		{
			Name: "rsi", Label: "RSI mean reversion",
			Description: "Buys when Wilder's RSI falls below the lower level and sells when it rises above the upper one, long only (RSIReversion).",
			Params: []ParamInfo{
				period("period", "RSI period", "bars in the RSI", 14, 1),
				{Name: "lower", Label: "Buy below", Type: ParamFloat, Default: 30, Min: 0, Max: 100, Description: "RSI level to buy below (0 < lower < upper)"},
				{Name: "upper", Label: "Sell above", Type: ParamFloat, Default: 70, Min: 0, Max: 100, Description: "RSI level to sell above (lower < upper < 100)"},
			},
			build: func(p Params) Strategy {
				return &RSIReversion{Period: int(p["period"]), Lower: p["lower"], Upper: p["upper"]}
			},
		},
		{
			Name: "breakout", Aliases: []string{"momentum"}, Label: "Donchian breakout",
			Description: "Buys when the close breaks above the highest high of the lookback and exits below the lowest low of the exit channel (Breakout).",
			Params: []ParamInfo{
				period("lookback", "Lookback", "bars in the entry channel", 20, 2),
				period("exit", "Exit channel", "bars in the exit channel (0: half the lookback)", 0, 0),
			},
			build: func(p Params) Strategy { return &Breakout{Lookback: int(p["lookback"]), Exit: int(p["exit"])} },
		},
		{
			Name: "buyhold", Aliases: []string{"buy-and-hold", "buyandhold"}, Label: "Buy and hold",
			Description: "Buys with all equity on the first bar and holds to the end (BuyAndHold).",
			build:       func(Params) Strategy { return &BuyAndHold{} },
		},
		{
			Name: "random", Aliases: []string{"coinflip"}, Label: "Random trader (baseline)",
			Description: "Flips a coin on a share of the bars and goes all in long or short: the baseline a strategy must beat (RandomTrader).",
			Params: []ParamInfo{
				{Name: "prob", Label: "Trade probability", Type: ParamFloat, Default: 0.05, Min: 0, Max: 1, Description: "probability of a trade on each bar"},
				{Name: "seed", Label: "Seed", Type: ParamInt, Default: 1, Min: 0, Max: 1 << 53, Description: "random seed: the same seed gives the same trades"},
			},
			build: func(p Params) Strategy { return &RandomTrader{Seed: uint64(p["seed"]), Prob: p["prob"]} },
		},
	}
}

// LookupStrategy finds a built-in strategy by name or alias, ignoring case.
func LookupStrategy(name string) (StrategyInfo, bool) {
	for _, s := range Strategies() {
		if strings.EqualFold(s.Name, name) || slices.ContainsFunc(s.Aliases, func(a string) bool { return strings.EqualFold(a, name) }) {
			return s, true
		}
	}
	return StrategyInfo{}, false
}

// StrategyNames lists the names of the built-in strategies (Strategies).
func StrategyNames() []string {
	var names []string
	for _, s := range Strategies() {
		names = append(names, s.Name)
	}
	return names
}

// NewStrategy builds a built-in strategy by name (or alias) from
// parameters: see Strategies for each one's parameters, their types,
// ranges and defaults. An unknown strategy or parameter is
// ErrInvalidStrategy, and so is a value of the wrong type or out of range;
// missing parameters get their defaults.
func NewStrategy(name string, p Params) (Strategy, error) {
	info, ok := LookupStrategy(name)
	if !ok {
		return nil, fmt.Errorf("%w: unknown strategy %q (known: %s)", ErrInvalidStrategy, name, strings.Join(StrategyNames(), ", "))
	}
	vals, err := info.Resolve(p)
	if err != nil {
		return nil, err
	}
	return info.build(vals), nil
}
