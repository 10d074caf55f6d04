package marketdata

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// History returns the bar series of symbol from the first history provider
// that covers it and answers, trying the next one after a failure. Calls go
// through the same circuit breakers, rate limits and quotas as quotes, and
// identical concurrent requests share one upstream call. Providers that
// implement Supporter are asked only for symbols they support.
func (a *Aggregator) History(ctx context.Context, symbol string, req HistoryRequest) (History, error) {
	if a.closed.Load() {
		return History{}, ErrClosed
	}
	sym, err := ParseSymbol(symbol)
	if err != nil {
		return History{}, err
	}
	if !req.Start.IsZero() && !req.End.IsZero() && !req.Start.Before(req.End) {
		return History{}, fmt.Errorf("marketdata: history %s: start %s not before end %s", sym.Raw, req.Start.Format(time.DateOnly), req.End.Format(time.DateOnly))
	}
	if len(a.hists) == 0 {
		return History{}, fmt.Errorf("%w: no history providers for %s", ErrNoQuote, sym.Raw)
	}
	key := fmt.Sprintf("hist:%s:%d:%d:%s", sym.Raw, req.Start.Unix(), req.End.Unix(), req.Interval)
	ch := a.sf.DoChan(key, func() (any, error) {
		if !a.track() {
			return History{}, ErrClosed
		}
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(a.ctx, a.opts.Timeout)
		defer cancel()
		errs := []error{fmt.Errorf("%w: no history for %s", ErrNoQuote, sym.Raw)}
		for _, ps := range a.hists {
			if sup, ok := ps.hp.(Supporter); ok && !sup.Supports(sym.Raw) {
				continue
			}
			var h History
			_, err := a.call(ctx, ps, sym.Raw, func(ctx context.Context) error {
				var err error
				h, err = ps.hp.History(ctx, sym.Raw, req)
				return err
			})
			if err == nil && len(h.Bars) > 0 {
				if h.Provider == "" {
					h.Provider = ps.name
				}
				return h, nil
			}
			if err == nil {
				err = &Error{Provider: ps.name, Symbol: sym.Raw, Kind: ErrNotFound, Msg: "no bars in range"}
			}
			if !errors.Is(err, ErrUnsupported) {
				errs = append(errs, err)
			}
		}
		return History{}, errors.Join(errs...)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return History{}, r.Err
		}
		h := r.Val.(History)
		h.Bars = append([]Bar(nil), h.Bars...) // callers may modify their copy
		return h, nil
	case <-ctx.Done():
		return History{}, fmt.Errorf("marketdata: history %s: %w", sym.Raw, ctx.Err())
	}
}
