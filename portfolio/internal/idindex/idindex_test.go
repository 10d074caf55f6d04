package idindex

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIDIndexMatchesMap is a property test: random appends and rollbacks
// of the newest entries (the ledger's only deletion pattern, in forward
// and reverse order) leave the index answering exactly like a map, through
// growth and backward-shift deletion.
func TestIDIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	var journal []string
	keyAt := func(i int) string { return journal[i] }
	x := New(0)
	ref := map[string]int{}
	for step := range 3000 {
		mark := len(journal)
		for range 1 + rng.IntN(40) {
			id := "id" + strconv.Itoa(rng.IntN(20000))
			_, inRef := ref[id]
			require.Equal(t, inRef, x.Has(id, x.Hash(id), keyAt), "step %d id %s", step, id)
			if inRef {
				continue
			}
			x.InsertAbsent(x.Hash(id), len(journal))
			ref[id] = len(journal)
			journal = append(journal, id)
		}
		if rng.IntN(4) == 0 { // roll the batch back
			if rng.IntN(2) == 0 {
				for i := mark; i < len(journal); i++ {
					x.Delete(journal[i], keyAt)
					delete(ref, journal[i])
				}
			} else {
				for i := len(journal) - 1; i >= mark; i-- {
					x.Delete(journal[i], keyAt)
					delete(ref, journal[i])
				}
			}
			journal = journal[:mark]
		}
		require.Equal(t, len(ref), x.Len())
	}
	for id, pos := range ref {
		got, ok := x.Get(id, keyAt)
		require.True(t, ok, id)
		require.Equal(t, pos, got, id)
	}
	for i := range 1000 {
		id := "absent" + strconv.Itoa(i)
		_, ok := x.Get(id, keyAt)
		require.False(t, ok)
	}
	require.True(t, x.Add("fresh", len(journal), keyAt))
	journal = append(journal, "fresh")
	require.False(t, x.Add("fresh", len(journal), keyAt))
}
