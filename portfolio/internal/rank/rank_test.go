package rank

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPropertySortMatchesSortFunc checks the radix sort of allocation weights
// against slices.SortFunc with the comparison it replaces: many equal
// weights, −0 and +0, infinities, a NaN now and then, short and long lists.
func TestPropertySortMatchesSortFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 13))
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 1, -1, 0.5, 1e-300, -1e300}
	for i := range 400 {
		n := rng.IntN(3000)
		if i%4 == 0 {
			n = rng.IntN(70)
		}
		keys := make([]string, n)
		order := make([]Entry, n)
		distinct := 1 + rng.IntN(n+1)
		for j := range n {
			keys[j] = strconv.Itoa(rng.IntN(1_000_000)) + "/" + strconv.Itoa(j) // unique
			var w float64
			switch r := rng.IntN(10); {
			case r == 0:
				w = special[rng.IntN(len(special))]
			case r < 5:
				w = float64(rng.IntN(distinct)) / float64(distinct) // ties
			default:
				w = rng.NormFloat64()
			}
			order[j] = Entry{w, int32(j)}
		}
		if i%25 == 0 && n > 0 {
			order[rng.IntN(n)].W = math.NaN()
		}
		want := slices.Clone(order)
		slices.SortFunc(want, byWeightThenKey(keys))
		Sort(order, keys)
		require.Len(t, order, n)
		for j := range want {
			require.Equalf(t, want[j].I, order[j].I, "case %d (n=%d) position %d", i, n, j)
			require.Equal(t, math.Float64bits(want[j].W), math.Float64bits(order[j].W))
		}
	}
}
