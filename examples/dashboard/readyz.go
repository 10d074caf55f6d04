package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/upload"
)

// readyTimeout bounds each dependency check of /readyz.
const readyTimeout = 2 * time.Second

// readyProbeKey is an object key no upload uses: asking object storage
// about it proves the store answers (not found is an answer).
const readyProbeKey = "readyz/probe"

// readyChecks are the dependencies /readyz asks: the database always,
// object storage when uploads go to one.
func (a *app) readyChecks() map[string]func(context.Context) error {
	checks := map[string]func(context.Context) error{"database": a.db.PingContext}
	if a.objects != nil {
		checks["object_storage"] = func(ctx context.Context) error {
			_, err := a.objects.Stat(ctx, readyProbeKey)
			if errors.Is(err, upload.ErrNotFound) {
				return nil
			}
			return err
		}
	}
	return checks
}

// readyz answers 200 when every dependency answers within readyTimeout and
// 503 when one does not, with the state of each ("ok" or "unavailable")
// in JSON, for a load balancer to stop sending requests to an instance
// that cannot serve them. Why a check failed is logged, not shown.
func (a *app) readyz(c *gin.Context) {
	checks := a.readyChecks()
	state := make(map[string]string, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
			defer cancel()
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			state[name] = "ok"
			if err != nil {
				state[name] = "unavailable"
				a.log.WarnContext(c.Request.Context(), "readiness check failed", slog.String("dependency", name), slog.Any("error", err))
			}
		})
	}
	wg.Wait()
	status, overall := http.StatusOK, "ok"
	for _, s := range state {
		if s != "ok" {
			status, overall = http.StatusServiceUnavailable, "unavailable"
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, gin.H{"status": overall, "checks": state})
}
