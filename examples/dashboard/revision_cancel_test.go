package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingRevisions answers rev; during the first read it runs during,
// then fails that read with its context's error, or with fail.
type failingRevisions struct {
	rev    atomic.Uint64
	reads  atomic.Int64
	during func()
	fail   error
}

func (f *failingRevisions) Revision(ctx context.Context, _ string) (uint64, error) {
	f.reads.Add(1)
	if f.during != nil {
		d := f.during
		f.during = nil
		d()
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return 0, f.fail
	}
	return f.rev.Load(), nil
}

// TestSharedRevisionReadFailsAlone: when the request whose read others
// queued behind leaves (its context cancelled) or its read fails, only
// that request gets the error: the requests that arrived during it read
// again themselves (no error, no answer of a failed read shared), and
// see a write committed meanwhile.
func TestSharedRevisionReadFailsAlone(t *testing.T) {
	for name, fail := range map[string]error{"cancelled": nil, "failed": errors.New("connection reset")} {
		t.Run(name, func(t *testing.T) {
			revs := &failingRevisions{fail: fail}
			revs.rev.Store(1)
			c := newBookCache(revs, nil)
			ob := c.entry("ann")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var queued []uint64
			revs.during = func() {
				if fail == nil {
					cancel()
				}
				revs.rev.Store(2) // a write commits
				for range 3 {
					queued = append(queued, ob.reads.Load())
				}
			}
			arrived := ob.lock()
			_, err := c.revisionLocked(ctx, ob, "ann", arrived)
			ob.mu.Unlock()
			require.Error(t, err)
			if fail == nil {
				assert.ErrorIs(t, err, context.Canceled)
			}
			before := revs.reads.Load()
			for _, a := range queued {
				ob.mu.Lock()
				rev, err := c.revisionLocked(context.Background(), ob, "ann", a)
				ob.mu.Unlock()
				require.NoError(t, err)
				assert.Equal(t, uint64(2), rev, "the write during the failed read is seen")
			}
			assert.Equal(t, before+1, revs.reads.Load(), "one new read for the queued requests")
		})
	}
}
