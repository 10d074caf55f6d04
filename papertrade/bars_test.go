package papertrade

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValidateBarFastPath checks that ValidateBar's one-test fast path
// accepts exactly the bars the detailed rules accept: finite positive
// prices, Low <= Open, Close <= High, volume >= 0 and finite, or NaN.
func TestValidateBarFastPath(t *testing.T) {
	values := []float64{1, 2, 3, 0, -1, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1)}
	valid := func(b Bar) bool {
		for _, p := range []float64{b.Open, b.High, b.Low, b.Close} {
			if math.IsNaN(p) || math.IsInf(p, 0) || p <= 0 {
				return false
			}
		}
		if b.High < b.Low || b.Open > b.High || b.Close > b.High || b.Open < b.Low || b.Close < b.Low {
			return false
		}
		return !(b.Volume < 0 || math.IsInf(b.Volume, 0))
	}
	rng := rand.New(rand.NewPCG(9, 9))
	pick := func() float64 { return values[rng.IntN(len(values))] }
	for i := 0; i < 200_000; i++ {
		b := Bar{Open: pick(), High: pick(), Low: pick(), Close: pick(), Volume: pick()}
		err := ValidateBar(b)
		if valid(b) {
			require.NoError(t, err, "%+v", b)
		} else {
			require.ErrorIs(t, err, ErrInvalidBar, "%+v", b)
		}
	}
}
