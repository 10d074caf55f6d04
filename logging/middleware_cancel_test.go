package logging

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMiddlewareClientGone: a client that leaves while its handler works
// is logged at Info as 499 with cancelled=true, whether the handler then
// answers 500 (its work failed with context.Canceled) or nothing; a 4xx
// the handler chose and a complete 200 keep their status.
func TestMiddlewareClientGone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		status float64
		level  string
	}{
		{"500 after the client left", func(w http.ResponseWriter) { http.Error(w, "context canceled", http.StatusInternalServerError) }, 499, "INFO"},
		{"503 after the client left", func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }, 499, "INFO"},
		{"nothing written", func(http.ResponseWriter) {}, 499, "INFO"},
		{"a 4xx of the handler's", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) }, 429, "WARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{})
			srv, logs, _ := newMiddlewareServer(t, Middleware{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
					t.Error("the request's context did not end when the client left")
				}
				tc.answer(w)
			}))
			ctx, cancel := context.WithCancel(context.Background())
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/work", nil)
			require.NoError(t, err)
			go func() {
				<-started
				cancel()
			}()
			_, err = srv.Client().Do(req)
			require.True(t, errors.Is(err, context.Canceled), "client error %v", err)
			line := logs.waitAccess(t, 1)[0]
			assert.Equal(t, tc.status, line["status"])
			assert.Equal(t, tc.level, line["level"])
			if tc.status == 499 {
				assert.Equal(t, true, line["cancelled"])
			} else {
				assert.NotContains(t, line, "cancelled")
			}
		})
	}
	t.Run("a complete answer", func(t *testing.T) {
		srv, logs, _ := newMiddlewareServer(t, Middleware{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("ok"))
		}))
		resp, body := get(t, srv, "/", nil)
		assert.Equal(t, "ok", body)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		line := logs.waitAccess(t, 1)[0]
		assert.EqualValues(t, 200, line["status"])
		assert.NotContains(t, line, "cancelled")
	})
}
