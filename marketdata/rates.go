package marketdata

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Rate implements portfolio.RateSource: how many units of to one unit of
// from buys.
func (a *Aggregator) Rate(ctx context.Context, from, to string) (decimal.Decimal, error) {
	r, err := a.FXRate(ctx, from, to)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return decimal.NewFromFloat(r.Rate), nil
}

// FXRate returns the rate from → to from the first rate provider that
// answers, asking the next one when a provider fails or has not answered
// within its usual latency (hedging). Answers are cached for CacheTTL, and
// identical concurrent requests share one upstream call.
func (a *Aggregator) FXRate(ctx context.Context, from, to string) (Rate, error) {
	if a.closed.Load() {
		return Rate{}, ErrClosed
	}
	if !IsCurrency(from) || !IsCurrency(to) {
		return Rate{}, fmt.Errorf("%w: currency pair %q/%q", ErrInvalidSymbol, from, to)
	}
	now := a.opts.Now()
	if from == to {
		return Rate{From: from, To: to, Rate: 1, Time: now, Provider: "identity"}, nil
	}
	key := from + to
	if a.opts.CacheTTL > 0 {
		a.mu.RLock()
		c, ok := a.fx[key]
		a.mu.RUnlock()
		if ok && now.Before(c.exp) {
			return c.v, nil
		}
	}
	if len(a.rates) == 0 {
		return Rate{}, fmt.Errorf("%w: no rate providers for %s/%s", ErrNoQuote, from, to)
	}
	ch := a.sf.DoChan("fx:"+key, func() (any, error) {
		if !a.track() {
			return Rate{}, ErrClosed
		}
		defer a.wg.Done()
		if a.opts.CacheTTL > 0 { // filled by a flight that ended after our lookup?
			a.mu.RLock()
			c, ok := a.fx[key]
			a.mu.RUnlock()
			if ok && a.opts.Now().Before(c.exp) {
				return c.v, nil
			}
		}
		ctx, cancel := context.WithTimeout(a.ctx, a.opts.Timeout)
		defer cancel()
		r, err := a.hedgedRate(ctx, from, to)
		if err == nil && a.opts.CacheTTL > 0 {
			a.mu.Lock()
			a.fx[key] = cached[Rate]{v: r, exp: a.opts.Now().Add(a.opts.CacheTTL)}
			a.mu.Unlock()
		}
		return r, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Rate{}, res.Err
		}
		return res.Val.(Rate), nil
	case <-ctx.Done():
		return Rate{}, fmt.Errorf("marketdata: rate %s/%s: %w", from, to, ctx.Err())
	}
}

// hedgeDelay is how long to wait for ps before asking the next provider.
func (a *Aggregator) hedgeDelay(ps *provState) time.Duration {
	if a.opts.HedgeAfter != 0 {
		return a.opts.HedgeAfter
	}
	lat := time.Duration(ps.latency.Load())
	if lat == 0 {
		return 250 * time.Millisecond
	}
	return max(lat*3/2, 20*time.Millisecond)
}

func (a *Aggregator) hedgedRate(ctx context.Context, from, to string) (Rate, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the losers
	type answer struct {
		r   Rate
		err error
	}
	ch := make(chan answer, len(a.rates)) // buffered: losers never block
	next, pending := 0, 0
	var errs []error
	launch := func() bool {
		for next < len(a.rates) {
			ps := a.rates[next]
			next++
			if ps.br.open(a.opts.Now()) {
				errs = append(errs, &Error{Provider: ps.name, Symbol: from + "/" + to, Kind: ErrCircuitOpen})
				continue
			}
			if !a.track() {
				errs = append(errs, ErrClosed)
				return false
			}
			pending++
			go func() {
				defer a.wg.Done()
				var r Rate
				lat, err := a.call(ctx, ps, from+"/"+to, func(ctx context.Context) error {
					var err error
					r, err = ps.rp.Rate(ctx, from, to)
					return err
				})
				if err == nil && !(r.Rate > 0) {
					err = &Error{Provider: ps.name, Symbol: from + "/" + to, Kind: ErrBadResponse, Msg: "non-positive rate"}
				}
				r.Latency = lat
				if r.Provider == "" {
					r.Provider = ps.name
				}
				ch <- answer{r, err}
			}()
			return true
		}
		return false
	}
	launch()
	var timer *time.Timer
	var timerC <-chan time.Time
	arm := func() {
		if timer != nil {
			timer.Stop()
		}
		timerC = nil
		if next < len(a.rates) && a.opts.HedgeAfter >= 0 {
			timer = time.NewTimer(a.hedgeDelay(a.rates[next-1]))
			timerC = timer.C
		}
	}
	arm()
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for pending > 0 {
		select {
		case ans := <-ch:
			pending--
			if ans.err == nil {
				ans.r.From, ans.r.To = from, to
				return ans.r, nil
			}
			errs = append(errs, ans.err)
			if pending == 0 && launch() {
				arm()
			}
		case <-timerC:
			if launch() {
				arm()
			}
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
			return Rate{}, errors.Join(append([]error{fmt.Errorf("%w: rate %s/%s", ErrNoQuote, from, to)}, errs...)...)
		}
	}
	return Rate{}, errors.Join(append([]error{fmt.Errorf("%w: rate %s/%s", ErrNoQuote, from, to)}, errs...)...)
}
