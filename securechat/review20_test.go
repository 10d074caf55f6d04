//go:build !js

package securechat

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRelayTargetRateEdgeValues (review): the per-target one-time prekey
// budget is a store token bucket of interval 1/TargetRate. A NaN rate, a
// rate so small that its interval overflows a Duration, or a budget whose
// interval × burst spans more than the store's year must neither lift the
// budget (an overflowed interval became a nanosecond: every fetch took a
// one-time prekey) nor make every fetch fail (the store refuses a bucket
// spanning more than a year: no session could start with the target).
func TestRelayTargetRateEdgeValues(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int
		want  int // one-time prekeys handed out by 10 fetches
	}{
		{math.NaN(), 6, 6},
		{1e-10, 6, 6},             // 1e19 ns: past the largest Duration
		{1e-6, 40, 10},            // 40 × 11.6 days: more than a year
		{1.0 / 60, 1 << 20, 10},   // a million minutes
		{math.Inf(1), 6, 10},      // no limit
		{-1, 6, 6},                // the default rate
		{1e-300, math.MaxInt, 10}, // both extreme
	} {
		t.Run(fmt.Sprintf("%g/%d", tc.rate, tc.burst), func(t *testing.T) {
			st := NewMemoryStore()
			tr := startRelay(t, RelayOptions{Store: st, TargetRate: tc.rate, TargetBurst: tc.burst})
			target := newParty(t, 30)
			pub := authRaw(t, tr.url, target.id)
			pub.write(frame{Type: framePublish, ID: 1, Data: target.prekeys.Upload(target.id).Marshal()})
			require.Equal(t, frameOK, pub.read().Type)
			withOTK := 0
			for i := range 10 {
				rc := authRaw(t, tr.url, newID(t))
				f := fetchBundle(t, rc, 1, target.id.ID())
				require.Equal(t, frameBundle, f.Type, "fetch %d: %s %s", i, f.Code, f.Error)
				b, err := ParseBundle(f.Data)
				require.NoError(t, err)
				if b.OneTimePrekey != nil {
					withOTK++
				}
			}
			assert.Equal(t, tc.want, withOTK)
		})
	}
}
