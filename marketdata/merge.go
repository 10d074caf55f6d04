package marketdata

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Source is one provider's contribution to a merged quote.
type Source struct {
	Provider     string        `json:"provider"`
	Price        float64       `json:"price"`               // in the merged currency
	Currency     string        `json:"currency"`            // merged currency
	OrigPrice    float64       `json:"orig_price"`          // as quoted by the provider
	OrigCurrency string        `json:"orig_currency"`       // as quoted by the provider
	Time         time.Time     `json:"time"`                // market time of the quote
	Latency      time.Duration `json:"latency"`             // round trip of the upstream call
	Stale        bool          `json:"stale,omitempty"`     // older than MaxAge
	Outlier      bool          `json:"outlier,omitempty"`   // deviates from the consensus by more than the threshold
	Deviation    float64       `json:"deviation"`           // (Price − consensus) / consensus
	Error        string        `json:"error,omitempty"`     // why this source was not used (e.g. no FX rate)
	Used         bool          `json:"used"`                // counted in the consensus
	Converted    bool          `json:"converted,omitempty"` // converted through FX
}

// Merged is the consensus of several providers' quotes for one symbol.
// Values returned by the Aggregator share their Sources slice with its cache
// and with concurrent callers: treat it as read-only.
type Merged struct {
	Symbol    string    `json:"symbol"`
	Price     float64   `json:"price"`      // median of the fresh quotes
	Currency  string    `json:"currency"`   // currency of Price
	Time      time.Time `json:"time"`       // newest quote time among the used sources
	Spread    float64   `json:"spread"`     // max − min of the used, non-outlier prices
	SpreadPct float64   `json:"spread_pct"` // Spread / Price × 100
	Stale     bool      `json:"stale"`      // every source was stale; Price is the median of stale quotes
	Outliers  int       `json:"outliers"`   // number of sources flagged as outliers
	Sources   []Source  `json:"sources"`    // every provider that answered, in provider order
	Cached    bool      `json:"cached,omitempty"`
}

// Summary implements portfolio.Reportable.
func (m Merged) Summary() string {
	used := 0
	for _, s := range m.Sources {
		if s.Used {
			used++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s (median of %d source", m.Symbol, formatPrice(m.Price), m.Currency, used)
	if used != 1 {
		b.WriteString("s")
	}
	if used > 1 {
		fmt.Fprintf(&b, ", spread %.2f%%", m.SpreadPct)
	}
	if m.Outliers > 0 {
		fmt.Fprintf(&b, ", %d outlier", m.Outliers)
		if m.Outliers > 1 {
			b.WriteString("s")
		}
	}
	if m.Stale {
		b.WriteString(", stale")
	}
	b.WriteString(")")
	return b.String()
}

// ConsensusOptions tune Consensus.
type ConsensusOptions struct {
	Now              time.Time     // reference time for staleness; zero disables the stale check
	MaxAge           time.Duration // quotes older than this are stale; 0 disables the check
	OutlierThreshold float64       // relative deviation above which a source is an outlier; 0 disables
}

// Consensus merges quotes of one symbol that are all in the same currency
// (convert them first) into a Merged value: the median of the fresh quotes
// (of the stale ones if none is fresh), outlier and stale flags, and the
// spread between the non-outlier sources. Outliers are flagged only when at
// least three sources are used (with two, the spread shows the disagreement).
// It returns ErrNoQuote when no quote
// has a positive finite price, and an error if currencies differ.
func Consensus(symbol string, quotes []Quote, o ConsensusOptions) (Merged, error) {
	m := Merged{Symbol: symbol, Sources: make([]Source, 0, len(quotes))}
	for _, q := range quotes {
		if m.Currency == "" {
			m.Currency = q.Currency
		} else if q.Currency != m.Currency {
			return Merged{}, fmt.Errorf("marketdata: consensus for %s: currencies %s and %s differ", symbol, m.Currency, q.Currency)
		}
		s := Source{Provider: q.Provider, Price: q.Price, Currency: q.Currency, OrigPrice: q.Price,
			OrigCurrency: q.Currency, Time: q.Time, Latency: q.Latency}
		if !(q.Price > 0) || math.IsInf(q.Price, 0) {
			s.Error = "no positive price"
		}
		if o.MaxAge > 0 && !o.Now.IsZero() && !q.Time.IsZero() && o.Now.Sub(q.Time) > o.MaxAge {
			s.Stale = true
		}
		m.Sources = append(m.Sources, s)
	}
	return finishConsensus(m, o)
}

// finishConsensus computes the consensus over m.Sources (already converted).
func finishConsensus(m Merged, o ConsensusOptions) (Merged, error) {
	var buf [16]float64
	prices := buf[:0]
	fresh := 0
	for _, s := range m.Sources {
		if s.Error == "" && !s.Stale {
			fresh++
		}
	}
	useStale := fresh == 0
	for i := range m.Sources {
		s := &m.Sources[i]
		if s.Error != "" || (s.Stale && !useStale) {
			continue
		}
		s.Used = true
		prices = append(prices, s.Price)
	}
	if len(prices) == 0 {
		return m, fmt.Errorf("%w for %s", ErrNoQuote, m.Symbol)
	}
	slices.Sort(prices)
	n := len(prices)
	med := prices[n/2]
	if n%2 == 0 {
		med = (prices[n/2-1] + prices[n/2]) / 2
	}
	m.Price = med
	m.Stale = useStale
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range m.Sources {
		s := &m.Sources[i]
		if s.Error != "" {
			continue
		}
		s.Deviation = (s.Price - med) / med
		if n >= 3 && o.OutlierThreshold > 0 && math.Abs(s.Deviation) > o.OutlierThreshold {
			s.Outlier = true
			if s.Used {
				m.Outliers++
			}
			continue
		}
		if s.Used {
			lo = math.Min(lo, s.Price)
			hi = math.Max(hi, s.Price)
			if s.Time.After(m.Time) {
				m.Time = s.Time
			}
		}
	}
	if hi >= lo {
		m.Spread = hi - lo
		m.SpreadPct = m.Spread / med * 100
	}
	return m, nil
}
