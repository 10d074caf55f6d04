package marketdata

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Confidence says how far a merged price or rate can be trusted; see the
// package documentation ("Trust model").
type Confidence string

// Confidence levels, from most to least trusted.
const (
	// ConfidenceHigh: two or more independent fresh sources, all within the
	// tolerance of the price.
	ConfidenceHigh Confidence = "high"
	// ConfidenceMajority: a strict majority of the independent fresh
	// sources agree within the tolerance; the others are outliers.
	ConfidenceMajority Confidence = "majority"
	// ConfidenceSingle: one independent fresh source, nothing to check it
	// against.
	ConfidenceSingle Confidence = "single"
	// ConfidenceLow: the sources disagree beyond the tolerance without a
	// strict majority, or no source is fresh (only stale or undated
	// quotes). Price is then only the best guess.
	ConfidenceLow Confidence = "low"
)

// Trusted reports whether a value of this confidence is handed out by
// Aggregator.Price and Aggregator.Rate without ErrLowConfidence.
func (c Confidence) Trusted() bool {
	return c == ConfidenceHigh || c == ConfidenceMajority || c == ConfidenceSingle
}

// DefaultTolerance is the relative deviation within which two sources agree
// (2 %), unless Options.OutlierThreshold says otherwise.
const DefaultTolerance = 0.02

// Source is one provider's contribution to a merged quote.
type Source struct {
	Provider     string        `json:"provider"`
	Upstream     string        `json:"upstream,omitempty"`  // where the provider's data comes from; sources sharing one count once
	Price        float64       `json:"price"`               // in the merged currency; 0 when Error is set
	Currency     string        `json:"currency"`            // merged currency
	OrigPrice    float64       `json:"orig_price"`          // as quoted by the provider; 0 when implausible
	OrigCurrency string        `json:"orig_currency"`       // as quoted by the provider
	Time         time.Time     `json:"time"`                // market time of the quote; zero when undated or implausible
	Latency      time.Duration `json:"latency"`             // round trip of the upstream call
	Stale        bool          `json:"stale,omitempty"`     // older than MaxAge, or undated
	Undated      bool          `json:"undated,omitempty"`   // the provider gave no market time
	Duplicate    bool          `json:"duplicate,omitempty"` // same upstream as an earlier source: not counted
	Outlier      bool          `json:"outlier,omitempty"`   // counted, but outside the agreeing group
	Deviation    float64       `json:"deviation"`           // (Price − consensus) / consensus
	Error        string        `json:"error,omitempty"`     // why this source was not used (implausible value, no FX rate, …)
	Used         bool          `json:"used"`                // counted in the consensus (one vote per upstream)
	Converted    bool          `json:"converted,omitempty"` // converted through FX
}

// Merged is the consensus of several providers' quotes for one symbol.
// Values returned by the Aggregator share their Sources slice with its cache
// and with concurrent callers: treat it as read-only.
type Merged struct {
	Symbol      string     `json:"symbol"`
	Price       float64    `json:"price"`            // median of the agreeing group (the best guess when Confidence is low)
	Currency    string     `json:"currency"`         // currency of Price
	Time        time.Time  `json:"time"`             // newest quote time in the agreeing group
	Confidence  Confidence `json:"confidence"`       // how far Price can be trusted
	Reason      string     `json:"reason,omitempty"` // why Confidence is not high
	Agreeing    int        `json:"agreeing"`         // independent sources within the tolerance of Price
	Independent int        `json:"independent"`      // independent sources counted (one per upstream)
	Spread      float64    `json:"spread"`           // max − min over every usable source of the counted tier
	SpreadPct   float64    `json:"spread_pct"`       // Spread / Price × 100
	Stale       bool       `json:"stale"`            // no source was fresh; Price comes from stale or undated quotes
	Outliers    int        `json:"outliers"`         // counted sources outside the agreeing group
	Sources     []Source   `json:"sources"`          // every provider that answered, in provider order
	Cached      bool       `json:"cached,omitempty"`
	// Fetched is when the Aggregator merged this consensus, and Age how old
	// it was when served (zero when just fetched). Revalidating means it is
	// older than Options.CacheTTL and served while a background fetch
	// refreshes it (stale while revalidate).
	Fetched      time.Time     `json:"fetched"`
	Age          time.Duration `json:"age"`
	Revalidating bool          `json:"revalidating,omitempty"`
}

