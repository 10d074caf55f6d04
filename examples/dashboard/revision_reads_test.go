package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// scriptedRevisions answers the revision rev, counting the reads; during
// each read it runs during (the other requests arriving, a write
// committing) and answers what rev was when the read started, as a
// database snapshot does.
type scriptedRevisions struct {
	rev    atomic.Uint64
	reads  atomic.Int64
	during func()
}

func (s *scriptedRevisions) Revision(context.Context, string) (uint64, error) {
	s.reads.Add(1)
	rev := s.rev.Load()
	if s.during != nil {
		f := s.during
		s.during = nil
		f()
	}
	return rev, nil
}

// TestRevisionReadStartedAfterArrival: a request uses another's revision
// read only when that read started after it arrived, so a write committed
// before a request came is always seen; requests that queued while one
// read ran share the next read.
func TestRevisionReadStartedAfterArrival(t *testing.T) {
	ctx := context.Background()
	revs := &scriptedRevisions{}
	revs.rev.Store(1)
	c := newBookCache(revs, nil)
	ob := c.entry("ann")
	read := func(arrived uint64) uint64 {
		t.Helper()
		ob.mu.Lock()
		defer ob.mu.Unlock()
		rev, err := c.revisionLocked(ctx, ob, "ann", arrived)
		require.NoError(t, err)
		return rev
	}

	// During the first read a write commits (rev 2), then a request
	// arrives: the read it waited behind started before the write, so
	// the request reads again.
	var second uint64
	revs.during = func() {
		revs.rev.Store(2)
		second = ob.reads.Load()
	}
	assert.Equal(t, uint64(1), read(ob.reads.Load()))
	assert.Equal(t, uint64(2), read(second), "the write before the request is seen")
	assert.Equal(t, int64(2), revs.reads.Load())

	// Five requests arrive during a read: the first of them reads again
	// (the read it waited behind began before it), the other four use
	// that read, which began after they came.
	var queued []uint64
	revs.during = func() {
		for range 5 {
			queued = append(queued, ob.reads.Load())
		}
	}
	read(ob.reads.Load())
	before := revs.reads.Load()
	for _, arrived := range queued {
		assert.Equal(t, uint64(2), read(arrived))
	}
	assert.Equal(t, before+1, revs.reads.Load(), "one read for the five queued requests")

	// A request arriving with nothing in flight reads.
	revs.rev.Store(3)
	assert.Equal(t, uint64(3), read(ob.reads.Load()))
}

// countingRevisions counts the revision reads of the store's revisions.
type countingRevisions struct {
	revisions
	n atomic.Int64
}

func (c *countingRevisions) Revision(ctx context.Context, owner string) (uint64, error) {
	c.n.Add(1)
	return c.revisions.Revision(ctx, owner)
}

// TestQueuedRequestsShareRevisionReads: 16 clients of one user asking
// for the portfolio at once need fewer revision reads than requests,
// while the user's own writes, made between them, are on the very next
// page every time (race detector on).
func TestQueuedRequestsShareRevisionReads(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "busy", auth.RoleUser)
	status, _, _ := e.post(t, c, "/portfolio/accounts", url.Values{"id": {"main"}, "name": {"Main"},
		"kind": {"bank"}, "currency": {"USD"}, "cost": {"fifo"}})
	require.Equal(t, http.StatusSeeOther, status)
	e.importRows(t, c, "date,account,kind,amount,note\n2025-01-02,main,deposit,1000,first\n")
	counted := &countingRevisions{revisions: e.app.books.revs}
	e.app.books.revs = counted

	var requests atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, _, _ := e.get(t, c, "/api/portfolio")
				assert.Equal(t, http.StatusOK, status)
				requests.Add(1)
			}
		})
	}
	for i := range 10 {
		e.importRows(t, c, fmt.Sprintf("date,account,kind,amount,note\n2025-02-%02d,main,deposit,1,write %d\n", i+1, i))
		in, _ := e.netInflow(t, c)
		assert.Equal(t, fmt.Sprint(1001+i), in.String(), "write %d is on the next page", i)
	}
	close(stop)
	wg.Wait()
	total := requests.Load() + 10
	t.Logf("%d requests, %d revision reads", total, counted.n.Load())
	assert.Less(t, counted.n.Load(), total, "queued requests share reads")
}
