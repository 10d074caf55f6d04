package main

import (
	"errors"
	"fmt"

	"github.com/finkit/finkit/examples/internal/cluster"
)

// harness stands in for testing.TB where the command uses the
// multi-instance tests' PostgreSQL server (cluster.StartPostgres): it
// keeps the cleanups, and turns a failure or a skip into an error.
type harness struct {
	cleanups []func()
}

var _ cluster.TB = (*harness)(nil)

// stopped is what Fatal and Skip panic with; startPostgres recovers it.
type stopped struct{ err error }

func (h *harness) Helper()                      {}
func (h *harness) Cleanup(f func())             { h.cleanups = append(h.cleanups, f) }
func (h *harness) Fatal(args ...any)            { panic(stopped{errors.New(fmt.Sprint(args...))}) }
func (h *harness) Skip(args ...any)             { panic(stopped{errors.New(fmt.Sprint(args...))}) }
func (h *harness) Fatalf(f string, args ...any) { panic(stopped{fmt.Errorf(f, args...)}) }

// close runs the cleanups, last first.
func (h *harness) close() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
	h.cleanups = nil
}

// startPostgres starts a throw-away PostgreSQL server, stopped by close,
// and returns its URL.
func (h *harness) startPostgres() (url string, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, ok := r.(stopped)
			if !ok {
				panic(r)
			}
			err = s.err
		}
	}()
	return cluster.StartPostgres(h).URL, nil
}
