package marketdata

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// StreamHandler serves Watch as Server-Sent Events for a live dashboard:
// GET ?symbols=AAPL,EQNR.OL streams one "quote" event per symbol per
// interval, each a JSON Update. At most maxSymbols symbols are accepted
// (default 50). The stream ends when the client goes away or the Aggregator
// is closed.
func (a *Aggregator) StreamHandler(interval time.Duration, maxSymbols int) http.Handler {
	if maxSymbols <= 0 {
		maxSymbols = 50
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var syms []string
		for _, s := range strings.Split(r.URL.Query().Get("symbols"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				syms = append(syms, s)
			}
		}
		if len(syms) == 0 || len(syms) > maxSymbols {
			http.Error(w, fmt.Sprintf("want 1 to %d comma-separated symbols", maxSymbols), http.StatusBadRequest)
			return
		}
		flusher, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		updates, err := a.Watch(r.Context(), syms, interval)
		switch {
		case errors.Is(err, ErrClosed):
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		flusher.Flush()
		for u := range updates {
			b, err := json.Marshal(u)
			if err != nil {
				continue // cannot happen: Update has no unencodable fields
			}
			if _, err := fmt.Fprintf(w, "event: quote\ndata: %s\n\n", b); err != nil {
				return // client gone; Watch stops with r.Context()
			}
			flusher.Flush()
		}
	})
}