// Summary implements portfolio.Reportable.
func (m Merged) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s (", m.Symbol, formatPrice(m.Price), m.Currency)
	if m.Independent > 1 {
		fmt.Fprintf(&b, "%d of %d sources agree, spread %.2f%%", m.Agreeing, m.Independent, m.SpreadPct)
	} else {
		fmt.Fprintf(&b, "%d source", m.Independent)
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
	if m.Confidence == ConfidenceLow {
		b.WriteString(", LOW CONFIDENCE: ")
		b.WriteString(m.Reason)
	}
	b.WriteString(")")
	return b.String()
}

// trusted returns m's value unless its confidence is low.
func (m Merged) trusted() error {
	if m.Confidence.Trusted() {
		return nil
	}
	return &LowConfidenceError{Merged: m}
}

// ConsensusOptions tune Consensus.
type ConsensusOptions struct {
	Now              time.Time     // reference time for staleness and future times; zero disables both checks
	MaxAge           time.Duration // quotes older than this (or undated) are stale; 0 disables the check
	OutlierThreshold float64       // tolerance: relative deviation within which sources agree; 0 means DefaultTolerance
}

// Consensus merges quotes of one symbol that are all in the same currency
// (convert them first) into a Merged value following the trust model of the
// package documentation: implausible quotes are dropped with an error, the
// fresh quotes are counted (the stale ones only if none is fresh, with low
// confidence), and the price is the median of the largest group that agrees
// within the tolerance. Each provider counts as its own upstream. It
// returns ErrNoQuote when no quote is usable, and an error if currencies
// differ.
func Consensus(symbol string, quotes []Quote, o ConsensusOptions) (Merged, error) {
	m := Merged{Symbol: symbol, Sources: make([]Source, 0, len(quotes))}
	valid := validatorFor(symbol)
	win := windowAt(o.Now)
	for _, q := range quotes {
		if m.Currency == "" {
			m.Currency = q.Currency
		} else if q.Currency != m.Currency {
			return Merged{}, fmt.Errorf("marketdata: consensus for %s: currencies %s and %s differ", symbol, m.Currency, q.Currency)
		}
		m.Sources = append(m.Sources, assess(q, valid, o, win))
	}
	return finishConsensus(m, o)
}

// validatorFor returns the plausibility check of a symbol's prices: rates
// for currency pairs, prices for everything else.
func validatorFor(symbol string) func(float64) bool {
	s, _ := ParseSymbol(symbol)
	return validatorOf(s.Kind)
}

func validatorOf(k Kind) func(float64) bool {
	if k == KindFX {
		return ValidRate
	}
	return ValidPrice
}

// assess turns one provider quote into a Source, rejecting implausible
// prices and times (the raw value goes into Error, never into a number
// field, so the Source stays encodable) and flagging stale and undated ones.
func assess(q Quote, valid func(float64) bool, o ConsensusOptions, win timeWindow) Source {
	s := Source{Provider: q.Provider, Price: q.Price, Currency: q.Currency, OrigPrice: q.Price,
		OrigCurrency: q.Currency, Time: q.Time, Latency: q.Latency}
	ageCheck := o.MaxAge > 0 && !o.Now.IsZero()
	switch {
	case !valid(q.Price):
		s.Error = fmt.Sprintf("price %g outside the plausible range", q.Price)
	case q.Time.IsZero():
		if ageCheck {
			s.Undated, s.Stale = true, true
		}
	case !win.contains(q.Time):
		s.Error = "implausible market time " + q.Time.UTC().Format(time.RFC3339)
	case ageCheck && o.Now.Sub(q.Time) > o.MaxAge:
		s.Stale = true
	}
	if s.Error != "" {
		s.Price, s.OrigPrice, s.Time = 0, 0, time.Time{}
	}
	return s
}

// finishConsensus applies the trust model to m.Sources (already assessed
// and converted): it picks the tier to count, one vote per upstream, the
// largest agreeing group, and sets price, confidence, outliers and spread.
func finishConsensus(m Merged, o ConsensusOptions) (Merged, error) {
	tol := o.OutlierThreshold
	if !(tol > 0) {
		tol = DefaultTolerance
	}
	inTier, stale := pickTier(m.Sources)
	if inTier == nil {
		return m, fmt.Errorf("%w for %s", ErrNoQuote, m.Symbol)
	}
	var vbuf [16]int
	votes := vbuf[:0]
	for i := range m.Sources {
		s := &m.Sources[i]
		if !inTier(s) {
			continue
		}
		up := upstreamOf(s)
		dup := false
		for _, v := range votes {
			if upstreamOf(&m.Sources[v]) == up {
				dup = true
				break
			}
		}
		if dup {
			s.Duplicate = true
			continue
		}
		s.Used = true
		votes = append(votes, i)
	}
	anchor := bestAnchor(m.Sources, votes, tol)
	var cbuf [16]float64
	cluster := cbuf[:0]
	for _, v := range votes {
		s := &m.Sources[v]
		if agrees(s.Price, anchor, tol) {
			cluster = append(cluster, s.Price)
			if s.Time.After(m.Time) {
				m.Time = s.Time
			}
		}
	}
	m.Price = median(cluster)
	m.Stale = stale
	m.Agreeing, m.Independent = len(cluster), len(votes)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range m.Sources {
		s := &m.Sources[i]
		if !inTier(s) {
			continue
		}
		s.Deviation = (s.Price - m.Price) / m.Price
		lo, hi = math.Min(lo, s.Price), math.Max(hi, s.Price)
		if s.Used && !agrees(s.Price, anchor, tol) {
			s.Outlier = true
			m.Outliers++
		}
	}
	m.Spread = hi - lo
	m.SpreadPct = m.Spread / m.Price * 100
	m.Confidence, m.Reason = judge(m, tol)
	return m, nil
}

// pickTier returns which usable sources are counted: the fresh ones, else
// the dated stale ones, else the undated ones (stale is then true); nil when
// no source is usable.
func pickTier(src []Source) (in func(*Source) bool, stale bool) {
	var fresh, dated, usable bool
	for i := range src {
		s := &src[i]
		if s.Error != "" {
			continue
		}
		usable = true
		fresh = fresh || !s.Stale
		dated = dated || !s.Undated
	}
	switch {
	case fresh:
		return func(s *Source) bool { return s.Error == "" && !s.Stale }, false
	case dated:
		return func(s *Source) bool { return s.Error == "" && !s.Undated }, true
	case usable:
		return func(s *Source) bool { return s.Error == "" }, true
	}
	return nil, false
}

func upstreamOf(s *Source) string {
	if s.Upstream != "" {
		return s.Upstream
	}
	return s.Provider
}

// agrees reports whether p lies within the relative tolerance of anchor.
func agrees(p, anchor, tol float64) bool { return math.Abs(p-anchor) <= tol*anchor }

// bestAnchor returns the vote price whose agreeing group is largest. Ties
// go to the group with the newest quote when no group has a majority (a
// fresher quote is the better guess), then to the group whose median is
// nearest the median of all votes, then to the lower price, so the choice
// depends only on the values, never on the provider order.
func bestAnchor(src []Source, votes []int, tol float64) float64 {
	// Count each anchor's group first; the tie-breaks (sorting, times) are
	// needed only when several anchors share the largest count.
	bestN, ties, first := 0, 0, 0.0
	for _, a := range votes {
		n := 0
		for _, v := range votes {
			if agrees(src[v].Price, src[a].Price, tol) {
				n++
			}
		}
		switch {
		case n > bestN:
			bestN, ties, first = n, 1, src[a].Price
		case n == bestN:
			ties++
		}
	}
	if ties == 1 || bestN == len(votes) { // one largest group, or all agree
		return first
	}
	var abuf [16]float64
	all := abuf[:0]
	for _, v := range votes {
		all = append(all, src[v].Price)
	}
	var mbuf [16]float64
	mid := median(append(mbuf[:0], all...))
	type cand struct {
		price, dist float64
		n           int
		newest      time.Time
	}
	var best cand
	for _, a := range all {
		c := cand{price: a}
		var gbuf [16]float64
		group := gbuf[:0]
		for _, v := range votes {
			if s := &src[v]; agrees(s.Price, a, tol) {
				group = append(group, s.Price)
				if s.Time.After(c.newest) {
					c.newest = s.Time
				}
			}
		}
		c.n = len(group)
		c.dist = math.Abs(median(group) - mid)
		if best.n == 0 || better(c.n, best.n, c.newest, best.newest, c.dist, best.dist, c.price, best.price, len(votes)) {
			best = c
		}
	}
	return best.price
}

func better(n, bn int, t, bt time.Time, d, bd, p, bp float64, votes int) bool {
	if n != bn {
		return n > bn
	}
	if 2*n <= votes && !t.Equal(bt) {
		return t.After(bt)
	}
	if d != bd {
		return d < bd
	}
	return p < bp
}

// median sorts xs in place and returns its median (0 for none).
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	slices.Sort(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return xs[n/2-1]/2 + xs[n/2]/2 // halves first: no overflow
}

// judge sets the confidence of a finished consensus and says why it is not
// high.
func judge(m Merged, tol float64) (Confidence, string) {
	disagree := func() string {
		return fmt.Sprintf("%d independent sources disagree beyond ±%g%% (spread %.2f%%), no majority", m.Independent, tol*100, m.SpreadPct)
	}
	switch {
	case m.Stale:
		why := "no fresh quote, only stale ones"
		if m.Time.IsZero() {
			why = "no fresh quote, only undated ones"
		}
		if 2*m.Agreeing <= m.Independent && m.Independent > 1 {
			why += "; " + disagree()
		}
		return ConfidenceLow, why
	case m.Independent == 1:
		return ConfidenceSingle, "one independent source"
	case m.Agreeing == m.Independent:
		return ConfidenceHigh, ""
	case 2*m.Agreeing > m.Independent:
		return ConfidenceMajority, fmt.Sprintf("%d of %d independent sources agree; %d outlier(s)", m.Agreeing, m.Independent, m.Outliers)
	}
	return ConfidenceLow, disagree()
}
