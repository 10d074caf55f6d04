package sim

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/finkit/finkit/marketdata"
)

// DefaultSeed is the seed of the default market (see Default).
const DefaultSeed uint64 = 7

// DefaultStart is the first day of the default market: every known
// instrument closes that day at its Instrument.Price.
func DefaultStart() time.Time { return time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC) }

// Default returns the options of the default simulated market under the
// provider name name ("sim" when empty): seed DefaultSeed, start
// DefaultStart, the instruments of Instruments. The dashboard's sources,
// its history, its demo portfolio and the command line are all built from
// it, so they show the same prices; callers add latency, noise or errors
// to the returned options, never another seed.
func Default(name string) Options {
	return Options{Name: name, Seed: DefaultSeed, Start: DefaultStart()}
}

// Trading days a year of the simulated market, the annualisation of its
// volatility: shares and currencies trade on weekdays, crypto every day.
const (
	WeekdaysPerYear = 252
	AllDaysPerYear  = 365
)

// maxDays bounds the simulated calendar: 100 years either side of Start.
const maxDays = 100 * 366

// ticksPerDay is the resolution of the intraday path (about 0.66 s).
const ticksPerDay = 1 << 17

// Tags keep the hash draws of one day apart.
const (
	tagClose  = 1 << 40
	tagSpread = 2 << 40
	tagVolume = 3 << 40
)

// series is the cached daily path of one instrument (or currency leg):
// logs[i] is the log close at the end of day lo+i, counted from Start,
// carried over the days the instrument does not trade.
type series struct {
	key    uint64
	drift  float64 // annual μ
	vol    float64 // annual σ
	dt     float64 // years per trading day
	always bool    // trades every day (crypto)
	lo     int
	logs   []float64
}

// TradingDaysPerYear is the number of trading days a year of the
// instrument: AllDaysPerYear for crypto, WeekdaysPerYear otherwise. A
// simulated price's daily log returns have the standard deviation
// Vol/√TradingDaysPerYear, so marketdata.Analyze's volatility of its
// history is Vol.
func (in Instrument) TradingDaysPerYear() int {
	if in.Kind == marketdata.KindCrypto {
		return AllDaysPerYear
	}
	return WeekdaysPerYear
}

func newSeries(seed uint64, key string, in Instrument) *series {
	days := in.TradingDaysPerYear()
	return &series{
		key:    mix(seed ^ mix(hash(key))),
		drift:  in.Drift,
		vol:    in.Vol,
		dt:     1 / float64(days),
		always: days == AllDaysPerYear,
		logs:   []float64{math.Log(in.Price)},
	}
}

// trades reports whether day k (since start) is a trading day.
func (s *series) trades(start time.Time, k int) bool {
	if s.always {
		return true
	}
	return weekday(start, k)
}

// weekday reports whether day k since start (a UTC midnight) is a weekday.
func weekday(start time.Time, k int) bool {
	wd := time.Weekday(((int(start.Weekday())+k)%7 + 7) % 7)
	return wd != time.Saturday && wd != time.Sunday
}

// dayTime is the midnight (UTC) of day k since start.
func dayTime(start time.Time, k int) time.Time {
	return start.Add(time.Duration(k) * 24 * time.Hour)
}

// step is the log return of day k: zero on a day without trading.
func (s *series) step(start time.Time, k int) float64 {
	if !s.trades(start, k) || s.vol == 0 && s.drift == 0 {
		return 0
	}
	z := normal(s.key, uint64(int64(k)), tagClose)
	return (s.drift-s.vol*s.vol/2)*s.dt + s.vol*math.Sqrt(s.dt)*z
}

// logClose is the log close at the end of day k. Every day's return is a
// pure function of the seed, the symbol and the day, so the close of a
// day never depends on which days were asked for before.
func (s *series) logClose(start time.Time, k int) float64 {
	if hi := s.lo + len(s.logs) - 1; k > hi {
		for j := hi + 1; j <= k; j++ {
			s.logs = append(s.logs, s.logs[len(s.logs)-1]+s.step(start, j))
		}
	} else if k < s.lo {
		ext := make([]float64, s.lo-k, s.lo-k+len(s.logs))
		next := s.logs[0]
		for j := s.lo - 1; j >= k; j-- {
			next -= s.step(start, j+1) // close(j) = close(j+1) − return(j+1)
			ext[j-k] = next
		}
		s.logs, s.lo = append(ext, s.logs...), k
	}
	return s.logs[k-s.lo]
}

// logAt is the log price at tick n (of ticksPerDay) of day k: a Brownian
// bridge from the previous close to the day's close, evaluated by halving
// (each midpoint drawn from its own hash), so any instant costs 17 draws
// and is the same whenever and however often it is asked for.
func (s *series) logAt(start time.Time, k int, n uint32) float64 {
	a, b := s.logClose(start, k-1), s.logClose(start, k)
	if n == 0 || !s.trades(start, k) {
		return a
	}
	v := s.vol * s.vol * s.dt // variance of the day's path
	lo, hi := uint32(0), uint32(ticksPerDay)
	vlo, vhi := a, b
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		sd := math.Sqrt(v * float64(hi-lo) / ticksPerDay / 4)
		vm := (vlo+vhi)/2 + sd*normal(s.key, uint64(int64(k)), uint64(mid))
		if n == mid {
			return vm
		}
		if n < mid {
			hi, vhi = mid, vm
		} else {
			lo, vlo = mid, vm
		}
	}
	return vlo
}

// dayOf splits t into its day since start and the tick within that day.
func dayOf(start, t time.Time) (int, uint32, error) {
	d := t.Sub(start)
	k := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		k--
	}
	if k < -maxDays || k > maxDays {
		return 0, 0, fmt.Errorf("sim: %s is outside the simulated market's century either side of %s",
			t.UTC().Format(time.DateOnly), start.Format(time.DateOnly))
	}
	within := d - time.Duration(k)*24*time.Hour
	// within × ticksPerDay overflows an int64 after 19:32:48: multiply in
	// 128 bits (within is in [0, 24h), so the quotient is below ticksPerDay).
	hi, lo := bits.Mul64(uint64(within), ticksPerDay)
	n, _ := bits.Div64(hi, lo, uint64(24*time.Hour))
	return k, uint32(n), nil
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// uniform is a hash of (key, a, b) as a float64 in (0, 1).
func uniform(key, a, b uint64) float64 {
	h := mix(key ^ mix(a^mix(b+0x9e3779b97f4a7c15)))
	return (float64(h>>11) + 0.5) / (1 << 53)
}

// normal is a standard normal draw that is a pure function of (key, a, b)
// (Box–Muller on two hashed uniforms).
func normal(key, a, b uint64) float64 {
	u1 := uniform(key, a, b)
	u2 := uniform(key^0x5851f42d4c957f2d, a, b)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}
