package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Off (not a terminal, or --json) draws nothing; on draws each task's
// label, percentage and status.
func TestProgress(t *testing.T) {
	var off bytes.Buffer
	p := newProgress(&off, false)
	p.bar(0, "a.csv")(5, 10, "uploading")
	p.finish()
	assert.Empty(t, off.String())

	var on bytes.Buffer
	p = newProgress(&on, true)
	a := p.bar(0, "a.csv")
	b := p.bar(1, "b.png")
	a(50, 100, "uploading")
	b(10, 10, "done")
	a(100, 100, "processing")
	p.finish()
	out := on.String()
	assert.Contains(t, out, "a.csv")
	assert.Contains(t, out, "b.png")
	assert.Contains(t, out, "100 %")
	assert.True(t, strings.Contains(out, "processing") || strings.Contains(out, "done"), "%q", out)
}
