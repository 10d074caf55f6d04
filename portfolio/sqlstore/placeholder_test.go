package sqlstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlaceholderRewrite(t *testing.T) {
	q := `INSERT INTO t (a, b) VALUES (?, ?) WHERE c = ?`
	assert.Equal(t, q, (&Store{}).q(q))
	assert.Equal(t, `INSERT INTO t (a, b) VALUES ($1, $2) WHERE c = $3`, (&Store{opts: Options{Placeholder: Dollar}}).q(q))
}
