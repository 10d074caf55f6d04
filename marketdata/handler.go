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
// (default 50). The stream ends when the client goes away, stops reading
// (each event has a write deadline of three intervals, at least 1s and at
// most 30s) or the Aggregator is closed. An update that cannot be encoded
// is sent as an "error" event, never dropped silently.
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
		rc := http.NewResponseController(w)
		wt := writeTimeout(interval)
		for u := range updates {
			event := "quote"
			b, err := json.Marshal(u)
			if err != nil { // say so rather than go silent
				event = "error"
				b, _ = json.Marshal(map[string]string{"symbol": u.Symbol, "error": "update could not be encoded"})
			}
			// A client that stops reading must not hold the stream (and
			// its Watch) forever.
			_ = rc.SetWriteDeadline(time.Now().Add(wt))
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
				return // client gone or stuck; Watch stops with r.Context()
			}
			flusher.Flush()
		}
	})
}

// writeTimeout is how long one event may take to reach an SSE client:
// three intervals, within [1s, 30s].
func writeTimeout(interval time.Duration) time.Duration {
	return min(max(3*interval, time.Second), 30*time.Second)
}
