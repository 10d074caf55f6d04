package portfolio

// txChunk is the number of transactions per chunk of a txLog.
const txChunk = 4096

// txLog is an append-only list of transactions stored in fixed-size chunks,
// so growing it never copies what is already there.
type txLog struct {
	chunks [][]Transaction
	n      int
}

func (t *txLog) len() int { return t.n }

func (t *txLog) at(i int) *Transaction { return &t.chunks[i/txChunk][i%txChunk] }

func (t *txLog) append(tx *Transaction) {
	c := t.n / txChunk
	if c == len(t.chunks) {
		t.chunks = append(t.chunks, make([]Transaction, 0, txChunk))
	}
	t.chunks[c] = append(t.chunks[c], *tx)
	t.n++
}

// truncate drops everything from n on.
func (t *txLog) truncate(n int) {
	for t.n > n {
		c := (t.n - 1) / txChunk
		k := t.n - c*txChunk // items in the last chunk
		keep := max(n-c*txChunk, 0)
		clear(t.chunks[c][keep:k])
		t.chunks[c] = t.chunks[c][:keep]
		t.n -= k - keep
	}
}

// all returns a copy of every transaction in order.
func (t *txLog) all() []Transaction {
	out := make([]Transaction, 0, t.n)
	for _, c := range t.chunks {
		out = append(out, c...)
	}
	return out
}
