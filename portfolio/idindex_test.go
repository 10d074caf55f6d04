package portfolio

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
	var journal txLog
	x := newIDIndex(0)
	ref := map[string]int{}
	for step := range 3000 {
		mark := journal.len()
		for range 1 + rng.IntN(40) {
			id := "id" + strconv.Itoa(rng.IntN(20000))
			_, inRef := ref[id]
			require.Equal(t, inRef, x.has(id, x.idHash(id), &journal), "step %d id %s", step, id)
			if inRef {
				continue
			}
			x.insertAbsent(x.idHash(id), journal.len())
			ref[id] = journal.len()
			journal.append(&Transaction{ID: id})
		}
		if rng.IntN(4) == 0 { // roll the batch back
			if rng.IntN(2) == 0 {
				for i := mark; i < journal.len(); i++ {
					x.del(journal.at(i).ID, &journal)
					delete(ref, journal.at(i).ID)
				}
			} else {
				for i := journal.len() - 1; i >= mark; i-- {
					x.del(journal.at(i).ID, &journal)
					delete(ref, journal.at(i).ID)
				}
			}
			journal.truncate(mark)
		}
		require.Equal(t, len(ref), x.len())
	}
	for id, pos := range ref {
		got, ok := x.get(id, &journal)
		require.True(t, ok, id)
		require.Equal(t, pos, got, id)
	}
	for i := range 1000 {
		id := "absent" + strconv.Itoa(i)
		_, ok := x.get(id, &journal)
		require.False(t, ok)
	}
	require.True(t, x.add("fresh", journal.len(), &journal))
	journal.append(&Transaction{ID: "fresh"})
	require.False(t, x.add("fresh", journal.len(), &journal))
}
